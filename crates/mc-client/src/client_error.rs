//! The client's errors.

use mc_proto::{KeyError, ResponseError};

/// Everything that can go wrong with a request.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The key cannot be sent (checked before anything goes on the wire).
    #[error("invalid key: {0}")]
    Key(#[from] KeyError),
    /// The value is larger than the configured maximum.
    #[error("value of {len} bytes exceeds the maximum of {max}")]
    ValueTooLarge {
        /// The encoded value's length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A value could not be converted to or from the requested type.
    #[error("value conversion failed: {0}")]
    Value(String),
    /// The server answered `CLIENT_ERROR`.
    #[error("server rejected the request: CLIENT_ERROR {0}")]
    Client(String),
    /// The server answered `SERVER_ERROR`.
    #[error("server failed: SERVER_ERROR {0}")]
    Server(String),
    /// The server answered `ERROR` (an unknown command).
    #[error("server does not know the command: ERROR{0}")]
    UnknownCommand(String),
    /// The server's answer does not fit the request, or breaks the protocol; the connection
    /// is dropped.
    #[error("protocol violation: {0}")]
    Protocol(String),
    /// Connecting, reading or writing failed; the server is marked dead for `dead_retry`.
    #[error("connection to {server} failed: {source}")]
    Io {
        /// The server.
        server: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// No answer within the I/O timeout; the server is marked dead for `dead_retry`.
    #[error("timed out talking to {0}")]
    Timeout(String),
    /// Every server the key could go to is marked dead (or none is configured).
    #[error("no server available for the key")]
    NoServer,
}

impl From<ResponseError> for Error {
    fn from(e: ResponseError) -> Self {
        Error::Protocol(e.to_string())
    }
}

impl Error {
    /// The same error, for reporting it against each key of a batch that it failed.
    pub(crate) fn for_each_key(&self) -> Error {
        match self {
            Error::Key(e) => Error::Key(*e),
            Error::ValueTooLarge { len, max } => Error::ValueTooLarge {
                len: *len,
                max: *max,
            },
            Error::Value(m) => Error::Value(m.clone()),
            Error::Client(m) => Error::Client(m.clone()),
            Error::Server(m) => Error::Server(m.clone()),
            Error::UnknownCommand(m) => Error::UnknownCommand(m.clone()),
            Error::Protocol(m) => Error::Protocol(m.clone()),
            Error::Io { server, source } => Error::Io {
                server: server.clone(),
                source: std::io::Error::new(source.kind(), source.to_string()),
            },
            Error::Timeout(s) => Error::Timeout(s.clone()),
            Error::NoServer => Error::NoServer,
        }
    }

    /// True for failures of the server or its connection (it is then marked dead).
    pub(crate) fn is_server_failure(&self) -> bool {
        matches!(self, Error::Io { .. } | Error::Timeout(_))
    }
}

/// Results of client calls.
pub type Result<T, E = Error> = std::result::Result<T, E>;
