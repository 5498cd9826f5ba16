//! Helpers shared by the demo's tests: an in-process demo over an in-process mc-server.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::time::Duration;

use mc_server::{Config, RunningServer};
use mc_session::{Key, SessionConfig, SessionStore};

pub struct Demo {
    pub url: String,
    pub server: Option<RunningServer>,
    pub memcached: SocketAddr,
    pub key: Key,
    pub runtime: tokio::runtime::Runtime,
}

pub fn start(ttl: Duration) -> Demo {
    let server = RunningServer::start(Config::ephemeral()).expect("mc-server");
    let memcached = server.local_addr().expect("addr");
    let key = Key::generate();
    let mut config = SessionConfig::new(key.clone());
    config.ttl = ttl;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let url = format!("http://{}/", listener.local_addr().expect("addr"));
    let client = runtime.block_on(async { mc_client::Client::new([memcached.to_string()]) });
    let app = session_demo::app(SessionStore::new(client, config));
    runtime.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Demo {
        url,
        server: Some(server),
        memcached,
        key,
        runtime,
    }
}

pub fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .expect("http client")
}

impl Demo {
    pub fn get(&self, client: &reqwest::Client) -> (u16, String) {
        self.runtime.block_on(async {
            let r = client.get(&self.url).send().await.expect("GET");
            (r.status().as_u16(), r.text().await.expect("body"))
        })
    }

    pub fn post(&self, client: &reqwest::Client, form: &[(&str, &str)]) -> (u16, String) {
        self.runtime.block_on(async {
            let r = client
                .post(&self.url)
                .form(form)
                .send()
                .await
                .expect("POST");
            (r.status().as_u16(), r.text().await.expect("body"))
        })
    }

    /// `GET /` with exactly this `Cookie` header (no cookie store): the page.
    pub fn get_with_cookie(&self, cookie: &str) -> String {
        let client = reqwest::Client::new();
        self.runtime.block_on(async {
            let response = client
                .get(&self.url)
                .header("cookie", cookie)
                .send()
                .await
                .expect("GET");
            response.text().await.expect("body")
        })
    }

    /// Ask memcached directly (meta get with the remaining TTL).
    pub fn ttl_on_server(&self, id: &str) -> Option<i64> {
        let mut conn = std::net::TcpStream::connect(self.memcached).expect("connect");
        conn.write_all(format!("mg {id} t\r\n").as_bytes())
            .expect("write");
        let mut buf = [0u8; 256];
        let n = conn.read(&mut buf).expect("read");
        let line = String::from_utf8_lossy(&buf[..n]).to_string();
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

/// The session id shown on a page.
pub fn session_id(page: &str) -> Option<String> {
    let start = page.find("id=\"session-id\">")? + "id=\"session-id\">".len();
    Some(page[start..start + 32].to_string())
}
