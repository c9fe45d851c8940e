//! Single sign-on through an OpenID Connect provider (`docs/sso.md`): Portcullis as the
//! relying party of two Node providers, `tests/interop/idp.mjs` (panva's certified
//! oidc-provider, for honest logins and back-channel logout) and `tests/interop/hostile-idp.mjs`
//! (oauth2-mock-server behind a wrapper whose answers each test breaks on purpose).
//!
//! The browser is scripted: Portcullis's side goes through the `TestApp`, the provider's side
//! through reqwest without redirects, with the cookies carried by hand.

mod hostile;
mod login;
mod logout;
mod settings;

use crate::harness::{Builder, PASSWORD, Session, TestApp};
use axum::http::StatusCode;
use portcullis_server::config::Config;
use serde_json::{Value, json};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

/// The origin Portcullis is configured with (`public_url`), so `redirect_uri` is fixed.
pub const ORIGIN: &str = "http://127.0.0.1:8052";
/// The `redirect_uri` every provider is told to accept.
pub const REDIRECT_URI: &str = "http://127.0.0.1:8052/sso/complete/oidc/";
/// The client registered at idp.mjs.
pub const CLIENT_ID: &str = "portcullis";
/// Its secret.
pub const CLIENT_SECRET: &str = "test-only-secret";

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop")
}

/// Whether the providers' npm packages are installed; a loud skip (or a panic in CI) if not.
fn providers_installed() -> bool {
    if interop_dir().join("node_modules").is_dir() {
        return true;
    }
    if portcullis_store_postgres::testing::in_ci() {
        panic!(
            "tests/interop/node_modules is missing and CI is set: run \
             `npm ci --prefix tests/interop` before the tests"
        );
    }
    let _ignored = writeln!(
        std::io::stderr(),
        "\n!!!!! SKIPPED: tests/interop/node_modules missing; this SSO test did NOT run \
         (npm ci --prefix tests/interop --no-audit --no-fund) !!!!!\n"
    );
    false
}

/// The real current time (the providers sign with it).
#[expect(
    clippy::disallowed_methods,
    reason = "the Node providers stamp tokens with the real clock; the app's clock must agree"
)]
pub fn real_now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

/// Seconds since the epoch, real time.
pub fn real_epoch() -> i64 {
    real_now().unix_timestamp()
}

/// A running Node provider; killed when dropped.
pub struct NodeProvider {
    child: Child,
    pub issuer: String,
    pub port: u16,
}

impl NodeProvider {
    async fn spawn(script: &str, envs: &[(&str, String)]) -> Option<NodeProvider> {
        if !providers_installed() {
            return None;
        }
        let mut cmd = Command::new("node");
        cmd.arg(interop_dir().join(script))
            .current_dir(interop_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true);
        for (k, v) in envs {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn node");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("{script} did not start within 30 s"))
            .expect("read stdout")
            .unwrap_or_else(|| panic!("{script} exited before its ready line"));
        let ready: Value = serde_json::from_str(&line).expect("ready line is JSON");
        // Keep the pipe drained so the child never blocks on a full stdout.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Some(NodeProvider {
            child,
            issuer: ready["issuer"].as_str().unwrap().to_owned(),
            port: u16::try_from(ready["port"].as_u64().unwrap()).unwrap(),
        })
    }

    /// Stops the process and waits for it.
    pub async fn stop(mut self) {
        let _ignored = self.child.kill().await;
    }
}

/// `idp.mjs` with the `portcullis` client (back-channel logout URI set, so tokens carry sid).
pub async fn idp(port: u16, jwks: Option<&Value>, accounts: &Value) -> Option<NodeProvider> {
    let clients = json!([{
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uris": [REDIRECT_URI],
        "backchannel_logout_uri": "http://127.0.0.1:9/sso/backchannel-logout/oidc/",
    }]);
    let mut envs = vec![
        ("IDP_PORT", port.to_string()),
        ("IDP_CLIENTS", clients.to_string()),
        ("IDP_ACCOUNTS", accounts.to_string()),
    ];
    if let Some(j) = jwks {
        envs.push(("IDP_JWKS", j.to_string()));
    }
    NodeProvider::spawn("idp.mjs", &envs).await
}

