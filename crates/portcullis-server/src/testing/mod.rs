//! `TestApp`: the real router over a real store (SQLite file or a fresh PostgreSQL
//! database), a `FakeClock`, a seeded RNG, and typed clients. Requests go through
//! `Router::oneshot` with a mock peer address (127.0.0.1 unless a request says otherwise),
//! so no socket is opened.
//!
//! Policy: compiled only with the `testing` feature, for this crate's integration tests and
//! for crates that mount routes into the server (`portcullis-mdr-demo`), which share it.
//! Test helpers fail loudly: a failed setup call panics the test.

#![allow(
    clippy::allow_attributes,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    reason = "test-only helpers: a failed call or a missing value must fail the test loudly"
)]

pub mod mdr;
pub mod slapd;

use crate::{AppState, Config};
use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use base64::Engine as _;
use portcullis_core::clock::FakeClock;
use portcullis_core::ids::UserId;
use portcullis_core::password::{Argon2Params, DjangoPbkdf2, hash_password};
use portcullis_core::rng::SeededRng;
use portcullis_core::session::SessionTimes;
use portcullis_core::token::{self, PlainToken, TokenHash, TokenKind};
use portcullis_core::user::User;
use portcullis_store::{NewSession, NewUser, SessionRecord, Store, UserPatch};
use serde_json::Value;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use time::macros::datetime;
use tower::ServiceExt;
use utoipa_axum::router::OpenApiRouter;

/// Default password of users made by `user()`.
pub const PASSWORD: &str = "correct-horse-battery";

/// The peer address requests come from unless they say otherwise.
pub const DEFAULT_PEER: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)), 40000);

/// AWX's generic 401 body text.
pub const NOT_AUTHENTICATED: &str = "Authentication credentials were not provided. To establish a login session, visit /api/login/.";
/// The Bearer challenge of every API 401.
pub const CHALLENGE: &str = "Bearer realm=api authorization_url=/api/o/authorize/";
/// The challenge after a failed Bearer token.
pub const TOKEN_CHALLENGE: &str =
    "Bearer realm=api authorization_url=/api/o/authorize/, error=\"invalid_token\"";
/// AWX's generic 403 body text.
pub const NO_PERMISSION: &str = "You do not have permission to perform this action.";
/// AWX's 415 text.
pub const UNSUPPORTED_MEDIA: &str = "You did not use correct Content-Type in your HTTP request. If you are using our REST API, the Content-Type must be application/json";
/// AWX's failed-login text.
pub const BAD_LOGIN: &str =
    "Please enter a correct username and password. Note that both fields may be case-sensitive.";

static SEED: AtomicU64 = AtomicU64::new(1);

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running application.
pub struct TestApp {
    pub state: AppState,
    pub app: Router,
    pub clock: FakeClock,
    pub backend: Backend,
    /// The database the store was opened on (`sqlite:<file>` or `postgres://…/<db>`).
    pub db_url: String,
    _dir: Option<tempfile::TempDir>,
}

/// Builds a [`TestApp`] with a tweaked configuration.
pub struct Builder {
    backend: Backend,
    config: Config,
    extra: OpenApiRouter<AppState>,
    extra_authenticated: OpenApiRouter<AppState>,
}

impl Builder {
    /// Mounts extra routes as [`crate::app_with`] does (a resource server such as the MDR
    /// demo).
    pub fn mount(
        mut self,
        extra: OpenApiRouter<AppState>,
        extra_authenticated: OpenApiRouter<AppState>,
    ) -> Self {
        self.extra = self.extra.merge(extra);
        self.extra_authenticated = self.extra_authenticated.merge(extra_authenticated);
        self
    }

    pub fn config(mut self, f: impl FnOnce(&mut Config)) -> Self {
        f(&mut self.config);
        self
    }

