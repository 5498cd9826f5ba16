//! The meta protocol (`mg ms md ma mn me`): commands made of a key and single-letter flags.
//!
//! Flags are kept as the raw tokens the client sent (a server echoes `O` and `k` back in request
//! order) together with the parsed [`MetaOptions`], validated with memcached's rules.

mod ma;
mod md;
mod me;
mod meta_response;
mod mg;
mod ms;

pub use ma::MetaArithmetic;
pub use md::MetaDelete;
pub use me::MetaDebug;
pub use meta_response::{encode_meta_debug, MetaDebugInfo, MetaReply, MetaResponse, MetaStatus};
pub use mg::MetaGet;
pub use ms::MetaSet;
pub(crate) use ms::MetaSetHeader;

use base64::Engine as _;
use bytes::{BufMut, Bytes, BytesMut};

use crate::codec_error::{MetaError, RequestErrorKind};
use crate::number::{parse_i32, parse_u32, parse_u64};
use crate::tokens::{words, Tokens};
use crate::KEY_MAX_LENGTH;

/// The longest opaque token memcached accepts, its `O` included.
pub const MAX_OPAQUE_LENGTH: usize = 32;

/// memcached's limit on a meta command's tokens: the command, the key (and for `ms` the data
/// length) and the flags, plus the terminal token, may not exceed 20.
const MAX_META_NTOKENS: usize = 20;

/// What the flags of a meta command ask for, parsed and validated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MetaOptions {
    /// `b`: the key is base64 encoded on the wire.
    pub base64_key: bool,
    /// `v`: return the value.
    pub value: bool,
    /// `q`: quiet mode, suppress the nominal answer (`EN` for mg, `HD` for ms/md/ma).
    pub quiet: bool,
    /// `u`: do not bump the item in the LRU.
    pub no_lru_bump: bool,
    /// `T<ttl>`: update the expiry.
    pub ttl: Option<i32>,
    /// `N<ttl>`: on a miss, create the item with this expiry (vivify).
    pub vivify_ttl: Option<i32>,
    /// `R<ttl>`: win a recache token when the remaining TTL is below this.
    pub recache_ttl: Option<i32>,
    /// `F<flags>`: client flags for `ms`.
    pub client_flags: Option<u32>,
    /// `C<cas>`: compare this CAS unique before acting.
    pub compare_cas: Option<u64>,
    /// `M<mode>`: mode switch (`ms`: E A P R S; `ma`: I + D -).
    pub mode: Option<u8>,
    /// `J<n>`: initial value for `ma` with vivify.
    pub initial: Option<u64>,
    /// `D<n>`: delta for `ma`.
    pub delta: Option<u64>,
    /// `I`: invalidate / mark stale instead of deleting.
    pub invalidate: bool,
}

/// One flag token: its letter and the bytes after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetaFlag<'a> {
    /// The flag letter.
    pub flag: u8,
    /// What follows the letter (e.g. `123` in `O123`).
    pub arg: &'a [u8],
}

/// The flags of a meta command: raw tokens plus their parsed meaning.
#[derive(Clone)]
pub struct MetaFlags {
    raw: Bytes,
    options: MetaOptions,
}

impl MetaFlags {
    /// No flags.
    pub fn empty() -> MetaFlags {
        MetaFlags {
            raw: Bytes::new(),
            options: MetaOptions::default(),
        }
    }

    /// Flags from space-separated tokens (e.g. `"v f t O123"`), validated as memcached does.
    pub fn new(raw: impl Into<Bytes>) -> Result<MetaFlags, RequestErrorKind> {
        let raw = raw.into();
        let (options, _) = preparse(&raw, None)?;
        check_opaque(&raw)?;
        Ok(MetaFlags { raw, options })
    }

    pub(crate) fn from_parts(raw: Bytes, options: MetaOptions) -> MetaFlags {
        MetaFlags { raw, options }
    }

