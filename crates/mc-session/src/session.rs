//! The `Session` extractor: one visitor's session within a request.

use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use tower_cookies::cookie::SameSite;
use tower_cookies::{Cookie, Cookies};

use crate::error::SessionError;
use crate::id::{is_valid_id, new_id};
use crate::store::{Data, SessionStore};

#[derive(Debug)]
struct State {
    /// `None` for a visitor without a (valid, known) session until something is written.
    id: Option<String>,
    data: Data,
}

/// The current visitor's session.
///
/// Extracting it validates the signed cookie and loads the session from memcached, pushing its
/// expiry forward in the same round trip. A missing, tampered or unknown cookie, or an expired
/// session, gives a fresh empty session: an id the server did not issue is never adopted. A
/// fresh session is only written (and its cookie set) when something is stored in it.
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
        let (id, data) = match claimed {
            Some(id) => match store.load(&id).await? {
                Some(data) => (Some(id), data),
                None => (None, Data::new()),
            },
            None => (None, Data::new()),
        };
        Ok(Session {
            store,
            cookies,
            state: Arc::new(Mutex::new(State { id, data })),
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

    fn set_cookie(&self, id: &str) {
        let config = self.store.config();
        let cookie = Cookie::build((config.cookie_name.clone(), id.to_string()))
            .http_only(true)
            .same_site(SameSite::Lax)
            .path("/")
            .secure(config.secure)
            .build();
        self.cookies.signed(&config.key).add(cookie);
    }

    /// The id to write under, creating the session (and its cookie) when it is new.
    fn id_for_writing(&self) -> String {
        let mut state = self.state();
        match &state.id {
            Some(id) => id.clone(),
            None => {
                let id = new_id();
                state.id = Some(id.clone());
                drop(state);
                self.set_cookie(&id);
                id
            }
        }
    }

    async fn update(&self, change: impl FnMut(&mut Data)) -> Result<(), SessionError> {
        let id = self.id_for_writing();
        let data = self.store.update(&id, change).await?;
        self.state().data = data;
        Ok(())
    }

    /// Store a value (anything serde can turn into JSON).
    pub async fn insert(&self, key: &str, value: impl Serialize) -> Result<(), SessionError> {
        let value = serde_json::to_value(value)?;
        self.update(|data| {
            data.insert(key.to_string(), value.clone());
        })
        .await
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
    /// authentication is worthless after it).
    pub async fn regenerate(&self) -> Result<(), SessionError> {
        let (old, data) = {
            let state = self.state();
            (state.id.clone(), state.data.clone())
        };
        let new = new_id();
        self.store.put(&new, &data).await?;
        if let Some(old) = old {
            self.store.remove(&old).await?;
        }
        self.state().id = Some(new.clone());
        self.set_cookie(&new);
        Ok(())
    }
}
