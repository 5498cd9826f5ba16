//! Session ids: the hex MD5 of a random (v4) UUID, as the tutorial makes them; 122 random bits.

use md5::{Digest, Md5};

/// A new random session id: 32 lowercase hex characters.
pub fn new_id() -> String {
    let uuid = uuid::Uuid::new_v4();
    let digest = Md5::digest(uuid.as_simple().to_string().as_bytes());
    let mut hex = String::with_capacity(32);
    for byte in digest {
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        hex.push(char::from(b"0123456789abcdef"[usize::from(byte & 15)]));
    }
    hex
}

/// True for strings shaped like our ids (anything else is refused before memcached sees it).
pub fn is_valid_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_hex_md5_and_unique() {
        let a = new_id();
        let b = new_id();
        assert!(is_valid_id(&a) && is_valid_id(&b));
        assert_ne!(a, b);
        assert!(!is_valid_id("../../etc/passwd"));
        assert!(!is_valid_id(&"A".repeat(32)));
    }
}
