//! An axum session store in memcached. Work in progress: see issue #5.
