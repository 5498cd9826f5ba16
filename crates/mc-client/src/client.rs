//! The async client: one server per key, python-memcached's operations.
//!
//! Multi-key operations are in `batch`; where a key goes is `routing`'s business, how an
//! answer becomes a result `replies`'.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use mc_proto::meta::MetaGet;
use mc_proto::{
    check_key, Arithmetic, ArithmeticOp, Delete, FlushAll, GetCommand, MetaFlags, MetaStatus,
    Request, Response, StoreCommand, StoreParts, Touch,
};

use crate::address::ServerSpec;
use crate::client_error::{Error, Result};
use crate::node::Node;
use crate::options::{Expiry, Fetched, Options};
use crate::pipeline::{Connection, Expect, Reply};
use crate::replies::{error_from, line, stats, status_bool, value};
use crate::request_wire::RequestWire;
use crate::routing::Router;
use crate::value::{compress, decompress, worth_compressing, FromValue, Raw, ToValue};

pub(crate) struct Inner {
    pub(crate) nodes: Vec<Node>,
    router: Router,
    pub(crate) options: Options,
    cas_ids: Mutex<HashMap<Vec<u8>, u64>>,
}

/// A memcached client over one or more servers, with python-memcached's operations and key
/// placement. Cheap to clone; clones share connections.
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let servers: Vec<&str> = self.inner.nodes.iter().map(|n| n.name.as_str()).collect();
        f.debug_struct("Client").field("servers", &servers).finish()
    }
}

/// An answer and the connection it came on (to be dropped if the answer cannot be trusted).
pub(crate) struct Answer {
    pub(crate) reply: Reply,
    pub(crate) conn: Connection,
}

impl Client {
    /// A client for `servers` with python-memcached's defaults.
    pub fn new<I, S>(servers: I) -> Client
    where
        I: IntoIterator<Item = S>,
        S: Into<ServerSpec>,
    {
        Client::with_options(servers, Options::default())
    }

