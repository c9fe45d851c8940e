//! Brute-force protection (security.md §6, D11; awx-api.md §1, §17): per-account locks that
//! double up to a cap and never outlive it, a separate counter for sources that logged in
//! before (so an attacker cannot lock the owner out), and a per-network limit across
//! accounts. Locked looks like bad credentials plus `Retry-After`.

use crate::harness::{PASSWORD, TestApp, assert_generic_401};
use crate::on_both_backends;
use axum::http::StatusCode;
use time::Duration;

const ATTACKER: [u8; 4] = [10, 0, 0, 66];
/// The harness's default peer, which `try_login` uses.
const OWNER: [u8; 4] = [127, 0, 0, 1];

async fn me_basic(app: &TestApp, user: &str, pw: &str, peer: [u8; 4]) -> crate::harness::Resp {
    app.get("/api/v2/me/")
        .basic(user, pw)
        .peer(peer)
        .send()
        .await
}

async fn six_failures_lock_the_account_then_the_lock_ends_by_itself(app: TestApp) {
    app.user("alice").await;
    // Five free failures, then the sixth starts a 60 s lock (awx-api.md: "the first 5
    // failures are free").
    for _ in 0..6 {
        let r = me_basic(&app, "alice", "wrong-password", ATTACKER).await;
        assert_generic_401(&r);
        assert_eq!(r.header("retry-after"), None);
    }
    // Now even the right password is refused, exactly like a wrong one, with Retry-After.
    let r = me_basic(&app, "alice", PASSWORD, ATTACKER).await;
    assert_generic_401(&r);
    assert_eq!(r.header("retry-after").as_deref(), Some("60"));
    // Attempts while locked neither count nor extend the lock.
    app.clock.advance(Duration::seconds(30));
    let r = me_basic(&app, "alice", "wrong-password", ATTACKER).await;
    assert_eq!(r.header("retry-after").as_deref(), Some("30"));
    app.clock.advance(Duration::seconds(31));
    let r = me_basic(&app, "alice", PASSWORD, ATTACKER).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

async fn locks_double_and_a_success_resets_the_count(app: TestApp) {
    app.user("alice").await;
    for _ in 0..6 {
        me_basic(&app, "alice", "wrong-password", ATTACKER).await;
    }
    app.clock.advance(Duration::seconds(61));
    // The seventh failure locks for twice as long.
    me_basic(&app, "alice", "wrong-password", ATTACKER).await;
    let r = me_basic(&app, "alice", PASSWORD, ATTACKER).await;
    assert_eq!(r.header("retry-after").as_deref(), Some("120"));
    app.clock.advance(Duration::seconds(121));
    let r = me_basic(&app, "alice", PASSWORD, ATTACKER).await;
    assert_eq!(r.status, StatusCode::OK);
    // The success cleared the counter: five failures are free again.
    for _ in 0..5 {
        me_basic(&app, "alice", "wrong-password", ATTACKER).await;
    }
    let r = me_basic(&app, "alice", PASSWORD, ATTACKER).await;
    assert_eq!(r.status, StatusCode::OK);
}

async fn an_attacker_elsewhere_cannot_lock_out_an_owner_who_logged_in_before(app: TestApp) {
    app.user("alice").await;
    // The owner logs in from their usual network (the harness's default peer).
    let s = app.try_login("alice", PASSWORD).await;
    assert_eq!(s.last.status, StatusCode::FOUND);
    for _ in 0..10 {
        me_basic(&app, "alice", "wrong-password", ATTACKER).await;
    }
    let r = me_basic(&app, "alice", PASSWORD, ATTACKER).await;
    assert_generic_401(&r);
    assert!(r.header("retry-after").is_some());
    // A form login (no Basic cache involved) from the owner's network still works: that
    // network has its own counter for the account.
    let s = app.try_login("alice", PASSWORD).await;
    assert_eq!(s.last.status, StatusCode::FOUND, "{}", s.last.text());
}

async fn a_network_spraying_many_accounts_gets_429(app: TestApp) {
    for i in 0..30 {
        let r = me_basic(&app, &format!("user{i}"), "guess", ATTACKER).await;
        assert_generic_401(&r);
    }
    let r = me_basic(&app, "user99", "guess", ATTACKER).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.header("retry-after").as_deref(), Some("600"));
    assert_eq!(
        r.json(),
        serde_json::json!({"detail": "Request was throttled. Expected available in 600 seconds."})
    );
    // Other networks are unaffected.
    app.user("bob").await;
    let r = me_basic(&app, "bob", PASSWORD, OWNER).await;
    assert_eq!(r.status, StatusCode::OK);
    app.clock.advance(Duration::seconds(601));
    let r = me_basic(&app, "user99", "guess", ATTACKER).await;
    assert_generic_401(&r);
}

async fn a_locked_form_login_shows_the_form_with_retry_after(app: TestApp) {
    app.user("alice").await;
    for _ in 0..6 {
        let s = app.try_login("alice", "wrong-password").await;
        assert_eq!(s.last.status, StatusCode::UNAUTHORIZED);
    }
    let s = app.try_login("alice", PASSWORD).await;
    assert_eq!(s.last.status, StatusCode::UNAUTHORIZED);
    assert_eq!(s.last.header("retry-after").as_deref(), Some("60"));
    assert!(
        s.last
            .text()
            .contains("Please enter a correct username and password.")
    );
    assert_eq!(s.last.set_cookie("awx_sessionid"), None);
}

async fn unknown_accounts_are_throttled_the_same_way(app: TestApp) {
    for _ in 0..6 {
        me_basic(&app, "ghost", "guess", ATTACKER).await;
    }
    let r = me_basic(&app, "ghost", "guess", ATTACKER).await;
    assert_generic_401(&r);
    assert_eq!(r.header("retry-after").as_deref(), Some("60"));
}

async fn failed_client_authentication_is_limited_per_client_id(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    let client = app.password_app("ci").await;
    let mut wrong = client.clone();
    wrong.secret = Some("pcl_cs_wrong".into());
    let grant = [
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", PASSWORD),
    ];
    for _ in 0..20 {
        let r = app.oauth_token(&wrong, &grant).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
        assert_eq!(r.json(), serde_json::json!({"error": "invalid_client"}));
    }
    // The 20th failure started the wait: even the right secret is refused for 10 minutes.
    let r = app.oauth_token(&client, &grant).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text());
    assert_eq!(r.header("retry-after").as_deref(), Some("600"));
    app.clock.advance(Duration::seconds(601));
    let r = app.oauth_token(&client, &grant).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

on_both_backends!(
    failed_client_authentication_is_limited_per_client_id,
    six_failures_lock_the_account_then_the_lock_ends_by_itself,
    locks_double_and_a_success_resets_the_count,
    an_attacker_elsewhere_cannot_lock_out_an_owner_who_logged_in_before,
    a_network_spraying_many_accounts_gets_429,
    a_locked_form_login_shows_the_form_with_retry_after,
    unknown_accounts_are_throttled_the_same_way,
);
