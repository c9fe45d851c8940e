//! Criterion benchmarks of the hot paths: password verification at the configured cost, the
//! credential-format check, and the whole authenticator chain per scheme (anonymous 401,
//! session cookie, Basic with the verified-credential cache, Bearer personal access token)
//! through the real router over a real SQLite store.

#![allow(
    clippy::allow_attributes,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    missing_docs,
    reason = "benchmark binary: setup failures should abort loudly"
)]

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use base64::Engine as _;
use criterion::{Criterion, criterion_group, criterion_main};
use portcullis_core::clock::SystemClock;
use portcullis_core::password::{Argon2Params, DjangoPbkdf2, hash_password, verify_password};
use portcullis_core::rng::OsRng;
use portcullis_core::token::{self, PlainToken, TokenKind};
use portcullis_server::{AppState, Config};
use portcullis_store::NewUser;
use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;
use tower::ServiceExt;

const PW: &str = "bench-password-1";

fn passwords(c: &mut Criterion) {
    let p = Argon2Params::FLOOR;
    let argon = hash_password(&p, PW, &OsRng).unwrap();
    let mut g = c.benchmark_group("password_verify");
    g.sample_size(20);
    g.bench_function("argon2id_m19456_t2_p1", |b| {
        b.iter(|| verify_password(&p, black_box(&argon), PW).unwrap())
    });
    // AWX's Django default (600 000 iterations), what imported users start with.
    let django = DjangoPbkdf2::encode(PW, "benchsalt", 600_000);
    g.sample_size(10);
    g.bench_function("django_pbkdf2_sha256_600k", |b| {
        b.iter(|| verify_password(&p, black_box(&django), PW).unwrap())
    });
    g.finish();
}

fn token_format(c: &mut Criterion) {
    let t = PlainToken::generate(TokenKind::Session, &OsRng);
    let value = t.expose().to_owned();
    c.bench_function("token_parse_and_hash", |b| {
        b.iter(|| token::parse(TokenKind::Session, black_box(&value)).unwrap())
    });
}

struct Fixture {
    app: axum::Router,
    session_cookie: String,
    basic: String,
    bearer: String,
    _dir: tempfile::TempDir,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}", dir.path().join("bench.db").display());
    let store = portcullis_store_sqlite::SqliteStore::connect(&url)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let mut config = Config::default();
    config.mdr.signing.key_encryption_key_path = dir.path().join("mdr.kek").display().to_string();
    let state = AppState::new(
        config,
        Arc::new(store),
        Arc::new(SystemClock),
        Arc::new(OsRng),
    )
    .await
    .unwrap();
    let hash = hash_password(&Argon2Params::FLOOR, PW, &OsRng).unwrap();
    state
        .store
        .create_user(
            NewUser {
                username: "bench".into(),
                email: String::new(),
                first_name: String::new(),
                last_name: String::new(),
                password_hash: Some(hash),
                is_superuser: true,
                is_system_auditor: false,
                external_account: None,
                ldap_dn: String::new(),
                created_at: portcullis_core::clock::Clock::now(&SystemClock),
            },
            None,
        )
        .await
        .unwrap();
    let app = portcullis_server::app(state);
    // Log in once through the real form.
    let page = send(
        &app,
        Request::get("/api/login/").body(Body::empty()).unwrap(),
    )
    .await;
    let csrf = cookie(&page, "csrftoken");
    let login = send(
        &app,
        Request::post("/api/login/")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-csrftoken", &csrf)
            .header("cookie", format!("csrftoken={csrf}"))
            .body(Body::from(format!("username=bench&password={PW}")))
            .unwrap(),
    )
    .await;
    let session = cookie(&login, "awx_sessionid");
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("bench:{PW}"))
    );
    let created = send(
        &app,
        Request::post("/api/v2/tokens/")
            .header("authorization", &basic)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(created.status(), 201);
    let body = axum::body::to_bytes(created.into_body(), usize::MAX)
        .await
        .unwrap();
    let token: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let bearer = format!("Bearer {}", token.get("token").unwrap().as_str().unwrap());
    Fixture {
        app,
        session_cookie: format!("awx_sessionid={session}"),
        basic,
        bearer,
        _dir: dir,
    }
}

async fn send(app: &axum::Router, mut req: Request<Body>) -> axum::response::Response {
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 1))));
    app.clone().oneshot(req).await.unwrap()
}

fn cookie(resp: &axum::response::Response, name: &str) -> String {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| {
            c.split(';')
                .next()?
                .strip_prefix(&format!("{name}="))
                .map(str::to_owned)
        })
        .unwrap()
}

fn chain(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let fx = rt.block_on(fixture());
    let mut g = c.benchmark_group("chain_get_me");
    g.bench_function("anonymous_401", |b| {
        b.to_async(&rt).iter(|| async {
            let r = send(
                &fx.app,
                Request::get("/api/v2/me/").body(Body::empty()).unwrap(),
            )
            .await;
            assert_eq!(r.status(), 401);
        })
    });
    g.bench_function("session_cookie", |b| {
        b.to_async(&rt).iter(|| async {
            let r = send(
                &fx.app,
                Request::get("/api/v2/me/")
                    .header("cookie", &fx.session_cookie)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
            assert_eq!(r.status(), 200);
        })
    });
    g.bench_function("basic_cached", |b| {
        b.to_async(&rt).iter(|| async {
            let r = send(
                &fx.app,
                Request::get("/api/v2/me/")
                    .header("authorization", &fx.basic)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
            assert_eq!(r.status(), 200);
        })
    });
    g.bench_function("bearer_pat", |b| {
        b.to_async(&rt).iter(|| async {
            let r = send(
                &fx.app,
                Request::get("/api/v2/me/")
                    .header("authorization", &fx.bearer)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
            assert_eq!(r.status(), 200);
        })
    });
    g.finish();
}

criterion_group!(benches, passwords, token_format, chain);
criterion_main!(benches);
