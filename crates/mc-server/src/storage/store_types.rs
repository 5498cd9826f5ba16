//! The store's public vocabulary: its configuration, the requests and outcomes of its
//! operations, the items it lends out and the handles to them.

use mc_proto::StoreCommand;

use super::item::{self, ItemRead};
use super::slab;
use super::store_counters::ClassCounters;

/// Bytes of every item taken by its header (lengths, flags, times, CAS, links), before the
/// key and value: memcached's `-n` counts the space after it.
pub fn item_header_len() -> usize {
    item::HEADER
}

/// Sizing and policy of a store.
#[derive(Debug, Clone, PartialEq)]
pub struct StoreConfig {
    /// Memory for items, in bytes (`-m`); at most [`MAX_PAGE_BYTES`](super::MAX_PAGE_BYTES).
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
    /// Bytes per slab page: [`PAGE_SIZE`](super::PAGE_SIZE), memcached's, for a store on its
    /// own; a cache cut into N shards gives each shard pages N times smaller (down to
    /// [`MIN_PAGE_SIZE`](super::MIN_PAGE_SIZE)), so that a size class in use costs the whole
    /// cache about one memcached page whatever the number of shards. Items larger than half a
    /// page are allocated one by one.
    pub page_size: usize,
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
            page_size: slab::PAGE_SIZE,
        }
    }
}

/// A storage command for [`Store::store`](super::Store::store).
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
        /// The item.
        item: ItemHandle,
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
    /// Age (seconds since last access) of the item under the CLOCK hand: the next the sweep
    /// judges (memcached reports its LRU tail's).
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

/// The outcome of [`Store::reassign`](super::Store::reassign) (`slabs reassign`), in memcached's terms.
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
    pub(super) chunk: &'a [u8],
    pub(super) id: u32,
    /// CAS is off (`-C`): clients see 0 for every unique.
    pub(super) hide_cas: bool,
    pub(super) class: usize,
    pub(super) fetched: bool,
    /// Server time of the previous access.
    pub(super) last_access: u32,
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
    /// The CAS unique the item carries, even when CAS is off (`-C`) and clients see 0.
    pub fn internal_cas(&self) -> u64 {
        self.chunk.cas()
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
    /// The meta-protocol state bits ([`TOKEN_SENT`](super::TOKEN_SENT), [`STALE`](super::STALE)).
    pub fn state(&self) -> u8 {
        self.chunk.state() & item::META_BITS
    }
    /// Bytes the item occupies (header, key, value).
    pub fn size(&self) -> usize {
        self.chunk.total_size()
    }
    pub fn class(&self) -> usize {
        self.class
    }
    /// A handle to come back to this item within the same command.
    pub fn handle(&self) -> ItemHandle {
        ItemHandle {
            id: self.id,
            serial: self.chunk.cas(),
        }
    }
}

impl ClassStats {
    /// Add another shard's figures for the same class.
    pub(crate) fn merge(&mut self, other: &ClassStats) {
        self.pages += other.pages;
        self.items += other.items;
        self.free_chunks += other.free_chunks;
        self.oldest_age = self.oldest_age.max(other.oldest_age);
        self.counters.merge(&other.counters);
    }
}

/// The outcome of [`Store::read`](super::Store::read).
#[derive(Debug, Clone, Copy)]
pub enum Read<'a> {
    /// Found, and nothing about the item needed to change.
    Hit(Item<'a>),
    /// No such key.
    Miss,
    /// The read must be done again with exclusive access ([`Store::get`](super::Store::get)).
    NeedsWrite,
}

/// What a read does to the item besides returning it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Access {
    /// New expiry (server time) to set, as `gat`/`touch`/`mg T` do.
    pub touch: Option<u32>,
    /// Count the read as a use for the CLOCK sweep (not for `mg u`).
    pub bump: bool,
    /// Count a hit or miss in the get statistics.
    pub count_get: bool,
    /// Count a hit or miss in the touch statistics.
    pub count_touch: bool,
}

/// Where a walk over the items ([`Store::scan`](super::Store::scan)) stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanCursor {
    pub(super) page: u32,
    pub(super) slot: u32,
    pub(super) large: u32,
}

/// An item a store operation just found or made, to come back to it within one command
/// (meta commands read an item, then mark it or change its expiry). It names the chunk and the
/// item's CAS serial; a handle whose item has since gone or been replaced is refused, never
/// followed to whatever now lives in that chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemHandle {
    pub(super) id: u32,
    pub(super) serial: u64,
}
