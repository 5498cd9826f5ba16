//! What commands report besides their answers: per-prefix counts (`stats detail`) and event
//! lines for `watch` (`item_get`, `item_store`, `eviction`). Both cost one relaxed load
//! when nobody asked for them.

use std::fmt::Write as _;

use super::Ctx;
use bytes::BufMut;
use mc_proto::response::uri_encode;

use crate::event_log::kind;
use crate::runtime_settings::RuntimeSettings;
use crate::storage::{Lookup, Miss, StoreStatus, Write};

impl Ctx<'_> {
    fn detail(&self) -> bool {
        RuntimeSettings::on(&self.env.runtime.detail_enabled)
    }

    /// A read of `key` (a `get`-family command or a meta get), counted per prefix, and its
    /// lookup logged.
    pub(crate) fn observe_get(&mut self, key: &[u8]) {
        if self.detail() {
            let hit = matches!(self.lookup, Lookup::Found { .. });
            self.store
                .prefixes()
                .get(key, self.env.config.prefix_delimiter, hit);
        }
        self.observe_lookup(key);
    }

    /// `watch fetchers`: log the last lookup of `key`, as memcached logs every key lookup
    /// (stores, deletes, touches and arithmetic look the key up too).
    pub(crate) fn observe_lookup(&mut self, key: &[u8]) {
        let cfd = self.client.id;
        let lookup = self.lookup;
        self.env.events.log(kind::FETCHERS, |line| {
            let (status, class, len) = match lookup {
                Lookup::Found { class, len } => ("found", class + 1, len),
                Lookup::Missed(Miss::NotFound) => ("not_found", 0, 0),
                Lookup::Missed(Miss::Flushed) => ("flushed", 0, 0),
                Lookup::Missed(Miss::Expired) => ("expired", 0, 0),
            };
            line.put_slice(b"type=item_get key=");
            uri_encode(key, line);
            let _ = write!(line, " status={status} clsid={class} cfd={cfd} size={len}");
        });
    }

    /// A write and its outcome.
    pub(crate) fn observe_store(&mut self, write: &Write<'_>, status: StoreStatus) {
        let Write {
            key,
            command,
            exptime,
            flags,
            ..
        } = *write;
        let len = write.value.len();
        self.observe_lookup(key);
        if self.detail() {
            self.store
                .prefixes()
                .set(key, self.env.config.prefix_delimiter);
        }
        if !self.env.events.wants(kind::MUTATIONS) {
            return;
        }
        let class = self
            .store
            .for_key(key)
            .class_for_item(key.len(), len, flags)
            + 1;
        let ttl = if exptime == 0 {
            0
        } else {
            exptime.saturating_sub(self.now)
        };
        let cfd = self.client.id;
        self.env.events.log(kind::MUTATIONS, |line| {
            let status = match status {
                StoreStatus::Stored(_) => "stored",
                StoreStatus::NotStored => "not_stored",
                StoreStatus::Exists => "exists",
                StoreStatus::NotFound => "not_found",
                StoreStatus::TooLarge => "too_large",
                StoreStatus::NoMemory => "no_memory",
            };
            let cmd = command.name();
            line.put_slice(b"type=item_store key=");
            uri_encode(key, line);
            let _ = write!(
                line,
                " status={status} cmd={cmd} ttl={ttl} clsid={class} cfd={cfd} size={len}"
            );
        });
    }

    /// A delete of `key`.
    pub(crate) fn observe_delete(&mut self, key: &[u8]) {
        self.observe_lookup(key);
        if self.detail() {
            self.store
                .prefixes()
                .delete(key, self.env.config.prefix_delimiter);
        }
    }

    /// Log the items the last command evicted, if someone watches evictions.
    pub(crate) fn observe_evictions(&mut self) {
        let watching = self.env.events.wants(kind::EVICTIONS);
        self.store.record_evictions(watching);
        if !watching {
            return;
        }
        let clock = &self.env.clock;
        for evicted in self.store.take_evictions() {
            self.env.events.log(kind::EVICTIONS, |line| {
                line.put_slice(b"type=eviction key=");
                uri_encode(&evicted.key, line);
                let ttl: i64 = if evicted.exptime == 0 {
                    -1
                } else {
                    i64::from(evicted.exptime) - i64::from(self.now)
                };
                let _ = write!(
                    line,
                    " fetch={} ttl={ttl} la={} clsid={} size={}",
                    if evicted.fetched { "yes" } else { "no" },
                    self.now.saturating_sub(evicted.atime),
                    evicted.class + 1,
                    evicted.value_len
                );
                let _ = clock;
            });
        }
    }
}
