//! The session demo: the tutorial's Tornado app rebuilt with axum and [`mc_session`].
//!
//! `GET /` shows the visitor's session (its contents, a visit counter, the lifetime it had
//! left) and a form; `POST /` with `action` (`set` or `del`), `key`, `val` and the form's CSRF
//! token changes it, then redirects back to `GET /` (303), which shows what happened as a
//! one-time message. Keys starting with `_` are the demo's own (the visit counter).

use std::collections::HashMap;
use std::time::Duration;

use askama::Template;
use askama_web::WebTemplate;
use axum::extract::{DefaultBodyLimit, Form, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use mc_session::{Session, SessionError, SessionLayer, SessionStore};
use tower_cookies::cookie::SameSite;
use tower_cookies::{Cookie, Cookies};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultMakeSpan, DefaultOnResponse, TraceLayer};
use tracing::Level;

/// The longest key the form accepts.
const MAX_KEY: usize = 100;
/// The longest value the form accepts.
const MAX_VALUE: usize = 4096;
/// The largest form body read (a form at its limits is about 13 KiB once URL-encoded).
const MAX_FORM_BODY: usize = 16 * 1024;
/// The session key of the visit counter (keys starting with `_` are the demo's own).
const VISITS: &str = "_visits";
/// How long the one-time message survives between the redirect and the page.
const FLASH_LIFETIME: Duration = Duration::from_secs(60);

/// How long a failed memcached server is left alone before it is tried again: short, so a
/// restart of memcached is a blip rather than python-memcached's 30-second outage.
pub const DEFAULT_DEAD_RETRY: Duration = Duration::from_secs(1);

/// How long to wait for memcached to connect or answer.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1);

/// The memcached client settings the demo uses for sessions.
pub fn client_options(timeout: Duration, dead_retry: Duration) -> mc_client::Options {
    mc_client::Options {
        connect_timeout: timeout,
        io_timeout: timeout,
        dead_retry,
        ..mc_client::Options::default()
    }
}

/// How the demo was started, for what the page says.
#[derive(Debug, Clone, Copy, Default)]
pub struct AppOptions {
    /// Sessions are kept by an mc-server inside this process (so they end with it, unless
    /// `sessions_saved`).
    pub embedded_server: bool,
    /// The embedded server saves its sessions to a file when the demo stops and restores them
    /// when it starts again (`--state-file`).
    pub sessions_saved: bool,
}

#[derive(Clone)]
struct AppState {
    store: SessionStore,
    options: AppOptions,
}

/// The page (`templates/index.html`, HTML-escaped by askama).
#[derive(Template, WebTemplate)]
#[template(path = "index.html")]
struct Page {
    session_id: Option<String>,
    ttl_minutes: u64,
    /// The lifetime the session had left before this visit, as `m:ss`.
    ttl_left: Option<String>,
    visits: u64,
    entries: Vec<(String, String)>,
    error: Option<String>,
    notice: Option<String>,
    csrf_token: String,
    embedded_server: bool,
    sessions_saved: bool,
}

fn page(
    state: &AppState,
    session: &Session,
    error: Option<String>,
    notice: Option<String>,
) -> Page {
    let mut entries: Vec<(String, String)> = session
        .get_all()
        .into_iter()
        .filter(|(k, _)| !k.starts_with('_'))
        .map(|(k, v)| {
            let shown = match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            (k, shown)
        })
        .collect();
    entries.sort();
    let visits = session.get::<u64>(VISITS).ok().flatten().unwrap_or(0);
    Page {
        session_id: session.id(),
        ttl_minutes: state.store.config().ttl.as_secs() / 60,
        ttl_left: session
            .ttl_left()
            .map(|t| format!("{}:{:02}", t.as_secs() / 60, t.as_secs() % 60)),
        visits,
        entries,
        error,
        notice,
        csrf_token: session.csrf_token(),
        embedded_server: state.options.embedded_server,
        sessions_saved: state.options.sessions_saved,
    }
}

/// The one-time message cookie's name, beside the session cookie (so it shares its
/// `__Host-` prefix when cookies are secure).
fn flash_name(state: &AppState) -> String {
    format!("{}_flash", state.store.config().cookie_name)
}

fn set_flash(state: &AppState, cookies: &Cookies, message: String) {
    let config = state.store.config();
    let cookie = Cookie::build((flash_name(state), message))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .secure(config.secure)
        .max_age(FLASH_LIFETIME.try_into().unwrap_or_default())
        .build();
    cookies.signed(&config.key).add(cookie);
}

fn take_flash(state: &AppState, cookies: &Cookies) -> Option<String> {
    let config = state.store.config();
    let name = flash_name(state);
    let message = cookies
        .signed(&config.key)
        .get(&name)
        .map(|c| c.value().to_string());
    if cookies.get(&name).is_some() {
        let gone = Cookie::build((name, ""))
            .path("/")
            .secure(config.secure)
            .build();
        cookies.remove(gone);
    }
    message
}

async fn show(State(state): State<AppState>, session: Session, cookies: Cookies) -> Response {
    // Visits are counted in sessions that exist: a visitor's first page view does not create
    // one, so anonymous traffic never writes to memcached. The count is written only if no
    // other request of the session wrote meanwhile (one round trip, no retry): parallel page
    // loads of one session may count as one visit rather than queue behind each other.
    if session.id().is_some() {
        let visits = session.get::<u64>(VISITS).ok().flatten().unwrap_or(0);
        if let Err(e) = session.insert_if_unchanged(VISITS, visits + 1).await {
            return e.into_response();
        }
    }
    let notice = take_flash(&state, &cookies);
    page(&state, &session, None, notice).into_response()
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
    if key.starts_with('_') {
        return Err("keys starting with _ are reserved".into());
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

/// What a POST without this visitor's form token gets: nothing is read, written or set.
fn forbidden() -> Response {
    (
        StatusCode::FORBIDDEN,
        "This form has expired or did not come from this site. Reload the page and try again.",
    )
        .into_response()
}

async fn apply(
    State(state): State<AppState>,
    session: Session,
    cookies: Cookies,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let token = form.get("csrf").map(String::as_str).unwrap_or("");
    if !session.verify_csrf(token) {
        return forbidden();
    }
    let (set, key, val) = match validate(&form) {
        Ok(ok) => ok,
        Err(message) => {
            let page = page(&state, &session, Some(message), None);
            return (StatusCode::BAD_REQUEST, page).into_response();
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
        Ok(notice) => {
            // Post/redirect/get: a reload shows the page again instead of resending the form.
            set_flash(&state, &cookies, notice);
            Redirect::to("/").into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// The demo's routes over a session store.
pub fn app(store: SessionStore, options: AppOptions) -> Router {
    let state = AppState { store, options };
    Router::new()
        .route("/", get(show).post(apply))
        .layer(DefaultBodyLimit::max(MAX_FORM_BODY))
        .layer(SessionLayer::new(state.store.clone()))
        // Pages show session data: no cache may keep them or serve them to another visitor.
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::VARY,
            HeaderValue::from_static("Cookie"),
        ))
        // One line per request at info: method, path, status, latency.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(DefaultMakeSpan::new().level(Level::INFO))
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        .with_state(state)
}
