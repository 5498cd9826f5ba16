//! Slab allocation: memory is taken in 1 MiB pages, each page is cut into equal chunks of one
//! size class, and every class has a CLOCK hand that sweeps its chunks to choose what to evict.
//! Items larger than half a page are allocated one by one at their exact size ("large items")
//! and swept by a hand of their own.
//!
//! This is memcached's slab design, with finer size classes (factor 1.125, 8-byte granularity)
//! so small items waste less of their chunk, and CLOCK instead of LRU lists: an item needs no
//! list links (8 bytes each), and a hit sets one bit in its own item instead of unlinking and
//! relinking it between two neighbours. The hand gives every item that was used since its last
//! pass a second chance, the well-known approximation of LRU. Pages stay 1 MiB whatever `-I` is, as in memcached,
//! so a large `-I` never shrinks how many pages a small `-m` holds; where memcached chains a
//! large item through several chunks, we give it one allocation of its own size, charged to the
//! same `-m` budget.
//!
//! Chunk ids are 32 bits: `page << shift | slot` for chunks in pages, `LARGE | n` for large
//! items. The top bit is reserved for large items, which bounds page memory to
//! [`MAX_PAGE_BYTES`]; the server refuses a larger `-m`.

use std::sync::atomic::AtomicU8;
use std::sync::Arc;

use super::item::{ItemRead, ItemWrite, LINKED};
use super::store_pool::StorePool;

/// "No chunk": the end of a list.
pub(crate) const NIL: u32 = u32::MAX;

/// memcached's slab page size, and the largest page here: a cache cut into shards gives each
/// shard smaller pages (see `StoreConfig::page_size`).
pub const PAGE_SIZE: usize = 1024 * 1024;

/// The smallest page a shard may have.
pub const MIN_PAGE_SIZE: usize = 64 * 1024;

/// The smallest chunk by default: an item header plus a few bytes.
pub(crate) const DEFAULT_MIN_CHUNK: usize = 48;

/// How chunk sizes grow from one class to the next by default (memcached's is 1.25).
pub(crate) const DEFAULT_GROWTH_FACTOR: f64 = 1.125;

/// The smallest chunk any configuration may ask for: the item header, a one-byte key and a
/// few value bytes. (No smaller, so that a page has at most 2^15 chunks and 15 bits of a chunk
/// id number them.)
const MIN_CHUNK: usize = 32;
const _: () = assert!(MIN_CHUNK >= super::item::HEADER + 2);

/// Most slab classes (a page's class is a byte, and one value marks a released page).
const MAX_CLASSES: usize = 250;

/// Ids with this bit set name large items.
const LARGE: u32 = 1 << 31;

/// Page ids must stay below this so that page chunk ids never reach the [`LARGE`] bit.
const MAX_PAGES: usize = (LARGE >> page_shift()) as usize;

/// The most memory pages can address: 64 GiB. `-m` and `cache_memlimit` above it are refused.
pub const MAX_PAGE_BYTES: usize = MAX_PAGES * PAGE_SIZE;

/// Bits of a chunk id that number the slot within its page.
const fn page_shift() -> u32 {
    (PAGE_SIZE / MIN_CHUNK).next_power_of_two().trailing_zeros()
}

/// Chunks [`Slabs::clock_peek`] looks at.
const PEEK_LIMIT: usize = 4096;

/// `page_class` of a page whose memory was given back (it can be taken again).
const NO_CLASS: u8 = u8::MAX;

/// One size class (or, for the last one, the large items).
#[derive(Debug)]
pub(crate) struct Class {
    /// Bytes per chunk (`usize::MAX` for the large items' class).
    pub(crate) chunk_size: usize,
    /// Pages cut into this class's chunks.
    pub(crate) pages: Vec<u32>,
    /// Head of the free list (freed chunks, linked through their first 4 bytes).
    free: u32,
    /// Chunks on the free list.
    pub(crate) free_chunks: usize,
    /// The page being cut, and the next slot in it not yet handed out.
    carving: Option<(u32, u32)>,
    /// The CLOCK hand: an index into `pages` (or, for the large items, a large item number)
    /// and a slot in that page.
    hand: (usize, u32),
    /// Items linked in this class.
    pub(crate) items: usize,
}

