//! Which server a key goes to.
//!
//! * [`Distribution::Modula`], the default, is exactly python-memcached's: the key's
//!   `cmemcache_hash` (CRC32, bits 16..31, never 0) modulo a bucket list in which each server
//!   appears `weight` times; when the chosen server is dead it rehashes up to 10 times. A Rust
//!   service and a Python service sharing a pool therefore agree on every key.
//! * [`Distribution::Ketama`] is libmemcached's (and twemproxy's) weighted consistent hashing:
//!   adding a server moves only about 1/N of the keys. Servers that carry a name (twemproxy's
//!   `host:port:weight name`) are placed by that name, as twemproxy places them.

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
        let labeled: Vec<(String, u32)> = servers
            .iter()
            .map(|(host, port, weight)| (point_label(host, *port, None), *weight))
            .collect();
        Continuum::with_labels(&labeled)
    }

    /// Build the continuum from each server's point label (what precedes `-<i>` in the names
    /// hashed: `host`, `host:port`, or a twemproxy server's name) and weight.
    ///
    /// The number of points per server is computed in single precision, exactly as
    /// libmemcached and twemproxy compute it (`(float)weight / (float)total * 160 / 4 *
    /// (float)servers + 1e-10`, floored): in double precision, seven equal servers get 39
    /// digests each instead of 40, and a fifth of the keys land elsewhere.
    pub fn with_labels(servers: &[(String, u32)]) -> Continuum {
        let total: u32 = servers.iter().map(|s| s.1).sum();
        let count = servers.len() as f32;
        let mut points = Vec::new();
        for (index, (label, weight)) in servers.iter().enumerate() {
            let digests = if total == 0 {
                0
            } else {
                let share = *weight as f32 / total as f32;
                (f64::from(share * 160.0 / 4.0 * count) + 0.000_000_000_1).floor() as u32
            };
            for i in 0..digests {
                let digest = Md5::digest(format!("{label}-{i}").as_bytes());
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

/// What a server's ketama point names start with: its twemproxy name when it has one, else
/// `host`, with `:port` unless the port is 11211 (libmemcached's and twemproxy's rule).
pub fn point_label(host: &str, port: u16, name: Option<&str>) -> String {
    match name {
        Some(name) => name.to_string(),
        None if port == 11211 => host.to_string(),
        None => format!("{host}:{port}"),
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
    fn points_per_server_are_counted_in_single_precision() {
        // Seven equal servers: 40 digests (160 points) each, as libmemcached and twemproxy
        // compute it; double precision would give 39.
        let seven: Vec<(String, u32)> = (0..7).map(|i| (format!("s{i}"), 1)).collect();
        assert_eq!(Continuum::with_labels(&seven).points.len(), 7 * 160);
        let weighted: Vec<(String, u32)> =
            [4, 3, 1, 2].iter().map(|&w| (format!("w{w}"), w)).collect();
        assert_eq!(
            Continuum::with_labels(&weighted).points.len(),
            (64 + 48 + 16 + 32) * 4
        );
    }

    #[test]
    fn weights_become_buckets() {
        assert_eq!(buckets(&[4, 3, 1, 2]), vec![0, 0, 0, 0, 1, 1, 1, 2, 3, 3]);
    }
}
