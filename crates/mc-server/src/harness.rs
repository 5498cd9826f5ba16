//! A whole connection without a socket: bytes in, the server's answer out, against a real
//! store. The fuzz target and tests drive the exact code path a TCP connection runs.

use std::sync::Arc;

use bytes::BytesMut;
use mc_proto::{Limits, RequestDecoder};

use crate::commands::{self, Control, Ctx};
use crate::config::Config;
use crate::server::Shared;

/// One simulated client connection to a fresh in-memory server.
#[derive(Debug)]
pub struct Harness {
    shared: Arc<Shared>,
    decoder: RequestDecoder,
    input: BytesMut,
    closed: bool,
}

impl Harness {
    /// A connection to a new server with `config` (only its store and limits matter here).
    pub fn new(config: Config) -> Harness {
        let limits = Limits {
            max_item_size: config.store.max_item_size,
            ..Limits::default()
        };
        Harness {
            shared: Shared::new(config),
            decoder: RequestDecoder::new(limits),
            input: BytesMut::new(),
            closed: false,
        }
    }

    /// Send bytes; returns what the server answers to them. Once the server has closed the
    /// connection, nothing more is read.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        if self.closed {
            return Vec::new();
        }
        self.input.extend_from_slice(bytes);
        let mut guard = self.shared.lock();
        let locked = &mut *guard;
        let mut ctx = Ctx {
            store: &mut locked.store,
            counters: &mut locked.counters,
            now: self.shared.clock.now(),
            out: &mut out,
            shared: &self.shared,
        };
        loop {
            let control = match self.decoder.decode(&mut self.input) {
                Ok(Some(request)) => commands::execute(request, &mut ctx),
                Ok(None) => break,
                Err(error) => commands::reject(error, &mut ctx),
            };
            if control != Control::Continue {
                self.closed = true;
                break;
            }
        }
        out.to_vec()
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
        self.shared.lock().store.len()
    }
}
