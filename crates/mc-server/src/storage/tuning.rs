//! Changing how the store behaves at run time: the memory limit, page moves, the size histogram,
//! the eviction log, and zeroing the counters.

use super::*;

impl Store {
    /// Zero the counters (`stats reset`).
    pub fn reset_stats(&mut self) {
        self.written.stats = StoreStats::default();
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
            (true, false) => {
                let first = self.slabs.pool().last_cas() + 1;
                self.sizes = Some(SizeHistogram::starting_at(first));
            }
            (false, true) => self.sizes = None,
            _ => {}
        }
    }

    /// Record evictions for [`Store::take_evictions`] (while someone watches them) or not.
    /// The switch is the pool's: it turns recording on or off in every shard at once.
    pub fn record_evictions(&mut self, on: bool) {
        self.slabs.pool().record_evictions(on);
    }

    /// The evictions recorded since the last call.
    pub fn take_evictions(&mut self) -> Vec<Evicted> {
        let taken = std::mem::take(&mut self.evictions_log);
        self.slabs.pool().count_taken(taken.len());
        taken
    }

    /// Change the memory limit (`cache_memlimit`) of the pool this store draws on; returns
    /// false when it is below what the items already use (memcached does not shrink either) or
    /// above [`MAX_PAGE_BYTES`]. The other shards of the pool learn it with
    /// [`Store::note_max_bytes`].
    pub fn set_max_bytes(&mut self, max_bytes: usize) -> bool {
        if max_bytes > MAX_PAGE_BYTES || !self.slabs.pool().set_max_bytes(max_bytes) {
            return false;
        }
        self.note_max_bytes(max_bytes);
        true
    }

    /// Record a new memory limit set on the shared pool (for `stats settings`).
    pub fn note_max_bytes(&mut self, max_bytes: usize) {
        self.config.max_bytes = max_bytes;
    }
}
