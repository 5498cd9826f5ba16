//! Session records in memcached: a JSON object under `<key prefix><session id>`.

use std::sync::Arc;
use std::time::Duration;

use mc_client::{Client, Raw};
use serde_json::{Map, Value};
use tower_cookies::cookie::SameSite;
use tower_cookies::Key;

use crate::csrf::TokenKey;
use crate::session_error::SessionError;

/// The session data: a JSON object.
pub type Data = Map<String, Value>;

/// How many times a write is retried when another request changed the session in between.
/// Each round has one winner, so this bounds how many concurrent writers of one session all
/// succeed; 50 simultaneous writers are tested.
const CAS_RETRIES: u32 = 100;

/// The flags a session record is stored with (python-memcached's `str`).
const TEXT_FLAGS: u32 = mc_client::value::flags::TEXT;

/// A short random pause after losing a race, so the losers do not collide again in lockstep.
async fn back_off(attempt: u32) {
    let jitter = (uuid::Uuid::new_v4().as_u128() % 500) as u64;
    let micros = u64::from(attempt.min(20)) * 100 + jitter;
    tokio::time::sleep(Duration::from_micros(micros)).await;
}

/// Session settings.
#[derive(Clone)]
pub struct SessionConfig {
    /// The cookie's name (the tutorial's `uc`; `__Host-uc` once [`SessionConfig::secure`]).
    pub cookie_name: String,
    /// How long an untouched session lives; every request that uses it starts the time again.
    pub ttl: Duration,
    /// Send cookies over HTTPS only.
    pub secure: bool,
    /// The cookie's `SameSite` attribute (`Lax` by default: the cookie is not sent on
    /// cross-site POSTs, and top-level links from other sites keep the visitor signed in).
    pub same_site: SameSite,
    /// Prepended to session ids to make memcached keys, so sessions cannot collide with
    /// another application's keys in the same memcached (Django's cache backend does the same).
    pub key_prefix: String,
    /// The largest serialized session accepted, in bytes; a write that would exceed it fails
    /// with [`SessionError::TooLarge`] (413). 64 KiB by default.
    pub max_size: usize,
    /// Check `Sec-Fetch-Site` / `Origin` on state-changing requests and refuse cross-origin
    /// ones with 403 before any handler runs (on by default).
    pub cross_origin_check: bool,
    /// Origins (`https://app.example`) whose cross-origin requests are allowed anyway.
    pub trusted_origins: Vec<String>,
    /// The key that signs cookies (at least 64 bytes; see [`SessionConfig::key_from_secret`]).
    pub key: Key,
    pub(crate) token_key: TokenKey,
}

impl std::fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionConfig")
            .field("cookie_name", &self.cookie_name)
            .field("ttl", &self.ttl)
            .field("secure", &self.secure)
            .field("same_site", &self.same_site)
            .field("key_prefix", &self.key_prefix)
            .field("max_size", &self.max_size)
            .field("cross_origin_check", &self.cross_origin_check)
            .field("trusted_origins", &self.trusted_origins)
            .finish_non_exhaustive()
    }
}

impl SessionConfig {
    /// The tutorial's settings (cookie `uc`, 20 minutes) with a signing key, and safe defaults:
    /// `SameSite=Lax`, keys prefixed `session:`, 64 KiB per session, cross-origin writes refused.
    pub fn new(key: Key) -> SessionConfig {
        SessionConfig {
            cookie_name: "uc".into(),
            ttl: Duration::from_secs(20 * 60),
            secure: false,
            same_site: SameSite::Lax,
            key_prefix: "session:".into(),
            max_size: 64 * 1024,
            cross_origin_check: true,
            trusted_origins: Vec::new(),
            token_key: TokenKey::derive(&key),
            key,
        }
    }

    /// For sites served over HTTPS: cookies get `Secure` and the `__Host-` name prefix, which
    /// browsers only accept from a secure origin, for `Path=/` and without `Domain`, so neither
    /// a plain-HTTP page nor a sibling subdomain can plant a session cookie.
    pub fn secure(mut self) -> SessionConfig {
        self.secure = true;
        if !self.cookie_name.starts_with("__Host-") {
            self.cookie_name = format!("__Host-{}", self.cookie_name);
        }
        self
    }

    /// Derive the signing key from a secret of at least 32 bytes; `None` when it is shorter.
    pub fn key_from_secret(secret: &[u8]) -> Option<Key> {
        (secret.len() >= 32).then(|| Key::derive_from(secret))
    }

    /// The name of the cookie that anchors CSRF tokens before a session exists.
    pub(crate) fn anchor_cookie_name(&self) -> String {
        format!("{}_csrf", self.cookie_name)
    }

    pub(crate) fn ttl_seconds(&self) -> i32 {
        i32::try_from(self.ttl.as_secs()).unwrap_or(i32::MAX).max(1)
    }
}

/// A session as loaded from memcached.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The data.
    pub data: Data,
    /// The record's CAS unique, which lets the first write skip a read.
    pub cas: u64,
    /// The lifetime the session had left before this load pushed its expiry forward.
    pub ttl_left: Option<Duration>,
}

/// Where sessions live: a memcached client and the settings. Cheap to clone.
#[derive(Clone, Debug)]
pub struct SessionStore {
    pub(crate) client: Client,
    pub(crate) config: Arc<SessionConfig>,
}

