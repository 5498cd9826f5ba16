//! Which server a key goes to.
//!
//! * [`Distribution::Modula`], the default, is exactly python-memcached's: the key's
//!   `cmemcache_hash` (CRC32, bits 16..31, never 0) modulo a bucket list in which each server
//!   appears `weight` times; when the chosen server is dead it rehashes up to 10 times. A Rust
//!   service and a Python service sharing a pool therefore agree on every key.
//! * [`Distribution::Ketama`] is libmemcached's (and twemproxy's) weighted consistent hashing:
//!   adding a server moves only about 1/N of the keys.

use md5::{Digest, Md5};

/// How keys are spread over servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Distribution {
    /// python-memcached's CRC32 buckets (the default).
    #[default]
    Modula,
    /// libmemcached-compatible weighted ketama.
    Ketama,
}

/// python-memcached's retry count when the chosen server is dead.
pub const SERVER_RETRIES: usize = 10;

/// python-memcached's `cmemcache_hash`.
pub fn cmemcache_hash(key: &[u8]) -> u32 {
    let h = ((crc32fast::hash(key) >> 16) & 0x7fff) as u32;
    if h == 0 {
        1
    } else {
        h
    }
}

/// Servers with weights expanded into python-memcached's bucket list (server indexes).
pub fn buckets(weights: &[u32]) -> Vec<usize> {
    weights
        .iter()
        .enumerate()
        .flat_map(|(i, &w)| std::iter::repeat(i).take(w as usize))
        .collect()
}

/// python-memcached's `_get_server`: the bucket for `key`, skipping buckets whose server
/// `is_alive` rejects by rehashing `str(hash) + str(attempt)`.
pub fn modula_pick(
    key: &[u8],
    buckets: &[usize],
    mut is_alive: impl FnMut(usize) -> bool,
) -> Option<usize> {
    if buckets.is_empty() {
        return None;
    }
    let mut hash = cmemcache_hash(key);
    for attempt in 0..SERVER_RETRIES {
        let server = buckets[hash as usize % buckets.len()];
        if is_alive(server) {
            return Some(server);
        }
        hash = cmemcache_hash(format!("{hash}{attempt}").as_bytes());
    }
    None
}

/// A ketama continuum: sorted points, each owned by a server index.
#[derive(Debug, Clone)]
pub struct Continuum {
    points: Vec<(u32, usize)>,
}

impl Continuum {
    /// Build libmemcached's weighted continuum for servers named `host:port` with weights. The
    /// `:port` is left out of the point names when it is 11211, as libmemcached does.
    pub fn new(servers: &[(String, u16, u32)]) -> Continuum {
        let total: u64 = servers.iter().map(|s| u64::from(s.2)).sum();
        let count = servers.len() as f64;
        let mut points = Vec::new();
        for (index, (host, port, weight)) in servers.iter().enumerate() {
            let share = if total == 0 {
                0.0
            } else {
                f64::from(*weight) / total as f64
            };
            let digests = (share * 40.0 * count).floor() as u32;
            for i in 0..digests {
                let name = if *port == 11211 {
                    format!("{host}-{i}")
                } else {
                    format!("{host}:{port}-{i}")
                };
                let digest = Md5::digest(name.as_bytes());
                for chunk in digest.chunks_exact(4) {
                    let point = u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
                    points.push((point, index));
                }
            }
        }
        points.sort_unstable();
        Continuum { points }
    }

    /// The server for `key`, or `None` when the continuum is empty.
    pub fn pick(&self, key: &[u8]) -> Option<usize> {
        let digest = Md5::digest(key);
        let hash = u32::from_le_bytes([digest[0], digest[1], digest[2], digest[3]]);
        let i = self.points.partition_point(|&(p, _)| p < hash);
        self.points
            .get(i)
            .or_else(|| self.points.first())
            .map(|&(_, server)| server)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tutorials_key_hash() {
        // The tutorial prints cmemcache_hash(b'k').
        assert_eq!(cmemcache_hash(b"k"), 2146);
    }

    #[test]
    fn weights_become_buckets() {
        assert_eq!(buckets(&[4, 3, 1, 2]), vec![0, 0, 0, 0, 1, 1, 1, 2, 3, 3]);
    }
}