    pub async fn build(self) -> Option<TestApp> {
        let (store, dir, db_url): (Arc<dyn Store>, _, _) = match self.backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("tempdir");
                let url = format!("sqlite:{}", dir.path().join("t.db").display());
                let s = portcullis_store_sqlite::SqliteStore::connect(&url)
                    .await
                    .expect("sqlite connect");
                s.migrate().await.expect("sqlite migrate");
                (Arc::new(s), Some(dir), url)
            }
            Backend::Postgres => {
                let url = match portcullis_store_postgres::testing::fresh_database_url().await {
                    Ok(Some(u)) => u,
                    Ok(None) => return None,
                    Err(e) => panic!("PostgreSQL test database: {e}"),
                };
                let s = portcullis_store_postgres::PostgresStore::connect(&url)
                    .await
                    .expect("postgres connect");
                s.migrate().await.expect("postgres migrate");
                (Arc::new(s), None, url)
            }
        };
        let clock = FakeClock::new(datetime!(2026-03-01 12:00:00 UTC));
        let seed = SEED.fetch_add(1, Ordering::SeqCst);
        let state = AppState::new(
            self.config,
            store,
            Arc::new(clock.clone()),
            Arc::new(SeededRng::new(seed)),
        )
        .await
        .expect("state");
        let app = crate::app_with(state.clone(), self.extra, self.extra_authenticated);
        Some(TestApp {
            state,
            app,
            clock,
            backend: self.backend,
            db_url,
            _dir: dir,
        })
    }
}

fn test_config() -> Config {
    let mut c = Config::default();
    // Tests run many hashes; the floor is also the production default.
    c.password.hash_concurrency = Some(2);
    // A fixed test key-encryption key, so no key file is written into the source tree.
    c.mdr.signing.key_encryption_key = Some(crate::config::Secret::new(
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
    ));
    c
}

impl TestApp {
    pub fn builder(backend: Backend) -> Builder {
        Builder {
            backend,
            config: test_config(),
            extra: OpenApiRouter::new(),
            extra_authenticated: OpenApiRouter::new(),
        }
    }

    pub async fn new(backend: Backend) -> Option<Self> {
        Self::builder(backend).build().await
    }

    /// The fake clock's current instant.
    pub fn now(&self) -> time::OffsetDateTime {
        self.clock.now_value()
    }

    pub fn store(&self) -> &dyn Store {
        self.state.store.as_ref()
    }

    /// Sends a request as peer 127.0.0.1.
    pub async fn send(&self, req: Request<Body>) -> Resp {
        self.send_from(req, DEFAULT_PEER).await
    }

    /// Sends a request as if it came from socket peer `peer`.
    pub async fn send_from(&self, mut req: Request<Body>, peer: SocketAddr) -> Resp {
        req.extensions_mut().insert(ConnectInfo(peer));
        let resp = self.app.clone().oneshot(req).await.expect("infallible");
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
            .await
            .expect("body");
        Resp {
            status,
            headers,
            body: body.to_vec(),
        }
    }

