//! The cache: items in slab chunks, found through a hash index, evicted least recently used
//! first, expired lazily.
//!
//! `Store` is single-threaded; the server shares it behind a lock. All times are server-clock
//! seconds (see [`crate::clock`]) passed in by the caller, which keeps the store deterministic
//! under test.

mod index;
pub(crate) mod item;
mod slab;
mod store_counters;
#[cfg(test)]
mod store_tests;

use ahash::RandomState;
use mc_proto::StoreCommand;

use self::index::Index;
use self::item::{ItemRead, ItemWrite, FETCHED, LINKED};
pub use self::item::{STALE, TOKEN_SENT};
pub use self::slab::{MAX_PAGE_BYTES, PAGE_SIZE};
pub use self::store_counters::{ClassCounters, SizeHistogram, StoreStats, SIZE_BUCKET};

/// Bytes of every item taken by its header (lengths, flags, times, CAS, links), before the
/// key and value: memcached's `-n` counts the space after it.
pub fn item_header_len() -> usize {
    item::HEADER
}
use self::slab::{Slabs, NIL};

/// How many items at the LRU tail are checked for expiry before evicting a live one.
const TAIL_SEARCH: usize = 5;

/// Sizing and policy of a store.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreConfig {
    /// Memory for items, in bytes (`-m`); at most [`MAX_PAGE_BYTES`].
    pub max_bytes: usize,
    /// Largest item (`-I`).
    pub max_item_size: usize,
    /// Evict least recently used items when full (`false` is memcached's `-M`: refuse instead).
    pub evict: bool,
    /// How the chunk sizes of the slab classes grow (`-f`; 1.125 here, memcached's default is
    /// 1.25).
    pub growth_factor: f64,
    /// The smallest chunk, header included (48 by default; `-n N` makes it the item header
    /// plus `N`).
    pub min_chunk: usize,
    /// The largest slab chunk (`slab_chunk_max`, 512 KiB): larger items are allocated one by
    /// one.
    pub slab_chunk_max: usize,
    /// Explicit chunk sizes (`slab_sizes`) instead of a growth factor.
    pub slab_sizes: Option<Vec<usize>>,
    /// Give items CAS uniques (memcached's `-C` turns them off: every unique is 0).
    pub cas: bool,
    /// Move a page to a class that has none when memory is full (`slab_automove`, on by
    /// default); `slabs reassign` moves pages by hand either way.
    pub automove: bool,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            max_bytes: 64 * 1024 * 1024,
            max_item_size: mc_proto::DEFAULT_MAX_ITEM_SIZE,
            evict: true,
            growth_factor: slab::DEFAULT_GROWTH_FACTOR,
            min_chunk: slab::DEFAULT_MIN_CHUNK,
            slab_chunk_max: slab::PAGE_SIZE / 2,
            slab_sizes: None,
            cas: true,
            automove: true,
        }
    }
}

/// A storage command for [`Store::store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Write<'a> {
    /// Which command.
    pub command: StoreCommand,
    /// The key.
    pub key: &'a [u8],
    /// Client flags.
    pub flags: u32,
    /// Expiry in server time (0: never).
    pub exptime: u32,
    /// The CAS unique to compare (0: none).
    pub cas: u64,
    /// The value.
    pub value: &'a [u8],
    /// Meta set's `I` flag: a `cas` older than the item's still stores, but the new value is
    /// marked stale and keeps the old expiry, so that one client wins the right to refresh it.
    pub invalidate: bool,
}

impl<'a> Write<'a> {
    /// `command key value` with no flags, no expiry, no CAS.
    pub fn new(command: StoreCommand, key: &'a [u8], value: &'a [u8]) -> Write<'a> {
        Write {
            command,
            key,
            flags: 0,
            exptime: 0,
            cas: 0,
            value,
            invalidate: false,
        }
    }
}

/// The outcome of a storage command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreStatus {
    /// Stored; carries the new CAS unique.
    Stored(u64),
    /// The command's condition failed (`add` on a present key, `replace` on a missing one...).
    NotStored,
    /// CAS mismatch.
    Exists,
    /// `cas` on a missing key.
    NotFound,
    /// The item cannot fit in any chunk.
    TooLarge,
    /// No memory, and eviction is off or found nothing to evict.
    NoMemory,
}

