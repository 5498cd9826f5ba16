//! The store and the command counters behind the one lock that connections share.
//!
//! A blocking mutex, not an async one: no critical section awaits anything. The executor
//! holds it for a bounded slice of work (see `executor::SLICE_STEPS`) and never across a socket
//! read or write, so a slow or stalled client cannot hold up the others.
//!
//! It is `parking_lot`'s mutex for one ability the standard one lacks: a slice that ends
//! because a long request used up its budget hands the lock straight to a waiting thread
//! ([`StoreGuard::hand_over`]). Without that, the long request's next slice takes the lock
//! again before a woken waiter gets to run, and a metadump or a huge multi-get starves the
//! other clients for many slices in a row.

use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::{Mutex, MutexGuard};

use crate::config::Config;
use crate::prefix_stats::PrefixStats;
use crate::server_counters::CommandStats;
use crate::storage::{Store, StoreConfig};

/// What the lock guards.
#[derive(Debug)]
pub(crate) struct Locked {
    pub(crate) store: Store,
    pub(crate) counters: CommandStats,
    /// Per-prefix counts (`stats detail`), updated by the commands under this lock.
    pub(crate) prefixes: PrefixStats,
}

/// The shared store.
#[derive(Debug)]
pub(crate) struct StoreLock {
    locked: Mutex<Locked>,
    /// Set when a thread panicked while holding the lock.
    poisoned: AtomicBool,
}

/// The locked store. Dropping it unlocks.
pub(crate) struct StoreGuard<'a> {
    // Declared first so it is dropped first: it marks the store poisoned before the mutex is
    // unlocked when the holder unwinds.
    _panic_watch: PanicWatch<'a>,
    guard: MutexGuard<'a, Locked>,
}

/// Marks the store poisoned when dropped during a panic.
struct PanicWatch<'a>(&'a AtomicBool);

impl Drop for PanicWatch<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.store(true, Ordering::Relaxed);
        }
    }
}

impl std::ops::Deref for StoreGuard<'_> {
    type Target = Locked;
    fn deref(&self) -> &Locked {
        &self.guard
    }
}

impl std::ops::DerefMut for StoreGuard<'_> {
    fn deref_mut(&mut self) -> &mut Locked {
        &mut self.guard
    }
}

impl StoreGuard<'_> {
    /// Unlock, giving the lock directly to a thread waiting for it, if any.
    pub(crate) fn hand_over(self) {
        let StoreGuard {
            _panic_watch,
            guard,
        } = self;
        drop(_panic_watch);
        MutexGuard::unlock_fair(guard);
    }
}

impl StoreLock {
    /// The store a server with `config` starts with.
    pub(crate) fn for_config(config: &Config) -> StoreLock {
        let lock = StoreLock::new(config.store.clone());
        lock.lock().store.track_sizes(config.track_sizes);
        lock
    }

    pub(crate) fn new(config: StoreConfig) -> StoreLock {
        StoreLock {
            locked: Mutex::new(Locked {
                store: Store::new(config),
                counters: CommandStats::default(),
                prefixes: PrefixStats::default(),
            }),
            poisoned: AtomicBool::new(false),
        }
    }

    /// Lock the store.
    ///
    /// A panic while the lock was held (a bug: nothing a client sends may cause one) can leave
    /// the store half-updated: an LRU link or index slot pointing at a freed chunk, which a
    /// later walk could follow forever or serve as data. A cache may always forget, so the
    /// store is replaced by an empty one, logged at error, and serving goes on.
    pub(crate) fn lock(&self) -> StoreGuard<'_> {
        let mut guard = self.locked.lock();
        if self.poisoned.load(Ordering::Relaxed) {
            tracing::error!(
                "a panic interrupted a store operation; the cache was emptied so that no \
                 half-updated item can be served"
            );
            // Keep the configuration a `cache_memlimit` may have changed.
            let config = guard.store.config().clone();
            guard.store = Store::new(config);
            guard.counters = CommandStats::default();
            guard.prefixes = PrefixStats::default();
            self.poisoned.store(false, Ordering::Relaxed);
        }
        StoreGuard {
            _panic_watch: PanicWatch(&self.poisoned),
            guard,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{Access, StoreStatus, Write};
    use mc_proto::StoreCommand;

    #[test]
    fn a_panic_under_the_lock_empties_the_store_and_serving_goes_on() {
        let lock = std::sync::Arc::new(StoreLock::new(StoreConfig::default()));
        let write = Write::new(StoreCommand::Set, b"k", b"v");
        assert!(matches!(
            lock.lock().store.store(&write, 10),
            StoreStatus::Stored(_)
        ));
        let poisoner = lock.clone();
        let crashed = std::thread::spawn(move || {
            let _guard = poisoner.lock();
            panic!("a bug in the middle of a store operation");
        })
        .join();
        assert!(crashed.is_err());
        let mut guard = lock.lock();
        assert!(guard.store.is_empty(), "the possibly corrupt store is gone");
        assert!(matches!(
            guard.store.store(&write, 10),
            StoreStatus::Stored(_)
        ));
        let found = guard
            .store
            .get(b"k", 10, Access::default())
            .map(|i| i.value().to_vec());
        assert_eq!(found, Some(b"v".to_vec()));
        guard.hand_over();
        assert!(!lock.poisoned.load(Ordering::Relaxed));
        assert!(
            !lock.lock().store.is_empty(),
            "a clean unlock keeps the items"
        );
    }
}
