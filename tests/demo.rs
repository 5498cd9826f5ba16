//! The session demo over real HTTP, against an in-process mc-server.

mod common;

use std::time::Duration;

use common::{browser, session_id, start};

#[test]
fn set_and_delete_round_trip() {
    let demo = start(Duration::from_secs(1200));
    let b = browser();
    let (status, page) = demo.get(&b);
    assert_eq!(status, 200);
    assert!(page.contains("The session is empty."));
    let (status, page) = demo.post(&b, &[("action", "set"), ("key", "name"), ("val", "ferris")]);
    assert_eq!(status, 200);
    assert!(
        page.contains("<td class=\"key\">name</td><td class=\"value\">ferris</td>"),
        "{page}"
    );
    let id = session_id(&page).expect("a session id");
    assert!(mc_session::is_valid_id(&id));
    let (_, page) = demo.get(&b);
    assert_eq!(
        session_id(&page).as_deref(),
        Some(id.as_str()),
        "same session on the next visit"
    );
    let (status, page) = demo.post(&b, &[("action", "del"), ("key", "name")]);
    assert_eq!(status, 200);
    assert!(page.contains("deleted name"));
    assert!(page.contains("The session is empty."));
    let (status, page) = demo.post(&b, &[("action", "del"), ("key", "never-set")]);
    assert_eq!(status, 200, "deleting a missing key is not an error");
    assert!(page.contains("never-set was not set"));
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
fn sessions_slide_and_expire() {
    let demo = start(Duration::from_secs(3));
    let b = browser();
    let (_, page) = demo.post(&b, &[("action", "set"), ("key", "k"), ("val", "v")]);
    let id = session_id(&page).expect("id");
    let ttl = demo.ttl_on_server(&id).expect("stored");
    assert!((2..=3).contains(&ttl), "ttl {ttl}");
    // Visits within the TTL keep pushing it forward.
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
    let cookie = demo.signed_cookie(&id);
    let plain = reqwest::Client::new();
    demo.runtime.block_on(async {
        let mut tasks = Vec::new();
        for i in 0..50 {
            let (client, url, cookie) = (plain.clone(), demo.url.clone(), cookie.clone());
            tasks.push(tokio::spawn(async move {
                let form = [
                    ("action", "set".to_string()),
                    ("key", format!("k{i}")),
                    ("val", i.to_string()),
                ];
                let r = client
                    .post(&url)
                    .header("cookie", cookie)
                    .form(&form)
                    .send()
                    .await
                    .expect("POST");
                assert_eq!(r.status().as_u16(), 200);
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

#[test]
fn memcached_down_is_a_503() {
    let mut demo = start(Duration::from_secs(1200));
    let b = browser();
    let (status, _) = demo.post(&b, &[("action", "set"), ("key", "k"), ("val", "v")]);
    assert_eq!(status, 200);
    if let Some(server) = demo.server.take() {
        server.shutdown();
    }
    let (status, body) = demo.get(&b);
    assert_eq!(status, 503, "{body}");
    let (status, _) = demo.post(&b, &[("action", "set"), ("key", "k2"), ("val", "v")]);
    assert_eq!(status, 503);
}

#[test]
fn truncated_resigned_and_replayed_cookies_are_refused() {
    let demo = start(Duration::from_secs(2));
    let b = browser();
    let (_, page) = demo.post(&b, &[("action", "set"), ("key", "k"), ("val", "v")]);
    let id = session_id(&page).expect("id");
    let good = demo.signed_cookie(&id);
    let send = |cookie: &str| demo.get_with_cookie(cookie);
    assert!(
        send(&good).contains("<td class=\"value\">v</td>"),
        "the genuine cookie works"
    );
    let truncated = &good[..good.len() - 4];
    assert!(
        send(truncated).contains("The session is empty."),
        "truncated cookie adopted"
    );
    let mut jar = cookie::CookieJar::new();
    jar.signed_mut(&mc_session::Key::generate())
        .add(cookie::Cookie::new("uc", id.clone()));
    let resigned = format!("uc={}", jar.get("uc").expect("cookie").value());
    assert!(
        send(&resigned).contains("The session is empty."),
        "cookie signed with another key adopted"
    );
    // After the TTL the same, genuine cookie is worthless.
    std::thread::sleep(Duration::from_millis(3500));
    let page = send(&good);
    assert!(
        page.contains("The session is empty."),
        "replayed after expiry"
    );
    assert!(session_id(&page).is_none());
}
