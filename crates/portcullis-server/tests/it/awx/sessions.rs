//! Using a session: renewal, idle and absolute timeouts, coalesced persistence of renewals,
//! `SESSIONS_PER_USER`, fixation, cookie oddities and `DISABLE_LOCAL_AUTH` (`docs/awx-compat.md`,
//! "Idle timeout and renewal", "`SESSIONS_PER_USER`", "Logout"; `docs/security.md`, "Sessions").

use crate::harness::{BAD_LOGIN, Builder, PASSWORD, TestApp, assert_generic_401, basic_value};
use crate::{on_both_backends, on_both_backends_configured};
use axum::http::Method;
use portcullis_core::rng::SeededRng;
use portcullis_core::token::{PlainToken, TokenKind};
use serde_json::json;
use time::Duration;

fn secs(n: i64) -> Duration {
    Duration::seconds(n)
}

async fn every_session_response_renews_the_cookie_and_reports_the_timeout(app: TestApp) {
    app.admin().await;
    let s = app.login("admin", PASSWORD).await;
    app.clock.advance(secs(100));
    let r = s.get("/api/v2/me/").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header_all("session-timeout"), ["1800"]);
    let lines: Vec<String> = r
        .set_cookies()
        .into_iter()
        .filter(|c| c.starts_with("awx_sessionid="))
        .collect();
    assert_eq!(
        lines,
        [format!(
            "awx_sessionid={}; expires=Sun, 01 Mar 2026 12:31:40 GMT; HttpOnly; Max-Age=1800; Path=/; SameSite=Lax",
            s.id()
        )]
    );
    // Open views renew too: the session cookie was live.
    let r = s.get("/api/").await;
    assert_eq!(r.header("session-timeout").as_deref(), Some("1800"));
    assert_eq!(r.cookie("awx_sessionid").as_deref(), Some(s.id()));
}

async fn quiet_requests_neither_renew_nor_report_the_timeout(app: TestApp) {
    app.admin().await;
    let s = app.login("admin", PASSWORD).await;
    let r = s
        .req(Method::GET, "/api/v2/me/")
        .header("x-ws-session-quiet", "1")
        .send()
        .await;
    assert_eq!(r.status, 200);
    assert!(r.header("session-timeout").is_none());
    assert!(r.set_cookie("awx_sessionid").is_none());
    assert_eq!(app.state.renewals.pending(), 0);
    // An empty value does not count as quiet.
    let r = s
        .req(Method::GET, "/api/v2/me/")
        .header("x-ws-session-quiet", "")
        .send()
        .await;
    assert_eq!(r.header("session-timeout").as_deref(), Some("1800"));
}

async fn quiet_polling_does_not_keep_a_session_alive(app: TestApp) {
    app.admin().await;
    app.set(json!({"SESSION_COOKIE_AGE": 60})).await;
    let s = app.login("admin", PASSWORD).await;
    for _ in 0..5 {
        app.clock.advance(secs(11));
        let r = s
            .req(Method::GET, "/api/v2/me/")
            .header("x-ws-session-quiet", "true")
            .send()
            .await;
        assert_eq!(r.status, 200);
    }
    app.flush_renewals().await;
    app.clock.advance(secs(6)); // 61 s after login
    assert_generic_401(&s.get("/api/v2/me/").await);
}

async fn idle_session_dies_after_session_cookie_age(app: TestApp) {
    app.admin().await;
    app.set(json!({"SESSION_COOKIE_AGE": 60})).await;
    let s = app.login("admin", PASSWORD).await;
    let cookie = s.last.set_cookie("awx_sessionid").unwrap();
    assert!(cookie.contains("; Max-Age=60; "), "{cookie}");
    assert_eq!(s.last.header("session-timeout").as_deref(), Some("60"));
    app.clock.advance(secs(61));
    let r = s.get("/api/v2/me/").await;
    assert_generic_401(&r);
    assert!(r.header("session-timeout").is_none());
    assert!(r.set_cookie("awx_sessionid").is_none());
}