    pub fn req(&self, method: Method, path: &str) -> RequestBuilder<'_> {
        RequestBuilder {
            app: self,
            inner: Request::builder().method(method).uri(path),
            body: Body::empty(),
            peer: DEFAULT_PEER,
        }
    }

    pub fn get(&self, path: &str) -> RequestBuilder<'_> {
        self.req(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> RequestBuilder<'_> {
        self.req(Method::POST, path)
    }

    pub fn patch(&self, path: &str) -> RequestBuilder<'_> {
        self.req(Method::PATCH, path)
    }

    pub fn delete(&self, path: &str) -> RequestBuilder<'_> {
        self.req(Method::DELETE, path)
    }

    /// Creates a local user with an Argon2id hash of `password`.
    pub async fn user_with(&self, username: &str, password: &str, superuser: bool) -> User {
        let hash = hash_password(&Argon2Params::FLOOR, password, &SeededRng::new(9)).unwrap();
        self.insert_user(username, Some(hash), superuser, None)
            .await
    }

    pub async fn user(&self, username: &str) -> User {
        self.user_with(username, PASSWORD, false).await
    }

    pub async fn admin(&self) -> User {
        self.user_with("admin", PASSWORD, true).await
    }

    /// Creates a user whose password is a Django `pbkdf2_sha256` hash (an imported AWX user).
    pub async fn django_user(&self, username: &str, password: &str) -> User {
        let hash = DjangoPbkdf2::encode(password, "seasalt1234", 1000);
        self.insert_user(username, Some(hash), false, None).await
    }

    pub async fn insert_user(
        &self,
        username: &str,
        password_hash: Option<String>,
        superuser: bool,
        external: Option<&str>,
    ) -> User {
        self.store()
            .create_user(
                NewUser {
                    username: username.into(),
                    email: format!("{username}@example.com"),
                    first_name: String::new(),
                    last_name: String::new(),
                    password_hash,
                    is_superuser: superuser,
                    is_system_auditor: false,
                    external_account: external.map(str::to_owned),
                    ldap_dn: String::new(),
                    created_at: self.clock.now_value(),
                },
                None,
            )
            .await
            .expect("create user")
    }

    pub async fn user_by_id(&self, id: UserId) -> User {
        self.store().user_by_id(id).await.unwrap().unwrap()
    }

    /// Creates an LDAP-managed user: no local password, `external_account` `ldap`.
    pub async fn ldap_user(&self, username: &str) -> User {
        self.store()
            .create_user(
                NewUser {
                    username: username.into(),
                    email: format!("{username}@example.com"),
                    first_name: String::new(),
                    last_name: String::new(),
                    password_hash: None,
                    is_superuser: false,
                    is_system_auditor: false,
                    external_account: Some("ldap".into()),
                    ldap_dn: format!("uid={username},ou=people,dc=example,dc=com"),
                    created_at: self.clock.now_value(),
                },
                None,
            )
            .await
            .expect("create ldap user")
    }

    /// Creates a system auditor with the default password.
    pub async fn auditor(&self, username: &str) -> User {
        let hash = hash_password(&Argon2Params::FLOOR, PASSWORD, &SeededRng::new(9)).unwrap();
        self.store()
            .create_user(
                NewUser {
                    username: username.into(),
                    email: format!("{username}@example.com"),
                    first_name: String::new(),
                    last_name: String::new(),
                    password_hash: Some(hash),
                    is_superuser: false,
                    is_system_auditor: true,
                    external_account: None,
                    ldap_dn: String::new(),
                    created_at: self.clock.now_value(),
                },
                None,
            )
            .await
            .expect("create auditor")
    }

    /// Disables a user through the store (as an admin action would).
    pub async fn deactivate(&self, user: &User) {
        self.store()
            .update_user(
                user.id,
                UserPatch {
                    is_active: Some(false),
                    ..UserPatch::default()
                },
                None,
            )
            .await
            .expect("deactivate");
        // A write straight into the store, as another process would make it: the node
        // learns of it by its next change-log poll, run here (`docs/cluster.md`).
        self.state.changes.catch_up(&self.state).await;
    }

    /// A session inserted straight into the store for `user` (for users that cannot log in
    /// through the form, e.g. LDAP users when no directory is configured), with a CSRF token
    /// bound to it, as a browser would hold after a login.
    pub async fn session_for(&self, user: &User) -> Session<'_> {
        let token = PlainToken::generate(TokenKind::Session, self.state.rng.as_ref());
        let now = self.clock.now_value();
        let idle = self.state.settings.get().auth.session_cookie_age;
        self.store()
            .create_session(
                NewSession {
                    hash: token.hash(),
                    user_id: user.id,
                    times: SessionTimes::new(
                        now,
                        time::Duration::seconds(idle),
                        time::Duration::seconds(self.state.config.session.absolute_timeout),
                    ),
                    auth_generation: user.auth_generation,
                },
                None,
                None,
            )
            .await
            .expect("create session");
        let csrf = self
            .state
            .csrf
            .mint(self.state.rng.as_ref(), Some(&token.hash()));
        Session {
            app: self,
            session: Some(token.expose().to_owned()),
            csrf,
            last: Resp::empty(),
        }
    }

    /// The stored row of the session with id `session_id`, if it exists.
    pub async fn stored_session(&self, session_id: &str) -> Option<SessionRecord> {
        let hash = session_hash(session_id);
        self.store()
            .session_with_user(&hash)
            .await
            .expect("session lookup")
            .map(|(record, _)| record)
    }

    /// A fresh anonymous CSRF token, as `GET /api/` hands out.
    pub async fn anonymous_csrf(&self) -> String {
        self.get("/api/")
            .send()
            .await
            .cookie("csrftoken")
            .expect("csrftoken cookie")
    }

    /// Logs in through the CSRF form and returns a session client.
    pub async fn login(&self, username: &str, password: &str) -> Session<'_> {
        let s = self.try_login(username, password).await;
        assert_eq!(
            s.last.status,
            StatusCode::FOUND,
            "login failed: {}",
            s.last.text()
        );
        s
    }

    pub async fn try_login(&self, username: &str, password: &str) -> Session<'_> {
        self.login_carrying(username, password, None).await
    }

    /// Logs in like `try_login`, with `extra_cookie` (e.g. a planted `awx_sessionid=…`)
    /// sent on both the form GET and the POST.
    pub async fn login_carrying(
        &self,
        username: &str,
        password: &str,
        extra_cookie: Option<&str>,
    ) -> Session<'_> {
        let mut get = self.get("/api/login/");
        if let Some(c) = extra_cookie {
            get = get.header("cookie", c);
        }
        let page = get.send().await;
        let csrf = page.cookie("csrftoken").expect("csrftoken cookie");
        let form = serde_urlencoded::to_string([
            ("username", username),
            ("password", password),
            ("next", "/api/"),
        ])
        .unwrap();
        let resp = self
            .post("/api/login/")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-csrftoken", &csrf)
            .header("referer", "http://127.0.0.1:8052/api/login/")
            .header(
                "cookie",
                &match extra_cookie {
                    Some(c) => format!("csrftoken={csrf}; {c}"),
                    None => format!("csrftoken={csrf}"),
                },
            )
            .body(form)
            .send()
            .await;
        let session = resp.cookie("awx_sessionid");
        let csrf = resp.cookie("csrftoken").unwrap_or(csrf);
        Session {
            app: self,
            session,
            csrf,
            last: resp,
        }
    }

    /// Flushes pending session renewals as the background task would.
    pub async fn flush_renewals(&self) -> usize {
        let idle = time::Duration::seconds(self.state.settings.get().auth.session_cookie_age);
        self.state
            .renewals
            .flush(self.store(), &self.state.caches.sessions, idle, false)
            .await
            .unwrap()
    }

    pub async fn patch_settings(&self, admin_pw: &str, body: Value) -> Resp {
        self.req(Method::PATCH, "/api/v2/settings/all/")
            .basic("admin", admin_pw)
            .json(&body)
            .send()
            .await
    }

    /// Changes settings as `admin` (default password) and insists it worked.
    pub async fn set(&self, body: Value) {
        let r = self.patch_settings(PASSWORD, body).await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "settings PATCH failed: {}",
            r.text()
        );
    }
}