/// The outcome of `incr`/`decr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithStatus {
    /// The new value and CAS unique.
    Done {
        /// The counter's new value.
        value: u64,
        /// The item's new CAS unique.
        cas: u64,
        /// Where the item lives (valid until the store changes).
        id: u32,
    },
    /// The key is missing.
    NotFound,
    /// The value is not a decimal number.
    NonNumeric,
    /// The CAS unique did not match.
    Exists,
    /// The larger number did not fit anywhere.
    NoMemory,
}

/// The outcome of a delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeleteStatus {
    /// Removed.
    Deleted,
    /// Not there.
    NotFound,
    /// The CAS unique did not match.
    Exists,
}

/// Per-class figures for `stats slabs` and `stats items`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct ClassStats {
    pub id: usize,
    /// The class of large items (allocated one by one, not in pages).
    pub large: bool,
    pub chunk_size: usize,
    pub chunks_per_page: usize,
    pub pages: usize,
    pub items: usize,
    pub free_chunks: usize,
    /// Age (seconds since last access) of the least recently used item.
    pub oldest_age: u32,
    /// The class's event counters and bytes.
    pub counters: ClassCounters,
}

/// An item evicted to make room, as `watch evictions` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evicted {
    /// The key.
    pub key: Vec<u8>,
    /// Whether it had been read.
    pub fetched: bool,
    /// Expiry in server time (0: never).
    pub exptime: u32,
    /// Server time of its last access.
    pub atime: u32,
    /// Its class (0-based, as [`Item::class`]).
    pub class: usize,
    /// Bytes of its value.
    pub value_len: usize,
}

/// What the last key lookup found (memcached logs every lookup as `item_get` to `watch
/// fetchers`, whatever the command).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// A live item: its class (0-based) and value length.
    Found {
        /// The item's class.
        class: usize,
        /// Bytes of its value.
        len: usize,
    },
    /// Nothing live under the key.
    Missed(Miss),
}

/// Why a read found nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Miss {
    /// No such key.
    NotFound,
    /// The item was invalidated by `flush_all`.
    Flushed,
    /// The item's time ran out.
    Expired,
}

/// The outcome of [`Store::reassign`] (`slabs reassign`), in memcached's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reassign {
    /// A page moved.
    Moved,
    /// A class id is not a slab class.
    BadClass,
    /// The source class has fewer than two pages.
    NoSpare,
    /// Source and destination are the same class.
    Same,
}

/// A found item, borrowed from the store.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    chunk: &'a [u8],
    id: u32,
    /// CAS is off (`-C`): clients see 0 for every unique.
    hide_cas: bool,
    class: usize,
    fetched: bool,
    /// Server time of the previous access.
    last_access: u32,
}

#[allow(missing_docs)]
impl<'a> Item<'a> {
    pub fn key(&self) -> &'a [u8] {
        self.chunk.key()
    }
    pub fn value(&self) -> &'a [u8] {
        self.chunk.value()
    }
    pub fn flags(&self) -> u32 {
        self.chunk.flags()
    }
    /// The CAS unique as clients see it (0 for every item when CAS is off).
    pub fn cas(&self) -> u64 {
        if self.hide_cas {
            0
        } else {
            self.chunk.cas()
        }
    }
    /// Expiry in server time; 0 means never.
    pub fn exptime(&self) -> u32 {
        self.chunk.exptime()
    }
    /// Server time of the last access.
    pub fn atime(&self) -> u32 {
        self.chunk.atime()
    }
    /// Whether the item had been read before this access.
    pub fn fetched(&self) -> bool {
        self.fetched
    }
    /// Seconds since the last access before this one.
    pub fn last_access(&self) -> u32 {
        self.last_access
    }
    /// The meta-protocol state bits ([`TOKEN_SENT`], [`STALE`]).
    pub fn state(&self) -> u8 {
        self.chunk.state()
    }
    /// Bytes the item occupies (header, key, value).
    pub fn size(&self) -> usize {
        self.chunk.total_size()
    }
    pub fn class(&self) -> usize {
        self.class
    }
    pub(crate) fn id(&self) -> u32 {
        self.id
    }
}

/// What a read does to the item besides returning it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Access {
    /// New expiry (server time) to set, as `gat`/`touch`/`mg T` do.
    pub touch: Option<u32>,
    /// Move the item to the head of its LRU (not for `mg u`).
    pub bump: bool,
    /// Count a hit or miss in the get statistics.
    pub count_get: bool,
    /// Count a hit or miss in the touch statistics.
    pub count_touch: bool,
}

