//! Session errors, and how they answer HTTP requests.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Why a session operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// memcached could not be reached or answered with an error: the app should answer 503.
    #[error("session store unavailable: {0}")]
    Store(#[from] mc_client::Error),
    /// A value could not be turned into JSON or back.
    #[error("session value is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Concurrent writers kept changing the session; the update was given up.
    #[error("session update lost too many races")]
    Contention,
    /// The session layer is missing from the router.
    #[error("SessionLayer is not installed on this router")]
    MissingLayer,
}

impl IntoResponse for SessionError {
    fn into_response(self) -> Response {
        let status = match &self {
            SessionError::Store(_) | SessionError::Contention => StatusCode::SERVICE_UNAVAILABLE,
            SessionError::Json(_) | SessionError::MissingLayer => StatusCode::INTERNAL_SERVER_ERROR,
        };
        tracing::warn!("session error: {self}");
        (status, self.to_string()).into_response()
    }
}
