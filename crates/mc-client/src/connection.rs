//! One pipelined connection: many tasks send requests through it without waiting for each
//! other; a writer task batches what is queued into one write, a reader task hands each answer
//! to whoever is next in line.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use mc_proto::{Response, ResponseDecoder, Value};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

use crate::client_error::{Error, Result};
use crate::server::ServerAddr;

/// What shape of answer a request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Expect {
    /// One line (`STORED`, `DELETED`, a number, `VERSION ...`, `OK` ...).
    Line,
    /// `VALUE` items up to `END`.
    Values,
    /// `STAT` lines up to `END`.
    Stats,
    /// Nothing (`noreply`).
    Nothing,
}

/// An answer.
#[derive(Debug)]
pub(crate) enum Reply {
    Line(Response),
    Values(Vec<Value>),
    Stats(Vec<(Bytes, Bytes)>),
    Sent,
}

struct Job {
    bytes: Bytes,
    expect: Expect,
    reply: oneshot::Sender<Result<Reply>>,
}

struct Waiting {
    expect: Expect,
    reply: oneshot::Sender<Result<Reply>>,
}

/// Shared between a connection's handle and its tasks: set once the connection is done for.
#[derive(Debug, Default)]
struct Broken {
    flag: AtomicBool,
    notify: tokio::sync::Notify,
}

impl Broken {
    fn set(&self) {
        self.flag.store(true, Ordering::Relaxed);
        self.notify.notify_waiters();
    }

    fn is_set(&self) -> bool {
        self.flag.load(Ordering::Relaxed)
    }
}

/// A handle to a connection; cheap to clone.
#[derive(Debug, Clone)]
pub(crate) struct Connection {
    jobs: mpsc::UnboundedSender<Job>,
    broken: Arc<Broken>,
}

trait Io: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Io for T {}

impl Connection {
    /// Connect and start the connection's tasks on the current runtime.
    pub(crate) async fn open(
        addr: &ServerAddr,
        connect_timeout: Duration,
        max_value: usize,
    ) -> Result<Connection> {
        let io_error = |source| Error::Io {
            server: addr.to_string(),
            source,
        };
        let stream: Box<dyn Io> = match addr {
            ServerAddr::Tcp(host) => {
                let stream = tokio::time::timeout(
                    connect_timeout,
                    tokio::net::TcpStream::connect(host.as_str()),
                )
                .await
                .map_err(|_| Error::Timeout(addr.to_string()))?
                .map_err(io_error)?;
                stream.set_nodelay(true).map_err(io_error)?;
                Box::new(stream)
            }
            ServerAddr::Unix(path) => {
                let stream =
                    tokio::time::timeout(connect_timeout, tokio::net::UnixStream::connect(path))
                        .await
                        .map_err(|_| Error::Timeout(addr.to_string()))?
                        .map_err(io_error)?;
                Box::new(stream)
            }
        };
        let (reader, writer) = tokio::io::split(stream);
        let (jobs, job_rx) = mpsc::unbounded_channel();
        let (wait_tx, wait_rx) = mpsc::unbounded_channel();
        let broken = Arc::new(Broken::default());
        let name = addr.to_string();
        tokio::spawn(write_loop(
            writer,
            job_rx,
            wait_tx,
            broken.clone(),
            name.clone(),
        ));
        tokio::spawn(read_loop(reader, wait_rx, broken.clone(), name, max_value));
        Ok(Connection { jobs, broken })
    }

    /// True once the connection failed; it must be replaced.
    pub(crate) fn is_broken(&self) -> bool {
        self.broken.is_set() || self.jobs.is_closed()
    }

    /// Drop the connection: pending requests fail and the socket is closed.
    pub(crate) fn close(&self) {
        self.broken.set();
    }

    /// Send one request and wait for its answer.
    pub(crate) async fn call(
        &self,
        bytes: Bytes,
        expect: Expect,
        timeout: Duration,
        server: &str,
    ) -> Result<Reply> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job {
                bytes,
                expect,
                reply,
            })
            .map_err(|_| closed(server))?;
        match tokio::time::timeout(timeout, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(closed(server)),
            Err(_) => {
                // The answer may still come; the stream is no longer trusted to be in step
                // with what callers expect, so the connection is dropped.
                self.close();
                Err(Error::Timeout(server.to_string()))
            }
        }
    }
}

fn closed(server: &str) -> Error {
    Error::Io {
        server: server.to_string(),
        source: std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "connection closed"),
    }
}

