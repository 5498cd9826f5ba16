//! The session demo over real HTTP, against an in-process mc-server: the round trip as a
//! person uses it (post, redirect, page), and every attack and failure the session layer must
//! withstand.

mod common;

use std::time::{Duration, Instant};

use common::{browser, csrf_token, session_id, start, Demo};

#[test]
fn set_and_delete_round_trip_through_post_redirect_get() {
    let demo = start(Duration::from_secs(1200));
    let b = browser();
    let (status, page) = demo.get(&b);
    assert_eq!(status, 200);
    assert!(page.contains("The session is empty."));
    assert!(
        page.contains("id=\"no-session\""),
        "no session before a write"
    );
    let (status, page) = demo.post(&b, &[("action", "set"), ("key", "name"), ("val", "ferris")]);
    assert_eq!(status, 200, "the redirect leads back to the page");
    assert!(
        page.contains("<td class=\"key\">name</td><td class=\"value\">ferris</td>"),
        "{page}"
    );
    assert!(page.contains("id=\"notice\">stored name<"), "{page}");
    let id = session_id(&page).expect("a session id");
    assert!(mc_session::is_valid_id(&id));
    // The message was for one page only; the session stays.
    let (_, page) = demo.get(&b);
    assert!(!page.contains("stored name"), "the message shows once");
    assert_eq!(session_id(&page).as_deref(), Some(id.as_str()));
    let (status, page) = demo.post(&b, &[("action", "del"), ("key", "name")]);
    assert_eq!(status, 200);
    assert!(page.contains("deleted name"));
    assert!(page.contains("The session is empty."));
    let (status, page) = demo.post(&b, &[("action", "del"), ("key", "never-set")]);
    assert_eq!(status, 200, "deleting a missing key is not an error");
    assert!(page.contains("never-set was not set"));
}

#[test]
fn the_post_answers_with_a_redirect_so_a_reload_does_not_resend() {
    let demo = start(Duration::from_secs(1200));
    let b = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let (_, page) = demo.get(&b);
    let token = csrf_token(&page).expect("token");
    let answer = demo.post_raw(
        &b,
        &[
            ("action", "set"),
            ("key", "k"),
            ("val", "v"),
            ("csrf", &token),
        ],
        &[],
    );
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert_eq!(answer.headers["location"], "/");
    // The page after the redirect says what happened, once.
    let (_, page) = demo.get(&b);
    assert!(page.contains("id=\"notice\">stored k<"), "{page}");
    let (_, page) = demo.get(&b);
    assert!(!page.contains("id=\"notice\""), "{page}");
    assert!(page.contains("<td class=\"key\">k</td>"));
}

#[test]
fn bad_input_is_a_400_with_a_message_and_html_is_escaped() {
    let demo = start(Duration::from_secs(1200));
    let b = browser();
    for (form, message) in [
        (vec![("action", "nuke"), ("key", "k")], "unknown action"),
        (vec![("key", "k"), ("val", "v")], "choose an action"),
        (vec![("action", "set"), ("val", "v")], "the key is missing"),
        (vec![("action", "set"), ("key", "k")], "set needs a value"),
        (
            vec![("action", "set"), ("key", "_visits"), ("val", "9")],
            "keys starting with _ are reserved",
        ),
    ] {
        let (status, page) = demo.post(&b, &form);
        assert_eq!(status, 400, "{form:?}");
        assert!(page.contains(message), "{form:?}: {page}");
    }
    let (_, page) = demo.post(
        &b,
        &[
            ("action", "set"),
            ("key", "<b>k</b>"),
            ("val", "<script>alert(1)</script>"),
        ],
    );
    assert!(!page.contains("<script>alert(1)</script>"));
    assert!(
        page.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{page}"
    );
}

#[test]
fn tampered_and_unknown_cookies_get_a_fresh_session() {
    let demo = start(Duration::from_secs(1200));
    let b = browser();
    let (_, page) = demo.post(&b, &[("action", "set"), ("key", "secret"), ("val", "42")]);
    let id = session_id(&page).expect("id");
    let send = |cookie: String| demo.get_with_cookie(&cookie);
    // The id without a valid signature is refused.
    let page = send(format!("uc={id}"));
    assert!(
        page.contains("The session is empty."),
        "unsigned id adopted"
    );
    let page = send(format!(
        "uc=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA={id}"
    ));
    assert!(
        page.contains("The session is empty."),
        "forged signature adopted"
    );
    // A correctly signed id the server never issued is not adopted either.
    let unknown = mc_session::new_id();
    let page = send(demo.signed_cookie(&unknown));
    assert!(page.contains("The session is empty."));
    assert!(session_id(&page).is_none());
    assert_eq!(
        demo.ttl_on_server(&unknown),
        None,
        "nothing written for a rejected id"
    );
    // The genuine cookie still works.
    let page = send(demo.signed_cookie(&id));
    assert!(page.contains("<td class=\"value\">42</td>"));
}

