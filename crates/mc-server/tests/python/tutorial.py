"""The tutorial's python-memcached session, step by step, against one server.

Usage: tutorial.py HOST:PORT. Prints every result (so two servers can be compared line by line)
and asserts the results the tutorial shows.
"""
import sys
import time

import memcache

server = sys.argv[1]
conn = memcache.Client([server])


def show(label, value):
    print("%s -> %r" % (label, value))
    return value


# set / get
assert show("set k1 v1", conn.set("k1", "v1")) is True
assert show("get k1", conn.get("k1")) == "v1"

# expiry
assert show("set k v 1", conn.set("k", "v", 1)) is True
time.sleep(2.1)
assert show("get k after 2s", conn.get("k")) is None

# add / replace
assert show("add k hello", conn.add("k", "hello")) is True
assert show("add k world", conn.add("k", "world")) is False
assert show("get k", conn.get("k")) == "hello"
assert show("replace k helloworld", conn.replace("k", "helloworld")) is True
assert show("get k", conn.get("k")) == "helloworld"
assert show("replace kk hello", conn.replace("kk", "hello")) is False

# multi
assert show("get key1", conn.get("key1")) is None
assert show("set_multi key1 key2", conn.set_multi({"key1": "value1", "key2": "value2"})) == []
assert show("get key1", conn.get("key1")) == "value1"
assert show("delete key1", conn.delete("key1")) == 1
assert show("get key1", conn.get("key1")) is None
assert show("set_multi key3 key4", conn.set_multi({"key3": "value3", "key4": "value4"})) == []
assert show("delete_multi key3 key4", conn.delete_multi(["key3", "key4"])) == 1
assert show("get key3", conn.get("key3")) is None
assert show("set_multi key5 key6", conn.set_multi({"key5": "value5", "key6": "value6"})) == []
assert show("get key5", conn.get("key5")) == "value5"
multi = conn.get_multi(["key5", "key6"])
assert show("get_multi key5 key6", sorted(multi.items())) == [("key5", "value5"), ("key6", "value6")]

# append / prepend
assert show("append key5 after", conn.append("key5", "after")) is True
assert show("get key5", conn.get("key5")) == "value5after"
assert show("prepend key5 before", conn.prepend("key5", "before")) is True
assert show("get key5", conn.get("key5")) == "beforevalue5after"

# incr / decr
assert show("set number 9", conn.set("number", 9)) is True
assert show("incr number", conn.incr("number")) == 10
assert show("incr number 10", conn.incr("number", 10)) == 20
assert show("decr number", conn.decr("number")) == 19
assert show("decr number 10", conn.decr("number", 10)) == 9
assert show("incr missing", conn.incr("missing")) is None

# gets / cas with two clients: the second writer loses instead of overwriting.
conn1 = memcache.Client([server], cache_cas=True)
conn2 = memcache.Client([server], cache_cas=True)
assert show("conn1 set n 9", conn1.set("n", 9)) is True
assert show("conn1 gets n", conn1.gets("n")) == 9
assert show("conn2 gets n", conn2.gets("n")) == 9
assert show("conn1 cas n 99", conn1.cas("n", 99)) is True
assert show("conn2 cas n 100", conn2.cas("n", 100)) is False
assert show("get n", conn.get("n")) == 99

# touch and values of other types
assert show("touch key5", conn.touch("key5", 100)) == 1
assert show("set bytes", conn.set("b", b"\x00\xffraw")) is True
assert show("get bytes", conn.get("b")) == b"\x00\xffraw"
assert show("set dict", conn.set("d", {"a": [1, 2]})) is True
assert show("get dict", conn.get("d")) == {"a": [1, 2]}
big = "x" * 200000
assert show("set big", conn.set("big", big, min_compress_len=1000)) is True
assert show("get big", conn.get("big") == big) is True
print("tutorial done")