/// The cache.
#[derive(Debug)]
pub struct Store {
    slabs: Slabs,
    index: Index,
    hasher: RandomState,
    last_cas: u64,
    /// Items with a CAS unique below this were flushed.
    oldest_cas: u64,
    /// A delayed `flush_all` takes effect at this server time.
    flush_at: Option<u32>,
    config: StoreConfig,
    bytes: usize,
    stats: StoreStats,
    /// Counters per class, indexed like the slab classes.
    class_counters: Vec<ClassCounters>,
    /// What the last lookup found.
    last_lookup: Lookup,
    /// The `stats sizes` histogram, when tracking is on (`track_sizes`, `stats sizes_enable`).
    sizes: Option<SizeHistogram>,
    /// Evictions not yet taken by [`Store::take_evictions`], when recording is on (someone
    /// watches evictions). Bounded: see [`EVICTION_LOG`].
    evictions_log: Option<Vec<Evicted>>,
}

/// Evictions kept for a watcher between two commands; more are counted as skipped by the
/// log, never buffered without bound.
const EVICTION_LOG: usize = 1024;

enum Alloc {
    Chunk(u32),
    NoMemory,
}

impl Store {
    /// An empty store.
    ///
    /// A `max_bytes` above [`MAX_PAGE_BYTES`] is capped there; the server refuses such a `-m`
    /// before it gets here.
    pub fn new(config: StoreConfig) -> Store {
        let slabs = Slabs::new(&config);
        let classes = slabs.classes().len();
        Store {
            class_counters: vec![ClassCounters::default(); classes],
            last_lookup: Lookup::Missed(Miss::NotFound),
            sizes: None,
            evictions_log: None,
            slabs,
            index: Index::new(),
            hasher: RandomState::new(),
            last_cas: 0,
            oldest_cas: 0,
            flush_at: None,
            config,
            bytes: 0,
            stats: StoreStats::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// Items stored (including expired ones not yet reclaimed).
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when no item is stored.
    pub fn is_empty(&self) -> bool {
        self.index.len() == 0
    }

    /// Bytes used by stored items.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Bytes taken from the system for items: slab pages and large items.
    pub fn allocated_bytes(&self) -> usize {
        self.slabs.used_bytes()
    }

    /// Bytes of the hash index.
    pub fn index_bytes(&self) -> usize {
        self.index.memory()
    }

    /// The counters.
    pub fn stats(&self) -> StoreStats {
        self.stats
    }

    /// Zero the counters (`stats reset`).
    pub fn reset_stats(&mut self) {
        self.stats = StoreStats::default();
        for class in &mut self.class_counters {
            class.reset();
        }
    }

    /// Turn moving pages between classes on demand on or off (`slab_automove`, `slabs
    /// automove`). Off, a class that has no page when memory is full refuses writes.
    pub fn set_automove(&mut self, on: bool) {
        self.config.automove = on;
    }

    /// Start (from empty, as memcached does) or stop the `stats sizes` histogram.
    pub fn track_sizes(&mut self, on: bool) {
        match (on, self.sizes.is_some()) {
            (true, false) => self.sizes = Some(SizeHistogram::starting_at(self.last_cas + 1)),
            (false, true) => self.sizes = None,
            _ => {}
        }
    }

    /// The `stats sizes` histogram, if tracking is on.
    pub fn sizes(&self) -> Option<&SizeHistogram> {
        self.sizes.as_ref()
    }

    /// Record evictions for [`Store::take_evictions`] (while someone watches them) or not.
    pub fn record_evictions(&mut self, on: bool) {
        match (on, self.evictions_log.is_some()) {
            (true, false) => self.evictions_log = Some(Vec::new()),
            (false, true) => self.evictions_log = None,
            _ => {}
        }
    }

    /// The evictions recorded since the last call.
    pub fn take_evictions(&mut self) -> Vec<Evicted> {
        self.evictions_log
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    fn counters_of(&mut self, id: u32) -> &mut ClassCounters {
        let class = self.slabs.class_of(id);
        &mut self.class_counters[class]
    }

    /// Change the memory limit (`cache_memlimit`); returns false when it is below what the
    /// items already use (memcached does not shrink either) or above [`MAX_PAGE_BYTES`].
    pub fn set_max_bytes(&mut self, max_bytes: usize) -> bool {
        if !self.slabs.set_max_bytes(max_bytes) {
            return false;
        }
        self.config.max_bytes = max_bytes;
        true
    }

    /// The latest CAS unique handed out.
    pub fn last_cas(&self) -> u64 {
        self.last_cas
    }

    fn next_cas(&mut self) -> u64 {
        self.last_cas += 1;
        self.last_cas
    }

    /// An item's CAS unique as clients see and compare it: 0 when CAS is off. (Items keep
    /// their internal serial either way: `flush_all` relies on it.)
    fn visible_cas(&self, chunk: &[u8]) -> u64 {
        if self.config.cas {
            chunk.cas()
        } else {
            0
        }
    }

    /// A unique handed back to a client for a write that assigned `cas`.
    fn reported(&self, cas: u64) -> u64 {
        if self.config.cas {
            cas
        } else {
            0
        }
    }

    /// What the last key lookup of any command found (for `watch fetchers`).
    pub fn last_lookup(&self) -> Lookup {
        self.last_lookup
    }

    fn tag(&self, key: &[u8]) -> u32 {
        (self.hasher.hash_one(key) >> 32) as u32
    }

    fn apply_pending_flush(&mut self, now: u32) {
        if let Some(at) = self.flush_at {
            if now >= at {
                self.oldest_cas = self.last_cas + 1;
                self.flush_at = None;
            }
        }
    }

    fn is_flushed(&self, chunk: &[u8]) -> bool {
        chunk.cas() < self.oldest_cas
    }

    fn is_expired(chunk: &[u8], now: u32) -> bool {
        let exptime = chunk.exptime();
        exptime != 0 && exptime <= now
    }

    /// Find a live item; a dead one (expired or flushed) met on the way is removed.
    fn lookup(&mut self, key: &[u8], now: u32) -> Option<(usize, u32)> {
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

    /// Remove an item from the index and its LRU, and free its chunk.
    fn unlink(&mut self, slot: usize, id: u32) {
        self.index.remove_at(slot);
        self.slabs.lru_unlink(id);
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
    fn unlink_id(&mut self, id: u32) {
        let key = self.slabs.chunk(id).key();
        let tag = self.tag(key);
        if let Some((slot, _)) = self.index.find(tag, |candidate| candidate == id) {
            self.unlink(slot, id);
        }
    }

    fn item(&self, id: u32) -> Item<'_> {
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

    /// Look an item up without touching it (no LRU bump, no statistics).
    pub fn peek(&mut self, key: &[u8], now: u32) -> Option<Item<'_>> {
        let (_, id) = self.lookup(key, now)?;
        Some(self.item(id))
    }

    /// Read an item, applying `access`. Returns the item as it was before this access marked it
    /// fetched (so `fetched()` tells whether an earlier read happened).
    pub fn get(&mut self, key: &[u8], now: u32, access: Access) -> Option<Item<'_>> {
        let Some((_, id)) = self.lookup(key, now) else {
            if access.count_get {
                self.stats.get_misses += 1;
            }
            if access.count_touch {
                self.stats.touch_misses += 1;
            }
            return None;
        };
        if access.count_get {
            self.stats.get_hits += 1;
            self.counters_of(id).get_hits += 1;
        }
        if access.count_touch {
            self.stats.touch_hits += 1;
            self.counters_of(id).touch_hits += 1;
        }
        if access.bump {
            self.slabs.lru_bump(id);
        }
        let chunk = self.slabs.chunk_mut(id);
        let state = chunk.state();
        let last_access = chunk.atime();
        if let Some(exptime) = access.touch {
            chunk.set_exptime(exptime);
        }
        chunk.set_atime(now);
        chunk.set_state(state | FETCHED);
        Some(Item {
            fetched: state & FETCHED != 0,
            last_access,
            ..self.item(id)
        })
    }

    /// A chunk for an item of `size` bytes, evicting (unless `-M`) until one is free.
    fn allocate(&mut self, size: usize, now: u32) -> Alloc {
        let class = self.slabs.class_for(size);
        if let Some(id) = self.slabs.alloc(class, size) {
            return Alloc::Chunk(id);
        }
        // Reclaim expired or flushed items at the cold end first.
        let mut id = self.slabs.classes()[class].tail;
        for _ in 0..TAIL_SEARCH {
            if id == NIL {
                break;
            }
            let chunk = self.slabs.chunk(id);
            let prev = chunk.prev();
            if Self::is_expired(chunk, now) || self.is_flushed(chunk) {
                self.stats.reclaimed += 1;
                self.stats.direct_reclaims += 1;
                let counters = &mut self.class_counters[class];
                counters.reclaimed += 1;
                counters.direct_reclaims += 1;
                self.unlink_id(id);
                if let Some(id) = self.slabs.alloc(class, size) {
                    return Alloc::Chunk(id);
                }
            }
            id = prev;
        }
        if self.config.evict {
            // Every round frees an item or a page, so this ends: with a chunk, or with
            // nothing left to free.
            while self.make_room(class, size, now) {
                if let Some(id) = self.slabs.alloc(class, size) {
                    return Alloc::Chunk(id);
                }
            }
        }
        self.class_counters[class].outofmemory += 1;
        Alloc::NoMemory
    }

    /// Free memory towards one more item of `size` bytes in `class`; false when nothing is
    /// left to free.
    fn make_room(&mut self, class: usize, size: usize, now: u32) -> bool {
        let large = self.slabs.large_class();
        let large_tail = self.slabs.classes()[large].tail;
        if class != large {
            // A slab class evicts its own least recently used item, as memcached does; an
            // empty class takes a page from elsewhere.
            let tail = self.slabs.classes()[class].tail;
            if tail != NIL {
                self.evict(tail, now);
                return true;
            }
            return self.take_page_for(class, now);
        }
        // A large item needs bytes: from other large items while they can give enough, else
        // from a slab page given back.
        if large_tail != NIL && self.slabs.large_bytes() >= size {
            self.evict(large_tail, now);
            return true;
        }
        if let Some((page, _)) = self.donor_page(None) {
            self.empty_page(page, now);
            self.slabs.release_page(page);
            return true;
        }
        if large_tail != NIL {
            self.evict(large_tail, now);
            return true;
        }
        false
    }

    fn evict(&mut self, id: u32, now: u32) {
        let chunk = self.slabs.chunk(id);
        let class = self.slabs.class_of(id);
        let dead = Self::is_expired(chunk, now) || self.is_flushed(chunk);
        let counters = &mut self.class_counters[class];
        self.stats.direct_reclaims += 1;
        counters.direct_reclaims += 1;
        if dead {
            self.stats.reclaimed += 1;
            counters.reclaimed += 1;
        } else {
            self.stats.evictions += 1;
            counters.evicted += 1;
            counters.evicted_time = now.saturating_sub(chunk.atime());
            if chunk.exptime() != 0 {
                counters.evicted_nonzero += 1;
            }
            let fetched = chunk.state() & FETCHED != 0;
            if !fetched {
                self.stats.evicted_unfetched += 1;
                counters.evicted_unfetched += 1;
            }
            if let Some(log) = &mut self.evictions_log {
                if log.len() < EVICTION_LOG {
                    log.push(Evicted {
                        key: chunk.key().to_vec(),
                        fetched,
                        exptime: chunk.exptime(),
                        atime: chunk.atime(),
                        class,
                        value_len: chunk.value_len(),
                    });
                }
            }
        }
        self.unlink_id(id);
    }

    /// The page to take from the slab class (other than `except`) with the most pages: the
    /// one holding that class's least recently used item. Also returns how many pages that
    /// class has.
    fn donor_page(&self, except: Option<usize>) -> Option<(u32, usize)> {
        let large = self.slabs.large_class();
        let (_, class) = self
            .slabs
            .classes()
            .iter()
            .enumerate()
            .filter(|(i, c)| *i != large && Some(*i) != except && !c.pages.is_empty())
            .max_by_key(|(_, c)| c.pages.len())?;
        let tail_page = (class.tail != NIL)
            .then(|| self.slabs.page_of(class.tail))
            .flatten();
        Some((tail_page.unwrap_or(class.pages[0]), class.pages.len()))
    }

    /// Evict every item of a page (to move or release it).
    fn empty_page(&mut self, page: u32, now: u32) {
        for id in self.slabs.items_in_page(page) {
            self.stats.slab_reassign_evictions += 1;
            self.evict(id, now);
        }
    }

    /// Memory is full and slab class `class` has no item to evict: empty a page of the class
    /// with the most pages and give it to `class` (memcached's slab rebalancing, done on
    /// demand), or evict a large item when large items hold more memory than that class.
    fn take_page_for(&mut self, class: usize, now: u32) -> bool {
        let large = self.slabs.large_class();
        let large_tail = self.slabs.classes()[large].tail;
        let large_pages = self.slabs.large_bytes().div_ceil(self.slabs.page_size());
        let donor = if self.config.automove {
            self.donor_page(Some(class))
        } else {
            None
        };
        match donor {
            Some((page, pages)) if pages >= large_pages || large_tail == NIL => {
                self.empty_page(page, now);
                self.slabs.reassign_page(page, class);
                self.stats.slabs_moved += 1;
                true
            }
            _ if large_tail != NIL => {
                self.evict(large_tail, now);
                true
            }
            _ => false,
        }
    }

    /// Write a new item into a fresh chunk and link it.
    fn link_new(
        &mut self,
        key: &[u8],
        flags: u32,
        exptime: u32,
        parts: &[&[u8]],
        now: u32,
    ) -> Result<(u32, u64), StoreStatus> {
        let value_len: usize = parts.iter().map(|p| p.len()).sum();
        let size = item::size(key.len(), value_len);
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
            chunk.init(key, value_len);
            chunk.set_cas(cas);
            chunk.set_exptime(exptime);
            chunk.set_atime(now);
            chunk.set_flags(flags);
            let mut at = 0;
            let value = chunk.value_mut();
            for part in parts {
                value[at..at + part.len()].copy_from_slice(part);
                at += part.len();
            }
        }
        let tag = self.tag(key);
        self.index.insert(tag, id);
        self.slabs.lru_push(id);
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
    fn link_stored(
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
                None => self.stats.cas_misses += 1,
                Some((_, id)) if self.visible_cas(self.slabs.chunk(id)) == cas => {
                    self.stats.cas_hits += 1;
                    self.counters_of(id).cas_hits += 1;
                }
                Some((_, id)) => {
                    self.stats.cas_badval += 1;
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
                self.slabs.lru_bump(old_id);
                StoreStatus::NotStored
            }
            StoreCommand::Cas if invalidate && cas != 0 && cas < old_cas => {
                let old = self.slabs.chunk(old_id);
                let (old_exptime, kept) = (old.exptime(), old.state() & TOKEN_SENT);
                self.unlink(old_slot, old_id);
                let result = self.link_stored(key, flags, old_exptime, &[value], now);
                if let Ok((Some(id), _)) = result {
                    self.mark(id, STALE | kept);
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
                self.unlink(old_slot, old_id);
                stored(self.link_stored(key, flags, exptime, &[value], now))
            }
        }
    }

    fn remove_key(&mut self, key: &[u8], now: u32) {
        if let Some((slot, id)) = self.lookup(key, now) {
            self.unlink(slot, id);
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
                self.stats.delete_misses += 1;
                DeleteStatus::Exists
            }
            Some((slot, id)) => {
                self.stats.delete_hits += 1;
                self.counters_of(id).delete_hits += 1;
                self.unlink(slot, id);
                DeleteStatus::Deleted
            }
            None => {
                self.stats.delete_misses += 1;
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
                self.stats.incr_misses += 1;
            } else {
                self.stats.decr_misses += 1;
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
            self.stats.incr_hits += 1;
            self.counters_of(id).incr_hits += 1;
        } else {
            self.stats.decr_hits += 1;
            self.counters_of(id).decr_hits += 1;
        }
        let chunk = self.slabs.chunk(id);
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(value).as_bytes();
        if digits.len() <= chunk.value_len() {
            let cas = self.next_cas();
            self.slabs.lru_bump(id);
            let chunk = self.slabs.chunk_mut(id);
            chunk.set_cas(cas);
            chunk.set_atime(now);
            let stored = chunk.value_mut();
            stored[..digits.len()].copy_from_slice(digits);
            stored[digits.len()..].fill(b' ');
            let cas = self.reported(cas);
            return ArithStatus::Done { value, cas, id };
        }
        let (flags, exptime) = (chunk.flags(), chunk.exptime());
        let digits = digits.to_vec();
        self.remove_key(key, now);
        match self.link_new(key, flags, exptime, &[&digits], now) {
            Ok((id, cas)) => ArithStatus::Done {
                value,
                cas: self.reported(cas),
                id,
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
    ) -> Option<(u32, u64)> {
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(initial).as_bytes().to_vec();
        self.link_new(key, 0, exptime, &[&digits], now).ok()
    }

    /// The item behind a chunk id this store just returned.
    pub fn item_by_id(&self, id: u32) -> Item<'_> {
        self.item(id)
    }

    /// Set meta state bits on an item this store just returned.
    pub fn mark(&mut self, id: u32, bits: u8) {
        let chunk = self.slabs.chunk_mut(id);
        let state = chunk.state();
        chunk.set_state(state | bits);
    }

    /// Set an item's expiry (server time).
    pub fn set_exptime(&mut self, id: u32, exptime: u32) {
        self.slabs.chunk_mut(id).set_exptime(exptime);
    }

    /// Create an empty item for a key that is absent (meta get's vivify on miss).
    pub fn vivify(&mut self, key: &[u8], exptime: u32, now: u32) -> Option<u32> {
        self.link_new(key, 0, exptime, &[], now)
            .ok()
            .map(|(id, _)| id)
    }

    /// Mark an item stale instead of deleting it (`md I`): it keeps being served, flagged `X`,
    /// with a new CAS unique, until a client recaches it.
    pub fn invalidate(
        &mut self,
        key: &[u8],
        cas: Option<u64>,
        exptime: Option<u32>,
        now: u32,
    ) -> DeleteStatus {
        let Some((_, id)) = self.lookup(key, now) else {
            self.stats.delete_misses += 1;
            return DeleteStatus::NotFound;
        };
        if cas.is_some_and(|c| c != self.visible_cas(self.slabs.chunk(id))) {
            self.stats.delete_misses += 1;
            return DeleteStatus::Exists;
        }
        let new_cas = self.next_cas();
        let chunk = self.slabs.chunk_mut(id);
        if let Some(exptime) = exptime {
            chunk.set_exptime(exptime);
        }
        let state = chunk.state();
        chunk.set_state((state | STALE) & !TOKEN_SENT);
        chunk.set_cas(new_cas);
        DeleteStatus::Deleted
    }

    /// Invalidate every item now, or at server time `at`.
    pub fn flush(&mut self, at: Option<u32>, now: u32) {
        match at {
            Some(at) if at > now => self.flush_at = Some(at),
            _ => {
                self.flush_at = None;
                self.oldest_cas = self.last_cas + 1;
            }
        }
    }

    /// Per-class figures: the slab classes with pages, then the large items if any.
    pub fn class_stats(&self, now: u32) -> Vec<ClassStats> {
        let large = self.slabs.large_class();
        self.slabs
            .classes()
            .iter()
            .enumerate()
            .filter(|(i, c)| !c.pages.is_empty() || (*i == large && c.items > 0))
            .map(|(i, c)| ClassStats {
                id: i + 1,
                large: i == large,
                chunk_size: c.chunk_size,
                chunks_per_page: self.slabs.page_size() / c.chunk_size,
                pages: c.pages.len(),
                items: c.items,
                free_chunks: c.free_chunks,
                oldest_age: if c.tail == NIL {
                    0
                } else {
                    now.saturating_sub(self.slabs.chunk(c.tail).atime())
                },
                counters: self.class_counters[i],
            })
            .collect()
    }

    /// Walk live items from `cursor` on, looking at no more than `steps` chunks (counted down),
    /// and call `visit` for each live item of a class `include` accepts (by [`Item::class`]).
    /// Returns where to go on, or `None` when the walk is over.
    ///
    /// The walk goes through memory (pages, then large items), not the index, and items never
    /// move between chunks, so the store may change between calls: an item that lives through
    /// the whole walk is visited exactly once; one stored or removed meanwhile may or may not
    /// be. Expired and flushed items are skipped.
    pub fn scan(
        &mut self,
        cursor: ScanCursor,
        steps: &mut usize,
        now: u32,
        include: impl Fn(usize) -> bool,
        mut visit: impl FnMut(Item<'_>),
    ) -> Option<ScanCursor> {
        self.apply_pending_flush(now);
        self.walk(cursor, steps, include, |store, id| {
            let chunk = store.slabs.chunk(id);
            if !Self::is_expired(chunk, now) && !store.is_flushed(chunk) {
                visit(store.item(id));
            }
        })
    }

    /// The LRU crawler's pass: walk like [`Store::scan`] and remove the expired and flushed
    /// items met, looking at no more than `tocrawl` items per class (0: no limit; `checked`
    /// counts them per class across calls).
    pub fn crawl(
        &mut self,
        cursor: ScanCursor,
        steps: &mut usize,
        now: u32,
        include: impl Fn(usize) -> bool,
        tocrawl: u32,
        checked: &mut [u32],
    ) -> Option<ScanCursor> {
        self.apply_pending_flush(now);
        self.walk(cursor, steps, include, |store, id| {
            let class = store.slabs.class_of(id);
            let Some(seen) = checked.get_mut(class) else {
                return;
            };
            if tocrawl != 0 && *seen >= tocrawl {
                return;
            }
            *seen += 1;
            store.stats.crawler_items_checked += 1;
            store.class_counters[class].crawler_items_checked += 1;
            let chunk = store.slabs.chunk(id);
            let expired = Self::is_expired(chunk, now);
            if expired || store.is_flushed(chunk) {
                if expired && chunk.state() & FETCHED == 0 {
                    store.stats.expired_unfetched += 1;
                    store.class_counters[class].expired_unfetched += 1;
                }
                store.stats.crawler_reclaimed += 1;
                store.class_counters[class].crawler_reclaimed += 1;
                store.unlink_id(id);
            }
        })
    }

    /// Call `at` for every linked chunk from `cursor` on, within `budget` steps.
    fn walk(
        &mut self,
        mut cursor: ScanCursor,
        budget: &mut usize,
        include: impl Fn(usize) -> bool,
        mut at: impl FnMut(&mut Store, u32),
    ) -> Option<ScanCursor> {
        let mut look = |store: &mut Store, id: u32| {
            if store.slabs.chunk(id).state() & LINKED != 0 {
                at(store, id);
            }
        };
        while cursor.page < self.slabs.page_count() {
            match self.slabs.page_layout(cursor.page) {
                Some((class, chunks)) if include(class) => {
                    while cursor.slot < chunks {
                        if *budget == 0 {
                            return Some(cursor);
                        }
                        *budget -= 1;
                        look(self, Slabs::page_chunk(cursor.page, cursor.slot));
                        cursor.slot += 1;
                    }
                }
                _ => *budget = budget.saturating_sub(1),
            }
            cursor.page += 1;
            cursor.slot = 0;
            if *budget == 0 {
                return Some(cursor);
            }
        }
        if !include(self.slabs.large_class()) {
            return None;
        }
        while cursor.large < self.slabs.large_count() {
            if *budget == 0 {
                return Some(cursor);
            }
            *budget -= 1;
            if let Some(id) = self.slabs.large_id(cursor.large) {
                look(self, id);
            }
            cursor.large += 1;
        }
        None
    }

    /// `slabs reassign <src> <dst>`: empty a page of slab class `src` (1-based; -1: the
    /// class with the most pages) and give it to class `dst` (0: back to the memory pool).
    pub fn reassign(&mut self, src: i64, dst: i64, now: u32) -> Reassign {
        if src == dst {
            return Reassign::Same;
        }
        let slab_classes = self.slabs.large_class();
        let is_class = |id: i64| id >= 1 && id as usize <= slab_classes;
        let src = if src == -1 {
            let except = usize::try_from(dst - 1).ok();
            match self.donor_page(except) {
                Some((page, _)) => self
                    .slabs
                    .page_layout(page)
                    .map_or(0, |(c, _)| c as i64 + 1),
                None => 0,
            }
        } else {
            src
        };
        if !is_class(src) || !(dst == 0 || is_class(dst)) {
            return Reassign::BadClass;
        }
        let from = (src - 1) as usize;
        let class = &self.slabs.classes()[from];
        if class.pages.len() < 2 {
            return Reassign::NoSpare;
        }
        // The page holding the class's least recently used item loses the least.
        let page = (class.tail != NIL)
            .then(|| self.slabs.page_of(class.tail))
            .flatten()
            .unwrap_or(class.pages[0]);
        self.empty_page(page, now);
        if dst == 0 {
            self.slabs.release_page(page);
        } else {
            self.slabs.reassign_page(page, (dst - 1) as usize);
        }
        self.stats.slabs_moved += 1;
        Reassign::Moved
    }

    /// The class (0-based) an item with this key and value length goes to.
    pub fn class_for_item(&self, key_len: usize, value_len: usize) -> usize {
        self.slabs.class_for(item::size(key_len, value_len))
    }

    /// Hash table size as a power of two (memcached's `hash_power_level`).
    pub fn hash_power(&self) -> u32 {
        self.index
            .capacity()
            .max(1)
            .next_power_of_two()
            .trailing_zeros()
    }

    /// Pages given back to the memory pool and owned by no class (memcached's
    /// `slab_global_page_pool`).
    pub fn free_pages(&self) -> usize {
        self.slabs.free_pages()
    }

    /// The number of item classes ([`Item::class`] is below it); the last one holds the
    /// large items.
    pub fn class_count(&self) -> usize {
        self.slabs.classes().len()
    }
}

/// Where a walk over the items ([`Store::scan`]) stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanCursor {
    page: u32,
    slot: u32,
    large: u32,
}

/// memcached's reading of a counter: optional leading whitespace, digits, then the end of the
/// value or whitespace.
fn parse_counter(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    mc_proto::numbers::parse_u64(value)
}
