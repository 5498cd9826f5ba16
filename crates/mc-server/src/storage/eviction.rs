//! Making room: taking a free chunk, the CLOCK sweep that reclaims dead items and evicts the
//! ones not used since its last pass, and moving pages between classes (on demand, or by
//! `slabs reassign`).

use super::*;

impl Store {
    /// A chunk for an item of `size` bytes, evicting (unless `-M`) until one is free.
    pub(super) fn allocate(&mut self, size: usize, now: u32) -> Alloc {
        let class = self.slabs.class_for(size);
        self.answer_starved_shards(now);
        if let Some(id) = self.slabs.alloc(class, size) {
            return Alloc::Chunk(id);
        }
        if self.config.evict {
            // Every round frees an item or a page, so this ends: with a chunk, or with
            // nothing left to free.
            while self.make_room(class, size, now) {
                if let Some(id) = self.slabs.alloc(class, size) {
                    return Alloc::Chunk(id);
                }
            }
            // This shard holds nothing it could free while the others hold the whole budget
            // (their keys took the memory first): ask them for some back.
            self.slabs.pool().want(size.min(PAGE_SIZE));
        } else {
            // Without eviction (`-M`) dead items the hand meets are still reclaimed.
            for _ in 0..TAIL_SEARCH {
                let Some(id) = self.slabs.clock_advance(class) else {
                    break;
                };
                if self.is_dead(id, now) {
                    self.evict(id, now);
                    if let Some(id) = self.slabs.alloc(class, size) {
                        return Alloc::Chunk(id);
                    }
                }
            }
        }
        self.class_counters[class].outofmemory += 1;
        Alloc::NoMemory
    }

    /// When another shard of the cache is starved and this one holds more than an even share
    /// of the budget, give a page (or a large item) back. One relaxed load when nobody is.
    fn answer_starved_shards(&mut self, now: u32) {
        let pool = self.slabs.pool();
        if pool.wanted() == 0 || self.slabs.used_bytes() <= pool.fair_share() {
            return;
        }
        let before = self.slabs.used_bytes();
        if let Some((page, _)) = self.donor_page(None) {
            self.empty_page(page, now);
            self.slabs.release_page(page);
        } else if let Some(victim) = self.clock_victim(self.slabs.large_class(), now) {
            self.evict(victim, now);
        }
        let given = before - self.slabs.used_bytes();
        self.slabs.pool().gave(given);
    }

    fn is_dead(&self, id: u32, now: u32) -> bool {
        let chunk = self.slabs.chunk(id);
        Self::is_expired(chunk, now) || self.is_flushed(chunk)
    }

    /// The CLOCK sweep of `class`: the first item under the hand that is dead or was not used
    /// since the hand last passed it. A used item has its [`REFERENCED`] bit cleared and is
    /// passed over, at most [`CLOCK_SEARCH`] times in a row; then the item under the hand goes
    /// whatever its bit says, so one write never sweeps a whole class. `None` when the class
    /// holds no item.
    pub(super) fn clock_victim(&mut self, class: usize, now: u32) -> Option<u32> {
        for _ in 0..CLOCK_SEARCH {
            let id = self.slabs.clock_advance(class)?;
            if self.is_dead(id, now) {
                return Some(id);
            }
            let access = self.slabs.access(id);
            let bits = access.load(Ordering::Relaxed);
            if bits & REFERENCED == 0 {
                return Some(id);
            }
            access.store(bits & !REFERENCED, Ordering::Relaxed);
        }
        self.slabs.clock_advance(class)
    }

    /// Free memory towards one more item of `size` bytes in `class`; false when nothing is
    /// left to free.
    pub(super) fn make_room(&mut self, class: usize, size: usize, now: u32) -> bool {
        let large = self.slabs.large_class();
        let large_items = self.slabs.classes()[large].items > 0;
        if class != large {
            // A slab class evicts one of its own items, as memcached does; an empty class
            // takes a page from elsewhere.
            if let Some(victim) = self.clock_victim(class, now) {
                self.evict(victim, now);
                return true;
            }
            return self.take_page_for(class, now);
        }
        // A large item needs bytes: from other large items while they can give enough, else
        // from a slab page given back.
        if large_items && self.slabs.large_bytes() >= size {
            if let Some(victim) = self.clock_victim(large, now) {
                self.evict(victim, now);
                return true;
            }
        }
        if let Some((page, _)) = self.donor_page(None) {
            self.empty_page(page, now);
            self.slabs.release_page(page);
            return true;
        }
        match self.clock_victim(large, now) {
            Some(victim) => {
                self.evict(victim, now);
                true
            }
            None => false,
        }
    }

