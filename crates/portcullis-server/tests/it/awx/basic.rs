//! HTTP Basic (`docs/awx-compat.md`, "Authenticator chain", "HTTP Basic"; `docs/security.md`, "HTTP
//! Basic"): stateless, every failure the generic 401, the `AUTH_BASIC_ENABLED` switch, the
//! verified-credential cache, and the Argon2id upgrade of imported Django hashes.

use crate::harness::{CHALLENGE, PASSWORD, TestApp, assert_generic_401};
use crate::on_both_backends;
use axum::http::Method;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;

const ARGON2_PREFIX: &str = "$argon2id$v=19$m=19456,t=2,p=1$";

fn b64(raw: &[u8]) -> String {
    STANDARD.encode(raw)
}

async fn basic_authenticates_every_endpoint_without_a_session(app: TestApp) {
    let admin = app.admin().await;
    let bob = app.user("bob").await;
    let gets = [
        "/api/".to_owned(),
        "/api/v2/".to_owned(),
        "/api/v2/me/".to_owned(),
        "/api/v2/users/".to_owned(),
        format!("/api/v2/users/{}/", admin.id),
        "/api/v2/users/bob/".to_owned(),
        "/api/v2/settings/".to_owned(),
        "/api/v2/settings/all/".to_owned(),
        "/api/v2/settings/authentication/".to_owned(),
        "/api/v2/settings/changed/".to_owned(),
    ];
    let mut responses = Vec::new();
    for path in &gets {
        responses.push((
            path.clone(),
            app.get(path).basic("admin", PASSWORD).send().await,
        ));
    }
    responses.push((
        "POST users".into(),
        app.post("/api/v2/users/")
            .basic("admin", PASSWORD)
            .json(&json!({"username": "carol", "password": "long-enough-pw"}))
            .send()
            .await,
    ));
    responses.push((
        "PATCH user".into(),
        app.patch(&format!("/api/v2/users/{}/", bob.id))
            .basic("admin", PASSWORD)
            .json(&json!({"last_name": "Builder"}))
            .send()
            .await,
    ));
    responses.push((
        "PUT settings".into(),
        app.req(Method::PUT, "/api/v2/settings/system/")
            .basic("admin", PASSWORD)
            .json(&json!({"ACTIVITY_STREAM_ENABLED": true}))
            .send()
            .await,
    ));
    responses.push((
        "DELETE settings".into(),
        app.delete("/api/v2/settings/ldap/")
            .basic("admin", PASSWORD)
            .send()
            .await,
    ));
    responses.push((
        "DELETE user".into(),
        app.delete(&format!("/api/v2/users/{}/", bob.id))
            .basic("admin", PASSWORD)
            .send()
            .await,
    ));
    for (what, r) in &responses {
        assert!(r.status.is_success(), "{what}: {} {}", r.status, r.text());
        assert!(r.set_cookie("awx_sessionid").is_none(), "{what}");
        assert!(r.header("session-timeout").is_none(), "{what}");
        assert!(r.header("x-api-session-cookie-name").is_none(), "{what}");
        assert_eq!(
            r.header("x-api-product-version").as_deref(),
            Some("22.2.0"),
            "{what}"
        );
    }
    let me = app.get("/api/v2/me/").basic("admin", PASSWORD).send().await;
    assert_eq!(me.json()["results"][0]["username"], "admin");
    // Basic never counts as an interactive login.
    assert_eq!(me.json()["results"][0]["last_login"], json!(null));
}

async fn a_wrong_password_gets_the_generic_401(app: TestApp) {
    app.user("alice").await;
    for pw in [
        "wrong",
        "",
        "CORRECT-HORSE-BATTERY",
        " correct-horse-battery",
    ] {
        let r = app.get("/api/v2/me/").basic("alice", pw).send().await;
        assert_generic_401(&r);
    }
}

