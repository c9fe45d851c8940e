//! Body limits on every surface (issue 9, `docs/security.md`, "Input handling"): a body whose
//! `Content-Length` is above the endpoint's limit is refused with the surface's 413 before a byte
//! of it is read, and a body that does not arrive within `limits.body_read_timeout_seconds` gets
//! the surface's 408 and a closed connection, instead of holding the request open.
//!
//! The bodies here declare their length and then never deliver (or stall after a first
//! chunk), so only the early check or the read timeout can answer; every wait is bounded
//! generously so a regression fails instead of hanging.

use crate::harness::mdr::multipart;
use crate::harness::{Builder, PASSWORD, Resp, TestApp};
use crate::on_both_backends;
use crate::on_both_backends_configured;
use axum::body::{Body, Bytes, HttpBody};
use hyper::body::{Frame, SizeHint};
use serde_json::{Value, json};
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

const TOO_LARGE: &str = "Request body is too large.";
const BODY_TIMEOUT: &str = "The request body was not received in time.";

/// A body that declares `declared` bytes, yields `first` (if any), then waits forever.
struct Stalled {
    first: Option<Bytes>,
    declared: u64,
}

impl HttpBody for Stalled {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.first.take() {
            Some(b) => Poll::Ready(Some(Ok(Frame::data(b)))),
            None => Poll::Pending,
        }
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.declared)
    }
}

/// A body declaring `declared` bytes that never sends one.
fn silent(declared: u64) -> Body {
    Body::new(Stalled {
        first: None,
        declared,
    })
}

/// A body declaring `declared` bytes that sends `first` and then stalls.
fn stalling(first: &'static str, declared: u64) -> Body {
    Body::new(Stalled {
        first: Some(Bytes::from_static(first.as_bytes())),
        declared,
    })
}

/// Sends, insisting on an answer within a bound far above any configured timeout the
/// scenario relies on (so a slow machine cannot fail it) and far below the 30 s handler
/// timeout (so waiting for the body cannot pass it).
async fn within_bound(send: impl std::future::Future<Output = Resp>) -> Resp {
    tokio::time::timeout(Duration::from_secs(15), send)
        .await
        .expect("no answer within 15 s: the server is waiting for the body")
}

#[track_caller]
fn assert_status_json(r: &Resp, status: u16, body: &Value) {
    assert_eq!(r.status.as_u16(), status, "{}", r.text());
    assert_eq!(&r.json(), body);
}

