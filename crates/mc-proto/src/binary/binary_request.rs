//! Binary requests, typed: what a server decodes and a client encodes.

use bytes::{BufMut, Bytes, BytesMut};

use super::binary_header::{Header, REQUEST_MAGIC};
use super::opcode;
use crate::StoreCommand;

/// A decoded binary request: its header (for the opcode and opaque the response echoes) and
/// what it asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryRequest {
    /// The request's header, as received.
    pub header: Header,
    /// The command.
    pub command: BinaryCommand,
}

/// What a binary request asks. `quiet` marks the `…Q` opcodes, which answer only errors (and,
/// for the gets, hits).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BinaryCommand {
    /// `GET`, `GETQ`, `GETK`, `GETKQ`.
    Get {
        /// The key.
        key: Bytes,
        /// Answer misses with nothing.
        quiet: bool,
        /// Put the key in the answer (`GETK`).
        with_key: bool,
    },
    /// `GAT`, `GATQ`, `GATK`, `GATKQ`: get and set a new expiry.
    GetAndTouch {
        /// The key.
        key: Bytes,
        /// The new expiry (memcached's exptime, unsigned).
        exptime: u32,
        /// Answer misses with nothing.
        quiet: bool,
        /// Put the key in the answer.
        with_key: bool,
    },
    /// `TOUCH`: set a new expiry, answer flags only.
    Touch {
        /// The key.
        key: Bytes,
        /// The new expiry.
        exptime: u32,
    },
    /// `SET`/`ADD`/`REPLACE` (with flags and expiry), `APPEND`/`PREPEND`, and their quiet
    /// forms. A non-zero `cas` makes any of them a compare-and-swap.
    Store {
        /// Which storage command.
        command: StoreCommand,
        /// The key.
        key: Bytes,
        /// Client flags (0 for append/prepend).
        flags: u32,
        /// Expiry (0 for append/prepend).
        exptime: u32,
        /// CAS unique to compare, or 0.
        cas: u64,
        /// The value.
        value: Bytes,
        /// Answer only errors.
        quiet: bool,
    },
    /// `DELETE`, `DELETEQ`.
    Delete {
        /// The key.
        key: Bytes,
        /// CAS unique to compare, or 0.
        cas: u64,
        /// Answer only errors.
        quiet: bool,
    },
    /// `INCREMENT`/`DECREMENT` and quiet forms; a miss creates the counter at `initial`
    /// unless `exptime` is `0xffffffff`.
    Arithmetic {
        /// Increment (or decrement).
        incr: bool,
        /// The key.
        key: Bytes,
        /// The amount.
        delta: u64,
        /// The value a missing counter starts at.
        initial: u64,
        /// Expiry of a created counter; `0xffffffff`: do not create.
        exptime: u32,
        /// CAS unique to compare, or 0.
        cas: u64,
        /// Answer only errors.
        quiet: bool,
    },
    /// `QUIT`, `QUITQ`.
    Quit {
        /// Close without answering.
        quiet: bool,
    },
    /// `FLUSH`, `FLUSHQ`, with an optional delay.
    Flush {
        /// Invalidate at this expiry time instead of now.
        delay: Option<u32>,
        /// Answer only errors.
        quiet: bool,
    },
    /// `NOOP`: answered at once (ends a batch of quiet requests).
    Noop,
    /// `VERSION`.
    Version,
    /// `STAT` with a group name as key (empty: the general statistics).
    Stat {
        /// The group (`settings`, `items`, `detail dump`...).
        group: Bytes,
    },
    /// `SASL_LIST_MECHS`.
    SaslListMechs,
    /// `SASL_AUTH` with a mechanism and its first message.
    SaslAuth {
        /// The mechanism (`PLAIN`).
        mechanism: Bytes,
        /// The client's message.
        data: Bytes,
    },
    /// `SASL_STEP`.
    SaslStep {
        /// The mechanism.
        mechanism: Bytes,
        /// The client's message.
        data: Bytes,
    },
}