async fn unknown_and_inactive_users_get_the_generic_401(app: TestApp) {
    let alice = app.user("alice").await;
    assert_generic_401(&app.get("/api/v2/me/").basic("ghost", PASSWORD).send().await);
    assert_eq!(
        app.get("/api/v2/me/")
            .basic("alice", PASSWORD)
            .send()
            .await
            .status,
        200
    );
    app.deactivate(&alice).await;
    // Also when the credentials were cached a moment ago.
    assert_generic_401(&app.get("/api/v2/me/").basic("alice", PASSWORD).send().await);
}

async fn an_ldap_user_without_a_directory_gets_the_generic_401(app: TestApp) {
    app.ldap_user("lara").await;
    assert_generic_401(
        &app.get("/api/v2/me/")
            .basic("lara", "anything")
            .send()
            .await,
    );
}

async fn malformed_basic_credentials_get_the_generic_401(app: TestApp) {
    app.user("alice").await;
    let long_user = format!("alice:{}", "p".repeat(1200));
    let values = [
        "Basic".to_owned(),
        "Basic ".to_owned(),
        "Basic !!!".to_owned(),
        "Basic YWxpY2U".to_owned(),         // unpadded
        format!("Basic {}", b64(b"alice")), // no colon
        format!("Basic {}", b64(format!(":{PASSWORD}").as_bytes())), // empty username
        format!("Basic {}", b64(b"al\x00ice:pw")), // control character
        format!("Basic {}", b64(b"\xff\xfe:pw")), // not UTF-8
        format!("Basic {}", b64(long_user.as_bytes())), // over 1 200 bytes
        format!(
            "Basic {} extra",
            b64(format!("alice:{PASSWORD}").as_bytes())
        ),
    ];
    for v in &values {
        let r = app
            .get("/api/v2/me/")
            .header("authorization", v)
            .send()
            .await;
        assert_generic_401(&r);
        // Ignored on open views.
        let r = app.get("/api/").header("authorization", v).send().await;
        assert_eq!(r.status, 200, "{v}");
    }
}

async fn the_password_is_checked_exactly_as_typed_with_colons(app: TestApp) {
    app.user_with("colon", "pass:word:with:colons", false).await;
    let r = app
        .get("/api/v2/me/")
        .basic("colon", "pass:word:with:colons")
        .send()
        .await;
    assert_eq!(r.status, 200);
    assert_generic_401(&app.get("/api/v2/me/").basic("colon", "pass").send().await);
}

async fn a_long_password_is_checked_in_full_not_truncated(app: TestApp) {
    // bcrypt would accept the 71-byte prefix of a 72-byte password; Argon2id must not.
    let password = "p".repeat(71) + "!";
    assert_eq!(password.len(), 72);
    app.user_with("long", &password, false).await;
    assert_eq!(
        app.get("/api/v2/me/")
            .basic("long", &password)
            .send()
            .await
            .status,
        200
    );
    assert_generic_401(
        &app.get("/api/v2/me/")
            .basic("long", &password[..71])
            .send()
            .await,
    );
    assert_eq!(app.login("long", &password).await.last.status, 302);
    assert_eq!(
        app.try_login("long", &password[..71]).await.last.status,
        401
    );
}

async fn the_basic_scheme_is_case_insensitive(app: TestApp) {
    app.user("alice").await;
    let creds = b64(format!("alice:{PASSWORD}").as_bytes());
    for scheme in ["Basic", "basic", "BASIC", "bAsIc"] {
        let r = app
            .get("/api/v2/me/")
            .header("authorization", &format!("{scheme} {creds}"))
            .send()
            .await;
        assert_eq!(r.status, 200, "{scheme}");
    }
}

