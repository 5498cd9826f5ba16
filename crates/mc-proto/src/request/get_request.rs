//! `get`, `gets`, `gat`, `gats`: fetch one or more keys.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::put_number;
use crate::codec_error::{RequestError, RequestErrorKind};
use crate::number::parse_i32;
use crate::tokens::{words, Tokens};
use crate::KEY_MAX_LENGTH;

/// Which retrieval command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GetCommand {
    /// `get <key>*`
    Get,
    /// `gets <key>*`: also return CAS uniques.
    Gets,
    /// `gat <exptime> <key>*`: get and touch.
    Gat,
    /// `gats <exptime> <key>*`: get and touch, returning CAS uniques.
    Gats,
}

impl GetCommand {
    /// The command word on the wire.
    pub fn name(self) -> &'static str {
        match self {
            GetCommand::Get => "get",
            GetCommand::Gets => "gets",
            GetCommand::Gat => "gat",
            GetCommand::Gats => "gats",
        }
    }

    /// True when `VALUE` lines carry the CAS unique.
    pub fn returns_cas(self) -> bool {
        matches!(self, GetCommand::Gets | GetCommand::Gats)
    }

    /// True when the command also updates the items' expiry.
    pub fn touches(self) -> bool {
        matches!(self, GetCommand::Gat | GetCommand::Gats)
    }
}

/// A retrieval request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Get {
    /// Which command.
    pub command: GetCommand,
    /// New expiry for `gat`/`gats`; 0 and ignored for `get`/`gets`.
    pub exptime: i32,
    /// The keys, in request order (duplicates allowed, as in memcached).
    pub keys: Keys,
}

impl Get {
    /// Parse a retrieval line whose command token was recognised as `command`.
    pub(crate) fn parse(
        command: GetCommand,
        mut line: Bytes,
        tokens: &Tokens,
    ) -> Result<Get, RequestError> {
        if tokens.ntokens() < 3 {
            return Err(RequestError::always(RequestErrorKind::UnknownCommand));
        }
        let mut first_key = 1;
        let mut exptime = 0;
        if command.touches() {
            exptime = parse_i32(tokens.get(&line, 1))
                .ok_or(RequestError::always(RequestErrorKind::InvalidExptime))?;
            first_key = 2;
        }
        let start = if first_key < tokens.count() {
            tokens.span(first_key).0
        } else {
            tokens.rest().unwrap_or(line.len())
        };
        line.advance(start);
        Get::with_keys(command, exptime, line)
    }

    /// The fast path for the most common request, `get <keys>` / `gets <keys>`: no tokenizing,
    /// the keys stay in the line buffer. `offset` is where the keys start. Returns the line back
    /// when it needs the general path.
    pub(crate) fn parse_fast(
        command: GetCommand,
        mut line: Bytes,
        offset: usize,
    ) -> Result<Get, RequestError> {
        line.advance(offset);
        if line.iter().all(|&b| b == b' ') {
            // memcached wants at least one key.
            return Err(RequestError::always(RequestErrorKind::UnknownCommand));
        }
        Get::with_keys(command, 0, line)
    }

    fn with_keys(command: GetCommand, exptime: i32, keys: Bytes) -> Result<Get, RequestError> {
        // memcached rejects the whole line when any key is too long, discarding the values it
        // had already gathered for the earlier keys.
        if words(&keys).any(|(s, e)| e - s > KEY_MAX_LENGTH) {
            return Err(RequestError::always(RequestErrorKind::BadCommandLine));
        }
        Ok(Get {
            command,
            exptime,
            keys: Keys(keys),
        })
    }

    /// Append the wire form.
    pub fn encode(&self, dst: &mut BytesMut) {
        Get::encode_keys(self.command, self.exptime, b"", self.keys.slices(), dst);
    }

