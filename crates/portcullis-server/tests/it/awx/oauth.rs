//! The `/api/o/` endpoints (`docs/awx-compat.md`, "External users", "OAuth2 endpoints";
//! `docs/security.md`, "OAuth tokens", "Refresh rotation"): the password, refresh-token and
//! authorization-code grants with client authentication, every error row, refresh rotation with
//! reuse detection and the race tolerance, refresh expiry and scope narrowing, RFC 7009 revocation,
//! introspection, and the consent flow with PKCE.

use crate::harness::{
    Builder, CreatedApp, PASSWORD, Resp, Session, TestApp, assert_csrf_page, assert_token_401,
};
use crate::{on_both_backends, on_both_backends_configured};
use axum::http::Method;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use portcullis_core::rng::OsRng;
use portcullis_core::token::{PlainToken, TokenKind};
use portcullis_store::ActivityQuery;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const REDIRECT: &str = "https://client.example/cb";
const VERIFIER: &str = "Zm9vYmFyLXZlcmlmaWVyLXRoYXQtaXMtbG9uZy1lbm91Z2gtZm9yLXBrY2U";
const EXTERNAL_REFUSAL: &str = "(access_denied) OAuth2 Tokens cannot be created by users associated with an external authentication provider (ldap)";

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

#[track_caller]
fn assert_credential(value: &str, prefix: &str) {
    let rest = value
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{value:?} does not start with {prefix}"));
    assert_eq!(rest.len(), 49, "{value:?}");
    assert!(rest.bytes().all(|b| b.is_ascii_alphanumeric()), "{value:?}");
}

/// An RFC 6749 error answer: status, exact JSON body, never cached.
#[track_caller]
fn assert_oauth_error(r: &Resp, status: u16, body: Value) {
    assert_eq!(r.status.as_u16(), status, "{}", r.text());
    assert_eq!(r.json(), body);
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
}

/// 400 with `error` (whatever the description).
#[track_caller]
fn assert_error_code(r: &Resp, error: &str) {
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["error"], error, "{}", r.text());
}

#[track_caller]
fn assert_invalid_client(r: &Resp) {
    assert_oauth_error(r, 401, json!({"error": "invalid_client"}));
    assert_eq!(
        r.header_all("www-authenticate"),
        vec!["Basic realm=\"api\"".to_owned()]
    );
}

#[track_caller]
fn pair(r: &Resp) -> (String, String) {
    assert_eq!(r.status, 200, "{}", r.text());
    let b = r.json();
    (
        b["access_token"].as_str().unwrap().to_owned(),
        b["refresh_token"].as_str().unwrap().to_owned(),
    )
}

async fn refresh(app: &TestApp, client: &CreatedApp, token: &str) -> Resp {
    app.oauth_token(
        client,
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await
}

async fn refresh_scoped(app: &TestApp, client: &CreatedApp, token: &str, scope: &str) -> Resp {
    app.oauth_token(
        client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", token),
            ("scope", scope),
        ],
    )
    .await
}

/// `POST path` with the client credentials in the form instead of Basic.
async fn with_form_client(
    app: &TestApp,
    path: &str,
    client: &CreatedApp,
    pairs: &[(&str, &str)],
) -> Resp {
    let mut all: Vec<(&str, &str)> = pairs.to_vec();
    all.push(("client_id", &client.client_id));
    if let Some(s) = &client.secret {
        all.push(("client_secret", s));
    }
    app.post(path).form(&all).send().await
}

async fn revoke(app: &TestApp, client: &CreatedApp, token: &str) -> Resp {
    app.post("/api/o/revoke_token/")
        .basic(&client.client_id, client.secret.as_deref().unwrap_or(""))
        .form(&[("token", token)])
        .send()
        .await
}

#[track_caller]
fn assert_revoked_ok(r: &Resp) {
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.body.is_empty(), "{}", r.text());
}

async fn web_app(app: &TestApp, client_type: &str, skip: bool) -> CreatedApp {
    app.create_app(json!({
        "name": format!("web-{client_type}-{skip}"),
        "client_type": client_type,
        "authorization_grant_type": "authorization-code",
        "redirect_uris": format!("{REDIRECT} https://other.example/cb"),
        "skip_authorization": skip,
    }))
    .await
}

fn authorize_query(client: &CreatedApp, extra: &[(&str, &str)]) -> String {
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", client.client_id.as_str()),
        ("redirect_uri", REDIRECT),
        ("scope", "read write"),
        ("state", "xyz 1"),
    ];
    pairs.extend_from_slice(extra);
    format!(
        "/api/o/authorize/?{}",
        serde_urlencoded::to_string(&pairs).unwrap()
    )
}

fn html_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&#60;", "<")
        .replace("&gt;", ">")
        .replace("&#62;", ">")
        .replace("&#38;", "&")
        .replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/")
        .replace("&#47;", "/")
        .replace("&amp;", "&")
}

/// The hidden inputs of the consent form, in page order.
fn hidden_fields(page: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = page;
    while let Some(i) = rest.find("<input type=\"hidden\" name=\"") {
        rest = &rest[i + "<input type=\"hidden\" name=\"".len()..];
        let name_end = rest.find('"').unwrap();
        let name = rest[..name_end].to_owned();
        let v = rest.find("value=\"").unwrap() + "value=\"".len();
        rest = &rest[v..];
        let value_end = rest.find('"').unwrap();
        out.push((name, html_unescape(&rest[..value_end])));
        rest = &rest[value_end..];
    }
    out
}

fn location(r: &Resp) -> url::Url {
    let loc = r
        .header("location")
        .unwrap_or_else(|| panic!("no Location: {} {}", r.status, r.text()));
    url::Url::parse(&loc).unwrap_or_else(|e| panic!("{loc}: {e}"))
}