impl BinaryCommand {
    /// The opcode this command is sent with.
    pub fn opcode(&self) -> u8 {
        use opcode::*;
        let pick = |quiet: bool, loud: u8, silent: u8| if quiet { silent } else { loud };
        match self {
            BinaryCommand::Get {
                quiet,
                with_key: false,
                ..
            } => pick(*quiet, GET, GETQ),
            BinaryCommand::Get {
                quiet,
                with_key: true,
                ..
            } => pick(*quiet, GETK, GETKQ),
            BinaryCommand::GetAndTouch {
                quiet,
                with_key: false,
                ..
            } => pick(*quiet, GAT, GATQ),
            BinaryCommand::GetAndTouch {
                quiet,
                with_key: true,
                ..
            } => pick(*quiet, GATK, GATKQ),
            BinaryCommand::Touch { .. } => TOUCH,
            BinaryCommand::Store { command, quiet, .. } => match command {
                StoreCommand::Set | StoreCommand::Cas => pick(*quiet, SET, SETQ),
                StoreCommand::Add => pick(*quiet, ADD, ADDQ),
                StoreCommand::Replace => pick(*quiet, REPLACE, REPLACEQ),
                StoreCommand::Append => pick(*quiet, APPEND, APPENDQ),
                StoreCommand::Prepend => pick(*quiet, PREPEND, PREPENDQ),
            },
            BinaryCommand::Delete { quiet, .. } => pick(*quiet, DELETE, DELETEQ),
            BinaryCommand::Arithmetic {
                incr: true, quiet, ..
            } => pick(*quiet, INCREMENT, INCREMENTQ),
            BinaryCommand::Arithmetic {
                incr: false, quiet, ..
            } => pick(*quiet, DECREMENT, DECREMENTQ),
            BinaryCommand::Quit { quiet } => pick(*quiet, QUIT, QUITQ),
            BinaryCommand::Flush { quiet, .. } => pick(*quiet, FLUSH, FLUSHQ),
            BinaryCommand::Noop => NOOP,
            BinaryCommand::Version => VERSION,
            BinaryCommand::Stat { .. } => STAT,
            BinaryCommand::SaslListMechs => SASL_LIST_MECHS,
            BinaryCommand::SaslAuth { .. } => SASL_AUTH,
            BinaryCommand::SaslStep { .. } => SASL_STEP,
        }
    }

    /// Append the request's wire form, with `opaque` to be echoed.
    pub fn encode(&self, opaque: u32, dst: &mut BytesMut) {
        let mut extras = BytesMut::new();
        let (key, value, cas): (&[u8], &[u8], u64) = match self {
            BinaryCommand::Get { key, .. } => (key, &[], 0),
            BinaryCommand::GetAndTouch { key, exptime, .. }
            | BinaryCommand::Touch { key, exptime } => {
                extras.put_u32(*exptime);
                (key, &[], 0)
            }
            BinaryCommand::Store {
                command,
                key,
                flags,
                exptime,
                cas,
                value,
                ..
            } => {
                if !matches!(command, StoreCommand::Append | StoreCommand::Prepend) {
                    extras.put_u32(*flags);
                    extras.put_u32(*exptime);
                }
                (key, value, *cas)
            }
            BinaryCommand::Delete { key, cas, .. } => (key, &[], *cas),
            BinaryCommand::Arithmetic {
                key,
                delta,
                initial,
                exptime,
                cas,
                ..
            } => {
                extras.put_u64(*delta);
                extras.put_u64(*initial);
                extras.put_u32(*exptime);
                (key, &[], *cas)
            }
            BinaryCommand::Flush { delay, .. } => {
                if let Some(delay) = delay {
                    extras.put_u32(*delay);
                }
                (&[], &[], 0)
            }
            BinaryCommand::Quit { .. }
            | BinaryCommand::Noop
            | BinaryCommand::Version
            | BinaryCommand::SaslListMechs => (&[], &[], 0),
            BinaryCommand::Stat { group } => (group, &[], 0),
            BinaryCommand::SaslAuth { mechanism, data }
            | BinaryCommand::SaslStep { mechanism, data } => (mechanism, data, 0),
        };
        Header {
            magic: REQUEST_MAGIC,
            opcode: self.opcode(),
            key_len: key.len() as u16,
            extras_len: extras.len() as u8,
            data_type: 0,
            status: 0,
            body_len: (extras.len() + key.len() + value.len()) as u32,
            opaque,
            cas,
        }
        .encode(dst);
        dst.put_slice(&extras);
        dst.put_slice(key);
        dst.put_slice(value);
    }
}
