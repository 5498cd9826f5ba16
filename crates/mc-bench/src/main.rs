//! `mc-bench`: drive any memcached-protocol server with a fixed workload for a fixed time and
//! report throughput, latency percentiles, hits and misses.
//!
//! Each connection sends `--pipeline` requests at once and waits for all their answers; latency
//! is measured per batch. The generator runs on one thread (it shares the machine with the
//! server under test).
//!
//! The measured window is explicit. After the preload and the warm-up, every connection
//! finishes its batch and waits; `mc-bench` prints `mc-bench: window ready` on stderr and, with
//! `--handshake`, waits for a line on stdin before it starts the window; when the window's time
//! is up, every connection finishes its batch and stops, and `mc-bench: window done` is printed.
//! No request is sent between `ready` and the start, nor after `done`: a harness that reads the
//! server's CPU time and statistics at those two points measures exactly the requests counted.
//!
//! Every answer is checked: a `get` must answer `END` or the value asked for (its key, its
//! length, its bytes), a `set` must answer `STORED`. Any other answer is an error; `mc-bench`
//! reports the first one and exits with status 1, so an error can never pass for throughput.

use std::io::BufRead;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{BufMut, BytesMut};
use clap::Parser;
use hdrhistogram::Histogram;
use mc_proto::{Response, ResponseDecoder};
use mc_testkit::Rng;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{watch, Notify};

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
    /// Seconds of measured load.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Seconds of unmeasured load before the window.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// Store every key once before the warm-up.
    #[arg(long)]
    preload: bool,
    /// Wait for a line on stdin before starting the measured window.
    #[arg(long)]
    handshake: bool,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

/// Where the run is; connections follow it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Load, not counted.
    Warmup,
    /// Finish the current batch, then wait.
    Pause,
    /// Load, counted.
    Measure,
    /// Finish the current batch, then stop.
    Stop,
}

/// What one connection measured in the window.
struct Tally {
    ops: u64,
    gets: u64,
    hits: u64,
    errors: u64,
    first_error: Option<String>,
    latency: Histogram<u64>,
}

impl Tally {
    fn new() -> std::io::Result<Tally> {
        Ok(Tally {
            ops: 0,
            gets: 0,
            hits: 0,
            errors: 0,
            first_error: None,
            latency: Histogram::new_with_bounds(1, 60_000_000, 3).map_err(std::io::Error::other)?,
        })
    }

    fn add(&mut self, other: Tally) -> std::io::Result<()> {
        self.ops += other.ops;
        self.gets += other.gets;
        self.hits += other.hits;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        self.latency
            .add(&other.latency)
            .map_err(std::io::Error::other)
    }
}

/// The 16-byte key number `i`, as in the memory comparison.
fn key(i: u64) -> String {
    format!("key:{i:012}")
}

/// One request of a batch, remembered to check its answer.
enum Sent {
    Get(String),
    Set,
}

fn put_request(buf: &mut BytesMut, rng: &mut Rng, o: &Options, value: &[u8]) -> Sent {
    let k = key(rng.next_u64() % o.keys as u64);
    let is_get = (rng.next_u64() % 1_000_000) as f64 / 1_000_000.0 < o.get_ratio;
    if is_get {
        buf.put_slice(b"get ");
        buf.put_slice(k.as_bytes());
        buf.put_slice(b"\r\n");
        Sent::Get(k)
    } else {
        buf.put_slice(format!("set {k} 0 0 {}\r\n", value.len()).as_bytes());
        buf.put_slice(value);
        buf.put_slice(b"\r\n");
        Sent::Set
    }
}

/// What one batch of answers held.
#[derive(Default)]
struct Answers {
    gets: u64,
    hits: u64,
    errors: u64,
    first_error: Option<String>,
}

impl Answers {
    fn error(&mut self, what: String) {
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(what);
        }
    }
}

