//! MDR connections and the token exchange (`docs/mdr-api.md`, "Customers, tenants and connections",
//! "Token exchange", "JWT format", "Rotation and reuse detection", "Signing keys", "Access
//! tokens"): the console API, `session/confirm` and every failure of its table, rotation and reuse
//! with and without the grace period, 50 racing exchanges, revocation, expiry, forged tokens, the
//! JWKS and the audit.

use crate::harness::{PASSWORD, Resp, TestApp, join_all};
use crate::{on_both_backends, on_both_backends_configured};
use axum::http::{Method, StatusCode};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_core::jwt::{MdrClaims, Purpose};
use serde_json::{Value, json};

/// A customer with one connection, as the console created it.
pub struct Fixture {
    pub client_id: String,
    pub connection_id: String,
    /// The bootstrap refresh token shown once.
    pub bootstrap: String,
}

/// Creates a customer and a connection through the console API with Basic `admin`.
pub async fn fixture(app: &TestApp) -> Fixture {
    app.admin().await;
    let c = app
        .post("/console/api/mdr/customers")
        .basic("admin", PASSWORD)
        .json(&json!({"name": "Acme"}))
        .send()
        .await;
    assert_eq!(c.status, StatusCode::CREATED, "{}", c.text());
    let client_id = c.json()["client_id"].as_str().unwrap().to_owned();
    let r = app
        .post(&format!(
            "/console/api/mdr/customers/{client_id}/connections"
        ))
        .basic("admin", PASSWORD)
        .json(&json!({"name": "SIEM export", "role": "MDR Administrator", "tenants": []}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    Fixture {
        client_id,
        connection_id: r.json()["connection_id"].as_str().unwrap().to_owned(),
        bootstrap: r.json()["refresh_token"].as_str().unwrap().to_owned(),
    }
}

pub async fn confirm(app: &TestApp, client_id: &str, token: &str) -> Resp {
    app.post(&format!("/api/v1/{client_id}/session/confirm"))
        .json(&json!({ "refresh_token": token }))
        .send()
        .await
}

/// The pair of a 200, or a panic with the body.
pub fn pair(r: &Resp) -> (String, String) {
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let j = r.json();
    (
        j["access_token"].as_str().unwrap().to_owned(),
        j["refresh_token"].as_str().unwrap().to_owned(),
    )
}

pub async fn call(app: &TestApp, client_id: &str, action: &str, token: &str) -> Resp {
    app.post(&format!("/api/v1/{client_id}/{action}"))
        .bearer(token)
        .json(&json!({}))
        .send()
        .await
}

async fn view(app: &TestApp, f: &Fixture) -> Value {
    let r = app
        .get(&format!(
            "/console/api/mdr/customers/{}/connections/{}",
            f.client_id, f.connection_id
        ))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()
}

async fn console_post(app: &TestApp, f: &Fixture, action: &str) -> Resp {
    app.post(&format!(
        "/console/api/mdr/customers/{}/connections/{}/{action}",
        f.client_id, f.connection_id
    ))
    .basic("admin", PASSWORD)
    .send()
    .await
}

#[track_caller]
fn assert_error(r: &Resp, status: StatusCode, message: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(r.json(), json!({ "error": message }));
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
}

fn segment(token: &str, i: usize) -> Value {
    let part = token.split('.').nth(i).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

async fn console_create_shows_the_token_once_and_the_exchange_activates(app: TestApp) {
    let f = fixture(&app).await;
    // The 201 carried the token (fixture) with no-store; later reads never do.
    let v = view(&app, &f).await;
    assert_eq!(v["status"], "Pending activation");
    assert!(v.get("refresh_token").is_none());
    assert!(!v.to_string().contains(&f.bootstrap));
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "connection_id",
            "client_id",
            "name",
            "role",
            "tenants",
            "status",
            "created_at",
            "last_used_at",
            "refresh_token_expires_at",
            "refresh_token_jti_prefix"
        ]
    );
    let bootstrap_claims = segment(&f.bootstrap, 1);
    assert_eq!(
        bootstrap_claims["exp"].as_i64().unwrap() - bootstrap_claims["iat"].as_i64().unwrap(),
        86_400
    );

    // No Authorization header, exactly the two keys, no-store, Active.
    let r = confirm(&app, &f.client_id, &f.bootstrap).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json_keys(), ["access_token", "refresh_token"]);
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json; charset=utf-8")
    );
    let (access, refresh) = pair(&r);
    assert_eq!(view(&app, &f).await["status"], "Active");

    // A new refresh token, headers and lifetimes as specified.
    assert_ne!(refresh, f.bootstrap);
    assert_ne!(segment(&refresh, 1)["jti"], bootstrap_claims["jti"]);
    for (token, typ, life) in [(&access, "at+jwt", 3600), (&refresh, "rt+jwt", 604_800)] {
        assert_eq!(token.split('.').count(), 3);
        assert!(token.len() < 1024);
        let h = segment(token, 0);
        assert_eq!(h["alg"], "EdDSA");
        assert_eq!(h["typ"], typ);
        assert_eq!(h["kid"].as_str().unwrap().len(), 43);
        assert_eq!(
            h.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["typ", "alg", "kid"]
        );
        let c = segment(token, 1);
        assert_eq!(
            c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
            life
        );
        assert_eq!(c["sub"], f.client_id.as_str());
        assert_eq!(c["cnx"], f.connection_id.as_str());
        assert!(c.get("nbf").is_none());
        assert!(c.get("role").is_none());
    }
    assert_eq!(segment(&access, 1)["token_use"], "access");
    assert_eq!(
        segment(&access, 1)["aud"],
        format!("urn:portcullis:mdr:api:{}", f.client_id).as_str()
    );
    assert_eq!(
        segment(&refresh, 1)["aud"],
        format!("urn:portcullis:mdr:session:{}", f.client_id).as_str()
    );

    // The access token works repeatedly within its lifetime.
    for _ in 0..20 {
        let r = call(&app, &f.client_id, "assets/count", &access).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
    // The console shows last use and the new token's prefix only.
    let v = view(&app, &f).await;
    assert_eq!(
        v["refresh_token_jti_prefix"],
        segment(&refresh, 1)["jti"].as_str().unwrap()[..8]
    );
    assert!(v["last_used_at"].is_i64());
}