async fn a_declared_length_over_the_limit_is_413_before_the_body_is_read(app: TestApp) {
    app.admin().await;
    let client_id = app.mdr_customer("Acme").await;
    let conn = app
        .mdr_connection(&client_id, "SIEM export", "MDR Administrator", &[])
        .await;
    let big = 10 * 1024 * 1024 * 1024_u64;

    // AWX JSON view (limit 1 MiB).
    let r = within_bound(
        app.post("/api/v2/users/")
            .basic("admin", PASSWORD)
            .header("content-type", "application/json")
            .body(silent(2 * 1024 * 1024))
            .send(),
    )
    .await;
    assert_status_json(&r, 413, &json!({ "detail": TOO_LARGE }));

    // The login form (64 KiB).
    let csrf = app.anonymous_csrf().await;
    let r = within_bound(
        app.post("/api/login/")
            .header("cookie", &format!("csrftoken={csrf}"))
            .header("x-csrftoken", &csrf)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(silent(70 * 1024))
            .send(),
    )
    .await;
    assert_status_json(&r, 413, &json!({ "detail": TOO_LARGE }));

    // `/api/o/token/` (64 KiB), in the OAuth dialect.
    let r = within_bound(
        app.post("/api/o/token/")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(silent(big))
            .send(),
    )
    .await;
    assert_status_json(
        &r,
        413,
        &json!({"error": "invalid_request", "error_description": TOO_LARGE}),
    );

    // MDR `session/confirm` (64 KiB) and a resource call (1 MiB), in the MDR dialect.
    let r = within_bound(
        app.post(&format!("/api/v1/{client_id}/session/confirm"))
            .header("content-type", "application/json")
            .body(silent(70 * 1024))
            .send(),
    )
    .await;
    assert_status_json(&r, 413, &json!({"error": "request body too large"}));
    let r = within_bound(
        app.post(&format!("/api/v1/{client_id}/incidents/list"))
            .bearer(&conn.access_token)
            .header("content-type", "application/json")
            .body(silent(big))
            .send(),
    )
    .await;
    assert_status_json(&r, 413, &json!({"error": "request body too large"}));

    // An upload above the attachment limit plus its envelope allowance.
    let r = within_bound(
        app.post(&format!("/api/v1/{client_id}/attachments/upload"))
            .bearer(&conn.access_token)
            .header(
                "content-type",
                "multipart/form-data; boundary=----portcullis-test-boundary",
            )
            .body(silent(big))
            .send(),
    )
    .await;
    assert_status_json(&r, 413, &json!({"error": "attachment too large"}));

    // The console's JSON API.
    let r = within_bound(
        app.post("/console/api/mdr/customers")
            .basic("admin", PASSWORD)
            .header("content-type", "application/json")
            .body(silent(big))
            .send(),
    )
    .await;
    assert_status_json(&r, 413, &json!({"error": "request body too large"}));

    // Within the limit the same endpoints still work.
    let r = app
        .post("/console/api/mdr/customers")
        .basic("admin", PASSWORD)
        .json(&json!({"name": "Globex"}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let body = multipart(
        "----portcullis-test-boundary",
        &[("meta", None, b"{\"incident_id\": \"none\"}")],
    );
    let r = app
        .post(&format!("/api/v1/{client_id}/attachments/upload"))
        .bearer(&conn.access_token)
        .header(
            "content-type",
            "multipart/form-data; boundary=----portcullis-test-boundary",
        )
        .body(body)
        .send()
        .await;
    assert_status_json(&r, 400, &json!({"error": "'file' is required"}));
}

async fn an_oversized_oauth_token_form_is_413_not_400(app: TestApp) {
    app.admin().await;
    let client = app.password_app("cli").await;
    let big = "p".repeat(70 * 1024);
    let r = app
        .oauth_token(
            &client,
            &[
                ("grant_type", "password"),
                ("username", "admin"),
                ("password", big.as_str()),
            ],
        )
        .await;
    assert_status_json(
        &r,
        413,
        &json!({"error": "invalid_request", "error_description": TOO_LARGE}),
    );
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    // The same form under the limit is an ordinary failed grant.
    let r = app
        .oauth_token(
            &client,
            &[
                ("grant_type", "password"),
                ("username", "admin"),
                ("password", &big[..1000]),
            ],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["error"], "invalid_grant");
}

async fn a_body_slower_than_the_read_timeout_is_408_and_closes(b: Builder) {
    let Some(app) = b
        .config(|c| c.limits.body_read_timeout_seconds = 1)
        .build()
        .await
    else {
        return;
    };
    app.admin().await;
    let client_id = app.mdr_customer("Acme").await;

    let r = within_bound(
        app.post("/api/v2/users/")
            .basic("admin", PASSWORD)
            .header("content-type", "application/json")
            .body(stalling("{\"username\": ", 100))
            .send(),
    )
    .await;
    assert_status_json(&r, 408, &json!({ "detail": BODY_TIMEOUT }));
    assert_eq!(r.header("connection").as_deref(), Some("close"));
    assert!(r.header("x-api-request-id").is_some());

    let csrf = app.anonymous_csrf().await;
    let r = within_bound(
        app.post("/api/login/")
            .header("cookie", &format!("csrftoken={csrf}"))
            .header("x-csrftoken", &csrf)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(stalling("username=admin&pass", 100))
            .send(),
    )
    .await;
    assert_status_json(&r, 408, &json!({ "detail": BODY_TIMEOUT }));
    assert!(r.set_cookie("awx_sessionid").is_none());

    let r = within_bound(
        app.post("/api/o/token/")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(stalling("grant_type=pass", 100))
            .send(),
    )
    .await;
    assert_status_json(
        &r,
        408,
        &json!({"error": "invalid_request", "error_description": BODY_TIMEOUT}),
    );
    assert_eq!(r.header("connection").as_deref(), Some("close"));

    let r = within_bound(
        app.post(&format!("/api/v1/{client_id}/session/confirm"))
            .header("content-type", "application/json")
            .body(stalling("{\"refresh_token\": \"ey", 100))
            .send(),
    )
    .await;
    assert_status_json(
        &r,
        408,
        &json!({"error": "request body not received in time"}),
    );
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(r.header("connection").as_deref(), Some("close"));

    // A body that is complete is not affected by the deadline, however late it is read.
    let r = app
        .post("/api/v2/users/")
        .basic("admin", PASSWORD)
        .json(&json!({"username": "carol", "password": PASSWORD}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
}

on_both_backends!(
    a_declared_length_over_the_limit_is_413_before_the_body_is_read,
    an_oversized_oauth_token_form_is_413_not_400,
);

on_both_backends_configured!(a_body_slower_than_the_read_timeout_is_408_and_closes);
