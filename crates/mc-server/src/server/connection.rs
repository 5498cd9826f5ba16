//! One client connection: move bytes between the socket and the connection's
//! [`Executor`], which decodes, runs and answers the requests.
//!
//! No store shard is ever locked here: the executor locks one for each store operation, and
//! every socket wait happens between slices.

use std::fmt::Write as _;
use std::io::ErrorKind;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use mc_proto::Limits;

use super::stream::{Accepted, Stream};
use super::transport::Transport;
#[cfg(target_os = "linux")]
use super::uring_stream::UringStream;
use super::ConnectionSlot;
use crate::client_state::ClientState;
use crate::config::Auth;
use crate::conn_registry::{ConnInfo, ConnState};
use crate::event_log::{kind, Watcher};
use crate::executor::{Executor, Step};
use crate::server_counters::ConnectionStats;
use crate::verbose_log::VerboseLog;

/// Bytes asked of the socket per read.
const READ_SIZE: usize = 16 * 1024;

/// Buffers larger than this are released once empty rather than kept for the next request.
const KEEP_BUFFER: usize = 64 * 1024;

/// Empty buffers a worker keeps for its connections to borrow.
const POOL_SIZE: usize = 256;

thread_local! {
    /// Buffers lent to this worker's active connections. An idle connection gives its buffers
    /// back, so thousands of idle connections hold no pooled buffer, while busy ones reuse the
    /// same few allocations instead of freeing and allocating on every request.
    static POOL: std::cell::RefCell<Vec<BytesMut>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn borrow_buffer() -> BytesMut {
    POOL.with(|pool| pool.borrow_mut().pop())
        .unwrap_or_else(|| BytesMut::with_capacity(READ_SIZE))
}

fn return_buffer(mut buf: BytesMut) {
    if buf.capacity() == 0 || buf.capacity() > KEEP_BUFFER {
        return;
    }
    buf.clear();
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        if pool.len() < POOL_SIZE {
            pool.push(buf);
        }
    });
}

/// Counts the two buffers a connection borrows while active in `read_buf_count`, and gives
/// the count back however the connection ends.
struct LentBuffers<'a> {
    gauge: &'a std::sync::atomic::AtomicU64,
    lent: bool,
}

impl LentBuffers<'_> {
    fn lend(&mut self) {
        if !self.lent {
            ConnectionStats::add(self.gauge, 2);
            self.lent = true;
        }
    }

    fn give_back(&mut self) {
        if self.lent {
            self.gauge
                .fetch_sub(2, std::sync::atomic::Ordering::Relaxed);
            self.lent = false;
        }
    }
}

impl Drop for LentBuffers<'_> {
    fn drop(&mut self) {
        self.give_back();
    }
}

/// Why a connection ended, in memcached's `conn_close` log terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    Error,
    Normal,
    IdleTimeout,
    Shutdown,
}

impl Ending {
    fn name(self) -> &'static str {
        match self {
            Ending::Error => "error",
            Ending::Normal => "normal",
            Ending::IdleTimeout => "idle_timeout",
            Ending::Shutdown => "shutdown",
        }
    }
}

/// Serve one accepted connection until it closes. `slot` holds its place in the `-c` count
/// and gives it back when dropped.
pub(crate) async fn serve(accepted: Accepted, slot: ConnectionSlot) {
    let shared = slot.shared().clone();
    let (id, peer, local) = accepted.describe();
    match Stream::register(accepted, &shared.env).await {
        Ok(stream) => serve_over(stream, (id, peer, local), slot).await,
        Err(e) => tracing::debug!("connection not set up: {e}"),
    }
}

/// Serve a plain TCP connection through io_uring ([`UringStream`]); TLS and Unix-socket
/// connections are served as by [`serve`], on the same worker.
#[cfg(target_os = "linux")]
pub(crate) async fn serve_uring(accepted: Accepted, slot: ConnectionSlot) {
    let described = accepted.describe();
    match accepted {
        Accepted::Tcp(socket, _, false) => {
            serve_over(UringStream::new(socket), described, slot).await;
        }
        other => serve(other, slot).await,
    }
}

