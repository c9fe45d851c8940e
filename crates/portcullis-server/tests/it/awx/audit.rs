//! Issue 9: every authentication success and failure is one structured audit record (target
//! `audit`) with the user, the client, the source address, the outcome and the request id;
//! values are JSON strings, so a hostile username forges nothing, and no secret is logged.
//! The records are captured from the real `tracing` pipeline in JSON, as an operator with
//! `PORTCULLIS_LOG_FORMAT=json` reads them.

use crate::harness::{PASSWORD, TestApp};
use crate::mdr::session::{confirm, fixture, pair};
use crate::on_both_backends;
use axum::http::StatusCode;
use portcullis_core::rng::OsRng;
use portcullis_core::token::{PlainToken, TokenKind};
use serde_json::Value;
use std::io::Write;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock};

static LOG: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Capture;

impl Write for Capture {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        LOG.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the process-wide JSON subscriber once.
pub fn capture() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let subscriber = tracing_subscriber::fmt()
            .json()
            .with_writer(|| Capture)
            .with_max_level(tracing::Level::INFO)
            .finish();
        // Another test binary may not share this process; in this one we are first.
        let _ = tracing::subscriber::set_global_default(subscriber);
    });
}

/// The `fields` of every audit record whose `key` field equals `value`.
pub fn records(key: &str, value: &str) -> Vec<Value> {
    let text = String::from_utf8(LOG.lock().unwrap().clone()).unwrap();
    text.lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["target"] == "audit")
        .map(|v| v["fields"].clone())
        .filter(|f| f[key] == value)
        .collect()
}

/// Every captured record (any target) whose `message` is `message`, as its fields.
pub fn log_records(message: &str) -> Vec<Value> {
    all_log()
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| v["fields"].clone())
        .filter(|f| f["message"] == message)
        .collect()
}

fn all_log() -> String {
    String::from_utf8(LOG.lock().unwrap().clone()).unwrap()
}

/// The one record named `event` among `recs`, with the fields every record must carry.
fn one(recs: &[Value], event: &str, outcome: &str) -> Value {
    let found: Vec<&Value> = recs.iter().filter(|f| f["event"] == event).collect();
    assert_eq!(found.len(), 1, "{event}: {recs:#?}");
    let f = found[0].clone();
    assert_eq!(f["outcome"], outcome, "{f}");
    assert_eq!(f["source"], "127.0.0.1", "{f}");
    let id = f["request_id"].as_str().unwrap_or_default();
    assert_eq!(id.len(), 32, "request id of {f}");
    f
}

pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!("{prefix}{}", N.fetch_add(1, Ordering::SeqCst))
}

