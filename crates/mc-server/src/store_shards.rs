//! The cache as the server shares it: the store in shards, each behind its own lock, with the
//! command counters and the per-prefix counts beside it.
//!
//! A key belongs to one shard, chosen by its hash; a command on a key locks that shard only,
//! for one store operation (a lookup and the copy of one value, a write, a delete), never
//! across a socket read or write. Two connections contend only when they touch the same shard
//! at the same moment, so the store's throughput grows with the worker threads instead of
//! stopping at one lock's worth. The shards draw pages and CAS uniques from one
//! [`StorePool`], so `-m` bounds the whole cache, not each shard.
//!
//! Commands that look at the whole cache (`stats`, `flush_all`, `slabs reassign`, metadump,
//! the crawler) lock one shard at a time, never two at once: no lock order to get wrong.
//!
//! Each shard is behind a crossbeam `ShardedLock`: a reader locks only its own thread's slot,
//! so gets on two workers do not pass a lock's cache line back and forth; a writer locks every
//! slot. No await happens inside a critical section. The command counters are kept per thread (in stripes, so two workers never share a cache line)
//! and summed by `stats`.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use ahash::RandomState;
use crossbeam_utils::sync::{ShardedLock, ShardedLockReadGuard, ShardedLockWriteGuard};
use parking_lot::{Mutex, MutexGuard};

use crate::config::Config;
use crate::prefix_stats::PrefixStats;
use crate::server_counters::{CommandStats, ReadCounts, ThreadCounts};
use crate::storage::{
    ClassStats, Evicted, Item, Reassign, ScanCursor, SizeHistogram, Store, StoreConfig, StorePool,
    StoreStats, MAX_PAGE_BYTES, MIN_PAGE_SIZE, PAGE_SIZE,
};

/// The most shards a cache is cut into: each has pages of 1 MiB divided by the number of
/// shards, and no smaller than 64 KiB.
const MAX_SHARDS: usize = PAGE_SIZE / MIN_PAGE_SIZE;

/// Shards per worker thread: enough that two workers rarely want the same shard at once
/// (measured with `cargo xtask bench store`: 16 shards scale better than 8 on two threads).
const SHARDS_PER_THREAD: usize = 8;

/// The smallest `-m` cut into shards: below it, the cache is one store with memcached's 1 MiB
/// pages (a size class needs a page of its own in every shard that stores items of its size,
/// and a tiny cache has too few to spread).
const MIN_SHARDED_BYTES: usize = 8 * PAGE_SIZE;

/// Counter stripes: each thread counts into its own.
const COUNTER_STRIPES: usize = 64;

/// Keeps what it holds on a cache line (two, for the adjacent-line prefetcher) of its own.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Padded<T>(T);

/// One shard: a store and a flag set when a thread panicked while holding its lock for
/// writing.
#[derive(Debug)]
struct Shard {
    store: ShardedLock<Store>,
    poisoned: AtomicBool,
}

/// The shared cache.
#[derive(Debug)]
pub struct StoreShards {
    shards: Box<[Padded<Shard>]>,
    /// Picks a key's shard (the low half of the hash; a store's index uses the high half).
    hasher: RandomState,
    /// The hasher's seeds (a restart file keeps them: see [`StoreShards::seeds`]).
    seeds: HashSeeds,
    pool: Arc<StorePool>,
    /// Slab classes (the same in every shard).
    class_count: usize,
    counters: Box<[Padded<Mutex<ThreadCounts>>]>,
    /// Per-prefix counts (`stats detail`), taken only while detail is on.
    prefixes: Mutex<PrefixStats>,
}

/// A shard locked for writing. Dropping it unlocks.
pub struct ShardGuard<'a> {
    // Declared first so it is dropped first: it marks the shard poisoned before the lock is
    // released when the holder unwinds.
    _panic_watch: PanicWatch<'a>,
    guard: ShardedLockWriteGuard<'a, Store>,
}

/// A shard locked for reading, shared with other readers. Dropping it unlocks.
pub type ShardReadGuard<'a> = ShardedLockReadGuard<'a, Store>;

/// Marks a shard poisoned when dropped during a panic.
struct PanicWatch<'a>(&'a AtomicBool);

impl Drop for PanicWatch<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::Relaxed);
        }
    }
}

impl std::ops::Deref for ShardGuard<'_> {
    type Target = Store;
    fn deref(&self) -> &Store {
        &self.guard
    }
}