impl Class {
    fn new(chunk_size: usize) -> Class {
        Class {
            chunk_size,
            pages: Vec::new(),
            free: NIL,
            free_chunks: 0,
            carving: None,
            hand: (0, 0),
            items: 0,
        }
    }
}

/// The chunk sizes of the slab classes, smallest first, each a multiple of 8: explicit sizes,
/// or from the smallest chunk growing by the factor; the last is `slab_chunk_max` (clamped to
/// half a page at most, so that every page holds at least two chunks).
fn chunk_sizes(config: &super::StoreConfig) -> Vec<usize> {
    let largest = config
        .slab_chunk_max
        .clamp(MIN_CHUNK, page_size(config) / 2)
        / 8
        * 8;
    let mut sizes: Vec<usize> = match &config.slab_sizes {
        Some(explicit) => explicit
            .iter()
            .map(|&s| s.max(MIN_CHUNK).div_ceil(8) * 8)
            .filter(|&s| s < largest)
            .collect(),
        None => {
            let factor = if config.growth_factor > 1.0 {
                config.growth_factor
            } else {
                DEFAULT_GROWTH_FACTOR
            };
            let mut sizes = Vec::new();
            let mut size = config.min_chunk.max(MIN_CHUNK).div_ceil(8) * 8;
            while size < largest && sizes.len() < MAX_CLASSES - 1 {
                sizes.push(size);
                let grown = ((size as f64 * factor) as usize).div_ceil(8) * 8;
                size = grown.max(size + 8);
            }
            sizes
        }
    };
    sizes.dedup();
    sizes.truncate(MAX_CLASSES - 1);
    sizes.push(largest);
    sizes
}

/// `n` clear access bytes.
fn access_bits(n: usize) -> Box<[AtomicU8]> {
    (0..n).map(|_| AtomicU8::new(0)).collect()
}

/// The page size `config` asks for, within [`MIN_PAGE_SIZE`] and [`PAGE_SIZE`].
fn page_size(config: &super::StoreConfig) -> usize {
    config.page_size.clamp(MIN_PAGE_SIZE, PAGE_SIZE)
}

/// All pages, classes and large items of one shard, within the budget its cache shares.
#[derive(Debug)]
pub(crate) struct Slabs {
    /// The budget (`-m`) shared with the cache's other shards.
    pool: Arc<StorePool>,
    /// Bytes per page.
    page_size: usize,
    pages: Vec<Box<[u8]>>,
    /// Each page's access bits, a byte per chunk (see [`Slabs::access`]).
    access: Vec<Box<[AtomicU8]>>,
    /// Which class owns each page ([`NO_CLASS`] once its memory was given back).
    page_class: Vec<u8>,
    /// Pages whose memory was given back, to be taken again before new ones.
    released_pages: Vec<u32>,
    /// Large items by number; an empty slot is free.
    large: Vec<Box<[u8]>>,
    /// The large items' access bits.
    large_access: Vec<AtomicU8>,
    /// Free numbers in `large`.
    large_free: Vec<u32>,
    /// Bytes held by large items.
    large_bytes: usize,
    /// The slab classes, then the large items' class.
    classes: Vec<Class>,
    /// Each class's chunk size, apart from the classes' state that writes change: a lookup
    /// reads it to find a chunk, and a write elsewhere in the class does not evict it.
    chunk_sizes: Box<[usize]>,
}

