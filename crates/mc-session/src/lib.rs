//! Sessions for axum, kept in memcached.
//!
//! The tutorial's Tornado session, rebuilt and made safe: a session is a JSON object stored in
//! memcached under an id (the hex MD5 of a random UUID); the id travels in a cookie (`uc`)
//! signed with a server secret (`tower-cookies`), `HttpOnly`, `SameSite=Lax`; every request
//! that uses the session pushes its expiry 20 minutes forward with one `gat`; writes use
//! `gets`/`cas` so concurrent requests do not lose each other's changes; an id the server did
//! not issue (tampered, unknown, expired) is never adopted.
//!
//! ```no_run
//! use axum::{routing::get, Router};
//! use mc_session::{Session, SessionConfig, SessionLayer, SessionStore};
//!
//! async fn visits(session: Session) -> Result<String, mc_session::SessionError> {
//!     let n: u64 = session.get("visits")?.unwrap_or(0) + 1;
//!     session.insert("visits", n).await?;
//!     Ok(format!("visit number {n}"))
//! }
//!
//! # async fn run() {
//! let client = mc_client::Client::new(["127.0.0.1:11211"]);
//! let key = SessionConfig::key_from_secret(b"a secret of at least thirty-two bytes!!").unwrap();
//! let store = SessionStore::new(client, SessionConfig::new(key));
//! let app: Router = Router::new().route("/", get(visits)).layer(SessionLayer::new(store));
//! # let _ = app;
//! # }
//! ```
//!
//! A [`SessionError`] answers 503 when memcached is unreachable, so handlers can use `?`.

mod error;
mod id;
mod layer;
mod session;
mod store;

pub use error::SessionError;
pub use id::{is_valid_id, new_id};
pub use layer::{SessionLayer, SessionService};
pub use session::Session;
pub use store::{Data, SessionConfig, SessionStore};
pub use tower_cookies::Key;
