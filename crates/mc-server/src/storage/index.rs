//! The hash index: open addressing with linear probing, 8 bytes a slot.
//!
//! A slot holds the upper 32 bits of the key's hash (the tag) and the item's chunk id plus one
//! (zero marks an empty slot). The tag picks the home slot, so the table can grow without reading
//! a single key, and it screens out almost every non-matching slot before a key is compared.
//! Deletion shifts later entries back instead of leaving tombstones.
//!
//! The home slot is the tag scaled to the table (`tag * capacity >> 32`) rather than masked, so
//! the capacity need not be a power of two: the table grows by an eighth at a time, and a full
//! table of small items holds 8/7 to 9/7 slots per item instead of up to 16/7. The index lives
//! outside `-m` (as memcached's hash table does), so this is memory the operator does not see
//! in `-m` and `stats` reports as `hash_bytes`.

const MIN_CAPACITY: usize = 1 << 12;

/// Entries per slot at most, as a fraction: 7/8.
const MAX_LOAD: (usize, usize) = (7, 8);

/// Maps key hashes to chunk ids.
#[derive(Debug)]
pub(crate) struct Index {
    slots: Vec<u64>,
    /// Entries: on a cache line of its own, as writes change it and lookups never read it.
    len: Counted,
}

/// A count kept off its neighbours' cache lines.
#[derive(Debug, Default)]
#[repr(align(128))]
struct Counted(usize);

fn entry(tag: u32, id: u32) -> u64 {
    (u64::from(tag) << 32) | u64::from(id + 1)
}

fn tag_of(slot: u64) -> u32 {
    (slot >> 32) as u32
}

fn id_of(slot: u64) -> u32 {
    (slot as u32).wrapping_sub(1)
}

impl Index {
    pub(crate) fn new() -> Index {
        Index {
            slots: vec![0; MIN_CAPACITY],
            len: Counted(0),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len.0
    }

    /// Slots in the table.
    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }

    /// Bytes the table occupies.
    pub(crate) fn memory(&self) -> usize {
        self.slots.len() * std::mem::size_of::<u64>()
    }

    fn home(&self, tag: u32) -> usize {
        ((u64::from(tag) * self.slots.len() as u64) >> 32) as usize
    }

    /// The slot after `pos`, wrapping around.
    fn after(&self, pos: usize) -> usize {
        if pos + 1 == self.slots.len() {
            0
        } else {
            pos + 1
        }
    }

    /// How far `pos` lies past `home`, going round the table.
    fn distance(&self, home: usize, pos: usize) -> usize {
        if pos >= home {
            pos - home
        } else {
            pos + self.slots.len() - home
        }
    }

    /// Find the entry with `tag` whose item `is_match` accepts; returns its slot and chunk id.
    pub(crate) fn find(
        &self,
        tag: u32,
        mut is_match: impl FnMut(u32) -> bool,
    ) -> Option<(usize, u32)> {
        let mut pos = self.home(tag);
        loop {
            let slot = self.slots[pos];
            if slot == 0 {
                return None;
            }
            if tag_of(slot) == tag && is_match(id_of(slot)) {
                return Some((pos, id_of(slot)));
            }
            pos = self.after(pos);
        }
    }

    /// Add an entry (the key must not be present).
    pub(crate) fn insert(&mut self, tag: u32, id: u32) {
        if (self.len.0 + 1) * MAX_LOAD.1 > self.slots.len() * MAX_LOAD.0 {
            self.grow();
        }
        let mut pos = self.home(tag);
        while self.slots[pos] != 0 {
            pos = self.after(pos);
        }
        self.slots[pos] = entry(tag, id);
        self.len.0 += 1;
    }

    /// Point an existing entry at another chunk.
    pub(crate) fn replace_at(&mut self, pos: usize, id: u32) {
        let tag = tag_of(self.slots[pos]);
        self.slots[pos] = entry(tag, id);
    }

    /// Remove the entry in slot `pos`, shifting back the entries that probed past it.
    pub(crate) fn remove_at(&mut self, mut pos: usize) {
        self.slots[pos] = 0;
        self.len.0 -= 1;
        let mut next = self.after(pos);
        while self.slots[next] != 0 {
            let home = self.home(tag_of(self.slots[next]));
            // Move the entry back when its home is not in (pos, next] (cyclically).
            if self.distance(home, pos) < self.distance(home, next) {
                self.slots[pos] = self.slots[next];
                self.slots[next] = 0;
                pos = next;
            }
            next = self.after(next);
        }
    }

    /// Grow by an eighth, rounded up to a whole cache line of slots.
    fn grow(&mut self) {
        let grown = (self.slots.len() + self.slots.len() / 8).next_multiple_of(8);
        let old = std::mem::replace(&mut self.slots, vec![0; grown]);
        for slot in old.into_iter().filter(|&s| s != 0) {
            let mut pos = self.home(tag_of(slot));
            while self.slots[pos] != 0 {
                pos = self.after(pos);
            }
            self.slots[pos] = slot;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn behaves_like_a_map_under_churn() {
        let mut index = Index::new();
        let mut model: HashMap<u32, u32> = HashMap::new();
        let mut x: u64 = 1;
        for step in 0..200_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Few distinct tags force long probe chains and collisions.
            let tag = (x % 5000) as u32 | ((x as u32 % 3) << 30);
            let found = index.find(tag, |_| true);
            assert_eq!(found.map(|f| f.1), model.get(&tag).copied(), "step {step}");
            match (found, x % 3) {
                (Some((pos, _)), 0) => {
                    index.remove_at(pos);
                    model.remove(&tag);
                }
                (Some((pos, _)), _) => {
                    index.replace_at(pos, step);
                    model.insert(tag, step);
                }
                (None, _) => {
                    index.insert(tag, step);
                    model.insert(tag, step);
                }
            }
            assert_eq!(index.len(), model.len());
        }
        for (tag, id) in &model {
            assert_eq!(index.find(*tag, |_| true).map(|f| f.1), Some(*id));
        }
    }
}