/// Serve a registered connection until it closes.
async fn serve_over<T: Transport>(
    stream: T,
    (id, peer, local): (i32, String, String),
    slot: ConnectionSlot,
) {
    let shared = slot.shared().clone();
    let env = &shared.env;
    let info = env.conns.open(id, peer, local, env.clock.now());
    if env.runtime.verbosity() >= 2 {
        VerboseLog::event(id, "new auto-negotiating client connection");
    }
    log_connection(&info, env, None);
    let ending = match run(stream, &slot, &info).await {
        Ok(ending) => ending,
        Err(e) => {
            tracing::debug!("connection closed: {e}");
            Ending::Error
        }
    };
    if env.runtime.verbosity() >= 2 {
        VerboseLog::event(id, "connection closed.");
    }
    log_connection(&info, env, Some(ending));
    env.conns.close(&info);
}

/// `watch connevents`: `conn_new` when `ending` is `None`, else `conn_close`.
fn log_connection(info: &ConnInfo, env: &crate::environment::Environment, ending: Option<Ending>) {
    env.events.log(kind::CONNEVENTS, |line| {
        let (transport, rest) = info.peer.split_once(':').unwrap_or(("tcp", &info.peer));
        let (rip, rport) = match rest.rsplit_once(':') {
            Some((ip, port)) if transport != "unix" => (ip, port),
            _ => (rest, "0"),
        };
        let transport = if transport == "unix" {
            "local"
        } else {
            transport
        };
        let id = info.id;
        let _ = match ending {
            None => write!(
                line,
                "type=conn_new rip={rip} rport={rport} transport={transport} cfd={id}"
            ),
            Some(ending) => write!(
                line,
                "type=conn_close rip={rip} rport={rport} transport={transport} reason={} cfd={id}",
                ending.name()
            ),
        };
    });
}