    /// Append the wire form of a retrieval of `keys`, each written as `prefix` then the key,
    /// without building a [`Get`]: a client's request path allocates no key list. The bytes
    /// are exactly what [`Get::encode`] writes for the same full keys.
    pub fn encode_keys<'k>(
        command: GetCommand,
        exptime: i32,
        prefix: &[u8],
        keys: impl IntoIterator<Item = &'k [u8]>,
        dst: &mut impl BufMut,
    ) {
        dst.put_slice(command.name().as_bytes());
        if command.touches() {
            dst.put_u8(b' ');
            put_number(dst, exptime);
        }
        for key in keys {
            dst.put_u8(b' ');
            dst.put_slice(prefix);
            dst.put_slice(key);
        }
        dst.put_slice(b"\r\n");
    }

    /// The length of what [`Get::encode_keys`] writes for one key of `full_key_len` bytes.
    pub fn encoded_len_one(command: GetCommand, exptime: i32, full_key_len: usize) -> usize {
        let exptime = if command.touches() {
            1 + itoa::Buffer::new().format(exptime).len()
        } else {
            0
        };
        command.name().len() + exptime + 1 + full_key_len + 2
    }
}

/// The keys of a retrieval request, kept as one shared buffer and split on demand, so decoding a
/// multi-key `get` allocates nothing.
#[derive(Clone)]
pub struct Keys(Bytes);

impl Keys {
    /// Keys from a list (for clients building a request).
    pub fn new<I, K>(keys: I) -> Keys
    where
        I: IntoIterator<Item = K>,
        K: AsRef<[u8]>,
    {
        let mut buf = BytesMut::new();
        for key in keys {
            if !buf.is_empty() {
                buf.put_u8(b' ');
            }
            buf.put_slice(key.as_ref());
        }
        Keys(buf.freeze())
    }

    /// Iterate over the keys; each is a zero-copy slice of the request.
    pub fn iter(&self) -> KeysIter {
        KeysIter {
            buf: self.0.clone(),
            pos: 0,
        }
    }

    /// Iterate over the keys as borrowed slices: no reference counting, for servers that only
    /// look the keys up.
    pub fn slices(&self) -> impl Iterator<Item = &[u8]> + '_ {
        words(&self.0).map(|(s, e)| &self.0[s..e])
    }

    /// The keys as borrowed slices, each with the offset just past it. A server that answers a
    /// long request in parts notes where it stopped and later resumes with [`Keys::skip_to`].
    pub fn slices_with_end(&self) -> impl Iterator<Item = (&[u8], usize)> + '_ {
        words(&self.0).map(|(s, e)| (&self.0[s..e], e))
    }

    /// Forget the first `offset` bytes: the keys before that offset (as
    /// [`Keys::slices_with_end`] reports offsets) are dropped, in constant time.
    pub fn skip_to(&mut self, offset: usize) {
        self.0.advance(offset.min(self.0.len()));
    }

    /// Number of keys.
    pub fn len(&self) -> usize {
        words(&self.0).count()
    }

    /// True when there are no keys (possible only for `gat <exptime>` with no key).
    pub fn is_empty(&self) -> bool {
        words(&self.0).next().is_none()
    }
}

impl PartialEq for Keys {
    fn eq(&self, other: &Keys) -> bool {
        self.slices().eq(other.slices())
    }
}

impl Eq for Keys {}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl IntoIterator for &Keys {
    type Item = Bytes;
    type IntoIter = KeysIter;
    fn into_iter(self) -> KeysIter {
        self.iter()
    }
}

/// Iterator over [`Keys`].
#[derive(Debug, Clone)]
pub struct KeysIter {
    buf: Bytes,
    pos: usize,
}

impl Iterator for KeysIter {
    type Item = Bytes;

    fn next(&mut self) -> Option<Bytes> {
        let rest = &self.buf[self.pos..];
        let skip = rest.iter().position(|&b| b != b' ')?;
        let start = self.pos + skip;
        let end = memchr::memchr(b' ', &self.buf[start..]).map_or(self.buf.len(), |n| start + n);
        self.pos = end;
        Some(self.buf.slice(start..end))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_resume_where_they_stopped() {
        let mut keys = Keys(Bytes::from_static(b"alpha  beta gamma"));
        let (key, end) = keys.slices_with_end().nth(1).expect("two keys");
        assert_eq!(key, b"beta");
        keys.skip_to(end - key.len());
        let rest: Vec<&[u8]> = keys.slices().collect();
        assert_eq!(rest, vec![&b"beta"[..], b"gamma"]);
        keys.skip_to(usize::MAX);
        assert!(keys.is_empty());
    }
}
