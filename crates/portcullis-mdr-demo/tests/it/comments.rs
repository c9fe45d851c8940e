//! Comments: create and list with `markdown_to_html`; only the creator deletes.

use crate::common::*;
use crate::harness::TestApp;
use crate::on_both_backends;
use axum::http::StatusCode;
use portcullis_server::service::mdr_session::{self, ConnectionInput};
use serde_json::json;
use std::collections::HashSet;

/// Row 23: `comments/create` / `comments/list` with `markdown_to_html`.
async fn comments_markdown(app: TestApp) {
    let w = world(&app).await;
    let inc = id(&w.incident(&app, 0, "Malware", "HIGH").await, "incident_id");
    let c = &w.admin;
    let source = "Please **isolate** the host <script>alert(1)</script>";
    let created = app
        .mdr_ok(
            c,
            "comments/create",
            &json!({"incident_id": inc, "text": source, "markdown_to_html": true}),
        )
        .await;
    assert_eq!(
        keys(&created),
        vec![
            "comment_id",
            "incident_id",
            "author_name",
            "text",
            "creation_time",
            "origin",
            "was_read"
        ]
    );
    assert_eq!(
        created,
        json!({
            "comment_id": created["comment_id"], "incident_id": inc, "author_name": "SIEM export",
            "text": "<p>Please <strong>isolate</strong> the host </p>", "creation_time": now_ms(&app),
            "origin": "client", "was_read": true,
        })
    );
    assert_eq!(created["comment_id"].as_str().unwrap().len(), 11);
    let html = app
        .mdr_ok(
            c,
            "comments/list",
            &json!({"incident_id": inc, "markdown_to_html": true}),
        )
        .await;
    assert_eq!(html, json!([created]));
    let raw = app
        .mdr_ok(c, "comments/list", &json!({"incident_id": inc}))
        .await;
    assert_eq!(raw[0]["text"], json!(source), "stored as the Markdown sent");
    let projected = app
        .mdr_ok(
            c,
            "comments/list",
            &json!({"incident_id": inc, "fields": ["text"]}),
        )
        .await;
    assert_eq!(
        projected,
        json!([{"comment_id": created["comment_id"], "text": source}])
    );
    // author_name is the connection's current name.
    mdr_session::update_connection(
        &app.state,
        None,
        &w.client_id,
        &w.admin.connection_id,
        ConnectionInput {
            name: Some("Renamed SIEM".into()),
            ..ConnectionInput::default()
        },
    )
    .await
    .unwrap();
    let renamed = app
        .mdr_ok(
            c,
            "comments/create",
            &json!({"incident_id": inc, "text": "again"}),
        )
        .await;
    assert_eq!(renamed["author_name"], json!("Renamed SIEM"));
    let raw = app
        .mdr_ok(c, "comments/list", &json!({"incident_id": inc}))
        .await;
    let first = raw
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["comment_id"] == created["comment_id"])
        .unwrap();
    assert_eq!(
        first["author_name"],
        json!("SIEM export"),
        "kept after a rename"
    );
    assert_error(
        &app.mdr(c, "comments/create", &json!({"incident_id": inc}))
            .await,
        StatusCode::BAD_REQUEST,
        "'text' is required",
    );
    assert_error(
        &app.mdr(c, "comments/create", &json!({"text": "x"})).await,
        StatusCode::BAD_REQUEST,
        "'incident_id' is required",
    );
    assert_error(
        &app.mdr(
            c,
            "comments/create",
            &json!({"incident_id": inc, "text": ""}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid value for 'text'",
    );
    assert_error(
        &app.mdr(
            c,
            "comments/create",
            &json!({"incident_id": "nope", "text": "x"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "incident not found",
    );
    assert_error(
        &app.mdr(c, "comments/list", &json!({"incident_id": "nope"}))
            .await,
        StatusCode::NOT_FOUND,
        "incident not found",
    );
}

/// `docs/mdr-api.md`, "Behaviour": only the creating connection may delete a comment.
async fn comments_delete(app: TestApp) {
    let w = world(&app).await;
    let inc = id(&w.incident(&app, 0, "Malware", "HIGH").await, "incident_id");
    let other = app
        .mdr_connection(&w.client_id, "Ticketing", ADMIN_ROLE, &[])
        .await;
    let mine = app
        .mdr_ok(
            &w.admin,
            "comments/create",
            &json!({"incident_id": inc, "text": "mine"}),
        )
        .await;
    let theirs = app
        .mdr_ok(
            &other,
            "comments/create",
            &json!({"incident_id": inc, "text": "theirs"}),
        )
        .await;
    let soc = app
        .soc(
            &w.client_id,
            &format!("incidents/{inc}/comments"),
            &json!({"text": "soc"}),
        )
        .await;
    for c in [&theirs, &soc] {
        let r = app
            .mdr(
                &w.admin,
                "comments/delete",
                &json!({"comment_id": c["comment_id"]}),
            )
            .await;
        assert_error(&r, StatusCode::FORBIDDEN, NOT_PERMITTED);
    }
    assert_error(
        &app.mdr(
            &w.admin,
            "comments/delete",
            &json!({"comment_id": "AAAAAAAAAAA"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "comment not found",
    );
    assert_error(
        &app.mdr(&w.admin, "comments/delete", &json!({})).await,
        StatusCode::BAD_REQUEST,
        "'comment_id' is required",
    );
    assert_eq!(
        app.mdr_ok(
            &w.admin,
            "comments/delete",
            &json!({"comment_id": mine["comment_id"]})
        )
        .await,
        json!({})
    );
    assert_error(
        &app.mdr(
            &w.admin,
            "comments/delete",
            &json!({"comment_id": mine["comment_id"]}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "comment not found",
    );
    let left = app
        .mdr_ok(&w.admin, "comments/list", &json!({"incident_id": inc}))
        .await;
    let left: HashSet<String> = ids(&left, "comment_id").into_iter().collect();
    assert_eq!(
        left,
        HashSet::from([id(&theirs, "comment_id"), id(&soc, "comment_id")])
    );
    // A deleted connection's comments keep their author_name.
    mdr_session::delete_connection(&app.state, None, &w.client_id, &other.connection_id)
        .await
        .unwrap();
    let left = app
        .mdr_ok(&w.admin, "comments/list", &json!({"incident_id": inc}))
        .await;
    let kept = left
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["comment_id"] == theirs["comment_id"])
        .unwrap();
    assert_eq!(kept["author_name"], json!("Ticketing"));
}

on_both_backends!(comments_markdown, comments_delete,);