/// The store key of a session id.
pub fn session_hash(session_id: &str) -> TokenHash {
    token::parse(TokenKind::Session, session_id).expect("well-formed session id")
}

/// `Basic <base64(user:pw)>`.
pub fn basic_value(user: &str, pw: &str) -> String {
    let v = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pw}"));
    format!("Basic {v}")
}

trait NowValue {
    fn now_value(&self) -> time::OffsetDateTime;
}

impl NowValue for FakeClock {
    fn now_value(&self) -> time::OffsetDateTime {
        use portcullis_core::clock::Clock;
        self.now()
    }
}

/// A request under construction.
pub struct RequestBuilder<'a> {
    app: &'a TestApp,
    inner: axum::http::request::Builder,
    body: Body,
    peer: SocketAddr,
}

impl RequestBuilder<'_> {
    pub fn header(mut self, k: &str, v: &str) -> Self {
        self.inner = self.inner.header(k, v);
        self
    }

    /// A header with arbitrary (possibly non-UTF-8) bytes.
    pub fn header_bytes(mut self, k: &str, v: &[u8]) -> Self {
        let v = axum::http::HeaderValue::from_bytes(v).expect("header value");
        self.inner = self.inner.header(k, v);
        self
    }

    /// The socket peer the request comes from.
    pub fn peer(mut self, ip: [u8; 4]) -> Self {
        self.peer = SocketAddr::from((ip, 40000));
        self
    }

    pub fn basic(self, user: &str, pw: &str) -> Self {
        self.header("authorization", &basic_value(user, pw))
    }

    pub fn form(self, pairs: &[(&str, &str)]) -> Self {
        let s = self.header("content-type", "application/x-www-form-urlencoded");
        s.body(serde_urlencoded::to_string(pairs).unwrap())
    }

    pub fn json(self, v: &Value) -> Self {
        let mut s = self.header("content-type", "application/json");
        s.body = Body::from(v.to_string());
        s
    }

    pub fn body(mut self, b: impl Into<Body>) -> Self {
        self.body = b.into();
        self
    }

    pub async fn send(self) -> Resp {
        let req = self.inner.body(self.body).expect("request");
        self.app.send_from(req, self.peer).await
    }
}