    /// A client with explicit options.
    pub fn with_options<I, S>(servers: I, options: Options) -> Client
    where
        I: IntoIterator<Item = S>,
        S: Into<ServerSpec>,
    {
        let specs: Vec<ServerSpec> = servers.into_iter().map(Into::into).collect();
        let router = Router::new(&specs, options.distribution);
        let nodes = specs
            .into_iter()
            .map(|s| Node::new(s, options.connections_per_server))
            .collect();
        Client {
            inner: Arc::new(Inner {
                nodes,
                router,
                options,
                cas_ids: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The options in force.
    pub fn options(&self) -> &Options {
        &self.inner.options
    }

    /// The full key (prefix added), checked before anything is sent. Its capacity is its
    /// length, so it becomes `Bytes` without another allocation.
    pub(crate) fn full_key(&self, key: &str) -> Result<Vec<u8>> {
        let mut full = Vec::with_capacity(self.inner.options.key_prefix.len() + key.len());
        full.extend_from_slice(self.inner.options.key_prefix.as_bytes());
        full.extend_from_slice(key.as_bytes());
        check_key(&full, self.inner.options.max_key_length)?;
        Ok(full)
    }

    /// The index of the server a (full) key lives on, skipping dead servers as python-memcached
    /// does.
    pub fn server_for(&self, key: &str) -> Result<usize> {
        let full = self.full_key(key)?;
        self.pick(&full)
    }

    /// The name (`host:port`) of server `index`.
    pub fn server_name(&self, index: usize) -> Option<&str> {
        self.inner.nodes.get(index).map(|n| n.name.as_str())
    }

    pub(crate) fn pick(&self, key: &[u8]) -> Result<usize> {
        self.inner
            .router
            .pick(key, &self.inner.nodes)
            .ok_or(Error::NoServer)
    }

    /// The server for a full key, with a live connection to it. Like python-memcached's
    /// `_get_server`, a server that cannot be connected to is marked dead and the key is
    /// rehashed to the next candidate.
    async fn route(&self, key: &[u8]) -> Result<(usize, Connection)> {
        let mut last_error = Error::NoServer;
        for _ in 0..=self.inner.nodes.len() {
            let index = match self.pick(key) {
                Ok(index) => index,
                Err(_) => return Err(last_error),
            };
            match self.connect(index).await {
                Ok(conn) => return Ok((index, conn)),
                Err(e) => last_error = e,
            }
        }
        Err(last_error)
    }

    /// Send one request for `key`, marking its server dead on I/O failure or timeout (the
    /// request then fails; it is not resent, as python-memcached does not resend either).
    async fn call_key(&self, key: &[u8], request: &Request, expect: Expect) -> Result<Answer> {
        let (index, conn) = self.route(key).await?;
        self.send(index, conn, request, expect).await
    }

    /// [`Client::call_key`] for a request built around the full key itself: the key is
    /// routed, then moved into the request (never copied).
    async fn call_with_key(
        &self,
        full: Bytes,
        expect: Expect,
        request: impl FnOnce(Bytes) -> Request,
    ) -> Result<Answer> {
        let (index, conn) = self.route(&full).await?;
        self.send(index, conn, &request(full), expect).await
    }

    pub(crate) async fn send(
        &self,
        index: usize,
        conn: Connection,
        request: &Request,
        expect: Expect,
    ) -> Result<Answer> {
        // Room for the line around the key and value, so encoding allocates once.
        let data = match request {
            Request::Store(store) => store.key.len() + store.data.len(),
            _ => 0,
        };
        let mut buf = BytesMut::with_capacity(data + 96);
        request.encode(&mut buf);
        self.send_wire(index, conn, &buf, expect).await
    }

    /// Send encoded request bytes on `conn` to server `index`.
    pub(crate) async fn send_wire(
        &self,
        index: usize,
        conn: Connection,
        wire: &[u8],
        expect: Expect,
    ) -> Result<Answer> {
        let node = &self.inner.nodes[index];
        let result = conn
            .call(wire, expect, self.inner.options.io_timeout, &node.name)
            .await;
        if matches!(result, Err(Error::Io { .. } | Error::Timeout(_))) {
            node.mark_dead(self.inner.options.dead_retry);
        }
        Ok(Answer {
            reply: result?,
            conn,
        })
    }

    /// A connection to server `index`, marking the server dead when none can be opened.
    pub(crate) async fn connect(&self, index: usize) -> Result<Connection> {
        let node = &self.inner.nodes[index];
        let options = &self.inner.options;
        node.connection(options.connect_timeout, options.max_value_length)
            .await
            .inspect_err(|_| node.mark_dead(options.dead_retry))
    }

    /// Send one request to server `index` (for commands addressed to every server).
    async fn call(&self, index: usize, request: &Request, expect: Expect) -> Result<Answer> {
        let conn = self.connect(index).await?;
        self.send(index, conn, request, expect).await
    }

    pub(crate) fn encode_value(&self, value: &(impl ToValue + ?Sized)) -> Result<Raw> {
        let raw = compress(value.to_value()?, self.inner.options.min_compress_len);
        self.check_value_len(raw.data.len())?;
        Ok(raw)
    }

    /// A value of `len` bytes (as sent) is within `max_value_length`.
    fn check_value_len(&self, len: usize) -> Result<()> {
        let max = self.inner.options.max_value_length;
        if len > max {
            return Err(Error::ValueTooLarge { len, max });
        }
        Ok(())
    }

    async fn store(
        &self,
        command: StoreCommand,
        key: &str,
        value: &(impl ToValue + ?Sized),
        exptime: Expiry,
        cas: u64,
    ) -> Result<bool> {
        let options = &self.inner.options;
        // Bytes and text are encoded straight from the caller's value, unless they are to be
        // compressed; anything else is converted first and kept here while it is encoded.
        let converted;
        let (flags, data) = match value.as_sent() {
            Some((flags, data))
                if !worth_compressing(flags, data.len(), options.min_compress_len) =>
            {
                self.check_value_len(data.len())?;
                (flags, data)
            }
            _ => {
                converted = self.encode_value(value)?;
                (converted.flags, &converted.data[..])
            }
        };
        let (wire, range) = RequestWire::store(&StoreParts {
            command,
            prefix: options.key_prefix.as_bytes(),
            key: key.as_bytes(),
            flags,
            exptime: exptime.0,
            cas,
            data,
            noreply: false,
        });
        let full = &wire.as_slice()[range];
        check_key(full, options.max_key_length)?;
        let (index, conn) = self.route(full).await?;
        let answer = self
            .send_wire(index, conn, wire.as_slice(), Expect::Line)
            .await?;
        status_bool(answer.reply, &Response::Stored)
    }

    /// Store unconditionally. Returns whether it was stored.
    pub async fn set(
        &self,
        key: &str,
        value: &(impl ToValue + ?Sized),
        exptime: impl Into<Expiry>,
    ) -> Result<bool> {
        self.store(StoreCommand::Set, key, value, exptime.into(), 0)
            .await
    }

    /// Store only if the key is absent.
    pub async fn add(
        &self,
        key: &str,
        value: &(impl ToValue + ?Sized),
        exptime: impl Into<Expiry>,
    ) -> Result<bool> {
        self.store(StoreCommand::Add, key, value, exptime.into(), 0)
            .await
    }

    /// Store only if the key is present.
    pub async fn replace(
        &self,
        key: &str,
        value: &(impl ToValue + ?Sized),
        exptime: impl Into<Expiry>,
    ) -> Result<bool> {
        self.store(StoreCommand::Replace, key, value, exptime.into(), 0)
            .await
    }

    /// Add bytes after the existing value (its flags and expiry stay).
    pub async fn append(&self, key: &str, value: &(impl ToValue + ?Sized)) -> Result<bool> {
        self.store(StoreCommand::Append, key, value, Expiry(0), 0)
            .await
    }

    /// Add bytes before the existing value (its flags and expiry stay).
    pub async fn prepend(&self, key: &str, value: &(impl ToValue + ?Sized)) -> Result<bool> {
        self.store(StoreCommand::Prepend, key, value, Expiry(0), 0)
            .await
    }

    /// Compare-and-swap with the CAS unique remembered by the last `gets` of this key (needs
    /// `cache_cas`). Like python-memcached, when no unique is remembered it falls back to a
    /// plain `set`. Returns false when another client changed the value in between.
    pub async fn cas(
        &self,
        key: &str,
        value: &(impl ToValue + ?Sized),
        exptime: impl Into<Expiry>,
    ) -> Result<bool> {
        let full = self.full_key(key)?;
        let unique = self.cas_ids().get(&full).copied();
        match unique {
            Some(unique) => {
                self.store(StoreCommand::Cas, key, value, exptime.into(), unique)
                    .await
            }
            None => self.set(key, value, exptime).await,
        }
    }

    /// Compare-and-swap with an explicit CAS unique (from [`Client::gets_unique`]).
    pub async fn cas_unique(
        &self,
        key: &str,
        value: &(impl ToValue + ?Sized),
        unique: u64,
        exptime: impl Into<Expiry>,
    ) -> Result<bool> {
        self.store(StoreCommand::Cas, key, value, exptime.into(), unique)
            .await
    }

    fn cas_ids(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, u64>> {
        self.inner.cas_ids.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn retrieve(
        &self,
        command: GetCommand,
        key: &str,
        exptime: Expiry,
    ) -> Result<Option<(Raw, Option<u64>)>> {
        // The request is encoded once, on the stack until written, and the full key is checked
        // and routed where it lies in it: a get allocates no key and no buffer of its own.
        let prefix = self.inner.options.key_prefix.as_bytes();
        let (wire, range) = RequestWire::retrieval(command, exptime.0, prefix, key.as_bytes());
        let full = &wire.as_slice()[range];
        check_key(full, self.inner.options.max_key_length)?;
        let (index, conn) = self.route(full).await?;
        let answer = self
            .send_wire(index, conn, wire.as_slice(), Expect::Value)
            .await?;
        let Some(v) = value(answer.reply)? else {
            return Ok(None);
        };
        let is_asked = v.key.len() == prefix.len() + key.len()
            && v.key.starts_with(prefix)
            && v.key[prefix.len()..] == *key.as_bytes();
        if !is_asked {
            // The connection that answered with another key's value is out of step or lying.
            answer.conn.close();
            return Err(Error::Protocol(format!(
                "asked for {key}, got a value for {:?}",
                v.key
            )));
        }
        let raw = Raw {
            flags: v.flags,
            data: v.data,
        };
        Ok(Some((
            decompress(raw, self.inner.options.max_value_length)?,
            v.cas,
        )))
    }

    /// Read a value; `None` when the key is missing.
    pub async fn get<T: FromValue>(&self, key: &str) -> Result<Option<T>> {
        match self.retrieve(GetCommand::Get, key, Expiry(0)).await? {
            Some((raw, _)) => T::from_value(raw).map(Some),
            None => Ok(None),
        }
    }

    /// Read a value and, with `cache_cas`, remember its CAS unique for [`Client::cas`].
    pub async fn gets<T: FromValue>(&self, key: &str) -> Result<Option<T>> {
        match self.gets_unique(key).await? {
            Some((value, unique)) => {
                if self.inner.options.cache_cas {
                    self.cas_ids().insert(self.full_key(key)?, unique);
                }
                Ok(Some(value))
            }
            None => Ok(None),
        }
    }

    /// Read a value with its CAS unique.
    pub async fn gets_unique<T: FromValue>(&self, key: &str) -> Result<Option<(T, u64)>> {
        match self.retrieve(GetCommand::Gets, key, Expiry(0)).await? {
            Some((raw, Some(unique))) => Ok(Some((T::from_value(raw)?, unique))),
            Some((_, None)) => Err(Error::Protocol("gets answered without a CAS unique".into())),
            None => Ok(None),
        }
    }

    /// Read a value and set its new expiry in the same round trip (`gat`): sliding expiry.
    pub async fn gat<T: FromValue>(
        &self,
        key: &str,
        exptime: impl Into<Expiry>,
    ) -> Result<Option<T>> {
        match self.retrieve(GetCommand::Gat, key, exptime.into()).await? {
            Some((raw, _)) => T::from_value(raw).map(Some),
            None => Ok(None),
        }
    }

    /// [`Client::gat`] that also returns the CAS unique (`gats`).
    pub async fn gats_unique<T: FromValue>(
        &self,
        key: &str,
        exptime: impl Into<Expiry>,
    ) -> Result<Option<(T, u64)>> {
        match self.retrieve(GetCommand::Gats, key, exptime.into()).await? {
            Some((raw, Some(unique))) => Ok(Some((T::from_value(raw)?, unique))),
            Some((_, None)) => Err(Error::Protocol("gats answered without a CAS unique".into())),
            None => Ok(None),
        }
    }

    /// Read a value with its CAS unique and the lifetime it had left, and give it a new expiry,
    /// in one round trip: meta `mg <key> v f c t T<exptime>` (memcached 1.6 and mc-server).
    /// `ttl_left` is what remained *before* this request set the new expiry (`t` is written
    /// before `T`, and memcached applies meta flags in order). `None` when the key is missing.
    pub async fn gat_meta<T: FromValue>(
        &self,
        key: &str,
        exptime: impl Into<Expiry>,
    ) -> Result<Option<Fetched<T>>> {
        let full = self.full_key(key)?;
        let exptime = exptime.into();
        let flags = MetaFlags::new(format!("v f c t T{}", exptime.0))
            .map_err(|e| Error::Client(format!("{e:?}")))?;
        let answer = self
            .call_with_key(Bytes::from(full), Expect::Line, |key| {
                Request::MetaGet(MetaGet { key, flags })
            })
            .await?;
        let meta = match line(answer.reply)? {
            Response::Meta(meta) => meta,
            r => return Err(error_from(r)),
        };
        let data = match (meta.status, meta.data) {
            (MetaStatus::Miss, _) => return Ok(None),
            (MetaStatus::Value, Some(data)) => data,
            (status, _) => {
                answer.conn.close();
                return Err(Error::Protocol(format!("mg answered {status:?}")));
            }
        };
        let mut stored_flags = None;
        let mut cas = None;
        let mut ttl = None;
        for token in meta.flags.split(|&b| b == b' ').filter(|t| !t.is_empty()) {
            let number = std::str::from_utf8(&token[1..]).ok();
            match token[0] {
                b'f' => stored_flags = number.and_then(|n| n.parse::<u32>().ok()),
                b'c' => cas = number.and_then(|n| n.parse::<u64>().ok()),
                b't' => ttl = number.and_then(|n| n.parse::<i64>().ok()),
                _ => {}
            }
        }
        let (Some(flags), Some(cas), Some(ttl)) = (stored_flags, cas, ttl) else {
            answer.conn.close();
            return Err(Error::Protocol(
                "mg answered without the f, c and t flags it was asked for".into(),
            ));
        };
        let raw = decompress(Raw { flags, data }, self.inner.options.max_value_length)?;
        Ok(Some(Fetched {
            value: T::from_value(raw)?,
            cas,
            ttl_left: u64::try_from(ttl).ok().map(Duration::from_secs),
        }))
    }

    /// Delete a key. Returns true when it was deleted, false when it was not there
    /// (python-memcached returns 1 in both cases).
    pub async fn delete(&self, key: &str) -> Result<bool> {
        let full = Bytes::from(self.full_key(key)?);
        let answer = self
            .call_with_key(full, Expect::Line, |key| {
                Request::Delete(Delete {
                    key,
                    noreply: false,
                })
            })
            .await?;
        status_bool(answer.reply, &Response::Deleted)
    }

    async fn arithmetic(&self, op: ArithmeticOp, key: &str, delta: u64) -> Result<Option<u64>> {
        let full = Bytes::from(self.full_key(key)?);
        let answer = self
            .call_with_key(full, Expect::Line, |key| {
                Request::Arithmetic(Arithmetic {
                    op,
                    key,
                    delta,
                    noreply: false,
                })
            })
            .await?;
        match line(answer.reply)? {
            Response::Number(n) => Ok(Some(n)),
            Response::NotFound => Ok(None),
            r => Err(error_from(r)),
        }
    }

    /// Add `delta` to a decimal counter (wrapping at 2^64). `None` when the key is missing.
    pub async fn incr(&self, key: &str, delta: u64) -> Result<Option<u64>> {
        self.arithmetic(ArithmeticOp::Incr, key, delta).await
    }

    /// Subtract `delta` from a decimal counter (stopping at 0). `None` when the key is missing.
    pub async fn decr(&self, key: &str, delta: u64) -> Result<Option<u64>> {
        self.arithmetic(ArithmeticOp::Decr, key, delta).await
    }

    /// Set a new expiry. Returns whether the key was there.
    pub async fn touch(&self, key: &str, exptime: impl Into<Expiry>) -> Result<bool> {
        let full = Bytes::from(self.full_key(key)?);
        let exptime = exptime.into().0;
        let answer = self
            .call_with_key(full, Expect::Line, |key| {
                Request::Touch(Touch {
                    key,
                    exptime,
                    noreply: false,
                })
            })
            .await?;
        status_bool(answer.reply, &Response::Touched)
    }

    /// Invalidate every item on every live server.
    pub async fn flush_all(&self) -> Result<()> {
        for index in 0..self.inner.nodes.len() {
            if !self.inner.nodes[index].is_alive() {
                continue;
            }
            let request = Request::FlushAll(FlushAll {
                delay: None,
                noreply: false,
            });
            match line(self.call(index, &request, Expect::Line).await?.reply)? {
                Response::Ok => {}
                r => return Err(error_from(r)),
            }
        }
        Ok(())
    }

    /// `stats` of every live server: (server name, statistics).
    pub async fn get_stats(&self) -> Result<Vec<(String, HashMap<String, String>)>> {
        let mut all = Vec::new();
        for (index, node) in self.inner.nodes.iter().enumerate() {
            if !node.is_alive() {
                continue;
            }
            let request = Request::Stats(mc_proto::Stats { args: Vec::new() });
            let answer = self.call(index, &request, Expect::Stats).await?;
            let map = stats(answer.reply)?
                .into_iter()
                .map(|(k, v)| {
                    (
                        String::from_utf8_lossy(&k).into_owned(),
                        String::from_utf8_lossy(&v).into_owned(),
                    )
                })
                .collect();
            all.push((node.name.clone(), map));
        }
        Ok(all)
    }

    /// Close every connection (they reopen on the next request).
    pub async fn disconnect_all(&self) {
        for node in &self.inner.nodes {
            node.disconnect().await;
        }
    }

    /// Raw access for advanced uses (meta commands): send `request` to the server that owns
    /// `key` and get its first answer line.
    pub async fn request_line(&self, key: &str, request: &Request) -> Result<Response> {
        let full = self.full_key(key)?;
        line(self.call_key(&full, request, Expect::Line).await?.reply)
    }
}
