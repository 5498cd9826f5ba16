//! The hash index: open addressing with linear probing, 8 bytes a slot.
//!
//! A slot holds the upper 32 bits of the key's hash (the tag) and the item's chunk id plus one
//! (zero marks an empty slot). The tag picks the home slot, so the table can grow without reading
//! a single key, and it screens out almost every non-matching slot before a key is compared.
//! Deletion shifts later entries back instead of leaving tombstones.

const MIN_CAPACITY: usize = 1 << 12;

/// Maps key hashes to chunk ids.
#[derive(Debug)]
pub(crate) struct Index {
    slots: Vec<u64>,
    mask: usize,
    len: usize,
}

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
            mask: MIN_CAPACITY - 1,
            len: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Bytes the table occupies.
    /// Slots in the table.
    pub(crate) fn capacity(&self) -> usize {
        self.slots.len()
    }

    pub(crate) fn memory(&self) -> usize {
        self.slots.len() * std::mem::size_of::<u64>()
    }

    fn home(&self, tag: u32) -> usize {
        tag as usize & self.mask
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
            pos = (pos + 1) & self.mask;
        }
    }

    /// Add an entry (the key must not be present).
    pub(crate) fn insert(&mut self, tag: u32, id: u32) {
        if (self.len + 1) * 8 > self.slots.len() * 7 {
            self.grow();
        }
        let mut pos = self.home(tag);
        while self.slots[pos] != 0 {
            pos = (pos + 1) & self.mask;
        }
        self.slots[pos] = entry(tag, id);
        self.len += 1;
    }

    /// Point an existing entry at another chunk.
    #[cfg(test)]
    pub(crate) fn replace_at(&mut self, pos: usize, id: u32) {
        let tag = tag_of(self.slots[pos]);
        self.slots[pos] = entry(tag, id);
    }

    /// Remove the entry in slot `pos`, shifting back the entries that probed past it.
    pub(crate) fn remove_at(&mut self, mut pos: usize) {
        self.slots[pos] = 0;
        self.len -= 1;
        let mut next = (pos + 1) & self.mask;
        while self.slots[next] != 0 {
            let home = self.home(tag_of(self.slots[next]));
            // Move the entry back when its home is not in (pos, next] (cyclically).
            let distance_to_next = next.wrapping_sub(home) & self.mask;
            let distance_to_pos = pos.wrapping_sub(home) & self.mask;
            if distance_to_pos < distance_to_next {
                self.slots[pos] = self.slots[next];
                self.slots[next] = 0;
                pos = next;
            }
            next = (next + 1) & self.mask;
        }
    }

    fn grow(&mut self) {
        let doubled = vec![0; self.slots.len() * 2];
        let old = std::mem::replace(&mut self.slots, doubled);
        self.mask = self.slots.len() - 1;
        for slot in old.into_iter().filter(|&s| s != 0) {
            let mut pos = self.home(tag_of(slot));
            while self.slots[pos] != 0 {
                pos = (pos + 1) & self.mask;
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
