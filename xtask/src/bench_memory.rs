//! Memory: how many items each server holds in `-m 64` before it evicts, for 16-byte keys and
//! values of 32, 100 and 500 bytes, and its RSS after ten times `-m` was written. memcached runs
//! twice: with its default growth factor (1.25) and with `-f 1.125`, mc-server's own factor,
//! so a gain is not only a finer growth factor.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};

use serde_json::{json, Value};

use crate::servers::{self, Placement, Proc};
use crate::Result;

/// Value sizes compared.
const VALUE_SIZES: [usize; 3] = [32, 100, 500];

/// Send sets of `value_size`-byte values, 500 at a time, until `until` says stop; returns how
/// many were sent. Every answer must be `STORED`.
pub(crate) fn fill(
    addr: SocketAddr,
    value_size: usize,
    mut until: impl FnMut(u64) -> Result<bool>,
) -> Result<u64> {
    let mut conn = TcpStream::connect(addr).map_err(|e| e.to_string())?;
    let value = vec![b'v'; value_size];
    let mut i = 0u64;
    let batch = 500;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let mut wire = Vec::new();
        for _ in 0..batch {
            wire.extend_from_slice(format!("set {i:016} 0 0 {value_size}\r\n").as_bytes());
            wire.extend_from_slice(&value);
            wire.extend_from_slice(b"\r\n");
            i += 1;
        }
        conn.write_all(&wire).map_err(|e| e.to_string())?;
        let mut answers = 0;
        let mut pending = Vec::new();
        while answers < batch {
            let n = mc_testkit::read_some(&mut conn, &mut buf).map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("server closed".into());
            }
            pending.extend_from_slice(&buf[..n]);
            while let Some(pos) = pending.iter().position(|&b| b == b'\n') {
                let line: Vec<u8> = pending.drain(..=pos).collect();
                if line != b"STORED\r\n" {
                    return Err(format!("set answered {:?}", String::from_utf8_lossy(&line)));
                }
                answers += 1;
            }
        }
        if until(i)? {
            return Ok(i);
        }
    }
}

fn stat(server: &Proc, name: &str) -> Result<u64> {
    Ok(mc_testkit::stat_u64(&server.stats()?, name))
}

/// Items of `value_size` bytes a fresh server holds before its first eviction.
fn items_before_eviction(start: &dyn Fn() -> Result<Proc>, value_size: usize) -> Result<u64> {
    let server = start()?;
    fill(server.addr, value_size, |i| {
        Ok(i % 20_000 == 0 && stat(&server, "evictions")? > 0)
    })?;
    stat(&server, "curr_items")
}

pub(crate) fn measure() -> Result<Value> {
    type Start = Box<dyn Fn() -> Result<Proc>>;
    let contenders: [(&str, Start); 3] = [
        (
            "memcached",
            Box::new(|| servers::memcached(2, 64, Placement::Free, &[])),
        ),
        (
            "memcached -f 1.125",
            Box::new(|| servers::memcached(2, 64, Placement::Free, &["-f", "1.125"])),
        ),
        (
            "mc-server",
            Box::new(|| servers::mc_server(2, 64, Placement::Free)),
        ),
    ];
    let mut results = Vec::new();
    println!(
        "{:<20} {:>14} {:>14} {:>14} {:>12} {:>10}",
        "-m 64", "items 32 B", "items 100 B", "items 500 B", "RSS 10x -m", "hash MiB"
    );
    for (name, start) in &contenders {
        let mut items = Vec::new();
        for size in VALUE_SIZES {
            items.push(items_before_eviction(start.as_ref(), size)?);
        }
        // Then write ten times -m in 1 KiB values and look at the process.
        let server = start()?;
        let target = 10 * 64 * 1024;
        fill(server.addr, 1024, |i| Ok(i >= target))?;
        let rss = server.rss_mib();
        let hash = stat(&server, "hash_bytes")? as f64 / (1024.0 * 1024.0);
        println!(
            "{name:<20} {:>14} {:>14} {:>14} {:>10.1} M {:>10.1}",
            items[0], items[1], items[2], rss, hash
        );
        results.push(json!({
            "server": name,
            "items_before_eviction": VALUE_SIZES.iter().zip(&items).map(|(s, n)| json!({"value_size": s, "items": n, "per_mib": *n as f64 / 64.0})).collect::<Vec<_>>(),
            "rss_mib_after_10x": rss,
            "hash_mib": hash,
        }));
    }
    Ok(json!(results))
}