async fn session_is_dead_exactly_at_its_idle_deadline(app: TestApp) {
    app.admin().await;
    app.set(json!({"SESSION_COOKIE_AGE": 60})).await;
    let s = app.login("admin", PASSWORD).await;
    app.clock.advance(Duration::milliseconds(59_999));
    assert_eq!(
        s.req(Method::GET, "/api/v2/me/")
            .header("x-ws-session-quiet", "1")
            .send()
            .await
            .status,
        200
    );
    app.clock.advance(Duration::milliseconds(1));
    assert_generic_401(&s.get("/api/v2/me/").await);
}

async fn activity_within_the_idle_timeout_keeps_the_session_alive(app: TestApp) {
    app.admin().await;
    app.set(json!({"SESSION_COOKIE_AGE": 60})).await;
    let s = app.login("admin", PASSWORD).await;
    app.clock.advance(secs(50));
    assert_eq!(s.get("/api/v2/me/").await.status, 200); // idle deadline now t+110
    app.clock.advance(secs(50));
    assert_eq!(s.get("/api/v2/me/").await.status, 200); // now t+160
    // Persisting the renewal (as the background task does) changes nothing for the client.
    app.flush_renewals().await;
    app.clock.advance(secs(59));
    assert_eq!(s.get("/api/v2/me/").await.status, 200); // now t+219
    app.clock.advance(secs(61));
    assert_generic_401(&s.get("/api/v2/me/").await);
}

async fn session_ends_at_the_absolute_lifetime_despite_activity(b: Builder) {
    let Some(app) = b.config(|c| c.session.absolute_timeout = 300).build().await else {
        return;
    };
    app.admin().await;
    app.set(json!({"SESSION_COOKIE_AGE": 60})).await;
    let s = app.login("admin", PASSWORD).await;
    for _ in 0..5 {
        app.clock.advance(secs(50));
        assert_eq!(s.get("/api/v2/me/").await.status, 200);
        app.flush_renewals().await;
    }
    app.clock.advance(secs(49)); // 299 s after login
    assert_eq!(s.get("/api/v2/me/").await.status, 200);
    app.clock.advance(secs(1)); // 300 s: the cap
    assert_generic_401(&s.get("/api/v2/me/").await);
}

async fn renewals_are_coalesced_and_persisted_at_most_once_per_interval(app: TestApp) {
    // SESSION_COOKIE_AGE 1800: a renewal is persisted at most every min(60 s, 180 s) = 60 s.
    app.admin().await;
    let s = app.login("admin", PASSWORD).await;
    let login_time = app.now();
    let stored = |r: Option<portcullis_store::SessionRecord>| r.unwrap().times.idle_expires_at;
    let first = stored(app.stored_session(s.id()).await);
    assert_eq!(first, login_time + secs(1800));

    for _ in 0..20 {
        app.clock.advance(secs(1));
        assert_eq!(s.get("/api/v2/me/").await.status, 200);
        // The request path never writes: the stored expiry does not move.
        assert_eq!(stored(app.stored_session(s.id()).await), first);
    }
    assert_eq!(
        app.state.renewals.pending(),
        1,
        "one pending renewal per session"
    );
    assert_eq!(
        app.flush_renewals().await,
        0,
        "20 s of lag is below the interval"
    );
    assert_eq!(stored(app.stored_session(s.id()).await), first);

    app.clock.advance(secs(40)); // 60 s after login
    assert_eq!(s.get("/api/v2/me/").await.status, 200);
    assert_eq!(app.flush_renewals().await, 1);
    let second = stored(app.stored_session(s.id()).await);
    assert_eq!(second, login_time + secs(60 + 1800));
    assert_eq!(app.state.renewals.pending(), 0);

    for _ in 0..10 {
        app.clock.advance(secs(1));
        assert_eq!(s.get("/api/v2/me/").await.status, 200);
    }
    assert!(app.state.renewals.pending() > 0);
    assert_eq!(app.flush_renewals().await, 0);
    assert_eq!(stored(app.stored_session(s.id()).await), second);

    // The node's in-memory expiry is the one in force: 1 799 s after the last request the
    // session is still alive although the stored expiry has passed.
    app.clock.advance(secs(1799));
    assert!(app.now() > second);
    assert_eq!(s.get("/api/v2/me/").await.status, 200);
}

