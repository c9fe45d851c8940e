//! Brute-force protection (`docs/security.md`, "Brute-force limits"; `docs/awx-compat.md`, "Where
//! Portcullis differs from AWX", "Errors"): per-account locks that double up to a cap and never
//! outlive it, a separate counter for sources that logged in before (so an attacker cannot lock the
//! owner out), and a per-network limit across accounts. Locked looks like bad credentials plus
//! `Retry-After`.

use crate::harness::{Builder, PASSWORD, TestApp, assert_generic_401, join_all};
use crate::{on_both_backends, on_both_backends_configured};
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
    // Five free failures, then the sixth starts a 60 s lock (`docs/security.md`,
    // "Brute-force limits": five free, then 60 s doubling to 900 s).
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

// --- issue 9 ------------------------------------------------------------------------------

/// At most 100 evaluated failures per account per hour, whatever the lock curve allows: with
/// 1 s locks an attacker pacing guesses could otherwise try thousands an hour.
async fn the_hourly_cap_stops_evaluation_after_100_failures(b: Builder) {
    let Some(app) = b
        .config(|c| {
            c.throttle.account_lock_seconds = 1;
            c.throttle.account_max_lock_seconds = 1;
            c.throttle.source_failures = 10_000;
        })
        .build()
        .await
    else {
        return;
    };
    app.user("alice").await;
    for i in 0..100 {
        let r = me_basic(&app, "alice", "wrong-password", ATTACKER).await;
        assert_generic_401(&r);
        assert_eq!(r.header("retry-after"), None, "failure {i}");
        app.clock.advance(Duration::seconds(2));
    }
    // The 101st attempt in the hour is not evaluated: the right password is refused like a
    // wrong one, until the first failure is an hour old.
    let r = me_basic(&app, "alice", PASSWORD, OWNER).await;
    assert_generic_401(&r);
    assert_eq!(r.header("retry-after").as_deref(), Some("3400"));
    app.clock.advance(Duration::seconds(3400));
    let r = me_basic(&app, "alice", PASSWORD, OWNER).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

/// The per-network limit counts the failures of the last 10 minutes (a sliding window): it
/// neither forgets a burst after a quiet spell inside the window nor holds a network for a
/// fresh 10 minutes once the oldest failures have aged out.
async fn the_network_limit_is_a_sliding_window(app: TestApp) {
    for i in 0..29 {
        assert_generic_401(&me_basic(&app, &format!("user{i}"), "guess", ATTACKER).await);
    }
    app.clock.advance(Duration::seconds(599));
    assert_generic_401(&me_basic(&app, "user29", "guess", ATTACKER).await);
    // 30 failures within 10 minutes: refused until the first 29 are 10 minutes old.
    let r = me_basic(&app, "user30", "guess", ATTACKER).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.header("retry-after").as_deref(), Some("1"));
    app.clock.advance(Duration::seconds(1));
    assert_generic_401(&me_basic(&app, "user31", "guess", ATTACKER).await);
    // Now 2 failures in the window: 28 more reach the limit again.
    for i in 0..28 {
        assert_generic_401(&me_basic(&app, &format!("again{i}"), "guess", ATTACKER).await);
    }
    let r = me_basic(&app, "user32", "guess", ATTACKER).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
}

/// A storm of wrong client secrets from one network makes that network wait; the real
/// client, elsewhere, keeps working.
async fn a_secret_storm_elsewhere_does_not_lock_out_the_client(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    let client = app.password_app("ci").await;
    let grant = [
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", PASSWORD),
    ];
    let token = |secret: &str, peer: [u8; 4]| {
        app.post("/api/o/token/")
            .basic(&client.client_id, secret)
            .form(&grant)
            .peer(peer)
            .send()
    };
    for _ in 0..20 {
        let r = token("pcl_cs_wrong", ATTACKER).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
    }
    let secret = client.secret.clone().unwrap();
    let r = token(&secret, ATTACKER).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text());
    let r = token(&secret, OWNER).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

/// Attempts on a locked account are refused before they queue for a password worker: with
/// one worker and no waiting, a flood of other logins saturates the pool, yet every attempt
/// on the locked account gets its usual answer (401 + Retry-After), never 503.
async fn a_locked_account_is_refused_without_waiting_for_the_password_pool(b: Builder) {
    let Some(app) = b
        .config(|c| {
            c.password.hash_concurrency = Some(1);
            c.password.permit_wait_seconds = 0;
            c.throttle.source_failures = 10_000;
        })
        .build()
        .await
    else {
        return;
    };
    crate::awx::audit::capture();
    let bob = crate::awx::audit::unique("pool-bob");
    app.user("alice").await;
    app.user(&bob).await;
    for _ in 0..6 {
        me_basic(&app, "alice", "wrong-password", ATTACKER).await;
    }
    let app = &app;
    let mut attempts = Vec::new();
    for i in 0..24u8 {
        let (user, peer) = if i % 3 == 0 {
            ("alice", ATTACKER)
        } else {
            (bob.as_str(), [10, 0, 1, i])
        };
        attempts.push(async move { (user, me_basic(app, user, "wrong-password", peer).await) });
    }
    let results = join_all(attempts).await;
    let mut saturated = 0;
    for (user, r) in &results {
        if *user == "alice" {
            assert_generic_401(r);
            assert!(r.header("retry-after").is_some(), "{}", r.text());
        } else if r.status == StatusCode::SERVICE_UNAVAILABLE {
            saturated += 1;
        }
    }
    assert!(
        saturated > 0,
        "the pool was never saturated; the test proves nothing"
    );
    // Each overload refusal is an authentication event naming the user, like any other.
    let refused = crate::awx::audit::records("user", &bob)
        .into_iter()
        .filter(|e| e["outcome"] == "unavailable" && e["reason"] == "password_pool_saturated")
        .count();
    assert_eq!(refused, saturated);
}

on_both_backends!(
    the_network_limit_is_a_sliding_window,
    a_secret_storm_elsewhere_does_not_lock_out_the_client,
);

on_both_backends_configured!(
    the_hourly_cap_stops_evaluation_after_100_failures,
    a_locked_account_is_refused_without_waiting_for_the_password_pool,
);