fn query_param(u: &url::Url, name: &str) -> Option<String> {
    u.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Shows the consent page for `query` to `s` and submits it (`allow` or not). Returns the
/// decision's response.
async fn consent(s: &Session<'_>, query: &str, allow: bool) -> Resp {
    let page = s.get(query).await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert_eq!(
        page.header("content-type").as_deref(),
        Some("text/html; charset=utf-8")
    );
    let csrf = page.cookie("csrftoken").expect("consent page csrftoken");
    let mut fields = hidden_fields(&page.text());
    assert!(
        fields
            .iter()
            .any(|(k, v)| k == "csrfmiddlewaretoken" && *v == csrf),
        "{fields:?}"
    );
    fields.push((
        "allow".into(),
        if allow {
            "Authorize".into()
        } else {
            String::new()
        },
    ));
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    s.app
        .post("/api/o/authorize/")
        .header(
            "cookie",
            &format!("csrftoken={csrf}; awx_sessionid={}", s.id()),
        )
        .header("referer", "http://127.0.0.1:8052/api/o/authorize/")
        .form(&pairs)
        .send()
        .await
}

/// Runs the consent flow and returns the code.
async fn code_for(s: &Session<'_>, query: &str) -> String {
    let r = consent(s, query, true).await;
    assert_eq!(r.status, 302, "{}", r.text());
    let loc = location(&r);
    assert_eq!(
        format!(
            "{}://{}{}",
            loc.scheme(),
            loc.host_str().unwrap(),
            loc.path()
        ),
        REDIRECT
    );
    query_param(&loc, "code").expect("code")
}

async fn exchange(app: &TestApp, client: &CreatedApp, code: &str, verifier: Option<&str>) -> Resp {
    let mut pairs = vec![
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
    ];
    if let Some(v) = verifier {
        pairs.push(("code_verifier", v));
    }
    app.oauth_token(client, &pairs).await
}

// --- password grant ----------------------------------------------------------------------

async fn the_password_grant_issues_an_application_token_pair(app: TestApp) {
    app.admin().await;
    let alice = app.user("alice").await;
    let ci = app.password_app("ci").await;
    let r = app
        .oauth_token(
            &ci,
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", PASSWORD),
                ("scope", "read"),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(r.header("pragma").as_deref(), Some("no-cache"));
    // Not an API view: no API headers.
    assert!(r.header("x-api-node").is_none());
    assert!(r.header("x-api-product-version").is_none());
    let body = r.json();
    assert_eq!(
        keys(&body),
        [
            "access_token",
            "expires_in",
            "token_type",
            "scope",
            "refresh_token"
        ]
    );
    let (access, refresh_token) = pair(&r);
    assert_credential(&access, "pcl_oat_");
    assert_credential(&refresh_token, "pcl_ort_");
    assert_eq!(
        body,
        json!({"access_token": access, "expires_in": 31_536_000, "token_type": "Bearer",
               "scope": "read", "refresh_token": refresh_token})
    );
    let me = app.get("/api/v2/me/").bearer(&access).send().await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["results"][0]["username"], "alice");
    // Neither the refresh token nor the client secret is a Bearer credential.
    for not_bearer in [refresh_token.as_str(), ci.secret.as_deref().unwrap()] {
        assert_token_401(&app.get("/api/v2/me/").bearer(not_bearer).send().await);
    }
    // An application token in the API, with an activity entry.
    let list = app
        .get("/api/v2/tokens/")
        .basic("alice", PASSWORD)
        .send()
        .await
        .json();
    assert_eq!(list["count"], 1);
    let t = &list["results"][0];
    assert_eq!(t["application"], ci.id);
    assert_eq!(t["user"], alice.id.0);
    assert_eq!(t["scope"], "read");
    assert_eq!(t["token"], "************");
    assert_eq!(t["refresh_token"], "************");
    assert_eq!(t["expires"], "2027-03-01T12:00:00.000000Z");
    let entries = app
        .store()
        .list_activity(&ActivityQuery {
            object1: Some("o_auth2_access_token".into()),
            limit: 10,
            ..ActivityQuery::default()
        })
        .await
        .unwrap()
        .items;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].entry.operation, "create");
    assert_eq!(entries[0].entry.object1_id, t["id"].as_i64());
    assert_eq!(entries[0].entry.changes["token"], "************");
    assert!(!entries[0].entry.changes.to_string().contains(&access));
    assert!(
        !entries[0]
            .entry
            .changes
            .to_string()
            .contains(&refresh_token)
    );
    // The default scope is "read write".
    let r = app
        .oauth_token(
            &ci,
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["scope"], "read write");
}

async fn client_credentials_may_come_in_the_form(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    let ci = app.password_app("ci").await;
    let grant = [
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", PASSWORD),
    ];
    let r = with_form_client(&app, "/api/o/token/", &ci, &grant).await;
    let (access, _) = pair(&r);
    assert_eq!(app.me_with(&access).await, 200);
    // A confidential client without its secret fails.
    let r = app
        .post("/api/o/token/")
        .form(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", PASSWORD),
            ("client_id", &ci.client_id),
        ])
        .send()
        .await;
    assert_invalid_client(&r);
    // A public client sends its id only.
    let cli = app
        .create_app(
            json!({"name": "cli", "client_type": "public", "authorization_grant_type": "password"}),
        )
        .await;
    assert!(cli.secret.is_none());
    let r = with_form_client(&app, "/api/o/token/", &cli, &grant).await;
    let (access, _) = pair(&r);
    assert_eq!(app.me_with(&access).await, 200);
}

