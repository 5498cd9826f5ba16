//! The cache: items in slab chunks, found through a hash index, evicted by a CLOCK sweep (an
//! approximation of least recently used first), expired lazily.
//!
//! `Store` is single-threaded; the server shares it behind a lock. All times are server-clock
//! seconds (see [`crate::clock`]) passed in by the caller, which keeps the store deterministic
//! under test.
//!
//! Where things are:
//!
//! | file | what |
//! | --- | --- |
//! | `store_types` | the configuration, requests, outcomes, [`Item`] and [`ItemHandle`] |
//! | `operations` | get, the storage commands, delete, touch, counters, flush |
//! | `meta_hooks` | what meta commands do to an item they hold: mark, re-expire, vivify, invalidate |
//! | `linking` | lookups (with lazy expiry), linking and unlinking, CAS serials |
//! | `eviction` | finding room: the CLOCK sweep (reclaiming, evicting), moving pages |
//! | `walk` | metadump, cachedump and the crawler's pass, in bounded steps |
//! | `introspection`, `tuning`, `store_counters` | what `stats` reads; run-time settings |
//! | `slab`, `index`, `item` | pages and chunks with their CLOCK hands, the hash index, the item layout |

mod eviction;
mod index;
mod introspection;
pub(crate) mod item;
mod linking;
mod meta_hooks;
mod operations;
mod slab;
mod store_counters;
mod store_pool;
#[cfg(test)]
mod store_tests;
mod store_types;
mod tuning;
mod walk;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use ahash::RandomState;
use mc_proto::StoreCommand;

use self::index::Index;
use self::item::{ItemRead, ItemWrite, ATIME_UPDATE_INTERVAL, FETCHED, LINKED, REFERENCED};
pub use self::item::{STALE, TOKEN_SENT};
pub use self::slab::{MAX_PAGE_BYTES, MIN_PAGE_SIZE, PAGE_SIZE};
pub use self::store_counters::{ClassCounters, SizeHistogram, StoreStats, SIZE_BUCKET};
pub use self::store_pool::StorePool;
pub use self::store_types::{
    item_header_len, Access, ArithStatus, ClassStats, DeleteStatus, Evicted, Item, ItemHandle,
    Lookup, Miss, Read, Reassign, ScanCursor, StoreConfig, StoreStatus, Write,
};

use self::slab::Slabs;

/// How many items under the CLOCK hand are checked for a dead one when eviction is off (`-M`).
const TAIL_SEARCH: usize = 5;

/// How many used items the CLOCK hand passes over (clearing their bit) before it evicts the
/// next one regardless: a bound on the work of one write.
const CLOCK_SEARCH: usize = 32;

/// The cache.
#[derive(Debug)]
pub struct Store {
    slabs: Slabs,
    index: Index,
    hasher: RandomState,
    /// Items with a CAS unique below this were flushed.
    oldest_cas: u64,
    /// A delayed `flush_all` takes effect at this server time.
    flush_at: Option<u32>,
    config: StoreConfig,
    /// What writes change on every operation, on cache lines of its own (see [`Written`]).
    written: Written,
    /// Counters per class, indexed like the slab classes.
    class_counters: Vec<ClassCounters>,
    /// The `stats sizes` histogram, when tracking is on (`track_sizes`, `stats sizes_enable`).
    sizes: Option<SizeHistogram>,
    /// Evictions not yet taken by [`Store::take_evictions`], when recording is on (someone
    /// watches evictions). Bounded: see [`EVICTION_LOG`].
    evictions_log: Vec<Evicted>,
}

/// The store's fields that writes change on every operation, kept off the cache lines that
/// readers sharing the store read on every lookup (the index, the page table, the
/// configuration): a write by one thread then does not evict what the others are reading.
#[derive(Debug)]
#[repr(align(128))]
struct Written {
    bytes: usize,
    stats: StoreStats,
    /// What the last lookup found.
    last_lookup: Lookup,
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
        let pool = StorePool::new(config.max_bytes.min(MAX_PAGE_BYTES), 1);
        Store::with_pool(config, Arc::new(pool), RandomState::new())
    }

    /// An empty shard of a cache: it draws memory and CAS uniques from `pool` and hashes keys
    /// with `hasher`.
    pub fn with_pool(config: StoreConfig, pool: Arc<StorePool>, hasher: RandomState) -> Store {
        let slabs = Slabs::new(&config, pool);
        let classes = slabs.classes().len();
        Store {
            class_counters: vec![ClassCounters::default(); classes],
            written: Written {
                bytes: 0,
                stats: StoreStats::default(),
                last_lookup: Lookup::Missed(Miss::NotFound),
            },
            sizes: None,
            evictions_log: Vec::new(),
            slabs,
            index: Index::new(),
            hasher,
            oldest_cas: 0,
            flush_at: None,
            config,
        }
    }
}
