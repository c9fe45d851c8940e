//! The gateway's forward-auth decision through the real router on both backends
//! (`docs/gateway.md`): the three dialects, answers, trust of forwarded headers, the
//! canonicaliser and the policy. Proxy mode, nginx and the upstream's view are tested
//! end to end in `crates/portcullis/tests/it/gateway.rs`.

use crate::harness::{Backend, Builder, PASSWORD, Resp, TestApp};
use crate::mdr::session::{confirm, fixture, pair};
use crate::on_both_backends_configured;
use axum::http::{Method, StatusCode};
use figment::Figment;
use figment::providers::{Format, Toml};
use portcullis_server::config::gateway::GatewayConfig;
use serde_json::json;

const AUTH: &str = "/api/gateway/auth";
const HOST: &str = "api.example.test";

/// The routes of these tests (`/public/`, `/read/`, `/admin/`, a bearer-only route, a
/// method-restricted route, two hosts with one path, an MDR-only route, a case-insensitive
/// route).
const ROUTES: &str = r#"
public_origin = "https://api.example.test"
[[routes]]
id = "public"
match = { host = "api.example.test", path_prefix = "/public/" }
public = true
[[routes]]
id = "read"
match = { host = "api.example.test", path_prefix = "/read/", methods = ["GET", "HEAD", "POST"] }
auth = ["bearer", "session", "basic", "mdr"]
[[routes]]
id = "admin"
match = { host = "api.example.test", path_prefix = "/admin/" }
require = { roles = ["admin"] }
assertion = { ttl = "60s" }
[[routes]]
id = "tokens-only"
match = { host = "api.example.test", path_prefix = "/bearer/" }
auth = ["bearer"]
[[routes]]
id = "mdr-only"
match = { host = "api.example.test", path_prefix = "/mdr/" }
auth = ["mdr"]
require = { roles = ["mdr:administrator"] }
[[routes]]
id = "other-host"
match = { host = "other.example.test", path_prefix = "/read/" }
require = { users = ["alice"] }
[[routes]]
id = "ci"
match = { host = "api.example.test", path_prefix = "/docs/", case_insensitive = true }
public = true
"#;

fn gateway_config() -> GatewayConfig {
    Figment::from(Toml::string(ROUTES))
        .extract()
        .expect("test routes")
}

fn configured(b: Builder) -> Builder {
    b.config(|c| c.gateway = gateway_config())
}

async fn app(b: Builder) -> Option<TestApp> {
    let app = configured(b).build().await?;
    app.admin().await;
    Some(app)
}

async fn pat(app: &TestApp, user: &str, scope: &str) -> String {
    let r = app
        .post("/api/v2/tokens/")
        .basic(user, PASSWORD)
        .json(&json!({ "scope": scope }))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.json()["token"].as_str().unwrap().to_owned()
}

/// nginx's form: `X-Original-URI` and `X-Original-Method`, from loopback, for the routes' host.
async fn nginx(app: &TestApp, method: &str, uri: &str, extra: &[(&str, &str)]) -> Resp {
    nginx_on(app, HOST, method, uri, extra).await
}

/// nginx's form with the `Host` header `host`; `extra` headers follow, in order (a name given
/// twice is sent twice).
async fn nginx_on(
    app: &TestApp,
    host: &str,
    method: &str,
    uri: &str,
    extra: &[(&str, &str)],
) -> Resp {
    let mut b = app
        .get(AUTH)
        .header("host", host)
        .header("x-original-uri", uri)
        .header("x-original-method", method);
    for (k, v) in extra {
        b = b.header(k, v);
    }
    b.send().await
}

/// Traefik's and Caddy's form.
async fn traefik(app: &TestApp, method: &str, uri: &str, extra: &[(&str, &str)]) -> Resp {
    let mut b = app
        .get(AUTH)
        .header("x-forwarded-method", method)
        .header("x-forwarded-uri", uri)
        .header("x-forwarded-host", HOST)
        .header("x-forwarded-proto", "https");
    for (k, v) in extra {
        b = b.header(k, v);
    }
    b.send().await
}