impl std::ops::DerefMut for ShardGuard<'_> {
    fn deref_mut(&mut self) -> &mut Store {
        &mut self.guard
    }
}

/// Where a walk over every shard ([`StoreShards::walk`]) stands.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ShardCursor {
    shard: usize,
    within: ScanCursor,
}

/// How many shards a cache of `max_bytes` served by `threads` workers gets: a power of two,
/// 8 per thread, no more than 16 (a page of 1 MiB split into pages of 64 KiB); one below
/// 8 MiB, where a shard of its own per size class would cost more than it saves.
pub fn shard_count(threads: usize, max_bytes: usize) -> usize {
    if max_bytes < MIN_SHARDED_BYTES {
        return 1;
    }
    (threads.max(1) * SHARDS_PER_THREAD)
        .next_power_of_two()
        .min(MAX_SHARDS)
}

thread_local! {
    /// This thread's counter stripe, given out in turn as threads first count.
    static STRIPE: Cell<Option<usize>> = const { Cell::new(None) };
}

/// The next stripe to give a thread.
static NEXT_STRIPE: AtomicUsize = AtomicUsize::new(0);

fn this_threads_stripe() -> usize {
    STRIPE.with(|stripe| match stripe.get() {
        Some(s) => s,
        None => {
            let s = NEXT_STRIPE.fetch_add(1, Ordering::Relaxed) % COUNTER_STRIPES;
            stripe.set(Some(s));
            s
        }
    })
}

/// Seeds of the keys' hash, which picks a key's shard and its index slot.
pub type HashSeeds = [u64; 4];

/// Seeds no client can predict (from ahash's own random source).
fn random_seeds() -> HashSeeds {
    let source = RandomState::new();
    [0u8, 1, 2, 3].map(|n| source.hash_one(n))
}

impl StoreShards {
    /// The seeds of the keys' hash. A restart file saves them so that every key lands in the
    /// shard it was saved from: the shards then need exactly the pages they had, and a full
    /// cache comes back whole.
    pub fn seeds(&self) -> HashSeeds {
        self.seeds
    }

    /// The cache a server with `config` starts with; `seeds` for its key hash when a restart
    /// file must find every key in the shard it was saved from (else random ones).
    pub(crate) fn for_config(config: &Config, seeds: Option<HashSeeds>) -> StoreShards {
        let shards = shard_count(config.threads, config.store.max_bytes);
        let seeds = seeds.unwrap_or_else(random_seeds);
        let cache = StoreShards::with_seeds(config.store.clone(), shards, seeds);
        cache.track_sizes(config.track_sizes);
        cache
    }

    /// An empty cache of `shards` shards (a power of two, at most 16).
    pub fn new(config: StoreConfig, shards: usize) -> StoreShards {
        StoreShards::with_seeds(config, shards, random_seeds())
    }

    /// [`StoreShards::new`] hashing keys with `seeds`.
    pub fn with_seeds(mut config: StoreConfig, shards: usize, seeds: HashSeeds) -> StoreShards {
        let shards = shards.clamp(1, MAX_SHARDS);
        config.page_size = config.page_size.min(PAGE_SIZE / shards);
        let pool = Arc::new(StorePool::new(config.max_bytes.min(MAX_PAGE_BYTES), shards));
        let hasher = RandomState::with_seeds(seeds[0], seeds[1], seeds[2], seeds[3]);
        let stores: Box<[Padded<Shard>]> = (0..shards)
            .map(|_| {
                Padded(Shard {
                    store: ShardedLock::new(Store::with_pool(
                        config.clone(),
                        pool.clone(),
                        hasher.clone(),
                    )),
                    poisoned: AtomicBool::new(false),
                })
            })
            .collect();
        let class_count = stores[0]
            .0
            .store
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .class_count();
        StoreShards {
            shards: stores,
            hasher,
            seeds,
            pool,
            class_count,
            counters: (0..COUNTER_STRIPES).map(|_| Padded::default()).collect(),
            prefixes: Mutex::new(PrefixStats::default()),
        }
    }

    /// Shards in the cache.
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// The shard that holds `key`.
    fn shard_of(&self, key: &[u8]) -> usize {
        let hash = self.hasher.hash_one(key) as u32;
        ((u64::from(hash) * self.shards.len() as u64) >> 32) as usize
    }

