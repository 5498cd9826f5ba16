//! A memcached client with python-memcached's API.
//!
//! The same operations with the same answers (`set add replace append prepend cas get gets
//! get_multi set_multi delete delete_multi incr decr touch flush_all get_stats disconnect_all`),
//! the same key placement over weighted servers (so Rust and Python services can share a pool),
//! ketama consistent hashing as an option, and values flagged so python-memcached reads them back
//! as the same type (see [`value`]).
//!
//! The core is async (tokio): every server connection pipelines the requests of all tasks using
//! it. [`blocking::Client`] wraps it for code that does not run in an async context.
//!
//! ```
//! # let server = mc_server::RunningServer::start(mc_server::Config::ephemeral()).unwrap();
//! # let addr = server.local_addr().unwrap().to_string();
//! use mc_client::blocking::Client;
//!
//! let mc = Client::new([addr.as_str()]).unwrap();
//! assert!(mc.set("k1", "v1", 0).unwrap());
//! assert_eq!(mc.get::<String>("k1").unwrap().as_deref(), Some("v1"));
//! assert_eq!(mc.incr("missing", 1).unwrap(), None);
//! // Bad keys are refused before anything is sent.
//! assert!(mc.get::<String>("has space").is_err());
//! ```
//!
//! Errors are typed ([`Error`]): a broken socket is an error, never a silent `false`.

mod address;
mod answer_reader;
mod batch;
pub mod blocking;
mod client;
mod client_error;
pub mod distribution;
mod found_values;
mod node;
mod options;
mod pipeline;
mod read_turn;
mod replies;
mod request_wire;
mod request_writer;
mod routing;
pub mod value;

pub use address::{ServerAddr, ServerSpec};
pub use batch::MultiGet;
pub use client::Client;
pub use client_error::{Error, Result};
pub use distribution::Distribution;
pub use options::{Expiry, Fetched, Options};
pub use value::{FromValue, Json, Raw, ToValue};
