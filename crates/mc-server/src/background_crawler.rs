//! The LRU crawler: `lru_crawler crawl <classes|all>` answers at once and a background
//! thread then walks the asked classes, removing expired and flushed items (memcached's
//! `crawler_reclaimed`). It locks one store shard at a time, for one bounded slice, and sleeps
//! `lru_crawler_sleep` microseconds between slices, so clients are served throughout.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

use crate::environment::Environment;
use crate::executor::SLICE_STEPS;
use crate::runtime_settings::RuntimeSettings;
use crate::store_shards::{ShardCursor, StoreShards};

/// Which classes a crawl visits: `None` for all, else a flag per class (0-based).
pub(crate) type Classes = Option<Vec<bool>>;

/// The crawler's mailbox and state.
#[derive(Debug, Default)]
pub(crate) struct Crawler {
    job: Mutex<Option<Classes>>,
    wake: Condvar,
    /// A crawl is under way (`lru_crawler_running`).
    pub(crate) running: AtomicBool,
    /// Crawls started (`lru_crawler_starts`).
    pub(crate) starts: AtomicU64,
}

/// A crawl is already under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Busy;

impl Crawler {
    /// Ask for a crawl of `classes`.
    pub(crate) fn request(&self, classes: Classes) -> Result<(), Busy> {
        let mut job = self.job.lock();
        if job.is_some() || self.running.load(Ordering::Relaxed) {
            return Err(Busy);
        }
        *job = Some(classes);
        self.wake.notify_one();
        Ok(())
    }

    /// Wait up to `timeout` for a requested crawl and take it.
    pub(crate) fn next_job(&self, timeout: Duration) -> Option<Classes> {
        let mut job = self.job.lock();
        if job.is_none() {
            self.wake.wait_for(&mut job, timeout);
        }
        let taken = job.take();
        if taken.is_some() {
            // Marked under the mailbox lock, so a request never sees neither.
            self.running.store(true, Ordering::Relaxed);
        }
        taken
    }

    /// Take a requested crawl without waiting (the socket-free harness runs crawls inline).
    pub(crate) fn take_job(&self) -> Option<Classes> {
        self.next_job(Duration::ZERO)
    }

    /// Run a crawl to its end, or until `stop` says so; `pause` says whether to sleep
    /// `lru_crawler_sleep` between slices.
    pub(crate) fn crawl(
        &self,
        classes: Classes,
        store: &StoreShards,
        env: &Environment,
        pause: bool,
        stop: impl Fn() -> bool,
    ) {
        self.starts.fetch_add(1, Ordering::Relaxed);
        let runtime = &env.runtime;
        let tocrawl = RuntimeSettings::get(&runtime.lru_crawler_tocrawl);
        let include = |class: usize| {
            classes
                .as_ref()
                .map_or(true, |c| c.get(class) == Some(&true))
        };
        let mut cursor = ShardCursor::default();
        let mut checked = vec![0; store.class_count()];
        loop {
            let mut steps = SLICE_STEPS;
            // One slice: SLICE_STEPS chunks looked at, at most, one shard locked at a time.
            let now = env.clock.now();
            let next = store.walk(cursor, &mut steps, |shard, within, steps| {
                shard.crawl(within, steps, now, include, tocrawl, &mut checked)
            });
            match next {
                Some(at) => cursor = at,
                None => break,
            }
            if stop() {
                break;
            }
            let sleep = RuntimeSettings::get(&runtime.lru_crawler_sleep);
            if pause && sleep > 0 {
                std::thread::sleep(Duration::from_micros(u64::from(sleep)));
            }
        }
        self.running.store(false, Ordering::Relaxed);
    }
}
