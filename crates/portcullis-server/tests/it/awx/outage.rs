//! Fail closed (`docs/awx-compat.md`, "Errors"; `docs/security.md`, "Fail closed"): when storage
//! fails for real, every request that needs it answers 503 `{"detail": "Service temporarily
//! unavailable."}` with `Retry-After` — never 401/403 (clients would discard valid credentials) and
//! never a 2xx — and service resumes without a restart once the database is back.
//!
//! No mock store: each scenario breaks the real database from a separate connection, the way
//! an operator or a crash would. The scenarios are backend-specific (how to break SQLite and
//! PostgreSQL differs), so they are plain tests rather than `on_both_backends!`.

use crate::harness::{Backend, PASSWORD, Resp, TestApp, assert_generic_401};
use axum::http::Method;
use serde_json::json;
use sqlx::Connection;
use std::time::{Duration, Instant};

#[track_caller]
fn assert_unavailable(r: &Resp) {
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"detail": "Service temporarily unavailable."})
    );
    assert_eq!(r.header("retry-after").as_deref(), Some("5"));
    assert!(r.set_cookie("awx_sessionid").is_none());
}

/// Polls `GET /api/v2/me/` with the session cookie until it answers 200 (≤ 10 s).
async fn wait_for_recovery(app: &TestApp, session_id: &str) -> Resp {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let r = app
            .get("/api/v2/me/")
            .header("cookie", &format!("awx_sessionid={session_id}"))
            .send()
            .await;
        if r.status == 200 || Instant::now() > deadline {
            return r;
        }
        // Anything but 200 or 503 while recovering would be a fail-open or a lost session.
        assert_eq!(r.status, 503, "{}", r.text());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn sqlite_app() -> TestApp {
    TestApp::new(Backend::Sqlite).await.expect("sqlite app")
}

async fn sqlite_side_connection(app: &TestApp) -> sqlx::SqliteConnection {
    sqlx::SqliteConnection::connect(&app.db_url)
        .await
        .expect("second SQLite connection")
}

/// The session table disappears under the running server (a broken migration, a restore of
/// the wrong file): every session lookup fails with "no such table", which must be a 503.
/// Renaming the table (instead of dropping it) lets the scenario restore it afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_session_lookups_fail_closed_while_the_session_table_is_missing() {
    let app = sqlite_app().await;
    app.admin().await;
    let s = app.login("admin", PASSWORD).await;
    let mut side = sqlite_side_connection(&app).await;
    sqlx::query("ALTER TABLE sessions RENAME TO sessions_offline")
        .execute(&mut side)
        .await
        .unwrap();

    assert_unavailable(&s.get("/api/v2/me/").await);
    assert_unavailable(&s.get("/api/v2/users/").await);
    let r = s
        .csrf_req(Method::PATCH, "/api/v2/settings/authentication/")
        .json(&json!({"SESSIONS_PER_USER": 2}))
        .send()
        .await;
    assert_unavailable(&r);
    // A login cannot create its session; a logout cannot delete one.
    let login = app.try_login("admin", PASSWORD).await;
    assert_unavailable(&login.last);
    assert_unavailable(&s.get("/api/logout/").await);
    // Open views still answer (their auth failures are ignored), without renewing anything.
    let r = s.get("/api/").await;
    assert_eq!(r.status, 200);
    assert!(r.header("session-timeout").is_none());
    // Requests that need no session table are unaffected; anonymous is still 401.
    assert_eq!(
        app.get("/api/v2/me/")
            .basic("admin", PASSWORD)
            .send()
            .await
            .status,
        200
    );
    assert_generic_401(&app.get("/api/v2/me/").send().await);

    sqlx::query("ALTER TABLE sessions_offline RENAME TO sessions")
        .execute(&mut side)
        .await
        .unwrap();
    // The refused logout did not end the session, and no restart is needed.
    let r = wait_for_recovery(&app, s.id()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(app.login("admin", PASSWORD).await.last.status, 302);
    assert_eq!(s.get("/api/logout/").await.status, 302);
    assert_generic_401(&s.get("/api/v2/me/").await);
}

/// A storage failure on `/api/o/token/` answers RFC 6749's 503 `temporarily_unavailable`
/// and is logged once with its cause and the request id, like every other surface's 503
/// (the RFC 6749 body cannot carry the cause, so the log is the only place it appears).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storage_failure_at_the_token_endpoint_is_logged_with_its_cause() {
    crate::awx::audit::capture();
    let app = sqlite_app().await;
    app.admin().await;
    app.user("alice").await;
    let ci = app.password_app("ci").await;
    let mut side = sqlite_side_connection(&app).await;
    sqlx::query("ALTER TABLE oauth_access_tokens RENAME TO oauth_access_tokens_offline")
        .execute(&mut side)
        .await
        .unwrap();
    let mut form = vec![
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", PASSWORD),
        ("client_id", ci.client_id.as_str()),
    ];
    if let Some(secret) = &ci.secret {
        form.push(("client_secret", secret.as_str()));
    }
    let r = app.post("/api/o/token/").form(&form).send().await;
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.json(), json!({"error": "temporarily_unavailable"}));
    assert_eq!(r.header("retry-after").as_deref(), Some("5"));
    let id = r.header("x-api-request-id").expect("request id header");
    let logged: Vec<_> = crate::awx::audit::log_records("request failed")
        .into_iter()
        .filter(|f| f["request_id"] == id.as_str())
        .collect();
    assert_eq!(logged.len(), 1, "{logged:#?}");
    assert_eq!(logged[0]["status"], 503);
    assert_eq!(logged[0]["path"], "/api/o/token/");
    let cause = logged[0]["cause"].as_str().unwrap_or_default();
    assert!(cause.starts_with("unavailable: "), "{cause}");

    sqlx::query("ALTER TABLE oauth_access_tokens_offline RENAME TO oauth_access_tokens")
        .execute(&mut side)
        .await
        .unwrap();
    let r = app.post("/api/o/token/").form(&form).send().await;
    assert_eq!(r.status, 200, "{}", r.text());
}

