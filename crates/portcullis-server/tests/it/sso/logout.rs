//! Back-channel logout from idp.mjs, and key rotation at idp.mjs.

use super::{
    CLIENT_ID, idp, idp_login, keygen, me, real_epoch, real_now, session_of, sign, sso_app,
};
use crate::harness::{Backend, Builder, TestApp, session_hash};
use crate::on_both_backends_configured;
use axum::http::StatusCode;
use base64::Engine as _;
use serde_json::{Value, json};
use sqlx::Connection as _;

on_both_backends_configured!(r10_key_rotation_at_the_provider, r22_backchannel_logout,);

const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

async fn r10_key_rotation_at_the_provider(b: Builder) {
    let key_a = keygen().await;
    let key_b = keygen().await;
    let Some(first) = idp(0, Some(&json!({"keys": [key_a]})), &json!({})).await else {
        return;
    };
    let port = first.port;
    let Some(app) = sso_app(b, &first.issuer, true, |_| {}).await else {
        return;
    };
    session_of(&app, &idp_login(&app, "alice", None).await);
    app.clock.set(real_now());
    session_of(&app, &idp_login(&app, "alice", None).await);
    // Steady state: discovery and keys once, then one call (the token request) per login.
    let counts = first.requests().await;
    assert_eq!(
        counts,
        json!({"discovery": 1, "jwks": 1, "token": 2, "userinfo": 0})
    );
    first.stop().await;
    // The provider comes back on the same port signing with a new key, the old one still
    // published.
    let Some(second) = idp(port, Some(&json!({"keys": [key_b, key_a]})), &json!({})).await else {
        return;
    };
    assert_eq!(second.port, port);
    app.clock.set(real_now());
    let s = session_of(&app, &idp_login(&app, "bob", None).await);
    assert_eq!(me(&s).await.1["username"], "bob");
    // Without a refetch, the kid of B would be unknown; a further login uses the fresh set.
    app.clock.set(real_now());
    session_of(&app, &idp_login(&app, "carol", None).await);
    // Exactly one refetch of the keys, and no new discovery.
    assert_eq!(
        second.requests().await,
        json!({"discovery": 0, "jwks": 1, "token": 2, "userinfo": 0})
    );
}

/// The provider-side sid of each session.
async fn sid_of(app: &TestApp, session_id: &str) -> Option<String> {
    let hash = session_hash(session_id);
    let bytes = hash.as_bytes().to_vec();
    match app.backend {
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(&app.db_url).await.unwrap();
            let row: Option<(Option<String>,)> =
                sqlx::query_as("SELECT sid FROM sso_sessions WHERE session_hash = ?1")
                    .bind(bytes)
                    .fetch_optional(&mut c)
                    .await
                    .unwrap();
            row.and_then(|r| r.0)
        }
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(&app.db_url).await.unwrap();
            let row: Option<(Option<String>,)> =
                sqlx::query_as("SELECT sid FROM sso_sessions WHERE session_hash = $1")
                    .bind(bytes)
                    .fetch_optional(&mut c)
                    .await
                    .unwrap();
            row.and_then(|r| r.0)
        }
    }
}

async fn post_logout(app: &TestApp, token: &str) -> crate::harness::Resp {
    app.clock.set(real_now());
    app.post("/sso/backchannel-logout/oidc/")
        .form(&[("logout_token", token)])
        .send()
        .await
}

fn b64u(v: &Value) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
}

#[track_caller]
fn assert_logout_refused(r: &crate::harness::Resp) {
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert_eq!(r.json()["error"], "invalid_request");
}