async fn write_loop(
    mut writer: tokio::io::WriteHalf<Box<dyn Io>>,
    mut jobs: mpsc::UnboundedReceiver<Job>,
    waiting: mpsc::UnboundedSender<Waiting>,
    broken: Arc<Broken>,
    server: String,
) {
    let mut buf = BytesMut::new();
    while let Some(first) = jobs.recv().await {
        if broken.is_set() {
            let _ = first.reply.send(Err(closed(&server)));
            continue;
        }
        let mut sent_now = Vec::new();
        let mut next = Some(first);
        // Everything queued goes out in one write.
        while let Some(job) = next {
            buf.extend_from_slice(&job.bytes);
            if job.expect == Expect::Nothing {
                sent_now.push(job.reply);
            } else if waiting
                .send(Waiting {
                    expect: job.expect,
                    reply: job.reply,
                })
                .is_err()
            {
                broken.set();
            }
            next = jobs.try_recv().ok();
        }
        let result = writer.write_all(&buf).await;
        buf.clear();
        match result {
            Ok(()) => {
                for reply in sent_now {
                    let _ = reply.send(Ok(Reply::Sent));
                }
            }
            Err(e) => {
                broken.set();
                for reply in sent_now {
                    let _ = reply.send(Err(Error::Io {
                        server: server.clone(),
                        source: std::io::Error::new(e.kind(), e.to_string()),
                    }));
                }
                break;
            }
        }
    }
    // Dropping `waiting` lets the reader finish the requests already written.
}

async fn read_loop(
    mut reader: tokio::io::ReadHalf<Box<dyn Io>>,
    mut waiting: mpsc::UnboundedReceiver<Waiting>,
    broken: Arc<Broken>,
    server: String,
    max_value: usize,
) {
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let mut decoder = ResponseDecoder::new(max_value.saturating_add(1024));
    while let Some(job) = waiting.recv().await {
        let result = read_reply(
            &mut reader,
            &mut buf,
            &mut decoder,
            job.expect,
            &server,
            &broken,
        )
        .await;
        let failed = result.is_err();
        let _ = job.reply.send(result);
        if failed {
            broken.set();
            // Everything still waiting fails: the stream is out of step.
            waiting.close();
            while let Some(job) = waiting.recv().await {
                let _ = job.reply.send(Err(closed(&server)));
            }
            return;
        }
    }
}

async fn next_response(
    reader: &mut tokio::io::ReadHalf<Box<dyn Io>>,
    buf: &mut BytesMut,
    decoder: &mut ResponseDecoder,
    server: &str,
    broken: &Broken,
) -> Result<Response> {
    loop {
        if let Some(response) = decoder.decode(buf)? {
            return Ok(response);
        }
        let notified = broken.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if broken.is_set() {
            return Err(closed(server));
        }
        tokio::select! {
            read = reader.read_buf(buf) => match read {
                Ok(0) => return Err(closed(server)),
                Ok(_) => {}
                Err(source) => return Err(Error::Io { server: server.to_string(), source }),
            },
            _ = notified => return Err(closed(server)),
        }
    }
}

async fn read_reply(
    reader: &mut tokio::io::ReadHalf<Box<dyn Io>>,
    buf: &mut BytesMut,
    decoder: &mut ResponseDecoder,
    expect: Expect,
    server: &str,
    broken: &Broken,
) -> Result<Reply> {
    let unexpected =
        |r: &Response| Error::Protocol(format!("unexpected answer {r:?} from {server}"));
    match expect {
        Expect::Nothing => Ok(Reply::Sent),
        Expect::Line => {
            let response = next_response(reader, buf, decoder, server, broken).await?;
            match response {
                Response::Value(_) | Response::Stat { .. } => Err(unexpected(&response)),
                other => Ok(Reply::Line(other)),
            }
        }
        Expect::Values => {
            let mut values = Vec::new();
            loop {
                match next_response(reader, buf, decoder, server, broken).await? {
                    Response::Value(v) => values.push(v),
                    Response::End => return Ok(Reply::Values(values)),
                    // An error line ends a retrieval too (e.g. CLIENT_ERROR for a bad key).
                    r @ (Response::Error(_)
                    | Response::ClientError(_)
                    | Response::ServerError(_)) => return Ok(Reply::Line(r)),
                    other => return Err(unexpected(&other)),
                }
            }
        }
        Expect::Stats => {
            let mut stats = Vec::new();
            loop {
                match next_response(reader, buf, decoder, server, broken).await? {
                    Response::Stat { name, value } => stats.push((name, value)),
                    Response::End => return Ok(Reply::Stats(stats)),
                    r @ (Response::Error(_)
                    | Response::ClientError(_)
                    | Response::ServerError(_)) => return Ok(Reply::Line(r)),
                    other => return Err(unexpected(&other)),
                }
            }
        }
    }
}