/// Why a stored record is not a session of ours.
fn decode(raw: Raw) -> Result<Data, String> {
    if raw.flags != TEXT_FLAGS {
        return Err(format!(
            "flags {} (sessions are stored with {TEXT_FLAGS})",
            raw.flags
        ));
    }
    match serde_json::from_slice(&raw.data) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("JSON that is not an object".into()),
        Err(e) => Err(format!("not JSON: {e}")),
    }
}

impl SessionStore {
    /// Sessions kept through `client`. For sessions, give the client a short `dead_retry`
    /// (about a second): python-memcached's 30 s default turns a blip of memcached into a
    /// 30-second outage of every session.
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

    fn key(&self, id: &str) -> String {
        format!("{}{id}", self.config.key_prefix)
    }

    /// A record that does not decode is not a session: it is logged, deleted (so it is not
    /// kept alive by later reads), and treated as absent.
    async fn discard_corrupt(&self, id: &str, why: &str) {
        tracing::warn!(
            "session record {}… does not decode ({why}); starting a fresh session",
            &id[..id.len().min(8)]
        );
        if let Err(e) = self.client.delete(&self.key(id)).await {
            tracing::warn!("could not delete the undecodable session record: {e}");
        }
    }

    /// Load session `id`, pushing its expiry forward in the same round trip. `None` when
    /// memcached does not know the id (never created, expired, evicted) or holds something
    /// that is not a session.
    pub async fn load(&self, id: &str) -> Result<Option<Loaded>, SessionError> {
        let fetched = match self
            .client
            .gat_meta::<Raw>(&self.key(id), self.config.ttl_seconds())
            .await
        {
            Ok(Some(fetched)) => fetched,
            Ok(None) => return Ok(None),
            // A value that cannot even be decompressed.
            Err(mc_client::Error::Value(why)) => {
                self.discard_corrupt(id, &why).await;
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        };
        match decode(fetched.value) {
            Ok(data) => Ok(Some(Loaded {
                data,
                cas: fetched.cas,
                ttl_left: fetched.ttl_left,
            })),
            Err(why) => {
                self.discard_corrupt(id, &why).await;
                Ok(None)
            }
        }
    }

    /// Read session `id` for a write: its data and CAS unique, pushing its expiry forward.
    async fn load_for_write(&self, id: &str) -> Result<Option<(Data, u64)>, SessionError> {
        let ttl = self.config.ttl_seconds();
        match self.client.gats_unique::<Raw>(&self.key(id), ttl).await {
            Ok(Some((raw, cas))) => match decode(raw) {
                Ok(data) => Ok(Some((data, cas))),
                Err(why) => {
                    self.discard_corrupt(id, &why).await;
                    Ok(None)
                }
            },
            Ok(None) => Ok(None),
            Err(mc_client::Error::Value(why)) => {
                self.discard_corrupt(id, &why).await;
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }

    fn encode(&self, data: &Data) -> Result<String, SessionError> {
        let text = serde_json::to_string(data)?;
        if text.len() > self.config.max_size {
            return Err(SessionError::TooLarge {
                size: text.len(),
                limit: self.config.max_size,
            });
        }
        Ok(text)
    }

    /// Apply `change` to existing session `id` without losing concurrent writers' changes:
    /// change the data as last read, write it back only if nobody wrote in between (CAS),
    /// otherwise read again and retry. `known` is the data and CAS unique this request already
    /// holds, which spares the first read.
    ///
    /// Returns the data as written, or `None` when the session no longer exists (expired,
    /// evicted, moved away by [`crate::Session::regenerate`]): an update never creates a
    /// record, so it can never bring an abandoned id back to life.
    pub async fn update(
        &self,
        id: &str,
        mut known: Option<(Data, u64)>,
        mut change: impl FnMut(&mut Data),
    ) -> Result<Option<Data>, SessionError> {
        let key = self.key(id);
        let ttl = self.config.ttl_seconds();
        for attempt in 0..CAS_RETRIES {
            if attempt > 0 {
                back_off(attempt).await;
            }
            let (mut data, unique) = match known.take() {
                Some(known) => known,
                None => match self.load_for_write(id).await? {
                    Some(current) => current,
                    None => return Ok(None),
                },
            };
            change(&mut data);
            let text = self.encode(&data)?;
            // `false`: someone wrote in between (EXISTS) or the record went away (NOT_FOUND);
            // the next read tells which.
            if self
                .client
                .cas_unique(&key, text.as_str(), unique, ttl)
                .await?
            {
                return Ok(Some(data));
            }
        }
        Err(SessionError::Contention)
    }

    /// Write `data` over session `id` only if its CAS unique is still `unique`: one round trip,
    /// no retry. `false` when another request wrote in between (or the session is gone).
    pub async fn replace_if_unchanged(
        &self,
        id: &str,
        unique: u64,
        data: &Data,
    ) -> Result<bool, SessionError> {
        let text = self.encode(data)?;
        let stored = self
            .client
            .cas_unique(
                &self.key(id),
                text.as_str(),
                unique,
                self.config.ttl_seconds(),
            )
            .await?;
        Ok(stored)
    }

    /// Store a new session under `id`, which must be freshly minted; `false` when the id is
    /// already taken (it is never overwritten).
    pub async fn create(&self, id: &str, data: &Data) -> Result<bool, SessionError> {
        let text = self.encode(data)?;
        let added = self
            .client
            .add(&self.key(id), text.as_str(), self.config.ttl_seconds())
            .await?;
        Ok(added)
    }

    /// Forget session `id`.
    pub async fn remove(&self, id: &str) -> Result<(), SessionError> {
        self.client.delete(&self.key(id)).await?;
        Ok(())
    }
}