async fn run<T: Transport>(
    mut stream: T,
    slot: &ConnectionSlot,
    info: &Arc<ConnInfo>,
) -> std::io::Result<Ending> {
    let shared = slot.shared();
    let env = &shared.env;
    let stats = &env.conn_stats;
    let limits = Limits {
        max_item_size: env.config.store.max_item_size,
        ..Limits::default()
    };
    let client = ClientState {
        id: info.id,
        info: Some(info.clone()),
        authenticated: env.config.auth == Auth::None,
        watcher: None,
    };
    let mut executor = Executor::new(limits, client);
    let idle = (env.config.idle_timeout > 0)
        .then(|| Duration::from_secs(u64::from(env.config.idle_timeout)));
    let mut shutdown = shared.shutdown.subscribe();
    let mut rbuf = BytesMut::new();
    let mut wbuf = BytesMut::new();
    let mut lent = LentBuffers {
        gauge: &stats.read_buf_count,
        lent: false,
    };
    // A transport that waits in a read (TLS, io_uring) waits for the next request in this
    // small buffer of the connection's own; the borrowed ones are taken once bytes arrive.
    let mut idle_buf = BytesMut::new();
    let ending = loop {
        let read = if rbuf.is_empty() {
            // Between requests the connection holds no borrowed buffer: wait until the client
            // sends.
            if lent.lent {
                return_buffer(std::mem::take(&mut rbuf));
                return_buffer(std::mem::take(&mut wbuf));
                lent.give_back();
            }
            info.set_state(ConnState::Waiting);
            let waited = tokio::select! {
                waited = stream.wait_for_request(&mut idle_buf) => Some(waited),
                _ = shutdown.wait_for(|stop| *stop) => break Ending::Shutdown,
                _ = sleep_or_never(idle) => None,
            };
            let Some(waited) = waited else {
                ConnectionStats::add(&stats.idle_kicks, 1);
                break Ending::IdleTimeout;
            };
            rbuf = borrow_buffer();
            wbuf = borrow_buffer();
            lent.lend();
            match waited {
                // Read while waiting: the request moves into the borrowed buffer.
                Ok(Some(read)) => {
                    rbuf.extend_from_slice(&idle_buf);
                    idle_buf.clear();
                    Ok(read)
                }
                Ok(None) => {
                    info.set_state(ConnState::Read);
                    read_more(&mut stream, &mut rbuf).await
                }
                Err(e) => Err(e),
            }
        } else {
            info.set_state(ConnState::Read);
            read_more(&mut stream, &mut rbuf).await
        };
        match read {
            Ok(0) => break Ending::Normal,
            Ok(n) => ConnectionStats::add(&stats.bytes_read, n as u64),
            Err(e) if e.kind() == ErrorKind::WouldBlock || e.kind() == ErrorKind::Interrupted => {
                continue
            }
            Err(e) => return Err(e),
        }
        let mut step_taken = None;
        loop {
            info.set_state(ConnState::ParseCmd);
            let step = executor.run(&mut rbuf, &shared.store, env, &mut wbuf);
            if !wbuf.is_empty() {
                info.set_state(ConnState::Write);
                stream.write_all(&mut wbuf).await?;
                ConnectionStats::add(&stats.bytes_written, wbuf.len() as u64);
                wbuf.clear();
                if wbuf.capacity() > KEEP_BUFFER {
                    wbuf = borrow_buffer();
                }
            }
            match step {
                Step::NeedInput => break,
                Step::Flush => {}
                // Let the worker's other connections run first.
                Step::Yield | Step::TakeTurns => tokio::task::yield_now().await,
                Step::Close | Step::Shutdown | Step::Watch => {
                    step_taken = Some(step);
                    break;
                }
            }
        }
        match step_taken {
            None => {}
            Some(Step::Shutdown) => {
                shared.request_shutdown();
                break Ending::Shutdown;
            }
            Some(Step::Watch) => {
                if let Some(watcher) = executor.client.watcher.take() {
                    info.set_state(ConnState::Watch);
                    let streamed = stream_log(&mut stream, &watcher, &mut shutdown).await;
                    env.events.detach(&watcher);
                    streamed?;
                }
                break Ending::Normal;
            }
            Some(_) => break Ending::Normal,
        }
    };
    Ok(ending)
}

/// Read into `rbuf`'s spare room, making some first if little is left. (A short read tells
/// tokio the socket is drained, which spares a read that would only say "would block".)
async fn read_more<T: Transport>(stream: &mut T, rbuf: &mut BytesMut) -> std::io::Result<usize> {
    if rbuf.capacity() - rbuf.len() < READ_SIZE / 4 {
        rbuf.reserve(READ_SIZE);
    }
    stream.read_buf(rbuf).await
}

async fn sleep_or_never(idle: Option<Duration>) {
    match idle {
        Some(idle) => tokio::time::sleep(idle).await,
        None => std::future::pending().await,
    }
}

/// A `watch` connection: write the log as it comes, until the client leaves (anything it
/// sends is ignored, as by memcached) or the server stops.
async fn stream_log<T: Transport>(
    stream: &mut T,
    watcher: &Watcher,
    shutdown: &mut tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<()> {
    loop {
        let lines = watcher.take();
        if !lines.is_empty() {
            stream.write_all(&mut BytesMut::from(&lines[..])).await?;
            continue;
        }
        tokio::select! {
            _ = watcher.ready() => {}
            read = stream.discard_input() => {
                match read {
                    Ok(0) => return Ok(()),
                    Ok(_) => {}
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) => return Err(e),
                }
            }
            _ = shutdown.wait_for(|stop| *stop) => return Ok(()),
        }
    }
}
