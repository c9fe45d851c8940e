//! CSRF on session-authenticated unsafe requests, and the Origin rule for Basic
//! (`docs/awx-compat.md`, "Authenticator chain", "CSRF", "HTTP Basic"; `docs/security.md`, "CSRF",
//! "HTTP Basic").

use crate::harness::{Builder, PASSWORD, Session, TestApp, assert_csrf_403, assert_generic_401};
use crate::{on_both_backends, on_both_backends_configured};
use axum::http::Method;
use serde_json::json;

const EVIL_ORIGIN: &str =
    "Origin checking failed - https://evil.example does not match any trusted origins.";

/// An unsafe request the session user may make: change their own first name.
fn rename<'a>(s: &'a Session<'a>, user_id: i64) -> crate::harness::RequestBuilder<'a> {
    s.req(Method::PATCH, &format!("/api/v2/users/{user_id}/"))
        .json(&json!({"first_name": "Renamed"}))
}

async fn first_name(app: &TestApp, id: portcullis_core::ids::UserId) -> String {
    app.user_by_id(id).await.first_name
}

async fn session_unsafe_request_without_a_csrf_token_is_refused(app: TestApp) {
    let alice = app.user("alice").await;
    let s = app.login("alice", PASSWORD).await;
    let r = rename(&s, alice.id.0).send().await;
    assert_csrf_403(&r, "CSRF token missing.");
    assert_eq!(first_name(&app, alice.id).await, "");
    // Same for DELETE and PUT.
    let r = s
        .req(Method::DELETE, &format!("/api/v2/users/{}/", alice.id))
        .send()
        .await;
    assert_csrf_403(&r, "CSRF token missing.");
    let r = s
        .req(Method::PUT, &format!("/api/v2/users/{}/", alice.id))
        .json(&json!({"first_name": "Put"}))
        .send()
        .await;
    assert_csrf_403(&r, "CSRF token missing.");
}

