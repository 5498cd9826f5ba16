//! The tower layer that makes sessions available to handlers.

use std::task::{Context, Poll};

use axum::http::Request;
use tower::{Layer, Service};
use tower_cookies::CookieManager;

use crate::store::SessionStore;

/// Install on a router (`.layer(SessionLayer::new(store))`) to use the [`crate::Session`]
/// extractor in its handlers. It manages cookies too, so no separate cookie layer is needed.
#[derive(Debug, Clone)]
pub struct SessionLayer {
    store: SessionStore,
}

impl SessionLayer {
    /// A layer serving sessions from `store`.
    pub fn new(store: SessionStore) -> SessionLayer {
        SessionLayer { store }
    }
}

impl<S> Layer<S> for SessionLayer {
    type Service = CookieManager<SessionService<S>>;

    fn layer(&self, inner: S) -> Self::Service {
        CookieManager::new(SessionService {
            inner,
            store: self.store.clone(),
        })
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