async fn token_endpoint_errors(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    let ci = app.password_app("ci").await;
    let web = web_app(&app, "confidential", false).await;
    let bad_credentials =
        json!({"error": "invalid_grant", "error_description": "Invalid credentials given."});
    let grant = |pw: &'static str| {
        vec![
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", pw),
        ]
    };

    let r = app.oauth_token(&ci, &grant("wrong")).await;
    assert_oauth_error(&r, 400, bad_credentials.clone());
    let r = app
        .oauth_token(
            &ci,
            &[
                ("grant_type", "password"),
                ("username", "ghost"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_oauth_error(&r, 400, bad_credentials.clone());

    let wrong_secret = CreatedApp {
        secret: Some(
            PlainToken::generate(TokenKind::ClientSecret, &OsRng)
                .expose()
                .to_owned(),
        ),
        ..ci.clone()
    };
    assert_invalid_client(&app.oauth_token(&wrong_secret, &grant(PASSWORD)).await);
    let garbage_secret = CreatedApp {
        secret: Some("not-a-secret".into()),
        ..ci.clone()
    };
    assert_invalid_client(&app.oauth_token(&garbage_secret, &grant(PASSWORD)).await);
    let unknown_client = CreatedApp {
        client_id: "x".repeat(40),
        ..ci.clone()
    };
    assert_invalid_client(&app.oauth_token(&unknown_client, &grant(PASSWORD)).await);
    let r = app
        .post("/api/o/token/")
        .form(&grant(PASSWORD))
        .send()
        .await;
    assert_invalid_client(&r);

    // JSON body.
    let r = app
        .post("/api/o/token/")
        .basic(&ci.client_id, ci.secret.as_deref().unwrap())
        .json(&json!({"grant_type": "password", "username": "alice", "password": PASSWORD}))
        .send()
        .await;
    assert_oauth_error(&r, 400, json!({"error": "invalid_request"}));
    // Client credentials in the query string.
    let r = app
        .post(&format!(
            "/api/o/token/?client_id={}&client_secret={}",
            ci.client_id,
            ci.secret.as_deref().unwrap()
        ))
        .form(&grant(PASSWORD))
        .send()
        .await;
    assert_oauth_error(&r, 400, json!({"error": "invalid_request"}));
    // Grant types.
    let r = app.oauth_token(&ci, &[("grant_type", "foo")]).await;
    assert_oauth_error(&r, 400, json!({"error": "unsupported_grant_type"}));
    let r = app.oauth_token(&ci, &[("username", "alice")]).await;
    assert_oauth_error(&r, 400, json!({"error": "unsupported_grant_type"}));
    for g in ["client_credentials", "implicit"] {
        let r = app.oauth_token(&ci, &[("grant_type", g)]).await;
        assert_oauth_error(&r, 400, json!({"error": "unauthorized_client"}));
    }
    // The application's own grant type only.
    let r = app.oauth_token(&web, &grant(PASSWORD)).await;
    assert_oauth_error(&r, 400, json!({"error": "unauthorized_client"}));
    let r = app
        .oauth_token(
            &ci,
            &[
                ("grant_type", "authorization_code"),
                ("code", "abc"),
                ("redirect_uri", REDIRECT),
            ],
        )
        .await;
    assert_oauth_error(&r, 400, json!({"error": "unauthorized_client"}));
    // Scopes.
    for scope in ["admin", "read read", "READ"] {
        let mut g = grant(PASSWORD);
        g.push(("scope", scope));
        let r = app.oauth_token(&ci, &g).await;
        assert_oauth_error(&r, 400, json!({"error": "invalid_scope"}));
    }
    // Missing fields.
    let r = app
        .oauth_token(&ci, &[("grant_type", "password"), ("username", "alice")])
        .await;
    assert_error_code(&r, "invalid_request");
    // A repeated parameter.
    let mut g = grant(PASSWORD);
    g.push(("username", "admin"));
    let r = app.oauth_token(&ci, &g).await;
    assert_error_code(&r, "invalid_request");
    // GET.
    let r = app.get("/api/o/token/").send().await;
    assert_eq!(r.status, 405, "{}", r.text());
    assert_eq!(r.header("allow").as_deref(), Some("POST, OPTIONS"));
    // None of it minted anything; the right call still works.
    let list = app
        .get("/api/v2/tokens/")
        .basic("admin", PASSWORD)
        .send()
        .await
        .json();
    assert_eq!(list["count"], 0);
    pair(&app.oauth_token(&ci, &grant(PASSWORD)).await);
}

async fn the_password_grant_can_be_switched_off(b: Builder) {
    let Some(app) = b.config(|c| c.oauth2.password_grant = false).build().await else {
        return;
    };
    app.admin().await;
    app.user("alice").await;
    let ci = app.password_app("ci").await;
    let r = app
        .oauth_token(
            &ci,
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_oauth_error(&r, 400, json!({"error": "unauthorized_client"}));
}

// --- refresh -----------------------------------------------------------------------------

async fn a_refresh_rotates_the_pair(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    let ci = app.password_app("ci").await;
    let (a1, r1) = app.password_grant(&ci, "alice", None).await;
    app.clock.advance(time::Duration::seconds(10));
    let r = refresh(&app, &ci, &r1).await;
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(r.header("pragma").as_deref(), Some("no-cache"));
    let body = r.json();
    let (a2, r2) = pair(&r);
    assert_credential(&a2, "pcl_oat_");
    assert_credential(&r2, "pcl_ort_");
    assert_ne!(a1, a2);
    assert_ne!(r1, r2);
    assert_eq!(
        body,
        json!({"access_token": a2, "expires_in": 31_536_000, "token_type": "Bearer",
               "scope": "read write", "refresh_token": r2})
    );
    assert_token_401(&app.get("/api/v2/me/").bearer(&a1).send().await);
    assert_eq!(app.me_with(&a2).await, 200);
    let list = app
        .get("/api/v2/tokens/")
        .basic("alice", PASSWORD)
        .send()
        .await
        .json();
    assert_eq!(list["count"], 1);
    assert_eq!(list["results"][0]["application"], ci.id);
    assert_eq!(list["results"][0]["created"], "2026-03-01T12:00:10.000000Z");
    // The chain goes on.
    let (a3, _) = pair(&refresh(&app, &ci, &r2).await);
    assert_token_401(&app.get("/api/v2/me/").bearer(&a2).send().await);
    assert_eq!(app.me_with(&a3).await, 200);
}

async fn reusing_a_spent_refresh_token_revokes_the_family(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    let ci = app.password_app("ci").await;
    let (_, r1) = app.password_grant(&ci, "alice", None).await;
    let (other_access, other_refresh) = app.password_grant(&ci, "alice", None).await;
    let (a2, r2) = pair(&refresh(&app, &ci, &r1).await);
    app.clock.advance(time::Duration::seconds(2));
    let r = refresh(&app, &ci, &r1).await;
    assert_error_code(&r, "invalid_grant");
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    // The whole family is dead: the successor pair too.
    assert_token_401(&app.get("/api/v2/me/").bearer(&a2).send().await);
    assert_error_code(&refresh(&app, &ci, &r2).await, "invalid_grant");
    // Another family of the same user and client is untouched.
    assert_eq!(app.me_with(&other_access).await, 200);
    pair(&refresh(&app, &ci, &other_refresh).await);
}

async fn a_lost_race_is_invalid_request_and_revokes_nothing(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    let ci = app.password_app("ci").await;
    let (_, r1) = app.password_grant(&ci, "alice", None).await;
    let (a2, r2) = pair(&refresh(&app, &ci, &r1).await);
    // Presented again at the same instant: a concurrent rotation won.
    let r = refresh(&app, &ci, &r1).await;
    assert_error_code(&r, "invalid_request");
    assert_eq!(app.me_with(&a2).await, 200);
    // Outside the tolerance it is reuse: the family dies.
    app.clock.advance(time::Duration::seconds(2));
    assert_error_code(&refresh(&app, &ci, &r1).await, "invalid_grant");
    assert_token_401(&app.get("/api/v2/me/").bearer(&a2).send().await);
    assert_error_code(&refresh(&app, &ci, &r2).await, "invalid_grant");
}

async fn a_lost_race_within_the_tolerance_leaves_the_successor_usable(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    let ci = app.password_app("ci").await;
    let (_, r1) = app.password_grant(&ci, "alice", None).await;
    let (a2, r2) = pair(&refresh(&app, &ci, &r1).await);
    // At exactly the tolerance (1 s) still a lost race.
    app.clock.advance(time::Duration::seconds(1));
    assert_error_code(&refresh(&app, &ci, &r1).await, "invalid_request");
    assert_eq!(app.me_with(&a2).await, 200);
    // The successor rotates normally.
    let (a3, _) = pair(&refresh(&app, &ci, &r2).await);
    assert_eq!(app.me_with(&a3).await, 200);
}

async fn an_expired_refresh_token_is_refused_with_its_description(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    let ci = app.password_app("ci").await;
    let (a1, r1) = app.password_grant(&ci, "alice", None).await;
    app.clock.advance(time::Duration::seconds(2_628_000 + 1));
    let r = refresh(&app, &ci, &r1).await;
    assert_oauth_error(
        &r,
        400,
        json!({"error": "invalid_grant", "error_description": "The refresh token has expired."}),
    );
    // Nothing was revoked: the (longer-lived) access token still works.
    assert_eq!(app.me_with(&a1).await, 200);
    // A shorter setting applies to refresh tokens issued afterwards.
    app.set(json!({"OAUTH2_PROVIDER": {"REFRESH_TOKEN_EXPIRE_SECONDS": 60}}))
        .await;
    let (_, short) = app.password_grant(&ci, "alice", None).await;
    app.clock.advance(time::Duration::seconds(59));
    let (_, successor) = pair(&refresh(&app, &ci, &short).await);
    app.clock.advance(time::Duration::seconds(61));
    let r = refresh(&app, &ci, &successor).await;
    assert_oauth_error(
        &r,
        400,
        json!({"error": "invalid_grant", "error_description": "The refresh token has expired."}),
    );
}

async fn a_refresh_may_narrow_the_scope_but_not_widen_it(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    let ci = app.password_app("ci").await;
    let (_, r1) = app.password_grant(&ci, "alice", None).await;
    let r = refresh_scoped(&app, &ci, &r1, "read").await;
    assert_eq!(r.json()["scope"], "read", "{}", r.text());
    let (a2, r2) = pair(&r);
    assert_eq!(app.me_with(&a2).await, 200);
    let w = app.post("/api/v2/tokens/").bearer(&a2).send().await;
    assert_eq!(w.status, 403, "{}", w.text());
    for wider in ["write", "read write", "admin"] {
        let r = refresh_scoped(&app, &ci, &r2, wider).await;
        assert_oauth_error(&r, 400, json!({"error": "invalid_scope"}));
    }
    // A failed refresh consumes nothing.
    assert_eq!(app.me_with(&a2).await, 200);
    let r = refresh(&app, &ci, &r2).await;
    assert_eq!(r.json()["scope"], "read", "{}", r.text());
    pair(&r);
}

async fn a_refresh_token_of_another_client_is_invalid_grant(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    let ci = app.password_app("ci").await;
    let other = app.password_app("other").await;
    let (a1, r1) = app.password_grant(&ci, "alice", None).await;
    assert_error_code(&refresh(&app, &other, &r1).await, "invalid_grant");
    // Nothing consumed, nothing revoked.
    assert_eq!(app.me_with(&a1).await, 200);
    pair(&refresh(&app, &ci, &r1).await);
    // A spent token presented by another client is that client's mistake, not reuse: the
    // family of the right client is untouched.
    let (_, r2) = app.password_grant(&ci, "alice", None).await;
    let (a3, r3) = pair(&refresh(&app, &ci, &r2).await);
    app.clock.advance(time::Duration::seconds(2));
    assert_error_code(&refresh(&app, &other, &r2).await, "invalid_grant");
    assert_eq!(app.me_with(&a3).await, 200);
    pair(&refresh(&app, &ci, &r3).await);
    // Malformed and unknown refresh tokens.
    for bad in [
        "garbage".to_owned(),
        PlainToken::generate(TokenKind::AppRefresh, &OsRng)
            .expose()
            .to_owned(),
        a1.clone(),
    ] {
        assert_error_code(&refresh(&app, &ci, &bad).await, "invalid_grant");
    }
}

async fn refresh_families_end_at_their_absolute_cap(app: TestApp) {
    // `docs/security.md`, "Lifetime": each refresh token lives REFRESH_TOKEN_EXPIRE_SECONDS
    // (default 2 628 000 s, about 30 days) but no later than the family cap
    // (`oauth2.refresh_family_max_lifetime`, default 90 days).
    app.admin().await;
    app.user("alice").await;
    let ci = app.password_app("ci").await;
    let (_, mut current) = app.password_grant(&ci, "alice", None).await;
    let day = time::Duration::days(1);
    for _ in 0..3 {
        app.clock.advance(day * 29);
        current = pair(&refresh(&app, &ci, &current).await).1;
    }
    // Day 87: the newest refresh token is 3 days old, but the family is 90 days old.
    app.clock.advance(day * 3 + time::Duration::seconds(1));
    assert_error_code(&refresh(&app, &ci, &current).await, "invalid_grant");
}

async fn a_disabled_users_grants_and_tokens_fail(app: TestApp) {
    app.admin().await;
    let alice = app.user("alice").await;
    let ci = app.password_app("ci").await;
    let web = web_app(&app, "confidential", true).await;
    let s = app.login("alice", PASSWORD).await;
    let r = s.get(&authorize_query(&web, &[])).await;
    let code = query_param(&location(&r), "code").unwrap();
    let (a1, r1) = app.password_grant(&ci, "alice", None).await;
    app.deactivate(&alice).await;
    assert_token_401(&app.get("/api/v2/me/").bearer(&a1).send().await);
    assert_error_code(&refresh(&app, &ci, &r1).await, "invalid_grant");
    assert_error_code(&exchange(&app, &web, &code, None).await, "invalid_grant");
    let r = app
        .oauth_token(
            &ci,
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_oauth_error(
        &r,
        400,
        json!({"error": "invalid_grant", "error_description": "Invalid credentials given."}),
    );
}

async fn a_public_client_id_in_the_query_string_is_refused(app: TestApp) {
    // `docs/awx-compat.md`, "Client authentication": client credentials never in the query string
    // (400).
    app.admin().await;
    app.user("alice").await;
    let cli = app
        .create_app(
            json!({"name": "cli", "client_type": "public", "authorization_grant_type": "password"}),
        )
        .await;
    let r = app
        .post(&format!("/api/o/token/?client_id={}", cli.client_id))
        .form(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", PASSWORD),
        ])
        .send()
        .await;
    assert_oauth_error(&r, 400, json!({"error": "invalid_request"}));
}

async fn a_locked_account_gets_invalid_grant_with_retry_after(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    let ci = app.password_app("ci").await;
    let bad_credentials =
        json!({"error": "invalid_grant", "error_description": "Invalid credentials given."});
    for _ in 0..6 {
        let r = app
            .oauth_token(
                &ci,
                &[
                    ("grant_type", "password"),
                    ("username", "alice"),
                    ("password", "wrong"),
                ],
            )
            .await;
        assert_oauth_error(&r, 400, bad_credentials.clone());
        assert!(r.header("retry-after").is_none());
    }
    let grant = [
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", PASSWORD),
    ];
    let r = app.oauth_token(&ci, &grant).await;
    assert_oauth_error(&r, 400, bad_credentials);
    assert_eq!(r.header("retry-after").as_deref(), Some("60"));
    app.clock.advance(time::Duration::seconds(61));
    pair(&app.oauth_token(&ci, &grant).await);
}

async fn the_token_endpoint_reads_the_lifetimes_at_creation(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    let ci = app.password_app("ci").await;
    app.set(json!({"OAUTH2_PROVIDER": {"ACCESS_TOKEN_EXPIRE_SECONDS": 3600}}))
        .await;
    let r = app
        .oauth_token(
            &ci,
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.json()["expires_in"], 3600, "{}", r.text());
    let (a1, r1) = pair(&r);
    app.clock.advance(time::Duration::seconds(3600));
    assert_token_401(&app.get("/api/v2/me/").bearer(&a1).send().await);
    // The refresh token outlives the access token and mints a fresh one.
    let r = refresh(&app, &ci, &r1).await;
    assert_eq!(r.json()["expires_in"], 3600, "{}", r.text());
    let (a2, _) = pair(&r);
    assert_eq!(app.me_with(&a2).await, 200);
    let list = app
        .get("/api/v2/tokens/")
        .basic("alice", PASSWORD)
        .send()
        .await
        .json();
    assert_eq!(list["results"][0]["expires"], "2026-03-01T14:00:00.000000Z");
}

async fn a_spent_refresh_token_past_its_expiry_is_expired_not_reuse(app: TestApp) {
    // `docs/security.md`, "Refresh rotation" retention: an expired consumed token gets "expired"
    // and revokes nothing.
    app.admin().await;
    app.user("alice").await;
    let ci = app.password_app("ci").await;
    let (_, r1) = app.password_grant(&ci, "alice", None).await;
    app.clock.advance(time::Duration::days(10));
    let (a2, r2) = pair(&refresh(&app, &ci, &r1).await);
    // r1 (created at T0) is now past its 2 628 000 s; r2 (day 10) is not.
    app.clock
        .advance(time::Duration::seconds(2_628_000 + 1) - time::Duration::days(10));
    let r = refresh(&app, &ci, &r1).await;
    assert_oauth_error(
        &r,
        400,
        json!({"error": "invalid_grant", "error_description": "The refresh token has expired."}),
    );
    assert_eq!(app.me_with(&a2).await, 200);
    pair(&refresh(&app, &ci, &r2).await);
}

async fn token_endpoint_changes_are_in_the_activity_stream(app: TestApp) {
    // `docs/awx-compat.md`, "Activity stream": tokens created or deleted through /api/o/token/,
    // refresh and revoke are recorded, values masked.
    app.admin().await;
    app.user("alice").await;
    let ci = app.password_app("ci").await;
    let (a1, r1) = app.password_grant(&ci, "alice", None).await;
    let first_id = app
        .get("/api/v2/tokens/")
        .basic("alice", PASSWORD)
        .send()
        .await
        .json()["results"][0]["id"]
        .as_i64()
        .unwrap();
    let (a2, r2) = pair(&refresh(&app, &ci, &r1).await);
    let second_id = app
        .get("/api/v2/tokens/")
        .basic("alice", PASSWORD)
        .send()
        .await
        .json()["results"][0]["id"]
        .as_i64()
        .unwrap();
    assert_ne!(first_id, second_id);
    assert_revoked_ok(&revoke(&app, &ci, &a2).await);
    let mut entries = app
        .store()
        .list_activity(&ActivityQuery {
            object1: Some("o_auth2_access_token".into()),
            limit: 100,
            ..ActivityQuery::default()
        })
        .await
        .unwrap()
        .items;
    entries.reverse();
    let seen: Vec<(String, Option<i64>)> = entries
        .iter()
        .map(|e| (e.entry.operation.clone(), e.entry.object1_id))
        .collect();
    for e in &entries {
        let text = e.entry.changes.to_string();
        for secret in [&a1, &r1, &a2, &r2] {
            assert!(!text.contains(secret.as_str()), "{text}");
        }
    }
    assert!(
        seen.contains(&("create".into(), Some(first_id))),
        "password grant not recorded: {seen:?}"
    );
    assert!(
        seen.contains(&("create".into(), Some(second_id))),
        "refresh not recorded: {seen:?}"
    );
    assert!(
        seen.contains(&("delete".into(), Some(second_id))),
        "revoke_token not recorded: {seen:?}"
    );
}

async fn the_consent_page_escapes_the_application_name(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    let evil = app
        .create_app(json!({
            "name": "<script>alert(1)</script>",
            "client_type": "confidential",
            "authorization_grant_type": "authorization-code",
            "redirect_uris": REDIRECT,
        }))
        .await;
    let s = app.login("alice", PASSWORD).await;
    let q = format!(
        "/api/o/authorize/?{}",
        serde_urlencoded::to_string([
            ("response_type", "code"),
            ("client_id", evil.client_id.as_str()),
            ("redirect_uri", REDIRECT),
            ("state", "\"><script>x</script>"),
        ])
        .unwrap()
    );
    let page = s.get(&q).await;
    assert_eq!(page.status, 200, "{}", page.text());
    let body = page.text();
    assert!(!body.contains("<script>"), "{body}");
    assert!(
        body.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
            || body.contains("&#60;script&#62;alert(1)&#60;/script&#62;"),
        "{body}"
    );
    // The state round-trips through the hidden field intact.
    let fields = hidden_fields(&body);
    assert!(
        fields
            .iter()
            .any(|(k, v)| k == "state" && v == "\"><script>x</script>"),
        "{fields:?}"
    );
}

async fn concurrent_rotations_of_one_refresh_token_yield_one_successor(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    let ci = app.password_app("ci").await;
    let (_, r1) = app.password_grant(&ci, "alice", None).await;
    let (a, b, c, d) = tokio::join!(
        refresh(&app, &ci, &r1),
        refresh(&app, &ci, &r1),
        refresh(&app, &ci, &r1),
        refresh(&app, &ci, &r1),
    );
    let all = [a, b, c, d];
    let winners: Vec<&Resp> = all.iter().filter(|r| r.status == 200).collect();
    assert_eq!(
        winners.len(),
        1,
        "{:?}",
        all.iter().map(Resp::text).collect::<Vec<_>>()
    );
    for r in all.iter().filter(|r| r.status != 200) {
        assert_error_code(r, "invalid_request");
    }
    // The family is intact: the one successor works and rotates.
    let (access, refresh_token) = pair(winners[0]);
    assert_eq!(app.me_with(&access).await, 200);
    pair(&refresh(&app, &ci, &refresh_token).await);
    let list = app
        .get("/api/v2/tokens/")
        .basic("alice", PASSWORD)
        .send()
        .await
        .json();
    assert_eq!(list["count"], 1);
}

async fn concurrent_exchanges_of_one_code_yield_one_pair(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    let web = web_app(&app, "confidential", true).await;
    let s = app.login("alice", PASSWORD).await;
    let r = s.get(&authorize_query(&web, &[])).await;
    let code = query_param(&location(&r), "code").unwrap();
    let (a, b, c, d) = tokio::join!(
        exchange(&app, &web, &code, None),
        exchange(&app, &web, &code, None),
        exchange(&app, &web, &code, None),
        exchange(&app, &web, &code, None),
    );
    let all = [a, b, c, d];
    assert_eq!(all.iter().filter(|r| r.status == 200).count(), 1);
    for r in all.iter().filter(|r| r.status != 200) {
        assert_error_code(r, "invalid_grant");
    }
}

// --- external users on the token endpoint ------------------------------------------------

async fn external_users_are_refused_at_the_token_endpoint(app: TestApp) {
    app.admin().await;
    let lara = app.ldap_user("lara").await;
    let s = app.session_for(&lara).await;
    let web = web_app(&app, "confidential", false).await;
    let q = authorize_query(&web, &[]);

    // Code grant while not allowed: 403 text/html with AWX's text.
    let code = code_for(&s, &q).await;
    let r = exchange(&app, &web, &code, None).await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(r.text(), EXTERNAL_REFUSAL);

    app.set(json!({"ALLOW_OAUTH2_FOR_EXTERNAL_USERS": true}))
        .await;
    let code = code_for(&s, &q).await;
    let (access, refresh_token) = pair(&exchange(&app, &web, &code, None).await);
    let me = app.get("/api/v2/me/").bearer(&access).send().await;
    assert_eq!(me.json()["results"][0]["username"], "lara");

    app.set(json!({"ALLOW_OAUTH2_FOR_EXTERNAL_USERS": false}))
        .await;
    // A refresh mints a token: refused, and nothing consumed.
    let r = refresh(&app, &web, &refresh_token).await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(r.text(), EXTERNAL_REFUSAL);
    // The token made while allowed keeps working.
    assert_eq!(app.me_with(&access).await, 200);
}

// --- revocation --------------------------------------------------------------------------

async fn revoking_an_access_token_kills_it_and_leaves_its_refresh_token(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    let ci = app.password_app("ci").await;
    let (a1, r1) = app.password_grant(&ci, "alice", None).await;
    assert_revoked_ok(&revoke(&app, &ci, &a1).await);
    assert_token_401(&app.get("/api/v2/me/").bearer(&a1).send().await);
    // Revoking it again, or an unknown or malformed token: 200 too.
    assert_revoked_ok(&revoke(&app, &ci, &a1).await);
    let unknown = PlainToken::generate(TokenKind::AppAccess, &OsRng)
        .expose()
        .to_owned();
    assert_revoked_ok(&revoke(&app, &ci, &unknown).await);
    assert_revoked_ok(&revoke(&app, &ci, "garbage").await);
    // The refresh token still rotates.
    let (a2, _) = pair(&refresh(&app, &ci, &r1).await);
    assert_eq!(app.me_with(&a2).await, 200);
}

async fn revoking_a_refresh_token_kills_its_access_token(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    let ci = app.password_app("ci").await;
    let (a1, r1) = app.password_grant(&ci, "alice", None).await;
    let r = app
        .post("/api/o/revoke_token/")
        .basic(&ci.client_id, ci.secret.as_deref().unwrap())
        .form(&[("token", r1.as_str()), ("token_type_hint", "refresh_token")])
        .send()
        .await;
    assert_revoked_ok(&r);
    assert_token_401(&app.get("/api/v2/me/").bearer(&a1).send().await);
    assert_error_code(&refresh(&app, &ci, &r1).await, "invalid_grant");
    // Revoked after a rotation: the family's current access token dies.
    let (_, r2) = app.password_grant(&ci, "alice", None).await;
    let (a3, r3) = pair(&refresh(&app, &ci, &r2).await);
    assert_revoked_ok(
        &with_form_client(&app, "/api/o/revoke_token/", &ci, &[("token", &r3)]).await,
    );
    assert_token_401(&app.get("/api/v2/me/").bearer(&a3).send().await);
}

async fn another_clients_token_cannot_be_revoked(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    let ci = app.password_app("ci").await;
    let other = app.password_app("other").await;
    let (a1, r1) = app.password_grant(&ci, "alice", None).await;
    for t in [&a1, &r1] {
        let r = revoke(&app, &other, t).await;
        assert_oauth_error(&r, 400, json!({"error": "unauthorized_client"}));
    }
    assert_eq!(app.me_with(&a1).await, 200);
    // PATs are not revoked here either.
    let (_, pat) = app.create_pat("alice", PASSWORD, "write").await;
    let r = revoke(&app, &ci, &pat).await;
    assert_ne!(r.status, 200, "{}", r.text());
    assert_eq!(app.me_with(&pat).await, 200);
    // Client authentication is required; a token alone is not enough.
    let r = app
        .post("/api/o/revoke_token/")
        .form(&[("token", a1.as_str())])
        .send()
        .await;
    assert_invalid_client(&r);
    let wrong = CreatedApp {
        secret: Some("pcl_cs_wrong".into()),
        ..ci.clone()
    };
    assert_invalid_client(&revoke(&app, &wrong, &a1).await);
    let r = app
        .post("/api/o/revoke_token/")
        .basic(&ci.client_id, ci.secret.as_deref().unwrap())
        .json(&json!({"token": a1}))
        .send()
        .await;
    assert_oauth_error(&r, 400, json!({"error": "invalid_request"}));
    assert_eq!(app.me_with(&a1).await, 200);
    // The refresh token still rotates.
    pair(&refresh(&app, &ci, &r1).await);
}

// --- introspection -----------------------------------------------------------------------

async fn introspect(app: &TestApp, client: &CreatedApp, token: &str) -> Resp {
    app.post("/api/o/introspect/")
        .basic(&client.client_id, client.secret.as_deref().unwrap_or(""))
        .form(&[("token", token)])
        .send()
        .await
}

async fn introspection_reports_active_tokens_only(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    let ci = app.password_app("ci").await;
    let (a1, r1) = app.password_grant(&ci, "alice", Some("read")).await;
    let r = introspect(&app, &ci, &a1).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let t0 = time::macros::datetime!(2026-03-01 12:00 UTC).unix_timestamp();
    assert_eq!(
        r.json(),
        json!({"active": true, "scope": "read", "client_id": ci.client_id, "username": "alice",
               "token_type": "Bearer", "exp": t0 + 31_536_000, "iat": t0})
    );
    let (_, pat) = app.create_pat("alice", PASSWORD, "write").await;
    let r = introspect(&app, &ci, &pat).await;
    assert_eq!(r.json()["active"], true);
    assert_eq!(r.json()["client_id"], json!(null));

    let inactive = json!({"active": false});
    let unknown = PlainToken::generate(TokenKind::AppAccess, &OsRng)
        .expose()
        .to_owned();
    for t in [unknown, "garbage".to_owned(), r1.clone(), String::new()] {
        let r = introspect(&app, &ci, &t).await;
        assert_eq!(r.status, 200, "{t}: {}", r.text());
        assert_eq!(r.json(), inactive, "{t}");
    }
    assert_revoked_ok(&revoke(&app, &ci, &a1).await);
    assert_eq!(introspect(&app, &ci, &a1).await.json(), inactive);
    let (a2, _) = app.password_grant(&ci, "alice", None).await;
    app.clock.advance(time::Duration::seconds(31_536_000));
    assert_eq!(introspect(&app, &ci, &a2).await.json(), inactive);
    // Client authentication is required.
    let r = app
        .post("/api/o/introspect/")
        .form(&[("token", a1.as_str())])
        .send()
        .await;
    assert_invalid_client(&r);
    // A public client's id is not a credential: it may not introspect.
    let public = app
        .create_app(
            json!({"name": "spa", "client_type": "public", "authorization_grant_type": "password"}),
        )
        .await;
    let r = app
        .post("/api/o/introspect/")
        .form(&[
            ("client_id", public.client_id.as_str()),
            ("token", a2.as_str()),
        ])
        .send()
        .await;
    assert_invalid_client(&r);
}

// --- authorization code ------------------------------------------------------------------

async fn authorize_without_a_session_redirects_to_the_login_form(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    let web = web_app(&app, "confidential", false).await;
    let q = authorize_query(
        &web,
        &[
            ("code_challenge", &challenge(VERIFIER)),
            ("code_challenge_method", "S256"),
        ],
    );
    let r = app.get(&q).send().await;
    assert_eq!(r.status, 302, "{}", r.text());
    let loc = r.header("location").unwrap();
    let next = loc
        .strip_prefix("/api/login/?next=")
        .unwrap_or_else(|| panic!("{loc}"));
    assert!(!next.contains('&'), "{loc}");
    let decoded = percent_encoding::percent_decode_str(next)
        .decode_utf8()
        .unwrap()
        .into_owned();
    assert_eq!(decoded, q);
    // Logging in with that `next` lands back on the authorization request.
    let page = app.get(&loc).send().await;
    assert_eq!(page.status, 200);
    let csrf = page.cookie("csrftoken").unwrap();
    let login = app
        .post("/api/login/")
        .header("cookie", &format!("csrftoken={csrf}"))
        .header("x-csrftoken", &csrf)
        .header("referer", "http://127.0.0.1:8052/api/login/")
        .form(&[
            ("username", "alice"),
            ("password", PASSWORD),
            ("next", decoded.as_str()),
        ])
        .send()
        .await;
    assert_eq!(login.status, 302, "{}", login.text());
    assert_eq!(login.header("location").as_deref(), Some(q.as_str()));
    // A POST without a session goes to the login form too.
    let r = app
        .post("/api/o/authorize/")
        .form(&[("allow", "Authorize")])
        .send()
        .await;
    assert_eq!(r.status, 302);
    assert!(
        r.header("location")
            .unwrap()
            .starts_with("/api/login/?next=")
    );
}

async fn the_code_flow_with_pkce_s256(app: TestApp) {
    app.admin().await;
    let alice = app.user("alice").await;
    let web = web_app(&app, "confidential", false).await;
    let s = app.login("alice", PASSWORD).await;
    let q = authorize_query(
        &web,
        &[
            ("code_challenge", &challenge(VERIFIER)),
            ("code_challenge_method", "S256"),
        ],
    );
    let page = s.get(&q).await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(page.text().contains("web-confidential-false"));
    assert!(page.header("cache-control").unwrap().contains("no-store"));
    assert!(page.set_cookie("csrftoken").is_some());

    let r = consent(&s, &q, true).await;
    assert_eq!(r.status, 302, "{}", r.text());
    let loc = location(&r);
    assert_eq!(loc.host_str(), Some("client.example"));
    assert_eq!(loc.path(), "/cb");
    assert_eq!(query_param(&loc, "state").as_deref(), Some("xyz 1"));
    let code = query_param(&loc, "code").unwrap();
    assert!(code.len() >= 32, "{code}");

    let r = exchange(&app, &web, &code, Some(VERIFIER)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(r.json()["scope"], "read write");
    assert_eq!(r.json()["token_type"], "Bearer");
    let (access, refresh_token) = pair(&r);
    assert_credential(&access, "pcl_oat_");
    let me = app.get("/api/v2/me/").bearer(&access).send().await;
    assert_eq!(me.json()["results"][0]["id"], alice.id.0);
    // The pair behaves like any other.
    let (access, _) = pair(&refresh(&app, &web, &refresh_token).await);
    // Single use; a replay revokes what the code issued (its whole refresh family).
    assert_error_code(
        &exchange(&app, &web, &code, Some(VERIFIER)).await,
        "invalid_grant",
    );
    let me = app.get("/api/v2/me/").bearer(&access).send().await;
    assert_eq!(me.status, 401, "{}", me.text());

    // A wrong verifier spends the code.
    let code = code_for(&s, &q).await;
    let wrong = "A".repeat(43);
    assert_error_code(
        &exchange(&app, &web, &code, Some(&wrong)).await,
        "invalid_grant",
    );
    assert_error_code(
        &exchange(&app, &web, &code, Some(VERIFIER)).await,
        "invalid_grant",
    );
    // A missing verifier when a challenge was sent.
    let code = code_for(&s, &q).await;
    let r = exchange(&app, &web, &code, None).await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_ne!(r.json()["error"], json!(null));
    // Bound to the exact redirect URI.
    let code = code_for(&s, &q).await;
    let r = app
        .oauth_token(
            &web,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "https://other.example/cb"),
                ("code_verifier", VERIFIER),
            ],
        )
        .await;
    assert_error_code(&r, "invalid_grant");
    // Bound to the client.
    let code = code_for(&s, &q).await;
    let other = web_app(&app, "confidential", true).await;
    assert_error_code(
        &exchange(&app, &other, &code, Some(VERIFIER)).await,
        "invalid_grant",
    );
    // Codes expire (AUTHORIZATION_CODE_EXPIRE_SECONDS 600).
    let code = code_for(&s, &q).await;
    app.clock.advance(time::Duration::seconds(601));
    let s = app.login("alice", PASSWORD).await;
    assert_error_code(
        &exchange(&app, &web, &code, Some(VERIFIER)).await,
        "invalid_grant",
    );
    // A code within its lifetime works without PKCE for a confidential client.
    let q_plain = authorize_query(&web, &[]);
    let code = code_for(&s, &q_plain).await;
    app.clock.advance(time::Duration::seconds(599));
    pair(&exchange(&app, &web, &code, None).await);
}

/// Issue 9, RFC 6749 §4.1.2: a code presented a second time is refused, and the tokens
/// already issued for it (access, refresh and every successor in the family) are revoked.
/// Other grants of the same user and client are untouched.
async fn a_replayed_code_revokes_the_tokens_it_issued(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    let web = web_app(&app, "confidential", true).await;
    let s = app.login("alice", PASSWORD).await;
    let code_of = |r: &Resp| query_param(&location(r), "code").unwrap();
    let code = code_of(&s.get(&authorize_query(&web, &[])).await);
    let (access, refresh_token) = pair(&exchange(&app, &web, &code, None).await);
    let other = code_of(&s.get(&authorize_query(&web, &[])).await);
    let (other_access, _) = pair(&exchange(&app, &web, &other, None).await);
    // A rotation continues the family: the successor dies with it.
    let (successor, successor_refresh) = pair(&refresh(&app, &web, &refresh_token).await);
    let me = |t: String| {
        let app = &app;
        async move { app.get("/api/v2/me/").bearer(&t).send().await.status }
    };
    assert_eq!(me(successor.clone()).await, 200);
    assert_error_code(&exchange(&app, &web, &code, None).await, "invalid_grant");
    assert_eq!(me(access).await, 401);
    assert_eq!(me(successor).await, 401);
    assert_error_code(
        &refresh(&app, &web, &successor_refresh).await,
        "invalid_grant",
    );
    assert_eq!(me(other_access).await, 200, "another code's grant survives");
    // An unknown code revokes nothing and answers the same.
    assert_error_code(
        &exchange(&app, &web, "not-a-code-we-issued", None).await,
        "invalid_grant",
    );
}

async fn the_consent_can_be_denied_and_needs_csrf(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    let web = web_app(&app, "confidential", false).await;
    let s = app.login("alice", PASSWORD).await;
    let q = authorize_query(&web, &[]);
    let r = consent(&s, &q, false).await;
    assert_eq!(r.status, 302, "{}", r.text());
    let loc = location(&r);
    assert_eq!(loc.host_str(), Some("client.example"));
    assert_eq!(query_param(&loc, "error").as_deref(), Some("access_denied"));
    assert_eq!(query_param(&loc, "state").as_deref(), Some("xyz 1"));
    assert_eq!(query_param(&loc, "code"), None);
    // Approval without the CSRF token.
    let page = s.get(&q).await;
    let csrf = page.cookie("csrftoken").unwrap();
    let fields: Vec<(String, String)> = hidden_fields(&page.text())
        .into_iter()
        .filter(|(k, _)| k != "csrfmiddlewaretoken")
        .chain([("allow".to_owned(), "Authorize".to_owned())])
        .collect();
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = app
        .post("/api/o/authorize/")
        .header(
            "cookie",
            &format!("csrftoken={csrf}; awx_sessionid={}", s.id()),
        )
        .header("referer", "http://127.0.0.1:8052/api/o/authorize/")
        .form(&pairs)
        .send()
        .await;
    assert_csrf_page(&r, "CSRF token missing.");
    assert!(r.header("location").is_none());
}

async fn a_public_client_must_use_pkce_s256(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    let public = web_app(&app, "public", false).await;
    let s = app.login("alice", PASSWORD).await;
    for extra in [
        vec![],
        vec![
            ("code_challenge", VERIFIER),
            ("code_challenge_method", "plain"),
        ],
        vec![("code_challenge", VERIFIER)],
    ] {
        let q = authorize_query(&public, &extra);
        let r = s.get(&q).await;
        assert_eq!(r.status, 400, "{extra:?}: {}", r.text());
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("text/html; charset=utf-8")
        );
        assert!(r.header("location").is_none());
    }
    let ch = challenge(VERIFIER);
    let q = authorize_query(
        &public,
        &[("code_challenge", &ch), ("code_challenge_method", "S256")],
    );
    let code = code_for(&s, &q).await;
    // Public clients authenticate with their id in the form.
    let r = app
        .post("/api/o/token/")
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", &public.client_id),
        ])
        .send()
        .await;
    let (access, _) = pair(&r);
    assert_eq!(app.me_with(&access).await, 200);
}

