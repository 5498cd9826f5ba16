//! Number parsing with the exact acceptance rules of memcached's `safe_strto*` helpers.
//!
//! memcached parses numeric tokens with C's `strtol`/`strtoul`/`strtoull` and then applies a few
//! extra checks. The quirks matter for byte-exact compatibility, so they are reproduced here:
//!
//! * leading C whitespace (`\t \n \v \f \r`, and space) is skipped, then an optional sign;
//! * at least one digit must follow; after the digits the token must end, or the next byte must
//!   be C whitespace (anything after it is ignored);
//! * overflow of the C type (`ERANGE`) is an error;
//! * the unsigned parsers accept a `-` sign, negating modulo 2^64, and only reject the result when
//!   it would be negative as a signed number (so `-0` is `0`);
//! * the 32-bit parsers truncate a 64-bit result to 32 bits without complaint: flags
//!   `4294967296` are stored as `0`.

/// C's `isspace` in the "C" locale.
#[inline]
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// The pieces `strtoull`/`strtoll` see: sign and magnitude, or `None` when no digits were found,
/// when the token continues with a non-space byte after the digits, or on 64-bit overflow of the
/// magnitude.
#[inline]
fn scan(token: &[u8]) -> Option<(bool, u64)> {
    let mut i = 0;
    while i < token.len() && is_c_space(token[i]) {
        i += 1;
    }
    let mut negative = false;
    if let Some(&sign @ (b'+' | b'-')) = token.get(i) {
        negative = sign == b'-';
        i += 1;
    }
    let digits_start = i;
    let mut value: u64 = 0;
    while let Some(&b) = token.get(i) {
        if !b.is_ascii_digit() {
            break;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
        i += 1;
    }
    if i == digits_start {
        return None;
    }
    match token.get(i) {
        None => Some((negative, value)),
        Some(&b) if is_c_space(b) => Some((negative, value)),
        Some(_) => None,
    }
}

/// memcached's `safe_strtoull`: an unsigned 64-bit number.
#[inline]
pub fn parse_u64(token: &[u8]) -> Option<u64> {
    // Fast path for the overwhelmingly common case: plain ASCII digits.
    if !token.is_empty() && token.len() < 20 && token.iter().all(u8::is_ascii_digit) {
        return Some(
            token
                .iter()
                .fold(0u64, |acc, &b| acc * 10 + u64::from(b - b'0')),
        );
    }
    let (negative, magnitude) = scan(token)?;
    let value = if negative {
        magnitude.wrapping_neg()
    } else {
        magnitude
    };
    // strtoull reports no overflow for a negated magnitude; memcached then rejects a result that
    // is negative as a signed number when the text had a minus sign in it.
    if (value as i64) < 0 && token.contains(&b'-') {
        return None;
    }
    Some(value)
}

/// memcached's `safe_strtoul`: parsed as an unsigned long, then truncated to 32 bits.
#[inline]
pub fn parse_u32(token: &[u8]) -> Option<u32> {
    parse_u64(token).map(|v| v as u32)
}

/// memcached's `safe_strtol`: parsed as a signed long, then truncated to 32 bits.
#[inline]
pub fn parse_i32(token: &[u8]) -> Option<i32> {
    if !token.is_empty() && token.len() < 10 && token.iter().all(u8::is_ascii_digit) {
        return Some(
            token
                .iter()
                .fold(0i32, |acc, &b| acc * 10 + i32::from(b - b'0')),
        );
    }
    let (negative, magnitude) = scan(token)?;
    let value: i64 = if negative {
        // i64::MIN has a magnitude one larger than i64::MAX.
        if magnitude > (i64::MAX as u64) + 1 {
            return None;
        }
        (magnitude as i64).wrapping_neg()
    } else {
        i64::try_from(magnitude).ok()?
    };
    Some(value as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsigned_32_matches_memcached() {
        assert_eq!(parse_u32(b"0"), Some(0));
        assert_eq!(parse_u32(b"4294967295"), Some(u32::MAX));
        assert_eq!(parse_u32(b"4294967296"), Some(0), "truncated, not rejected");
        assert_eq!(parse_u32(b"4294967297"), Some(1));
        assert_eq!(parse_u32(b"-1"), None);
        assert_eq!(parse_u32(b"-0"), Some(0));
        assert_eq!(parse_u32(b"+7"), Some(7));
        assert_eq!(parse_u32(b"xx"), None);
        assert_eq!(parse_u32(b""), None);
        assert_eq!(parse_u32(b"12ab"), None);
        assert_eq!(
            parse_u32(b"12\tab"),
            Some(12),
            "C whitespace ends the number"
        );
        assert_eq!(parse_u32(b"\t12"), Some(12));
        assert_eq!(parse_u32(b"18446744073709551616"), None, "ERANGE");
    }

    #[test]
    fn unsigned_64_matches_memcached() {
        assert_eq!(parse_u64(b"18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64(b"18446744073709551616"), None);
        assert_eq!(parse_u64(b"-1"), None);
        // A negated magnitude that stays positive as i64 slips through, as in C.
        assert_eq!(
            parse_u64(b"-9223372036854775809"),
            Some(9_223_372_036_854_775_807)
        );
        assert_eq!(parse_u64(b"007"), Some(7));
    }

    #[test]
    fn signed_32_matches_memcached() {
        assert_eq!(parse_i32(b"-1"), Some(-1));
        assert_eq!(parse_i32(b"2592000"), Some(2_592_000));
        assert_eq!(parse_i32(b"2147483647"), Some(i32::MAX));
        assert_eq!(parse_i32(b"4294967297"), Some(1), "long truncated to int32");
        assert_eq!(parse_i32(b"-4294967296"), Some(0));
        assert_eq!(parse_i32(b"9223372036854775807"), Some(-1));
        assert_eq!(parse_i32(b"9223372036854775808"), None, "ERANGE");
        assert_eq!(parse_i32(b"-9223372036854775808"), Some(0));
        assert_eq!(parse_i32(b"-9223372036854775809"), None);
        assert_eq!(parse_i32(b"abc"), None);
        assert_eq!(parse_i32(b"-"), None);
    }
}