impl Slabs {
    /// Empty slabs for `config`, taking memory from `pool`.
    pub(crate) fn new(config: &super::StoreConfig, pool: Arc<StorePool>) -> Slabs {
        let classes: Vec<Class> = chunk_sizes(config)
            .into_iter()
            .map(Class::new)
            // Large items have no chunk size of their own.
            .chain(std::iter::once(Class::new(usize::MAX)))
            .collect();
        let sizes = classes.iter().map(|c| c.chunk_size).collect();
        Slabs {
            pool,
            page_size: page_size(config),
            pages: Vec::new(),
            access: Vec::new(),
            page_class: Vec::new(),
            released_pages: Vec::new(),
            large: Vec::new(),
            large_access: Vec::new(),
            large_free: Vec::new(),
            large_bytes: 0,
            classes,
            chunk_sizes: sizes,
        }
    }

    pub(crate) fn page_size(&self) -> usize {
        self.page_size
    }

    /// Pages in use.
    /// Pages given back and not yet taken again (no class owns them).
    pub(crate) fn free_pages(&self) -> usize {
        self.released_pages.len()
    }

    pub(crate) fn pages_used(&self) -> usize {
        self.pages.len() - self.released_pages.len()
    }

    /// Bytes held by pages and large items: what counts against the budget.
    pub(crate) fn used_bytes(&self) -> usize {
        self.pages_used() * self.page_size + self.large_bytes
    }

    /// Chunks in a page of slab class `class`. A page's budget pays for its chunks and their
    /// access bits (a byte each): `page_size / (chunk_size + 1)` of them.
    pub(crate) fn chunks_per_page(&self, class: usize) -> u32 {
        (self.page_size / self.chunk_sizes[class].saturating_add(1)) as u32
    }

    /// Bytes held by large items.
    pub(crate) fn large_bytes(&self) -> usize {
        self.large_bytes
    }

    pub(crate) fn classes(&self) -> &[Class] {
        &self.classes
    }

    /// The class of the large items.
    pub(crate) fn large_class(&self) -> usize {
        self.classes.len() - 1
    }

    /// The class for an item of `size` bytes: the smallest slab class it fits, or the large
    /// items' class when it is larger than every chunk.
    pub(crate) fn class_for(&self, size: usize) -> usize {
        let slab_classes = &self.classes[..self.large_class()];
        slab_classes.partition_point(|c| c.chunk_size < size)
    }

    pub(crate) fn class_of(&self, id: u32) -> usize {
        if id & LARGE != 0 {
            self.large_class()
        } else {
            usize::from(self.page_class[(id >> page_shift()) as usize])
        }
    }

    /// The page a chunk lives in (`None` for a large item).
    pub(crate) fn page_of(&self, id: u32) -> Option<u32> {
        (id & LARGE == 0).then_some(id >> page_shift())
    }

    fn page_range(&self, id: u32) -> (usize, std::ops::Range<usize>) {
        let page = (id >> page_shift()) as usize;
        let slot = (id & ((1 << page_shift()) - 1)) as usize;
        let size = self.chunk_sizes[usize::from(self.page_class[page])];
        (page, slot * size..(slot + 1) * size)
    }

    pub(crate) fn chunk(&self, id: u32) -> &[u8] {
        if id & LARGE != 0 {
            return &self.large[(id & !LARGE) as usize];
        }
        let (page, range) = self.page_range(id);
        &self.pages[page][range]
    }

    /// A chunk's access bits ([`FETCHED`](super::item::FETCHED),
    /// [`REFERENCED`](super::item::REFERENCED)): what a read records. Atomic (relaxed: they
    /// order nothing), so that readers sharing the store set them without exclusive access.
    pub(crate) fn access(&self, id: u32) -> &AtomicU8 {
        if id & LARGE != 0 {
            return &self.large_access[(id & !LARGE) as usize];
        }
        let page = (id >> page_shift()) as usize;
        let slot = (id & ((1 << page_shift()) - 1)) as usize;
        &self.access[page][slot]
    }

