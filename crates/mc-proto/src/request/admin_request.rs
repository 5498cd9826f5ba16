//! Administrative commands: `verbosity`, `stats`, `shutdown`, `cache_memlimit`, `lru_crawler`,
//! `watch`, `slabs`, `lru`, `refresh_certs`.

use bytes::{BufMut, Bytes, BytesMut};

use super::{number_argument, put_noreply, put_number};
use crate::codec_error::{RequestError, RequestErrorKind};
use crate::tokens::Tokens;

/// `verbosity <level> [noreply]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verbosity {
    /// The requested logging level.
    pub level: u32,
    /// Do not answer.
    pub noreply: bool,
}

impl Verbosity {
    pub(crate) fn parse(line: &Bytes, tokens: &Tokens) -> Result<Verbosity, RequestError> {
        let (level, noreply) = number_argument(line, tokens, RequestErrorKind::BadCommandLine)?;
        Ok(Verbosity { level, noreply })
    }

    /// Append the wire form.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.put_slice(b"verbosity ");
        put_number(dst, self.level);
        put_noreply(dst, self.noreply);
        dst.put_slice(b"\r\n");
    }
}

/// `stats [group [args...]]`: `stats`, `stats settings`, `stats items`, `stats slabs`,
/// `stats reset`, ...
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    /// The words after `stats`; empty for the general statistics.
    pub args: Vec<Bytes>,
}

impl Stats {
    pub(crate) fn parse(line: &Bytes, tokens: &Tokens) -> Stats {
        Stats {
            args: (1..tokens.count())
                .map(|i| {
                    let (s, e) = tokens.span(i);
                    line.slice(s..e)
                })
                .collect(),
        }
    }

    /// The statistics group (`settings`, `items`, ...), or `None` for the general ones.
    pub fn group(&self) -> Option<&[u8]> {
        self.args.first().map(|b| &b[..])
    }

    /// Append the wire form.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.put_slice(b"stats");
        for arg in &self.args {
            dst.put_u8(b' ');
            dst.put_slice(arg);
        }
        dst.put_slice(b"\r\n");
    }
}

/// `shutdown [graceful]`. memcached answers `ERROR: shutdown not enabled` unless started with
/// `-A`, so the decision belongs to the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownMode {
    /// `shutdown`
    Immediate,
    /// `shutdown graceful`
    Graceful,
    /// Any other argument (`CLIENT_ERROR invalid shutdown mode` when shutdown is enabled).
    Invalid,
}

impl ShutdownMode {
    pub(crate) fn parse(line: &Bytes, tokens: &Tokens) -> ShutdownMode {
        match tokens.ntokens() {
            2 => ShutdownMode::Immediate,
            3 if tokens.get(line, 1) == b"graceful" => ShutdownMode::Graceful,
            _ => ShutdownMode::Invalid,
        }
    }

    /// Append the wire form (`Invalid` is sent as an unknown mode word).
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.put_slice(match self {
            ShutdownMode::Immediate => b"shutdown\r\n".as_slice(),
            ShutdownMode::Graceful => b"shutdown graceful\r\n",
            ShutdownMode::Invalid => b"shutdown invalid\r\n",
        });
    }
}

/// `cache_memlimit <megabytes> [noreply]`: change the memory limit at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheMemlimit {
    /// The new limit in megabytes.
    pub megabytes: u32,
    /// Do not answer.
    pub noreply: bool,
}

impl CacheMemlimit {
    pub(crate) fn parse(line: &Bytes, tokens: &Tokens) -> Result<CacheMemlimit, RequestError> {
        // memcached answers a malformed size with a plain `ERROR`.
        let (megabytes, noreply) = number_argument(line, tokens, RequestErrorKind::UnknownCommand)?;
        Ok(CacheMemlimit { megabytes, noreply })
    }

    /// Append the wire form.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.put_slice(b"cache_memlimit ");
        put_number(dst, self.megabytes);
        put_noreply(dst, self.noreply);
        dst.put_slice(b"\r\n");
    }
}

/// `lru_crawler <args...>`: the crawler's commands; servers here implement `metadump`, which
/// lists every item (a full key scan).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LruCrawler {
    /// The words after `lru_crawler` (e.g. `metadump all`).
    pub args: Vec<Bytes>,
}

impl LruCrawler {
    pub(crate) fn parse(line: &Bytes, tokens: &Tokens) -> LruCrawler {
        LruCrawler {
            args: Stats::parse(line, tokens).args,
        }
    }

    /// Append the wire form.
    pub fn encode(&self, dst: &mut BytesMut) {
        dst.put_slice(b"lru_crawler");
        for arg in &self.args {
            dst.put_u8(b' ');
            dst.put_slice(arg);
        }
        dst.put_slice(b"\r\n");
    }
}

/// The admin commands that are a name and words: `watch [types...]`, `slabs <reassign|automove>
/// ...`, `lru <tune|mode|temp_ttl> ...`, `refresh_certs`. Their words are interpreted by the
/// server, which owns the settings they change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminWords {
    /// The words after the command name.
    pub args: Vec<Bytes>,
}

impl AdminWords {
    pub(crate) fn parse(line: &Bytes, tokens: &Tokens) -> AdminWords {
        AdminWords {
            args: Stats::parse(line, tokens).args,
        }
    }

    /// The words as byte strings.
    pub fn words(&self) -> Vec<&[u8]> {
        self.args.iter().map(|a| &a[..]).collect()
    }

    /// True when the last word is `noreply`.
    pub fn noreply(&self) -> bool {
        self.args.last().is_some_and(|a| &a[..] == b"noreply")
    }

    /// Append the wire form: `name`, then the words.
    pub fn encode(&self, name: &[u8], dst: &mut BytesMut) {
        dst.put_slice(name);
        for arg in &self.args {
            dst.put_u8(b' ');
            dst.put_slice(arg);
        }
        dst.put_slice(b"\r\n");
    }
}
