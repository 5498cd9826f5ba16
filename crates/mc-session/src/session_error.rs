//! Session errors, and how they answer HTTP requests.
//!
//! The answer a visitor sees is short and generic: what went wrong inside (a server address, a
//! size limit, a parser position) goes to the log, never into the response body.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

/// Seconds a client is asked to wait before retrying when the store is unavailable: the
/// session client retries a failed server after about a second.
pub const RETRY_AFTER_SECONDS: u32 = 1;

/// Why a session operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// memcached could not be reached or answered with an error: the app should answer 503.
    #[error("session store unavailable: {0}")]
    Store(#[from] mc_client::Error),
    /// A value could not be turned into JSON, or a stored value into the type asked for.
    #[error("session value does not convert: {0}")]
    Json(#[from] serde_json::Error),
    /// The session would be larger than [`crate::SessionConfig::max_size`].
    #[error("session of {size} bytes exceeds the limit of {limit}")]
    TooLarge {
        /// The serialized session's size.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// Concurrent writers kept changing the session; the update was given up.
    #[error("session update lost too many races")]
    Contention,
    /// The session layer is missing from the router.
    #[error("SessionLayer is not installed on this router")]
    MissingLayer,
}

impl SessionError {
    /// The HTTP status this error answers with.
    pub fn status(&self) -> StatusCode {
        match self {
            SessionError::Store(_) | SessionError::Contention => StatusCode::SERVICE_UNAVAILABLE,
            SessionError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            SessionError::Json(_) | SessionError::MissingLayer => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The short text shown to the visitor.
    pub fn public_message(&self) -> &'static str {
        match self {
            SessionError::Store(_) | SessionError::Contention => {
                "session store unavailable, please retry shortly"
            }
            SessionError::TooLarge { .. } => "session too large",
            SessionError::Json(_) | SessionError::MissingLayer => "internal error",
        }
    }
}

impl IntoResponse for SessionError {
    fn into_response(self) -> Response {
        let status = self.status();
        tracing::warn!("session error: {self}");
        let mut response = (status, self.public_message()).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, RETRY_AFTER_SECONDS.into());
        }
        response
    }
}