async fn r22_backchannel_logout(b: Builder) {
    let key = keygen().await;
    let Some(idp) = idp(0, Some(&json!({"keys": [key]})), &json!({})).await else {
        return;
    };
    let Some(app) = sso_app(b, &idp.issuer, true, |_| {}).await else {
        return;
    };
    let s1 = session_of(&app, &idp_login(&app, "alice", None).await);
    let s2 = session_of(&app, &idp_login(&app, "alice", None).await);
    let sid1 = sid_of(&app, s1.id()).await.expect("sid of session 1");
    let sid2 = sid_of(&app, s2.id()).await.expect("sid of session 2");
    assert_ne!(sid1, sid2);
    let mut jti = 0;
    let mut claims = |extra: Value| {
        jti += 1;
        let mut c = json!({
            "iss": idp.issuer,
            "aud": CLIENT_ID,
            "iat": real_epoch(),
            "exp": real_epoch() + 120,
            "jti": format!("jti-{jti}"),
            "events": {EVENT: {}},
            "sub": "alice",
        });
        for (k, v) in extra.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    };
    let typ = json!({"typ": "logout+jwt"});
    app.clock.set(real_now());

    // Refused tokens change nothing.
    let refused = [
        claims(json!({"sid": sid1, "nonce": "n"})),
        claims(json!({"sid": sid1, "events": null})),
        claims(json!({"sid": sid1, "events": {"other": {}}})),
        claims(json!({"sid": sid1, "aud": "someone-else"})),
        claims(json!({"sid": sid1, "iss": "http://evil.test"})),
        claims(json!({"sid": sid1, "iat": real_epoch() - 302})),
        claims(json!({"sid": sid1, "exp": real_epoch() - 120})),
        claims(json!({"sid": sid1, "jti": null})),
        claims(json!({"sub": null})),
    ];
    for c in &refused {
        let t = sign(&key, c, Some(&typ)).await;
        assert_logout_refused(&post_logout(&app, &t).await);
    }
    // A wrong typ.
    let t = sign(
        &key,
        &claims(json!({"sid": sid1})),
        Some(&json!({"typ": "JWT"})),
    )
    .await;
    assert_logout_refused(&post_logout(&app, &t).await);
    // alg none, by hand.
    let none = format!(
        "{}.{}.",
        b64u(&json!({"alg": "none"})),
        b64u(&claims(json!({"sid": sid1})))
    );
    assert_logout_refused(&post_logout(&app, &none).await);
    // Signed by another key.
    let stranger = keygen().await;
    let t = sign(&stranger, &claims(json!({"sid": sid1})), Some(&typ)).await;
    assert_logout_refused(&post_logout(&app, &t).await);
    // Not a form, no token.
    let r = app
        .post("/sso/backchannel-logout/oidc/")
        .json(&json!({"logout_token": "x"}))
        .send()
        .await;
    assert_logout_refused(&r);
    assert_eq!(me(&s1).await.0, StatusCode::OK);
    assert_eq!(me(&s2).await.0, StatusCode::OK);

    // A valid token with sid 1: session 1 ends, session 2 stays.
    let valid = claims(json!({"sid": sid1}));
    let t = sign(&key, &valid, Some(&typ)).await;
    let r = post_logout(&app, &t).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(me(&s1).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&s2).await.0, StatusCode::OK);
    // Replayed jti.
    assert_logout_refused(&post_logout(&app, &t).await);
    // The same jti in a new token is still a replay.
    let t = sign(
        &key,
        &claims(json!({"sid": sid2, "jti": valid["jti"]})),
        Some(&typ),
    )
    .await;
    assert_logout_refused(&post_logout(&app, &t).await);
    assert_eq!(me(&s2).await.0, StatusCode::OK);

    // Only sub: every SSO session of alice ends; bob's stays.
    let s3 = session_of(&app, &idp_login(&app, "alice", None).await);
    let bob = session_of(&app, &idp_login(&app, "bob", None).await);
    let t = sign(&key, &claims(json!({})), Some(&typ)).await;
    let r = post_logout(&app, &t).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(me(&s2).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&s3).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&bob).await.0, StatusCode::OK);

    // No exp, no typ: accepted.
    let sid_bob = sid_of(&app, bob.id()).await.expect("bob's sid");
    let t = sign(
        &key,
        &claims(json!({"sub": "bob", "sid": sid_bob, "exp": null})),
        None,
    )
    .await;
    let r = post_logout(&app, &t).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(me(&bob).await.0, StatusCode::UNAUTHORIZED);

    // A token naming nobody we know: 200, nothing ends.
    let s4 = session_of(&app, &idp_login(&app, "alice", None).await);
    let t = sign(&key, &claims(json!({"sub": "stranger"})), Some(&typ)).await;
    assert_eq!(post_logout(&app, &t).await.status, StatusCode::OK);
    assert_eq!(me(&s4).await.0, StatusCode::OK);
}