async fn next_response(
    stream: &mut TcpStream,
    rbuf: &mut BytesMut,
    decoder: &mut ResponseDecoder,
) -> std::io::Result<Response> {
    loop {
        match decoder.decode(rbuf) {
            Ok(Some(response)) => return Ok(response),
            Ok(None) => {
                if stream.read_buf(rbuf).await? == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
            }
            Err(e) => return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, e)),
        }
    }
}

/// Read and check the answers to `sent`, in order.
async fn read_answers(
    stream: &mut TcpStream,
    rbuf: &mut BytesMut,
    decoder: &mut ResponseDecoder,
    sent: &[Sent],
    value: &[u8],
) -> std::io::Result<Answers> {
    let mut answers = Answers::default();
    for request in sent {
        match request {
            Sent::Set => match next_response(stream, rbuf, decoder).await? {
                Response::Stored => {}
                other => answers.error(format!("set answered {other:?}")),
            },
            Sent::Get(key) => {
                answers.gets += 1;
                loop {
                    match next_response(stream, rbuf, decoder).await? {
                        Response::End => break,
                        Response::Value(v) if v.key == key.as_bytes() && v.data == value => {
                            answers.hits += 1;
                        }
                        Response::Value(v) => answers.error(format!(
                            "get {key} answered a value for {:?} of {} bytes",
                            String::from_utf8_lossy(&v.key),
                            v.data.len()
                        )),
                        other => {
                            answers.error(format!("get {key} answered {other:?}"));
                            break;
                        }
                    }
                }
            }
        }
    }
    Ok(answers)
}

/// Shared by the connections: the phase, and how many reached the pause.
struct Control {
    phase: watch::Receiver<Phase>,
    paused: AtomicUsize,
    all_paused: Notify,
    conns: usize,
}

impl Control {
    /// Count a connection as having reached the pause (or as gone, when it failed before).
    fn arrive(&self) {
        if self.paused.fetch_add(1, Ordering::SeqCst) + 1 == self.conns {
            self.all_paused.notify_one();
        }
    }
}

/// One connection's run; a connection that fails before the pause still counts as arrived,
/// so the others do not wait for it.
async fn connection(o: Arc<Options>, seed: u64, control: Arc<Control>) -> std::io::Result<Tally> {
    let mut arrived = false;
    let result = load(o, seed, &control, &mut arrived).await;
    if !arrived {
        control.arrive();
    }
    result
}

async fn load(
    o: Arc<Options>,
    seed: u64,
    control: &Control,
    arrived: &mut bool,
) -> std::io::Result<Tally> {
    let mut stream = TcpStream::connect(o.addr).await?;
    stream.set_nodelay(true)?;
    let value = vec![b'v'; o.value_size];
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut wbuf = BytesMut::with_capacity(64 * 1024);
    let mut rbuf = BytesMut::with_capacity(64 * 1024);
    let mut decoder = ResponseDecoder::default();
    let mut tally = Tally::new()?;
    let mut phase = control.phase.clone();
    let mut sent = Vec::with_capacity(o.pipeline);
    loop {
        let now = *phase.borrow_and_update();
        match now {
            Phase::Stop => return Ok(tally),
            Phase::Pause => {
                if !*arrived {
                    *arrived = true;
                    control.arrive();
                }
                while *phase.borrow_and_update() == Phase::Pause {
                    if phase.changed().await.is_err() {
                        return Ok(tally);
                    }
                }
                continue;
            }
            Phase::Warmup | Phase::Measure => {}
        }
        let started = Instant::now();
        wbuf.clear();
        sent.clear();
        for _ in 0..o.pipeline {
            sent.push(put_request(&mut wbuf, &mut rng, &o, &value));
        }
        stream.write_all(&wbuf).await?;
        let answers = read_answers(&mut stream, &mut rbuf, &mut decoder, &sent, &value).await?;
        if now == Phase::Measure {
            tally.ops += o.pipeline as u64;
            tally.gets += answers.gets;
            tally.hits += answers.hits;
            let micros = started.elapsed().as_micros() as u64;
            let _ = tally.latency.record(micros.max(1));
        }
        // Errors count in every phase: a server that fails during the warm-up fails the run.
        tally.errors += answers.errors;
        if tally.first_error.is_none() {
            tally.first_error = answers.first_error;
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
        let sent: Vec<Sent> = (0..n).map(|_| Sent::Set).collect();
        let answers = read_answers(&mut stream, &mut rbuf, &mut decoder, &sent, &value).await?;
        if let Some(error) = answers.first_error {
            return Err(std::io::Error::other(format!("preload: {error}")));
        }
    }
    Ok(())
}

/// Print a window marker at once (the harness reads it while we wait).
fn marker(text: &str) {
    use std::io::Write as _;
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "mc-bench: window {text}");
    let _ = err.flush();
}