    pub(crate) fn chunk_mut(&mut self, id: u32) -> &mut [u8] {
        if id & LARGE != 0 {
            return &mut self.large[(id & !LARGE) as usize];
        }
        let (page, range) = self.page_range(id);
        &mut self.pages[page][range]
    }

    /// A free chunk for an item of `size` bytes in class `class` (see [`Slabs::class_for`]),
    /// without evicting anything: from the free list, the page being cut, a new page or a new
    /// large allocation while the budget allows.
    pub(crate) fn alloc(&mut self, class: usize, size: usize) -> Option<u32> {
        if class == self.large_class() {
            return self.alloc_large(size);
        }
        let per_page = self.chunks_per_page(class);
        let c = &mut self.classes[class];
        if c.free != NIL {
            let id = c.free;
            c.free_chunks -= 1;
            let next = self.chunk(id).free_next();
            self.classes[class].free = next;
            return Some(id);
        }
        if let Some((page, slot)) = c.carving {
            c.carving = (slot + 1 < per_page).then_some((page, slot + 1));
            return Some(page << page_shift() | slot);
        }
        let page = self.new_page(class)?;
        self.classes[class].carving = (per_page > 1).then_some((page, 1));
        Some(page << page_shift())
    }

    fn alloc_large(&mut self, size: usize) -> Option<u32> {
        if !self.pool.reserve(size) {
            return None;
        }
        let memory = vec![0u8; size].into_boxed_slice();
        self.large_bytes += size;
        let n = match self.large_free.pop() {
            Some(n) => {
                self.large[n as usize] = memory;
                n
            }
            None => {
                self.large.push(memory);
                self.large_access.push(AtomicU8::new(0));
                (self.large.len() - 1) as u32
            }
        };
        Some(LARGE | n)
    }

    fn new_page(&mut self, class: usize) -> Option<u32> {
        if self.released_pages.is_empty() && self.pages.len() >= MAX_PAGES {
            return None;
        }
        if !self.pool.reserve(self.page_size) {
            return None;
        }
        let chunks = self.chunks_per_page(class) as usize;
        // calloc-backed: the kernel hands out zero pages lazily, so RSS grows with use, and
        // every chunk of a new page starts with its state byte clear (not linked).
        let memory = vec![0u8; chunks * self.chunk_sizes[class]].into_boxed_slice();
        let page = match self.released_pages.pop() {
            Some(page) => {
                self.pages[page as usize] = memory;
                self.access[page as usize] = access_bits(chunks);
                self.page_class[page as usize] = class as u8;
                page
            }
            None => {
                self.pages.push(memory);
                self.access.push(access_bits(chunks));
                self.page_class.push(class as u8);
                (self.pages.len() - 1) as u32
            }
        };
        self.classes[class].pages.push(page);
        Some(page)
    }

    /// Give a chunk back: a page chunk goes to its class's free list, a large item's memory to
    /// the system. The item must already be off its LRU.
    pub(crate) fn free(&mut self, id: u32) {
        if id & LARGE != 0 {
            let n = id & !LARGE;
            let memory = std::mem::take(&mut self.large[n as usize]);
            self.large_bytes -= memory.len();
            self.pool.release(memory.len());
            self.large_free.push(n);
            return;
        }
        let class = self.class_of(id);
        let head = self.classes[class].free;
        self.chunk_mut(id).set_free(head);
        let c = &mut self.classes[class];
        c.free = id;
        c.free_chunks += 1;
    }

    /// Count an item linked in its class.
    pub(crate) fn count_linked(&mut self, id: u32) {
        let class = self.class_of(id);
        self.classes[class].items += 1;
    }

    /// Count an item unlinked from its class.
    pub(crate) fn count_unlinked(&mut self, id: u32) {
        let class = self.class_of(id);
        self.classes[class].items -= 1;
    }

