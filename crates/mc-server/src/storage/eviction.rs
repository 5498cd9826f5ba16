//! Making room: taking a free chunk, reclaiming dead items at the cold end, evicting the least
//! recently used, and moving pages between classes (on demand, or by `slabs reassign`).

use super::*;

impl Store {
    /// A chunk for an item of `size` bytes, evicting (unless `-M`) until one is free.
    pub(super) fn allocate(&mut self, size: usize, now: u32) -> Alloc {
        let class = self.slabs.class_for(size);
        if let Some(id) = self.slabs.alloc(class, size) {
            return Alloc::Chunk(id);
        }
        // Reclaim expired or flushed items at the cold end first.
        let mut id = self.slabs.classes()[class].tail;
        for _ in 0..TAIL_SEARCH {
            if id == NIL {
                break;
            }
            let chunk = self.slabs.chunk(id);
            let prev = chunk.prev();
            if Self::is_expired(chunk, now) || self.is_flushed(chunk) {
                self.stats.reclaimed += 1;
                self.stats.direct_reclaims += 1;
                let counters = &mut self.class_counters[class];
                counters.reclaimed += 1;
                counters.direct_reclaims += 1;
                self.unlink_id(id);
                if let Some(id) = self.slabs.alloc(class, size) {
                    return Alloc::Chunk(id);
                }
            }
            id = prev;
        }
        if self.config.evict {
            // Every round frees an item or a page, so this ends: with a chunk, or with
            // nothing left to free.
            while self.make_room(class, size, now) {
                if let Some(id) = self.slabs.alloc(class, size) {
                    return Alloc::Chunk(id);
                }
            }
        }
        self.class_counters[class].outofmemory += 1;
        Alloc::NoMemory
    }

    /// Free memory towards one more item of `size` bytes in `class`; false when nothing is
    /// left to free.
    pub(super) fn make_room(&mut self, class: usize, size: usize, now: u32) -> bool {
        let large = self.slabs.large_class();
        let large_tail = self.slabs.classes()[large].tail;
        if class != large {
            // A slab class evicts its own least recently used item, as memcached does; an
            // empty class takes a page from elsewhere.
            let tail = self.slabs.classes()[class].tail;
            if tail != NIL {
                self.evict(tail, now);
                return true;
            }
            return self.take_page_for(class, now);
        }
        // A large item needs bytes: from other large items while they can give enough, else
        // from a slab page given back.
        if large_tail != NIL && self.slabs.large_bytes() >= size {
            self.evict(large_tail, now);
            return true;
        }
        if let Some((page, _)) = self.donor_page(None) {
            self.empty_page(page, now);
            self.slabs.release_page(page);
            return true;
        }
        if large_tail != NIL {
            self.evict(large_tail, now);
            return true;
        }
        false
    }

    pub(super) fn evict(&mut self, id: u32, now: u32) {
        let chunk = self.slabs.chunk(id);
        let class = self.slabs.class_of(id);
        let dead = Self::is_expired(chunk, now) || self.is_flushed(chunk);
        let counters = &mut self.class_counters[class];
        self.stats.direct_reclaims += 1;
        counters.direct_reclaims += 1;
        if dead {
            self.stats.reclaimed += 1;
            counters.reclaimed += 1;
        } else {
            self.stats.evictions += 1;
            counters.evicted += 1;
            counters.evicted_time = now.saturating_sub(chunk.atime());
            if chunk.exptime() != 0 {
                counters.evicted_nonzero += 1;
            }
            let fetched = chunk.state() & FETCHED != 0;
            if !fetched {
                self.stats.evicted_unfetched += 1;
                counters.evicted_unfetched += 1;
            }
            if let Some(log) = &mut self.evictions_log {
                if log.len() < EVICTION_LOG {
                    log.push(Evicted {
                        key: chunk.key().to_vec(),
                        fetched,
                        exptime: chunk.exptime(),
                        atime: chunk.atime(),
                        class,
                        value_len: chunk.value_len(),
                    });
                }
            }
        }
        self.unlink_id(id);
    }

    /// The page to take from the slab class (other than `except`) with the most pages: the
    /// one holding that class's least recently used item. Also returns how many pages that
    /// class has.
    pub(super) fn donor_page(&self, except: Option<usize>) -> Option<(u32, usize)> {
        let large = self.slabs.large_class();
        let (_, class) = self
            .slabs
            .classes()
            .iter()
            .enumerate()
            .filter(|(i, c)| *i != large && Some(*i) != except && !c.pages.is_empty())
            .max_by_key(|(_, c)| c.pages.len())?;
        let tail_page = (class.tail != NIL)
            .then(|| self.slabs.page_of(class.tail))
            .flatten();
        Some((tail_page.unwrap_or(class.pages[0]), class.pages.len()))
    }

    /// Evict every item of a page (to move or release it).
    pub(super) fn empty_page(&mut self, page: u32, now: u32) {
        for id in self.slabs.items_in_page(page) {
            self.stats.slab_reassign_evictions += 1;
            self.evict(id, now);
        }
    }

    /// Memory is full and slab class `class` has no item to evict: empty a page of the class
    /// with the most pages and give it to `class` (memcached's slab rebalancing, done on
    /// demand), or evict a large item when large items hold more memory than that class.
    pub(super) fn take_page_for(&mut self, class: usize, now: u32) -> bool {
        let large = self.slabs.large_class();
        let large_tail = self.slabs.classes()[large].tail;
        let large_pages = self.slabs.large_bytes().div_ceil(self.slabs.page_size());
        let donor = if self.config.automove {
            self.donor_page(Some(class))
        } else {
            None
        };
        match donor {
            Some((page, pages)) if pages >= large_pages || large_tail == NIL => {
                self.empty_page(page, now);
                self.slabs.reassign_page(page, class);
                self.stats.slabs_moved += 1;
                true
            }
            _ if large_tail != NIL => {
                self.evict(large_tail, now);
                true
            }
            _ => false,
        }
    }

    /// `slabs reassign <src> <dst>`: empty a page of slab class `src` (1-based; -1: the
    /// class with the most pages) and give it to class `dst` (0: back to the memory pool).
    pub fn reassign(&mut self, src: i64, dst: i64, now: u32) -> Reassign {
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
        if class.pages.len() < 2 {
            return Reassign::NoSpare;
        }
        // The page holding the class's least recently used item loses the least.
        let page = (class.tail != NIL)
            .then(|| self.slabs.page_of(class.tail))
            .flatten()
            .unwrap_or(class.pages[0]);
        self.empty_page(page, now);
        if dst == 0 {
            self.slabs.release_page(page);
        } else {
            self.slabs.reassign_page(page, (dst - 1) as usize);
        }
        self.stats.slabs_moved += 1;
        Reassign::Moved
    }
}
