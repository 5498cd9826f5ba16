"""python-memcached over a weighted pool, for the interop test.

Usage: pool.py write|read N host:port:weight ...
write: stores key:i -> "value:i" (str) and int:i -> i (int) for i < N.
read: prints "ok" when every key written by the Rust client reads back as expected.
"""
import sys

import memcache

mode, n = sys.argv[1], int(sys.argv[2])
servers = []
for spec in sys.argv[3:]:
    host, port, weight = spec.rsplit(":", 2)
    servers.append(("%s:%s" % (host, port), int(weight)))
mc = memcache.Client(servers)

if mode == "write":
    for i in range(n):
        assert mc.set("key:%d" % i, "value:%d" % i)
        assert mc.set("int:%d" % i, i)
    print("ok")
else:
    bad = []
    for i in range(n):
        if mc.get("rkey:%d" % i) != "rvalue:%d" % i:
            bad.append("rkey:%d" % i)
        if mc.get("rint:%d" % i) != i:
            bad.append("rint:%d" % i)
    print("ok" if not bad else "missing %r" % bad[:10])
