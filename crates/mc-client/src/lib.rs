//! A memcached client with python-memcached's API. Work in progress: see issue #4.
