//! Changing how the store behaves at run time: the memory limit, page moves, the size histogram,
//! the eviction log, and zeroing the counters.

use super::*;

impl Store {
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

    /// Change the memory limit (`cache_memlimit`); returns false when it is below what the
    /// items already use (memcached does not shrink either) or above [`MAX_PAGE_BYTES`].
    pub fn set_max_bytes(&mut self, max_bytes: usize) -> bool {
        if !self.slabs.set_max_bytes(max_bytes) {
            return false;
        }
        self.config.max_bytes = max_bytes;
        true
    }
}