    /// The flag tokens as sent, space separated.
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }

    pub(crate) fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The parsed options.
    pub fn options(&self) -> &MetaOptions {
        &self.options
    }

    /// The flag tokens in request order.
    pub fn iter(&self) -> impl Iterator<Item = MetaFlag<'_>> {
        words(&self.raw).map(|(s, e)| MetaFlag {
            flag: self.raw[s],
            arg: &self.raw[s + 1..e],
        })
    }

    /// True when the flag letter is present.
    pub fn has(&self, flag: u8) -> bool {
        self.iter().any(|f| f.flag == flag)
    }

    /// The opaque token (`O...`), without its letter.
    pub fn opaque(&self) -> Option<&[u8]> {
        self.iter().find(|f| f.flag == b'O').map(|f| f.arg)
    }

    /// Append the tokens, each preceded by a space.
    pub(crate) fn encode(&self, dst: &mut BytesMut) {
        for (s, e) in words(&self.raw) {
            dst.put_u8(b' ');
            dst.put_slice(&self.raw[s..e]);
        }
    }
}

impl PartialEq for MetaFlags {
    fn eq(&self, other: &MetaFlags) -> bool {
        self.options == other.options && self.iter().eq(other.iter())
    }
}

impl Eq for MetaFlags {}

impl std::fmt::Debug for MetaFlags {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetaFlags")
            .field("raw", &self.raw)
            .field("options", &self.options)
            .finish()
    }
}

/// The key and flag region of a meta command line, after the common checks.
pub(crate) struct MetaLine {
    pub(crate) key: (usize, usize),
    pub(crate) flags: (usize, usize),
}

impl MetaLine {
    /// The checks every meta command but `me` starts with: at least a key, the key length, and
    /// the number of tokens. `first_flag` is the index of the first flag token.
    pub(crate) fn split(
        line: &[u8],
        tokens: &Tokens,
        first_flag: usize,
        too_many: MetaError,
    ) -> Result<MetaLine, RequestErrorKind> {
        if tokens.ntokens() < 3 {
            return Err(RequestErrorKind::UnknownCommand);
        }
        let key = tokens.span(1);
        if key.1 - key.0 > KEY_MAX_LENGTH {
            return Err(RequestErrorKind::BadCommandLine);
        }
        if tokens.ntokens() > MAX_META_NTOKENS || tokens.rest().is_some() {
            return Err(RequestErrorKind::Meta(too_many));
        }
        let flags = if first_flag < tokens.count() {
            (tokens.span(first_flag).0, line.len())
        } else {
            (line.len(), line.len())
        };
        Ok(MetaLine { key, flags })
    }
}

/// memcached's `_meta_flag_preparse`: validate the flag tokens and decode a base64 key.
///
/// Errors follow memcached's precedence: a duplicate or unknown flag stops at once; other errors
/// are remembered (the last one wins) while the remaining tokens are still checked.
pub(crate) fn preparse(
    raw: &[u8],
    key: Option<&[u8]>,
) -> Result<(MetaOptions, Option<Bytes>), RequestErrorKind> {
    let mut seen = [false; 128];
    let mut o = MetaOptions::default();
    let mut decoded_key = None;
    let mut error: Option<RequestErrorKind> = None;
    let meta = RequestErrorKind::Meta;
    for (s, e) in words(raw) {
        let flag = raw[s];
        let arg = &raw[s + 1..e];
        if flag >= 127 || seen[usize::from(flag)] {
            return Err(meta(MetaError::DuplicateFlag));
        }
        seen[usize::from(flag)] = true;
        match flag {
            b'b' => {
                o.base64_key = true;
                if let Some(key) = key {
                    match base64::engine::general_purpose::STANDARD.decode(key) {
                        Ok(k) if !k.is_empty() => decoded_key = Some(Bytes::from(k)),
                        _ => error = Some(meta(MetaError::KeyDecode)),
                    }
                }
            }
            b'N' | b'T' | b'R' => match parse_i32(arg) {
                Some(ttl) => match flag {
                    b'N' => o.vivify_ttl = Some(ttl),
                    b'T' => o.ttl = Some(ttl),
                    _ => o.recache_ttl = Some(ttl),
                },
                None => error = Some(meta(MetaError::BadToken)),
            },
            b'v' => o.value = true,
            b'q' => o.quiet = true,
            b'u' => o.no_lru_bump = true,
            b'I' => o.invalidate = true,
            b'O' | b'P' | b'L' | b'k' | b's' | b't' | b'c' | b'f' | b'l' | b'h' => {}
            b'F' => match parse_u32(arg) {
                Some(f) => o.client_flags = Some(f),
                // memcached flags this error without a message of its own.
                None => {
                    error.get_or_insert(RequestErrorKind::BadCommandLine);
                }
            },
            b'C' => match parse_u64(arg) {
                Some(c) => o.compare_cas = Some(c),
                None => error = Some(meta(MetaError::BadToken)),
            },
            b'M' => match arg {
                [mode] => o.mode = Some(*mode),
                _ => error = Some(meta(MetaError::ModeTokenLength)),
            },
            b'J' => match parse_u64(arg) {
                Some(j) => o.initial = Some(j),
                None => error = Some(meta(MetaError::InitialValue)),
            },
            b'D' => match parse_u64(arg) {
                Some(d) => o.delta = Some(d),
                None => error = Some(meta(MetaError::DeltaValue)),
            },
            _ => return Err(meta(MetaError::InvalidFlag)),
        }
    }
    match error {
        Some(e) => Err(e),
        None => Ok((o, decoded_key)),
    }
}

