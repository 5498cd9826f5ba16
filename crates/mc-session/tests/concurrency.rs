//! Sessions under concurrent requests of one visitor: a request that loaded a session before
//! another moved it to a new id (`regenerate`, after a login) must not bring the old id back
//! when it writes.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use mc_session::{Key, Session, SessionConfig, SessionError, SessionLayer, SessionStore};
use tokio::sync::Notify;
use tower::ServiceExt;

/// Signals between the two requests of the test.
#[derive(Default)]
struct Steps {
    loaded: Notify,
    regenerated: Notify,
}

fn app(store: SessionStore, steps: Arc<Steps>) -> Router {
    let start = |session: Session| async move {
        session.insert("user", "ferris").await?;
        Ok::<_, SessionError>(session.id().unwrap_or_default())
    };
    let regenerate = |session: Session| async move {
        session.regenerate().await?;
        Ok::<_, SessionError>(session.id().unwrap_or_default())
    };
    let late = {
        let steps = steps.clone();
        move |session: Session| {
            let steps = steps.clone();
            async move {
                // This request loaded the session, then waits while another moves it away.
                steps.loaded.notify_one();
                steps.regenerated.notified().await;
                session.insert("late", true).await?;
                Ok::<_, SessionError>(session.id().unwrap_or_default())
            }
        }
    };
    Router::new()
        .route("/start", post(start))
        .route("/regenerate", post(regenerate))
        .route("/late", post(late))
        .route("/", get(|| async { "ok" }))
        .layer(SessionLayer::new(store))
}

fn session_cookie(response: &axum::response::Response) -> Option<String> {
    response
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("uc="))
        .and_then(|c| c.split(';').next())
        .map(str::to_string)
}

fn post_with(path: &str, cookie: &str) -> Request<Body> {
    Request::post(path)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .expect("request")
}

async fn body(response: axum::response::Response) -> String {
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    String::from_utf8_lossy(&bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_after_regenerate_does_not_resurrect_the_old_id() {
    let server = mc_server::RunningServer::start(mc_server::Config::ephemeral()).expect("server");
    let addr = server.local_addr().expect("addr").to_string();
    let client = mc_client::Client::new([addr.as_str()]);
    let store = SessionStore::new(client.clone(), SessionConfig::new(Key::generate()));
    let steps = Arc::new(Steps::default());
    let app = app(store, steps.clone());

    let started = app
        .clone()
        .oneshot(
            Request::post("/start")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("start");
    assert_eq!(started.status(), StatusCode::OK);
    let cookie = session_cookie(&started).expect("a session cookie");
    let old_id = body(started).await;
    assert!(client
        .get::<String>(&format!("session:{old_id}"))
        .await
        .expect("get")
        .is_some());

    let late = tokio::spawn({
        let (app, cookie) = (app.clone(), cookie.clone());
        async move { app.oneshot(post_with("/late", &cookie)).await }
    });
    steps.loaded.notified().await;
    let moved = app
        .clone()
        .oneshot(post_with("/regenerate", &cookie))
        .await
        .expect("regenerate");
    let new_id = body(moved).await;
    assert_ne!(new_id, old_id);
    steps.regenerated.notify_one();
    let late = tokio::time::timeout(Duration::from_secs(10), late)
        .await
        .expect("the late request finishes")
        .expect("task")
        .expect("response");
    assert_eq!(late.status(), StatusCode::OK);
    let late_cookie = session_cookie(&late);
    let late_id = body(late).await;

    assert!(
        client
            .get::<String>(&format!("session:{old_id}"))
            .await
            .expect("get")
            .is_none(),
        "the old id was brought back to life"
    );
    assert!(client
        .get::<String>(&format!("session:{new_id}"))
        .await
        .expect("get")
        .is_some_and(|data| data.contains("ferris")));
    assert_ne!(late_id, old_id, "the late write went to a fresh session");
    assert!(
        late_cookie.is_some(),
        "and its cookie was set after it was stored"
    );
}