async fn disabled_basic_gives_the_unchanged_challenge_then_reenabling_restores_it(app: TestApp) {
    app.admin().await;
    let r = app
        .patch("/api/v2/settings/all/")
        .basic("admin", PASSWORD)
        .json(&json!({"AUTH_BASIC_ENABLED": false}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["AUTH_BASIC_ENABLED"], false);
    assert!(r.text().contains("\"AUTH_BASIC_ENABLED\":false"));

    let r = app.get("/api/v2/me/").basic("admin", PASSWORD).send().await;
    assert_generic_401(&r);
    assert_eq!(r.header_all("www-authenticate"), [CHALLENGE]);
    for (name, value) in &r.headers {
        let v = value.to_str().unwrap_or_default();
        assert!(!v.contains("Basic"), "{name}: {v}");
    }
    // Open views still answer; the session login still works.
    assert_eq!(
        app.get("/api/")
            .basic("admin", PASSWORD)
            .send()
            .await
            .status,
        200
    );
    let s = app.login("admin", PASSWORD).await;
    let r = s
        .csrf_req(Method::PATCH, "/api/v2/settings/authentication/")
        .json(&json!({"AUTH_BASIC_ENABLED": true}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = app.get("/api/v2/me/").basic("admin", PASSWORD).send().await;
    assert_eq!(r.status, 200);
}

async fn a_password_change_drops_cached_credentials_at_once(app: TestApp) {
    app.admin().await;
    let alice = app.user("alice").await;
    for _ in 0..2 {
        // The second success comes from the verified-credential cache.
        let r = app.get("/api/v2/me/").basic("alice", PASSWORD).send().await;
        assert_eq!(r.status, 200);
    }
    let r = app
        .patch(&format!("/api/v2/users/{}/", alice.id))
        .basic("admin", PASSWORD)
        .json(&json!({"password": "a-brand-new-password"}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // No clock movement: well within the cache TTL.
    assert_generic_401(&app.get("/api/v2/me/").basic("alice", PASSWORD).send().await);
    let r = app
        .get("/api/v2/me/")
        .basic("alice", "a-brand-new-password")
        .send()
        .await;
    assert_eq!(r.status, 200);
}

async fn a_self_service_password_change_over_basic_drops_the_old_password(app: TestApp) {
    let alice = app.user("alice").await;
    assert_eq!(
        app.get("/api/v2/me/")
            .basic("alice", PASSWORD)
            .send()
            .await
            .status,
        200
    );
    let r = app
        .patch(&format!("/api/v2/users/{}/", alice.id))
        .basic("alice", PASSWORD)
        .json(&json!({"password": "a-brand-new-password"}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.set_cookie("awx_sessionid").is_none());
    assert_generic_401(&app.get("/api/v2/me/").basic("alice", PASSWORD).send().await);
    assert_eq!(
        app.get("/api/v2/me/")
            .basic("alice", "a-brand-new-password")
            .send()
            .await
            .status,
        200
    );
}

async fn a_wrong_password_is_never_served_from_the_cache(app: TestApp) {
    app.user("alice").await;
    assert_eq!(
        app.get("/api/v2/me/")
            .basic("alice", PASSWORD)
            .send()
            .await
            .status,
        200
    );
    assert_generic_401(&app.get("/api/v2/me/").basic("alice", "nope").send().await);
    assert_generic_401(&app.get("/api/v2/me/").basic("alice", "nope").send().await);
    // Cached entries expire with their TTL; the password still verifies afterwards.
    app.clock.advance(time::Duration::seconds(61));
    assert_eq!(
        app.get("/api/v2/me/")
            .basic("alice", PASSWORD)
            .send()
            .await
            .status,
        200
    );
}

async fn a_django_hash_is_upgraded_to_argon2id_at_form_login(app: TestApp) {
    let legacy = app.django_user("legacy", "legacy-password-1").await;
    assert!(
        legacy
            .password_hash
            .as_deref()
            .unwrap()
            .starts_with("pbkdf2_sha256$1000$")
    );
    // A session the user already holds (e.g. from another browser).
    let other = app.session_for(&legacy).await;
    let s = app.login("legacy", "legacy-password-1").await;
    assert_eq!(s.get("/api/v2/me/").await.status, 200);
    let after = app.user_by_id(legacy.id).await;
    let hash = after.password_hash.clone().unwrap();
    assert!(hash.starts_with(ARGON2_PREFIX), "{hash}");
    // The upgrade is not a password change: no generation bump, other sessions survive.
    assert_eq!(after.auth_generation, legacy.auth_generation);
    assert_eq!(other.get("/api/v2/me/").await.status, 200);
    // The same password keeps working against the new hash; a wrong one does not.
    assert_eq!(
        app.login("legacy", "legacy-password-1").await.last.status,
        302
    );
    assert_eq!(
        app.try_login("legacy", "legacy-password-2")
            .await
            .last
            .status,
        401
    );
    assert_eq!(app.user_by_id(legacy.id).await.password_hash.unwrap(), hash);
}

async fn a_django_hash_is_upgraded_to_argon2id_over_basic(app: TestApp) {
    let legacy = app.django_user("legacy", "legacy-password-1").await;
    let other = app.session_for(&legacy).await;
    let r = app
        .get("/api/v2/me/")
        .basic("legacy", "legacy-password-1")
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let after = app.user_by_id(legacy.id).await;
    assert!(
        after
            .password_hash
            .as_deref()
            .unwrap()
            .starts_with(ARGON2_PREFIX)
    );
    assert_eq!(after.auth_generation, legacy.auth_generation);
    assert_eq!(other.get("/api/v2/me/").await.status, 200);
    assert_generic_401(
        &app.get("/api/v2/me/")
            .basic("legacy", "legacy-password-2")
            .send()
            .await,
    );
    app.clock.advance(time::Duration::seconds(61)); // past the cache TTL
    assert_eq!(
        app.get("/api/v2/me/")
            .basic("legacy", "legacy-password-1")
            .send()
            .await
            .status,
        200
    );
}

async fn a_wrong_password_leaves_a_django_hash_alone(app: TestApp) {
    let legacy = app.django_user("legacy", "legacy-password-1").await;
    assert_generic_401(&app.get("/api/v2/me/").basic("legacy", "nope").send().await);
    assert_eq!(
        app.user_by_id(legacy.id).await.password_hash,
        legacy.password_hash
    );
}

/// An `Authed` view registered outside the chain layer (a routing mistake) still
/// authenticates: the extractor runs the chain itself instead of answering 500 or letting
/// the caller through.
async fn a_view_outside_the_chain_layer_still_authenticates(app: TestApp) {
    use axum::body::Body;
    use portcullis_server::auth::check::Authed;
    use tower::ServiceExt as _;
    app.admin().await;
    let router = axum::Router::new()
        .route(
            "/outside",
            axum::routing::get(|Authed(p): Authed| async move { p.user.username.clone() }),
        )
        .with_state(app.state.clone());
    let send = |auth: Option<String>| {
        let mut req = axum::http::Request::get("/outside");
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        router.clone().oneshot(req.body(Body::empty()).unwrap())
    };
    let basic = format!("Basic {}", STANDARD.encode(format!("admin:{PASSWORD}")));
    let ok = send(Some(basic)).await.unwrap();
    assert_eq!(ok.status(), 200);
    let body = axum::body::to_bytes(ok.into_body(), 1024).await.unwrap();
    assert_eq!(&body[..], b"admin");
    assert_eq!(send(None).await.unwrap().status(), 401);
    let wrong = format!("Basic {}", STANDARD.encode("admin:wrong"));
    assert_eq!(send(Some(wrong)).await.unwrap().status(), 401);
}

on_both_backends!(
    a_view_outside_the_chain_layer_still_authenticates,
    basic_authenticates_every_endpoint_without_a_session,
    a_wrong_password_gets_the_generic_401,
    unknown_and_inactive_users_get_the_generic_401,
    an_ldap_user_without_a_directory_gets_the_generic_401,
    malformed_basic_credentials_get_the_generic_401,
    the_password_is_checked_exactly_as_typed_with_colons,
    a_long_password_is_checked_in_full_not_truncated,
    the_basic_scheme_is_case_insensitive,
    disabled_basic_gives_the_unchanged_challenge_then_reenabling_restores_it,
    a_password_change_drops_cached_credentials_at_once,
    a_self_service_password_change_over_basic_drops_the_old_password,
    a_wrong_password_is_never_served_from_the_cache,
    a_django_hash_is_upgraded_to_argon2id_at_form_login,
    a_django_hash_is_upgraded_to_argon2id_over_basic,
    a_wrong_password_leaves_a_django_hash_alone,
);
