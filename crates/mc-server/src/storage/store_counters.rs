//! What the store counts: totals for `stats`, per-class figures for `stats items` and
//! `stats slabs`, and the item size histogram of `stats sizes`.

/// Counters the store keeps (reported by `stats`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct StoreStats {
    pub get_hits: u64,
    pub get_misses: u64,
    pub get_expired: u64,
    pub get_flushed: u64,
    pub touch_hits: u64,
    pub touch_misses: u64,
    pub delete_hits: u64,
    pub delete_misses: u64,
    pub incr_hits: u64,
    pub incr_misses: u64,
    pub decr_hits: u64,
    pub decr_misses: u64,
    pub cas_hits: u64,
    pub cas_misses: u64,
    pub cas_badval: u64,
    pub total_items: u64,
    pub evictions: u64,
    pub reclaimed: u64,
    pub expired_unfetched: u64,
    pub evicted_unfetched: u64,
    pub store_too_large: u64,
    pub store_no_memory: u64,
    /// Pages moved from one class to another (on demand, or by `slabs reassign`).
    pub slabs_moved: u64,
    /// Items evicted to empty a page that moved to another class.
    pub slab_reassign_evictions: u64,
    /// Dead items removed by the crawler.
    pub crawler_reclaimed: u64,
    /// Items the crawler looked at.
    pub crawler_items_checked: u64,
    /// Evictions and reclaims done by a write that needed room (all of them, here: there is
    /// no background thread freeing memory ahead of writes).
    pub direct_reclaims: u64,
}

/// Per slab class counters, named as memcached's `stats items` and `stats slabs` name them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[allow(missing_docs)]
pub struct ClassCounters {
    pub get_hits: u64,
    pub cmd_set: u64,
    pub delete_hits: u64,
    pub incr_hits: u64,
    pub decr_hits: u64,
    pub cas_hits: u64,
    pub cas_badval: u64,
    pub touch_hits: u64,
    pub evicted: u64,
    /// Evicted items that had an expiry time.
    pub evicted_nonzero: u64,
    /// Seconds since the last access of the most recently evicted item.
    pub evicted_time: u32,
    /// Writes refused for lack of memory.
    pub outofmemory: u64,
    pub reclaimed: u64,
    pub expired_unfetched: u64,
    pub evicted_unfetched: u64,
    pub crawler_reclaimed: u64,
    pub crawler_items_checked: u64,
    pub direct_reclaims: u64,
    /// Bytes of the items in the class (header, key and value; memcached's `mem_requested`).
    pub mem_requested: u64,
}

/// `a += b` for each named field.
macro_rules! add_fields {
    ($a:expr, $b:expr, $($field:ident),+) => {
        $( $a.$field += $b.$field; )+
    };
}

impl StoreStats {
    /// Add another shard's counters.
    pub(crate) fn merge(&mut self, other: &StoreStats) {
        add_fields!(
            self,
            other,
            get_hits,
            get_misses,
            get_expired,
            get_flushed,
            touch_hits,
            touch_misses,
            delete_hits,
            delete_misses,
            incr_hits,
            incr_misses,
            decr_hits,
            decr_misses,
            cas_hits,
            cas_misses,
            cas_badval,
            total_items,
            evictions,
            reclaimed,
            expired_unfetched,
            evicted_unfetched,
            store_too_large,
            store_no_memory,
            slabs_moved,
            slab_reassign_evictions,
            crawler_reclaimed,
            crawler_items_checked,
            direct_reclaims
        );
    }
}

impl ClassCounters {
    /// Add another shard's counters for the same class.
    pub(crate) fn merge(&mut self, other: &ClassCounters) {
        add_fields!(
            self,
            other,
            get_hits,
            cmd_set,
            delete_hits,
            incr_hits,
            decr_hits,
            cas_hits,
            cas_badval,
            touch_hits,
            evicted,
            evicted_nonzero,
            outofmemory,
            reclaimed,
            expired_unfetched,
            evicted_unfetched,
            crawler_reclaimed,
            crawler_items_checked,
            direct_reclaims,
            mem_requested
        );
        self.evicted_time = self.evicted_time.max(other.evicted_time);
    }

    /// Zero the event counters (`stats reset`), keeping `mem_requested`, which describes
    /// what the class holds.
    pub(crate) fn reset(&mut self) {
        *self = ClassCounters {
            mem_requested: self.mem_requested,
            ..ClassCounters::default()
        };
    }
}

/// Width of a `stats sizes` bucket, as in memcached.
pub const SIZE_BUCKET: usize = 32;

/// `stats sizes`: how many items there are of each size, rounded up to 32 bytes. Like
/// memcached's, it counts the items stored since tracking began (told apart by their CAS
/// serial), so turning it on at run time needs no walk over the cache.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SizeHistogram {
    buckets: Vec<u64>,
    /// Items with a serial below this were stored before tracking began.
    serial_min: u64,
}

impl SizeHistogram {
    /// A histogram counting the items whose serial is at least `serial_min`.
    pub(crate) fn starting_at(serial_min: u64) -> SizeHistogram {
        SizeHistogram {
            buckets: Vec::new(),
            serial_min,
        }
    }

    fn bucket(size: usize) -> usize {
        size.div_ceil(SIZE_BUCKET)
    }

    /// Count a new item of `size` bytes.
    pub(crate) fn add(&mut self, size: usize, serial: u64) {
        if serial < self.serial_min {
            return;
        }
        let b = Self::bucket(size);
        if self.buckets.len() <= b {
            self.buckets.resize(b + 1, 0);
        }
        self.buckets[b] += 1;
    }

    /// Forget an item of `size` bytes.
    pub(crate) fn remove(&mut self, size: usize, serial: u64) {
        if serial < self.serial_min {
            return;
        }
        if let Some(n) = self.buckets.get_mut(Self::bucket(size)) {
            *n = n.saturating_sub(1);
        }
    }

    /// Add another shard's histogram.
    pub(crate) fn merge(&mut self, other: &SizeHistogram) {
        if self.buckets.len() < other.buckets.len() {
            self.buckets.resize(other.buckets.len(), 0);
        }
        for (mine, theirs) in self.buckets.iter_mut().zip(&other.buckets) {
            *mine += theirs;
        }
    }

    /// `(bucket size in bytes, items)` for every bucket that holds items, smallest first.
    pub fn nonzero(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.buckets
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(b, &n)| (b * SIZE_BUCKET, n))
    }
}