/// A response with its body read.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    /// A placeholder for sessions that were not created by a request.
    pub fn empty() -> Self {
        Self {
            status: StatusCode::OK,
            headers: HeaderMap::new(),
            body: Vec::new(),
        }
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    }

    /// Every value of header `name`.
    pub fn header_all(&self, name: &str) -> Vec<String> {
        self.headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    /// The keys of the JSON body (an object), in order.
    pub fn json_keys(&self) -> Vec<String> {
        self.json()
            .as_object()
            .unwrap_or_else(|| panic!("not an object: {}", self.text()))
            .keys()
            .cloned()
            .collect()
    }

    pub fn header_count(&self, name: &str) -> usize {
        self.headers.get_all(name).iter().count()
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect()
    }

    /// The full `Set-Cookie` line for `name`.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.set_cookies()
            .into_iter()
            .find(|c| c.starts_with(&format!("{name}=")))
    }

    /// The value set for cookie `name`.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let line = self.set_cookie(name)?;
        let first = line.split(';').next()?;
        Some(first.split_once('=')?.1.to_owned())
    }
}

/// A browser-like session: the session cookie plus the CSRF cookie.
pub struct Session<'a> {
    pub app: &'a TestApp,
    pub session: Option<String>,
    pub csrf: String,
    pub last: Resp,
}

impl Session<'_> {
    pub fn cookie_header(&self) -> String {
        match &self.session {
            Some(s) => format!("csrftoken={}; awx_sessionid={s}", self.csrf),
            None => format!("csrftoken={}", self.csrf),
        }
    }

    /// A request carrying the cookies only (no CSRF header).
    pub fn req(&self, method: Method, path: &str) -> RequestBuilder<'_> {
        self.app
            .req(method, path)
            .header("cookie", &self.cookie_header())
    }

    /// A request carrying the cookies, `X-CSRFToken` and `Referer`, as AWX's CLI does.
    pub fn csrf_req(&self, method: Method, path: &str) -> RequestBuilder<'_> {
        self.req(method, path)
            .header("x-csrftoken", &self.csrf)
            .header("referer", &format!("http://127.0.0.1:8052{path}"))
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.req(Method::GET, path).send().await
    }

    /// A console form post as a browser sends it: the cookies, the `Origin`, and the form
    /// with its `csrfmiddlewaretoken` field (no CSRF header).
    pub async fn console_post(&self, path: &str, pairs: &[(&str, &str)]) -> Resp {
        let mut all: Vec<(&str, &str)> = vec![("csrfmiddlewaretoken", self.csrf.as_str())];
        all.extend_from_slice(pairs);
        self.req(Method::POST, path)
            .header("host", "127.0.0.1:8052")
            .header("origin", "http://127.0.0.1:8052")
            .form(&all)
            .send()
            .await
    }

    /// An htmx request as the console's pages send it: `HX-Request` and the CSRF header.
    pub fn htmx(&self, method: Method, path: &str) -> RequestBuilder<'_> {
        self.req(method, path)
            .header("hx-request", "true")
            .header("host", "127.0.0.1:8052")
            .header("origin", "http://127.0.0.1:8052")
            .header("x-csrftoken", &self.csrf)
    }

    /// Logs in through the console's own login form (`/console/login/`).
    pub async fn console_login<'a>(
        app: &'a TestApp,
        username: &str,
        password: &str,
    ) -> Session<'a> {
        let page = app.get("/console/login/").send().await;
        let csrf = page.cookie("csrftoken").expect("csrftoken cookie");
        let resp = app
            .post("/console/login/")
            .header("cookie", &format!("csrftoken={csrf}"))
            .header("host", "127.0.0.1:8052")
            .header("origin", "http://127.0.0.1:8052")
            .form(&[
                ("csrfmiddlewaretoken", csrf.as_str()),
                ("username", username),
                ("password", password),
                ("next", "/console/"),
            ])
            .send()
            .await;
        let session = resp.cookie("awx_sessionid");
        let csrf = resp.cookie("csrftoken").unwrap_or(csrf);
        Session {
            app,
            session,
            csrf,
            last: resp,
        }
    }

    /// The session id (panics when the session was not established).
    pub fn id(&self) -> &str {
        self.session.as_deref().expect("no session id")
    }

    /// Adopts the cookies a response rotated (password change, re-login).
    pub fn adopt(&mut self, resp: &Resp) {
        if let Some(s) = resp.cookie("awx_sessionid") {
            self.session = Some(s);
        }
        if let Some(c) = resp.cookie("csrftoken") {
            self.csrf = c;
        }
    }
}

