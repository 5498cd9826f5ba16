//! Finding items and linking them in: the hash index, the class counts, the CAS serials, and
//! lazy expiry (a dead item met by a lookup is unlinked on the spot).

use super::*;

impl Store {
    pub(super) fn counters_of(&mut self, id: u32) -> &mut ClassCounters {
        let class = self.slabs.class_of(id);
        &mut self.class_counters[class]
    }

    pub(super) fn next_cas(&mut self) -> u64 {
        self.slabs.pool().next_cas()
    }

    /// An item's CAS unique as clients see and compare it: 0 when CAS is off. (Items keep
    /// their internal serial either way: `flush_all` relies on it.)
    pub(super) fn visible_cas(&self, chunk: &[u8]) -> u64 {
        if self.config.cas {
            chunk.cas()
        } else {
            0
        }
    }

    /// A unique handed back to a client for a write that assigned `cas`.
    pub(super) fn reported(&self, cas: u64) -> u64 {
        if self.config.cas {
            cas
        } else {
            0
        }
    }

    pub(super) fn tag(&self, key: &[u8]) -> u32 {
        (self.hasher.hash_one(key) >> 32) as u32
    }

    pub(super) fn apply_pending_flush(&mut self, now: u32) {
        if let Some(at) = self.flush_at {
            if now >= at {
                self.oldest_cas = self.slabs.pool().last_cas() + 1;
                self.flush_at = None;
            }
        }
    }

    pub(super) fn is_flushed(&self, chunk: &[u8]) -> bool {
        chunk.cas() < self.oldest_cas
    }

    pub(super) fn is_expired(chunk: &[u8], now: u32) -> bool {
        let exptime = chunk.exptime();
        exptime != 0 && exptime <= now
    }

    /// Find a live item; a dead one (expired or flushed) met on the way is removed.
    pub(super) fn lookup(&mut self, key: &[u8], now: u32) -> Option<(usize, u32)> {
        self.apply_pending_flush(now);
        let tag = self.tag(key);
        let slabs = &self.slabs;
        self.last_lookup = Lookup::Missed(Miss::NotFound);
        let (slot, id) = self.index.find(tag, |id| slabs.chunk(id).key() == key)?;
        let chunk = self.slabs.chunk(id);
        if self.is_flushed(chunk) {
            self.stats.get_flushed += 1;
            self.last_lookup = Lookup::Missed(Miss::Flushed);
            self.unlink(slot, id);
            return None;
        }
        if Self::is_expired(chunk, now) {
            if chunk.state() & FETCHED == 0 {
                self.stats.expired_unfetched += 1;
                self.counters_of(id).expired_unfetched += 1;
            }
            self.stats.get_expired += 1;
            self.last_lookup = Lookup::Missed(Miss::Expired);
            self.unlink(slot, id);
            return None;
        }
        self.last_lookup = Lookup::Found {
            class: self.slabs.class_of(id),
            len: chunk.value_len(),
        };
        Some((slot, id))
    }

    /// Remove an item from the index and its class, and free its chunk.
    pub(super) fn unlink(&mut self, slot: usize, id: u32) {
        self.index.remove_at(slot);
        self.slabs.count_unlinked(id);
        let chunk = self.slabs.chunk(id);
        let (size, serial) = (chunk.total_size(), chunk.cas());
        self.bytes -= size;
        let counters = self.counters_of(id);
        counters.mem_requested = counters.mem_requested.saturating_sub(size as u64);
        if let Some(sizes) = &mut self.sizes {
            sizes.remove(size, serial);
        }
        self.slabs.free(id);
    }

    /// Remove an item known only by its chunk id (eviction).
    pub(super) fn unlink_id(&mut self, id: u32) {
        let key = self.slabs.chunk(id).key();
        let tag = self.tag(key);
        if let Some((slot, _)) = self.index.find(tag, |candidate| candidate == id) {
            self.unlink(slot, id);
        }
    }

    pub(super) fn item_at(&self, id: u32) -> Item<'_> {
        let chunk = self.slabs.chunk(id);
        Item {
            chunk,
            id,
            hide_cas: !self.config.cas,
            class: self.slabs.class_of(id),
            fetched: chunk.state() & FETCHED != 0,
            last_access: chunk.atime(),
        }
    }

    /// Write a new item into a fresh chunk and link it.
    pub(super) fn link_new(
        &mut self,
        key: &[u8],
        flags: u32,
        exptime: u32,
        parts: &[&[u8]],
        now: u32,
    ) -> Result<(u32, u64), StoreStatus> {
        let value_len: usize = parts.iter().map(|p| p.len()).sum();
        let size = item::size(key.len(), value_len, flags);
        if size > self.config.max_item_size || key.len() > usize::from(u8::MAX) {
            self.stats.store_too_large += 1;
            return Err(StoreStatus::TooLarge);
        }
        let id = match self.allocate(size, now) {
            Alloc::Chunk(id) => id,
            Alloc::NoMemory => {
                self.stats.store_no_memory += 1;
                return Err(StoreStatus::NoMemory);
            }
        };
        let cas = self.next_cas();
        {
            let chunk = self.slabs.chunk_mut(id);
            chunk.init(key, value_len, flags);
            chunk.set_cas(cas);
            chunk.set_exptime(exptime);
            chunk.set_atime(now);
            let mut at = 0;
            let value = chunk.value_mut();
            for part in parts {
                value[at..at + part.len()].copy_from_slice(part);
                at += part.len();
            }
        }
        let tag = self.tag(key);
        self.index.insert(tag, id);
        self.slabs.count_linked(id);
        self.bytes += size;
        self.stats.total_items += 1;
        let counters = self.counters_of(id);
        counters.cmd_set += 1;
        counters.mem_requested += size as u64;
        if let Some(sizes) = &mut self.sizes {
            sizes.add(size, cas);
        }
        Ok((id, cas))
    }

    /// Link a newly stored item, unless its expiry has already passed (a negative time, or a
    /// Unix time gone by): then the command still succeeds, as in memcached, but nothing is
    /// kept that no read could ever see. Returns the chunk (when linked) and the CAS unique.
    pub(super) fn link_stored(
        &mut self,
        key: &[u8],
        flags: u32,
        exptime: u32,
        parts: &[&[u8]],
        now: u32,
    ) -> Result<(Option<u32>, u64), StoreStatus> {
        if exptime != 0 && exptime <= now {
            self.stats.total_items += 1;
            return Ok((None, self.next_cas()));
        }
        self.link_new(key, flags, exptime, parts, now)
            .map(|(id, cas)| (Some(id), cas))
    }

    pub(super) fn remove_key(&mut self, key: &[u8], now: u32) {
        if let Some((slot, id)) = self.lookup(key, now) {
            self.unlink(slot, id);
        }
    }
}
