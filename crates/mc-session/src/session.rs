//! The `Session` extractor: one visitor's session within a request.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use tower_cookies::cookie::SameSite;
use tower_cookies::{Cookie, Cookies};

use crate::csrf::new_anchor;
use crate::id::{is_valid_id, new_id};
use crate::session_error::SessionError;
use crate::store::{Data, SessionStore};

/// How many freshly minted ids are tried before giving up (a collision of 122 random bits
/// does not happen; a store that answers "exists" to everything might).
const MINT_ATTEMPTS: u32 = 3;

#[derive(Debug)]
struct State {
    /// The session's id; `None` for a visitor without a (valid, known) session until
    /// something is written.
    id: Option<String>,
    /// The record's CAS unique as this request loaded it, while no write has happened since.
    cas: Option<u64>,
    data: Data,
    /// The lifetime the session had left before this request.
    ttl_left: Option<Duration>,
}

/// The current visitor's session.
///
/// Extracting it validates the signed cookie and loads the session from memcached, pushing its
/// expiry forward in the same round trip. A missing, tampered or unknown cookie, an expired
/// session, or a record that does not decode, gives a fresh empty session: an id the server
/// did not issue is never adopted. A fresh session is only written (and its cookie set) when
/// something is stored in it, and its cookie only once that write succeeded.
///
/// Writes read-modify-write the whole session with CAS, so concurrent requests of one visitor
/// do not lose each other's changes.
#[derive(Debug, Clone)]
pub struct Session {
    store: SessionStore,
    cookies: Cookies,
    state: Arc<Mutex<State>>,
}

impl<S: Send + Sync> FromRequestParts<S> for Session {
    type Rejection = SessionError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let store = parts
            .extensions
            .get::<SessionStore>()
            .cloned()
            .ok_or(SessionError::MissingLayer)?;
        let cookies = parts
            .extensions
            .get::<Cookies>()
            .cloned()
            .ok_or(SessionError::MissingLayer)?;
        let config = store.config();
        let claimed = cookies
            .signed(&config.key)
            .get(&config.cookie_name)
            .map(|c| c.value().to_string())
            .filter(|id| is_valid_id(id));
        let mut state = State {
            id: None,
            cas: None,
            data: Data::new(),
            ttl_left: None,
        };
        if let Some(id) = claimed {
            if let Some(loaded) = store.load(&id).await? {
                state = State {
                    id: Some(id),
                    cas: Some(loaded.cas),
                    data: loaded.data,
                    ttl_left: loaded.ttl_left,
                };
            }
        }
        Ok(Session {
            store,
            cookies,
            state: Arc::new(Mutex::new(state)),
        })
    }
}

impl Session {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The session id, once the session exists in memcached.
    pub fn id(&self) -> Option<String> {
        self.state().id.clone()
    }

    /// The lifetime the session had left before this request pushed its expiry forward, as
    /// memcached reported it (`None` for a new session).
    pub fn ttl_left(&self) -> Option<Duration> {
        self.state().ttl_left
    }

    /// A value, converted from JSON.
    pub fn get<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, SessionError> {
        match self.state().data.get(key) {
            Some(value) => Ok(Some(serde_json::from_value(value.clone())?)),
            None => Ok(None),
        }
    }

    /// Everything in the session.
    pub fn get_all(&self) -> Data {
        self.state().data.clone()
    }