    /// The linked item under `class`'s CLOCK hand, moving the hand past it; `None` when the
    /// class holds no item. Looks at no more chunks than the class has, plus one.
    pub(crate) fn clock_advance(&mut self, class: usize) -> Option<u32> {
        let (id, hand) = self.clock_find(class, usize::MAX)?;
        self.classes[class].hand = hand;
        Some(id)
    }

    /// The linked item under `class`'s CLOCK hand, without moving it: the next one the hand
    /// will judge. Looks at no more than [`PEEK_LIMIT`] chunks (a class emptied by a flush may
    /// hold long runs of free chunks).
    pub(crate) fn clock_peek(&self, class: usize) -> Option<u32> {
        self.clock_find(class, PEEK_LIMIT).map(|(id, _)| id)
    }

    /// The first linked chunk at or after the hand, looking at no more than `limit` chunks,
    /// and the hand position just past it.
    fn clock_find(&self, class: usize, limit: usize) -> Option<(u32, (usize, u32))> {
        let c = &self.classes[class];
        if c.items == 0 {
            return None;
        }
        if class == self.large_class() {
            let count = self.large.len();
            let start = c.hand.0 % count.max(1);
            return (0..count.min(limit))
                .map(|i| (start + i) % count)
                .find_map(|n| {
                    (!self.large[n].is_empty()).then(|| (LARGE | n as u32, ((n + 1) % count, 0)))
                });
        }
        let per_page = self.chunks_per_page(class);
        let pages = c.pages.len();
        let (mut index, mut slot) = c.hand;
        if index >= pages {
            (index, slot) = (0, 0);
        }
        for _ in 0..=(pages * per_page as usize).min(limit) {
            let id = c.pages[index] << page_shift() | slot;
            slot += 1;
            if slot == per_page {
                slot = 0;
                index = (index + 1) % pages;
            }
            if self.chunk(id).state() & LINKED != 0 {
                return Some((id, (index, slot)));
            }
        }
        None
    }

    /// Chunk ids of every slot of `page` that holds a linked item.
    pub(crate) fn items_in_page(&self, page: u32) -> Vec<u32> {
        let class = self.page_class[page as usize];
        if class == NO_CLASS {
            return Vec::new();
        }
        let per_page = self.chunks_per_page(usize::from(class));
        (0..per_page)
            .map(|slot| page << page_shift() | slot)
            .filter(|&id| self.chunk(id).state() & LINKED != 0)
            .collect()
    }

    /// Detach an emptied page from its class: its chunks leave the class's free list and
    /// carving position. Its chunks must hold no linked item.
    fn detach_page(&mut self, page: u32) {
        let from = usize::from(self.page_class[page as usize]);
        let mut kept = Vec::new();
        let mut id = self.classes[from].free;
        while id != NIL {
            if id >> page_shift() != page {
                kept.push(id);
            }
            id = self.chunk(id).free_next();
        }
        let mut head = NIL;
        for &id in kept.iter().rev() {
            self.chunk_mut(id).set_free(head);
            head = id;
        }
        let c = &mut self.classes[from];
        c.free = head;
        c.free_chunks = kept.len();
        if c.carving.is_some_and(|(p, _)| p == page) {
            c.carving = None;
        }
        c.pages.retain(|&p| p != page);
        c.hand = (0, 0);
    }

    /// Move an emptied page to another class.
    pub(crate) fn reassign_page(&mut self, page: u32, to: usize) {
        self.detach_page(page);
        self.page_class[page as usize] = to as u8;
        self.classes[to].pages.push(page);
        // Hand the page out through the free list of its new class. Chunk boundaries move,
        // so every new chunk's state byte is cleared: a scan must not take old item bytes for
        // a linked item.
        let per_page = self.chunks_per_page(to);
        // The page is cut anew: memory for its chunks of the new size and their access bits,
        // within the page's share of the budget as before.
        self.pages[page as usize] =
            vec![0u8; per_page as usize * self.chunk_sizes[to]].into_boxed_slice();
        self.access[page as usize] = access_bits(per_page as usize);
        for slot in (0..per_page).rev() {
            let id = page << page_shift() | slot;
            let head = self.classes[to].free;
            self.chunk_mut(id).set_free(head);
            self.classes[to].free = id;
            self.classes[to].free_chunks += 1;
        }
    }

