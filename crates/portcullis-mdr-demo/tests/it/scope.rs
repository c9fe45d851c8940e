//! Tenant scope on lists, counts, details and writes.

use crate::common::*;
use crate::harness::TestApp;
use crate::on_both_backends;
use axum::http::StatusCode;
use portcullis_server::service::mdr_session::{self, ConnectionInput};
use serde_json::{Value, json};
use std::collections::HashSet;

/// Row 25: tenant scope on lists, counts, details and writes.
async fn tenant_scope(app: TestApp) {
    let w = world(&app).await;
    let berlin_inc = id(
        &w.incident(&app, 0, "Berlin incident", "HIGH").await,
        "incident_id",
    );
    let paris_inc = id(
        &w.incident(&app, 1, "Paris incident", "HIGH").await,
        "incident_id",
    );
    let root_inc = id(
        &w.incident(&app, 2, "Root incident", "HIGH").await,
        "incident_id",
    );
    let paris_resp = id(
        &w.response(&app, &paris_inc, 1, "scan").await,
        "response_id",
    );
    let paris_comment = app
        .soc(
            &w.client_id,
            &format!("incidents/{paris_inc}/comments"),
            &json!({"text": "x"}),
        )
        .await;
    let berlin = app
        .mdr_connection(&w.client_id, "Berlin SIEM", ADMIN_ROLE, &["Berlin"])
        .await;
    let root = app
        .mdr_connection(
            &w.client_id,
            "Root SIEM",
            ADMIN_ROLE,
            &["Root without tenants"],
        )
        .await;
    let both = app
        .mdr_connection(
            &w.client_id,
            "Both",
            ADMIN_ROLE,
            &["Berlin", "Root without tenants"],
        )
        .await;

    let names = |v: &Value| -> HashSet<Value> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|a| a["tenant_name"].clone())
            .collect()
    };
    let assets = app.mdr_ok(&berlin, "assets/list", &json!({})).await;
    assert_eq!(assets.as_array().unwrap().len(), 9);
    assert_eq!(names(&assets), HashSet::from([json!("Berlin")]));
    assert_eq!(
        app.mdr_ok(&berlin, "assets/count", &json!({})).await,
        json!({"count": 9})
    );
    let root_assets = app.mdr_ok(&root, "assets/list", &json!({})).await;
    assert_eq!(names(&root_assets), HashSet::from([Value::Null]));
    assert_eq!(
        app.mdr_ok(&root, "assets/count", &json!({})).await,
        json!({"count": 8})
    );
    assert_eq!(
        app.mdr_ok(&both, "assets/count", &json!({})).await,
        json!({"count": 17})
    );
    assert_eq!(
        app.mdr_ok(
            &berlin,
            "assets/count",
            &json!({"tenants_names": ["Paris"]})
        )
        .await,
        json!({"count": 0})
    );

    assert_eq!(
        ids(
            &app.mdr_ok(&berlin, "incidents/list", &json!({})).await,
            "incident_id"
        ),
        vec![berlin_inc.clone()]
    );
    assert_eq!(
        ids(
            &app.mdr_ok(&root, "incidents/list", &json!({})).await,
            "incident_id"
        ),
        vec![root_inc.clone()]
    );
    assert_eq!(
        app.mdr_ok(&both, "incidents/count", &json!({})).await,
        json!({"count": 2})
    );
    assert_eq!(
        app.mdr_ok(&w.admin, "incidents/count", &json!({})).await,
        json!({"count": 3})
    );

    // Out of scope answers exactly like nonexistent.
    let hidden = app
        .mdr(
            &berlin,
            "incidents/details",
            &json!({"incident_id": paris_inc}),
        )
        .await;
    let missing = app
        .mdr(
            &berlin,
            "incidents/details",
            &json!({"incident_id": "AAAAAAAAAAAAAAAAAAAA"}),
        )
        .await;
    assert_error(&hidden, StatusCode::NOT_FOUND, "incident not found");
    assert_eq!(
        (hidden.status, &hidden.body, stable_headers(&hidden)),
        (missing.status, &missing.body, stable_headers(&missing))
    );
    let hidden_asset = app
        .mdr(
            &berlin,
            "assets/details",
            &json!({"asset_id": w.asset_id(1)}),
        )
        .await;
    assert_error(&hidden_asset, StatusCode::NOT_FOUND, "asset not found");
    for (action, body, kind) in [
        (
            "comments/create",
            json!({"incident_id": paris_inc, "text": "x"}),
            "incident",
        ),
        (
            "comments/list",
            json!({"incident_id": paris_inc}),
            "incident",
        ),
        (
            "attachments/list",
            json!({"incident_id": paris_inc}),
            "incident",
        ),
        (
            "responses/list",
            json!({"incident_id": paris_inc}),
            "incident",
        ),
        (
            "incidents/history",
            json!({"incident_id": paris_inc}),
            "incident",
        ),
        (
            "incidents/close",
            json!({"incident_id": paris_inc, "resolution_status": "TRUE_POSITIVE", "summary": "x"}),
            "incident",
        ),
        (
            "response/update",
            json!({"response_id": paris_resp, "status": "Confirmed", "comment": "x"}),
            "response",
        ),
        (
            "responses/update",
            json!({"responses_ids": [paris_resp], "status": "Confirmed", "comment": "x"}),
            "response",
        ),
        (
            "comments/delete",
            json!({"comment_id": paris_comment["comment_id"]}),
            "comment",
        ),
    ] {
        let r = app.mdr(&berlin, action, &body).await;
        assert_error(&r, StatusCode::NOT_FOUND, &format!("{kind} not found"));
    }
    assert_eq!(
        app.mdr_ok(
            &berlin,
            "assets/count",
            &json!({"related_incidents_ids": [paris_inc]})
        )
        .await,
        json!({"count": 0})
    );

    // incidents/create: only in-scope assets and tenants.
    let r = app
        .mdr(&berlin, "incidents/create", &json!({"affected_hosts": [w.host_entry(1)], "client_description": "d", "summary": "s"}))
        .await;
    assert_error(
        &r,
        StatusCode::BAD_REQUEST,
        "invalid value for 'affected_hosts'",
    );
    let r = app
        .mdr(&berlin, "incidents/create", &json!({"affected_hosts": [w.host_entry(0)], "client_description": "d", "summary": "s", "tenant_id": w.paris}))
        .await;
    assert_error(&r, StatusCode::NOT_FOUND, "tenant not found");
    let r = app
        .mdr(&berlin, "incidents/create", &json!({"affected_hosts": [w.host_entry(0)], "client_description": "d", "summary": "s", "tenant_id": "nope"}))
        .await;
    assert_error(&r, StatusCode::NOT_FOUND, "tenant not found");
    let ok = app
        .mdr_ok(&berlin, "incidents/create", &json!({"affected_hosts": [w.host_entry(0)], "client_description": "d", "summary": "s"}))
        .await;
    assert_eq!(ok["tenant_name"], json!("Berlin"), "the assets' tenant");
    let explicit = app
        .mdr_ok(&w.admin, "incidents/create", &json!({"affected_hosts": [w.host_entry(2)], "client_description": "d", "summary": "s", "tenant_id": w.paris}))
        .await;
    assert_eq!(explicit["tenant_name"], json!("Paris"));
    // Assets of two tenants make a root incident.
    let r = app
        .mdr(&both, "incidents/create", &json!({"affected_hosts": [w.host_entry(0), w.host_entry(2)], "client_description": "d", "summary": "s"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["tenant_name"], Value::Null);

    // A scope edit applies to the next call.
    mdr_session::update_connection(
        &app.state,
        None,
        &w.client_id,
        &berlin.connection_id,
        ConnectionInput {
            tenants: Some(vec!["Paris".into()]),
            ..ConnectionInput::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        app.mdr_ok(&berlin, "incidents/count", &json!({})).await,
        json!({"count": 2})
    );
    assert_eq!(
        app.mdr_ok(&berlin, "assets/count", &json!({})).await,
        json!({"count": 8})
    );
}

on_both_backends!(tenant_scope,);
