//! Settings that commands change while the server runs: `verbosity`, `stats detail on|off`,
//! `lru_crawler enable|disable|sleep|tocrawl`, `slabs automove`, `lru tune|mode|temp_ttl`.
//! Each starts from the command line; `stats settings` shows the current value.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use parking_lot::Mutex;

use crate::config::{Config, LruTuning};

/// memcached caps `-v` and the `verbosity` command at 2.
pub const MAX_VERBOSITY: u32 = 2;

/// The changeable settings.
#[derive(Debug)]
pub(crate) struct RuntimeSettings {
    /// The current `-v` level.
    pub(crate) verbosity: AtomicU32,
    /// Per-prefix statistics are collected (`-D`, `stats detail on`).
    pub(crate) detail_enabled: AtomicBool,
    /// The LRU crawler takes `crawl` requests.
    pub(crate) lru_crawler: AtomicBool,
    /// Microseconds the crawler pauses between slices of work.
    pub(crate) lru_crawler_sleep: AtomicU32,
    /// Items the crawler looks at per class and run (0: all).
    pub(crate) lru_crawler_tocrawl: AtomicU32,
    /// `slab_automove` as memcached reports it (0, 1 or 2).
    pub(crate) slab_automove: AtomicU32,
    /// The segmented-LRU knobs.
    pub(crate) lru: Mutex<LruTuning>,
    /// `lru mode segmented|flat` (starts as `-o lru_maintainer` says).
    pub(crate) lru_segmented: AtomicBool,
}

impl RuntimeSettings {
    pub(crate) fn new(config: &Config) -> RuntimeSettings {
        let t = &config.tuning;
        RuntimeSettings {
            verbosity: AtomicU32::new(config.verbosity.min(MAX_VERBOSITY)),
            detail_enabled: AtomicBool::new(config.detail_enabled),
            lru_crawler: AtomicBool::new(config.lru_crawler),
            lru_crawler_sleep: AtomicU32::new(t.lru_crawler_sleep),
            lru_crawler_tocrawl: AtomicU32::new(t.lru_crawler_tocrawl),
            slab_automove: AtomicU32::new(u32::from(config.store.automove)),
            lru: Mutex::new(t.lru.clone()),
            lru_segmented: AtomicBool::new(t.lru_maintainer),
        }
    }

    /// The current verbosity.
    pub(crate) fn verbosity(&self) -> u32 {
        self.verbosity.load(Ordering::Relaxed)
    }

    /// Read a flag.
    pub(crate) fn on(flag: &AtomicBool) -> bool {
        flag.load(Ordering::Relaxed)
    }

    /// Read a number.
    pub(crate) fn get(value: &AtomicU32) -> u32 {
        value.load(Ordering::Relaxed)
    }

    /// Change a setting.
    pub(crate) fn set<T: SetAtomic>(target: &T, value: T::Value) {
        target.set(value);
    }
}

/// An atomic setting that can be stored to.
pub(crate) trait SetAtomic {
    type Value;
    fn set(&self, value: Self::Value);
}

impl SetAtomic for AtomicBool {
    type Value = bool;
    fn set(&self, value: bool) {
        self.store(value, Ordering::Relaxed);
    }
}

impl SetAtomic for AtomicU32 {
    type Value = u32;
    fn set(&self, value: u32) {
        self.store(value, Ordering::Relaxed);
    }
}
