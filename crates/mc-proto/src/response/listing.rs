//! Encoders for the lines of memcached's listings: `STAT name value`, `stats cachedump`'s
//! `ITEM` lines, `stats detail dump`'s `PREFIX` lines and `lru_crawler metadump`'s key lines.
//! They write straight into the output buffer, so a server lists millions of items without
//! building a value per line.

use std::fmt::{Display, Write as _};

use bytes::{BufMut, BytesMut};

use crate::request::put_number;

/// `STAT <name> <value>\r\n`.
pub fn encode_stat(dst: &mut BytesMut, name: impl Display, value: impl Display) {
    // Writing to a BytesMut cannot fail.
    let _ = write!(dst, "STAT {name} {value}\r\n");
}

/// `STAT <name> <value>\r\n` with an ascii-decimal value, without formatting machinery.
pub fn encode_stat_number(dst: &mut BytesMut, name: &[u8], value: impl itoa::Integer) {
    dst.put_slice(b"STAT ");
    dst.put_slice(name);
    dst.put_u8(b' ');
    put_number(dst, value);
    dst.put_slice(b"\r\n");
}

/// `ITEM <key> [<bytes> b; <expiry> s]\r\n` (expiry as a Unix time, 0 for never).
pub fn encode_cachedump_item(dst: &mut BytesMut, key: &[u8], bytes: usize, expiry: i64) {
    dst.put_slice(b"ITEM ");
    dst.put_slice(key);
    dst.put_slice(b" [");
    put_number(dst, bytes);
    dst.put_slice(b" b; ");
    put_number(dst, expiry);
    dst.put_slice(b" s]\r\n");
}

/// The length of [`encode_cachedump_item`]'s line, for a server keeping a listing under a
/// size cap.
pub fn cachedump_item_len(key: &[u8], bytes: usize, expiry: i64) -> usize {
    let digits = |n: i64| {
        n.unsigned_abs()
            .checked_ilog10()
            .map_or(1, |d| d as usize + 1)
            + usize::from(n < 0)
    };
    "ITEM ".len()
        + key.len()
        + " [".len()
        + digits(bytes as i64)
        + " b; ".len()
        + digits(expiry)
        + " s]\r\n".len()
}

/// `PREFIX <prefix> get <n> hit <n> set <n> del <n>\r\n`.
pub fn encode_prefix_stats(
    dst: &mut BytesMut,
    prefix: &[u8],
    gets: u64,
    hits: u64,
    sets: u64,
    deletes: u64,
) {
    dst.put_slice(b"PREFIX ");
    dst.put_slice(prefix);
    for (word, n) in [
        (&b" get "[..], gets),
        (b" hit ", hits),
        (b" set ", sets),
        (b" del ", deletes),
    ] {
        dst.put_slice(word);
        put_number(dst, n);
    }
    dst.put_slice(b"\r\n");
}

/// One `lru_crawler metadump` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetadumpEntry<'a> {
    /// The key (URI-encoded on the wire).
    pub key: &'a [u8],
    /// Expiry as a Unix time, -1 for never.
    pub exp: i64,
    /// Last access as a Unix time.
    pub last_access: i64,
    /// The CAS unique.
    pub cas: u64,
    /// Whether it was read since stored.
    pub fetched: bool,
    /// Its slab class.
    pub class: usize,
    /// Bytes it occupies.
    pub size: usize,
}

/// `key=<uri-encoded> exp=… la=… cas=… fetch=yes|no cls=… size=…\n` (memcached ends these
/// lines with a bare newline).
pub fn encode_metadump_entry(dst: &mut BytesMut, e: &MetadumpEntry<'_>) {
    dst.put_slice(b"key=");
    uri_encode(e.key, dst);
    put_item_fields(dst, e.exp, e.last_access, e.cas, e.fetched, e.class, e.size);
    dst.put_u8(b'\n');
}

/// ` exp=… la=… cas=… fetch=yes|no cls=… size=…`, the fields `metadump` and `me` share.
pub(crate) fn put_item_fields(
    dst: &mut BytesMut,
    exp: i64,
    last_access: i64,
    cas: u64,
    fetched: bool,
    class: usize,
    size: usize,
) {
    dst.put_slice(b" exp=");
    put_number(dst, exp);
    dst.put_slice(b" la=");
    put_number(dst, last_access);
    dst.put_slice(b" cas=");
    put_number(dst, cas);
    dst.put_slice(if fetched { b" fetch=yes" } else { b" fetch=no" });
    dst.put_slice(b" cls=");
    put_number(dst, class);
    dst.put_slice(b" size=");
    put_number(dst, size);
}

/// memcached's `uriencode`: everything but unreserved URI characters becomes `%XX`.
pub fn uri_encode(key: &[u8], dst: &mut BytesMut) {
    for &b in key {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            dst.put_u8(b);
        } else {
            let mut hex = String::with_capacity(3);
            let _ = write!(hex, "%{b:02X}");
            dst.put_slice(hex.as_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_as_memcached_prints_them() {
        let mut out = BytesMut::new();
        encode_stat(&mut out, "curr_items", 3);
        encode_stat_number(&mut out, b"pid", 42u32);
        encode_cachedump_item(&mut out, b"k", 5, 0);
        encode_prefix_stats(&mut out, b"user", 2, 1, 1, 0);
        encode_metadump_entry(
            &mut out,
            &MetadumpEntry {
                key: b"a b",
                exp: -1,
                last_access: 7,
                cas: 9,
                fetched: true,
                class: 1,
                size: 70,
            },
        );
        assert_eq!(
            &out[..],
            &b"STAT curr_items 3\r\nSTAT pid 42\r\nITEM k [5 b; 0 s]\r\nPREFIX user get 2 hit 1 set 1 del 0\r\nkey=a%20b exp=-1 la=7 cas=9 fetch=yes cls=1 size=70\n"[..]
        );
        assert_eq!(
            cachedump_item_len(b"k", 5, 0),
            "ITEM k [5 b; 0 s]\r\n".len()
        );
        assert_eq!(
            cachedump_item_len(b"key", 12345, 1_700_000_000),
            "ITEM key [12345 b; 1700000000 s]\r\n".len()
        );
    }
}
