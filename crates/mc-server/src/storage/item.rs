//! The layout of an item inside its slab chunk.
//!
//! ```text
//! 0       8         12      16          20     21      22                 22 or 26
//! |  cas  | exptime | atime | value_len | klen | state | flags (if not 0) | key | value |
//! ```
//!
//! 22 bytes of header, 26 when the client flags are not zero. There are no LRU links: eviction
//! is a CLOCK sweep over each class's chunks (see `slab`), so a hit sets the [`REFERENCED`]
//! bit of its own item instead of relinking two neighbours. That bit and [`FETCHED`], the two
//! things a read records, are not in the chunk but in a byte per chunk beside the page (the
//! access bits, see `Slabs::access`): atomic, so that reads sharing a store can set them. Times are 32-bit
//! seconds of the server clock, as in memcached. An item with a 16-byte key and a 32-byte value
//! takes 70 bytes and lives in a 72-byte chunk (memcached 1.6 needs a 120-byte one).
//!
//! A free chunk keeps the next free chunk's id in its first four bytes and has a clear state
//! byte, so a page scan tells free chunks from items by [`LINKED`].

/// Bytes of header before the key (or before the flags, when the item has them).
pub(crate) const HEADER: usize = 22;

/// Bytes the client flags take when they are not zero.
const FLAGS_LEN: usize = 4;

const CAS: usize = 0;
const EXPTIME: usize = 8;
const ATIME: usize = 12;
const VALUE_LEN: usize = 16;
const KEY_LEN: usize = 20;
const STATE: usize = 21;
const FLAGS: usize = HEADER;

/// Access bit: the item has been read since it was stored (`mg h`, `me fetch=`).
pub(crate) const FETCHED: u8 = 1;

/// How old an item's last-access time may get before a read refreshes it, in seconds:
/// memcached's `ITEM_UPDATE_INTERVAL`, for the same reason. A read inside it changes nothing in
/// the item (its access bits live beside the page), so it shares the shard with other readers;
/// otherwise nearly every read of a busy cache would need the shard to itself once a second.
/// The price is memcached's too: `mg ... l`, metadump's `la` and `evicted_time` are exact only
/// to this interval.
pub(crate) const ATIME_UPDATE_INTERVAL: u32 = 60;
/// `state` bit: a client won the right to recache this item (meta `W`/`Z` flags).
pub const TOKEN_SENT: u8 = 2;
/// `state` bit: the item was invalidated (`md I`) and is served stale (meta `X` flag).
pub const STALE: u8 = 4;
/// `state` bit: the chunk holds a linked item (free chunks have it clear), so a scan over a
/// page's chunks can tell items from free space.
pub(crate) const LINKED: u8 = 8;
/// Access bit: the item was used since the CLOCK hand last passed it, and gets a second
/// chance when the hand comes back.
pub(crate) const REFERENCED: u8 = 16;
/// `state` bit: the item carries four bytes of client flags after the header.
const HAS_FLAGS: u8 = 32;

/// The state bits that describe the item to meta commands (the rest are the store's own).
pub(crate) const META_BITS: u8 = TOKEN_SENT | STALE;

/// Total bytes an item needs in a chunk.
pub(crate) fn size(key_len: usize, value_len: usize, flags: u32) -> usize {
    HEADER + flags_len(flags) + key_len + value_len
}

fn flags_len(flags: u32) -> usize {
    if flags == 0 {
        0
    } else {
        FLAGS_LEN
    }
}

fn u32_at(chunk: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&chunk[at..at + 4]);
    u32::from_le_bytes(b)
}