    /// Give an emptied page's memory back, so that the budget can go to large items.
    pub(crate) fn release_page(&mut self, page: u32) {
        self.detach_page(page);
        self.page_class[page as usize] = NO_CLASS;
        self.pages[page as usize] = Box::default();
        self.access[page as usize] = Box::default();
        self.released_pages.push(page);
        self.pool.release(self.page_size);
    }

    /// The budget this shard draws on.
    pub(crate) fn pool(&self) -> &StorePool {
        &self.pool
    }

    /// A page's class and number of chunks, for scans; `None` for a released page.
    pub(crate) fn page_layout(&self, page: u32) -> Option<(usize, u32)> {
        let class = *self.page_class.get(page as usize)?;
        (class != NO_CLASS).then(|| {
            let class = usize::from(class);
            (class, self.chunks_per_page(class))
        })
    }

    /// The id of chunk `slot` of `page`.
    pub(crate) fn page_chunk(page: u32, slot: u32) -> u32 {
        page << page_shift() | slot
    }

    /// Pages ever taken (including released ones): the bound of a page scan.
    pub(crate) fn page_count(&self) -> u32 {
        self.pages.len() as u32
    }

    /// Large item numbers ever taken: the bound of a large-item scan.
    pub(crate) fn large_count(&self) -> u32 {
        self.large.len() as u32
    }

    /// The id of large item number `n`, if that slot holds one.
    pub(crate) fn large_id(&self, n: u32) -> Option<u32> {
        self.large
            .get(n as usize)
            .filter(|memory| !memory.is_empty())
            .map(|_| LARGE | n)
    }
}

