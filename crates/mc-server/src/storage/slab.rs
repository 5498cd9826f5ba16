//! Slab allocation: memory is taken in pages, each page is cut into equal chunks of one size
//! class, and every class keeps its items on an LRU list.
//!
//! This is memcached's design, with finer size classes (factor 1.125, 8-byte granularity) so
//! small items waste less of their chunk. Chunk ids are `page << shift | slot`, 32 bits, which
//! keeps the LRU links and the hash index compact.

use super::item::{ItemRead, ItemWrite};

/// "No chunk": the end of a list.
pub(crate) const NIL: u32 = u32::MAX;

/// memcached's slab page size.
pub(crate) const DEFAULT_PAGE_SIZE: usize = 1024 * 1024;

/// The smallest chunk: an item header plus a few bytes.
const MIN_CHUNK: usize = 48;

/// One size class.
#[derive(Debug)]
pub(crate) struct Class {
    /// Bytes per chunk.
    pub(crate) chunk_size: usize,
    /// Pages cut into this class's chunks.
    pub(crate) pages: Vec<u32>,
    /// Head of the free list (freed chunks, linked through their first 4 bytes).
    free: u32,
    /// Chunks on the free list.
    pub(crate) free_chunks: usize,
    /// The page being cut, and the next slot in it not yet handed out.
    carving: Option<(u32, u32)>,
    /// Most recently used item.
    pub(crate) head: u32,
    /// Least recently used item: the next to evict.
    pub(crate) tail: u32,
    /// Items linked in this class.
    pub(crate) items: usize,
}

/// All pages and classes.
#[derive(Debug)]
pub(crate) struct Slabs {
    page_size: usize,
    max_pages: usize,
    pages: Vec<Box<[u8]>>,
    /// Which class owns each page.
    page_class: Vec<u8>,
    classes: Vec<Class>,
    shift: u32,
}

impl Slabs {
    /// Slabs of `page_size`-byte pages, at most `max_pages` of them.
    pub(crate) fn new(page_size: usize, max_pages: usize) -> Slabs {
        let mut sizes = Vec::new();
        let mut size = MIN_CHUNK;
        while size <= page_size / 2 {
            sizes.push(size);
            let grown = (size + size / 8).div_ceil(8) * 8;
            size = grown.max(size + 8);
        }
        // The last class holds one item per page: the largest items.
        sizes.push(page_size);
        let classes = sizes
            .into_iter()
            .map(|chunk_size| Class {
                chunk_size,
                pages: Vec::new(),
                free: NIL,
                free_chunks: 0,
                carving: None,
                head: NIL,
                tail: NIL,
                items: 0,
            })
            .collect();
        let slots = (page_size / MIN_CHUNK).next_power_of_two();
        Slabs {
            page_size,
            max_pages,
            pages: Vec::new(),
            page_class: Vec::new(),
            classes,
            shift: slots.trailing_zeros(),
        }
    }

    pub(crate) fn page_size(&self) -> usize {
        self.page_size
    }

    /// Pages handed out so far.
    pub(crate) fn pages_used(&self) -> usize {
        self.pages.len()
    }

    pub(crate) fn set_max_pages(&mut self, max_pages: usize) {
        self.max_pages = max_pages;
    }

    pub(crate) fn classes(&self) -> &[Class] {
        &self.classes
    }

    /// The class for an item of `size` bytes, or `None` when it is larger than a page.
    pub(crate) fn class_for(&self, size: usize) -> Option<usize> {
        let i = self.classes.partition_point(|c| c.chunk_size < size);
        (i < self.classes.len()).then_some(i)
    }

    pub(crate) fn class_of(&self, id: u32) -> usize {
        usize::from(self.page_class[(id >> self.shift) as usize])
    }

    pub(crate) fn page_of(&self, id: u32) -> u32 {
        id >> self.shift
    }

