//! Helpers shared by the demo's tests: an in-process demo over an in-process mc-server (or any
//! memcached), with the client settings the `session-demo` binary uses.
#![allow(dead_code)]

use std::io::Write;

use mc_testkit::read_some;
use std::net::SocketAddr;
use std::time::Duration;

use mc_server::{Config, RunningServer};
use mc_session::{Key, SessionConfig, SessionStore};
use reqwest::header::HeaderMap;

pub struct Demo {
    pub url: String,
    pub server: Option<RunningServer>,
    pub memcached: SocketAddr,
    pub key: Key,
    pub runtime: tokio::runtime::Runtime,
}

/// A demo over a fresh in-process mc-server, sessions living `ttl`.
pub fn start(ttl: Duration) -> Demo {
    let server = RunningServer::start(Config::ephemeral()).expect("mc-server");
    let memcached = server.local_addr().expect("addr");
    let mut demo = start_with(memcached, |config| config.ttl = ttl);
    demo.server = Some(server);
    demo
}

/// A demo over the memcached at `memcached`, its session settings adjusted by `configure`.
pub fn start_with(memcached: SocketAddr, configure: impl FnOnce(&mut SessionConfig)) -> Demo {
    let key = Key::generate();
    let mut config = SessionConfig::new(key.clone());
    configure(&mut config);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    let options = session_demo::client_options(
        session_demo::DEFAULT_TIMEOUT,
        session_demo::DEFAULT_DEAD_RETRY,
    );
    let client = runtime
        .block_on(async { mc_client::Client::with_options([memcached.to_string()], options) });
    let app = session_demo::app(
        SessionStore::new(client, config),
        session_demo::AppOptions::default(),
    );
    runtime.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Demo {
        url,
        server: None,
        memcached,
        key,
        runtime,
    }
}

/// A browser-like client: keeps cookies, follows redirects.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("http client")
}

/// What came back.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    /// The `Set-Cookie` headers.
    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap_or_default().to_string())
            .collect()
    }
}

impl Demo {
    pub fn get(&self, client: &reqwest::Client) -> (u16, String) {
        let answer = self.get_answer(client);
        (answer.status, answer.body)
    }

    pub fn get_answer(&self, client: &reqwest::Client) -> Answer {
        self.runtime.block_on(async {
            let r = client.get(&self.url).send().await.expect("GET");
            answer(r).await
        })
    }

    /// Submit the form as the page does: GET the page for its CSRF token, then POST (the
    /// client follows the redirect back to the page).
    pub fn post(&self, client: &reqwest::Client, form: &[(&str, &str)]) -> (u16, String) {
        let (_, page) = self.get(client);
        let token = csrf_token(&page).expect("the page carries a CSRF token");
        let mut fields: Vec<(&str, &str)> = form.to_vec();
        fields.push(("csrf", &token));
        let answer = self.post_raw(client, &fields, &[]);
        (answer.status, answer.body)
    }

    /// POST exactly these fields with these extra headers.
    pub fn post_raw(
        &self,
        client: &reqwest::Client,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Answer {
        self.runtime.block_on(async {
            let mut request = client.post(&self.url).form(form);
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            answer(request.send().await.expect("POST")).await
        })
    }

    /// `GET /` with exactly this `Cookie` header (no cookie store): the page.
    pub fn get_with_cookie(&self, cookie: &str) -> String {
        self.get_with_cookie_answer(cookie).body
    }

    pub fn get_with_cookie_answer(&self, cookie: &str) -> Answer {
        let client = reqwest::Client::new();
        self.runtime.block_on(async {
            let response = client
                .get(&self.url)
                .header("cookie", cookie)
                .send()
                .await
                .expect("GET");
            answer(response).await
        })
    }

    /// Send raw bytes to the memcached behind the demo; the first answer.
    pub fn memcached(&self, request: &[u8]) -> String {
        let mut conn = std::net::TcpStream::connect(self.memcached).expect("connect");
        conn.set_read_timeout(Some(Duration::from_secs(3)))
            .expect("timeout");
        conn.write_all(request).expect("write");
        let mut buf = [0u8; 4096];
        let n = read_some(&mut conn, &mut buf).expect("read");
        String::from_utf8_lossy(&buf[..n]).to_string()
    }

    /// The remaining TTL of session `id`'s record (meta get), or `None` when it is absent.
    pub fn ttl_on_server(&self, id: &str) -> Option<i64> {
        let line = self.memcached(format!("mg session:{id} t\r\n").as_bytes());
        line.strip_prefix("HD t")
            .and_then(|t| t.trim().parse().ok())
    }

    /// A cookie header signed with the demo's key.
    pub fn signed_cookie(&self, id: &str) -> String {
        let mut jar = cookie::CookieJar::new();
        jar.signed_mut(&self.key)
            .add(cookie::Cookie::new("uc", id.to_string()));
        let value = jar.get("uc").expect("signed cookie").value().to_string();
        format!("uc={value}")
    }
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.text().await.expect("body");
    Answer {
        status,
        headers,
        body,
    }
}

/// The session id shown on a page.
pub fn session_id(page: &str) -> Option<String> {
    let start = page.find("id=\"session-id\">")? + "id=\"session-id\">".len();
    Some(page[start..start + 32].to_string())
}

/// The CSRF token in a page's form.
pub fn csrf_token(page: &str) -> Option<String> {
    let marker = "name=\"csrf\" value=\"";
    let start = page.find(marker)? + marker.len();
    let end = start + page[start..].find('"')?;
    Some(page[start..end].to_string())
}
