//! Sessions for axum, kept in memcached.
//!
//! The tutorial's Tornado session, rebuilt and made safe: a session is a JSON object stored in
//! memcached under `session:<id>` (the id is the hex MD5 of a random UUID); the id travels in a
//! cookie (`uc`) signed with a server secret (`tower-cookies`), `HttpOnly`, `SameSite=Lax`;
//! every request that uses the session pushes its expiry 20 minutes forward in the same round
//! trip that loads it; writes use CAS so concurrent requests do not lose each other's changes;
//! an id the server did not issue (tampered, unknown, expired) is never adopted, and a record
//! that does not decode is dropped, not served. Cross-origin writes are refused before any
//! handler runs, forms carry a per-session token ([`Session::csrf_token`]), sessions are
//! capped in size (64 KiB), and error answers say nothing about the inside.
//!
//! ```
//! use axum::{body::Body, http::Request, routing::get, Router};
//! use mc_session::{Session, SessionConfig, SessionLayer, SessionStore};
//! use tower::ServiceExt;
//!
//! async fn visits(session: Session) -> Result<String, mc_session::SessionError> {
//!     let n: u64 = session.get("visits")?.unwrap_or(0) + 1;
//!     session.insert("visits", n).await?;
//!     Ok(format!("visit number {n}"))
//! }
//!
//! # let server = mc_server::RunningServer::start(mc_server::Config::ephemeral()).unwrap();
//! # let addr = server.local_addr().unwrap().to_string();
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let client = mc_client::Client::new([addr.as_str()]);
//! let key = SessionConfig::key_from_secret(b"a secret of at least thirty-two bytes!!").unwrap();
//! let store = SessionStore::new(client, SessionConfig::new(key));
//! let app = Router::new().route("/", get(visits)).layer(SessionLayer::new(store));
//!
//! let response = app.oneshot(Request::get("/").body(Body::empty()).unwrap()).await.unwrap();
//! assert_eq!(response.status(), 200);
//! // The new session's signed cookie.
//! assert!(response.headers()["set-cookie"].to_str().unwrap().starts_with("uc="));
//! # });
//! ```
//!
//! A [`SessionError`] answers 503 (with `Retry-After`) when memcached is unreachable and 413
//! when a session would be too large, so handlers can use `?`.

mod csrf;
mod id;
mod layer;
mod session;
mod session_error;
mod store;

pub use id::{is_valid_id, new_id};
pub use layer::{SessionLayer, SessionService};
pub use session::Session;
pub use session_error::{SessionError, RETRY_AFTER_SECONDS};
pub use store::{Data, Loaded, SessionConfig, SessionStore};
pub use tower_cookies::Key;
