//! The SOC-side console API: superusers only, per existing customer.

use crate::common::*;
use crate::harness::{PASSWORD, TestApp};
use crate::on_both_backends;
use axum::http::StatusCode;
use serde_json::{Value, json};

/// `docs/mdr-api.md`, "SOC-side data": the SOC-side console API is for superusers, per existing customer.
async fn soc_api(app: TestApp) {
    let w = world(&app).await;
    app.user("alice").await;
    let r = app
        .post(&format!(
            "/console/api/mdr/customers/{}/soc/assets",
            w.client_id
        ))
        .basic("alice", PASSWORD)
        .json(&json!({"host_name": "X"}))
        .send()
        .await;
    assert_error(&r, StatusCode::FORBIDDEN, "permission denied");
    let r = app
        .soc_raw(
            "0123456789abcdef0123456789abcdef",
            "assets",
            &json!({"host_name": "X"}),
        )
        .await;
    assert_error(&r, StatusCode::NOT_FOUND, "customer not found");
    assert_error(
        &app.soc_raw(&w.client_id, "assets", &json!({})).await,
        StatusCode::BAD_REQUEST,
        "'host_name' is required",
    );
    assert_error(
        &app.soc_raw(
            &w.client_id,
            "assets",
            &json!({"host_name": "X", "status": "FINE"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid value for 'status'",
    );
    assert_error(
        &app.soc_raw(
            &w.client_id,
            "assets",
            &json!({"host_name": "X", "tenant_name": "Tokyo"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "tenant not found",
    );
    let minimal = app
        .soc(&w.client_id, "assets", &json!({"host_name": "MINI"}))
        .await;
    let t = now_ms(&app);
    let aid = id(&minimal, "asset_id");
    assert!(
        aid.starts_with("0x")
            && aid.len() == 34
            && aid[2..]
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()),
        "{aid}"
    );
    assert_eq!(
        minimal,
        json!({
            "asset_id": aid, "host_name": "MINI", "domain": "", "first_seen": t, "last_seen": t,
            "installed_product_info": "", "isolation": false, "isolation_task_id": null, "ksc_host_id": "",
            "network_interfaces": [], "os_version": "", "product_map": {}, "status": "OK",
            "status_reasons": [], "tenant_name": null,
        })
    );
    assert_error(
        &app.soc_raw(
            &w.client_id,
            "incidents",
            &json!({"summary": "x", "affected_asset_ids": ["0xNOPE"]}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid value for 'affected_asset_ids'",
    );
    assert_error(
        &app.soc_raw(
            &w.client_id,
            "incidents",
            &json!({"summary": "x", "mitre_tactics": ["Sorcery"]}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid value for 'mitre_tactics'",
    );
    assert_error(
        &app.soc_raw(
            &w.client_id,
            "incidents",
            &json!({"summary": "x", "tenant_id": "nope"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "tenant not found",
    );
    let inc = app
        .soc(&w.client_id, "incidents", &json!({"summary": "Root one"}))
        .await;
    assert_eq!(
        (
            inc["status"].clone(),
            inc["tenant_name"].clone(),
            inc["affected_hosts"].clone()
        ),
        (json!("Open"), Value::Null, json!([]))
    );
    let path = format!("incidents/{}/status", id(&inc, "incident_id"));
    assert_error(
        &app.soc_raw(&w.client_id, &path, &json!({"status": "Done"}))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid value for 'status'",
    );
    let held = app
        .soc(
            &w.client_id,
            &path,
            &json!({"status": "On hold", "status_description": "Waiting for the customer"}),
        )
        .await;
    assert_eq!(
        (held["status"].clone(), held["status_description"].clone()),
        (json!("On hold"), json!("Waiting for the customer"))
    );
    assert_error(
        &app.soc_raw(
            &w.client_id,
            "incidents/AAAAAAAAAAAAAAAAAAAA/comments",
            &json!({"text": "x"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "incident not found",
    );
    assert_error(
        &app.soc_raw(
            &w.client_id,
            &format!("incidents/{}/responses", id(&inc, "incident_id")),
            &json!({}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "'type' is required",
    );
}

on_both_backends!(soc_api,);
