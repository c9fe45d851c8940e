//! The hostile provider (hostile-idp.mjs): every id_token check, keys, RFC 9207 `iss`,
//! slow, redirecting and oversized answers, and TLS.

use super::{
    NodeProvider, assert_refused, begin, complete, hostile, hostile_authorize, hostile_login,
    real_epoch, real_now, session_of, sso_app,
};
use crate::harness::{Builder, TestApp};
use crate::on_both_backends_configured;
use axum::http::StatusCode;
use serde_json::{Value, json};

on_both_backends_configured!(
    r3_nonce_and_code_replay,
    r4_issuer,
    r5_audience_and_azp,
    r6_subject,
    r7_times,
    r8_signatures,
    r9_keys_without_kid_and_broken_keys,
    r11_unknown_kids_cause_one_refetch,
    r12_at_hash,
    r13_authorization_response_issuer,
);

// Transport only: SQLite alone.
mod transport {
    use portcullis_server::testing::Backend;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn r16_slow_redirecting_and_oversized_answers() {
        super::r16_slow_redirecting_and_oversized_answers(crate::harness::builder(Backend::Sqlite))
            .await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn r17_tls() {
        super::r17_tls(crate::harness::builder(Backend::Sqlite)).await;
    }
}

/// The hostile provider and an app configured for it.
async fn setup(b: Builder) -> Option<(NodeProvider, TestApp)> {
    let hidp = hostile(None).await?;
    let app = sso_app(b, &hidp.issuer, true, |_| {}).await?;
    Some((hidp, app))
}

/// A login with the mutation set `mode`; the callback's answer. The app's clock is put back to
/// the real time first (the provider stamps its tokens with it).
async fn login_with(hidp: &NodeProvider, app: &TestApp, mode: Value) -> crate::harness::Resp {
    hidp.mode(mode).await;
    app.clock.set(real_now());
    hostile_login(app).await
}

#[track_caller]
fn assert_accepted(r: &crate::harness::Resp) {
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.text());
    assert_eq!(
        r.header("location").as_deref(),
        Some("/sso/complete/"),
        "refused"
    );
    assert!(r.cookie("awx_sessionid").is_some());
}

async fn r3_nonce_and_code_replay(b: Builder) {
    let Some((hidp, app)) = setup(b).await else {
        return;
    };
    assert_refused(
        &login_with(&hidp, &app, json!({"claims": {"nonce": "wrong"}})).await,
        "token",
    );
    assert_refused(
        &login_with(&hidp, &app, json!({"drop": ["nonce"]})).await,
        "token",
    );
    hidp.mode(json!({})).await;
    let a = begin(&app, None).await;
    let cb = hostile_authorize(&a).await;
    let ok = complete(&app, &cb, Some(&a.cookie)).await;
    session_of(&app, &ok);
    assert_refused(&complete(&app, &cb, Some(&a.cookie)).await, "state");
}

async fn r4_issuer(b: Builder) {
    let Some((hidp, app)) = setup(b).await else {
        return;
    };
    assert_refused(
        &login_with(&hidp, &app, json!({"claims": {"iss": "http://evil.test"}})).await,
        "token",
    );
    // A provider whose discovery names another issuer, seen on an app's first login.
    hidp.mode(json!({"discovery": {"issuer": "http://other.test"}}))
        .await;
    let Some(fresh) = sso_app(
        crate::harness::builder(app.backend),
        &hidp.issuer,
        true,
        |_| {},
    )
    .await
    else {
        return;
    };
    let r = fresh.get("/sso/login/oidc/").send().await;
    assert_refused(&r, "misconfigured");
    assert!(r.cookie("portcullis_sso").is_none_or(|v| v.is_empty()));
    // The console names it.
    let r = fresh.get("/sso/error/?reason=misconfigured").send().await;
    assert_eq!(
        r.header("location").as_deref(),
        Some("/console/login/?sso_error=misconfigured")
    );
    let page = fresh
        .get("/console/login/?sso_error=misconfigured")
        .send()
        .await;
    assert!(
        page.text()
            .contains("Single sign-on is misconfigured. Please tell your administrator."),
        "{}",
        page.text()
    );
    assert!(page.text().contains("/sso/login/oidc/"));
}