/// Another process holds SQLite's write lock past the 5 s busy timeout: every write gives up
/// with SQLITE_BUSY and must answer 503 (reads go on: WAL readers never wait for a writer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_writes_fail_closed_while_another_process_holds_the_write_lock() {
    let app = sqlite_app().await;
    let admin = app.admin().await;
    let s = app.login("admin", PASSWORD).await;
    let mut side = sqlite_side_connection(&app).await;
    sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut side)
        .await
        .unwrap();

    let started = Instant::now();
    let (login, settings, logout, rename, read) = tokio::join!(
        app.try_login("admin", PASSWORD),
        app.patch("/api/v2/settings/authentication/")
            .basic("admin", PASSWORD)
            .json(&json!({"SESSIONS_PER_USER": 2}))
            .send(),
        s.get("/api/logout/"),
        app.patch(&format!("/api/v2/users/{}/", admin.id))
            .basic("admin", PASSWORD)
            .json(&json!({"first_name": "Ada"}))
            .send(),
        s.get("/api/v2/me/"),
    );
    assert!(
        started.elapsed() >= Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    assert_unavailable(&login.last);
    assert_unavailable(&settings);
    assert_unavailable(&logout);
    assert_unavailable(&rename);
    assert_eq!(read.status, 200, "{}", read.text());

    sqlx::query("ROLLBACK").execute(&mut side).await.unwrap();
    // Nothing was half-written, and everything works again without a restart.
    assert_eq!(app.user_by_id(admin.id).await.first_name, "");
    assert_eq!(app.state.settings.get().auth.sessions_per_user, -1);
    assert_eq!(s.get("/api/v2/me/").await.status, 200);
    assert_eq!(app.login("admin", PASSWORD).await.last.status, 302);
    let r = app
        .patch("/api/v2/settings/authentication/")
        .basic("admin", PASSWORD)
        .json(&json!({"SESSIONS_PER_USER": 2}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

/// The PostgreSQL server the tests run against (see `portcullis_store_postgres::testing`).
fn pg_server_url() -> String {
    std::env::var(portcullis_store_postgres::testing::URL_VAR)
        .unwrap_or_else(|_| portcullis_store_postgres::testing::DEFAULT_URL.to_owned())
}

/// Closes the test database to new connections and kills the server's existing ones; `false`
/// reopens it.
async fn pg_database_offline(admin: &mut sqlx::PgConnection, db: &str, offline: bool) {
    let allow = if offline { "false" } else { "true" };
    // `db` is a name the test harness generated (prefix + hex digits), safe to quote.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "ALTER DATABASE \"{db}\" ALLOW_CONNECTIONS {allow}"
    )))
    .execute(&mut *admin)
    .await
    .unwrap();
    if offline {
        sqlx::query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid()",
        )
        .bind(db)
        .execute(&mut *admin)
        .await
        .unwrap();
    }
}

/// PostgreSQL goes away (every connection killed, new ones refused) and comes back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_outage_gives_503_and_service_resumes_without_restart() {
    let Some(app) = TestApp::new(Backend::Postgres).await else {
        eprintln!("SKIP postgres outage: PostgreSQL unreachable");
        return;
    };
    app.admin().await;
    let s = app.login("admin", PASSWORD).await;
    let db = app
        .db_url
        .rsplit('/')
        .next()
        .and_then(|d| d.split('?').next())
        .unwrap()
        .to_owned();
    assert!(db.starts_with("portcullis_t_"), "{db}");
    let mut admin = sqlx::PgConnection::connect(&pg_server_url()).await.unwrap();
    pg_database_offline(&mut admin, &db, true).await;

    assert_unavailable(&s.get("/api/v2/me/").await);
    assert_unavailable(&app.get("/api/v2/me/").basic("admin", PASSWORD).send().await);
    assert_unavailable(
        &app.get("/api/v2/users/")
            .basic("admin", "wrong")
            .send()
            .await,
    );
    assert_unavailable(&app.try_login("admin", PASSWORD).await.last);
    assert_unavailable(&s.get("/api/logout/").await);
    let r = s
        .csrf_req(Method::PATCH, "/api/v2/settings/authentication/")
        .json(&json!({"SESSIONS_PER_USER": 2}))
        .send()
        .await;
    assert_unavailable(&r);
    // Open views and anonymous requests need no database.
    assert_eq!(app.get("/api/").send().await.status, 200);
    assert_generic_401(&app.get("/api/v2/me/").send().await);

    pg_database_offline(&mut admin, &db, false).await;
    let r = wait_for_recovery(&app, s.id()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        app.get("/api/v2/me/")
            .basic("admin", PASSWORD)
            .send()
            .await
            .status,
        200
    );
    assert_eq!(app.login("admin", PASSWORD).await.last.status, 302);
    // The logout refused during the outage did not happen.
    assert_eq!(s.get("/api/logout/").await.status, 302);
    assert_generic_401(&s.get("/api/v2/me/").await);
}
