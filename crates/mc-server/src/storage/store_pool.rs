//! What the shards of one cache share: the memory budget (`-m`), the CAS counter, and the
//! memory a starved shard asks the others to give back.
//!
//! Each shard is a [`Store`](super::Store) of its own, with its own slab classes, index and
//! CLOCK hands, behind its own lock. Pages are not split between them up front: a shard takes
//! a page from the shared budget when it needs one, so a cache whose keys hash evenly ends up
//! with its pages spread evenly, and an `-m` far smaller than the number of shards times the
//! number of classes in use still works. Everything here is atomic: a shard updates it while
//! holding only its own lock.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// Keeps what it holds on cache lines of its own.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Padded<T>(T);

/// The shared budget and counters of one cache.
#[derive(Debug)]
pub struct StorePool {
    /// Bytes pages and large items may take together (`-m`, `cache_memlimit`).
    max_bytes: AtomicUsize,
    /// Bytes they take now.
    used: AtomicUsize,
    /// The last CAS unique handed out, shared so that uniques are unique across the cache and
    /// increase as memcached's do. Every write takes one: on a cache line of its own, so that
    /// taking it does not evict the fields every write reads.
    last_cas: Padded<AtomicU64>,
    /// Bytes a shard needed and could not free from its own items.
    wanted: AtomicUsize,
    /// Shards drawing on this pool.
    shards: usize,
    /// Shards record their evictions (someone watches them).
    recording: AtomicBool,
    /// Evictions recorded in the shards and not yet taken.
    logged: AtomicUsize,
}

impl StorePool {
    /// A pool of `max_bytes` for `shards` shards.
    pub fn new(max_bytes: usize, shards: usize) -> StorePool {
        StorePool {
            max_bytes: AtomicUsize::new(max_bytes),
            used: AtomicUsize::new(0),
            last_cas: Padded(AtomicU64::new(0)),
            wanted: AtomicUsize::new(0),
            shards: shards.max(1),
            recording: AtomicBool::new(false),
            logged: AtomicUsize::new(0),
        }
    }

    /// Take `bytes` from the budget; false when they do not fit. The cache's first page always
    /// fits, however small `-m` is, as in memcached.
    pub(crate) fn reserve(&self, bytes: usize) -> bool {
        let max = self.max_bytes.load(Ordering::Relaxed);
        self.used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                (used == 0 || used + bytes <= max).then_some(used + bytes)
            })
            .is_ok()
    }

    /// Give `bytes` back to the budget.
    pub(crate) fn release(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// Bytes taken from the budget.
    pub fn used_bytes(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// The budget.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes.load(Ordering::Relaxed)
    }

    /// Change the budget; false (and no change) when more is in use already.
    pub(crate) fn set_max_bytes(&self, max_bytes: usize) -> bool {
        if self.used_bytes() > max_bytes.max(super::PAGE_SIZE) {
            return false;
        }
        self.max_bytes.store(max_bytes, Ordering::Relaxed);
        true
    }

    /// A new CAS unique.
    pub(crate) fn next_cas(&self) -> u64 {
        self.last_cas.0.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Hand out no CAS unique at or below `at_least` from now on (items restored from a restart
    /// file keep their uniques; new versions must never repeat one).
    pub(crate) fn raise_cas(&self, at_least: u64) {
        self.last_cas.0.fetch_max(at_least, Ordering::Relaxed);
    }

    /// The last CAS unique handed out.
    pub fn last_cas(&self) -> u64 {
        self.last_cas.0.load(Ordering::Relaxed)
    }

    /// A shard could not make room for `bytes` from its own items: ask the others to give
    /// memory back.
    pub(crate) fn want(&self, bytes: usize) {
        self.wanted.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Bytes asked for and not yet given back.
    pub(crate) fn wanted(&self) -> usize {
        self.wanted.load(Ordering::Relaxed)
    }

    /// Count `bytes` given back towards what was asked for.
    pub(crate) fn gave(&self, bytes: usize) {
        let _ = self
            .wanted
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |w| {
                Some(w.saturating_sub(bytes))
            });
    }

    /// Turn recording evictions on or off in every shard.
    pub(crate) fn record_evictions(&self, on: bool) {
        if self.recording.load(Ordering::Relaxed) != on {
            self.recording.store(on, Ordering::Relaxed);
        }
    }

    /// True while shards record their evictions.
    pub(crate) fn recording_evictions(&self) -> bool {
        self.recording.load(Ordering::Relaxed)
    }

    /// Count evictions a shard recorded.
    pub(crate) fn count_logged(&self, n: usize) {
        self.logged.fetch_add(n, Ordering::Relaxed);
    }

    /// Count recorded evictions taken from a shard.
    pub(crate) fn count_taken(&self, n: usize) {
        if n > 0 {
            self.logged.fetch_sub(n, Ordering::Relaxed);
        }
    }

    /// Evictions recorded in some shard and not yet taken.
    pub fn logged_evictions(&self) -> usize {
        self.logged.load(Ordering::Relaxed)
    }

    /// An even share of the budget: a shard holding more gives memory back when asked.
    pub(crate) fn fair_share(&self) -> usize {
        self.max_bytes() / self.shards
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_holds_across_takers() {
        let pool = StorePool::new(3 * 1024, 2);
        assert!(pool.reserve(5000), "the first allocation always fits");
        assert!(!pool.reserve(1));
        pool.release(5000);
        assert!(pool.reserve(2048) && pool.reserve(1024));
        assert!(!pool.reserve(1));
        assert_eq!(pool.used_bytes(), 3 * 1024);
        let page = super::super::PAGE_SIZE;
        assert!(
            pool.set_max_bytes(1),
            "less than a page is never below what is in use"
        );
        assert!(pool.set_max_bytes(2 * page));
        assert!(pool.reserve(page));
        assert!(!pool.set_max_bytes(page), "below what is in use");
        assert_eq!(pool.fair_share(), page);
        assert_eq!(
            (pool.next_cas(), pool.next_cas(), pool.last_cas()),
            (1, 2, 2)
        );
        pool.want(100);
        pool.gave(150);
        assert_eq!(pool.wanted(), 0);
    }
}