async fn r5_audience_and_azp(b: Builder) {
    let Some((hidp, app)) = setup(b).await else {
        return;
    };
    for mode in [
        json!({"drop": ["aud"]}),
        json!({"claims": {"aud": "other"}}),
        json!({"claims": {"aud": ["other", "another"]}}),
        json!({"claims": {"aud": ["portcullis", "other"]}}),
        json!({"claims": {"aud": ["portcullis", "other"], "azp": "other"}}),
        json!({"claims": {"aud": ["portcullis", "other"], "azp": "portcullis"}}),
    ] {
        assert_refused(&login_with(&hidp, &app, mode.clone()).await, "token");
    }
    app.set(json!({"PORTCULLIS_SSO_TRUSTED_AUDIENCES": ["other"]}))
        .await;
    assert_accepted(
        &login_with(
            &hidp,
            &app,
            json!({"claims": {"aud": ["portcullis", "other"], "azp": "portcullis"}}),
        )
        .await,
    );
    // Trusted, but azp must still be us.
    assert_refused(
        &login_with(
            &hidp,
            &app,
            json!({"claims": {"aud": ["portcullis", "other"]}}),
        )
        .await,
        "token",
    );
    assert_refused(
        &login_with(
            &hidp,
            &app,
            json!({"claims": {"aud": ["portcullis", "other"], "azp": "other"}}),
        )
        .await,
        "token",
    );
    // An untrusted third audience is still refused.
    assert_refused(
        &login_with(
            &hidp,
            &app,
            json!({"claims": {"aud": ["portcullis", "third"], "azp": "portcullis"}}),
        )
        .await,
        "token",
    );
}

async fn r6_subject(b: Builder) {
    let Some((hidp, app)) = setup(b).await else {
        return;
    };
    assert_refused(
        &login_with(&hidp, &app, json!({"drop": ["sub"]})).await,
        "token",
    );
    hidp.reset_requests().await;
    assert_refused(
        &login_with(
            &hidp,
            &app,
            json!({"drop": ["email", "preferred_username"], "userinfo": {"sub": "someone-else"}}),
        )
        .await,
        "token",
    );
    assert_eq!(hidp.requests().await["userinfo"], 1, "userinfo was asked");
    // The same without the lie: userinfo supplies the name.
    let r = login_with(
        &hidp,
        &app,
        json!({"drop": ["email", "preferred_username"]}),
    )
    .await;
    let s = session_of(&app, &r);
    let (_, u) = super::me(&s).await;
    assert_eq!(u["username"], "hostile-user");
    assert_eq!(u["email"], "hostile@example.test");
}

async fn r7_times(b: Builder) {
    let Some((hidp, app)) = setup(b).await else {
        return;
    };
    assert_refused(
        &login_with(&hidp, &app, json!({"drop": ["iat"]})).await,
        "token",
    );
    let now = real_epoch();
    assert_refused(
        &login_with(&hidp, &app, json!({"claims": {"iat": now - 601}})).await,
        "token",
    );
    let now = real_epoch();
    assert_refused(
        &login_with(&hidp, &app, json!({"claims": {"exp": now - 62}})).await,
        "token",
    );
    let now = real_epoch();
    assert_refused(
        &login_with(&hidp, &app, json!({"claims": {"nbf": now + 120}})).await,
        "token",
    );
    let now = real_epoch();
    assert_refused(
        &login_with(&hidp, &app, json!({"claims": {"iat": now + 120}})).await,
        "token",
    );
    let now = real_epoch();
    assert_accepted(&login_with(&hidp, &app, json!({"claims": {"iat": now - 500}})).await);
    let now = real_epoch();
    assert_accepted(&login_with(&hidp, &app, json!({"claims": {"exp": now - 30}})).await);
}

