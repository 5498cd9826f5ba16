//! A memcached-compatible server.
//!
//! `mc-server` speaks memcached's text and meta protocols byte for byte (through
//! [`mc_proto`]), takes memcached's command-line flags, and keeps items in slab-allocated memory
//! bounded by `-m`, evicting by a CLOCK sweep (an approximation of least recently used) when
//! full. The cache is cut into shards, each behind its own lock, so it scales with the worker
//! threads.
//!
//! It runs as the `mc-server` binary or in-process:
//!
//! ```
//! use mc_server::{Config, RunningServer};
//! use std::io::{Read, Write};
//!
//! let server = RunningServer::start(Config::ephemeral()).unwrap();
//! let addr = server.local_addr().unwrap();
//! let mut conn = std::net::TcpStream::connect(addr).unwrap();
//! conn.write_all(b"set greeting 0 0 5\r\nhello\r\nget greeting\r\n").unwrap();
//! let mut answer = vec![0; 64];
//! let mut got = 0;
//! while !answer[..got].ends_with(b"END\r\n") {
//!     got += conn.read(&mut answer[got..]).unwrap();
//! }
//! assert_eq!(&answer[..got], b"STORED\r\nVALUE greeting 0 5\r\nhello\r\nEND\r\n");
//! server.shutdown();
//! ```
//!
//! Layers, as in pelikan: [`storage`] (items, slabs, CLOCK eviction, index; no I/O, no locks),
//! `store_shards` (the store cut into shards, each behind its own lock), `commands` (requests
//! against the store), `executor` (the request loop every connection runs, in bounded
//! slices), `server` (sockets and event loops).

pub mod auth;
mod background_crawler;
pub mod cli;
mod client_state;
pub mod clock;
mod commands;
pub mod compatibility;
pub mod config;
mod conn_registry;
mod environment;
mod event_log;
mod executor;
pub mod harness;
pub mod pid_file;
mod prefix_stats;
pub mod restart_file;
pub mod runtime_settings;
mod server;
pub mod server_counters;
pub mod storage;
pub mod store_shards;
pub mod tls_config;
mod verbose_log;

pub use config::Config;
pub use server::{io_uring_available, RunningServer, Server, ServerError, ShutdownHandle};