#[test]
fn sessions_slide_and_expire_and_the_page_shows_what_was_left() {
    let demo = start(Duration::from_secs(3));
    let b = browser();
    let (_, page) = demo.post(&b, &[("action", "set"), ("key", "k"), ("val", "v")]);
    let id = session_id(&page).expect("id");
    let ttl = demo.ttl_on_server(&id).expect("stored");
    assert!((2..=3).contains(&ttl), "ttl {ttl}");
    // Visits within the TTL keep pushing it forward, and each is counted.
    let mut last_visits = 0;
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(1500));
        let (_, page) = demo.get(&b);
        assert_eq!(
            session_id(&page).as_deref(),
            Some(id.as_str()),
            "still the same session"
        );
        let ttl = demo.ttl_on_server(&id).expect("alive");
        assert!(ttl >= 2, "each visit restarts the clock: {ttl}");
        // What was left before this visit, read from memcached: about 1.5 s of 3.
        assert!(
            page.contains("id=\"ttl-left\">0:01<") || page.contains("id=\"ttl-left\">0:02<"),
            "{page}"
        );
        let visits = page
            .split("id=\"visits\">")
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .and_then(|n| n.parse::<u64>().ok())
            .expect("a visit count");
        assert!(visits > last_visits, "{visits} after {last_visits}");
        last_visits = visits;
    }
    // Then nothing for longer than the TTL: a new, empty session.
    std::thread::sleep(Duration::from_secs(5));
    let (_, page) = demo.get(&b);
    assert!(page.contains("The session is empty."));
    assert_eq!(demo.ttl_on_server(&id), None);
}

#[test]
fn fifty_concurrent_writes_are_all_kept() {
    let demo = start(Duration::from_secs(1200));
    let b = browser();
    let (_, page) = demo.post(&b, &[("action", "set"), ("key", "first"), ("val", "0")]);
    let id = session_id(&page).expect("id");
    let token = csrf_token(&page).expect("token");
    let cookie = demo.signed_cookie(&id);
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    demo.runtime.block_on(async {
        let mut tasks = Vec::new();
        for i in 0..50 {
            let (client, url, cookie, token) = (
                plain.clone(),
                demo.url.clone(),
                cookie.clone(),
                token.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let form = [
                    ("action", "set".to_string()),
                    ("key", format!("k{i}")),
                    ("val", i.to_string()),
                    ("csrf", token),
                ];
                let r = client
                    .post(&url)
                    .header("cookie", cookie)
                    .form(&form)
                    .send()
                    .await
                    .expect("POST");
                assert_eq!(r.status().as_u16(), 303);
            }));
        }
        for t in tasks {
            t.await.expect("task");
        }
    });
    let page = demo.get_with_cookie(&cookie);
    for i in 0..50 {
        assert!(
            page.contains(&format!("<td class=\"key\">k{i}</td>")),
            "k{i} lost"
        );
    }
}

/// A forged request: what it is, its extra headers, whether the victim's cookie goes with
/// it, and the token it carries.
type Attack<'a> = (&'a str, Vec<(&'a str, &'a str)>, bool, String);

/// A victim with a session, and the signed cookie their browser holds.
fn victim(demo: &Demo) -> (reqwest::Client, String, String) {
    let b = browser();
    let (_, page) = demo.post(
        &b,
        &[("action", "set"), ("key", "owner"), ("val", "victim")],
    );
    let id = session_id(&page).expect("id");
    (b, id.clone(), demo.signed_cookie(&id))
}