async fn unknown_clients_and_redirects_get_an_error_page_without_redirect(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    let web = web_app(&app, "confidential", false).await;
    let ci = app.password_app("ci").await;
    let s = app.login("alice", PASSWORD).await;
    let unknown = CreatedApp {
        client_id: "y".repeat(40),
        ..web.clone()
    };
    let cases = [
        authorize_query(&unknown, &[]),
        // A password-grant client cannot use the code flow.
        authorize_query(&ci, &[]),
        format!(
            "/api/o/authorize/?response_type=code&client_id={}&redirect_uri={}",
            web.client_id, "https%3A%2F%2Fevil.example%2Fcb"
        ),
        format!(
            "/api/o/authorize/?response_type=token&client_id={}&redirect_uri={}",
            web.client_id, "https%3A%2F%2Fclient.example%2Fcb"
        ),
        format!(
            "/api/o/authorize/?response_type=code&client_id={}&redirect_uri={}&scope=admin",
            web.client_id, "https%3A%2F%2Fclient.example%2Fcb"
        ),
    ];
    for q in &cases {
        let r = s.get(q).await;
        assert_eq!(r.status, 400, "{q}: {}", r.text());
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("text/html; charset=utf-8"),
            "{q}"
        );
        assert!(r.header("location").is_none(), "{q}");
        assert!(!r.text().contains("evil.example"), "{q}");
    }
}