/// `hostile-idp.mjs`, over HTTPS when `tls` names a certificate and key file.
pub async fn hostile(tls: Option<(&std::path::Path, &std::path::Path)>) -> Option<NodeProvider> {
    let mut envs = vec![("HIDP_PORT", "0".to_owned())];
    if let Some((cert, key)) = tls {
        envs.push(("HIDP_TLS_CERT", cert.display().to_string()));
        envs.push(("HIDP_TLS_KEY", key.display().to_string()));
    }
    NodeProvider::spawn("hostile-idp.mjs", &envs).await
}

/// A private RSA JWK from `keygen.mjs`.
pub async fn keygen() -> Value {
    let out = Command::new("node")
        .arg(interop_dir().join("keygen.mjs"))
        .current_dir(interop_dir())
        .output()
        .await
        .expect("keygen");
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).expect("jwk")
}

/// A JWS of `claims` signed with `jwk` by `sign.mjs`.
pub async fn sign(jwk: &Value, claims: &Value, header: Option<&Value>) -> String {
    let mut cmd = Command::new("node");
    cmd.arg(interop_dir().join("sign.mjs"))
        .arg(jwk.to_string())
        .arg(claims.to_string())
        .current_dir(interop_dir());
    if let Some(h) = header {
        cmd.arg(h.to_string());
    }
    let out = cmd.output().await.expect("sign");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// An HTTP client for the provider side: no redirects, any certificate (the hostile provider's
/// own test CA), short timeouts.
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .danger_accept_invalid_certs(true)
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

impl NodeProvider {
    /// Sets the hostile provider's mutations.
    pub async fn mode(&self, mode: Value) {
        let r = http()
            .post(format!("{}/__mode", self.issuer))
            .json(&mode)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 204);
    }

    /// The hostile provider's request counts.
    pub async fn requests(&self) -> Value {
        http()
            .get(format!("{}/__requests", self.issuer))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub async fn reset_requests(&self) {
        let r = http()
            .post(format!("{}/__requests/reset", self.issuer))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 204);
    }
}

/// Builds the app (`public_url` = [`ORIGIN`], `tweak` on the configuration), sets its clock to
/// the real time, creates `admin` and configures single sign-on for `issuer`.
pub async fn sso_app(
    b: Builder,
    issuer: &str,
    verify_ssl: bool,
    tweak: impl FnOnce(&mut Config),
) -> Option<TestApp> {
    let app = b
        .config(|c| {
            c.public_url = Some(ORIGIN.into());
            tweak(c);
        })
        .build()
        .await?;
    app.clock.set(real_now());
    app.admin().await;
    app.set(json!({
        "SOCIAL_AUTH_OIDC_KEY": CLIENT_ID,
        "SOCIAL_AUTH_OIDC_SECRET": CLIENT_SECRET,
        "SOCIAL_AUTH_OIDC_OIDC_ENDPOINT": issuer,
        "SOCIAL_AUTH_OIDC_VERIFY_SSL": verify_ssl,
    }))
    .await;
    Some(app)
}

/// A begun login: the authorization URL and the flow cookie.
#[derive(Debug, Clone)]
pub struct Begun {
    pub location: url::Url,
    pub cookie: String,
}

impl Begun {
    pub fn param(&self, name: &str) -> Option<String> {
        self.location
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    }
}

/// `GET /sso/login/oidc/[?next=…]` (`next` sent as is: the caller encodes it).
pub async fn begin(app: &TestApp, next: Option<&str>) -> Begun {
    let path = match next {
        Some(n) => format!("/sso/login/oidc/?next={n}"),
        None => "/sso/login/oidc/".to_owned(),
    };
    let r = app.get(&path).send().await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.text());
    let loc = r.header("location").unwrap();
    assert!(
        !loc.starts_with("/sso/error/"),
        "login did not begin: {loc}"
    );
    let cookie = r.cookie("portcullis_sso").expect("flow cookie");
    Begun {
        location: url::Url::parse(&loc).unwrap(),
        cookie,
    }
}

/// The path and query of a callback URL (the provider's redirect to `redirect_uri`).
pub fn callback_path(callback: &str) -> String {
    let u = url::Url::parse(callback).unwrap();
    assert_eq!(
        format!("{}://{}{}", u.scheme(), u.authority(), u.path()),
        REDIRECT_URI
    );
    format!("{}?{}", u.path(), u.query().unwrap_or(""))
}

/// Sends the callback to Portcullis with the flow cookie `cookie` (or none).
pub async fn complete(app: &TestApp, path: &str, cookie: Option<&str>) -> crate::harness::Resp {
    let mut r = app.get(path);
    if let Some(c) = cookie {
        r = r.header("cookie", &format!("portcullis_sso={c}"));
    }
    r.send().await
}

