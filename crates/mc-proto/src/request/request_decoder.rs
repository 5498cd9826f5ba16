//! The incremental request decoder (the server side of the protocol).

use bytes::{Buf, Bytes, BytesMut};

use super::{
    AdminWords, Arithmetic, ArithmeticOp, CacheMemlimit, Delete, FlushAll, Get, GetCommand,
    LruCrawler, Request, ShutdownMode, Stats, StoreCommand, StoreRequest, Touch, Verbosity,
};
use crate::codec_error::{RequestError, RequestErrorKind};
use crate::limits::{item_size, DEFAULT_MAX_ITEM_SIZE, MAX_LINE_LENGTH};
use crate::meta::{MetaArithmetic, MetaDebug, MetaDelete, MetaGet, MetaSet, MetaSetHeader};
use crate::request::store_request::StoreHeader;
use crate::tokens::Tokens;

/// Bounds the decoder enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// memcached's `-I`: items larger than this (as [`crate::item_size`] counts them) are refused
    /// with `SERVER_ERROR object too large for cache`, and their data is skipped without being
    /// buffered.
    pub max_item_size: usize,
    /// The longest `get`/`gets` line accepted. memcached has no such bound; without one a client
    /// could make the server buffer without limit. 10,000 keys of 250 bytes fit in the default.
    pub max_get_line: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_item_size: DEFAULT_MAX_ITEM_SIZE,
            max_get_line: 4 * 1024 * 1024,
        }
    }
}

/// What the decoder is in the middle of.
#[derive(Debug)]
enum State {
    /// Looking for the next command line; `scanned` bytes are known to hold no newline.
    Line { scanned: usize },
    /// A storage command line was read; its data block (plus CRLF) comes next.
    Data(Pending),
    /// Discarding the data block of a refused storage command.
    Swallow { remaining: usize },
}

#[derive(Debug)]
enum Pending {
    Store(StoreRequest, usize),
    MetaSet(MetaSetHeader),
}

impl Pending {
    fn len(&self) -> usize {
        match self {
            Pending::Store(_, len) => *len,
            Pending::MetaSet(h) => h.len,
        }
    }
}

/// Decodes requests from a byte stream, one at a time, exactly as memcached 1.6 reads them.
///
/// Feed it the connection's read buffer: [`RequestDecoder::decode`] removes the bytes of each
/// request it returns. Input that is merely incomplete yields `Ok(None)`, however it was split.
/// A malformed request yields an [`RequestError`] carrying memcached's reply; the bad bytes are
/// consumed (and a refused data block will be skipped), so decoding can go on unless
/// [`RequestError::closes_connection`] says otherwise.
#[derive(Debug)]
pub struct RequestDecoder {
    limits: Limits,
    state: State,
}

impl Default for RequestDecoder {
    fn default() -> Self {
        RequestDecoder::new(Limits::default())
    }
}