async fn r8_signatures(b: Builder) {
    let Some((hidp, app)) = setup(b).await else {
        return;
    };
    for sign in ["none", "hs256-secret", "hs256-pubkey", "tamper"] {
        let r = login_with(&hidp, &app, json!({"sign": sign})).await;
        assert_refused(&r, "token");
    }
    assert!(
        app.store()
            .user_by_username("hostile-user-tampered")
            .await
            .unwrap()
            .is_none()
    );
    assert_accepted(&login_with(&hidp, &app, json!({})).await);
}

async fn r9_keys_without_kid_and_broken_keys(b: Builder) {
    let Some((hidp, app)) = setup(b).await else {
        return;
    };
    assert_accepted(&login_with(&hidp, &app, json!({"kid": null})).await);
    // Key sets seen on an app's first login.
    for jwks in ["two-keys-no-kid", "unparseable-extra"] {
        hidp.mode(json!({"jwks": jwks})).await;
        let Some(fresh) = sso_app(
            crate::harness::builder(app.backend),
            &hidp.issuer,
            true,
            |_| {},
        )
        .await
        else {
            return;
        };
        hidp.reset_requests().await;
        let r = login_with(&hidp, &fresh, json!({"jwks": jwks})).await;
        assert!(r.status.as_u16() < 500, "{jwks}: {}", r.status);
        assert_accepted(&r);
        assert_eq!(hidp.requests().await["jwks"], 1, "{jwks}");
    }
}

/// A login whose id_token names `kid`, on the app's clock as it stands.
async fn unknown_kid(hidp: &NodeProvider, app: &TestApp, kid: &str) -> crate::harness::Resp {
    hidp.mode(json!({"kid": kid})).await;
    hostile_login(app).await
}

async fn r11_unknown_kids_cause_one_refetch(b: Builder) {
    let Some((hidp, app)) = setup(b).await else {
        return;
    };
    hidp.reset_requests().await;
    // The refetch limit counts on the app's clock, which stands still from here on (these
    // tokens are refused at their signature, before any time check): 50 tokens with made-up
    // kids inside one 10 s interval, however long the loop takes.
    app.clock.set(real_now());
    for n in 0..50 {
        assert_refused(
            &unknown_kid(&hidp, &app, &format!("unknown-{n}")).await,
            "token",
        );
    }
    let counts = hidp.requests().await;
    assert_eq!(counts["token"], 50);
    assert_eq!(
        counts["jwks"].as_u64().unwrap(),
        2,
        "the initial fetch and exactly one refetch: {counts}"
    );
    // Once the interval has passed, the next unknown kid may fetch once more, and only once.
    app.clock.advance(time::Duration::seconds(11));
    assert_refused(&unknown_kid(&hidp, &app, "unknown-late").await, "token");
    assert_refused(&unknown_kid(&hidp, &app, "unknown-later").await, "token");
    assert_eq!(hidp.requests().await["jwks"].as_u64().unwrap(), 3);
    // The real key still works.
    assert_accepted(&login_with(&hidp, &app, json!({})).await);
}

async fn r12_at_hash(b: Builder) {
    let Some((hidp, app)) = setup(b).await else {
        return;
    };
    assert_refused(
        &login_with(&hidp, &app, json!({"at_hash": "wrong"})).await,
        "token",
    );
    assert_accepted(&login_with(&hidp, &app, json!({"drop": ["at_hash"]})).await);
    assert_accepted(&login_with(&hidp, &app, json!({})).await);
}

async fn r13_authorization_response_issuer(b: Builder) {
    let Some((hidp, app)) = setup(b).await else {
        return;
    };
    assert_refused(
        &login_with(&hidp, &app, json!({"authorize_iss": "http://evil.test"})).await,
        "issuer",
    );
    // The right issuer in the response is fine.
    let iss = hidp.issuer.clone();
    assert_accepted(&login_with(&hidp, &app, json!({"authorize_iss": iss})).await);
    // A provider that promises iss and sends none (seen on an app's first login).
    let promise = json!({"discovery": {"authorization_response_iss_parameter_supported": true}});
    hidp.mode(promise.clone()).await;
    let Some(fresh) = sso_app(
        crate::harness::builder(app.backend),
        &hidp.issuer,
        true,
        |_| {},
    )
    .await
    else {
        return;
    };
    assert_refused(&login_with(&hidp, &fresh, promise).await, "issuer");
}