/// The hostile provider's authorization step: it redirects at once to the callback.
pub async fn hostile_authorize(begun: &Begun) -> String {
    let r = http().get(begun.location.clone()).send().await.unwrap();
    assert!(r.status().is_redirection(), "authorize: {}", r.status());
    callback_path(r.headers()["location"].to_str().unwrap())
}

/// A whole login at the hostile provider: begin, authorize, callback. The callback's answer.
pub async fn hostile_login(app: &TestApp) -> crate::harness::Resp {
    let b = begin(app, None).await;
    let cb = hostile_authorize(&b).await;
    complete(app, &cb, Some(&b.cookie)).await
}

/// A minimal cookie jar for the provider side (every cookie goes with every request).
#[derive(Default)]
struct Jar(Vec<(String, String)>);

impl Jar {
    fn take(&mut self, r: &reqwest::Response) {
        for v in r.headers().get_all("set-cookie") {
            let line = v.to_str().unwrap();
            let first = line.split(';').next().unwrap();
            if let Some((k, v)) = first.split_once('=') {
                self.0.retain(|(n, _)| n != k);
                if !v.is_empty() {
                    self.0.push((k.trim().to_owned(), v.to_owned()));
                }
            }
        }
    }
    fn header(&self) -> String {
        self.0
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

fn location(r: &reqwest::Response, base: &url::Url) -> url::Url {
    let loc = r
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location on {}", r.status()))
        .to_str()
        .unwrap();
    base.join(loc).unwrap()
}

/// Signs `sub` in at idp.mjs (its development login form) for the authorization request of
/// `begun`; returns the callback path (with `code`, `state`, `iss`).
pub async fn idp_authorize(begun: &Begun, sub: &str) -> String {
    let client = http();
    let mut jar = Jar::default();
    let auth = begun.location.clone();
    let r = client.get(auth.clone()).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 303, "auth: {}", r.status());
    jar.take(&r);
    let interaction = location(&r, &auth);
    let r = client
        .post(interaction.clone())
        .header("cookie", jar.header())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs([("prompt", "login"), ("login", sub), ("password", "x")])
                .finish(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303, "interaction: {}", r.status());
    jar.take(&r);
    let resume = location(&r, &interaction);
    let r = client
        .get(resume.clone())
        .header("cookie", jar.header())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 303, "resume: {}", r.status());
    let cb = location(&r, &resume);
    callback_path(cb.as_str())
}

/// A whole login of `sub` at idp.mjs; the callback's answer.
pub async fn idp_login(app: &TestApp, sub: &str, next: Option<&str>) -> crate::harness::Resp {
    let b = begin(app, next).await;
    let cb = idp_authorize(&b, sub).await;
    complete(app, &cb, Some(&b.cookie)).await
}

/// The session a successful callback started.
pub fn session_of<'a>(app: &'a TestApp, r: &crate::harness::Resp) -> Session<'a> {
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.text());
    let loc = r.header("location").unwrap();
    assert!(!loc.starts_with("/sso/error/"), "login failed: {loc}");
    Session {
        app,
        session: Some(r.cookie("awx_sessionid").expect("session cookie")),
        csrf: r.cookie("csrftoken").expect("csrftoken cookie"),
        last: r.clone(),
    }
}

/// `GET /api/v2/me/` with the session: the status and the user.
pub async fn me(s: &Session<'_>) -> (StatusCode, Value) {
    let r = s.get("/api/v2/me/").await;
    let body = if r.status == StatusCode::OK {
        r.json()["results"][0].clone()
    } else {
        Value::Null
    };
    (r.status, body)
}

/// Asserts a refused login: 302 to `/sso/error/?reason=<reason>`, no session cookie.
#[track_caller]
pub fn assert_refused(r: &crate::harness::Resp, reason: &str) {
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.text());
    assert_eq!(
        r.header("location").as_deref(),
        Some(format!("/sso/error/?reason={reason}").as_str())
    );
    assert!(r.cookie("awx_sessionid").is_none(), "a session was set");
}

/// The user `username` as the admin sees it.
pub async fn user_named(app: &TestApp, username: &str) -> Option<Value> {
    let r = app
        .get(&format!("/api/v2/users/?username={username}"))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()["results"].as_array().unwrap().first().cloned()
}