async fn exchange_failures_answer_as_the_table_says(app: TestApp) {
    let f = fixture(&app).await;
    let path = format!("/api/v1/{}/session/confirm", f.client_id);
    // Refused bodies: multipart (415), a form body (not a JSON object), `{}` (no token).
    let r = app
        .post(&path)
        .header("content-type", "multipart/form-data; boundary=x")
        .body("--x--")
        .send()
        .await;
    assert_error(
        &r,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported content type",
    );
    let r = app
        .post(&path)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("refresh_token=abc")
        .send()
        .await;
    assert_error(
        &r,
        StatusCode::BAD_REQUEST,
        "request body is not a JSON object",
    );
    let r = app.post(&path).json(&json!({})).send().await;
    assert_error(&r, StatusCode::BAD_REQUEST, "'refresh_token' is required");
    let r = app
        .post(&path)
        .json(&json!({"refresh_token": 5}))
        .send()
        .await;
    assert_error(&r, StatusCode::BAD_REQUEST, "'refresh_token' is required");
    let r = app.post(&path).json(&json!([1])).send().await;
    assert_error(
        &r,
        StatusCode::BAD_REQUEST,
        "request body is not a JSON object",
    );
    let big = "a".repeat(70 * 1024);
    let r = app
        .post(&path)
        .json(&json!({ "refresh_token": big }))
        .send()
        .await;
    assert_error(&r, StatusCode::PAYLOAD_TOO_LARGE, "request body too large");
    // Client ID syntax.
    let r = confirm(&app, "short", &f.bootstrap).await;
    assert_error(&r, StatusCode::NOT_FOUND, "not found");
    // No "unknown client" answer.
    let stranger = "0123456789abcdef0123456789abcdef";
    let r = confirm(&app, stranger, "garbage").await;
    assert_error(&r, StatusCode::UNAUTHORIZED, "invalid refresh token");
    let r = confirm(&app, stranger, &f.bootstrap).await;
    assert_error(
        &r,
        StatusCode::UNAUTHORIZED,
        "refresh token does not belong to this client",
    );
    // None of that spent the token. Tolerated content types, one exchange each.
    let mut token = f.bootstrap.clone();
    let mut access = String::new();
    for ct in [
        None,
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let mut b = app.post(&path);
        if let Some(ct) = ct {
            b = b.header("content-type", ct);
        }
        let r = b
            .body(json!({ "refresh_token": token, "version": 2 }).to_string())
            .send()
            .await;
        let (a, t) = pair(&r);
        token = t;
        access = a;
    }
    // Purposes cannot be swapped.
    let r = confirm(&app, &f.client_id, &access).await;
    assert_error(&r, StatusCode::UNAUTHORIZED, "invalid refresh token");
    let r = call(&app, &f.client_id, "assets/count", &token).await;
    assert_error(&r, StatusCode::UNAUTHORIZED, "invalid access token");
    assert_eq!(
        r.header("www-authenticate").as_deref(),
        Some("Bearer realm=\"mdr\", error=\"invalid_token\"")
    );
    // A resource call without `Authorization`: 401 with the plain challenge.
    let r = app
        .post(&format!("/api/v1/{}/assets/count", f.client_id))
        .json(&json!({}))
        .send()
        .await;
    assert_error(&r, StatusCode::UNAUTHORIZED, "authorization required");
    assert_eq!(
        r.header("www-authenticate").as_deref(),
        Some("Bearer realm=\"mdr\"")
    );
    // unknown actions (checked before authentication).
    let r = app
        .req(Method::GET, &format!("/api/v1/{}/assets/list", f.client_id))
        .send()
        .await;
    assert_error(&r, StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    let r = app
        .post(&format!("/api/v1/{}/assets/explode", f.client_id))
        .send()
        .await;
    assert_error(&r, StatusCode::NOT_FOUND, "not found");
    // The audit holds one record per exchange attempt, never a token.
    let r = app
        .get(&format!("/console/api/mdr/customers/{}/audit", f.client_id))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let results: Vec<String> = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["result"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(results, ["invalid", "ok", "ok", "ok"]);
    assert!(!r.text().contains(&f.bootstrap[..40]));
}

async fn reuse_after_the_grace_period_revokes_the_family(b: crate::harness::Builder) {
    let Some(app) = b.config(|c| c.mdr.rotation_grace_period = 2).build().await else {
        return;
    };
    let f = fixture(&app).await;
    let (a1, r1) = pair(&confirm(&app, &f.client_id, &f.bootstrap).await);
    app.clock.advance(time::Duration::seconds(3));
    // Reuse outside the grace period: the whole family dies.
    let r = confirm(&app, &f.client_id, &f.bootstrap).await;
    assert_error(
        &r,
        StatusCode::UNAUTHORIZED,
        "refresh token already used; all tokens of this connection have been revoked",
    );
    assert_error(
        &confirm(&app, &f.client_id, &r1).await,
        StatusCode::UNAUTHORIZED,
        "refresh token revoked",
    );
    let r = call(&app, &f.client_id, "assets/count", &a1).await;
    assert_error(&r, StatusCode::FORBIDDEN, "access token revoked");
    assert_eq!(view(&app, &f).await["status"], "Pending activation");
    let acts = app
        .get("/api/v2/activity_stream/?object1=mdr_connection")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert!(
        acts.text().contains("refresh_token_reuse"),
        "{}",
        acts.text()
    );
}

async fn expired_tokens_are_refused_without_touching_the_family(b: crate::harness::Builder) {
    let Some(app) = b
        .config(|c| {
            c.mdr.bootstrap_token_ttl = 5;
            c.mdr.access_token_ttl = 5;
            c.mdr.refresh_token_ttl = 5;
            c.mdr.clock_leeway = 0;
        })
        .build()
        .await
    else {
        return;
    };
    let f = fixture(&app).await;
    app.clock.advance(time::Duration::seconds(7));
    // Expired bootstrap; the connection stays Pending and can still be refreshed.
    assert_error(
        &confirm(&app, &f.client_id, &f.bootstrap).await,
        StatusCode::UNAUTHORIZED,
        "refresh token expired",
    );
    let r = console_post(&app, &f, "refresh").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let fresh = r.json()["refresh_token"].as_str().unwrap().to_owned();
    let (access, refresh) = pair(&confirm(&app, &f.client_id, &fresh).await);
    app.clock.advance(time::Duration::seconds(7));
    // An access token past its expiry: 403, and a fresh exchange works.
    assert_error(
        &call(&app, &f.client_id, "assets/count", &access).await,
        StatusCode::FORBIDDEN,
        "access token expired",
    );
    assert_error(
        &confirm(&app, &f.client_id, &refresh).await,
        StatusCode::UNAUTHORIZED,
        "refresh token expired",
    );
}

async fn access_expiry_then_exchange_and_retry_succeeds(b: crate::harness::Builder) {
    let Some(app) = b
        .config(|c| {
            c.mdr.access_token_ttl = 5;
            c.mdr.clock_leeway = 0;
        })
        .build()
        .await
    else {
        return;
    };
    let f = fixture(&app).await;
    let (access, refresh) = pair(&confirm(&app, &f.client_id, &f.bootstrap).await);
    app.clock.advance(time::Duration::seconds(6));
    assert_error(
        &call(&app, &f.client_id, "assets/count", &access).await,
        StatusCode::FORBIDDEN,
        "access token expired",
    );
    let (access, _) = pair(&confirm(&app, &f.client_id, &refresh).await);
    let r = call(&app, &f.client_id, "assets/count", &access).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

async fn within_the_grace_period_a_retry_gets_the_same_pair(app: TestApp) {
    let f = fixture(&app).await;
    let first = pair(&confirm(&app, &f.client_id, &f.bootstrap).await);
    let again = pair(&confirm(&app, &f.client_id, &f.bootstrap).await);
    assert_eq!(first, again);
    // 50 racers all get that pair.
    let racers: Vec<_> = (0..50)
        .map(|_| confirm(&app, &f.client_id, &f.bootstrap))
        .collect();
    for r in join_all(racers).await {
        assert_eq!(pair(&r), first);
    }
    // Once the successor is spent the old token is reuse (past the race tolerance; within
    // it, it would be a lost race).
    pair(&confirm(&app, &f.client_id, &first.1).await);
    app.clock.advance(time::Duration::seconds(2));
    assert_error(
        &confirm(&app, &f.client_id, &f.bootstrap).await,
        StatusCode::UNAUTHORIZED,
        "refresh token already used; all tokens of this connection have been revoked",
    );
    assert_eq!(view(&app, &f).await["status"], "Pending activation");
}

async fn fifty_parallel_exchanges_have_one_winner(b: crate::harness::Builder) {
    let Some(app) = b.config(|c| c.mdr.rotation_grace_period = 0).build().await else {
        return;
    };
    let f = fixture(&app).await;
    // Spawned tasks, so the exchanges really run in parallel on the runtime.
    let mut handles = Vec::new();
    for _ in 0..50 {
        let app_router = app.app.clone();
        let path = format!("/api/v1/{}/session/confirm", f.client_id);
        let body = json!({ "refresh_token": f.bootstrap }).to_string();
        handles.push(tokio::spawn(async move {
            use tower::ServiceExt as _;
            let req = axum::http::Request::post(path)
                .header("content-type", "application/json")
                .body(axum::body::Body::from(body))
                .unwrap();
            let resp = app_router.oneshot(req).await.unwrap();
            let status = resp.status();
            let bytes = http_body_util::BodyExt::collect(resp.into_body())
                .await
                .unwrap()
                .to_bytes();
            (status, serde_json::from_slice::<Value>(&bytes).unwrap())
        }));
    }
    let mut ok = Vec::new();
    let mut conflicts = 0;
    for h in handles {
        let (status, body) = h.await.unwrap();
        match status {
            StatusCode::OK => ok.push(body),
            StatusCode::CONFLICT => {
                assert_eq!(
                    body,
                    json!({"error": "refresh token already used by a concurrent request"})
                );
                conflicts += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(ok.len(), 1);
    assert_eq!(conflicts, 49);
    let winner = ok[0]["refresh_token"].as_str().unwrap();
    pair(&confirm(&app, &f.client_id, winner).await);
}

async fn revoke_refresh_and_delete_kill_tokens(app: TestApp) {
    let f = fixture(&app).await;
    // Revoke needs Active or Idle.
    assert_error(
        &console_post(&app, &f, "revoke").await,
        StatusCode::CONFLICT,
        "connection is not active or idle",
    );
    // Refresh twice; the first token is dead, the second works.
    let second = console_post(&app, &f, "refresh").await;
    assert_eq!(second.status, StatusCode::OK);
    assert_eq!(second.header("cache-control").as_deref(), Some("no-store"));
    let second = second.json()["refresh_token"].as_str().unwrap().to_owned();
    assert_error(
        &confirm(&app, &f.client_id, &f.bootstrap).await,
        StatusCode::UNAUTHORIZED,
        "refresh token revoked",
    );
    let (access, refresh) = pair(&confirm(&app, &f.client_id, &second).await);
    // Refresh needs Pending activation.
    assert_error(
        &console_post(&app, &f, "refresh").await,
        StatusCode::CONFLICT,
        "connection is not pending activation",
    );
    // Revoke an Active connection: both its tokens die.
    let r = console_post(&app, &f, "revoke").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["status"], "Pending activation");
    assert_error(
        &confirm(&app, &f.client_id, &refresh).await,
        StatusCode::UNAUTHORIZED,
        "refresh token revoked",
    );
    assert_error(
        &call(&app, &f.client_id, "assets/count", &access).await,
        StatusCode::FORBIDDEN,
        "access token revoked",
    );
    // Delete after a fresh activation.
    let third = console_post(&app, &f, "refresh").await.json()["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let (access, refresh) = pair(&confirm(&app, &f.client_id, &third).await);
    let r = app
        .delete(&format!(
            "/console/api/mdr/customers/{}/connections/{}",
            f.client_id, f.connection_id
        ))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_error(
        &confirm(&app, &f.client_id, &refresh).await,
        StatusCode::UNAUTHORIZED,
        "refresh token revoked",
    );
    assert_error(
        &call(&app, &f.client_id, "assets/count", &access).await,
        StatusCode::FORBIDDEN,
        "access token revoked",
    );
}

async fn tokens_of_one_customer_do_not_work_for_another(app: TestApp) {
    let a = fixture(&app).await;
    let other = app
        .post("/console/api/mdr/customers")
        .basic("admin", PASSWORD)
        .json(&json!({"name": "Other"}))
        .send()
        .await
        .json()["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // Refused at B, not spent, then fine at A.
    assert_error(
        &confirm(&app, &other, &a.bootstrap).await,
        StatusCode::UNAUTHORIZED,
        "refresh token does not belong to this client",
    );
    let (access, _) = pair(&confirm(&app, &a.client_id, &a.bootstrap).await);
    // Customer A's access token on customer B's path: 403, no data.
    assert_error(
        &call(&app, &other, "assets/list", &access).await,
        StatusCode::FORBIDDEN,
        "access token does not belong to this client",
    );
}

async fn an_unused_connection_turns_idle_and_a_use_makes_it_active(b: crate::harness::Builder) {
    let Some(app) = b.config(|c| c.mdr.idle_after = 3).build().await else {
        return;
    };
    let f = fixture(&app).await;
    let (_, refresh) = pair(&confirm(&app, &f.client_id, &f.bootstrap).await);
    assert_eq!(view(&app, &f).await["status"], "Active");
    app.clock.advance(time::Duration::seconds(4));
    assert_eq!(view(&app, &f).await["status"], "Idle");
    pair(&confirm(&app, &f.client_id, &refresh).await);
    assert_eq!(view(&app, &f).await["status"], "Active");
}

fn forge(header: &Value, claims: &Value, sig: &str) -> String {
    format!(
        "{}.{}.{sig}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

async fn forged_tokens_are_refused(app: TestApp) {
    let f = fixture(&app).await;
    let (access, _) = pair(&confirm(&app, &f.client_id, &f.bootstrap).await);
    let header = segment(&access, 0);
    let claims = segment(&access, 1);
    let sig = access.split('.').nth(2).unwrap().to_owned();
    let kid = header["kid"].as_str().unwrap();
    // A listener that must never be contacted by a `jku`.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let jku = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    // HS256 keyed with the public key.
    let jwks: Value = app.get("/.well-known/jwks.json").send().await.json();
    let x = jwks["keys"][0]["x"].as_str().unwrap();
    let hs = {
        use hmac::{KeyInit as _, Mac as _};
        let h = json!({"alg": "HS256", "typ": "at+jwt", "kid": kid});
        let unsigned = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(h.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(x.as_bytes()).unwrap();
        mac.update(unsigned.as_bytes());
        format!(
            "{unsigned}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    };
    let mut tampered = claims.clone();
    tampered["cnx"] = json!("AAAAAAAAAAAAAAAAAAAA");
    let forged = [
        forge(
            &json!({"alg": "none", "typ": "at+jwt", "kid": kid}),
            &claims,
            "",
        ),
        forge(
            &json!({"alg": "none", "typ": "at+jwt", "kid": kid}),
            &claims,
            "AA",
        ),
        hs,
        forge(&header, &tampered, &sig),
        forge(
            &json!({"alg": "EdDSA", "typ": "at+jwt", "kid": "unknownkid"}),
            &claims,
            &sig,
        ),
        forge(
            &json!({"alg": "EdDSA", "typ": "at+jwt", "kid": "../x"}),
            &claims,
            &sig,
        ),
        forge(
            &json!({"alg": "EdDSA", "typ": "at+jwt", "kid": kid, "jku": jku}),
            &claims,
            &sig,
        ),
        forge(
            &json!({"alg": "ES256", "typ": "at+jwt", "kid": kid}),
            &claims,
            &sig,
        ),
        "not.a.jwt".into(),
    ];
    for t in &forged {
        let r = call(&app, &f.client_id, "assets/count", t).await;
        assert_error(&r, StatusCode::UNAUTHORIZED, "invalid access token");
    }
    assert!(listener.accept().is_err(), "the jku listener was contacted");
    // The genuine token still works.
    let r = call(&app, &f.client_id, "assets/count", &access).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

async fn clock_skew_is_tolerated_within_the_leeway(app: TestApp) {
    let f = fixture(&app).await;
    let (access, _) = pair(&confirm(&app, &f.client_id, &f.bootstrap).await);
    let c = segment(&access, 1);
    let now = app.now().unix_timestamp();
    let sign = |iat: i64, exp: i64| {
        let claims = MdrClaims::new(
            Purpose::Access,
            "urn:portcullis:mdr",
            &f.client_id,
            c["cnx"].as_str().unwrap(),
            c["fam"].as_str().unwrap(),
            "AAAAAAAAAAAAAAAAAAAAAA",
            iat,
            exp,
        );
        app.state.mdr.keys.sign(Purpose::Access, &claims).unwrap()
    };
    // Clock skew: within the leeway, beyond it, and an `iat` in the future.
    let r = call(
        &app,
        &f.client_id,
        "assets/count",
        &sign(now - 100, now - 30),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_error(
        &call(
            &app,
            &f.client_id,
            "assets/count",
            &sign(now - 200, now - 120),
        )
        .await,
        StatusCode::FORBIDDEN,
        "access token expired",
    );
    assert_error(
        &call(
            &app,
            &f.client_id,
            "assets/count",
            &sign(now + 600, now + 4200),
        )
        .await,
        StatusCode::UNAUTHORIZED,
        "invalid access token",
    );
}

/// Issue 9: a token whose `nbf` lies beyond the leeway is refused, access and refresh alike;
/// within the leeway it is accepted, as `iat` is.
async fn a_future_not_before_is_refused(app: TestApp) {
    let f = fixture(&app).await;
    let (access, refresh) = pair(&confirm(&app, &f.client_id, &f.bootstrap).await);
    let now = app.now().unix_timestamp();
    let resign = |token: &str, purpose: Purpose, nbf: i64| {
        let mut claims: MdrClaims = serde_json::from_value(segment(token, 1)).unwrap();
        claims.nbf = Some(nbf);
        app.state.mdr.keys.sign(purpose, &claims).unwrap()
    };
    let r = call(
        &app,
        &f.client_id,
        "assets/count",
        &resign(&access, Purpose::Access, now + 600),
    )
    .await;
    assert_error(&r, StatusCode::UNAUTHORIZED, "invalid access token");
    let r = call(
        &app,
        &f.client_id,
        "assets/count",
        &resign(&access, Purpose::Access, now + 30),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // The genuine refresh token's own jti, so only `nbf` can refuse it.
    let r = confirm(
        &app,
        &f.client_id,
        &resign(&refresh, Purpose::Refresh, now + 600),
    )
    .await;
    assert_error(&r, StatusCode::UNAUTHORIZED, "invalid refresh token");
    // Refused without consuming anything: the genuine token still exchanges.
    let r = confirm(&app, &f.client_id, &refresh).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

async fn jwks_publishes_public_keys_only(app: TestApp) {
    let r = app.get("/.well-known/jwks.json").send().await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.header("cache-control").as_deref(),
        Some("public, max-age=300")
    );
    let keys = r.json()["keys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 1);
    let k = keys[0].as_object().unwrap();
    let mut names: Vec<&str> = k.keys().map(String::as_str).collect();
    names.sort_unstable();
    assert_eq!(names, ["alg", "crv", "kid", "kty", "use", "x"]);
    assert_eq!(k["kty"], "OKP");
    assert_eq!(k["crv"], "Ed25519");
    assert_eq!(k["use"], "sig");
    assert_eq!(
        k["kid"].as_str(),
        Some(portcullis_core::jwt::thumbprint_okp(k["x"].as_str().unwrap()).as_str())
    );
}

async fn key_rotation_keeps_old_tokens_valid(app: TestApp) {
    let f = fixture(&app).await;
    let (access, refresh) = pair(&confirm(&app, &f.client_id, &f.bootstrap).await);
    let old_kid = segment(&access, 0)["kid"].clone();
    let st = &app.state;
    let key = portcullis_server::service::mdr_keys::rotate(
        st.store.as_ref(),
        st.mdr.keys.kek(),
        &st.config.mdr,
        app.now(),
        true,
    )
    .await
    .unwrap();
    st.mdr.keys.reload(st.store.as_ref()).await.unwrap();
    let jwks = app.get("/.well-known/jwks.json").send().await.json();
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
    // The old key verifies what it signed; new tokens carry the new kid.
    let r = call(&app, &f.client_id, "assets/count", &access).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let (access2, _) = pair(&confirm(&app, &f.client_id, &refresh).await);
    assert_eq!(segment(&access2, 0)["kid"], key.kid.as_str());
    assert_ne!(segment(&access2, 0)["kid"], old_kid);
    // Retiring the old key kills its tokens at once.
    st.store
        .retire_key(old_kid.as_str().unwrap(), app.now())
        .await
        .unwrap();
    st.mdr.keys.reload(st.store.as_ref()).await.unwrap();
    assert_error(
        &call(&app, &f.client_id, "assets/count", &access).await,
        StatusCode::UNAUTHORIZED,
        "invalid access token",
    );
}

async fn repeated_failed_exchanges_from_one_address_are_throttled(b: crate::harness::Builder) {
    let Some(app) = b.config(|c| c.mdr.exchange_failure_limit = 3).build().await else {
        return;
    };
    let f = fixture(&app).await;
    for _ in 0..3 {
        assert_error(
            &confirm(&app, &f.client_id, "x.y.z").await,
            StatusCode::UNAUTHORIZED,
            "invalid refresh token",
        );
    }
    let r = confirm(&app, &f.client_id, &f.bootstrap).await;
    assert_error(&r, StatusCode::TOO_MANY_REQUESTS, "too many requests");
    assert!(r.header("retry-after").is_some());
    // Another address is not affected, and the token was not spent.
    let r = app
        .post(&format!("/api/v1/{}/session/confirm", f.client_id))
        .peer([127, 0, 0, 9])
        .json(&json!({ "refresh_token": f.bootstrap }))
        .send()
        .await;
    pair(&r);
}

async fn console_api_is_for_superusers_and_validates(app: TestApp) {
    app.user("alice").await;
    let r = app
        .post("/console/api/mdr/customers")
        .json(&json!({"name": "Acme"}))
        .send()
        .await;
    assert_error(&r, StatusCode::UNAUTHORIZED, "authentication required");
    let r = app
        .post("/console/api/mdr/customers")
        .basic("alice", PASSWORD)
        .json(&json!({"name": "Acme"}))
        .send()
        .await;
    assert_error(&r, StatusCode::FORBIDDEN, "permission denied");
    let f = fixture(&app).await;
    let base = format!("/console/api/mdr/customers/{}", f.client_id);
    let r = app
        .post(&format!("{base}/tenants"))
        .basic("admin", PASSWORD)
        .json(&json!({"tenant_name": "Branch"}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["tenant_name"], "Branch");
    assert_eq!(r.json()["tenant_id"].as_str().unwrap().len(), 20);
    let r = app
        .post(&format!("{base}/tenants"))
        .basic("admin", PASSWORD)
        .json(&json!({"tenant_name": "Branch"}))
        .send()
        .await;
    assert_error(&r, StatusCode::CONFLICT, "tenant name is already taken");
    for (body, msg) in [
        (json!({"role": "MDR Administrator"}), "'name' is required"),
        (json!({"name": "x"}), "'role' is required"),
        (
            json!({"name": "x", "role": "root"}),
            "invalid value for 'role'",
        ),
        (
            json!({"name": "x", "role": "Security Officer", "tenants": ["Nowhere"]}),
            "invalid value for 'tenants'",
        ),
        (
            json!({"name": "", "role": "Security Officer"}),
            "invalid value for 'name'",
        ),
    ] {
        let r = app
            .post(&format!("{base}/connections"))
            .basic("admin", PASSWORD)
            .json(&body)
            .send()
            .await;
        assert_error(&r, StatusCode::BAD_REQUEST, msg);
    }
    let r = app
        .post(&format!("{base}/connections"))
        .basic("admin", PASSWORD)
        .json(&json!({"name": "SIEM export", "role": "Security Officer"}))
        .send()
        .await;
    assert_error(&r, StatusCode::CONFLICT, "connection name is already taken");
    let r = app
        .patch(&format!("{base}/connections/{}", f.connection_id))
        .basic("admin", PASSWORD)
        .json(&json!({"role": "Security Officer", "tenants": ["Branch", "Root without tenants"]}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["role"], "Security Officer");
    assert_eq!(
        r.json()["tenants"],
        json!(["Branch", "Root without tenants"])
    );
    let list = app
        .get(&format!("{base}/connections"))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(list.json().as_array().unwrap().len(), 1);
    assert!(!list.text().contains(&f.bootstrap));
    let r = app
        .get(&format!("{base}/connections/AAAAAAAAAAAAAAAAAAAA"))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_error(&r, StatusCode::NOT_FOUND, "connection not found");
}

/// One Bearer verifier chain, two surfaces: an MDR access token never authenticates an AWX
/// view, and an AWX personal token never an MDR resource call — each is refused as an invalid
/// token in the dialect of the surface it was presented to.
async fn bearer_tokens_work_only_on_their_own_surface(app: TestApp) {
    let f = fixture(&app).await;
    let (access, _) = pair(&confirm(&app, &f.client_id, &f.bootstrap).await);
    assert_eq!(
        call(&app, &f.client_id, "assets/count", &access)
            .await
            .status,
        StatusCode::OK
    );
    let r = app.get("/api/v2/me/").bearer(&access).send().await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
    assert_eq!(
        r.header("www-authenticate").as_deref(),
        Some("Bearer realm=api authorization_url=/api/o/authorize/, error=\"invalid_token\"")
    );
    let (_, pat) = app.create_pat("admin", PASSWORD, "write").await;
    assert_eq!(app.get("/api/v2/me/").bearer(&pat).send().await.status, 200);
    let r = call(&app, &f.client_id, "assets/count", &pat).await;
    assert_error(&r, StatusCode::UNAUTHORIZED, "invalid access token");
    assert_eq!(
        r.header("www-authenticate").as_deref(),
        Some("Bearer realm=\"mdr\", error=\"invalid_token\"")
    );
}

on_both_backends!(
    bearer_tokens_work_only_on_their_own_surface,
    console_create_shows_the_token_once_and_the_exchange_activates,
    exchange_failures_answer_as_the_table_says,
    within_the_grace_period_a_retry_gets_the_same_pair,
    revoke_refresh_and_delete_kill_tokens,
    tokens_of_one_customer_do_not_work_for_another,
    forged_tokens_are_refused,
    clock_skew_is_tolerated_within_the_leeway,
    a_future_not_before_is_refused,
    jwks_publishes_public_keys_only,
    key_rotation_keeps_old_tokens_valid,
    console_api_is_for_superusers_and_validates,
);

on_both_backends_configured!(
    reuse_after_the_grace_period_revokes_the_family,
    expired_tokens_are_refused_without_touching_the_family,
    access_expiry_then_exchange_and_retry_succeeds,
    fifty_parallel_exchanges_have_one_winner,
    an_unused_connection_turns_idle_and_a_use_makes_it_active,
    repeated_failed_exchanges_from_one_address_are_throttled,
);