    pub(crate) fn chunk(&self, id: u32) -> &[u8] {
        let page = (id >> self.shift) as usize;
        let slot = (id & ((1 << self.shift) - 1)) as usize;
        let size = self.classes[usize::from(self.page_class[page])].chunk_size;
        &self.pages[page][slot * size..(slot + 1) * size]
    }

    pub(crate) fn chunk_mut(&mut self, id: u32) -> &mut [u8] {
        let page = (id >> self.shift) as usize;
        let slot = (id & ((1 << self.shift) - 1)) as usize;
        let size = self.classes[usize::from(self.page_class[page])].chunk_size;
        &mut self.pages[page][slot * size..(slot + 1) * size]
    }

    /// A free chunk of class `class` without evicting anything: from the free list, the page
    /// being cut, or a new page while the memory limit allows.
    pub(crate) fn alloc(&mut self, class: usize) -> Option<u32> {
        let c = &mut self.classes[class];
        if c.free != NIL {
            let id = c.free;
            c.free_chunks -= 1;
            let next = {
                let chunk = self.chunk(id);
                let mut b = [0u8; 4];
                b.copy_from_slice(&chunk[..4]);
                u32::from_le_bytes(b)
            };
            self.classes[class].free = next;
            return Some(id);
        }
        let per_page = (self.page_size / c.chunk_size) as u32;
        if let Some((page, slot)) = c.carving {
            c.carving = (slot + 1 < per_page).then_some((page, slot + 1));
            return Some(page << self.shift | slot);
        }
        let page = self.new_page(class)?;
        self.classes[class].carving = (per_page > 1).then_some((page, 1));
        Some(page << self.shift)
    }

    fn new_page(&mut self, class: usize) -> Option<u32> {
        if self.pages.len() >= self.max_pages {
            return None;
        }
        let page = self.pages.len() as u32;
        // calloc-backed: the kernel hands out zero pages lazily, so RSS grows with use.
        self.pages
            .push(vec![0u8; self.page_size].into_boxed_slice());
        self.page_class.push(class as u8);
        self.classes[class].pages.push(page);
        Some(page)
    }

    /// Return a chunk to its class's free list. The item must already be unlinked.
    pub(crate) fn free(&mut self, id: u32) {
        let class = self.class_of(id);
        let head = self.classes[class].free;
        self.chunk_mut(id)[..4].copy_from_slice(&head.to_le_bytes());
        let c = &mut self.classes[class];
        c.free = id;
        c.free_chunks += 1;
    }

    /// Put an item at the head (most recent end) of its class's LRU list.
    pub(crate) fn lru_push(&mut self, id: u32) {
        let class = self.class_of(id);
        let head = self.classes[class].head;
        {
            let chunk = self.chunk_mut(id);
            chunk.set_prev(NIL);
            chunk.set_next(head);
        }
        if head != NIL {
            self.chunk_mut(head).set_prev(id);
        }
        let c = &mut self.classes[class];
        c.head = id;
        if c.tail == NIL {
            c.tail = id;
        }
        c.items += 1;
    }

    /// Take an item off its class's LRU list.
    pub(crate) fn lru_unlink(&mut self, id: u32) {
        let class = self.class_of(id);
        let (prev, next) = {
            let chunk = self.chunk(id);
            (chunk.prev(), chunk.next())
        };
        if prev != NIL {
            self.chunk_mut(prev).set_next(next);
        } else {
            self.classes[class].head = next;
        }
        if next != NIL {
            self.chunk_mut(next).set_prev(prev);
        } else {
            self.classes[class].tail = prev;
        }
        self.classes[class].items -= 1;
    }

    /// Move an item to the head of its LRU list.
    pub(crate) fn lru_bump(&mut self, id: u32) {
        let class = self.class_of(id);
        if self.classes[class].head != id {
            self.lru_unlink(id);
            self.lru_push(id);
        }
    }

