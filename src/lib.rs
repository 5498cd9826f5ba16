//! The session demo: the tutorial's Tornado app rebuilt with axum and [`mc_session`].
//!
//! `GET /` shows the visitor's session and a form; `POST /` with `action` (`set` or `del`),
//! `key` and `val` changes it and shows the page again.

use std::collections::HashMap;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::Form;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use mc_session::{Session, SessionError, SessionLayer, SessionStore};
use tower_http::trace::TraceLayer;

/// The longest key the form accepts.
const MAX_KEY: usize = 100;
/// The longest value the form accepts.
const MAX_VALUE: usize = 4096;

/// The page (`templates/index.html`, HTML-escaped by askama).
#[derive(Template, WebTemplate)]
#[template(path = "index.html")]
struct Page {
    session_id: Option<String>,
    ttl_minutes: u64,
    entries: Vec<(String, String)>,
    error: Option<String>,
    notice: Option<String>,
}

fn page(session: &Session, error: Option<String>, notice: Option<String>) -> Page {
    let mut entries: Vec<(String, String)> = session
        .get_all()
        .into_iter()
        .map(|(k, v)| {
            let shown = match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            (k, shown)
        })
        .collect();
    entries.sort();
    Page {
        session_id: session.id(),
        ttl_minutes: 20,
        entries,
        error,
        notice,
    }
}

async fn show(session: Session) -> Response {
    page(&session, None, None).into_response()
}

/// Check the form; a message for the visitor when it is not usable.
fn validate(form: &HashMap<String, String>) -> Result<(bool, String, String), String> {
    let action = form.get("action").map(String::as_str).unwrap_or("");
    let set = match action {
        "set" => true,
        "del" => false,
        "" => return Err("choose an action: set or del".into()),
        other => return Err(format!("unknown action {other:?}: use set or del")),
    };
    let key = form.get("key").map(|k| k.trim()).unwrap_or("");
    if key.is_empty() {
        return Err("the key is missing".into());
    }
    if key.len() > MAX_KEY {
        return Err(format!("the key is longer than {MAX_KEY} characters"));
    }
    let val = form.get("val").cloned();
    let val = match (set, val) {
        (true, None) => return Err("set needs a value (val)".into()),
        (true, Some(v)) if v.len() > MAX_VALUE => {
            return Err(format!("the value is longer than {MAX_VALUE} characters"))
        }
        (_, v) => v.unwrap_or_default(),
    };
    Ok((set, key.to_string(), val))
}

async fn apply(session: Session, Form(form): Form<HashMap<String, String>>) -> Response {
    let (set, key, val) = match validate(&form) {
        Ok(ok) => ok,
        Err(message) => {
            return (StatusCode::BAD_REQUEST, page(&session, Some(message), None)).into_response()
        }
    };
    let result: Result<String, SessionError> = if set {
        session
            .insert(&key, &val)
            .await
            .map(|()| format!("stored {key}"))
    } else {
        session.remove(&key).await.map(|old| match old {
            Some(_) => format!("deleted {key}"),
            None => format!("{key} was not set"),
        })
    };
    match result {
        Ok(notice) => page(&session, None, Some(notice)).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The demo's routes over a session store.
pub fn app(store: SessionStore) -> Router {
    Router::new()
        .route("/", get(show).post(apply))
        .layer(SessionLayer::new(store))
        .layer(TraceLayer::new_for_http())
}
