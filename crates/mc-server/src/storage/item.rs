//! The layout of an item inside its slab chunk.
//!
//! ```text
//! 0      4      8          16       20      24      28         32     33     34
//! | prev | next |   cas    | exptime| atime | flags | value_len| klen | state| key | value |
//! ```
//!
//! 34 bytes of header: the LRU links are 32-bit chunk ids rather than pointers, and times are
//! 32-bit seconds of the server clock, as in memcached. An item with a 16-byte key and a 32-byte
//! value takes 82 bytes and lives in an 88-byte chunk (memcached 1.6 needs a 120-byte one).

/// Bytes of header before the key.
pub(crate) const HEADER: usize = 34;

const PREV: usize = 0;
const NEXT: usize = 4;
const CAS: usize = 8;
const EXPTIME: usize = 16;
const ATIME: usize = 20;
const FLAGS: usize = 24;
const VALUE_LEN: usize = 28;
const KEY_LEN: usize = 32;
const STATE: usize = 33;

/// `state` bit: the item has been read since it was stored (`mg h`, `me fetch=`).
pub(crate) const FETCHED: u8 = 1;
/// `state` bit: a client won the right to recache this item (meta `W`/`Z` flags).
pub const TOKEN_SENT: u8 = 2;
/// `state` bit: the item was invalidated (`md I`) and is served stale (meta `X` flag).
pub const STALE: u8 = 4;
/// `state` bit: the chunk holds a linked item (free chunks have it clear), so a scan over a
/// page's chunks can tell items from free space.
pub(crate) const LINKED: u8 = 8;

/// Total bytes an item needs in a chunk.
pub(crate) fn size(key_len: usize, value_len: usize) -> usize {
    HEADER + key_len + value_len
}

fn u32_at(chunk: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&chunk[at..at + 4]);
    u32::from_le_bytes(b)
}

fn set_u32(chunk: &mut [u8], at: usize, v: u32) {
    chunk[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

/// Read access to an item's fields.
pub(crate) trait ItemRead {
    fn bytes(&self) -> &[u8];

    fn prev(&self) -> u32 {
        u32_at(self.bytes(), PREV)
    }
    fn next(&self) -> u32 {
        u32_at(self.bytes(), NEXT)
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
        u32_at(self.bytes(), FLAGS)
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
        &self.bytes()[HEADER..HEADER + self.key_len()]
    }
    fn value(&self) -> &[u8] {
        let start = HEADER + self.key_len();
        &self.bytes()[start..start + self.value_len()]
    }
    fn total_size(&self) -> usize {
        size(self.key_len(), self.value_len())
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

    fn set_prev(&mut self, v: u32) {
        set_u32(self.bytes_mut(), PREV, v);
    }
    fn set_next(&mut self, v: u32) {
        set_u32(self.bytes_mut(), NEXT, v);
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
    fn set_flags(&mut self, v: u32) {
        set_u32(self.bytes_mut(), FLAGS, v);
    }
    fn set_state(&mut self, v: u8) {
        self.bytes_mut()[STATE] = v;
    }
    /// Write key and value lengths and the key, and mark the chunk linked; the value is written
    /// with [`ItemWrite::value_mut`].
    fn init(&mut self, key: &[u8], value_len: usize) {
        let b = self.bytes_mut();
        set_u32(b, VALUE_LEN, value_len as u32);
        b[KEY_LEN] = key.len() as u8;
        b[STATE] = LINKED;
        b[HEADER..HEADER + key.len()].copy_from_slice(key);
    }
    fn value_mut(&mut self) -> &mut [u8] {
        let b = self.bytes_mut();
        let start = HEADER + usize::from(b[KEY_LEN]);
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
        let mut chunk = vec![0u8; 128];
        let c = chunk.as_mut_slice();
        c.init(b"key", 5);
        c.value_mut().copy_from_slice(b"value");
        c.set_cas(u64::MAX - 1);
        c.set_exptime(7);
        c.set_atime(9);
        c.set_flags(0xdead_beef);
        c.set_prev(1);
        c.set_next(2);
        c.set_state(FETCHED);
        let c: &[u8] = c;
        assert_eq!(c.key(), b"key");
        assert_eq!(c.value(), b"value");
        assert_eq!(
            (c.cas(), c.exptime(), c.atime(), c.flags()),
            (u64::MAX - 1, 7, 9, 0xdead_beef)
        );
        assert_eq!((c.prev(), c.next(), c.state()), (1, 2, FETCHED));
        assert_eq!(c.total_size(), HEADER + 8);
    }
}
