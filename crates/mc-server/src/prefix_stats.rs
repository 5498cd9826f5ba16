//! `stats detail`: gets, hits, sets and deletes per key prefix (the part of a key before the
//! `-D` delimiter), kept under a lock of its own, taken only while collection is on.
//!
//! memcached keeps a record for every prefix it ever sees, so a client writing keys with
//! endless distinct prefixes grows its table without bound. Here the table holds at most
//! [`MAX_PREFIXES`]; keys with a new prefix beyond that are not counted (logged once at warn;
//! the dump keeps memcached's format).

use std::collections::BTreeMap;

/// The most prefixes tracked at once.
pub const MAX_PREFIXES: usize = 10_000;

/// Counts for one prefix.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct PrefixCounts {
    pub(crate) gets: u64,
    pub(crate) hits: u64,
    pub(crate) sets: u64,
    pub(crate) deletes: u64,
}

/// The per-prefix table.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct PrefixStats {
    table: BTreeMap<Vec<u8>, PrefixCounts>,
    /// Events not counted because the table was full.
    pub(crate) overflow: u64,
}

impl PrefixStats {
    fn counts(&mut self, key: &[u8], delimiter: u8) -> Option<&mut PrefixCounts> {
        // Keys without the delimiter have no prefix and are not counted, as in memcached.
        let end = key.iter().position(|&b| b == delimiter)?;
        let prefix = &key[..end];
        if !self.table.contains_key(prefix) && self.table.len() >= MAX_PREFIXES {
            if self.overflow == 0 {
                tracing::warn!(
                    "stats detail: {MAX_PREFIXES} key prefixes tracked; keys with new prefixes are not counted"
                );
            }
            self.overflow += 1;
            return None;
        }
        Some(self.table.entry(prefix.to_vec()).or_default())
    }

    /// A read of `key`.
    pub(crate) fn get(&mut self, key: &[u8], delimiter: u8, hit: bool) {
        if let Some(c) = self.counts(key, delimiter) {
            c.gets += 1;
            c.hits += u64::from(hit);
        }
    }

    /// A write of `key`.
    pub(crate) fn set(&mut self, key: &[u8], delimiter: u8) {
        if let Some(c) = self.counts(key, delimiter) {
            c.sets += 1;
        }
    }

    /// A delete of `key`.
    pub(crate) fn delete(&mut self, key: &[u8], delimiter: u8) {
        if let Some(c) = self.counts(key, delimiter) {
            c.deletes += 1;
        }
    }

    /// Forget everything (`stats reset`).
    pub(crate) fn clear(&mut self) {
        *self = PrefixStats::default();
    }

    /// Up to `max` prefixes after `after` (from the first when `None`), in order.
    pub(crate) fn page(&self, after: Option<&[u8]>, max: usize) -> Vec<(Vec<u8>, PrefixCounts)> {
        use std::ops::Bound;
        let start = match after {
            Some(key) => Bound::Excluded(key.to_vec()),
            None => Bound::Unbounded,
        };
        self.table
            .range((start, Bound::Unbounded))
            .take(max)
            .map(|(k, c)| (k.clone(), *c))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_prefix_and_stays_bounded() {
        let mut p = PrefixStats::default();
        p.set(b"user:1", b':');
        p.get(b"user:1", b':', true);
        p.get(b"user:2", b':', false);
        p.delete(b"user:1", b':');
        p.set(b"noprefix", b':');
        let page = p.page(None, 10);
        assert_eq!(page.len(), 1);
        assert_eq!(page[0].0, b"user");
        assert_eq!(
            page[0].1,
            PrefixCounts {
                gets: 2,
                hits: 1,
                sets: 1,
                deletes: 1
            }
        );
        for i in 0..MAX_PREFIXES + 10 {
            p.set(format!("p{i}:x").as_bytes(), b':');
        }
        assert_eq!(p.page(None, usize::MAX).len(), MAX_PREFIXES);
        assert_eq!(p.overflow, 11);
    }
}
