//! A whole connection without a socket: bytes in, the server's answer out, against a real
//! store. It runs the same executor a TCP connection runs, slice by slice, so the
//! connection fuzz target and tests exercise the code that serves sockets. Crawls that
//! `lru_crawler crawl` asks for run inline, at the end of the feed that asked.

use std::sync::Arc;

use bytes::BytesMut;
use mc_proto::Limits;

use crate::client_state::ClientState;
use crate::config::{Auth, Config};
use crate::environment::Environment;
use crate::event_log::Watcher;
use crate::executor::{Executor, Step};
use crate::store_shards::StoreShards;

pub use crate::executor::{SLICE_STEPS, WRITE_BUDGET};

/// One simulated client connection to a fresh in-memory server.
#[derive(Debug)]
pub struct Harness {
    store: StoreShards,
    env: Environment,
    executor: Executor,
    input: BytesMut,
    closed: bool,
    watching: Option<Arc<Watcher>>,
    largest_write: usize,
}

impl Harness {
    /// A connection to a new server with `config` (only its store and limits matter here).
    pub fn new(config: Config) -> Harness {
        let limits = Limits {
            max_item_size: config.store.max_item_size,
            ..Limits::default()
        };
        let client = ClientState {
            id: 1,
            authenticated: config.auth == Auth::None,
            ..ClientState::default()
        };
        let mut executor = Executor::new(limits, client);
        // `verbosity 2` from a fuzz input must not flood the fuzzer's terminal.
        executor.mute_verbose();
        Harness {
            store: StoreShards::for_config(&config, None),
            env: Environment::new(config),
            executor,
            input: BytesMut::new(),
            closed: false,
            watching: None,
            largest_write: 0,
        }
    }

    /// Send bytes; returns what the server answers to them. Once the server has closed the
    /// connection, nothing more is read; once it streams a `watch` log, input is ignored and
    /// each feed returns the log lines queued since the last.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut answer = Vec::new();
        if let Some(watcher) = &self.watching {
            return watcher.take();
        }
        if self.closed {
            return answer;
        }
        self.input.extend_from_slice(bytes);
        let mut out = BytesMut::new();
        loop {
            let step = self
                .executor
                .run(&mut self.input, &self.store, &self.env, &mut out);
            // What a connection would write out at this point.
            self.largest_write = self.largest_write.max(out.len());
            answer.extend_from_slice(&out);
            out.clear();
            match step {
                Step::NeedInput => break,
                Step::Flush | Step::Yield | Step::TakeTurns => {}
                Step::Watch => {
                    let watcher = self.executor.client.watcher.clone();
                    if let Some(watcher) = &watcher {
                        answer.extend_from_slice(&watcher.take());
                    }
                    self.watching = watcher;
                    break;
                }
                Step::Close | Step::Shutdown => {
                    self.closed = true;
                    break;
                }
            }
        }
        while let Some(classes) = self.env.crawler.take_job() {
            self.env
                .crawler
                .crawl(classes, &self.store, &self.env, false, || false);
        }
        answer
    }

    /// True once the server closed the connection.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Bytes received but not yet part of a complete request.
    pub fn buffered(&self) -> usize {
        self.input.len()
    }

    /// Items in the store.
    pub fn items(&self) -> usize {
        self.store.len()
    }

    /// The most answer bytes the connection ever held before writing them out: the
    /// per-connection memory a request can make the server use for its answer.
    pub fn largest_write(&self) -> usize {
        self.largest_write
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        if let Some(watcher) = &self.watching {
            self.env.events.detach(watcher);
        }
    }
}