async fn sessions_per_user_keeps_only_the_newest(app: TestApp) {
    app.admin().await;
    app.user("bob").await;
    app.set(json!({"SESSIONS_PER_USER": 3})).await;
    let mut sessions = Vec::new();
    for _ in 0..5 {
        sessions.push(app.login("bob", PASSWORD).await);
        app.clock.advance(secs(1));
    }
    for (i, s) in sessions.iter().enumerate() {
        let r = s.get("/api/v2/me/").await;
        if i < 2 {
            assert_generic_401(&r);
            assert!(app.stored_session(s.id()).await.is_none());
        } else {
            assert_eq!(r.status, 200, "session {i}");
        }
    }
}

async fn sessions_per_user_counts_each_user_separately(app: TestApp) {
    app.admin().await;
    app.user("bob").await;
    app.user("carol").await;
    app.set(json!({"SESSIONS_PER_USER": 1})).await;
    let bob = app.login("bob", PASSWORD).await;
    let carol = app.login("carol", PASSWORD).await;
    assert_eq!(bob.get("/api/v2/me/").await.status, 200);
    assert_eq!(carol.get("/api/v2/me/").await.status, 200);
    // Basic requests create no sessions and never count.
    for _ in 0..3 {
        let r = app.get("/api/v2/me/").basic("bob", PASSWORD).send().await;
        assert_eq!(r.status, 200);
    }
    assert_eq!(bob.get("/api/v2/me/").await.status, 200);
}

async fn sessions_per_user_zero_counts_as_one(app: TestApp) {
    app.admin().await;
    app.user("bob").await;
    app.set(json!({"SESSIONS_PER_USER": 0})).await;
    let first = app.login("bob", PASSWORD).await;
    app.clock.advance(secs(1));
    let second = app.login("bob", PASSWORD).await;
    assert_generic_401(&first.get("/api/v2/me/").await);
    assert_eq!(second.get("/api/v2/me/").await.status, 200);
}

async fn a_planted_live_session_id_is_deleted_and_replaced_at_login(app: TestApp) {
    app.user("mallory").await;
    app.user("alice").await;
    // The attacker's own live session id, planted in the victim's browser.
    let planted = app.login("mallory", PASSWORD).await;
    let planted_id = planted.id().to_owned();
    let victim = app
        .login_carrying(
            "alice",
            PASSWORD,
            Some(&format!("awx_sessionid={planted_id}")),
        )
        .await;
    assert_eq!(victim.last.status, 302, "{}", victim.last.text());
    assert_ne!(victim.id(), planted_id);
    assert!(app.stored_session(&planted_id).await.is_none());
    assert_generic_401(&planted.get("/api/v2/me/").await);
    let me = victim.get("/api/v2/me/").await;
    assert_eq!(me.json()["results"][0]["username"], "alice");
}

async fn a_planted_unknown_session_id_is_never_adopted(app: TestApp) {
    app.user("alice").await;
    let planted = PlainToken::generate(TokenKind::Session, &SeededRng::new(4242));
    let s = app
        .login_carrying(
            "alice",
            PASSWORD,
            Some(&format!("awx_sessionid={}", planted.expose())),
        )
        .await;
    assert_eq!(s.last.status, 302);
    assert_ne!(s.id(), planted.expose());
    assert!(app.stored_session(planted.expose()).await.is_none());
    let r = app
        .get("/api/v2/me/")
        .header("cookie", &format!("awx_sessionid={}", planted.expose()))
        .send()
        .await;
    assert_generic_401(&r);
}

async fn relogin_replaces_the_session_the_browser_carried(app: TestApp) {
    app.user("alice").await;
    let first = app.login("alice", PASSWORD).await;
    let again = app
        .login_carrying(
            "alice",
            PASSWORD,
            Some(&format!("awx_sessionid={}", first.id())),
        )
        .await;
    assert_eq!(again.last.status, 302, "{}", again.last.text());
    assert_ne!(again.id(), first.id());
    assert_generic_401(&first.get("/api/v2/me/").await);
    assert_eq!(again.get("/api/v2/me/").await.status, 200);
}