async fn r16_slow_redirecting_and_oversized_answers(b: Builder) {
    let Some(hidp) = hostile(None).await else {
        return;
    };
    let Some(app) = sso_app(b, &hidp.issuer, true, |c| c.sso.http_timeout_seconds = 2).await else {
        return;
    };
    hidp.mode(json!({"hang": ["token"]})).await;
    app.clock.set(real_now());
    let a = begin(&app, None).await;
    let cb = hostile_authorize(&a).await;
    let callback = complete(&app, &cb, Some(&a.cookie));
    tokio::pin!(callback);
    tokio::select! {
        biased;
        r = &mut callback => panic!("the callback ended before the ping: {}", r.status),
        p = app.get("/api/v2/ping/").send() => assert_eq!(p.status, StatusCode::OK),
    }
    // The hung token call ends by the configured timeout (the test does not time it: the
    // callback ending at all, with this reason, is the check).
    let r = callback.await;
    assert_refused(&r, "provider_unavailable");

    assert_refused(
        &login_with(&hidp, &app, json!({"redirect": ["token"]})).await,
        "provider_unavailable",
    );

    // A key set too large, on an app's first login: refused at the start of the login.
    hidp.mode(json!({"jwks": "big"})).await;
    let Some(fresh) = sso_app(
        crate::harness::builder(app.backend),
        &hidp.issuer,
        true,
        |_| {},
    )
    .await
    else {
        return;
    };
    let r = fresh.get("/sso/login/oidc/").send().await;
    assert_refused(&r, "provider_unavailable");
    // Discovery redirecting: the same.
    hidp.mode(json!({"redirect": ["discovery"]})).await;
    let Some(fresh) = sso_app(
        crate::harness::builder(app.backend),
        &hidp.issuer,
        true,
        |_| {},
    )
    .await
    else {
        return;
    };
    assert_refused(
        &fresh.get("/sso/login/oidc/").send().await,
        "provider_unavailable",
    );
}

async fn r17_tls(b: Builder) {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = portcullis_server::testing::slapd::certificates();
    let ca_file = dir.path().join("ca.pem");
    let cert_file = dir.path().join("cert.pem");
    let key_file = dir.path().join("key.pem");
    std::fs::write(&ca_file, ca).unwrap();
    std::fs::write(&cert_file, cert).unwrap();
    std::fs::write(&key_file, key).unwrap();
    let Some(hidp) = hostile(Some((&cert_file, &key_file))).await else {
        return;
    };
    assert!(hidp.issuer.starts_with("https://"), "{}", hidp.issuer);
    let backend = portcullis_server::testing::Backend::Sqlite;
    // Verified against the system roots: refused.
    let Some(app) = sso_app(b, &hidp.issuer, true, |_| {}).await else {
        return;
    };
    assert_refused(
        &app.get("/sso/login/oidc/").send().await,
        "provider_unavailable",
    );
    // Not verified: works.
    let Some(app) = sso_app(
        crate::harness::builder(backend),
        &hidp.issuer,
        false,
        |_| {},
    )
    .await
    else {
        return;
    };
    assert_accepted(&hostile_login(&app).await);
    // Verified against the CA file: works.
    let ca_path = ca_file.clone();
    let Some(app) = sso_app(crate::harness::builder(backend), &hidp.issuer, true, |c| {
        c.sso.ca_bundle = Some(ca_path);
    })
    .await
    else {
        return;
    };
    assert_accepted(&hostile_login(&app).await);
    // And the verification setting off then on again on the same app is honoured.
    app.set(json!({"SOCIAL_AUTH_OIDC_VERIFY_SSL": false})).await;
    assert_accepted(&hostile_login(&app).await);
}