fn set_u32(chunk: &mut [u8], at: usize, v: u32) {
    chunk[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn key_start(chunk: &[u8]) -> usize {
    if chunk[STATE] & HAS_FLAGS != 0 {
        HEADER + FLAGS_LEN
    } else {
        HEADER
    }
}

/// Read access to an item's fields.
pub(crate) trait ItemRead {
    fn bytes(&self) -> &[u8];

    /// A free chunk's link to the next free chunk.
    fn free_next(&self) -> u32 {
        u32_at(self.bytes(), CAS)
    }
    fn cas(&self) -> u64 {
        let mut b = [0u8; 8];
        b.copy_from_slice(&self.bytes()[CAS..CAS + 8]);
        u64::from_le_bytes(b)
    }
    fn exptime(&self) -> u32 {
        u32_at(self.bytes(), EXPTIME)
    }
    fn atime(&self) -> u32 {
        u32_at(self.bytes(), ATIME)
    }
    fn flags(&self) -> u32 {
        let b = self.bytes();
        if b[STATE] & HAS_FLAGS != 0 {
            u32_at(b, FLAGS)
        } else {
            0
        }
    }
    fn value_len(&self) -> usize {
        u32_at(self.bytes(), VALUE_LEN) as usize
    }
    fn key_len(&self) -> usize {
        usize::from(self.bytes()[KEY_LEN])
    }
    fn state(&self) -> u8 {
        self.bytes()[STATE]
    }
    fn key(&self) -> &[u8] {
        let b = self.bytes();
        let start = key_start(b);
        &b[start..start + self.key_len()]
    }
    fn value(&self) -> &[u8] {
        let b = self.bytes();
        let start = key_start(b) + self.key_len();
        &b[start..start + self.value_len()]
    }
    fn total_size(&self) -> usize {
        key_start(self.bytes()) + self.key_len() + self.value_len()
    }
}

impl ItemRead for [u8] {
    fn bytes(&self) -> &[u8] {
        self
    }
}

/// Write access to an item's fields.
pub(crate) trait ItemWrite {
    fn bytes_mut(&mut self) -> &mut [u8];

    /// Make this a free chunk linking to `next`.
    fn set_free(&mut self, next: u32) {
        let b = self.bytes_mut();
        set_u32(b, CAS, next);
        b[STATE] = 0;
    }
    fn set_cas(&mut self, v: u64) {
        self.bytes_mut()[CAS..CAS + 8].copy_from_slice(&v.to_le_bytes());
    }
    fn set_exptime(&mut self, v: u32) {
        set_u32(self.bytes_mut(), EXPTIME, v);
    }
    fn set_atime(&mut self, v: u32) {
        set_u32(self.bytes_mut(), ATIME, v);
    }
    fn set_state(&mut self, v: u8) {
        self.bytes_mut()[STATE] = v;
    }
    /// Write the lengths, the flags and the key, and mark the chunk linked; the value is
    /// written with [`ItemWrite::value_mut`].
    fn init(&mut self, key: &[u8], value_len: usize, flags: u32) {
        let b = self.bytes_mut();
        set_u32(b, VALUE_LEN, value_len as u32);
        b[KEY_LEN] = key.len() as u8;
        let start = if flags == 0 {
            b[STATE] = LINKED;
            HEADER
        } else {
            b[STATE] = LINKED | HAS_FLAGS;
            set_u32(b, FLAGS, flags);
            HEADER + FLAGS_LEN
        };
        b[start..start + key.len()].copy_from_slice(key);
    }
    fn value_mut(&mut self) -> &mut [u8] {
        let b = self.bytes_mut();
        let start = key_start(b) + usize::from(b[KEY_LEN]);
        let len = u32_at(b, VALUE_LEN) as usize;
        &mut b[start..start + len]
    }
}

impl ItemWrite for [u8] {
    fn bytes_mut(&mut self) -> &mut [u8] {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip() {
        for flags in [0, 0xdead_beef] {
            let mut chunk = vec![0u8; 128];
            let c = chunk.as_mut_slice();
            c.init(b"key", 5, flags);
            c.value_mut().copy_from_slice(b"value");
            c.set_cas(u64::MAX - 1);
            c.set_exptime(7);
            c.set_atime(9);
            let state = c.state();
            c.set_state(state | STALE);
            let c: &[u8] = c;
            assert_eq!(c.key(), b"key");
            assert_eq!(c.value(), b"value");
            assert_eq!(
                (c.cas(), c.exptime(), c.atime(), c.flags()),
                (u64::MAX - 1, 7, 9, flags)
            );
            assert_eq!(c.state() & (STALE | LINKED), STALE | LINKED);
            assert_eq!(c.total_size(), size(3, 5, flags));
        }
    }

    #[test]
    fn flags_cost_bytes_only_when_set() {
        assert_eq!(size(16, 32, 0), 70);
        assert_eq!(size(16, 32, 1), 74);
    }

    #[test]
    fn a_freed_chunk_is_not_linked() {
        let mut chunk = vec![0u8; 64];
        let c = chunk.as_mut_slice();
        c.init(b"k", 1, 3);
        c.set_free(42);
        assert_eq!((c.free_next(), c.state() & LINKED), (42, 0));
    }
}
