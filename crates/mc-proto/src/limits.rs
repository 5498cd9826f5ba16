//! memcached's size limits.

/// The longest key memcached accepts, in bytes.
pub const KEY_MAX_LENGTH: usize = 250;

/// The longest command line memcached reads before giving up on a connection (`get`/`gets`
/// lines are exempt).
pub const MAX_LINE_LENGTH: usize = 2048;

/// memcached's default maximum item size (`-I 1m`).
pub const DEFAULT_MAX_ITEM_SIZE: usize = 1024 * 1024;

/// The size memcached 1.6 charges an item against the maximum item size (`-I`): a 48-byte
/// header, an 8-byte CAS unique, the key and its NUL, 4 bytes of client flags when they are not
/// zero, and the value with its CRLF. A value is refused with `SERVER_ERROR object too large for
/// cache` when this exceeds `-I`; with the default 1 MiB the largest value under a 1-byte key is
/// 1,048,516 bytes.
pub fn item_size(key_len: usize, flags: u32, value_len: usize) -> usize {
    const HEADER: usize = 48;
    const CAS: usize = 8;
    let flags_len = if flags == 0 { 0 } else { 4 };
    HEADER + CAS + key_len + 1 + flags_len + value_len + 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_default_item_matches_memcached() {
        assert_eq!(item_size(1, 0, 1_048_516), DEFAULT_MAX_ITEM_SIZE);
        assert!(item_size(1, 1, 1_048_516) > DEFAULT_MAX_ITEM_SIZE);
    }
}