impl RequestDecoder {
    /// A decoder with the given limits.
    pub fn new(limits: Limits) -> RequestDecoder {
        RequestDecoder {
            limits,
            state: State::Line { scanned: 0 },
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Decode the next request from `buf`, consuming its bytes.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Request>, RequestError> {
        loop {
            // The state is taken out and put back unless it moves on.
            match std::mem::replace(&mut self.state, State::Line { scanned: 0 }) {
                State::Swallow { remaining } => {
                    let n = remaining.min(buf.len());
                    buf.advance(n);
                    if remaining > n {
                        self.state = State::Swallow {
                            remaining: remaining - n,
                        };
                        return Ok(None);
                    }
                }
                State::Data(pending) => {
                    let len = pending.len();
                    if buf.len() < len + 2 {
                        self.state = State::Data(pending);
                        return Ok(None);
                    }
                    let mut block = buf.split_to(len + 2).freeze();
                    return finish_data(pending, &mut block).map(Some);
                }
                State::Line { scanned } => {
                    // The caller owns the buffer; never trust it to have kept its bytes.
                    let scanned = scanned.min(buf.len());
                    let Some(found) = memchr::memchr(b'\n', &buf[scanned..]) else {
                        self.check_length(buf, buf.len())?;
                        self.state = State::Line { scanned: buf.len() };
                        return Ok(None);
                    };
                    let newline = scanned + found;
                    self.check_length(buf, newline)?;
                    let mut line = buf.split_to(newline + 1).freeze();
                    line.truncate(content_len(&line, newline));
                    match self.parse_line(line)? {
                        Parsed::Done(request) => return Ok(Some(request)),
                        Parsed::AwaitData(pending) => self.state = State::Data(pending),
                    }
                }
            }
        }
    }

    /// memcached gives up on a connection whose line reaches past 2048 bytes, unless the line
    /// is a multi-get; we apply the rule to the line length, so the outcome does not depend on
    /// how the bytes were split across reads.
    fn check_length(&self, buf: &[u8], line_len: usize) -> Result<(), RequestError> {
        if line_len <= MAX_LINE_LENGTH {
            return Ok(());
        }
        if !is_multiget(buf) {
            return Err(RequestError::always(RequestErrorKind::LineTooLong));
        }
        if line_len > self.limits.max_get_line {
            return Err(RequestError::always(RequestErrorKind::GetLineTooLong));
        }
        Ok(())
    }

    fn parse_line(&mut self, line: Bytes) -> Result<Parsed, RequestError> {
        // The hot path: a plain `get`/`gets` needs no tokenizing.
        if line.starts_with(b"get ") {
            return Ok(Parsed::Done(Request::Get(Get::parse_fast(
                GetCommand::Get,
                line,
                4,
            )?)));
        }
        if line.starts_with(b"gets ") {
            return Ok(Parsed::Done(Request::Get(Get::parse_fast(
                GetCommand::Gets,
                line,
                5,
            )?)));
        }
        let tokens = Tokens::split(&line);
        let unknown = || Err(RequestError::always(RequestErrorKind::UnknownCommand));
        let command = tokens.get(&line, 0);
        if command.len() < 2 {
            return unknown();
        }
        let done = |r: Request| Ok(Parsed::Done(r));
        if command.len() == 2 && command[0] == b'm' {
            return match command[1] {
                b'g' => done(Request::MetaGet(MetaGet::parse(&line, &tokens)?)),
                b's' => self.meta_set(&line, &tokens),
                b'd' => done(Request::MetaDelete(MetaDelete::parse(&line, &tokens)?)),
                b'a' => done(Request::MetaArithmetic(MetaArithmetic::parse(
                    &line, &tokens,
                )?)),
                b'n' => done(Request::MetaNoop),
                b'e' => done(Request::MetaDebug(MetaDebug::parse(&line, &tokens)?)),
                _ => unknown(),
            };
        }
        let arithmetic = |op| done(Request::Arithmetic(Arithmetic::parse(op, &line, &tokens)?));
        let get_command = match command {
            b"get" | b"bget" => Some(GetCommand::Get),
            b"gets" => Some(GetCommand::Gets),
            b"gat" => Some(GetCommand::Gat),
            b"gats" => Some(GetCommand::Gats),
            _ => None,
        };
        if let Some(get_command) = get_command {
            return done(Request::Get(Get::parse(get_command, line, &tokens)?));
        }
        match command {
            // memcached requires three tokens before it even looks at a `g...` command's name.
            _ if command[0] == b'g' => unknown(),
            b"set" => self.store(StoreCommand::Set, &line, &tokens),
            b"add" => self.store(StoreCommand::Add, &line, &tokens),
            b"replace" => self.store(StoreCommand::Replace, &line, &tokens),
            b"append" => self.store(StoreCommand::Append, &line, &tokens),
            b"prepend" => self.store(StoreCommand::Prepend, &line, &tokens),
            b"cas" => self.store(StoreCommand::Cas, &line, &tokens),
            b"delete" => done(Request::Delete(Delete::parse(&line, &tokens)?)),
            b"incr" => arithmetic(ArithmeticOp::Incr),
            b"decr" => arithmetic(ArithmeticOp::Decr),
            b"touch" => done(Request::Touch(Touch::parse(&line, &tokens)?)),
            b"flush_all" => done(Request::FlushAll(FlushAll::parse(&line, &tokens)?)),
            b"version" => done(Request::Version),
            b"verbosity" => done(Request::Verbosity(Verbosity::parse(&line, &tokens)?)),
            b"quit" => done(Request::Quit),
            b"stats" => done(Request::Stats(Stats::parse(&line, &tokens))),
            b"shutdown" => done(Request::Shutdown(ShutdownMode::parse(&line, &tokens))),
            b"lru_crawler" => done(Request::LruCrawler(LruCrawler::parse(&line, &tokens))),
            b"watch" => done(Request::Watch(AdminWords::parse(&line, &tokens))),
            b"slabs" => done(Request::Slabs(AdminWords::parse(&line, &tokens))),
            // memcached wants at least one word after `lru`.
            b"lru" if tokens.count() >= 2 => done(Request::Lru(AdminWords::parse(&line, &tokens))),
            b"refresh_certs" => done(Request::RefreshCerts),
            b"cache_memlimit" => done(Request::CacheMemlimit(CacheMemlimit::parse(
                &line, &tokens,
            )?)),
            // memcached closes on what looks like HTTP, but only for lines that do not start
            // like one of its own commands.
            _ if !b"sacidt".contains(&command[0]) && tokens.last(&line).starts_with(b"HTTP/") => {
                Err(RequestError::always(RequestErrorKind::HttpRequest))
            }
            _ => unknown(),
        }
    }

    fn store(
        &mut self,
        command: StoreCommand,
        line: &Bytes,
        tokens: &Tokens,
    ) -> Result<Parsed, RequestError> {
        let header = StoreHeader::parse(command, line, tokens)?;
        let key_len = header.key.1 - header.key.0;
        if item_size(key_len, header.flags, header.len) > self.limits.max_item_size {
            self.state = State::Swallow {
                remaining: header.len + 2,
            };
            // memcached drops the old value on a failed `set`, so it is not served stale.
            let stale_key =
                (command == StoreCommand::Set).then(|| line.slice(header.key.0..header.key.1));
            return Err(RequestError::new(
                RequestErrorKind::TooLarge { stale_key },
                header.noreply,
            ));
        }
        let len = header.len;
        Ok(Parsed::AwaitData(Pending::Store(
            header.into_store(line),
            len,
        )))
    }

    fn meta_set(&mut self, line: &Bytes, tokens: &Tokens) -> Result<Parsed, RequestError> {
        let header = match MetaSetHeader::parse(line, tokens) {
            Ok(header) => header,
            Err(rejected) => {
                if rejected.swallow > 0 {
                    self.state = State::Swallow {
                        remaining: rejected.swallow,
                    };
                }
                return Err(rejected.error);
            }
        };
        let flags = header.flags.options().client_flags.unwrap_or(0);
        if item_size(header.key.len(), flags, header.len) > self.limits.max_item_size {
            self.state = State::Swallow {
                remaining: header.len + 2,
            };
            return Err(RequestError::always(RequestErrorKind::TooLarge {
                stale_key: Some(header.key),
            }));
        }
        Ok(Parsed::AwaitData(Pending::MetaSet(header)))
    }
}

enum Parsed {
    Done(Request),
    AwaitData(Pending),
}

/// Attach a complete data block (value plus two terminator bytes) to its command.
fn finish_data(pending: Pending, block: &mut Bytes) -> Result<Request, RequestError> {
    let len = block.len() - 2;
    let terminated = &block[len..] == b"\r\n";
    block.truncate(len);
    match pending {
        Pending::Store(mut store, _) => {
            if !terminated {
                return Err(RequestError::new(
                    RequestErrorKind::BadDataChunk,
                    store.noreply,
                ));
            }
            store.data = block.clone();
            Ok(Request::Store(store))
        }
        Pending::MetaSet(header) => {
            if !terminated {
                // memcached always reports this for meta commands, even in quiet mode.
                return Err(RequestError::always(RequestErrorKind::BadDataChunk));
            }
            Ok(Request::MetaSet(MetaSet {
                key: header.key,
                flags: header.flags,
                data: block.clone(),
            }))
        }
    }
}

/// The length of a line's content: memcached strips the `\n`, a `\r` before it (unless the line
/// is only `\r\n`), and ignores everything from the first NUL byte on, as C strings do.
fn content_len(line: &[u8], newline: usize) -> usize {
    let mut end = newline;
    if end > 1 && line[end - 1] == b'\r' {
        end -= 1;
    }
    memchr::memchr(0, &line[..end]).unwrap_or(end)
}

/// memcached's test for a multi-get that may exceed the line limit: `get ` or `gets ` after at
/// most 100 leading spaces.
fn is_multiget(buf: &[u8]) -> bool {
    let spaces = buf.iter().take_while(|&&b| b == b' ').count();
    if spaces > 100 {
        return false;
    }
    let rest = &buf[spaces..];
    rest.starts_with(b"get ") || rest.starts_with(b"gets ")
}
