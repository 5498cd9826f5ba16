//! The tower layer that makes sessions available to handlers.

use std::task::{Context, Poll};

use axum::http::Request;
use tower::{Layer, Service};
use tower_cookies::CookieManager;
use tower_http::csrf::{Csrf, CsrfLayer};

use crate::store::SessionStore;

/// Install on a router (`.layer(SessionLayer::new(store))`) to use the [`crate::Session`]
/// extractor in its handlers. It manages cookies too, so no separate cookie layer is needed.
///
/// In front of the handlers it refuses cross-origin state-changing requests (POST, PUT,
/// PATCH, DELETE whose `Sec-Fetch-Site` is not `same-origin`/`none`, or whose `Origin` is not
/// the request's own host) with an empty `403`, before any session is loaded or cookie set:
/// tower-http's [`CsrfLayer`], the scheme Go 1.25 adopted. Turn it off with
/// [`crate::SessionConfig::cross_origin_check`], or trust more origins with
/// [`crate::SessionConfig::trusted_origins`]. Forms should also carry
/// [`crate::Session::csrf_token`].
#[derive(Debug, Clone)]
pub struct SessionLayer {
    store: SessionStore,
    cross_origin: CsrfLayer,
}

impl SessionLayer {
    /// A layer serving sessions from `store`. A trusted origin that is not a valid
    /// `scheme://host[:port]` is logged at error and ignored (it could never match).
    pub fn new(store: SessionStore) -> SessionLayer {
        let config = store.config();
        let mut cross_origin = CsrfLayer::new();
        for origin in &config.trusted_origins {
            match cross_origin.clone().add_trusted_origin(origin) {
                Ok(with) => cross_origin = with,
                Err(e) => tracing::error!("ignoring trusted origin: {e}"),
            }
        }
        if !config.cross_origin_check {
            cross_origin = cross_origin.with_insecure_bypass(|_, _| true);
        }
        SessionLayer {
            store,
            cross_origin,
        }
    }
}

impl<S> Layer<S> for SessionLayer {
    type Service = CookieManager<Csrf<SessionService<S>>>;

    fn layer(&self, inner: S) -> Self::Service {
        CookieManager::new(self.cross_origin.layer(SessionService {
            inner,
            store: self.store.clone(),
        }))
    }
}

/// The service [`SessionLayer`] wraps around a router: it hands the store to the extractor.
#[derive(Debug, Clone)]
pub struct SessionService<S> {
    inner: S,
    store: SessionStore,
}

impl<S, B> Service<Request<B>> for SessionService<S>
where
    S: Service<Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        request.extensions_mut().insert(self.store.clone());
        self.inner.call(request)
    }
}
