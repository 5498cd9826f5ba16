//! Session records in memcached: a JSON object under the session id.

use std::sync::Arc;
use std::time::Duration;

use mc_client::Client;
use serde_json::{Map, Value};
use tower_cookies::Key;

use crate::error::SessionError;

/// The session data: a JSON object.
pub type Data = Map<String, Value>;

/// How many times a write is retried when another request changed the session in between.
/// Each round has one winner, so this bounds how many concurrent writers of one session all
/// succeed; 50 simultaneous writers are tested.
const CAS_RETRIES: u32 = 100;

/// A short random pause after losing a race, so the losers do not collide again in lockstep.
async fn back_off(attempt: u32) {
    let jitter = (uuid::Uuid::new_v4().as_u128() % 500) as u64;
    let micros = u64::from(attempt.min(20)) * 100 + jitter;
    tokio::time::sleep(Duration::from_micros(micros)).await;
}

/// Session settings.
#[derive(Clone)]
pub struct SessionConfig {
    /// The cookie's name (the tutorial's `uc`).
    pub cookie_name: String,
    /// How long an untouched session lives; every request that uses it starts the time again.
    pub ttl: Duration,
    /// Send the cookie over HTTPS only.
    pub secure: bool,
    /// The key that signs cookies (at least 64 bytes; see [`SessionConfig::key_from_secret`]).
    pub key: Key,
}

impl std::fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionConfig")
            .field("cookie_name", &self.cookie_name)
            .field("ttl", &self.ttl)
            .field("secure", &self.secure)
            .finish_non_exhaustive()
    }
}

impl SessionConfig {
    /// The tutorial's settings (cookie `uc`, 20 minutes) with a signing key.
    pub fn new(key: Key) -> SessionConfig {
        SessionConfig {
            cookie_name: "uc".into(),
            ttl: Duration::from_secs(20 * 60),
            secure: false,
            key,
        }
    }

    /// Derive the signing key from a secret of at least 32 bytes; `None` when it is shorter.
    pub fn key_from_secret(secret: &[u8]) -> Option<Key> {
        (secret.len() >= 32).then(|| Key::derive_from(secret))
    }

    fn ttl_seconds(&self) -> i32 {
        i32::try_from(self.ttl.as_secs()).unwrap_or(i32::MAX).max(1)
    }
}

/// Where sessions live: a memcached client and the settings. Cheap to clone.
#[derive(Clone, Debug)]
pub struct SessionStore {
    pub(crate) client: Client,
    pub(crate) config: Arc<SessionConfig>,
}

fn parse(text: &str) -> Result<Data, SessionError> {
    match serde_json::from_str(text)? {
        Value::Object(map) => Ok(map),
        // Anything but an object under a session id is not ours: start afresh.
        _ => Ok(Data::new()),
    }
}

impl SessionStore {
    /// Sessions kept through `client`.
    pub fn new(client: Client, config: SessionConfig) -> SessionStore {
        SessionStore {
            client,
            config: Arc::new(config),
        }
    }

    /// The settings.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The data of session `id`, pushing its expiry forward in the same round trip (`gat`).
    /// `None` when memcached does not know the id (never created, expired, evicted).
    pub async fn load(&self, id: &str) -> Result<Option<Data>, SessionError> {
        match self
            .client
            .gat::<String>(id, self.config.ttl_seconds())
            .await?
        {
            Some(text) => parse(&text).map(Some),
            None => Ok(None),
        }
    }

    /// Apply `change` to session `id` without losing concurrent writers' changes: read with
    /// its CAS unique, change, write back only if nobody wrote in between, retry otherwise.
    /// Returns the data as written.
    pub async fn update(
        &self,
        id: &str,
        mut change: impl FnMut(&mut Data),
    ) -> Result<Data, SessionError> {
        let ttl = self.config.ttl_seconds();
        for attempt in 0..CAS_RETRIES {
            if attempt > 0 {
                back_off(attempt).await;
            }
            match self.client.gats_unique::<String>(id, ttl).await? {
                Some((text, unique)) => {
                    let mut data = parse(&text)?;
                    change(&mut data);
                    let text = serde_json::to_string(&data)?;
                    if self
                        .client
                        .cas_unique(id, text.as_str(), unique, ttl)
                        .await?
                    {
                        return Ok(data);
                    }
                }
                None => {
                    let mut data = Data::new();
                    change(&mut data);
                    let text = serde_json::to_string(&data)?;
                    if self.client.add(id, text.as_str(), ttl).await? {
                        return Ok(data);
                    }
                }
            }
        }
        Err(SessionError::Contention)
    }

    /// Store `data` under `id` (used when a session moves to a new id).
    pub async fn put(&self, id: &str, data: &Data) -> Result<(), SessionError> {
        let text = serde_json::to_string(data)?;
        self.client
            .set(id, text.as_str(), self.config.ttl_seconds())
            .await?;
        Ok(())
    }

    /// Forget session `id`.
    pub async fn remove(&self, id: &str) -> Result<(), SessionError> {
        self.client.delete(id).await?;
        Ok(())
    }
}