impl Drop for Slabs {
    /// A shard that goes (replaced after a panic, or with its cache) gives its memory back to
    /// the budget the other shards go on drawing from.
    fn drop(&mut self) {
        self.pool.release(self.used_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::{item, StoreConfig};

    fn slabs_of(max_bytes: usize) -> Slabs {
        Slabs::new(
            &StoreConfig::default(),
            Arc::new(StorePool::new(max_bytes, 1)),
        )
    }

    #[test]
    fn classes_fit_small_items_tightly() {
        let slabs = slabs_of(64 * PAGE_SIZE);
        // A 16-byte key with a 32-byte value.
        let class = slabs.class_for(item::size(16, 32, 0));
        assert_eq!(slabs.classes()[class].chunk_size, 72);
        let largest_slab_class = slabs.large_class() - 1;
        assert_eq!(slabs.class_for(PAGE_SIZE / 2), largest_slab_class);
        assert_eq!(slabs.class_for(PAGE_SIZE / 2 + 1), slabs.large_class());
        assert!(slabs.classes().len() < usize::from(NO_CLASS));
    }

    #[test]
    fn classes_follow_the_factor_the_minimum_and_explicit_sizes() {
        let with = |config: StoreConfig| {
            Slabs::new(&config, Arc::new(StorePool::new(PAGE_SIZE, 1)))
                .classes()
                .iter()
                .map(|c| c.chunk_size)
                .collect::<Vec<_>>()
        };
        let memcached_like = with(StoreConfig {
            growth_factor: 1.25,
            min_chunk: 96,
            ..StoreConfig::default()
        });
        assert_eq!(&memcached_like[..4], &[96, 120, 152, 192]);
        assert_eq!(memcached_like[memcached_like.len() - 2], PAGE_SIZE / 2);
        let explicit = with(StoreConfig {
            slab_sizes: Some(vec![100, 200, 300]),
            ..StoreConfig::default()
        });
        assert_eq!(explicit, vec![104, 200, 304, PAGE_SIZE / 2, usize::MAX]);
        let small_max = with(StoreConfig {
            slab_chunk_max: 16 * 1024,
            ..StoreConfig::default()
        });
        assert_eq!(small_max[small_max.len() - 2], 16 * 1024);
    }

    #[test]
    fn ids_cannot_collide() {
        // The last slot of the last addressable page stays below the large-item bit.
        let last = (MAX_PAGES as u32 - 1) << page_shift() | ((PAGE_SIZE / MIN_CHUNK) as u32 - 1);
        assert!(last < LARGE);
        assert_eq!(MAX_PAGE_BYTES, 64 << 30);
    }

    #[test]
    fn allocation_respects_the_budget() {
        let mut slabs = slabs_of(2 * PAGE_SIZE);
        let class = slabs.class_for(100_000);
        let per_page = PAGE_SIZE / slabs.classes()[class].chunk_size;
        let ids: Vec<u32> = (0..2 * per_page)
            .map(|_| slabs.alloc(class, 100_000).expect("within budget"))
            .collect();
        assert_eq!(slabs.alloc(class, 100_000), None, "budget exhausted");
        assert_eq!(slabs.alloc(slabs.large_class(), 600_000), None);
        slabs.free(ids[3]);
        assert_eq!(slabs.alloc(class, 100_000), Some(ids[3]));
    }

    #[test]
    fn large_items_share_the_budget_with_pages() {
        let mut slabs = slabs_of(3 * PAGE_SIZE);
        let large = slabs.large_class();
        let a = slabs.alloc(large, 2 * PAGE_SIZE).expect("fits");
        assert_eq!(slabs.chunk(a).len(), 2 * PAGE_SIZE);
        let small = slabs.class_for(100);
        assert!(slabs.alloc(small, 100).is_some(), "one page left");
        assert_eq!(slabs.alloc(large, PAGE_SIZE), None);
        slabs.free(a);
        assert_eq!(slabs.large_bytes(), 0);
        assert!(slabs.alloc(large, PAGE_SIZE).is_some());
    }

    #[test]
    fn released_pages_are_taken_again() {
        let mut slabs = slabs_of(PAGE_SIZE);
        let class = slabs.class_for(1000);
        let id = slabs.alloc(class, 1000).expect("first page");
        let page = slabs.page_of(id).expect("a page chunk");
        slabs.free(id);
        slabs.release_page(page);
        assert_eq!(slabs.used_bytes(), 0);
        assert_eq!(slabs.page_layout(page), None);
        let other = slabs.class_for(5000);
        let again = slabs.alloc(other, 5000).expect("the page again");
        assert_eq!(slabs.page_of(again), Some(page));
        assert_eq!(slabs.class_of(again), other);
    }

    #[test]
    fn the_clock_hand_sweeps_the_linked_chunks_in_turn() {
        let mut slabs = slabs_of(PAGE_SIZE);
        let class = slabs.class_for(60);
        assert_eq!(slabs.clock_peek(class), None, "no item yet");
        let ids: Vec<u32> = (0..3)
            .map(|_| slabs.alloc(class, 60).expect("room"))
            .collect();
        for &id in &ids {
            slabs.chunk_mut(id).init(b"k", 1, 0);
            slabs.count_linked(id);
        }
        assert_eq!(slabs.clock_peek(class), Some(ids[0]));
        assert_eq!(slabs.clock_advance(class), Some(ids[0]));
        slabs.count_unlinked(ids[1]);
        slabs.free(ids[1]);
        assert_eq!(
            slabs.clock_advance(class),
            Some(ids[2]),
            "free chunks are passed over"
        );
        assert_eq!(
            slabs.clock_advance(class),
            Some(ids[0]),
            "the hand wraps around"
        );
    }
}
