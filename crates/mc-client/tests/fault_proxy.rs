//! Fault injection: a loopback TCP proxy between the client and mc-server that can pass, delay,
//! cut or black-hole traffic, switched while 32 tasks keep the client busy.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mc_client::{Client, Error, Options};
use mc_server::{Config, RunningServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const PASS: u8 = 0;
const DELAY: u8 = 1;
const CUT: u8 = 2;
const BLACKHOLE: u8 = 3;

/// Copy `from` to `to` following the mode; returns when either side closes or the mode cuts.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mode: Arc<AtomicU8>,
) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match tokio::time::timeout(Duration::from_millis(50), from.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return,
            Ok(Ok(n)) => n,
            Err(_) => {
                if mode.load(Ordering::Relaxed) == CUT {
                    return;
                }
                continue;
            }
        };
        match mode.load(Ordering::Relaxed) {
            CUT => return,
            BLACKHOLE => continue,
            DELAY => tokio::time::sleep(Duration::from_millis(100)).await,
            _ => {}
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

async fn proxy(listener: TcpListener, upstream: std::net::SocketAddr, mode: Arc<AtomicU8>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            return;
        };
        if mode.load(Ordering::Relaxed) == CUT {
            continue; // refused: dropped at once
        }
        let Ok(server) = TcpStream::connect(upstream).await else {
            continue;
        };
        let (cr, cw) = client.into_split();
        let (sr, sw) = server.into_split();
        tokio::spawn(pump(cr, sw, mode.clone()));
        tokio::spawn(pump(sr, cw, mode.clone()));
    }
}

#[test]
fn faults_fail_fast_and_traffic_resumes() {
    let server = RunningServer::start(Config::ephemeral()).expect("server");
    let upstream = server.local_addr().expect("addr");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let mode = Arc::new(AtomicU8::new(PASS));
        tokio::spawn(proxy(listener, upstream, mode.clone()));
        let options = Options {
            io_timeout: Duration::from_millis(400),
            connect_timeout: Duration::from_millis(400),
            dead_retry: Duration::from_millis(500),
            ..Options::default()
        };
        let client = Client::with_options([addr.as_str()], options);
        let (ok, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let slowest = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicU8::new(0));
        let mut tasks = Vec::new();
        for t in 0..32 {
            let (client, ok, failed, slowest, stop) = (
                client.clone(),
                ok.clone(),
                failed.clone(),
                slowest.clone(),
                stop.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let mut i = 0u64;
                while stop.load(Ordering::Relaxed) == 0 {
                    i += 1;
                    let key = format!("t{t}:{}", i % 50);
                    let started = Instant::now();
                    let result = client
                        .set(&key, "value", 0)
                        .await
                        .and(client.get::<String>(&key).await.map(|_| true));
                    slowest.fetch_max(started.elapsed().as_millis() as u64, Ordering::Relaxed);
                    match result {
                        Ok(_) => ok.fetch_add(1, Ordering::Relaxed),
                        Err(Error::Io { .. } | Error::Timeout(_) | Error::NoServer) => {
                            failed.fetch_add(1, Ordering::Relaxed);
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            0
                        }
                        Err(e) => panic!("unexpected error {e}"),
                    };
                }
            }));
        }
        let phase = |name: &'static str, m: u8, ok: Arc<AtomicU64>, failed: Arc<AtomicU64>| {
            let mode = mode.clone();
            async move {
                mode.store(m, Ordering::Relaxed);
                let (ok0, failed0) = (ok.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
                tokio::time::sleep(Duration::from_millis(1500)).await;
                let done = (
                    ok.load(Ordering::Relaxed) - ok0,
                    failed.load(Ordering::Relaxed) - failed0,
                );
                println!("{name:>9}: {} ok, {} failed", done.0, done.1);
                done
            }
        };
        let (passed, _) = phase("pass", PASS, ok.clone(), failed.clone()).await;
        assert!(passed > 100, "traffic flows");
        let (delayed, _) = phase("delay", DELAY, ok.clone(), failed.clone()).await;
        assert!(
            delayed > 0,
            "a delay under the timeout only slows things down"
        );
        let (_, holed) = phase("blackhole", BLACKHOLE, ok.clone(), failed.clone()).await;
        assert!(holed > 0, "a black hole turns into timeouts");
        let (_, cut) = phase("cut", CUT, ok.clone(), failed.clone()).await;
        assert!(cut > 0, "cut connections turn into errors");
        let (resumed, _) = phase("pass", PASS, ok.clone(), failed.clone()).await;
        assert!(resumed > 100, "traffic resumes after dead_retry");
        stop.store(1, Ordering::Relaxed);
        for t in tasks {
            t.await.expect("no task panicked");
        }
        let slowest = slowest.load(Ordering::Relaxed);
        // No call hangs: each ends within the connect or I/O timeout (twice, for set + get).
        assert!(slowest < 2_000, "slowest call took {slowest} ms");
        println!("slowest call {slowest} ms");
    });
}
