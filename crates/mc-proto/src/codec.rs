//! `tokio-util` codecs for framed connections (feature `codec`).

use bytes::BytesMut;
use tokio_util::codec::{Decoder, Encoder};

use crate::codec_error::{RequestError, ResponseError};
use crate::request::{Limits, Request, RequestDecoder};
use crate::response::{Response, ResponseDecoder};

/// The server side: decodes requests, encodes responses.
///
/// A malformed request is not a stream error: it comes out as `Some(Err(..))` so the server can
/// answer it and keep reading, as memcached does.
#[derive(Debug, Default)]
pub struct ServerCodec {
    decoder: RequestDecoder,
}

impl ServerCodec {
    /// A codec with the given limits.
    pub fn new(limits: Limits) -> ServerCodec {
        ServerCodec {
            decoder: RequestDecoder::new(limits),
        }
    }
}

impl Decoder for ServerCodec {
    type Item = Result<Request, RequestError>;
    type Error = std::io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Self::Item>, Self::Error> {
        match self.decoder.decode(src) {
            Ok(Some(request)) => Ok(Some(Ok(request))),
            Ok(None) => Ok(None),
            Err(error) => Ok(Some(Err(error))),
        }
    }
}

impl Encoder<Response> for ServerCodec {
    type Error = std::io::Error;

    fn encode(&mut self, item: Response, dst: &mut BytesMut) -> Result<(), Self::Error> {
        item.encode(dst);
        Ok(())
    }
}

/// The client side: encodes requests, decodes responses.
#[derive(Debug, Default)]
pub struct ClientCodec {
    decoder: ResponseDecoder,
}

impl ClientCodec {
    /// A codec accepting values up to `max_value` bytes.
    pub fn new(max_value: usize) -> ClientCodec {
        ClientCodec {
            decoder: ResponseDecoder::new(max_value),
        }
    }
}

/// A failure on a client connection: I/O, or a response that breaks the protocol.
#[derive(Debug, thiserror::Error)]
pub enum ClientCodecError {
    /// The transport failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The server sent something that is not a valid response.
    #[error(transparent)]
    Protocol(#[from] ResponseError),
}

impl Decoder for ClientCodec {
    type Item = Response;
    type Error = ClientCodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Response>, ClientCodecError> {
        Ok(self.decoder.decode(src)?)
    }
}

impl Encoder<Request> for ClientCodec {
    type Error = ClientCodecError;

    fn encode(&mut self, item: Request, dst: &mut BytesMut) -> Result<(), ClientCodecError> {
        item.encode(dst);
        Ok(())
    }
}
