//! Reading the store's state for `stats` and the commands that report on it.

use super::*;

impl Store {
    /// The configuration.
    pub fn config(&self) -> &StoreConfig {
        &self.config
    }

    /// Items stored (including expired ones not yet reclaimed).
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when no item is stored.
    pub fn is_empty(&self) -> bool {
        self.index.len() == 0
    }

    /// Bytes used by stored items.
    pub fn bytes(&self) -> usize {
        self.written.bytes
    }

    /// Bytes taken from the system for items: slab pages and large items.
    pub fn allocated_bytes(&self) -> usize {
        self.slabs.used_bytes()
    }

    /// Bytes of the hash index.
    pub fn index_bytes(&self) -> usize {
        self.index.memory()
    }

    /// The counters.
    pub fn stats(&self) -> StoreStats {
        self.written.stats
    }

    /// The latest CAS unique handed out.
    pub fn last_cas(&self) -> u64 {
        self.slabs.pool().last_cas()
    }

    /// What the last key lookup of any command found (for `watch fetchers`).
    pub fn last_lookup(&self) -> Lookup {
        self.written.last_lookup
    }

    /// Per-class figures: the slab classes with pages, then the large items if any.
    pub fn class_stats(&self, now: u32) -> Vec<ClassStats> {
        let large = self.slabs.large_class();
        self.slabs
            .classes()
            .iter()
            .enumerate()
            .filter(|(i, c)| !c.pages.is_empty() || (*i == large && c.items > 0))
            .map(|(i, c)| ClassStats {
                id: i + 1,
                large: i == large,
                chunk_size: c.chunk_size,
                chunks_per_page: if i == large {
                    0
                } else {
                    self.slabs.chunks_per_page(i) as usize
                },
                pages: c.pages.len(),
                items: c.items,
                free_chunks: c.free_chunks,
                oldest_age: self
                    .slabs
                    .clock_peek(i)
                    .map_or(0, |id| now.saturating_sub(self.slabs.chunk(id).atime())),
                counters: self.class_counters[i],
            })
            .collect()
    }

    /// Pages of slab class `class` (0-based).
    pub fn class_pages(&self, class: usize) -> usize {
        self.slabs.classes().get(class).map_or(0, |c| c.pages.len())
    }

    /// The class (0-based) an item with this key and value length goes to.
    pub fn class_for_item(&self, key_len: usize, value_len: usize, flags: u32) -> usize {
        self.slabs.class_for(item::size(key_len, value_len, flags))
    }

    /// Hash table size as a power of two (memcached's `hash_power_level`).
    pub fn hash_power(&self) -> u32 {
        self.index
            .capacity()
            .max(1)
            .next_power_of_two()
            .trailing_zeros()
    }

    /// Pages given back to the memory pool and owned by no class (memcached's
    /// `slab_global_page_pool`).
    pub fn free_pages(&self) -> usize {
        self.slabs.free_pages()
    }

    /// The number of item classes ([`Item::class`] is below it); the last one holds the
    /// large items.
    pub fn class_count(&self) -> usize {
        self.slabs.classes().len()
    }

    /// The `stats sizes` histogram, if tracking is on.
    pub fn sizes(&self) -> Option<&SizeHistogram> {
        self.sizes.as_ref()
    }
}
