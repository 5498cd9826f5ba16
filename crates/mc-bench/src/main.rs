//! `mc-bench`: drive any memcached-protocol server with a fixed workload for a fixed time and
//! report throughput and latency percentiles.
//!
//! Each connection sends `--pipeline` requests at once and waits for all their answers; latency
//! is measured per batch. The generator runs on one thread (it shares the machine with the
//! server under test).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::{BufMut, BytesMut};
use clap::Parser;
use hdrhistogram::Histogram;
use mc_proto::{Response, ResponseDecoder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Command-line options.
#[derive(Debug, Clone, Parser)]
#[command(name = "mc-bench", version)]
struct Options {
    /// Server address.
    #[arg(long, default_value = "127.0.0.1:11211")]
    addr: SocketAddr,
    /// Concurrent connections.
    #[arg(long, default_value_t = 50)]
    conns: usize,
    /// Requests sent together on a connection before reading the answers.
    #[arg(long, default_value_t = 1)]
    pipeline: usize,
    /// Fraction of requests that are gets (the rest are sets).
    #[arg(long, default_value_t = 0.9)]
    get_ratio: f64,
    /// Value size in bytes.
    #[arg(long, default_value_t = 32)]
    value_size: usize,
    /// Number of distinct keys.
    #[arg(long, default_value_t = 100_000)]
    keys: usize,
    /// Seconds of measured load (after a one-second warm-up).
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Store every key once before measuring.
    #[arg(long)]
    preload: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// What one connection measured.
struct Tally {
    ops: u64,
    hits: u64,
    errors: u64,
    latency: Histogram<u64>,
}

impl Tally {
    fn new() -> std::io::Result<Tally> {
        Ok(Tally {
            ops: 0,
            hits: 0,
            errors: 0,
            latency: Histogram::new_with_bounds(1, 60_000_000, 3).map_err(std::io::Error::other)?,
        })
    }
}

/// A tiny xorshift generator: the choice of key and command must cost next to nothing.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn key(i: u64) -> String {
    // 16-byte keys, as in the memory comparison.
    format!("key:{i:012}")
}

fn put_request(buf: &mut BytesMut, rng: &mut Rng, o: &Options, value: &[u8]) {
    let k = key(rng.next() % o.keys as u64);
    let is_get = (rng.next() % 1_000_000) as f64 / 1_000_000.0 < o.get_ratio;
    if is_get {
        buf.put_slice(b"get ");
        buf.put_slice(k.as_bytes());
        buf.put_slice(b"\r\n");
    } else {
        buf.put_slice(format!("set {k} 0 0 {}\r\n", value.len()).as_bytes());
        buf.put_slice(value);
        buf.put_slice(b"\r\n");
    }
}

/// What one batch of answers held.
#[derive(Default)]
struct Answers {
    hits: u64,
    errors: u64,
}

/// Read until `expected` complete answers (a get answer ends with END) have arrived.
async fn read_answers(
    stream: &mut TcpStream,
    rbuf: &mut BytesMut,
    decoder: &mut ResponseDecoder,
    mut expected: usize,
) -> std::io::Result<Answers> {
    let mut answers = Answers::default();
    while expected > 0 {
        match decoder.decode(rbuf) {
            Ok(Some(Response::Value(_))) => answers.hits += 1,
            Ok(Some(Response::End | Response::Stored)) => expected -= 1,
            Ok(Some(_)) => {
                answers.errors += 1;
                expected -= 1;
            }
            Ok(None) => {
                if stream.read_buf(rbuf).await? == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
            }
            Err(e) => return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
        }
    }
    Ok(answers)
}

async fn connection(
    o: Options,
    seed: u64,
    warmup_end: Instant,
    end: Instant,
) -> std::io::Result<Tally> {
    let mut stream = TcpStream::connect(o.addr).await?;
    stream.set_nodelay(true)?;
    let value = vec![b'v'; o.value_size];
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut wbuf = BytesMut::with_capacity(64 * 1024);
    let mut rbuf = BytesMut::with_capacity(64 * 1024);
    let mut decoder = ResponseDecoder::default();
    let mut tally = Tally::new()?;
    loop {
        let started = Instant::now();
        if started >= end {
            return Ok(tally);
        }
        wbuf.clear();
        for _ in 0..o.pipeline {
            put_request(&mut wbuf, &mut rng, &o, &value);
        }
        stream.write_all(&wbuf).await?;
        let counted = read_answers(&mut stream, &mut rbuf, &mut decoder, o.pipeline).await?;
        if started >= warmup_end {
            tally.ops += o.pipeline as u64;
            tally.hits += counted.hits;
            tally.errors += counted.errors;
            let micros = started.elapsed().as_micros() as u64;
            let _ = tally.latency.record(micros.max(1));
        }
    }
}

async fn preload(o: &Options) -> std::io::Result<()> {
    let mut stream = TcpStream::connect(o.addr).await?;
    let value = vec![b'v'; o.value_size];
    let mut rbuf = BytesMut::with_capacity(64 * 1024);
    let mut decoder = ResponseDecoder::default();
    let batch = 100;
    for start in (0..o.keys).step_by(batch) {
        let mut wbuf = BytesMut::new();
        let n = batch.min(o.keys - start);
        for i in start..start + n {
            wbuf.put_slice(format!("set {} 0 0 {}\r\n", key(i as u64), value.len()).as_bytes());
            wbuf.put_slice(&value);
            wbuf.put_slice(b"\r\n");
        }
        stream.write_all(&wbuf).await?;
        read_answers(&mut stream, &mut rbuf, &mut decoder, n).await?;
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let o = Options::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mc-bench: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        if o.preload {
            preload(&o).await?;
        }
        let warmup_end = Instant::now() + Duration::from_secs(1);
        let end = warmup_end + Duration::from_secs_f64(o.duration);
        let tasks: Vec<_> = (0..o.conns)
            .map(|i| tokio::spawn(connection(o.clone(), i as u64 + 1, warmup_end, end)))
            .collect();
        let mut total = Tally::new()?;
        for task in tasks {
            let t = task.await.map_err(std::io::Error::other)??;
            total.ops += t.ops;
            total.hits += t.hits;
            total.errors += t.errors;
            total
                .latency
                .add(&t.latency)
                .map_err(std::io::Error::other)?;
        }
        Ok::<_, std::io::Error>(total)
    });
    let total = match result {
        Ok(t) => t,
        Err(e) => {
            eprintln!("mc-bench: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let ops_per_sec = total.ops as f64 / o.duration;
    let p50 = total.latency.value_at_quantile(0.50);
    let p99 = total.latency.value_at_quantile(0.99);
    if o.json {
        println!(
            "{}",
            serde_json::json!({
                "ops": total.ops, "ops_per_sec": ops_per_sec, "p50_us": p50, "p99_us": p99,
                "hits": total.hits, "errors": total.errors,
                "conns": o.conns, "pipeline": o.pipeline, "get_ratio": o.get_ratio,
                "value_size": o.value_size, "keys": o.keys, "duration": o.duration,
            })
        );
    } else {
        println!(
            "{:.0} ops/s  p50 {p50} us  p99 {p99} us  ({} ops, {} hits, {} errors)",
            ops_per_sec, total.ops, total.hits, total.errors
        );
    }
    std::process::ExitCode::SUCCESS
}
