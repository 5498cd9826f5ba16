//! A memcached-compatible server. Work in progress: see issue #3.