/// Opaque tokens longer than 32 bytes are refused.
pub(crate) fn check_opaque(raw: &[u8]) -> Result<(), RequestErrorKind> {
    let too_long = words(raw).any(|(s, e)| raw[s] == b'O' && e - s > MAX_OPAQUE_LENGTH);
    if too_long {
        Err(RequestErrorKind::Meta(MetaError::OpaqueTooLong))
    } else {
        Ok(())
    }
}

/// Parse flags and resolve the key of a meta command; `map_preparse` lets `md`/`ma` replace
/// preparse errors with their single message.
pub(crate) fn parse_key_and_flags(
    line: &Bytes,
    split: &MetaLine,
    map_preparse: impl FnOnce(RequestErrorKind) -> RequestErrorKind,
) -> Result<(Bytes, MetaFlags), RequestErrorKind> {
    let raw = line.slice(split.flags.0..split.flags.1);
    let key = line.slice(split.key.0..split.key.1);
    let (options, decoded) = preparse(&raw, Some(&key)).map_err(map_preparse)?;
    Ok((decoded.unwrap_or(key), MetaFlags::from_parts(raw, options)))
}

/// Write a meta command's key: base64 encoded when the `b` flag is set.
pub(crate) fn put_key(dst: &mut BytesMut, key: &[u8], flags: &MetaFlags) {
    if flags.options().base64_key {
        let encoded = base64::engine::general_purpose::STANDARD.encode(key);
        dst.put_slice(encoded.as_bytes());
    } else {
        dst.put_slice(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_parsed() {
        let f = MetaFlags::new("v f t T30 O123 q k C99 MS").expect("valid flags");
        let o = f.options();
        assert!(o.value && o.quiet && !o.base64_key);
        assert_eq!(o.ttl, Some(30));
        assert_eq!(o.compare_cas, Some(99));
        assert_eq!(o.mode, Some(b'S'));
        assert_eq!(f.opaque(), Some(&b"123"[..]));
        let letters: Vec<u8> = f.iter().map(|f| f.flag).collect();
        assert_eq!(letters, b"vftTOqkCM");
    }

    #[test]
    fn errors_follow_memcached_precedence() {
        let meta = |e| Err(RequestErrorKind::Meta(e));
        assert_eq!(
            MetaFlags::new("v v").map(|_| ()),
            meta(MetaError::DuplicateFlag)
        );
        assert_eq!(
            MetaFlags::new("x").map(|_| ()),
            meta(MetaError::InvalidFlag)
        );
        assert_eq!(
            MetaFlags::new("Tabc").map(|_| ()),
            meta(MetaError::BadToken)
        );
        assert_eq!(
            MetaFlags::new("MEE").map(|_| ()),
            meta(MetaError::ModeTokenLength)
        );
        // A later bad token replaces an earlier one; a duplicate wins over both.
        assert_eq!(
            MetaFlags::new("Tx Dy").map(|_| ()),
            meta(MetaError::DeltaValue)
        );
        assert_eq!(
            MetaFlags::new("Tx v v").map(|_| ()),
            meta(MetaError::DuplicateFlag)
        );
        assert_eq!(
            MetaFlags::new("Fz").map(|_| ()),
            Err(RequestErrorKind::BadCommandLine)
        );
        let long = format!("O{}", "9".repeat(32));
        assert_eq!(
            MetaFlags::new(long).map(|_| ()),
            meta(MetaError::OpaqueTooLong)
        );
        assert!(MetaFlags::new(format!("O{}", "9".repeat(31))).is_ok());
    }
}