    /// Chunk ids of every slot of `page` that holds a linked item, found by walking the LRU of
    /// its class (free chunks are not on it).
    pub(crate) fn items_in_page(&self, page: u32) -> Vec<u32> {
        let class = usize::from(self.page_class[page as usize]);
        let mut ids = Vec::new();
        let mut id = self.classes[class].head;
        while id != NIL {
            if id >> self.shift == page {
                ids.push(id);
            }
            id = self.chunk(id).next();
        }
        ids
    }

    /// Move an emptied page to another class. Its chunks must hold no linked item.
    pub(crate) fn reassign_page(&mut self, page: u32, to: usize) {
        let from = usize::from(self.page_class[page as usize]);
        // Drop the page's chunks from the old class's free list and carving position.
        let shift = self.shift;
        let mut kept = NIL;
        let mut kept_count = 0;
        let mut id = self.classes[from].free;
        let mut order = Vec::new();
        while id != NIL {
            let next = {
                let chunk = self.chunk(id);
                let mut b = [0u8; 4];
                b.copy_from_slice(&chunk[..4]);
                u32::from_le_bytes(b)
            };
            if id >> shift != page {
                order.push(id);
            }
            id = next;
        }
        for id in order.into_iter().rev() {
            self.chunk_mut(id)[..4].copy_from_slice(&kept.to_le_bytes());
            kept = id;
            kept_count += 1;
        }
        let c = &mut self.classes[from];
        c.free = kept;
        c.free_chunks = kept_count;
        if c.carving.is_some_and(|(p, _)| p == page) {
            c.carving = None;
        }
        c.pages.retain(|&p| p != page);
        self.page_class[page as usize] = to as u8;
        let per_page = (self.page_size / self.classes[to].chunk_size) as u32;
        let t = &mut self.classes[to];
        t.pages.push(page);
        // Hand the page out through the free list of its new class.
        for slot in (0..per_page).rev() {
            let id = page << shift | slot;
            let head = self.classes[to].free;
            self.chunk_mut(id)[..4].copy_from_slice(&head.to_le_bytes());
            self.classes[to].free = id;
            self.classes[to].free_chunks += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::item;

    #[test]
    fn classes_fit_small_items_tightly() {
        let slabs = Slabs::new(DEFAULT_PAGE_SIZE, 64);
        // A 16-byte key with a 32-byte value.
        let class = slabs.class_for(item::size(16, 32)).expect("fits");
        assert_eq!(slabs.classes()[class].chunk_size, 88);
        assert_eq!(
            slabs.classes().last().map(|c| c.chunk_size),
            Some(DEFAULT_PAGE_SIZE)
        );
        assert!(slabs.class_for(DEFAULT_PAGE_SIZE + 1).is_none());
        assert!(slabs.classes().len() < 255);
    }

    #[test]
    fn allocation_respects_the_page_budget() {
        let mut slabs = Slabs::new(4096, 2);
        let class = slabs.class_for(1000).expect("class");
        let per_page = 4096 / slabs.classes()[class].chunk_size;
        let ids: Vec<u32> = (0..2 * per_page)
            .map(|_| slabs.alloc(class).expect("within budget"))
            .collect();
        assert_eq!(slabs.alloc(class), None, "budget exhausted");
        slabs.free(ids[3]);
        assert_eq!(slabs.alloc(class), Some(ids[3]));
    }

    #[test]
    fn lru_orders_by_use() {
        let mut slabs = Slabs::new(4096, 1);
        let class = slabs.class_for(60).expect("class");
        let a = slabs.alloc(class).expect("a");
        let b = slabs.alloc(class).expect("b");
        let c = slabs.alloc(class).expect("c");
        for id in [a, b, c] {
            slabs.lru_push(id);
        }
        assert_eq!(slabs.classes()[class].tail, a);
        slabs.lru_bump(a);
        assert_eq!(slabs.classes()[class].tail, b);
        slabs.lru_unlink(b);
        assert_eq!(slabs.classes()[class].tail, c);
        assert_eq!(slabs.classes()[class].head, a);
        assert_eq!(slabs.classes()[class].items, 2);
    }
}
