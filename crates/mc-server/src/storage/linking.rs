//! Finding items and linking them in: the hash index, the class counts, the CAS serials, and
//! lazy expiry (a dead item met by a lookup is unlinked on the spot).

use super::*;

impl Store {
    /// An item's access bits ([`FETCHED`], [`REFERENCED`]).
    pub(super) fn access_bits(&self, id: u32) -> u8 {
        self.slabs.access(id).load(Ordering::Relaxed)
    }

    /// Record `bits` in an item's access bits; returns them as they were. Needs only shared
    /// access to the store, and writes nothing when they are set already (so that hits on a
    /// popular item do not pass its cache line from core to core).
    pub(super) fn note_access(&self, id: u32, bits: u8) -> u8 {
        let access = self.slabs.access(id);
        let before = access.load(Ordering::Relaxed);
        if before & bits != bits {
            access.fetch_or(bits, Ordering::Relaxed);
        }
        before
    }

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
        self.written.last_lookup = Lookup::Missed(Miss::NotFound);
        let (slot, id) = self.index.find(tag, |id| slabs.chunk(id).key() == key)?;
        let chunk = self.slabs.chunk(id);
        if self.is_flushed(chunk) {
            self.written.stats.get_flushed += 1;
            self.written.last_lookup = Lookup::Missed(Miss::Flushed);
            self.unlink(slot, id);
            return None;
        }
        if Self::is_expired(chunk, now) {
            if self.access_bits(id) & FETCHED == 0 {
                self.written.stats.expired_unfetched += 1;
                self.counters_of(id).expired_unfetched += 1;
            }
            self.written.stats.get_expired += 1;
            self.written.last_lookup = Lookup::Missed(Miss::Expired);
            self.unlink(slot, id);
            return None;
        }
        self.written.last_lookup = Lookup::Found {
            class: self.slabs.class_of(id),
            len: chunk.value_len(),
        };
        Some((slot, id))
    }

    /// Remove an item from the index and its class, and free its chunk.
    pub(super) fn unlink(&mut self, slot: usize, id: u32) {
        self.index.remove_at(slot);
        self.release(id);
    }

    /// Take an item out of its class and free its chunk, leaving its index entry to the caller.
    fn release(&mut self, id: u32) {
        self.slabs.count_unlinked(id);
        let chunk = self.slabs.chunk(id);
        let (size, serial) = (chunk.total_size(), chunk.cas());
        self.written.bytes -= size;
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
            fetched: self.access_bits(id) & FETCHED != 0,
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
        self.link(key, flags, exptime, parts, now, None)
    }

    /// Replace the item found at index slot `slot`, chunk `old`, by a new one for the same key,
    /// unless the new one's expiry has already passed (see [`Store::link_stored`]). The old
    /// chunk is freed first and its index entry pointed at the new chunk, which is most often
    /// the same one: an overwrite neither evicts for room it already has nor rewrites the
    /// index around the entry. Whatever the outcome, the old item is gone.
    pub(super) fn relink(
        &mut self,
        (slot, old): (usize, u32),
        key: &[u8],
        flags: u32,
        exptime: u32,
        parts: &[&[u8]],
        now: u32,
    ) -> Result<(Option<u32>, u64), StoreStatus> {
        let value_len: usize = parts.iter().map(|p| p.len()).sum();
        let expired = exptime != 0 && exptime <= now;
        if expired || item::size(key.len(), value_len, flags) > self.config.max_item_size {
            self.unlink(slot, old);
            return self.link_stored(key, flags, exptime, parts, now);
        }
        self.release(old);
        self.link(key, flags, exptime, parts, now, Some(old))
            .map(|(id, cas)| (Some(id), cas))
    }

    /// Write a new item into a fresh chunk and link it; `replacing` names the freed chunk whose
    /// index entry (still in the index) the new item takes over.
    fn link(
        &mut self,
        key: &[u8],
        flags: u32,
        exptime: u32,
        parts: &[&[u8]],
        now: u32,
        replacing: Option<u32>,
    ) -> Result<(u32, u64), StoreStatus> {
        let value_len: usize = parts.iter().map(|p| p.len()).sum();
        let size = item::size(key.len(), value_len, flags);
        if size > self.config.max_item_size || key.len() > usize::from(u8::MAX) {
            self.written.stats.store_too_large += 1;
            return Err(StoreStatus::TooLarge);
        }
        let tag = self.tag(key);
        let id = match self.allocate(size, now) {
            Alloc::Chunk(id) => id,
            Alloc::NoMemory => {
                if let Some(old) = replacing {
                    // Eviction may have moved the entry; it is found by its chunk id.
                    if let Some((slot, _)) = self.index.find(tag, |c| c == old) {
                        self.index.remove_at(slot);
                    }
                }
                self.written.stats.store_no_memory += 1;
                return Err(StoreStatus::NoMemory);
            }
        };
        let cas = self.next_cas();
        self.slabs.access(id).store(0, Ordering::Relaxed);
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
        // Eviction may have moved the old entry; it is found by its chunk id (which the new
        // item may have taken: then the entry already points at it).
        match replacing.and_then(|old| self.index.find(tag, |c| c == old)) {
            Some((slot, _)) => self.index.replace_at(slot, id),
            None => self.index.insert(tag, id),
        }
        self.slabs.count_linked(id);
        self.written.bytes += size;
        self.written.stats.total_items += 1;
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
            self.written.stats.total_items += 1;
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