#[test]
fn cross_site_and_tokenless_posts_are_refused_before_touching_the_session() {
    let demo = start(Duration::from_secs(1200));
    let (_victim_browser, id, cookie) = victim(&demo);
    let origin = demo.url.trim_end_matches('/').to_string();
    let (_, attacker_page) = demo.post(
        &browser(),
        &[("action", "set"), ("key", "owner"), ("val", "attacker")],
    );
    let attackers_token = csrf_token(&attacker_page).expect("the attacker's own token");
    let plain = reqwest::Client::new();
    let other_port = format!("http://127.0.0.1:{}", demo.memcached.port());
    let planted = [("action", "set"), ("key", "owner"), ("val", "attacker")];
    let attacks: Vec<Attack> = vec![
        (
            "Origin of another site, cookie withheld (SameSite=Lax)",
            vec![("origin", "http://evil.example")],
            false,
            String::new(),
        ),
        (
            "Sec-Fetch-Site: cross-site",
            vec![("sec-fetch-site", "cross-site")],
            false,
            String::new(),
        ),
        (
            "another port of the same host (same site: the cookie is sent)",
            vec![("origin", &other_port), ("sec-fetch-site", "same-site")],
            true,
            String::new(),
        ),
        (
            "no Origin, no Sec-Fetch-Site, no token",
            vec![],
            true,
            String::new(),
        ),
        (
            "the attacker's own token with the victim's cookie",
            vec![],
            true,
            attackers_token,
        ),
    ];
    for (what, headers, with_cookie, token) in attacks {
        let mut fields = planted.to_vec();
        fields.push(("csrf", &token));
        let mut headers = headers.clone();
        if with_cookie {
            headers.push(("cookie", &cookie));
        }
        let answer = demo.post_raw(&plain, &fields, &headers);
        assert_eq!(answer.status, 403, "{what}: {}", answer.body);
        assert!(
            answer.set_cookies().is_empty(),
            "{what}: {:?}",
            answer.set_cookies()
        );
        let page = demo.get_with_cookie(&cookie);
        assert!(
            page.contains("<td class=\"value\">victim</td>"),
            "{what}: {page}"
        );
        assert_eq!(session_id(&page).as_deref(), Some(id.as_str()), "{what}");
    }
    // The site's own form, from a browser that says so, still works.
    let page = demo.get_with_cookie(&cookie);
    let token = csrf_token(&page).expect("token");
    let answer = demo.post_raw(
        &reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client"),
        &[
            ("action", "set"),
            ("key", "k"),
            ("val", "v"),
            ("csrf", &token),
        ],
        &[
            ("cookie", &cookie),
            ("origin", &origin),
            ("sec-fetch-site", "same-origin"),
        ],
    );
    assert_eq!(answer.status, 303);
}

/// Store `record` raw under session `id`'s key.
fn plant(demo: &Demo, id: &str, flags: u32, record: &[u8]) {
    let mut request = format!("set session:{id} {flags} 0 {}\r\n", record.len()).into_bytes();
    request.extend_from_slice(record);
    request.extend_from_slice(b"\r\n");
    assert_eq!(demo.memcached(&request), "STORED\r\n");
}

fn zlib(data: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).expect("compress");
    encoder.finish().expect("compress")
}

#[test]
fn records_that_do_not_decode_are_dropped_not_served() {
    let demo = start(Duration::from_secs(1200));
    let bomb = zlib(&vec![b' '; 50 * 1024 * 1024]);
    let cases: Vec<(&str, u32, Vec<u8>)> = vec![
        ("not JSON", 16, b"not json".to_vec()),
        ("a JSON array", 16, b"[1,2,3]".to_vec()),
        ("another client's pickle", 1, b"\x80\x04K\x01.".to_vec()),
        (
            "bytes that are not UTF-8",
            16,
            b"{\"k\":\"\xff\xfe\"}".to_vec(),
        ),
        ("broken zlib", 16 | 8, b"\x78\x9cnot really zlib".to_vec()),
        ("a zlib bomb (50 MB of spaces)", 16 | 8, bomb),
        ("no flags", 0, b"{\"k\":\"v\"}".to_vec()),
    ];
    for (what, flags, record) in cases {
        let id = mc_session::new_id();
        plant(&demo, &id, flags, &record);
        let answer = demo.get_with_cookie_answer(&demo.signed_cookie(&id));
        assert_eq!(answer.status, 200, "{what}: {}", answer.body);
        assert!(
            answer.body.contains("id=\"no-session\""),
            "{what}: a fresh session"
        );
        assert_eq!(
            demo.ttl_on_server(&id),
            None,
            "{what}: the record is dropped, not kept alive"
        );
    }
}

#[test]
fn a_session_is_capped_in_size_with_a_short_generic_413() {
    let demo = start(Duration::from_secs(1200));
    let b = browser();
    let value = "\u{1}".repeat(4000); // 4000 bytes that JSON escapes to 24,000
    let mut status = 0;
    let mut body = String::new();
    for i in 0..10 {
        let (s, page) = demo.post(
            &b,
            &[
                ("action", "set"),
                ("key", &format!("k{i}")),
                ("val", &value),
            ],
        );
        status = s;
        body = page;
        if s != 200 {
            break;
        }
    }
    assert_eq!(status, 413, "{body}");
    assert_eq!(body, "session too large");
    // What was stored before stays readable.
    let (status, page) = demo.get(&b);
    assert_eq!(status, 200);
    assert!(page.contains("<td class=\"key\">k0</td>"));
}