/// Runs each listed scenario on SQLite and on PostgreSQL, each on an app made by
/// `$builder(backend).build()` (a test crate's own [`Builder`] with its routes mounted).
#[macro_export]
macro_rules! on_both_backends {
    ($builder:path; $($name:ident),* $(,)?) => {
        $(
            mod $name {
                use $crate::testing::Backend;
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = $builder(Backend::Sqlite).build().await.expect("sqlite app");
                    super::$name(app).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    match $builder(Backend::Postgres).build().await {
                        Some(app) => super::$name(app).await,
                        None => eprintln!("SKIP {}::postgres: PostgreSQL unreachable", module_path!()),
                    }
                }
            }
        )*
    };
}

/// Asserts AWX's generic 401: status, exact challenge, exact body.
#[track_caller]
pub fn assert_generic_401(r: &Resp) {
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
    assert_eq!(r.header_all("www-authenticate"), vec![CHALLENGE.to_owned()]);
    assert_eq!(r.json(), serde_json::json!({ "detail": NOT_AUTHENTICATED }));
    assert!(!r.text().contains("Invalid username/password."));
}

/// Asserts the token 401: the generic body with `error="invalid_token"` in the challenge.
#[track_caller]
pub fn assert_token_401(r: &Resp) {
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
    assert_eq!(
        r.header_all("www-authenticate"),
        vec![TOKEN_CHALLENGE.to_owned()]
    );
    assert_eq!(r.json(), serde_json::json!({ "detail": NOT_AUTHENTICATED }));
}

/// Asserts AWX's generic 403.
#[track_caller]
pub fn assert_generic_403(r: &Resp) {
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_eq!(r.json(), serde_json::json!({ "detail": NO_PERMISSION }));
}

/// Asserts an API-view CSRF refusal with exactly `reason`.
#[track_caller]
pub fn assert_csrf_403(r: &Resp, reason: &str) {
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_eq!(
        r.json(),
        serde_json::json!({ "detail": format!("CSRF Failed: {reason}") })
    );
}

/// Asserts the form views' CSRF failure page with exactly `reason`.
#[track_caller]
pub fn assert_csrf_page(r: &Resp, reason: &str) {
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("text/html; charset=utf-8")
    );
    let body = r.text();
    assert!(body.contains("Forbidden (403)"), "{body}");
    assert!(
        body.contains("CSRF verification failed. Request aborted."),
        "{body}"
    );
    assert!(
        body.contains(&format!(
            "Reason given for failure: {}</p>",
            html_escape(reason)
        )),
        "expected reason {reason:?} in {body}"
    );
    assert!(r.set_cookie("awx_sessionid").is_none());
}

/// Like [`on_both_backends!`], for scenarios that need their own configuration: each
/// scenario takes a [`Builder`] and builds the app itself (`None` from `build` means the
/// PostgreSQL server is unreachable; the scenario then returns and the skip is reported).
#[macro_export]
macro_rules! on_both_backends_configured {
    ($builder:path; $($name:ident),* $(,)?) => {
        $(
            mod $name {
                use $crate::testing::Backend;
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($builder(Backend::Sqlite)).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($builder(Backend::Postgres)).await;
                }
            }
        )*
    };
}