async fn every_authentication_outcome_is_one_structured_event(app: TestApp) {
    capture();
    // The MDR fixture creates `admin` too; it is used throughout.
    let f = fixture(&app).await;
    let name = unique("auditee");
    let user = app.user(&name).await;

    // Form login: success, failure.
    app.login(&name, PASSWORD).await;
    let s = app.try_login(&name, "wrong-password-1").await;
    assert_eq!(s.last.status, StatusCode::UNAUTHORIZED);
    let recs = records("user", &name);
    let ok = one(&recs, "login_success", "success");
    assert_eq!(ok["via"], "form");
    assert_eq!(ok["user_id"], user.id.0);
    assert_eq!(
        one(&recs, "login_failure", "failure")["reason"],
        "bad_credentials"
    );

    // Basic: success (with method and path, as AWX logs it), failure.
    let r = app.get("/api/v2/me/").basic(&name, PASSWORD).send().await;
    assert_eq!(r.status, StatusCode::OK);
    let r = app
        .get("/api/v2/me/")
        .basic(&name, "wrong-password-2")
        .send()
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let recs = records("user", &name);
    let ok = one(&recs, "basic_success", "success");
    assert_eq!(
        (&ok["method"], &ok["path"]),
        (&"GET".into(), &"/api/v2/me/".into())
    );
    one(&recs, "basic_failure", "failure");

    // Token create and revoke.
    let (id, pat) = app.create_pat(&name, PASSWORD, "write").await;
    let r = app
        .delete(&format!("/api/v2/tokens/{id}/"))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    let recs = records("user", &name);
    let created = one(&recs, "token_created", "success");
    assert_eq!(created["token"].as_str().map(str::len), Some(8));
    let revoked = one(&recs, "token_revoked", "success");
    assert_eq!(revoked["actor"], "admin");
    assert_eq!(revoked["token"], id.to_string());

    // Bearer failure: a well-formed token nobody issued, named only by its hash prefix.
    let ghost = PlainToken::generate(TokenKind::PersonalAccess, &OsRng);
    let r = app.get("/api/v2/me/").bearer(ghost.expose()).send().await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    one(
        &records("token", &ghost.hash().log_ref()),
        "bearer_invalid",
        "failure",
    );

    // /api/o/: password grant failure and success, refresh rotation, revoke_token.
    let client = app.password_app(&unique("audit-app")).await;
    let bad = app
        .oauth_token(
            &client,
            &[
                ("grant_type", "password"),
                ("username", &name),
                ("password", "nope-3"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let (_, refresh) = app.password_grant(&client, &name, None).await;
    let r = app
        .oauth_token(
            &client,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let rotated_refresh = r.json()["refresh_token"].as_str().unwrap().to_owned();
    let r = app
        .post("/api/o/revoke_token/")
        .basic(&client.client_id, client.secret.as_deref().unwrap())
        .form(&[("token", &rotated_refresh)])
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let recs = records("client_id", &client.client_id);
    let failed = recs
        .iter()
        .find(|f| f["event"] == "login_failure")
        .expect("password grant failure");
    assert_eq!(failed["via"], "password_grant");
    assert_eq!(failed["user"], name.as_str());
    assert_eq!(failed["source"], "127.0.0.1");
    let granted = one(&recs, "login_success", "success");
    assert_eq!(granted["user"], name.as_str());
    let rotated = one(&recs, "refresh_rotated", "success");
    assert_eq!(rotated["user_id"], user.id.0);
    let revoked = one(&recs, "token_revoked", "success");
    assert_eq!(revoked["via"], "revoke_token");
    assert_eq!(revoked["user_id"], user.id.0);

    // Lock: the sixth failure locks; the seventh attempt is refused unevaluated, with the user.
    for _ in 0..7 {
        app.get("/api/v2/me/")
            .basic(&name, "wrong-again")
            .send()
            .await;
    }
    one(&records("user", &name), "account_locked", "locked");

    // A hostile username is one JSON string: it plants no field and no line.
    let hostile = format!("{name}\" outcome=\"success\"\nFAKE");
    let s = app.try_login(&hostile, "whatever-4").await;
    assert_eq!(s.last.status, StatusCode::UNAUTHORIZED);
    one(&records("user", &hostile), "login_failure", "failure");
    assert!(!all_log().lines().any(|l| l.starts_with("FAKE")));

    // MDR exchange: success and failure, named by the customer's Client ID.
    let (access, _) = pair(&confirm(&app, &f.client_id, &f.bootstrap).await);
    let r = confirm(&app, &f.client_id, "a.b.c").await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let recs = records("client_id", &f.client_id);
    let ok = recs
        .iter()
        .find(|e| e["event"] == "mdr_exchange" && e["outcome"] == "success")
        .expect("exchange success");
    assert_eq!(ok["connection"], f.connection_id.as_str());
    assert_eq!(ok["source"], "127.0.0.1");
    assert!(
        recs.iter()
            .any(|e| e["event"] == "mdr_exchange" && e["outcome"] == "failure")
    );

    // No secret anywhere in the log.
    let log = all_log();
    for secret in [
        PASSWORD,
        pat.as_str(),
        refresh.as_str(),
        access.as_str(),
        &f.bootstrap,
    ] {
        assert!(!log.contains(secret), "a secret reached the log");
    }
}

on_both_backends!(every_authentication_outcome_is_one_structured_event);