    /// Lock the shard that holds `key` for writing.
    pub fn for_key(&self, key: &[u8]) -> ShardGuard<'_> {
        self.shard(self.shard_of(key))
    }

    /// Lock the shard that holds `key` for reading ([`Store::read`]), alongside other readers.
    /// A shard a panic left poisoned is made anew first.
    pub fn read_key(&self, key: &[u8]) -> ShardReadGuard<'_> {
        self.read_shard(self.shard_of(key))
    }

    /// Lock shard `index` for reading, alongside other readers (see [`StoreShards::read_key`]).
    pub fn read_shard(&self, index: usize) -> ShardReadGuard<'_> {
        let shard = &self.shards[index].0;
        loop {
            // The lock's own poisoning is not used: `poisoned` says when to make a shard anew.
            let guard = shard
                .store
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if !shard.poisoned.load(Ordering::Relaxed) {
                return guard;
            }
            drop(guard);
            drop(self.shard(index));
        }
    }

    /// Lock shard `index`.
    ///
    /// A panic while a shard was locked (a bug: nothing a client sends may cause one) can
    /// leave it half-updated: an index slot pointing at a freed chunk, which a later walk could
    /// serve as data. A cache may always forget, so that shard is replaced by an empty one
    /// (its memory goes back to the budget), logged at error, and serving goes on.
    pub fn shard(&self, index: usize) -> ShardGuard<'_> {
        let shard = &self.shards[index].0;
        let mut guard = shard
            .store
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if shard.poisoned.load(Ordering::Relaxed) {
            tracing::error!(
                "a panic interrupted a store operation; a shard of the cache was emptied so \
                 that no half-updated item can be served"
            );
            self.empty(&mut guard);
            shard.poisoned.store(false, Ordering::Relaxed);
        }
        ShardGuard {
            _panic_watch: PanicWatch(&shard.poisoned),
            guard,
        }
    }

    /// Empty every shard (their memory goes back to the budget); the CAS counter goes on.
    pub fn clear(&self) {
        for index in 0..self.shards.len() {
            self.empty(&mut self.shard(index).guard);
        }
    }

    /// Replace a shard's store by an empty one, keeping the settings run-time commands may
    /// have changed; the old one's memory goes back to the budget as it drops.
    fn empty(&self, store: &mut Store) {
        let config = store.config().clone();
        *store = Store::with_pool(config, self.pool.clone(), self.hasher.clone());
    }

    /// Hand out no CAS unique at or below `at_least` from now on.
    pub(crate) fn raise_cas(&self, at_least: u64) {
        self.pool.raise_cas(at_least);
    }

    /// The last CAS unique handed out.
    pub(crate) fn last_cas(&self) -> u64 {
        self.pool.last_cas()
    }

    /// Run `f` on every shard in turn, each locked only while `f` runs on it.
    pub fn each(&self, mut f: impl FnMut(&mut Store)) {
        for index in 0..self.shards.len() {
            f(&mut self.shard(index));
        }
    }

    /// Add up a figure over the shards.
    fn sum(&self, f: impl Fn(&Store) -> usize) -> usize {
        let mut total = 0;
        self.each(|store| total += f(store));
        total
    }

    /// Walk every shard in turn from `cursor`, calling `step` on the current one with its own
    /// cursor; `step` returns where to go on in that shard, or `None` when it is done with it.
    /// Stops when `steps` runs out; returns where to go on, or `None` when the walk is over.
    pub(crate) fn walk(
        &self,
        cursor: ShardCursor,
        steps: &mut usize,
        mut step: impl FnMut(&mut Store, ScanCursor, &mut usize) -> Option<ScanCursor>,
    ) -> Option<ShardCursor> {
        self.walk_shards(cursor, steps, |index, within, steps| {
            step(&mut self.shard(index), within, steps)
        })
    }

    /// [`StoreShards::walk`] with `step` given the shard's index, to lock it as it needs.
    fn walk_shards(
        &self,
        mut cursor: ShardCursor,
        steps: &mut usize,
        mut step: impl FnMut(usize, ScanCursor, &mut usize) -> Option<ScanCursor>,
    ) -> Option<ShardCursor> {
        while cursor.shard < self.shards.len() {
            let next = step(cursor.shard, cursor.within, steps);
            match next {
                Some(within) => {
                    cursor.within = within;
                    return Some(cursor);
                }
                None => {
                    cursor = ShardCursor {
                        shard: cursor.shard + 1,
                        within: ScanCursor::default(),
                    };
                    if *steps == 0 {
                        return (cursor.shard < self.shards.len()).then_some(cursor);
                    }
                }
            }
        }
        None
    }

    /// Walk the live items of every shard from `cursor` (see [`Store::scan`]), looking at no
    /// more than `steps` chunks; returns where to go on, or `None` when the walk is over.
    /// Each shard is read-locked, so a metadump or cachedump holds up no `get` (a delayed
    /// `flush_all` that fell due is applied first, under the write lock).
    pub(crate) fn scan(
        &self,
        cursor: ShardCursor,
        steps: &mut usize,
        now: u32,
        include: impl Fn(usize) -> bool,
        mut visit: impl FnMut(Item<'_>),
    ) -> Option<ShardCursor> {
        self.walk_shards(cursor, steps, |index, within, steps| {
            let shard = self.read_shard(index);
            if !shard.flush_due(now) {
                return shard.scan_shared(within, steps, now, &include, &mut visit);
            }
            drop(shard);
            self.shard(index)
                .scan(within, steps, now, &include, &mut visit)
        })
    }

    /// This thread's counters, locked (no other thread counts into them, unless more threads
    /// count than there are stripes).
    pub(crate) fn counters(&self) -> MutexGuard<'_, ThreadCounts> {
        self.counters[this_threads_stripe()].0.lock()
    }

    /// The command counters of every thread, added up.
    pub(crate) fn command_stats(&self) -> CommandStats {
        let mut total = CommandStats::default();
        for stripe in self.counters.iter() {
            total.merge(&stripe.0.lock().commands);
        }
        total
    }

    /// The shared reads every thread counted, added up.
    fn read_counts(&self) -> ReadCounts {
        let mut total = ReadCounts::default();
        for stripe in self.counters.iter() {
            total.merge(&stripe.0.lock().reads);
        }
        total
    }

    /// The per-prefix counts, locked.
    pub(crate) fn prefixes(&self) -> MutexGuard<'_, PrefixStats> {
        self.prefixes.lock()
    }

    /// The store configuration (as `cache_memlimit` and `slabs automove` left it).
    pub(crate) fn config(&self) -> StoreConfig {
        self.shard(0).config().clone()
    }

    /// Slab classes, the large items' included.
    pub(crate) fn class_count(&self) -> usize {
        self.class_count
    }

    /// The store counters of every shard, added up, with the gets the threads answered with
    /// shared access.
    pub fn stats(&self) -> StoreStats {
        let mut total = StoreStats::default();
        self.each(|store| total.merge(&store.stats()));
        let reads = self.read_counts();
        total.get_hits += reads.get_hits;
        total.get_misses += reads.get_misses;
        total
    }

    /// Per-class figures, each class's added up over the shards.
    pub(crate) fn class_stats(&self, now: u32) -> Vec<ClassStats> {
        let mut classes: Vec<ClassStats> = Vec::new();
        self.each(|store| {
            for class in store.class_stats(now) {
                match classes.iter_mut().find(|c| c.id == class.id) {
                    Some(total) => total.merge(&class),
                    None => classes.push(class),
                }
            }
        });
        let reads = self.read_counts();
        for class in &mut classes {
            let hits = reads.class_get_hits.get(class.id - 1).copied();
            class.counters.get_hits += hits.unwrap_or(0);
        }
        classes.sort_by_key(|c| c.id);
        classes
    }

    /// Items stored.
    pub fn len(&self) -> usize {
        self.sum(Store::len)
    }

    /// True when no item is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of the stored items.
    pub fn bytes(&self) -> usize {
        self.sum(Store::bytes)
    }

    /// Bytes taken for items: pages and large items.
    pub fn allocated_bytes(&self) -> usize {
        self.pool.used_bytes()
    }

    /// Bytes of the hash indexes.
    pub fn index_bytes(&self) -> usize {
        self.sum(Store::index_bytes)
    }

    /// The hash indexes' slots, as a power of two (memcached's `hash_power_level`).
    pub(crate) fn hash_power(&self) -> u32 {
        let slots = self.index_bytes() / std::mem::size_of::<u64>();
        slots.max(1).next_power_of_two().trailing_zeros()
    }

    /// Pages given back and owned by no class.
    pub(crate) fn free_pages(&self) -> usize {
        self.sum(Store::free_pages)
    }

    /// The `stats sizes` histogram of every shard, added up; `None` when tracking is off.
    pub(crate) fn sizes(&self) -> Option<SizeHistogram> {
        let mut total: Option<SizeHistogram> = None;
        self.each(|store| {
            if let Some(sizes) = store.sizes() {
                total
                    .get_or_insert_with(SizeHistogram::default)
                    .merge(sizes);
            }
        });
        total
    }

    /// `flush_all`: every shard, now or at server time `at`.
    pub fn flush(&self, at: Option<u32>, now: u32) {
        self.each(|store| store.flush(at, now));
    }

    /// `cache_memlimit`: change the budget; false when more is in use already.
    pub(crate) fn set_max_bytes(&self, max_bytes: usize) -> bool {
        if !self.shard(0).set_max_bytes(max_bytes) {
            return false;
        }
        self.each(|store| store.note_max_bytes(max_bytes));
        true
    }

    /// `slab_automove` on or off.
    pub(crate) fn set_automove(&self, on: bool) {
        self.each(|store| store.set_automove(on));
    }

    /// `stats sizes_enable` / `sizes_disable`.
    pub(crate) fn track_sizes(&self, on: bool) {
        self.each(|store| store.track_sizes(on));
    }

    /// `stats reset`: the store counters, the command counters and the prefix counts.
    pub(crate) fn reset_stats(&self) {
        self.each(Store::reset_stats);
        for stripe in self.counters.iter() {
            *stripe.0.lock() = ThreadCounts::default();
        }
        self.prefixes.lock().clear();
    }

    /// Record evictions (while someone watches them) or not: one flag all shards read.
    pub(crate) fn record_evictions(&self, on: bool) {
        self.pool.record_evictions(on);
    }

    /// The evictions every shard recorded since the last call (no shard is locked when none
    /// was).
    pub(crate) fn take_evictions(&self) -> Vec<Evicted> {
        let mut all = Vec::new();
        if self.pool.logged_evictions() > 0 {
            self.each(|store| all.extend(store.take_evictions()));
        }
        all
    }

    /// `slabs reassign <src> <dst>`: move a page of class `src` (1-based; -1: the class with
    /// the most pages) to class `dst` (0: the memory pool), taking it from the shard that holds
    /// the most pages of that class. As in memcached, a class must have two pages in the whole
    /// cache to give one.
    pub(crate) fn reassign(&self, src: i64, dst: i64, now: u32) -> Reassign {
        let class_pages = |class: usize| {
            let mut pages = Vec::new();
            self.each(|store| pages.push(store.class_pages(class)));
            pages
        };
        let src = if src == -1 && src != dst {
            // The class with the most pages over the whole cache, other than `dst`.
            let except = usize::try_from(dst - 1).ok();
            (0..self.class_count.saturating_sub(1))
                .filter(|&c| Some(c) != except)
                .map(|c| (c, class_pages(c).iter().sum::<usize>()))
                .filter(|&(_, pages)| pages > 0)
                .max_by_key(|&(_, pages)| pages)
                .map_or(0, |(c, _)| c as i64 + 1)
        } else {
            src
        };
        let Some(from) = usize::try_from(src - 1)
            .ok()
            .filter(|&c| c + 1 < self.class_count)
        else {
            return self.shard(0).reassign(src, dst, now, 1);
        };
        let pages = class_pages(from);
        let (shard, _) = pages
            .iter()
            .enumerate()
            .max_by_key(|&(_, n)| *n)
            .unwrap_or((0, &0));
        let spare = if pages.iter().sum::<usize>() >= 2 {
            0
        } else {
            1
        };
        self.shard(shard).reassign(src, dst, now, spare)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Access, StoreStatus, Write};
    use mc_proto::StoreCommand;

    #[test]
    fn shards_follow_threads_and_memory() {
        let mib = 1024 * 1024;
        assert_eq!(shard_count(1, 64 * mib), 8);
        assert_eq!(shard_count(2, 64 * mib), 16);
        assert_eq!(shard_count(4, 64 * mib), 16);
        assert_eq!(shard_count(64, 64 * 1024 * mib), MAX_SHARDS);
        assert_eq!(MAX_SHARDS, 16);
        assert_eq!(shard_count(4, 7 * mib), 1);
        assert_eq!(shard_count(4, 0), 1);
    }

    #[test]
    fn keys_spread_over_the_shards_and_the_budget_is_shared() {
        let config = StoreConfig {
            max_bytes: 8 * PAGE_SIZE,
            ..StoreConfig::default()
        };
        let cache = StoreShards::new(config, 4);
        let value = vec![b'v'; 1000];
        for i in 0..20_000u32 {
            let key = format!("key{i}");
            let write = Write::new(StoreCommand::Set, key.as_bytes(), &value);
            assert!(matches!(
                cache.for_key(key.as_bytes()).store(&write, 10),
                StoreStatus::Stored(_)
            ));
        }
        let mut per_shard = Vec::new();
        cache.each(|store| per_shard.push(store.len()));
        assert!(per_shard.iter().all(|&n| n > 0), "{per_shard:?}");
        assert!(cache.allocated_bytes() <= 8 * PAGE_SIZE);
        assert!(cache.stats().evictions > 0);
        assert_eq!(cache.len(), per_shard.iter().sum::<usize>());
        let found = cache
            .for_key(b"key19999")
            .get(b"key19999", 10, Access::default())
            .map(|item| item.value().len());
        assert_eq!(found, Some(1000));
    }

    #[test]
    fn cas_uniques_are_unique_across_shards() {
        let cache = StoreShards::new(StoreConfig::default(), 8);
        let mut uniques = Vec::new();
        for i in 0..100u32 {
            let key = format!("k{i}");
            let write = Write::new(StoreCommand::Set, key.as_bytes(), b"v");
            if let StoreStatus::Stored(cas) = cache.for_key(key.as_bytes()).store(&write, 1) {
                uniques.push(cas);
            }
        }
        let expected: Vec<u64> = (1..=100).collect();
        assert_eq!(uniques, expected, "one counter, in order");
    }

    #[test]
    fn a_starved_shard_gets_memory_back_from_the_others() {
        // Two shards and a budget of four pages: one shard's keys take every page first.
        let config = StoreConfig {
            max_bytes: 4 * PAGE_SIZE,
            ..StoreConfig::default()
        };
        let cache = StoreShards::new(config, 2);
        let shard_of = |key: &[u8]| {
            let hash = cache.hasher.hash_one(key) as u32;
            ((u64::from(hash) * 2) >> 32) as usize
        };
        let keys: Vec<String> = (0..200_000).map(|i| format!("key{i}")).collect();
        let (first, second): (Vec<&String>, Vec<&String>) =
            keys.iter().partition(|k| shard_of(k.as_bytes()) == 0);
        let value = vec![b'v'; 1000];
        for key in first.iter().take(5000) {
            let write = Write::new(StoreCommand::Set, key.as_bytes(), &value);
            cache.shard(0).store(&write, 10);
        }
        assert!(cache.shard(0).allocated_bytes() >= 3 * PAGE_SIZE);
        // The other shard's first writes find no memory; the full shard gives a page back on
        // its next write, and the other shard stores from then on.
        let mut stored = false;
        for key in second.iter().take(10) {
            let write = Write::new(StoreCommand::Set, key.as_bytes(), &value);
            stored = matches!(cache.shard(1).store(&write, 10), StoreStatus::Stored(_));
            let write = Write::new(StoreCommand::Set, first[6000].as_bytes(), &value);
            cache.shard(0).store(&write, 10);
            if stored {
                break;
            }
        }
        assert!(stored, "the starved shard got a page");
        assert!(cache.allocated_bytes() <= 4 * PAGE_SIZE);
    }

    #[test]
    fn a_panic_under_a_shard_lock_empties_that_shard_and_serving_goes_on() {
        let cache = Arc::new(StoreShards::new(StoreConfig::default(), 2));
        let write = Write::new(StoreCommand::Set, b"k", b"v");
        assert!(matches!(
            cache.for_key(b"k").store(&write, 10),
            StoreStatus::Stored(_)
        ));
        let poisoner = cache.clone();
        let crashed = std::thread::spawn(move || {
            let _guard = poisoner.for_key(b"k");
            panic!("a bug in the middle of a store operation");
        })
        .join();
        assert!(crashed.is_err());
        let mut shard = cache.for_key(b"k");
        assert!(shard.is_empty(), "the possibly corrupt shard is gone");
        assert!(matches!(shard.store(&write, 10), StoreStatus::Stored(_)));
        let found = shard
            .get(b"k", 10, Access::default())
            .map(|i| i.value().to_vec());
        assert_eq!(found, Some(b"v".to_vec()));
        drop(shard);
        assert!(
            !cache.for_key(b"k").is_empty(),
            "a clean unlock keeps the items"
        );
    }
}
