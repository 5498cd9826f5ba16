//! C's number parsing, as memcached's command line uses it: `atoi` and `atof` take the longest
//! numeric prefix and give 0 when there is none; `strtol(…, 8)` reads octal; `safe_strtoul`
//! wants the whole string to be a number.

/// C's `atoi`: optional leading whitespace and sign, then digits up to the first non-digit;
/// 0 when there are none. Saturates instead of overflowing (C leaves that undefined).
pub(crate) fn atoi(text: &str) -> i64 {
    strtol(text, 10)
}

/// C's `strtol(text, NULL, radix)` for radix 8 or 10, saturating.
pub(crate) fn strtol(text: &str, radix: u32) -> i64 {
    let t = text.trim_start();
    let (negative, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let mut value: i64 = 0;
    for c in digits.chars() {
        let Some(d) = c.to_digit(radix) else { break };
        value = value
            .saturating_mul(i64::from(radix))
            .saturating_add(i64::from(d));
    }
    if negative {
        -value
    } else {
        value
    }
}

/// C's `atof`: the longest prefix that reads as a decimal number (0.0 when none).
pub(crate) fn atof(text: &str) -> f64 {
    let t = text.trim_start();
    let mut end = 0;
    let bytes = t.as_bytes();
    if matches!(bytes.first(), Some(b'+' | b'-')) {
        end = 1;
    }
    let mut seen_dot = false;
    let mut seen_digit = false;
    while end < bytes.len() {
        match bytes[end] {
            b'0'..=b'9' => seen_digit = true,
            b'.' if !seen_dot => seen_dot = true,
            _ => break,
        }
        end += 1;
    }
    if !seen_digit {
        return 0.0;
    }
    t[..end].parse().unwrap_or(0.0)
}

/// memcached's `safe_strtoul`: the whole string (trailing whitespace allowed) is an unsigned
/// 32-bit number.
pub(crate) fn safe_strtoul(text: &str) -> Option<u32> {
    let t = text
        .trim_start()
        .trim_end_matches(|c: char| c.is_ascii_whitespace());
    if t.is_empty() || t.starts_with('-') {
        return None;
    }
    t.trim_start_matches('+').parse().ok()
}

/// memcached's `safe_strtol`: the whole string is a signed 32-bit number.
pub(crate) fn safe_strtol(text: &str) -> Option<i32> {
    let t = text
        .trim_start()
        .trim_end_matches(|c: char| c.is_ascii_whitespace());
    if t.is_empty() {
        return None;
    }
    t.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_c() {
        assert_eq!(atoi("11211"), 11211);
        assert_eq!(atoi("  -1"), -1);
        assert_eq!(atoi("12abc"), 12);
        assert_eq!(atoi("abc"), 0);
        assert_eq!(atoi("99999999999999999999999"), i64::MAX);
        assert_eq!(strtol("700", 8), 0o700);
        assert_eq!(strtol("0755", 8), 0o755);
        assert_eq!(atof("1.25"), 1.25);
        assert_eq!(atof("1.5x"), 1.5);
        assert_eq!(atof("x"), 0.0);
        assert_eq!(safe_strtoul("42"), Some(42));
        assert_eq!(safe_strtoul("42 "), Some(42));
        assert_eq!(safe_strtoul("4x"), None);
        assert_eq!(safe_strtoul("-1"), None);
        assert_eq!(safe_strtol("-3"), Some(-3));
    }
}