/// `text` as the templates render it (askama's HTML escaping).
pub fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// `Authorization: Bearer <token>`.
impl RequestBuilder<'_> {
    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }
}

/// An OAuth2 application as its creating 201 showed it.
#[derive(Debug, Clone)]
pub struct CreatedApp {
    /// Application id.
    pub id: i64,
    /// Public client id.
    pub client_id: String,
    /// Clear client secret (confidential clients only).
    pub secret: Option<String>,
    /// The whole 201 body.
    pub body: Value,
}

impl TestApp {
    /// Creates a personal access token for `user` over Basic (`POST /api/v2/tokens/`) and
    /// returns its id and clear value; panics unless the answer is 201.
    pub async fn create_pat(&self, user: &str, pw: &str, scope: &str) -> (i64, String) {
        let r = self
            .post("/api/v2/tokens/")
            .basic(user, pw)
            .json(&serde_json::json!({ "scope": scope }))
            .send()
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "create PAT: {}", r.text());
        let body = r.json();
        (
            body["id"].as_i64().expect("token id"),
            body["token"].as_str().expect("clear token").to_owned(),
        )
    }

    /// Creates an application as `admin` (default password, which must exist) from `body`;
    /// panics unless the answer is 201.
    pub async fn create_app(&self, body: Value) -> CreatedApp {
        let r = self
            .post("/api/v2/applications/")
            .basic("admin", PASSWORD)
            .json(&body)
            .send()
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "create app: {}", r.text());
        let body = r.json();
        CreatedApp {
            id: body["id"].as_i64().expect("application id"),
            client_id: body["client_id"].as_str().expect("client_id").to_owned(),
            secret: body["client_secret"].as_str().map(str::to_owned),
            body,
        }
    }

    /// Creates a confidential `password`-grant application named `name`.
    pub async fn password_app(&self, name: &str) -> CreatedApp {
        self.create_app(serde_json::json!({
            "name": name,
            "client_type": "confidential",
            "authorization_grant_type": "password",
        }))
        .await
    }

    /// `POST /api/o/token/` with Basic client authentication and a form body.
    pub async fn oauth_token(&self, client: &CreatedApp, pairs: &[(&str, &str)]) -> Resp {
        self.post("/api/o/token/")
            .basic(&client.client_id, client.secret.as_deref().unwrap_or(""))
            .form(pairs)
            .send()
            .await
    }

    /// A password grant for `user` (default password) through `client`; returns the
    /// access and refresh tokens, panicking unless the answer is 200.
    pub async fn password_grant(
        &self,
        client: &CreatedApp,
        user: &str,
        scope: Option<&str>,
    ) -> (String, String) {
        let mut pairs = vec![
            ("grant_type", "password"),
            ("username", user),
            ("password", PASSWORD),
        ];
        if let Some(s) = scope {
            pairs.push(("scope", s));
        }
        let r = self.oauth_token(client, &pairs).await;
        assert_eq!(r.status, StatusCode::OK, "password grant: {}", r.text());
        let body = r.json();
        (
            body["access_token"]
                .as_str()
                .expect("access_token")
                .to_owned(),
            body["refresh_token"]
                .as_str()
                .expect("refresh_token")
                .to_owned(),
        )
    }

    /// `GET /api/v2/me/` with `token`: the status only.
    pub async fn me_with(&self, token: &str) -> StatusCode {
        self.get("/api/v2/me/").bearer(token).send().await.status
    }
}

/// Runs `fs` concurrently in the calling task and answers their outputs in order: the
/// store's transactions decide races, as they would for requests on separate connections.
pub async fn join_all<F: std::future::Future>(fs: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = fs.into_iter().map(Box::pin).collect();
    let mut done: Vec<Option<F::Output>> = (0..pinned.len()).map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if done[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(r) => done[i] = Some(r),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    done.into_iter().map(|r| r.unwrap()).collect()
}
