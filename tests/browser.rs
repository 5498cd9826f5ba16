//! The demo in a real browser: headless Chromium (Debian `chromium`, driven through
//! `chromedriver` over the WebDriver protocol) loads the page, fills and submits the form, and
//! the session contents are read back from the rendered page. Then pages on other origins (a
//! cross-site one, and another port of the same host) auto-submit forged forms to the demo;
//! the victim's session must come out untouched. A screenshot is saved to
//! `target/test-output/session-demo.png`.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{json, Value};

/// Stops chromedriver (by PID) however the test ends.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

struct WebDriver {
    base: String,
    http: reqwest::Client,
}

impl WebDriver {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("webdriver request");
        let text = response.text().await.expect("webdriver answer");
        let value: Value = serde_json::from_str(&text).expect("webdriver JSON");
        assert!(
            value["value"].get("error").is_none(),
            "webdriver {path}: {text}"
        );
        value["value"].clone()
    }

    async fn element(&self, session: &str, css: &str) -> String {
        let found = self
            .call(
                reqwest::Method::POST,
                &format!("/session/{session}/element"),
                Some(json!({"using": "css selector", "value": css})),
            )
            .await;
        found
            .as_object()
            .and_then(|o| o.values().next())
            .and_then(Value::as_str)
            .expect("element id")
            .to_string()
    }
}

/// Serve an attacker's page that auto-submits a form to `target` as soon as it loads.
fn serve_attacker(runtime: &tokio::runtime::Runtime, target: &str) -> u16 {
    let page = format!(
        "<!doctype html><html><body><form id=\"f\" method=\"post\" action=\"{target}\">\
         <input name=\"action\" value=\"set\"><input name=\"key\" value=\"color\">\
         <input name=\"val\" value=\"attacker\"><input name=\"csrf\" value=\"forged\">\
         </form><script>document.getElementById('f').submit()</script></body></html>"
    );
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || {
            let page = page.clone();
            async move { axum::response::Html(page) }
        }),
    );
    runtime.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    port
}

#[test]
fn the_form_works_in_headless_chromium() {
    let (Some(chromium), Some(chromedriver)) = (
        mc_testkit::which("chromium"),
        mc_testkit::which("chromedriver"),
    ) else {
        mc_testkit::missing_peer(
            "chromium and chromedriver (apt-get install chromium chromium-driver)",
        );
        return;
    };
    let demo = common::start(Duration::from_secs(1200));
    let cross_site = serve_attacker(&demo.runtime, &demo.url);
    let same_site = serve_attacker(&demo.runtime, &demo.url);
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let _driver = Driver(
        Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let profile =
        std::env::temp_dir().join(format!("session-demo-chromium-{}", std::process::id()));
    let wd = WebDriver {
        base: format!("http://127.0.0.1:{port}"),
        http: reqwest::Client::new(),
    };
    let page = demo.runtime.block_on(async {
        let deadline = Instant::now() + Duration::from_secs(20);
        while wd
            .http
            .get(format!("{}/status", wd.base))
            .send()
            .await
            .is_err()
        {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.display().to_string(),
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-quic", "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--window-size=900,700",
                         format!("--user-data-dir={}", profile.display())]
            }
        }}});
        let session = wd.call(reqwest::Method::POST, "/session", Some(caps)).await;
        let session = session["sessionId"]
            .as_str()
            .expect("session id")
            .to_string();
        let post = reqwest::Method::POST;
        wd.call(
            post.clone(),
            &format!("/session/{session}/url"),
            Some(json!({"url": demo.url})),
        )
        .await;
        let key = wd.element(&session, "#key").await;
        wd.call(
            post.clone(),
            &format!("/session/{session}/element/{key}/value"),
            Some(json!({"text": "color"})),
        )
        .await;
        let val = wd.element(&session, "#val").await;
        wd.call(
            post.clone(),
            &format!("/session/{session}/element/{val}/value"),
            Some(json!({"text": "blue <b>"})),
        )
        .await;
        let submit = wd.element(&session, "#submit").await;
        wd.call(
            post.clone(),
            &format!("/session/{session}/element/{submit}/click"),
            Some(json!({})),
        )
        .await;
        // Wait for the answer page.
        let deadline = Instant::now() + Duration::from_secs(10);
        let source = loop {
            let source = wd
                .call(
                    reqwest::Method::GET,
                    &format!("/session/{session}/source"),
                    None,
                )
                .await;
            let source = source.as_str().unwrap_or_default().to_string();
            if source.contains("stored color") || Instant::now() > deadline {
                break source;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let shot = wd
            .call(
                reqwest::Method::GET,
                &format!("/session/{session}/screenshot"),
                None,
            )
            .await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot.as_str().expect("screenshot"))
            .expect("screenshot is base64");
        let out = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("../test-output");
        std::fs::create_dir_all(&out).expect("output dir");
        std::fs::write(out.join("session-demo.png"), png).expect("screenshot file");
        // A reload keeps the session (the browser holds the cookie).
        wd.call(
            post.clone(),
            &format!("/session/{session}/refresh"),
            Some(json!({})),
        )
        .await;
        let reloaded = wd
            .call(
                reqwest::Method::GET,
                &format!("/session/{session}/source"),
                None,
            )
            .await;
        // The attacks: a page of another site (another host name: cross-site, so the
        // SameSite=Lax cookie is withheld), and a page on another port of the same host (same
        // site: the cookie is sent). Each auto-submits a forged form to the demo.
        let mut after_attacks = Vec::new();
        for attacker in [
            format!("http://localhost:{cross_site}/"),
            format!("http://127.0.0.1:{same_site}/"),
        ] {
            wd.call(
                post.clone(),
                &format!("/session/{session}/url"),
                Some(json!({"url": attacker})),
            )
            .await;
            // Let the forged form go out and its answer come back.
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let url = wd
                    .call(
                        reqwest::Method::GET,
                        &format!("/session/{session}/url"),
                        None,
                    )
                    .await;
                if url.as_str().is_some_and(|u| u.starts_with(&demo.url))
                    || Instant::now() > deadline
                {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
            wd.call(
                post.clone(),
                &format!("/session/{session}/url"),
                Some(json!({"url": demo.url})),
            )
            .await;
            let source = wd
                .call(
                    reqwest::Method::GET,
                    &format!("/session/{session}/source"),
                    None,
                )
                .await;
            after_attacks.push((attacker, source.as_str().unwrap_or_default().to_string()));
        }
        wd.call(
            reqwest::Method::DELETE,
            &format!("/session/{session}"),
            None,
        )
        .await;
        (
            source,
            reloaded.as_str().unwrap_or_default().to_string(),
            after_attacks,
        )
    });
    let _ = std::fs::remove_dir_all(&profile);
    let (submitted, reloaded, after_attacks) = page;
    let victim_id = common::session_id(&submitted).expect("the victim's session id");
    for (attacker, page) in &after_attacks {
        assert!(
            page.contains("<td class=\"value\">blue &lt;b&gt;</td>") && !page.contains("attacker"),
            "after the forged form from {attacker}, the victim's data changed: {page}"
        );
        assert_eq!(
            common::session_id(page).as_deref(),
            Some(victim_id.as_str()),
            "after the forged form from {attacker}, the victim's session was replaced"
        );
    }
    assert!(submitted.contains("stored color"), "{submitted}");
    for page in [&submitted, &reloaded] {
        assert!(page.contains("<td class=\"key\">color</td>"), "{page}");
        assert!(
            page.contains("<td class=\"value\">blue &lt;b&gt;</td>"),
            "escaped in the DOM: {page}"
        );
    }
}