async fn skip_authorization_redirects_with_a_code_at_once(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    let trusted = web_app(&app, "confidential", true).await;
    let s = app.login("alice", PASSWORD).await;
    let r = s.get(&authorize_query(&trusted, &[])).await;
    assert_eq!(r.status, 302, "{}", r.text());
    let loc = location(&r);
    assert_eq!(loc.host_str(), Some("client.example"));
    assert_eq!(query_param(&loc, "state").as_deref(), Some("xyz 1"));
    let code = query_param(&loc, "code").unwrap();
    pair(&exchange(&app, &trusted, &code, None).await);
    // An HTML form view: no API headers, CSRF and session rules of `docs/awx-compat.md`, "Session
    // login".
    let r = s
        .req(Method::GET, &authorize_query(&trusted, &[]))
        .send()
        .await;
    assert!(r.header("x-api-node").is_none());
}

on_both_backends!(
    a_replayed_code_revokes_the_tokens_it_issued,
    the_password_grant_issues_an_application_token_pair,
    client_credentials_may_come_in_the_form,
    token_endpoint_errors,
    a_refresh_rotates_the_pair,
    reusing_a_spent_refresh_token_revokes_the_family,
    a_lost_race_is_invalid_request_and_revokes_nothing,
    a_lost_race_within_the_tolerance_leaves_the_successor_usable,
    an_expired_refresh_token_is_refused_with_its_description,
    a_refresh_may_narrow_the_scope_but_not_widen_it,
    a_refresh_token_of_another_client_is_invalid_grant,
    refresh_families_end_at_their_absolute_cap,
    a_public_client_id_in_the_query_string_is_refused,
    concurrent_rotations_of_one_refresh_token_yield_one_successor,
    concurrent_exchanges_of_one_code_yield_one_pair,
    a_locked_account_gets_invalid_grant_with_retry_after,
    the_token_endpoint_reads_the_lifetimes_at_creation,
    a_spent_refresh_token_past_its_expiry_is_expired_not_reuse,
    token_endpoint_changes_are_in_the_activity_stream,
    the_consent_page_escapes_the_application_name,
    a_disabled_users_grants_and_tokens_fail,
    external_users_are_refused_at_the_token_endpoint,
    revoking_an_access_token_kills_it_and_leaves_its_refresh_token,
    revoking_a_refresh_token_kills_its_access_token,
    another_clients_token_cannot_be_revoked,
    introspection_reports_active_tokens_only,
    authorize_without_a_session_redirects_to_the_login_form,
    the_code_flow_with_pkce_s256,
    the_consent_can_be_denied_and_needs_csrf,
    a_public_client_must_use_pkce_s256,
    unknown_clients_and_redirects_get_an_error_page_without_redirect,
    skip_authorization_redirects_with_a_code_at_once,
);

on_both_backends_configured!(the_password_grant_can_be_switched_off);