async fn two_session_cookies_make_the_request_anonymous(app: TestApp) {
    app.user("alice").await;
    let a = app.login("alice", PASSWORD).await;
    let b = app.login("alice", PASSWORD).await;
    for cookie in [
        format!("awx_sessionid={}; awx_sessionid={}", a.id(), b.id()),
        format!("awx_sessionid={}; awx_sessionid={}", a.id(), a.id()),
    ] {
        let r = app
            .get("/api/v2/me/")
            .header("cookie", &cookie)
            .send()
            .await;
        assert_generic_401(&r);
        assert!(r.set_cookie("awx_sessionid").is_none());
    }
    // Split across two Cookie headers.
    let r = app
        .get("/api/v2/me/")
        .header("cookie", &format!("awx_sessionid={}", a.id()))
        .header("cookie", &format!("awx_sessionid={}", b.id()))
        .send()
        .await;
    assert_generic_401(&r);
    // Each alone still works.
    assert_eq!(a.get("/api/v2/me/").await.status, 200);
    assert_eq!(b.get("/api/v2/me/").await.status, 200);
}

async fn unknown_or_malformed_session_cookies_are_anonymous(app: TestApp) {
    app.user("alice").await;
    let s = app.login("alice", PASSWORD).await;
    let mut tampered = s.id().to_owned();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'a' { 'b' } else { 'a' });
    let unknown = PlainToken::generate(TokenKind::Session, &SeededRng::new(77));
    for value in [
        unknown.expose().to_owned(),
        tampered,
        "garbage".to_owned(),
        String::new(),
        "pcl_pat_".to_owned() + &s.id()[8..],
    ] {
        let r = app
            .get("/api/v2/me/")
            .header("cookie", &format!("awx_sessionid={value}"))
            .send()
            .await;
        assert_generic_401(&r);
        let r = app
            .get("/api/")
            .header("cookie", &format!("awx_sessionid={value}"))
            .send()
            .await;
        assert_eq!(r.status, 200);
        assert!(r.header("session-timeout").is_none());
        assert!(r.set_cookie("awx_sessionid").is_none());
    }
}

async fn a_disabled_users_session_ends_at_the_next_request(app: TestApp) {
    let alice = app.user("alice").await;
    let s = app.login("alice", PASSWORD).await;
    assert_eq!(s.get("/api/v2/me/").await.status, 200);
    app.deactivate(&alice).await;
    assert_generic_401(&s.get("/api/v2/me/").await);
    let r = app.get("/api/v2/me/").basic("alice", PASSWORD).send().await;
    assert_generic_401(&r);
}

async fn disable_local_auth_ends_local_sessions_and_local_logins(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    let lara = app.ldap_user("lara").await;
    let local = app.login("alice", PASSWORD).await;
    let external = app.session_for(&lara).await;
    assert_eq!(local.get("/api/v2/me/").await.status, 200);
    assert_eq!(external.get("/api/v2/me/").await.status, 200);

    app.set(json!({"AUTH_LDAP_SERVER_URI": "ldaps://ldap.example.com:636"}))
        .await;
    app.set(json!({"DISABLE_LOCAL_AUTH": true})).await;

    // The local user's session is deleted at its next request, which is anonymous.
    assert_generic_401(&local.get("/api/v2/me/").await);
    assert!(app.stored_session(local.id()).await.is_none());
    // The external user's session lives on.
    let r = external.get("/api/v2/me/").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["results"][0]["username"], "lara");
    // Local password logins are refused, by form and by Basic.
    let s = app.try_login("alice", PASSWORD).await;
    assert_eq!(s.last.status, 401);
    assert!(s.last.text().contains(BAD_LOGIN));
    assert!(s.session.is_none());
    let r = app
        .get("/api/v2/me/")
        .header("authorization", &basic_value("admin", PASSWORD))
        .send()
        .await;
    assert_generic_401(&r);
}

