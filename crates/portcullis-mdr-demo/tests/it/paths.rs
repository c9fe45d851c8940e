//! Every resource path answers with a valid token and body; lists are bare arrays.

use crate::common::*;
use crate::harness::TestApp;
use crate::on_both_backends;
use axum::http::StatusCode;
use serde_json::json;

/// Every path of `docs/mdr-api.md`, "Endpoints", with a valid token and body answers 200; lists are bare arrays.
async fn every_path(app: TestApp) {
    let w = world(&app).await;
    let inc = w.incident(&app, 0, "Malware", "HIGH").await;
    let incident_id = id(&inc, "incident_id");
    let r1 = id(
        &w.response(&app, &incident_id, 0, "network_isolate").await,
        "response_id",
    );
    let r2 = id(
        &w.response(&app, &incident_id, 0, "kill_process").await,
        "response_id",
    );
    let r3 = id(
        &w.response(&app, &incident_id, 0, "quarantine").await,
        "response_id",
    );
    let c = &w.admin;
    let asset_id = w.asset_id(0);

    let count = app.mdr_ok(c, "assets/count", &json!({})).await;
    assert_eq!(count, json!({"count": 25}));
    assert!(app.mdr_ok(c, "assets/list", &json!({})).await.is_array());
    assert_eq!(
        app.mdr_ok(c, "assets/details", &json!({"asset_id": asset_id}))
            .await["asset_id"],
        json!(asset_id)
    );
    assert_eq!(
        app.mdr_ok(c, "incidents/count", &json!({})).await,
        json!({"count": 1})
    );
    assert!(app.mdr_ok(c, "incidents/list", &json!({})).await.is_array());
    assert_eq!(
        app.mdr_ok(c, "incidents/details", &json!({"incident_id": incident_id}))
            .await["incident_id"],
        json!(incident_id)
    );
    let created = app
        .mdr_ok(
            c,
            "incidents/create",
            &json!({"affected_hosts": [w.host_entry(1)], "client_description": "Suspicious login", "summary": "Client report"}),
        )
        .await;
    assert!(
        app.mdr_ok(c, "incidents/history", &json!({"incident_id": incident_id}))
            .await
            .is_array()
    );
    assert!(
        app.mdr_ok(c, "responses/list", &json!({"incident_id": incident_id}))
            .await
            .is_array()
    );
    assert_eq!(
        app.mdr_ok(
            c,
            "response/update",
            &json!({"response_id": r1, "status": "Confirmed", "comment": "go"})
        )
        .await["status"],
        json!("Confirmed")
    );
    assert!(
        app.mdr_ok(
            c,
            "responses/update",
            &json!({"responses_ids": [r2, r3], "status": "Declined", "comment": "no"})
        )
        .await
        .is_array()
    );
    let comment = app
        .mdr_ok(
            c,
            "comments/create",
            &json!({"incident_id": incident_id, "text": "Looking into it"}),
        )
        .await;
    assert!(
        app.mdr_ok(c, "comments/list", &json!({"incident_id": incident_id}))
            .await
            .is_array()
    );
    assert_eq!(
        app.mdr_ok(
            c,
            "comments/delete",
            &json!({"comment_id": id(&comment, "comment_id")})
        )
        .await,
        json!({})
    );
    let up = upload(
        &app,
        c,
        Some(&json!({"incident_id": incident_id, "caption": "log"})),
        Some(("a.log", b"hello")),
    )
    .await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.text());
    assert!(
        app.mdr_ok(c, "attachments/list", &json!({"incident_id": incident_id}))
            .await
            .is_array()
    );
    let dl = app
        .mdr(
            c,
            "attachments/download",
            &json!({"attachment_id": id(&up.json(), "attachment_id")}),
        )
        .await;
    assert_eq!(dl.status, StatusCode::OK);
    assert_eq!(dl.body, b"hello");
    assert_eq!(
        app.mdr_ok(c, "incidents/close", &json!({"incident_id": id(&created, "incident_id"), "resolution_status": "FALSE_POSITIVE", "summary": "benign"}))
            .await["status"],
        json!("Closed")
    );
    // Every answer of the surface is uncacheable and JSON (except the download).
    let r = app.mdr(c, "assets/list", &json!({})).await;
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json; charset=utf-8")
    );
}

on_both_backends!(every_path,);