#[test]
fn memcached_down_is_a_503_with_retry_after_and_no_cookie() {
    let mut demo = start(Duration::from_secs(1200));
    let b = browser();
    let (status, _) = demo.post(&b, &[("action", "set"), ("key", "k"), ("val", "v")]);
    assert_eq!(status, 200);
    let newcomer = browser();
    let (_, page) = demo.get(&newcomer);
    let newcomer_token = csrf_token(&page).expect("token");
    if let Some(server) = demo.server.take() {
        server.shutdown();
    }
    let answer = demo.get_answer(&b);
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert_eq!(answer.headers["retry-after"], "1");
    let address = demo.memcached.to_string();
    assert!(!answer.body.contains(&address), "the body leaks {address}");
    assert!(!answer.body.contains("127.0.0.1"), "{}", answer.body);
    // A new visitor's first write fails: no cookie for a session that was never stored.
    let answer = demo.post_raw(
        &newcomer,
        &[
            ("action", "set"),
            ("key", "k2"),
            ("val", "v"),
            ("csrf", &newcomer_token),
        ],
        &[],
    );
    assert_eq!(answer.status, 503);
    assert!(
        answer.set_cookies().is_empty(),
        "{:?}",
        answer.set_cookies()
    );
}

/// Poll `GET /` until it answers 200; how long that took.
fn time_until_served(demo: &Demo, client: &reqwest::Client, limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let (status, _) = demo.get(client);
        if status == 200 {
            return started.elapsed();
        }
        assert!(started.elapsed() < limit, "still {status} after {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_memcached_restart_is_a_blip_not_an_outage() {
    let mut demo = start(Duration::from_secs(1200));
    let b = browser();
    let (status, _) = demo.post(&b, &[("action", "set"), ("key", "k"), ("val", "v")]);
    assert_eq!(status, 200);
    if let Some(server) = demo.server.take() {
        server.shutdown();
    }
    let answer = demo.get_answer(&b);
    assert_eq!(answer.status, 503);
    assert_eq!(answer.headers["retry-after"], "1");
    // memcached comes back on the same port (empty, as after a restart).
    let config = mc_server::Config {
        port: demo.memcached.port(),
        ..mc_server::Config::ephemeral()
    };
    demo.server = Some(mc_server::RunningServer::start(config).expect("restart"));
    let took = time_until_served(&demo, &b, Duration::from_secs(2));
    println!("served again {took:?} after memcached came back");
}

#[test]
fn a_paused_memcached_is_a_blip_not_an_outage() {
    let Some(memcached) = mc_testkit::Memcached::start() else {
        return;
    };
    let demo = common::start_with(memcached.addr, |_| {});
    let b = browser();
    let (status, _) = demo.post(&b, &[("action", "set"), ("key", "k"), ("val", "v")]);
    assert_eq!(status, 200);
    let pid = nix::unistd::Pid::from_raw(memcached.pid() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).expect("SIGSTOP");
    let paused = Instant::now();
    let answer = demo.get_answer(&b);
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert_eq!(answer.headers["retry-after"], "1");
    std::thread::sleep(Duration::from_secs(3).saturating_sub(paused.elapsed()));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT).expect("SIGCONT");
    let took = time_until_served(&demo, &b, Duration::from_secs(2));
    println!("served again {took:?} after a 3 s pause of memcached");
    let (_, page) = demo.get(&b);
    assert!(
        page.contains("<td class=\"value\">v</td>"),
        "the session survived the pause"
    );
}

#[test]
fn pages_are_not_cached_and_vary_by_cookie() {
    let demo = start(Duration::from_secs(1200));
    let b = browser();
    let answer = demo.get_answer(&b);
    assert_eq!(answer.headers["cache-control"], "no-store");
    assert_eq!(answer.headers["vary"], "Cookie");
    let answer = demo.post_raw(&b, &[("action", "set")], &[]);
    assert_eq!(answer.status, 403);
    assert_eq!(answer.headers["cache-control"], "no-store");
}

#[test]
fn secure_cookies_use_the_host_prefix() {
    let server = mc_server::RunningServer::start(mc_server::Config::ephemeral()).expect("server");
    let addr = server.local_addr().expect("addr");
    let demo = common::start_with(addr, |config| {
        *config = config.clone().secure();
    });
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    // A browser keeps `Secure` cookies only from HTTPS pages; this test sends them by hand.
    let anchor = demo.get_answer(&no_redirects);
    let anchor_cookie = anchor
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-uc_csrf="))
        .expect("the pre-session anchor is set under the __Host- prefix");
    assert!(anchor_cookie.contains("Secure"), "{anchor_cookie}");
    let page_token = csrf_token(&anchor.body).expect("token");
    let pair = anchor_cookie
        .split(';')
        .next()
        .expect("name=value")
        .to_string();
    let answer = demo.post_raw(
        &no_redirects,
        &[
            ("action", "set"),
            ("key", "k"),
            ("val", "v"),
            ("csrf", &page_token),
        ],
        &[("cookie", &pair)],
    );
    assert_eq!(answer.status, 303, "{}", answer.body);
    let session = answer
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-uc="))
        .expect("the session cookie");
    for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(session.contains(attribute), "{session}");
    }
    assert!(!session.contains("Domain"), "{session}");
}
