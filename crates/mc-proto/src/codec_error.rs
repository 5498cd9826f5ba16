//! Errors of the codec, each mapped to memcached's exact reply.

use bytes::Bytes;

/// A request the decoder rejected.
///
/// Every error knows the line memcached 1.6 answers for it ([`RequestError::reply`]) and whether
/// the connection may go on ([`RequestError::closes_connection`]). The decoder has already
/// consumed the offending bytes (and arranged to skip a data block where memcached does), so a
/// server writes the reply and keeps decoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.kind.describe())]
pub struct RequestError {
    kind: RequestErrorKind,
    noreply: bool,
}

/// What was wrong with a request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestErrorKind {
    /// Unknown command or wrong number of arguments: `ERROR`.
    UnknownCommand,
    /// A key over 250 bytes or a malformed number: `CLIENT_ERROR bad command line format`.
    BadCommandLine,
    /// `delete` with arguments other than `0` and `noreply`.
    DeleteUsage,
    /// The data block did not end with `\r\n` right after the declared length.
    BadDataChunk,
    /// `touch`, `gat`, `gats` or `flush_all` with a malformed time.
    InvalidExptime,
    /// `incr`/`decr` with a malformed or negative delta.
    InvalidDelta,
    /// The item would not fit in the configured maximum item size. The data block is skipped.
    /// memcached also drops the key's existing value so a stale one is not served; `stale_key`
    /// is that key when it applies (`set` and `ms`).
    TooLarge {
        /// The key whose current value must be removed, if any.
        stale_key: Option<Bytes>,
    },
    /// A meta command (`mg ms md ma me`) was malformed.
    Meta(MetaError),
    /// A line longer than memcached accepts (2048 bytes, unless it is a `get`/`gets`): memcached
    /// closes the connection without a reply.
    LineTooLong,
    /// A `get`/`gets` line longer than this decoder's configured bound. memcached has no bound
    /// here; we close the connection rather than buffer without limit.
    GetLineTooLong,
    /// An HTTP request line (`... HTTP/1.1`): memcached closes the connection without a reply.
    HttpRequest,
}

/// Errors specific to meta commands; each has its own reply text in memcached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MetaError {
    /// The same flag appears twice, or a flag byte is not ASCII.
    DuplicateFlag,
    /// An unknown flag.
    InvalidFlag,
    /// A numeric flag token (`T N R C`) is malformed.
    BadToken,
    /// The `M` (mode) token is not exactly one character.
    ModeTokenLength,
    /// `J` (initial value) is malformed.
    InitialValue,
    /// `D` (delta) is malformed.
    DeltaValue,
    /// More than 18 flags on `mg` (memcached's wording differs from the other commands).
    GetFlagsTooLong,
    /// More than 18 flags on `ms`, `md` or `ma`.
    FlagsTooLong,
    /// An opaque (`O`) token over 32 bytes.
    OpaqueTooLong,
    /// `ms` with an unknown `M` mode.
    InvalidSetMode,
    /// `ma` with an unknown `M` mode.
    InvalidArithmeticMode,
    /// `md`/`ma` flag errors, which memcached reports with one message.
    InvalidOrDuplicateFlag,
    /// A `b` (base64) key that does not decode.
    KeyDecode,
}

impl MetaError {
    /// memcached's reply line for this error, with its `\r\n`.
    fn line(self) -> &'static str {
        match self {
            MetaError::DuplicateFlag => "CLIENT_ERROR duplicate flag\r\n",
            MetaError::InvalidFlag => "CLIENT_ERROR invalid flag\r\n",
            MetaError::BadToken => "CLIENT_ERROR bad token in command line format\r\n",
            MetaError::ModeTokenLength => "CLIENT_ERROR incorrect length for M token\r\n",
            MetaError::InitialValue => "CLIENT_ERROR invalid numeric initial value\r\n",
            MetaError::DeltaValue => "CLIENT_ERROR invalid numeric delta value\r\n",
            MetaError::GetFlagsTooLong => "CLIENT_ERROR options flags are too long\r\n",
            MetaError::FlagsTooLong => "CLIENT_ERROR options flags too long\r\n",
            MetaError::OpaqueTooLong => "CLIENT_ERROR opaque token too long\r\n",
            MetaError::InvalidSetMode => "CLIENT_ERROR invalid mode for ms M token\r\n",
            MetaError::InvalidArithmeticMode => "CLIENT_ERROR invalid mode for ma M token\r\n",
            MetaError::InvalidOrDuplicateFlag => "CLIENT_ERROR invalid or duplicate flag\r\n",
            MetaError::KeyDecode => "CLIENT_ERROR error decoding key\r\n",
        }
    }

    /// memcached's reply line for this error, without the line terminator.
    pub fn message(self) -> &'static str {
        strip_crlf(self.line())
    }
}

