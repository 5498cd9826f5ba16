//! Walking every item in memory order, in bounded steps: `lru_crawler metadump`, `stats
//! cachedump` and the crawler's reclaiming pass.

use super::*;

impl Store {
    /// Walk live items from `cursor` on, looking at no more than `steps` chunks (counted down),
    /// and call `visit` for each live item of a class `include` accepts (by [`Item::class`]).
    /// Returns where to go on, or `None` when the walk is over.
    ///
    /// The walk goes through memory (pages, then large items), not the index, and items never
    /// move between chunks, so the store may change between calls: an item that lives through
    /// the whole walk is visited exactly once; one stored or removed meanwhile may or may not
    /// be. Expired and flushed items are skipped.
    pub fn scan(
        &mut self,
        cursor: ScanCursor,
        steps: &mut usize,
        now: u32,
        include: impl Fn(usize) -> bool,
        mut visit: impl FnMut(Item<'_>),
    ) -> Option<ScanCursor> {
        self.apply_pending_flush(now);
        self.walk(cursor, steps, include, |store, id| {
            let chunk = store.slabs.chunk(id);
            if !Self::is_expired(chunk, now) && !store.is_flushed(chunk) {
                visit(store.item_at(id));
            }
        })
    }

    /// The LRU crawler's pass: walk like [`Store::scan`] and remove the expired and flushed
    /// items met, looking at no more than `tocrawl` items per class (0: no limit; `checked`
    /// counts them per class across calls).
    pub fn crawl(
        &mut self,
        cursor: ScanCursor,
        steps: &mut usize,
        now: u32,
        include: impl Fn(usize) -> bool,
        tocrawl: u32,
        checked: &mut [u32],
    ) -> Option<ScanCursor> {
        self.apply_pending_flush(now);
        self.walk(cursor, steps, include, |store, id| {
            let class = store.slabs.class_of(id);
            let Some(seen) = checked.get_mut(class) else {
                return;
            };
            if tocrawl != 0 && *seen >= tocrawl {
                return;
            }
            *seen += 1;
            store.written.stats.crawler_items_checked += 1;
            store.class_counters[class].crawler_items_checked += 1;
            let chunk = store.slabs.chunk(id);
            let expired = Self::is_expired(chunk, now);
            if expired || store.is_flushed(chunk) {
                if expired && store.access_bits(id) & FETCHED == 0 {
                    store.written.stats.expired_unfetched += 1;
                    store.class_counters[class].expired_unfetched += 1;
                }
                store.written.stats.crawler_reclaimed += 1;
                store.class_counters[class].crawler_reclaimed += 1;
                store.unlink_id(id);
            }
        })
    }

    /// Call `at` for every linked chunk from `cursor` on, within `budget` steps.
    pub(super) fn walk(
        &mut self,
        mut cursor: ScanCursor,
        budget: &mut usize,
        include: impl Fn(usize) -> bool,
        mut at: impl FnMut(&mut Store, u32),
    ) -> Option<ScanCursor> {
        let mut look = |store: &mut Store, id: u32| {
            if store.slabs.chunk(id).state() & LINKED != 0 {
                at(store, id);
            }
        };
        while cursor.page < self.slabs.page_count() {
            match self.slabs.page_layout(cursor.page) {
                Some((class, chunks)) if include(class) => {
                    while cursor.slot < chunks {
                        if *budget == 0 {
                            return Some(cursor);
                        }
                        *budget -= 1;
                        look(self, Slabs::page_chunk(cursor.page, cursor.slot));
                        cursor.slot += 1;
                    }
                }
                _ => *budget = budget.saturating_sub(1),
            }
            cursor.page += 1;
            cursor.slot = 0;
            if *budget == 0 {
                return Some(cursor);
            }
        }
        if !include(self.slabs.large_class()) {
            return None;
        }
        while cursor.large < self.slabs.large_count() {
            if *budget == 0 {
                return Some(cursor);
            }
            *budget -= 1;
            if let Some(id) = self.slabs.large_id(cursor.large) {
                look(self, id);
            }
            cursor.large += 1;
        }
        None
    }
}