fn bearer(t: &str) -> String {
    format!("Bearer {t}")
}

fn assert_401_api(r: &Resp) {
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
    assert_eq!(r.header("location"), None);
    assert!(
        r.header("www-authenticate")
            .is_some_and(|v| v.starts_with("Bearer realm=\"api\"")),
        "{:?}",
        r.headers
    );
}

// T1, T9, T10, T11: one decision in every dialect, and the identity it names.
async fn every_dialect_allows_a_read_pat_and_names_the_caller(b: Builder) {
    let Some(app) = app(b).await else { return };
    let t = pat(&app, "admin", "read").await;
    let auth = bearer(&t);
    let r = nginx(&app, "GET", "/read/x?a=1", &[("authorization", &auth)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header("x-portcullis-user").as_deref(), Some("admin"));
    assert_eq!(r.header("x-portcullis-scopes").as_deref(), Some("read"));
    assert_eq!(
        r.header("x-portcullis-roles").as_deref(),
        Some("admin,user")
    );
    assert_eq!(
        r.header("x-portcullis-auth-method").as_deref(),
        Some("bearer")
    );
    assert_eq!(r.header("x-portcullis-route").as_deref(), Some("read"));
    assert_eq!(
        r.header("x-portcullis-path").as_deref(),
        Some("/read/x?a=1")
    );
    assert_eq!(r.header("x-api-product-name"), None, "no API-view headers");
    let size: usize = r
        .headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 4)
        .sum();
    assert!(size < 2048, "{size} bytes of headers");
    // Caddy sends the same headers as Traefik for a GET.
    let r = traefik(&app, "GET", "/read/x", &[("authorization", &auth)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // Envoy: the original method, the path after the prefix.
    let r = app
        .get(&format!("{AUTH}/read/x"))
        .header("host", HOST)
        .header("authorization", &auth)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // T3 and T9: the read-only token may not POST, and the 403 never redirects.
    for r in [
        nginx(
            &app,
            "POST",
            "/read/x",
            &[("authorization", &auth), ("accept", "text/html")],
        )
        .await,
        traefik(&app, "POST", "/read/x", &[("authorization", &auth)]).await,
    ] {
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
        assert_eq!(r.header("location"), None);
    }
    let rw = pat(&app, "admin", "read write").await;
    let r = traefik(&app, "POST", "/read/x", &[("authorization", &bearer(&rw))]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.header("x-portcullis-scopes").as_deref(),
        Some("read write")
    );
}

// T4, T5, T39: API callers get the 401; browsers the login redirect on the public origin.
async fn api_callers_get_401_and_browsers_the_login(b: Builder) {
    let Some(app) = app(b).await else { return };
    let r = nginx(&app, "GET", "/read/x", &[("accept", "application/json")]).await;
    assert_401_api(&r);
    assert_eq!(
        r.json(),
        json!({"detail": "Authentication credentials were not provided."})
    );
    let login = "https://api.example.test/console/login/?next=/read/x%3Fa%3D1";
    let r = nginx(&app, "GET", "/read/x?a=1", &[("accept", "text/html")]).await;
    assert_eq!(
        r.status,
        StatusCode::UNAUTHORIZED,
        "nginx: Location rides on the 401"
    );
    assert_eq!(r.header("location").as_deref(), Some(login));
    let r = traefik(&app, "GET", "/read/x?a=1", &[("accept", "text/html")]).await;
    assert_eq!(r.status, StatusCode::FOUND);
    assert_eq!(r.header("location").as_deref(), Some(login));
    let r = traefik(&app, "POST", "/read/x?a=1", &[("accept", "text/html")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    // An XHR or a caller with Authorization is an API caller.
    let r = nginx(
        &app,
        "GET",
        "/read/x",
        &[
            ("accept", "text/html"),
            ("x-requested-with", "XMLHttpRequest"),
        ],
    )
    .await;
    assert_401_api(&r);
    // T39: neither Host nor a forwarded host moves the login page.
    let r = traefik(
        &app,
        "GET",
        "/read/x",
        &[("host", "evil.test"), ("accept", "text/html")],
    )
    .await;
    assert_eq!(r.status, StatusCode::FOUND);
    assert!(
        r.header("location")
            .is_some_and(|l| l.starts_with("https://api.example.test/console/login/")),
        "{:?}",
        r.header("location")
    );
    // In nginx's dialect the host is nginx's `Host`: a client's X-Forwarded-Host, which nginx
    // passes to the subrequest unless told otherwise, chooses nothing.
    let r = nginx_on(
        &app,
        "evil.test",
        "GET",
        "/read/x",
        &[("x-forwarded-host", HOST), ("accept", "text/html")],
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    assert_eq!(r.header("location"), None);
}

// T6: expired and revoked tokens, an expired MDR access JWT.
async fn expired_and_revoked_credentials_are_401(b: Builder) {
    let Some(app) = configured(b).build().await else {
        return;
    };
    // The MDR fixture creates `admin`.
    let f = fixture(&app).await;
    // An MDR access token works on a route that takes MDR tokens, until it expires.
    let (access, _) = pair(&confirm(&app, &f.client_id, &f.bootstrap).await);
    let r = nginx(
        &app,
        "GET",
        "/mdr/x",
        &[("authorization", &bearer(&access))],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header("x-portcullis-auth-method").as_deref(), Some("mdr"));
    assert_eq!(
        r.header("x-portcullis-user").as_deref(),
        Some("SIEM export")
    );
    assert_eq!(
        r.header("x-portcullis-user-id").as_deref(),
        Some(f.connection_id.as_str())
    );
    assert_eq!(
        r.header("x-portcullis-roles").as_deref(),
        Some("mdr,mdr:administrator")
    );
    // T16's twin: a route that takes only personal/application tokens refuses it, in the
    // MDR dialect (the MDR realm tells a proxy which body to give).
    let r = nginx(
        &app,
        "GET",
        "/bearer/x",
        &[("authorization", &bearer(&access))],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
    assert_eq!(
        r.header("www-authenticate").as_deref(),
        Some("Bearer realm=\"mdr\", error=\"invalid_token\"")
    );
    let r = nginx(&app, "GET", "/mdr/x", &[]).await;
    assert_eq!(r.json(), json!({"error": "authorization required"}));
    assert_eq!(
        r.header("www-authenticate").as_deref(),
        Some("Bearer realm=\"mdr\"")
    );
    app.clock.advance(time::Duration::seconds(3601 + 60));
    let r = nginx(
        &app,
        "GET",
        "/mdr/x",
        &[("authorization", &bearer(&access))],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
    assert_eq!(r.json(), json!({"error": "invalid access token"}));

    let t = pat(&app, "admin", "read").await;
    let auth = bearer(&t);
    assert_eq!(
        nginx(&app, "GET", "/read/x", &[("authorization", &auth)])
            .await
            .status,
        200
    );
    let list = app
        .get("/api/v2/tokens/")
        .basic("admin", PASSWORD)
        .send()
        .await;
    let id = list.json()["results"][0]["id"].as_i64().unwrap();
    let d = app
        .delete(&format!("/api/v2/tokens/{id}/"))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(d.status, StatusCode::NO_CONTENT, "{}", d.text());
    let r = nginx(&app, "GET", "/read/x", &[("authorization", &auth)]).await;
    assert_401_api(&r);
    assert_eq!(r.json(), json!({"detail": "Invalid token."}));
    // Expiry (AWX's default lifetime is a year).
    let t = pat(&app, "admin", "read").await;
    assert_eq!(
        nginx(&app, "GET", "/read/x", &[("authorization", &bearer(&t))])
            .await
            .status,
        200
    );
    app.clock.advance(time::Duration::days(366));
    assert_401_api(&nginx(&app, "GET", "/read/x", &[("authorization", &bearer(&t))]).await);
}

// T7, T15, T16: sessions follow the CSRF rule; the allow re-arms the cookie; a bearer-only
// route ignores the cookie.
async fn sessions_follow_csrf_and_are_rearmed(b: Builder) {
    let Some(app) = app(b).await else { return };
    let s = app.login("admin", PASSWORD).await;
    let cookie = s.cookie_header();
    let r = nginx(&app, "GET", "/read/x", &[("cookie", &cookie)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.header("x-portcullis-auth-method").as_deref(),
        Some("session")
    );
    assert!(
        r.set_cookie("awx_sessionid").is_some(),
        "the session is re-armed: {:?}",
        r.set_cookies()
    );
    let r = nginx(&app, "POST", "/read/x", &[("cookie", &cookie)]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let r = nginx(
        &app,
        "POST",
        "/read/x",
        &[
            ("cookie", &cookie),
            ("x-csrftoken", &s.csrf),
            ("referer", "http://api.example.test/read/"),
            ("origin", "http://api.example.test"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_401_api(&nginx(&app, "GET", "/bearer/x", &[("cookie", &cookie)]).await);
    // Two session cookies are ambiguous (T24).
    let two = format!("{cookie}; awx_sessionid=other");
    let r = nginx(&app, "GET", "/read/x", &[("cookie", &two)]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
}

// T8: Basic follows AUTH_BASIC_ENABLED.
async fn basic_follows_its_switch(b: Builder) {
    let Some(app) = app(b).await else { return };
    let basic = crate::harness::basic_value("admin", PASSWORD);
    let r = nginx(&app, "GET", "/read/x", &[("authorization", &basic)]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        r.header("x-portcullis-auth-method").as_deref(),
        Some("basic")
    );
    app.set(json!({"AUTH_BASIC_ENABLED": false})).await;
    assert_401_api(&nginx(&app, "GET", "/read/x", &[("authorization", &basic)]).await);
}

// T14, T17, T18, T19, T24, T27: what the table and the envelope refuse.
async fn the_table_and_ambiguous_input(b: Builder) {
    let Some(app) = app(b).await else { return };
    let auth = bearer(&pat(&app, "admin", "read write").await);
    // T14: no method named.
    let r = app
        .get(AUTH)
        .header("host", HOST)
        .header("x-original-uri", "/read/x")
        .send()
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let r = app
        .get(AUTH)
        .header("x-forwarded-uri", "/read/x")
        .send()
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let r = app.get(AUTH).header("host", HOST).send().await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    // T17: the route takes GET, HEAD and POST.
    let r = nginx(&app, "DELETE", "/read/x", &[("authorization", &auth)]).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED, "{}", r.text());
    assert_eq!(r.header("allow").as_deref(), Some("GET, HEAD, POST"));
    // T18: same path, other host, other policy; host case and default port do not matter.
    let r = nginx_on(
        &app,
        "OTHER.EXAMPLE.TEST:443",
        "GET",
        "/read/x",
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "only alice: {}", r.text());
    let r = nginx_on(
        &app,
        "API.Example.Test:443",
        "GET",
        "/read/x",
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // T19.
    assert_eq!(
        nginx(&app, "GET", "/nowhere", &[("authorization", &auth)])
            .await
            .status,
        404
    );
    let r = nginx_on(&app, "unknown.example.test", "GET", "/read/x", &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    // T24: two Authorization headers, two Host headers.
    let read = bearer(&pat(&app, "admin", "read").await);
    let r = nginx(
        &app,
        "GET",
        "/read/x",
        &[("authorization", &read), ("authorization", &auth)],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let r = nginx(
        &app,
        "GET",
        "/read/x",
        &[("host", "other.example.test"), ("authorization", &auth)],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    // T27: an absolute target naming another authority.
    let r = nginx(
        &app,
        "GET",
        "http://other.example.test/read/x",
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let r = nginx(
        &app,
        "GET",
        "http://api.example.test/read/x",
        &[("authorization", &auth)],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

// T25, T26, T28: forwarded metadata only from trusted proxies, `Forwarded` and
// `X-Forwarded-Prefix` never.
async fn forwarded_headers_are_believed_only_from_trusted_proxies(b: Builder) {
    let Some(app) = app(b).await else { return };
    let r = app
        .get(AUTH)
        .peer([10, 0, 0, 9])
        .header("host", HOST)
        .header("x-forwarded-method", "GET")
        .header("x-forwarded-uri", "/public/")
        .header("x-original-uri", "/public/")
        .header("x-original-method", "GET")
        .send()
        .await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "judged as /api/gateway/auth: {}",
        r.text()
    );
    // From a trusted peer the same headers name the public route.
    let r = traefik(&app, "GET", "/public/", &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // An untrusted X-Forwarded-Host does not choose the host.
    let r = app
        .get(&format!("{AUTH}/read/x"))
        .peer([10, 0, 0, 9])
        .header("host", "other.example.test")
        .header("x-forwarded-host", HOST)
        .header("x-forwarded-proto", "https")
        .send()
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    // `Forwarded` and `X-Forwarded-Prefix` change nothing.
    let r = nginx(
        &app,
        "GET",
        "/read/x",
        &[
            ("forwarded", "for=1.2.3.4;host=x"),
            ("x-forwarded-prefix", "/public"),
        ],
    )
    .await;
    assert_401_api(&r);
}

// T30–T37: one canonicaliser judges every spelling of a path.
async fn every_spelling_of_a_path_is_judged_canonically(b: Builder) {
    let Some(app) = app(b).await else { return };
    let user = app.user("alice").await;
    assert!(!user.is_superuser);
    let alice = bearer(&pat(&app, "alice", "read").await);
    // Judged as /admin/x: alice is not an admin.
    for raw in [
        "/public/../admin/x",
        "//admin/x",
        "/./admin/x",
        "/public/./../admin/x",
        "/adm%69n/x",
    ] {
        let r = nginx(&app, "GET", raw, &[("authorization", &alice)]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{raw}: {}", r.text());
        let r = nginx(&app, "GET", raw, &[]).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{raw}: {}", r.text());
    }
    for raw in [
        "/public/%2e%2e/admin/x",
        "/public/%2E%2E/admin/x",
        "/public/.%2e/admin/x",
        "/public%2F..%2Fadmin/x",
        "/admin%2fx",
        "/public/%5C../admin",
        "/admin/x#/public/",
        "/public/..;x=y/admin/x",
        "/admin;x/y",
        "/public/%3B/x",
        "/public/%00",
        "/public/\\..\\admin",
    ] {
        let r = nginx(&app, "GET", raw, &[]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{raw}: {}", r.text());
    }
    // T34: the query never counts.
    let r = nginx(&app, "GET", "/admin/x?next=/public/", &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
    // T37: a case-sensitive route does not match another case; a case-insensitive one does.
    assert_eq!(
        nginx(&app, "GET", "/ADMIN/x", &[]).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        nginx(&app, "GET", "/DOCS/x", &[]).await.status,
        StatusCode::OK
    );
    // The admin route with an admin: allowed, with a signed assertion.
    let admin = bearer(&pat(&app, "admin", "read").await);
    let r = nginx(
        &app,
        "GET",
        "/public/../admin/x",
        &[("authorization", &admin)],
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(r.header("x-portcullis-assertion").is_some());
    assert_eq!(r.header("x-portcullis-route").as_deref(), Some("admin"));
}

// T38: a login's `next` goes to a same-site path or an allow-listed origin only.
async fn login_next_is_a_path_or_an_allowed_origin(b: Builder) {
    let Some(app) = app(b).await else { return };
    let page = app.get("/console/login/").send().await;
    let csrf = page.cookie("csrftoken").unwrap();
    let login = |next: &'static str| {
        let csrf = csrf.clone();
        let app = &app;
        async move {
            app.post("/console/login/")
                .header("cookie", &format!("csrftoken={csrf}"))
                .header("host", "127.0.0.1:8052")
                .header("origin", "http://127.0.0.1:8052")
                .form(&[
                    ("csrfmiddlewaretoken", csrf.as_str()),
                    ("username", "admin"),
                    ("password", PASSWORD),
                    ("next", next),
                ])
                .send()
                .await
        }
    };
    for bad in [
        "//evil.test",
        "/\\evil.test",
        "/\t/evil.test",
        "https://evil.test",
        "https://api.example.test.evil.test",
        "https://api.example.test@evil.test",
        "javascript:alert(1)",
        "%68%74%74%70%73://evil.test",
        "http://api.example.test/",
    ] {
        let r = login(bad).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{bad}: {}", r.text());
        assert_eq!(r.header("location").as_deref(), Some("/console/"), "{bad}");
    }
    for good in ["/read/x?a=1", "https://api.example.test/read/x"] {
        let r = login(good).await;
        assert_eq!(r.header("location").as_deref(), Some(good));
    }
}

// Operations: the table reloads, and a table that does not validate changes nothing.
async fn routes_reload_and_a_bad_file_changes_nothing(b: Builder) {
    let Some(app) = app(b).await else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("portcullis.toml");
    let mut text = format!(
        "version = 1\ndatabase_url = \"{}\"\n[gateway]\n{}",
        app.db_url,
        ROUTES.replace("[[routes]]", "[[gateway.routes]]")
    );
    text.push_str(
        "[[gateway.routes]]\nid = \"new\"\nmatch = { host = \"api.example.test\", path = \"/new\" }\npublic = true\n",
    );
    std::fs::write(&file, &text).unwrap();
    assert_eq!(
        nginx(&app, "GET", "/new", &[]).await.status,
        StatusCode::NOT_FOUND
    );
    let n = portcullis_server::gateway::reload::reload(&app.state, Some(&file)).unwrap();
    assert_eq!(n, 8);
    assert_eq!(nginx(&app, "GET", "/new", &[]).await.status, StatusCode::OK);
    // An overlapping route: refused, the table in force stays.
    text.push_str(
        "[[gateway.routes]]\nid = \"twin\"\nmatch = { host = \"api.example.test\", path = \"/new\" }\npublic = true\n",
    );
    std::fs::write(&file, &text).unwrap();
    let err = portcullis_server::gateway::reload::reload(&app.state, Some(&file)).unwrap_err();
    assert!(err.contains("overlap"), "{err}");
    assert_eq!(nginx(&app, "GET", "/new", &[]).await.status, StatusCode::OK);
}

on_both_backends_configured!(
    every_dialect_allows_a_read_pat_and_names_the_caller,
    api_callers_get_401_and_browsers_the_login,
    expired_and_revoked_credentials_are_401,
    sessions_follow_csrf_and_are_rearmed,
    basic_follows_its_switch,
    the_table_and_ambiguous_input,
    forwarded_headers_are_believed_only_from_trusted_proxies,
    every_spelling_of_a_path_is_judged_canonically,
    login_next_is_a_path_or_an_allowed_origin,
    routes_reload_and_a_bad_file_changes_nothing,
);

/// A method name a proxy forwarded must be a real method token.
#[tokio::test]
async fn a_lower_case_or_empty_method_is_refused() {
    let Some(app) = app(crate::harness::builder(Backend::Sqlite)).await else {
        return;
    };
    for m in ["get", "", "G T"] {
        let r = app
            .req(Method::GET, AUTH)
            .header("host", HOST)
            .header("x-forwarded-uri", "/public/")
            .header("x-forwarded-method", m)
            .send()
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{m:?}");
    }
}
