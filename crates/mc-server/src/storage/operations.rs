//! The operations commands run: reads, the storage commands, deletes, touches, counters,
//! `flush_all`.

use super::*;

impl Store {
    /// Look an item up without touching it (no CLOCK reference, no statistics).
    pub fn peek(&mut self, key: &[u8], now: u32) -> Option<Item<'_>> {
        let (_, id) = self.lookup(key, now)?;
        Some(self.item_at(id))
    }

    /// Read an item with shared access to the store, alongside other readers: a hit records
    /// itself in the item's access bits (atomic), and a miss of an absent key changes nothing.
    /// Anything else that needs a change (a dead item to unlink, a flush falling due, an expiry
    /// to set, a last-access time older than `ATIME_UPDATE_INTERVAL`) answers
    /// [`Read::NeedsWrite`]: the caller repeats the read with [`Store::get`] and exclusive
    /// access. The caller counts the hits and misses it gets here ([`Store::get`] counts its
    /// own).
    pub fn read(&self, key: &[u8], now: u32, access: Access) -> Read<'_> {
        if access.touch.is_some() || self.flush_at.is_some_and(|at| now >= at) {
            return Read::NeedsWrite;
        }
        let tag = self.tag(key);
        let slabs = &self.slabs;
        let Some((_, id)) = self.index.find(tag, |id| slabs.chunk(id).key() == key) else {
            return Read::Miss;
        };
        let chunk = self.slabs.chunk(id);
        let stale = now.saturating_sub(chunk.atime()) >= ATIME_UPDATE_INTERVAL;
        if stale || self.is_flushed(chunk) || Self::is_expired(chunk, now) {
            return Read::NeedsWrite;
        }
        let used = if access.bump { REFERENCED } else { 0 };
        let before = self.note_access(id, FETCHED | used);
        Read::Hit(Item {
            fetched: before & FETCHED != 0,
            ..self.item_at(id)
        })
    }

    /// Read an item, applying `access`. Returns the item as it was before this access marked it
    /// fetched (so `fetched()` tells whether an earlier read happened).
    pub fn get(&mut self, key: &[u8], now: u32, access: Access) -> Option<Item<'_>> {
        let Some((_, id)) = self.lookup(key, now) else {
            if access.count_get {
                self.written.stats.get_misses += 1;
            }
            if access.count_touch {
                self.written.stats.touch_misses += 1;
            }
            return None;
        };
        if access.count_get {
            self.written.stats.get_hits += 1;
            self.counters_of(id).get_hits += 1;
        }
        if access.count_touch {
            self.written.stats.touch_hits += 1;
            self.counters_of(id).touch_hits += 1;
        }
        let used = if access.bump { REFERENCED } else { 0 };
        let before = self.note_access(id, FETCHED | used);
        let chunk = self.slabs.chunk_mut(id);
        let last_access = chunk.atime();
        if let Some(exptime) = access.touch {
            chunk.set_exptime(exptime);
        }
        if now.saturating_sub(last_access) >= ATIME_UPDATE_INTERVAL {
            chunk.set_atime(now);
        }
        Some(Item {
            fetched: before & FETCHED != 0,
            last_access,
            ..self.item_at(id)
        })
    }

    /// Execute a storage command at server time `now`.
    pub fn store(&mut self, write: &Write<'_>, now: u32) -> StoreStatus {
        let Write {
            command,
            key,
            flags,
            exptime,
            cas,
            value,
            invalidate,
        } = *write;
        // With CAS off every unique is 0 (memcached ignores the one a request carries, so a
        // `cas` on a present key always matches).
        let report = self.config.cas;
        let cas = if report { cas } else { 0 };
        let stored = |result: Result<(Option<u32>, u64), StoreStatus>| match result {
            Ok((_, cas)) => StoreStatus::Stored(if report { cas } else { 0 }),
            Err(status) => status,
        };
        let old = self.lookup(key, now);
        if command == StoreCommand::Cas {
            match old {
                None => self.written.stats.cas_misses += 1,
                Some((_, id)) if self.visible_cas(self.slabs.chunk(id)) == cas => {
                    self.written.stats.cas_hits += 1;
                    self.counters_of(id).cas_hits += 1;
                }
                Some((_, id)) => {
                    self.written.stats.cas_badval += 1;
                    self.counters_of(id).cas_badval += 1;
                }
            }
        }
        let Some((old_slot, old_id)) = old else {
            return match command {
                StoreCommand::Set | StoreCommand::Add => {
                    stored(self.link_stored(key, flags, exptime, &[value], now))
                }
                StoreCommand::Cas => StoreStatus::NotFound,
                _ => StoreStatus::NotStored,
            };
        };
        let old_cas = self.visible_cas(self.slabs.chunk(old_id));
        let cas_matches = cas == 0 || cas == old_cas;
        match command {
            StoreCommand::Add => {
                // memcached refreshes the existing item's LRU position on a failed add.
                self.note_access(old_id, REFERENCED);
                StoreStatus::NotStored
            }
            StoreCommand::Cas if invalidate && cas != 0 && cas < old_cas => {
                let old = self.slabs.chunk(old_id);
                let (old_exptime, kept) = (old.exptime(), old.state() & TOKEN_SENT);
                self.unlink(old_slot, old_id);
                let result = self.link_stored(key, flags, old_exptime, &[value], now);
                if let Ok((Some(id), _)) = result {
                    self.mark_id(id, STALE | kept);
                }
                stored(result)
            }
            StoreCommand::Cas if cas != old_cas => StoreStatus::Exists,
            StoreCommand::Append | StoreCommand::Prepend if !cas_matches => StoreStatus::Exists,
            StoreCommand::Append | StoreCommand::Prepend => {
                let chunk = self.slabs.chunk(old_id);
                let (old_flags, old_exptime) = (chunk.flags(), chunk.exptime());
                // The old value is copied out: making room may evict the old item.
                let old_value = chunk.value().to_vec();
                let parts: [&[u8]; 2] = if command == StoreCommand::Append {
                    [&old_value, value]
                } else {
                    [value, &old_value]
                };
                self.unlink(old_slot, old_id);
                stored(self.link_stored(key, old_flags, old_exptime, &parts, now))
            }
            StoreCommand::Set | StoreCommand::Replace | StoreCommand::Cas => {
                stored(self.relink((old_slot, old_id), key, flags, exptime, &[value], now))
            }
        }
    }

    /// Put back an item saved by a restart file, with its own flags, expiry (server time) and
    /// CAS unique. Returns false when it could not be stored (too large for this server's
    /// `-I`, or no memory left); the caller raises the pool's CAS counter above every unique
    /// it restores.
    pub fn restore(
        &mut self,
        key: &[u8],
        value: &[u8],
        flags: u32,
        exptime: u32,
        cas: u64,
        now: u32,
    ) -> bool {
        if self.lookup(key, now).is_some() {
            return false;
        }
        match self.link_stored(key, flags, exptime, &[value], now) {
            Ok((Some(id), _)) => {
                self.slabs.chunk_mut(id).set_cas(cas);
                true
            }
            Ok((None, _)) | Err(_) => false,
        }
    }

    /// Drop a key's value whatever it is (memcached does this when a `set` is too large, so
    /// that a stale value is not served).
    pub fn discard(&mut self, key: &[u8], now: u32) {
        self.remove_key(key, now);
    }

    /// Delete a key, optionally only when its CAS unique matches.
    pub fn delete(&mut self, key: &[u8], cas: Option<u64>, now: u32) -> DeleteStatus {
        match self.lookup(key, now) {
            Some((_, id)) if cas.is_some_and(|c| c != self.visible_cas(self.slabs.chunk(id))) => {
                self.written.stats.delete_misses += 1;
                DeleteStatus::Exists
            }
            Some((slot, id)) => {
                self.written.stats.delete_hits += 1;
                self.counters_of(id).delete_hits += 1;
                self.unlink(slot, id);
                DeleteStatus::Deleted
            }
            None => {
                self.written.stats.delete_misses += 1;
                DeleteStatus::NotFound
            }
        }
    }

    /// Set a new expiry. Returns whether the key was there.
    pub fn touch(&mut self, key: &[u8], exptime: u32, now: u32) -> bool {
        let access = Access {
            touch: Some(exptime),
            bump: true,
            count_get: false,
            count_touch: true,
        };
        self.get(key, now, access).is_some()
    }

    /// `incr`/`decr`, with memcached's rules: 64-bit wrap on increment, floor at 0 on
    /// decrement, the value rewritten in place (space padded) when the new number is not longer.
    pub fn arithmetic(
        &mut self,
        key: &[u8],
        incr: bool,
        delta: u64,
        cas: Option<u64>,
        now: u32,
    ) -> ArithStatus {
        let Some((_, id)) = self.lookup(key, now) else {
            if incr {
                self.written.stats.incr_misses += 1;
            } else {
                self.written.stats.decr_misses += 1;
            }
            return ArithStatus::NotFound;
        };
        if cas.is_some_and(|c| c != 0 && c != self.visible_cas(self.slabs.chunk(id))) {
            return ArithStatus::Exists;
        }
        let Some(current) = parse_counter(self.slabs.chunk(id).value()) else {
            return ArithStatus::NonNumeric;
        };
        let value = if incr {
            current.wrapping_add(delta)
        } else {
            current.saturating_sub(delta)
        };
        if incr {
            self.written.stats.incr_hits += 1;
            self.counters_of(id).incr_hits += 1;
        } else {
            self.written.stats.decr_hits += 1;
            self.counters_of(id).decr_hits += 1;
        }
        let chunk = self.slabs.chunk(id);
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(value).as_bytes();
        if digits.len() <= chunk.value_len() {
            let cas = self.next_cas();
            self.note_access(id, REFERENCED);
            let chunk = self.slabs.chunk_mut(id);
            chunk.set_cas(cas);
            chunk.set_atime(now);
            let stored = chunk.value_mut();
            stored[..digits.len()].copy_from_slice(digits);
            stored[digits.len()..].fill(b' ');
            let cas = self.reported(cas);
            let item = self.item_at(id).handle();
            return ArithStatus::Done { value, cas, item };
        }
        let (flags, exptime) = (chunk.flags(), chunk.exptime());
        let digits = digits.to_vec();
        self.remove_key(key, now);
        match self.link_new(key, flags, exptime, &[&digits], now) {
            Ok((id, cas)) => ArithStatus::Done {
                value,
                cas: self.reported(cas),
                item: self.item_at(id).handle(),
            },
            Err(_) => ArithStatus::NoMemory,
        }
    }

    /// Create a counter holding `initial` if the key is absent (meta arithmetic's vivify).
    pub fn add_counter(
        &mut self,
        key: &[u8],
        initial: u64,
        exptime: u32,
        now: u32,
    ) -> Option<(ItemHandle, u64)> {
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(initial).as_bytes().to_vec();
        let (id, cas) = self.link_new(key, 0, exptime, &[&digits], now).ok()?;
        Some((self.item_at(id).handle(), cas))
    }

    /// Invalidate every item now, or at server time `at`.
    pub fn flush(&mut self, at: Option<u32>, now: u32) {
        match at {
            Some(at) if at > now => self.flush_at = Some(at),
            _ => {
                self.flush_at = None;
                self.oldest_cas = self.slabs.pool().last_cas() + 1;
            }
        }
    }
}

/// memcached's reading of a counter: optional leading whitespace, digits, then the end of the
/// value or whitespace.
pub(super) fn parse_counter(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    mc_proto::numbers::parse_u64(value)
}