async fn session_unsafe_request_with_the_matching_pair_and_referer_is_accepted(app: TestApp) {
    let alice = app.user("alice").await;
    let s = app.login("alice", PASSWORD).await;
    let r = s
        .csrf_req(Method::PATCH, &format!("/api/v2/users/{}/", alice.id))
        .json(&json!({"first_name": "Alice"}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(first_name(&app, alice.id).await, "Alice");
}

async fn session_unsafe_request_with_a_wrong_token_is_refused(app: TestApp) {
    let alice = app.user("alice").await;
    let s = app.login("alice", PASSWORD).await;
    let other = app.login("alice", PASSWORD).await;
    let r = rename(&s, alice.id.0)
        .header("x-csrftoken", &other.csrf)
        .send()
        .await;
    assert_csrf_403(
        &r,
        "CSRF token from the 'X-Csrftoken' HTTP header incorrect.",
    );
    let r = rename(&s, alice.id.0)
        .header("x-csrftoken", &"a".repeat(64))
        .send()
        .await;
    assert_csrf_403(
        &r,
        "CSRF token from the 'X-Csrftoken' HTTP header incorrect.",
    );
    assert_eq!(first_name(&app, alice.id).await, "");
}

async fn session_unsafe_request_with_a_token_of_the_wrong_length_is_refused(app: TestApp) {
    let alice = app.user("alice").await;
    let s = app.login("alice", PASSWORD).await;
    for token in [&s.csrf[..63], "abc", &format!("{}x", s.csrf)] {
        let r = rename(&s, alice.id.0)
            .header("x-csrftoken", token)
            .send()
            .await;
        assert_csrf_403(
            &r,
            "CSRF token from the 'X-Csrftoken' HTTP header has incorrect length.",
        );
    }
}

async fn session_unsafe_request_without_the_csrf_cookie_is_refused(app: TestApp) {
    let alice = app.user("alice").await;
    let s = app.login("alice", PASSWORD).await;
    let r = app
        .patch(&format!("/api/v2/users/{}/", alice.id))
        .header("cookie", &format!("awx_sessionid={}", s.id()))
        .header("x-csrftoken", &s.csrf)
        .json(&json!({"first_name": "X"}))
        .send()
        .await;
    assert_csrf_403(&r, "CSRF cookie not set.");
    // Two csrftoken cookies are as good as none.
    let r = app
        .patch(&format!("/api/v2/users/{}/", alice.id))
        .header(
            "cookie",
            &format!(
                "csrftoken={0}; csrftoken={0}; awx_sessionid={1}",
                s.csrf,
                s.id()
            ),
        )
        .header("x-csrftoken", &s.csrf)
        .json(&json!({"first_name": "X"}))
        .send()
        .await;
    assert_csrf_403(&r, "CSRF cookie not set.");
}

async fn a_csrf_token_captured_before_login_fails_after_login(app: TestApp) {
    let alice = app.user("alice").await;
    let before = app.anonymous_csrf().await;
    let s = app.login("alice", PASSWORD).await;
    assert_ne!(s.csrf, before);
    let r = app
        .patch(&format!("/api/v2/users/{}/", alice.id))
        .header(
            "cookie",
            &format!("csrftoken={before}; awx_sessionid={}", s.id()),
        )
        .header("x-csrftoken", &before)
        .json(&json!({"first_name": "X"}))
        .send()
        .await;
    assert_csrf_403(&r, "CSRF cookie not set.");
    assert_eq!(first_name(&app, alice.id).await, "");
}

async fn a_csrf_token_bound_to_another_session_fails(app: TestApp) {
    let alice = app.user("alice").await;
    let a = app.login("alice", PASSWORD).await;
    let b = app.login("alice", PASSWORD).await;
    let r = app
        .patch(&format!("/api/v2/users/{}/", alice.id))
        .header(
            "cookie",
            &format!("csrftoken={}; awx_sessionid={}", b.csrf, a.id()),
        )
        .header("x-csrftoken", &b.csrf)
        .json(&json!({"first_name": "X"}))
        .send()
        .await;
    assert_csrf_403(&r, "CSRF cookie not set.");
}

async fn a_foreign_origin_is_refused_even_with_a_valid_pair(app: TestApp) {
    let alice = app.user("alice").await;
    let s = app.login("alice", PASSWORD).await;
    let r = s
        .csrf_req(Method::PATCH, &format!("/api/v2/users/{}/", alice.id))
        .header("origin", "https://evil.example")
        .json(&json!({"first_name": "X"}))
        .send()
        .await;
    assert_csrf_403(&r, EVIL_ORIGIN);
    let r = s
        .csrf_req(Method::PATCH, &format!("/api/v2/users/{}/", alice.id))
        .header("origin", "null")
        .json(&json!({"first_name": "X"}))
        .send()
        .await;
    assert_csrf_403(
        &r,
        "Origin checking failed - null does not match any trusted origins.",
    );
    assert_eq!(first_name(&app, alice.id).await, "");
}

async fn the_own_origin_is_accepted(app: TestApp) {
    let alice = app.user("alice").await;
    let s = app.login("alice", PASSWORD).await;
    let r = s
        .csrf_req(Method::PATCH, &format!("/api/v2/users/{}/", alice.id))
        .header("host", "127.0.0.1:8052")
        .header("origin", "http://127.0.0.1:8052")
        .json(&json!({"first_name": "Alice"}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Same host, other port or scheme: a different origin.
    for origin in ["http://127.0.0.1:9999", "https://127.0.0.1:8052"] {
        let r = s
            .csrf_req(Method::PATCH, &format!("/api/v2/users/{}/", alice.id))
            .header("host", "127.0.0.1:8052")
            .header("origin", origin)
            .json(&json!({"first_name": "X"}))
            .send()
            .await;
        assert_csrf_403(
            &r,
            &format!("Origin checking failed - {origin} does not match any trusted origins."),
        );
    }
}

async fn an_origin_listed_in_csrf_trusted_origins_is_accepted(app: TestApp) {
    app.admin().await;
    let alice = app.user("alice").await;
    let s = app.login("alice", PASSWORD).await;
    app.set(json!({"CSRF_TRUSTED_ORIGINS": ["https://evil.example"]}))
        .await;
    let r = s
        .csrf_req(Method::PATCH, &format!("/api/v2/users/{}/", alice.id))
        .header("origin", "https://evil.example")
        .json(&json!({"first_name": "Alice"}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // Removing it again takes effect on the next request.
    app.set(json!({"CSRF_TRUSTED_ORIGINS": []})).await;
    let r = s
        .csrf_req(Method::PATCH, &format!("/api/v2/users/{}/", alice.id))
        .header("origin", "https://evil.example")
        .json(&json!({"first_name": "X"}))
        .send()
        .await;
    assert_csrf_403(&r, EVIL_ORIGIN);
}

async fn a_wildcard_trusted_origin_matches_subdomains_only(app: TestApp) {
    app.admin().await;
    let alice = app.user("alice").await;
    let s = app.login("alice", PASSWORD).await;
    app.set(json!({"CSRF_TRUSTED_ORIGINS": ["https://*.example.com"]}))
        .await;
    for (origin, ok) in [
        ("https://app.example.com", true),
        ("https://a.b.example.com", true),
        ("https://app.example.com:8443", false),
        ("https://example.com", false),
        ("http://app.example.com", false),
        ("https://evilexample.com", false),
        ("https://app.example.com.evil.net", false),
    ] {
        let r = s
            .csrf_req(Method::PATCH, &format!("/api/v2/users/{}/", alice.id))
            .header("origin", origin)
            .json(&json!({"first_name": "Alice"}))
            .send()
            .await;
        if ok {
            assert_eq!(r.status, 200, "{origin}: {}", r.text());
        } else {
            assert_csrf_403(
                &r,
                &format!("Origin checking failed - {origin} does not match any trusted origins."),
            );
        }
    }
}

async fn https_through_a_trusted_proxy_needs_a_same_origin_referer(b: Builder) {
    let Some(app) = b
        .config(|c| c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()])
        .build()
        .await
    else {
        return;
    };
    let alice = app.user("alice").await;
    let s = app.login("alice", PASSWORD).await;
    let path = format!("/api/v2/users/{}/", alice.id);
    let via_proxy = |referer: Option<&str>| {
        let mut req = s
            .req(Method::PATCH, &path)
            .header("host", "awx.example.com")
            .header("x-forwarded-proto", "https")
            .header("x-csrftoken", &s.csrf)
            .json(&json!({"first_name": "Alice"}));
        if let Some(r) = referer {
            req = req.header("referer", r);
        }
        req
    };
    assert_csrf_403(
        &via_proxy(None).send().await,
        "Referer checking failed - no Referer.",
    );
    assert_csrf_403(
        &via_proxy(Some("not a url")).send().await,
        "Referer checking failed - Referer is malformed.",
    );
    assert_csrf_403(
        &via_proxy(Some("http://awx.example.com/api/")).send().await,
        "Referer checking failed - Referer is insecure while host is secure.",
    );
    assert_csrf_403(
        &via_proxy(Some("https://evil.example/page")).send().await,
        "Referer checking failed - https://evil.example/page does not match any trusted origins.",
    );
    assert_eq!(first_name(&app, alice.id).await, "");
    let r = via_proxy(Some("https://awx.example.com/api/v2/users/"))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

async fn a_browser_behind_a_trusted_tls_proxy_needs_no_extra_settings(b: Builder) {
    let Some(app) = b
        .config(|c| c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()])
        .build()
        .await
    else {
        return;
    };
    let alice = app.user("alice").await;
    // Login through the proxy with the browser's Origin.
    let csrf = app.anonymous_csrf().await;
    let r = app
        .post("/api/login/")
        .header("host", "awx.example.com")
        .header("x-forwarded-proto", "https")
        .header("origin", "https://awx.example.com")
        .header("cookie", &format!("csrftoken={csrf}"))
        .header("x-csrftoken", &csrf)
        .form(&[
            ("username", "alice"),
            ("password", PASSWORD),
            ("next", "/api/"),
        ])
        .send()
        .await;
    assert_eq!(r.status, 302, "{}", r.text());
    let sid = r.cookie("awx_sessionid").unwrap();
    let token = r.cookie("csrftoken").unwrap();
    let r = app
        .patch(&format!("/api/v2/users/{}/", alice.id))
        .header("host", "awx.example.com")
        .header("x-forwarded-proto", "https")
        .header("origin", "https://awx.example.com")
        .header("cookie", &format!("csrftoken={token}; awx_sessionid={sid}"))
        .header("x-csrftoken", &token)
        .json(&json!({"first_name": "Alice"}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The plain-http origin is not this request's origin.
    let r = app
        .patch(&format!("/api/v2/users/{}/", alice.id))
        .header("host", "awx.example.com")
        .header("x-forwarded-proto", "https")
        .header("origin", "http://awx.example.com")
        .header("cookie", &format!("csrftoken={token}; awx_sessionid={sid}"))
        .header("x-csrftoken", &token)
        .json(&json!({"first_name": "X"}))
        .send()
        .await;
    assert_csrf_403(
        &r,
        "Origin checking failed - http://awx.example.com does not match any trusted origins.",
    );
}

async fn forwarded_proto_from_an_untrusted_peer_is_ignored(b: Builder) {
    let Some(app) = b
        .config(|c| c.trusted_proxies = vec!["10.0.0.1".parse().unwrap()])
        .build()
        .await
    else {
        return;
    };
    let alice = app.user("alice").await;
    let s = app.login("alice", PASSWORD).await;
    let path = format!("/api/v2/users/{}/", alice.id);
    let request = |peer: [u8; 4]| {
        s.req(Method::PATCH, &path)
            .peer(peer)
            .header("host", "awx.example.com")
            .header("x-forwarded-proto", "https")
            .header("origin", "https://awx.example.com")
            .header("x-csrftoken", &s.csrf)
            .json(&json!({"first_name": "Alice"}))
    };
    // The default peer 127.0.0.1 is not a trusted proxy: the request is plain http.
    assert_csrf_403(
        &request([127, 0, 0, 1]).send().await,
        "Origin checking failed - https://awx.example.com does not match any trusted origins.",
    );
    // From the configured proxy, the same request is HTTPS and same-origin.
    let r = request([10, 0, 0, 1]).send().await;
    assert_eq!(r.status, 200, "{}", r.text());
}

async fn the_configured_public_url_defines_the_expected_origin(b: Builder) {
    let Some(app) = b
        .config(|c| c.public_url = Some("https://awx.example.com".into()))
        .build()
        .await
    else {
        return;
    };
    let alice = app.user("alice").await;
    let s = app.login("alice", PASSWORD).await;
    let path = format!("/api/v2/users/{}/", alice.id);
    let r = s
        .csrf_req(Method::PATCH, &path)
        .header("origin", "https://awx.example.com")
        .json(&json!({"first_name": "Alice"}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // The Host header no longer decides the origin.
    let r = s
        .csrf_req(Method::PATCH, &path)
        .header("host", "127.0.0.1:8052")
        .header("origin", "http://127.0.0.1:8052")
        .json(&json!({"first_name": "X"}))
        .send()
        .await;
    assert_csrf_403(
        &r,
        "Origin checking failed - http://127.0.0.1:8052 does not match any trusted origins.",
    );
}

async fn safe_methods_need_no_csrf_even_from_a_foreign_origin(app: TestApp) {
    app.user("alice").await;
    let s = app.login("alice", PASSWORD).await;
    for method in [Method::GET, Method::HEAD] {
        let r = s
            .req(method.clone(), "/api/v2/me/")
            .header("origin", "https://evil.example")
            .send()
            .await;
        assert_eq!(r.status, 200, "{method}");
    }
}

async fn a_live_session_wins_over_valid_basic_so_csrf_applies(app: TestApp) {
    app.admin().await;
    let alice = app.user("alice").await;
    let s = app.login("alice", PASSWORD).await;
    // Unsafe: the session authenticates, so the missing CSRF token is fatal.
    let r = s
        .req(Method::POST, "/api/v2/users/")
        .basic("admin", PASSWORD)
        .json(&json!({"username": "carol", "password": "long-enough-pw"}))
        .send()
        .await;
    assert_csrf_403(&r, "CSRF token missing.");
    assert!(
        app.store()
            .user_by_username("carol")
            .await
            .unwrap()
            .is_none()
    );
    // Safe: the request acts as the session user, not the Basic user.
    let r = s
        .req(Method::GET, "/api/v2/me/")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.json()["results"][0]["id"], alice.id.0);
    // With CSRF the session user (a normal user) is refused creation: still not admin.
    let r = s
        .csrf_req(Method::POST, "/api/v2/users/")
        .basic("admin", PASSWORD)
        .json(&json!({"username": "carol", "password": "long-enough-pw"}))
        .send()
        .await;
    assert_eq!(r.status, 403);
}

async fn basic_unsafe_request_from_a_foreign_origin_is_refused(app: TestApp) {
    app.admin().await;
    let r = app
        .post("/api/v2/users/")
        .basic("admin", PASSWORD)
        .header("origin", "https://evil.example")
        .json(&json!({"username": "carol", "password": "long-enough-pw"}))
        .send()
        .await;
    assert_csrf_403(&r, EVIL_ORIGIN);
    assert!(
        app.store()
            .user_by_username("carol")
            .await
            .unwrap()
            .is_none()
    );
    // Safe methods are not checked.
    let r = app
        .get("/api/v2/me/")
        .basic("admin", PASSWORD)
        .header("origin", "https://evil.example")
        .send()
        .await;
    assert_eq!(r.status, 200);
}

async fn basic_unsafe_request_needs_no_csrf_token_even_with_a_stray_cookie(app: TestApp) {
    app.admin().await;
    let stray = app.anonymous_csrf().await;
    let r = app
        .post("/api/v2/users/")
        .basic("admin", PASSWORD)
        .header("cookie", &format!("csrftoken={stray}"))
        .header("referer", "https://evil.example/")
        .json(&json!({"username": "carol", "password": "long-enough-pw"}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let r = app
        .post("/api/v2/users/")
        .basic("admin", PASSWORD)
        .header("cookie", &format!("csrftoken={stray}"))
        .header("x-csrftoken", "wrong")
        .json(&json!({"username": "dave", "password": "long-enough-pw"}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
}

async fn a_dead_session_cookie_does_not_stop_basic(app: TestApp) {
    app.admin().await;
    let s = app.login("admin", PASSWORD).await;
    assert_eq!(s.get("/api/logout/").await.status, 302);
    // The session is gone, so Basic authenticates and no CSRF applies.
    let r = s
        .req(Method::POST, "/api/v2/users/")
        .basic("admin", PASSWORD)
        .json(&json!({"username": "carol", "password": "long-enough-pw"}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_generic_401(&s.get("/api/v2/me/").await);
}

on_both_backends!(
    session_unsafe_request_without_a_csrf_token_is_refused,
    session_unsafe_request_with_the_matching_pair_and_referer_is_accepted,
    session_unsafe_request_with_a_wrong_token_is_refused,
    session_unsafe_request_with_a_token_of_the_wrong_length_is_refused,
    session_unsafe_request_without_the_csrf_cookie_is_refused,
    a_csrf_token_captured_before_login_fails_after_login,
    a_csrf_token_bound_to_another_session_fails,
    a_foreign_origin_is_refused_even_with_a_valid_pair,
    the_own_origin_is_accepted,
    an_origin_listed_in_csrf_trusted_origins_is_accepted,
    a_wildcard_trusted_origin_matches_subdomains_only,
    safe_methods_need_no_csrf_even_from_a_foreign_origin,
    a_live_session_wins_over_valid_basic_so_csrf_applies,
    basic_unsafe_request_from_a_foreign_origin_is_refused,
    basic_unsafe_request_needs_no_csrf_token_even_with_a_stray_cookie,
    a_dead_session_cookie_does_not_stop_basic,
);

on_both_backends_configured!(
    https_through_a_trusted_proxy_needs_a_same_origin_referer,
    a_browser_behind_a_trusted_tls_proxy_needs_no_extra_settings,
    forwarded_proto_from_an_untrusted_peer_is_ignored,
    the_configured_public_url_defines_the_expected_origin,
);
