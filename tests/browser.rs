//! The demo in a real browser: headless Chromium (Debian `chromium`, driven through
//! `chromedriver` over the WebDriver protocol) loads the page, fills and submits the form, and
//! the session contents are read back from the rendered page. A screenshot is saved to
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
        wd.call(
            reqwest::Method::DELETE,
            &format!("/session/{session}"),
            None,
        )
        .await;
        (source, reloaded.as_str().unwrap_or_default().to_string())
    });
    let _ = std::fs::remove_dir_all(&profile);
    let (submitted, reloaded) = page;
    assert!(submitted.contains("stored color"), "{submitted}");
    for page in [&submitted, &reloaded] {
        assert!(page.contains("<td class=\"key\">color</td>"), "{page}");
        assert!(
            page.contains("<td class=\"value\">blue &lt;b&gt;</td>"),
            "escaped in the DOM: {page}"
        );
    }
}