fn strip_crlf(line: &'static str) -> &'static str {
    &line[..line.len() - 2]
}

impl RequestErrorKind {
    /// memcached's reply line with its `\r\n`, or `None` when memcached closes silently.
    fn line(&self) -> Option<&'static str> {
        Some(match self {
            RequestErrorKind::UnknownCommand => "ERROR\r\n",
            RequestErrorKind::BadCommandLine => "CLIENT_ERROR bad command line format\r\n",
            RequestErrorKind::DeleteUsage => {
                "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n"
            }
            RequestErrorKind::BadDataChunk => "CLIENT_ERROR bad data chunk\r\n",
            RequestErrorKind::InvalidExptime => "CLIENT_ERROR invalid exptime argument\r\n",
            RequestErrorKind::InvalidDelta => "CLIENT_ERROR invalid numeric delta argument\r\n",
            RequestErrorKind::TooLarge { .. } => "SERVER_ERROR object too large for cache\r\n",
            RequestErrorKind::Meta(m) => m.line(),
            RequestErrorKind::LineTooLong
            | RequestErrorKind::GetLineTooLong
            | RequestErrorKind::HttpRequest => return None,
        })
    }

    /// memcached's reply line (without `\r\n`), or `None` when memcached closes silently.
    pub fn message(&self) -> Option<&'static str> {
        self.line().map(strip_crlf)
    }

    fn describe(&self) -> &'static str {
        match self {
            RequestErrorKind::LineTooLong => "request line too long",
            RequestErrorKind::GetLineTooLong => "get line longer than the configured limit",
            RequestErrorKind::HttpRequest => "HTTP request on the memcached port",
            other => other.message().unwrap_or("protocol error"),
        }
    }
}

impl RequestError {
    /// An error whose reply is suppressed when the request asked for `noreply`.
    pub(crate) fn new(kind: RequestErrorKind, noreply: bool) -> Self {
        RequestError { kind, noreply }
    }

    /// An error that is always answered.
    pub(crate) fn always(kind: RequestErrorKind) -> Self {
        RequestError {
            kind,
            noreply: false,
        }
    }

    pub(crate) fn meta(error: MetaError) -> Self {
        Self::always(RequestErrorKind::Meta(error))
    }

    /// What was wrong.
    pub fn kind(&self) -> &RequestErrorKind {
        &self.kind
    }

    /// True when the request carried `noreply`, so memcached sends nothing back.
    pub fn is_noreply(&self) -> bool {
        self.noreply
    }

    /// The exact bytes memcached answers (with `\r\n`), or `None` when it answers nothing:
    /// because of `noreply`, or because it closes the connection.
    pub fn reply(&self) -> Option<&'static [u8]> {
        if self.noreply {
            return None;
        }
        self.kind.line().map(str::as_bytes)
    }

    /// True when memcached drops the connection after this error.
    pub fn closes_connection(&self) -> bool {
        matches!(
            self.kind,
            RequestErrorKind::LineTooLong
                | RequestErrorKind::GetLineTooLong
                | RequestErrorKind::HttpRequest
        )
    }
}

/// A response that does not follow the protocol. The connection it came from can no longer be
/// trusted to be in step and must be dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseError {
    /// A line that is no memcached response.
    #[error("unrecognized response line: {0:?}")]
    UnknownLine(Bytes),
    /// A known response whose fields are malformed.
    #[error("malformed response line: {0:?}")]
    MalformedLine(Bytes),
    /// A data block not followed by `\r\n`.
    #[error("value data not terminated by CRLF")]
    BadDataChunk,
    /// A line longer than the decoder accepts.
    #[error("response line longer than {0} bytes")]
    LineTooLong(usize),
    /// A value longer than the decoder accepts.
    #[error("response value of {declared} bytes exceeds the limit of {limit}")]
    ValueTooLarge {
        /// The length the server declared.
        declared: u64,
        /// The decoder's limit.
        limit: usize,
    },
}