async fn two_hundred_parallel_requests_on_one_session_all_succeed(app: TestApp) {
    app.admin().await;
    let s = app.login("admin", PASSWORD).await;
    let cookie = s.cookie_header();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..200 {
        let router = app.app.clone();
        let cookie = cookie.clone();
        let basic = basic_value("admin", PASSWORD);
        tasks.spawn(async move {
            use tower::ServiceExt;
            let mut req = axum::http::Request::get("/api/v2/me/");
            // Every fourth request also carries Basic: the session still wins.
            req = req.header("cookie", cookie);
            if i % 4 == 0 {
                req = req.header("authorization", basic);
            }
            let mut req = req.body(axum::body::Body::empty()).unwrap();
            req.extensions_mut()
                .insert(axum::extract::ConnectInfo(crate::harness::DEFAULT_PEER));
            router.oneshot(req).await.unwrap().status()
        });
    }
    let mut statuses = Vec::new();
    while let Some(done) = tasks.join_next().await {
        statuses.push(done.unwrap().as_u16());
    }
    assert_eq!(statuses.len(), 200);
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    // All of them coalesce into one pending renewal, written once.
    assert_eq!(app.state.renewals.pending(), 1);
    app.clock.advance(secs(60));
    assert_eq!(s.get("/api/v2/me/").await.status, 200);
    assert_eq!(app.flush_renewals().await, 1);
    assert_eq!(app.flush_renewals().await, 0);
}

async fn session_timeout_follows_a_changed_session_cookie_age(app: TestApp) {
    app.admin().await;
    app.set(json!({"SESSION_COOKIE_AGE": 600})).await;
    let s = app.login("admin", PASSWORD).await;
    assert_eq!(s.last.header("session-timeout").as_deref(), Some("600"));
    let r = s.get("/api/v2/me/").await;
    assert_eq!(r.header("session-timeout").as_deref(), Some("600"));
    assert!(
        r.set_cookie("awx_sessionid")
            .unwrap()
            .contains("; Max-Age=600; ")
    );
}

async fn lowering_session_cookie_age_shortens_active_sessions_never_late(app: TestApp) {
    app.admin().await;
    let s = app.login("admin", PASSWORD).await; // idle expiry: login + 1800 s
    app.clock.advance(secs(10));
    assert_eq!(s.get("/api/v2/me/").await.status, 200);
    app.set(json!({"SESSION_COOKIE_AGE": 60})).await;
    // The next request re-arms the session to now + 60 s, although 1790 s were left.
    let r = s.get("/api/v2/me/").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("session-timeout").as_deref(), Some("60"));
    // A shortening is written at the next flush, so other nodes see it too.
    assert_eq!(app.flush_renewals().await, 1);
    app.clock.advance(secs(61));
    assert_generic_401(&s.get("/api/v2/me/").await);
}

on_both_backends!(
    lowering_session_cookie_age_shortens_active_sessions_never_late,
    every_session_response_renews_the_cookie_and_reports_the_timeout,
    quiet_requests_neither_renew_nor_report_the_timeout,
    quiet_polling_does_not_keep_a_session_alive,
    idle_session_dies_after_session_cookie_age,
    session_is_dead_exactly_at_its_idle_deadline,
    activity_within_the_idle_timeout_keeps_the_session_alive,
    renewals_are_coalesced_and_persisted_at_most_once_per_interval,
    sessions_per_user_keeps_only_the_newest,
    sessions_per_user_counts_each_user_separately,
    sessions_per_user_zero_counts_as_one,
    a_planted_live_session_id_is_deleted_and_replaced_at_login,
    a_planted_unknown_session_id_is_never_adopted,
    relogin_replaces_the_session_the_browser_carried,
    two_session_cookies_make_the_request_anonymous,
    unknown_or_malformed_session_cookies_are_anonymous,
    a_disabled_users_session_ends_at_the_next_request,
    disable_local_auth_ends_local_sessions_and_local_logins,
    two_hundred_parallel_requests_on_one_session_all_succeed,
    session_timeout_follows_a_changed_session_cookie_age,
);

on_both_backends_configured!(session_ends_at_the_absolute_lifetime_despite_activity);
