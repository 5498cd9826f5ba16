//! Turning answers into results: which answer means yes, no or an error, in one place.

use bytes::Bytes;
use mc_proto::{Response, Value};

use crate::client_error::{Error, Result};
use crate::found_values::FoundValues;
use crate::pipeline::Reply;

/// An answer that does not fit the request (the server is broken or lying).
pub(crate) fn unexpected(answer: impl std::fmt::Debug) -> Error {
    Error::Protocol(format!("unexpected answer {answer:?}"))
}

/// Turn an error line into a typed error.
pub(crate) fn error_from(response: Response) -> Error {
    let text = |b: Bytes| String::from_utf8_lossy(&b).into_owned();
    match response {
        Response::ClientError(m) => Error::Client(text(m)),
        Response::ServerError(m) => Error::Server(text(m)),
        Response::Error(m) => Error::UnknownCommand(text(m)),
        other => unexpected(other),
    }
}

/// A storage, delete or touch answer: `yes` is true; `NOT_STORED`, `NOT_FOUND` and `EXISTS`
/// are false; error lines are errors.
pub(crate) fn status_bool(reply: Reply, yes: &Response) -> Result<bool> {
    match reply {
        Reply::Sent => Ok(true),
        Reply::Line(r) if &r == yes => Ok(true),
        Reply::Line(Response::NotStored | Response::NotFound | Response::Exists) => Ok(false),
        Reply::Line(r) => Err(error_from(r)),
        other => Err(unexpected(other)),
    }
}

/// A one-line answer.
pub(crate) fn line(reply: Reply) -> Result<Response> {
    match reply {
        Reply::Line(r) => Ok(r),
        other => Err(unexpected(other)),
    }
}

/// A retrieval's values (an error line is an error).
pub(crate) fn values(reply: Reply) -> Result<FoundValues> {
    match reply {
        Reply::Values(values) => Ok(values),
        Reply::Line(r) => Err(error_from(r)),
        other => Err(unexpected(other)),
    }
}

/// A one-key retrieval's value, if any (an error line is an error).
pub(crate) fn value(reply: Reply) -> Result<Option<Value>> {
    match reply {
        Reply::Value(value) => Ok(value),
        Reply::Line(r) => Err(error_from(r)),
        other => Err(unexpected(other)),
    }
}

/// A `stats` answer.
pub(crate) fn stats(reply: Reply) -> Result<Vec<(Bytes, Bytes)>> {
    match reply {
        Reply::Stats(stats) => Ok(stats),
        Reply::Line(r) => Err(error_from(r)),
        other => Err(unexpected(other)),
    }
}
