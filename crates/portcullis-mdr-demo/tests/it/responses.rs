//! Responses: `response/update`, `responses/update` (all or nothing), the role rule.

use crate::common::*;
use crate::harness::TestApp;
use crate::harness::mdr::MdrConn;
use crate::on_both_backends;
use axum::http::StatusCode;
use portcullis_server::service::mdr_session::{self, ConnectionInput};
use serde_json::json;
use time::Duration;

/// Row 21: `response/update` Confirmed with comment; repeat → 409.
async fn response_update(app: TestApp) {
    let w = world(&app).await;
    let inc = id(&w.incident(&app, 0, "Malware", "HIGH").await, "incident_id");
    let resp = w.response(&app, &inc, 0, "network_isolate").await;
    let rid = id(&resp, "response_id");
    app.clock.advance(Duration::seconds(10));
    let c = &w.admin;
    assert_error(
        &app.mdr(
            c,
            "response/update",
            &json!({"status": "Confirmed", "comment": "x"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "'response_id' is required",
    );
    assert_error(
        &app.mdr(
            c,
            "response/update",
            &json!({"response_id": rid, "comment": "x"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "'status' is required",
    );
    assert_error(
        &app.mdr(
            c,
            "response/update",
            &json!({"response_id": rid, "status": "Confirmed"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "'comment' is required",
    );
    assert_error(
        &app.mdr(
            c,
            "response/update",
            &json!({"response_id": rid, "status": "Pending", "comment": "x"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid value for 'status'",
    );
    assert_error(
        &app.mdr(
            c,
            "response/update",
            &json!({"response_id": "nope", "status": "Confirmed", "comment": "x"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "response not found",
    );
    let r = app
        .mdr_ok(
            c,
            "response/update",
            &json!({"response_id": rid, "status": "Confirmed", "comment": "Approved by on-call"}),
        )
        .await;
    let mut expect = resp.clone();
    expect["status"] = json!("Confirmed");
    expect["comment"] = json!("Approved by on-call");
    expect["update_time"] = json!(now_ms(&app));
    assert_eq!(r, expect);
    let again = app
        .mdr(
            c,
            "response/update",
            &json!({"response_id": rid, "status": "Declined", "comment": "changed my mind"}),
        )
        .await;
    assert_error(&again, StatusCode::CONFLICT, "response is not pending");
    let list = app
        .mdr_ok(c, "responses/list", &json!({"incident_id": inc}))
        .await;
    assert_eq!(list, json!([expect]));
    let filtered = app
        .mdr_ok(
            c,
            "incidents/count",
            &json!({"response_statuses": ["Confirmed"], "response_types": ["network_isolate"]}),
        )
        .await;
    assert_eq!(filtered, json!({"count": 1}));
    let none = app
        .mdr_ok(
            c,
            "incidents/count",
            &json!({"response_statuses": ["Pending"]}),
        )
        .await;
    assert_eq!(none, json!({"count": 0}));
}

/// Row 22: `responses/update` with two pending ids; then with one unknown id → 404, no change.
async fn responses_update_all_or_nothing(app: TestApp) {
    let w = world(&app).await;
    let inc = id(&w.incident(&app, 0, "Malware", "HIGH").await, "incident_id");
    let other = id(&w.incident(&app, 2, "Phishing", "LOW").await, "incident_id");
    let r1 = id(
        &w.response(&app, &inc, 0, "network_isolate").await,
        "response_id",
    );
    let r2 = id(
        &w.response(&app, &other, 2, "kill_process").await,
        "response_id",
    );
    let r3 = id(
        &w.response(&app, &inc, 0, "quarantine").await,
        "response_id",
    );
    let r4 = id(&w.response(&app, &inc, 0, "scan").await, "response_id");
    let c = &w.admin;
    let both = app
        .mdr_ok(
            c,
            "responses/update",
            &json!({"responses_ids": [r2, r1], "status": "Declined", "comment": "not now"}),
        )
        .await;
    assert_eq!(ids(&both, "response_id"), vec![r2.clone(), r1.clone()]);
    for r in both.as_array().unwrap() {
        assert_eq!(r["status"], json!("Declined"));
        assert_eq!(r["comment"], json!("not now"));
    }
    let before = response_statuses(&app, c, &inc).await;
    let unknown = app
        .mdr(c, "responses/update", &json!({"responses_ids": [r3, "AAAAAAAAAAAAAAAAAAAA"], "status": "Confirmed", "comment": "go"}))
        .await;
    assert_error(&unknown, StatusCode::NOT_FOUND, "response not found");
    let decided = app
        .mdr(
            c,
            "responses/update",
            &json!({"responses_ids": [r3, r1], "status": "Confirmed", "comment": "go"}),
        )
        .await;
    assert_error(&decided, StatusCode::CONFLICT, "response is not pending");
    assert_eq!(
        response_statuses(&app, c, &inc).await,
        before,
        "nothing changed"
    );
    assert_eq!(before, vec!["Declined", "Pending", "Pending"]);
    assert_error(
        &app.mdr(
            c,
            "responses/update",
            &json!({"responses_ids": [], "status": "Confirmed", "comment": "go"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid value for 'responses_ids'",
    );
    assert_error(
        &app.mdr(
            c,
            "responses/update",
            &json!({"responses_ids": r3, "status": "Confirmed", "comment": "go"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid value for 'responses_ids'",
    );
    // Duplicates count once.
    let dup = app
        .mdr_ok(
            c,
            "responses/update",
            &json!({"responses_ids": [r3, r4, r3], "status": "Confirmed", "comment": "go"}),
        )
        .await;
    assert_eq!(ids(&dup, "response_id"), vec![r3, r4]);
}

/// The statuses of an incident's responses, sorted.
async fn response_statuses(app: &TestApp, c: &MdrConn, inc: &str) -> Vec<String> {
    let l = app
        .mdr_ok(c, "responses/list", &json!({"incident_id": inc}))
        .await;
    let mut v: Vec<String> = l
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

/// Row 28: a Security Officer may not decide on responses (at creation, and after an Edit).
async fn security_officer(app: TestApp) {
    let w = world(&app).await;
    let inc = id(&w.incident(&app, 0, "Malware", "HIGH").await, "incident_id");
    let rid = id(
        &w.response(&app, &inc, 0, "network_isolate").await,
        "response_id",
    );
    let officer = app
        .mdr_connection(&w.client_id, "Officer", OFFICER, &[])
        .await;
    for (action, body) in [
        (
            "response/update",
            json!({"response_id": rid, "status": "Confirmed", "comment": "x"}),
        ),
        (
            "responses/update",
            json!({"responses_ids": [rid], "status": "Confirmed", "comment": "x"}),
        ),
        ("response/update", json!({})),
    ] {
        let r = app.mdr(&officer, action, &body).await;
        assert_error(&r, StatusCode::FORBIDDEN, NOT_PERMITTED);
        assert_eq!(
            r.header("www-authenticate").as_deref(),
            Some("Bearer realm=\"mdr\", error=\"insufficient_scope\"")
        );
    }
    // Everything else is allowed.
    app.mdr_ok(
        &officer,
        "comments/create",
        &json!({"incident_id": inc, "text": "seen"}),
    )
    .await;
    app.mdr_ok(&officer, "responses/list", &json!({"incident_id": inc}))
        .await;
    let created = app
        .mdr_ok(&officer, "incidents/create", &json!({"affected_hosts": [w.host_entry(3)], "client_description": "d", "summary": "s"}))
        .await;
    app.mdr_ok(&officer, "incidents/close", &json!({"incident_id": created["incident_id"], "resolution_status": "FALSE_POSITIVE", "summary": "x"})).await;

    // Edit a live Senior Security Officer down to Security Officer: the next call is refused.
    let senior = app
        .mdr_connection(&w.client_id, "Senior", "Senior Security Officer", &[])
        .await;
    let rid2 = id(&w.response(&app, &inc, 0, "scan").await, "response_id");
    let rid3 = id(
        &w.response(&app, &inc, 0, "kill_process").await,
        "response_id",
    );
    app.mdr_ok(
        &senior,
        "response/update",
        &json!({"response_id": rid2, "status": "Declined", "comment": "x"}),
    )
    .await;
    mdr_session::update_connection(
        &app.state,
        None,
        &w.client_id,
        &senior.connection_id,
        ConnectionInput {
            role: Some(OFFICER.into()),
            ..ConnectionInput::default()
        },
    )
    .await
    .unwrap();
    let r = app
        .mdr(
            &senior,
            "response/update",
            &json!({"response_id": rid3, "status": "Confirmed", "comment": "x"}),
        )
        .await;
    assert_error(&r, StatusCode::FORBIDDEN, NOT_PERMITTED);
    let l = app
        .mdr_ok(&w.admin, "responses/list", &json!({"incident_id": inc}))
        .await;
    let r3 = l
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["response_id"] == json!(rid3))
        .unwrap();
    assert_eq!(r3["status"], json!("Pending"));
}

on_both_backends!(
    response_update,
    responses_update_all_or_nothing,
    security_officer,
);