    fn cookie(&self, name: String, value: String, same_site: SameSite) -> Cookie<'static> {
        Cookie::build((name, value))
            .http_only(true)
            .same_site(same_site)
            .path("/")
            .secure(self.store.config().secure)
            .build()
    }

    fn set_session_cookie(&self, id: &str) {
        let config = self.store.config();
        let cookie = self.cookie(config.cookie_name.clone(), id.to_string(), config.same_site);
        self.cookies.signed(&config.key).add(cookie);
        // Forms are now anchored to the session id.
        if self.cookies.get(&config.anchor_cookie_name()).is_some() {
            let anchor = self.cookie(config.anchor_cookie_name(), String::new(), SameSite::Strict);
            self.cookies.remove(anchor);
        }
    }

    /// Create a fresh session holding `data` under a newly minted id, and set its cookie once
    /// the record is stored. The only way a session comes into existence.
    async fn create(&self, data: Data) -> Result<(), SessionError> {
        for _ in 0..MINT_ATTEMPTS {
            let id = new_id();
            if self.store.create(&id, &data).await? {
                self.set_session_cookie(&id);
                let mut state = self.state();
                state.id = Some(id);
                state.cas = None;
                state.data = data;
                return Ok(());
            }
        }
        Err(SessionError::Contention)
    }

    async fn update(&self, mut change: impl FnMut(&mut Data)) -> Result<(), SessionError> {
        let (id, known) = {
            let state = self.state();
            let known = state.cas.map(|cas| (state.data.clone(), cas));
            (state.id.clone(), known)
        };
        if let Some(id) = id {
            if let Some(data) = self.store.update(&id, known, &mut change).await? {
                let mut state = self.state();
                state.data = data;
                state.cas = None;
                return Ok(());
            }
            // The session went away under us (expired, or moved by `regenerate` in another
            // request): start afresh under a new id rather than bring the old one back.
            tracing::debug!("session vanished during the request; starting a fresh one");
        }
        let mut data = Data::new();
        change(&mut data);
        self.create(data).await
    }

    /// Store a value (anything serde can turn into JSON).
    pub async fn insert(&self, key: &str, value: impl Serialize) -> Result<(), SessionError> {
        let value = serde_json::to_value(value)?;
        self.update(|data| {
            data.insert(key.to_string(), value.clone());
        })
        .await
    }

    /// Store a value only if no other request wrote the session since this one loaded it: one
    /// round trip and no retry, for writes that may be skipped under concurrency (a visit
    /// counter, a last-seen time) rather than make concurrent requests of one visitor queue up
    /// behind each other. Returns whether it was stored; never creates a session.
    pub async fn insert_if_unchanged(
        &self,
        key: &str,
        value: impl Serialize,
    ) -> Result<bool, SessionError> {
        let value = serde_json::to_value(value)?;
        let (id, cas, mut data) = {
            let state = self.state();
            match (&state.id, state.cas) {
                (Some(id), Some(cas)) => (id.clone(), cas, state.data.clone()),
                _ => return Ok(false),
            }
        };
        data.insert(key.to_string(), value);
        if !self.store.replace_if_unchanged(&id, cas, &data).await? {
            return Ok(false);
        }
        let mut state = self.state();
        state.data = data;
        state.cas = None;
        Ok(true)
    }

    /// Remove a key; returns its value if it was there. Removing a missing key is not an error.
    pub async fn remove(&self, key: &str) -> Result<Option<Value>, SessionError> {
        if self.state().id.is_none() {
            return Ok(None);
        }
        let mut removed = None;
        self.update(|data| removed = data.remove(key)).await?;
        Ok(removed)
    }

    /// Remove everything (the session itself stays).
    pub async fn clear(&self) -> Result<(), SessionError> {
        if self.state().id.is_none() {
            return Ok(());
        }
        self.update(|data| data.clear()).await
    }

    /// Move the session to a new id, keeping its data (call after a login, so an id seen before
    /// authentication is worthless after it). The old record is deleted; a request still
    /// holding the old id that writes later starts a fresh session instead of reviving it.
    pub async fn regenerate(&self) -> Result<(), SessionError> {
        let (old, data) = {
            let state = self.state();
            (state.id.clone(), state.data.clone())
        };
        self.create(data).await?;
        if let Some(old) = old {
            self.store.remove(&old).await?;
        }
        Ok(())
    }

    /// The anchor CSRF tokens are bound to: the session id, or before a session exists the
    /// pre-session anchor cookie (created when `create` is true).
    fn csrf_anchor(&self, create: bool) -> Option<String> {
        if let Some(id) = self.id() {
            return Some(id);
        }
        let config = self.store.config();
        let signed = self.cookies.signed(&config.key);
        let name = config.anchor_cookie_name();
        if let Some(anchor) = signed.get(&name) {
            return Some(anchor.value().to_string());
        }
        if !create {
            return None;
        }
        let anchor = new_anchor();
        signed.add(self.cookie(name, anchor.clone(), SameSite::Strict));
        Some(anchor)
    }

    /// The CSRF token to put in this visitor's forms (a hidden field) or send back in a
    /// header. It is bound to this session; before the visitor has a session it is bound to a
    /// random anchor kept in a signed cookie, which this call sets when it is missing.
    pub fn csrf_token(&self) -> String {
        let anchor = self.csrf_anchor(true).unwrap_or_default();
        self.store.config().token_key.token(&anchor)
    }

    /// True when `token` is this visitor's CSRF token. Sets no cookie and touches nothing, so
    /// a forged request is refused without leaving a trace.
    pub fn verify_csrf(&self, token: &str) -> bool {
        match self.csrf_anchor(false) {
            Some(anchor) => self.store.config().token_key.verify(&anchor, token),
            None => false,
        }
    }
}
