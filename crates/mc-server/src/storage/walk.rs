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
        visit: impl FnMut(Item<'_>),
    ) -> Option<ScanCursor> {
        self.apply_pending_flush(now);
        self.scan_shared(cursor, steps, now, include, visit)
    }

    /// Whether a `flush_all` with a delay falls due at `now` and has not been applied: then
    /// [`Store::scan_shared`] must not run (it would list what the flush removes).
    pub fn flush_due(&self, now: u32) -> bool {
        self.flush_at.is_some_and(|at| now >= at)
    }

    /// [`Store::scan`] with shared access, alongside readers, for a store with no flush due
    /// (see [`Store::flush_due`]): a metadump or cachedump then holds up no `get`.
    pub fn scan_shared(
        &self,
        mut cursor: ScanCursor,
        steps: &mut usize,
        now: u32,
        include: impl Fn(usize) -> bool,
        mut visit: impl FnMut(Item<'_>),
    ) -> Option<ScanCursor> {
        loop {
            match self.next_linked(&mut cursor, steps, &include) {
                Next::Chunk(id) => {
                    let chunk = self.slabs.chunk(id);
                    if !Self::is_expired(chunk, now) && !self.is_flushed(chunk) {
                        visit(self.item_at(id));
                    }
                }
                Next::Pause => return Some(cursor),
                Next::Done => return None,
            }
        }
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
        loop {
            match self.next_linked(&mut cursor, budget, &include) {
                Next::Chunk(id) => at(self, id),
                Next::Pause => return Some(cursor),
                Next::Done => return None,
            }
        }
    }

    /// The next linked chunk at or after `cursor` in a class `include` accepts, the cursor
    /// moved past it; one step of `budget` per chunk (or page skipped) looked at.
    fn next_linked(
        &self,
        cursor: &mut ScanCursor,
        budget: &mut usize,
        include: &impl Fn(usize) -> bool,
    ) -> Next {
        while cursor.page < self.slabs.page_count() {
            match self.slabs.page_layout(cursor.page) {
                Some((class, chunks)) if include(class) => {
                    while cursor.slot < chunks {
                        if *budget == 0 {
                            return Next::Pause;
                        }
                        *budget -= 1;
                        let id = Slabs::page_chunk(cursor.page, cursor.slot);
                        cursor.slot += 1;
                        if self.slabs.chunk(id).state() & LINKED != 0 {
                            return Next::Chunk(id);
                        }
                    }
                }
                _ => *budget = budget.saturating_sub(1),
            }
            cursor.page += 1;
            cursor.slot = 0;
            if *budget == 0 {
                return Next::Pause;
            }
        }
        if !include(self.slabs.large_class()) {
            return Next::Done;
        }
        while cursor.large < self.slabs.large_count() {
            if *budget == 0 {
                return Next::Pause;
            }
            *budget -= 1;
            let found = self.slabs.large_id(cursor.large);
            cursor.large += 1;
            if let Some(id) = found {
                if self.slabs.chunk(id).state() & LINKED != 0 {
                    return Next::Chunk(id);
                }
            }
        }
        Next::Done
    }
}

/// What [`Store::next_linked`] found.
enum Next {
    /// A linked chunk.
    Chunk(u32),
    /// The budget ran out first.
    Pause,
    /// The walk is over.
    Done,
}