    pub(super) fn evict(&mut self, id: u32, now: u32) {
        let chunk = self.slabs.chunk(id);
        let class = self.slabs.class_of(id);
        let dead = Self::is_expired(chunk, now) || self.is_flushed(chunk);
        let counters = &mut self.class_counters[class];
        self.written.stats.direct_reclaims += 1;
        counters.direct_reclaims += 1;
        if dead {
            self.written.stats.reclaimed += 1;
            counters.reclaimed += 1;
        } else {
            self.written.stats.evictions += 1;
            counters.evicted += 1;
            counters.evicted_time = now.saturating_sub(chunk.atime());
            if chunk.exptime() != 0 {
                counters.evicted_nonzero += 1;
            }
            let fetched = self.slabs.access(id).load(Ordering::Relaxed) & FETCHED != 0;
            if !fetched {
                self.written.stats.evicted_unfetched += 1;
                counters.evicted_unfetched += 1;
            }
            if self.slabs.pool().recording_evictions() && self.evictions_log.len() < EVICTION_LOG {
                self.slabs.pool().count_logged(1);
                self.evictions_log.push(Evicted {
                    key: chunk.key().to_vec(),
                    fetched,
                    exptime: chunk.exptime(),
                    atime: chunk.atime(),
                    class,
                    value_len: chunk.value_len(),
                });
            }
        }
        self.unlink_id(id);
    }

    /// The page to take from the slab class (other than `except`) with the most pages: the
    /// one under that class's CLOCK hand, which the sweep would empty next. Also returns how
    /// many pages that class has.
    pub(super) fn donor_page(&self, except: Option<usize>) -> Option<(u32, usize)> {
        let large = self.slabs.large_class();
        let (class, pages) = self
            .slabs
            .classes()
            .iter()
            .enumerate()
            .filter(|(i, c)| *i != large && Some(*i) != except && !c.pages.is_empty())
            .map(|(i, c)| (i, c.pages.len()))
            .max_by_key(|&(_, pages)| pages)?;
        Some((self.hand_page(class), pages))
    }

    /// The page under a slab class's CLOCK hand (its first page when it holds no item).
    fn hand_page(&self, class: usize) -> u32 {
        let c = &self.slabs.classes()[class];
        self.slabs
            .clock_peek(class)
            .and_then(|id| self.slabs.page_of(id))
            .unwrap_or(c.pages[0])
    }

    /// Evict every item of a page (to move or release it).
    pub(super) fn empty_page(&mut self, page: u32, now: u32) {
        for id in self.slabs.items_in_page(page) {
            self.written.stats.slab_reassign_evictions += 1;
            self.evict(id, now);
        }
    }

    /// Memory is full and slab class `class` has no item to evict: empty a page of the class
    /// with the most pages and give it to `class` (memcached's slab rebalancing, done on
    /// demand), or evict a large item when large items hold more memory than that class.
    pub(super) fn take_page_for(&mut self, class: usize, now: u32) -> bool {
        let large = self.slabs.large_class();
        let large_items = self.slabs.classes()[large].items > 0;
        let large_pages = self.slabs.large_bytes().div_ceil(self.slabs.page_size());
        let donor = if self.config.automove {
            self.donor_page(Some(class))
        } else {
            None
        };
        match donor {
            Some((page, pages)) if pages >= large_pages || !large_items => {
                self.empty_page(page, now);
                self.slabs.reassign_page(page, class);
                self.written.stats.slabs_moved += 1;
                true
            }
            _ => match self.clock_victim(large, now) {
                Some(victim) => {
                    self.evict(victim, now);
                    true
                }
                None => false,
            },
        }
    }

    /// `slabs reassign <src> <dst>`: empty a page of slab class `src` (1-based; -1: the
    /// class with the most pages) and give it to class `dst` (0: back to the memory pool).
    /// The class keeps at least `spare` pages here (memcached's rule, for a store on its own,
    /// is one: a class with a single page has none to spare).
    pub fn reassign(&mut self, src: i64, dst: i64, now: u32, spare: usize) -> Reassign {
        if src == dst {
            return Reassign::Same;
        }
        let slab_classes = self.slabs.large_class();
        let is_class = |id: i64| id >= 1 && id as usize <= slab_classes;
        let src = if src == -1 {
            let except = usize::try_from(dst - 1).ok();
            match self.donor_page(except) {
                Some((page, _)) => self
                    .slabs
                    .page_layout(page)
                    .map_or(0, |(c, _)| c as i64 + 1),
                None => 0,
            }
        } else {
            src
        };
        if !is_class(src) || !(dst == 0 || is_class(dst)) {
            return Reassign::BadClass;
        }
        let from = (src - 1) as usize;
        let class = &self.slabs.classes()[from];
        if class.pages.len() < spare + 1 {
            return Reassign::NoSpare;
        }
        // The page the sweep would empty next loses the least.
        let page = self.hand_page(from);
        self.empty_page(page, now);
        if dst == 0 {
            self.slabs.release_page(page);
        } else {
            self.slabs.reassign_page(page, (dst - 1) as usize);
        }
        self.written.stats.slabs_moved += 1;
        Reassign::Moved
    }
}