/// The measured run; the tally and the window's length.
async fn run(o: Arc<Options>) -> std::io::Result<(Tally, Duration)> {
    if o.preload {
        preload(&o).await?;
    }
    let (set_phase, phase) = watch::channel(Phase::Warmup);
    let control = Arc::new(Control {
        phase,
        paused: AtomicUsize::new(0),
        all_paused: Notify::new(),
        conns: o.conns,
    });
    let tasks: Vec<_> = (0..o.conns)
        .map(|i| tokio::spawn(connection(o.clone(), i as u64 + 1, control.clone())))
        .collect();
    tokio::time::sleep(Duration::from_secs_f64(o.warmup)).await;
    let waiting = control.all_paused.notified();
    tokio::pin!(waiting);
    waiting.as_mut().enable();
    set_phase.send_replace(Phase::Pause);
    if control.paused.load(Ordering::SeqCst) < o.conns {
        waiting.await;
    }
    marker("ready");
    if o.handshake {
        tokio::task::spawn_blocking(|| {
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)
        })
        .await
        .map_err(std::io::Error::other)??;
    }
    let started = Instant::now();
    set_phase.send_replace(Phase::Measure);
    tokio::time::sleep(Duration::from_secs_f64(o.duration)).await;
    set_phase.send_replace(Phase::Stop);
    let mut total = Tally::new()?;
    for task in tasks {
        total.add(task.await.map_err(std::io::Error::other)??)?;
    }
    let window = started.elapsed();
    marker("done");
    Ok((total, window))
}

fn main() -> std::process::ExitCode {
    let o = Arc::new(Options::parse());
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
    let (total, window) = match runtime.block_on(run(o.clone())) {
        Ok(done) => done,
        Err(e) => {
            eprintln!("mc-bench: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let seconds = window.as_secs_f64();
    let ops_per_sec = total.ops as f64 / seconds;
    let p50 = total.latency.value_at_quantile(0.50);
    let p99 = total.latency.value_at_quantile(0.99);
    let misses = total.gets - total.hits;
    if o.json {
        println!(
            "{}",
            serde_json::json!({
                "ops": total.ops, "window_s": seconds, "ops_per_sec": ops_per_sec,
                "p50_us": p50, "p99_us": p99,
                "gets": total.gets, "hits": total.hits, "misses": misses, "errors": total.errors,
                "conns": o.conns, "pipeline": o.pipeline, "get_ratio": o.get_ratio,
                "value_size": o.value_size, "keys": o.keys, "preload": o.preload,
            })
        );
    } else {
        println!(
            "{ops_per_sec:.0} ops/s  p50 {p50} us  p99 {p99} us  ({} ops in {seconds:.3} s, {} gets: {} hits, {misses} misses; {} errors)",
            total.ops, total.gets, total.hits, total.errors
        );
    }
    if let Some(error) = total.first_error {
        eprintln!(
            "mc-bench: {} error answers; the first: {error}",
            total.errors
        );
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}
