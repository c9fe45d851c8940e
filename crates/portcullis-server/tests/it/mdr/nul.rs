//! NUL characters on the MDR surface and the console's JSON API (issue 9): an id or any other
//! JSON string holding a NUL is a 400 in the MDR dialect on both backends, never the 503 that
//! PostgreSQL's refusal used to turn into; a NUL in an MDR path is the 404 of the path rules.

use super::session::{confirm, fixture, pair};
use crate::harness::{PASSWORD, Resp, TestApp};
use crate::on_both_backends;
use axum::http::StatusCode;
use serde_json::json;

const ADMIN_ROLE: &str = "MDR Administrator";

#[track_caller]
fn assert_error(r: &Resp, status: StatusCode, message: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(r.json(), json!({ "error": message }));
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
}

async fn a_nul_in_a_resource_id_is_a_400_not_a_503(app: TestApp) {
    app.admin().await;
    let client_id = app.mdr_customer("Acme").await;
    let conn = app
        .mdr_connection(&client_id, "SIEM export", ADMIN_ROLE, &[])
        .await;
    for (action, body, key) in [
        (
            "incidents/details",
            json!({"incident_id": "a\u{0}b"}),
            "incident_id",
        ),
        (
            "incidents/details",
            json!({"incident_id": "\u{0}"}),
            "incident_id",
        ),
        ("assets/details", json!({"asset_id": "x\u{0}"}), "asset_id"),
        (
            "incidents/list",
            json!({"filter": {"tenant_id": ["t\u{0}"]}}),
            "filter",
        ),
        (
            "comments/create",
            json!({"incident_id": "i", "text": "hello\u{0}"}),
            "text",
        ),
    ] {
        let r = app.mdr(&conn, action, &body).await;
        assert_error(
            &r,
            StatusCode::BAD_REQUEST,
            &format!("invalid value for '{key}'"),
        );
    }
    // A key holding a NUL cannot be named back.
    let r = app
        .post(&format!("/api/v1/{client_id}/incidents/list"))
        .bearer(&conn.access_token)
        .header("content-type", "application/json")
        .body(r#"{"k\u0000": 1}"#)
        .send()
        .await;
    assert_error(
        &r,
        StatusCode::BAD_REQUEST,
        "null characters are not allowed",
    );
    // The connection still works.
    app.mdr_ok(&conn, "incidents/list", &json!({})).await;
}

async fn a_nul_in_the_confirm_body_is_a_400_and_spends_nothing(app: TestApp) {
    let f = fixture(&app).await;
    let r = app
        .post(&format!("/api/v1/{}/session/confirm", f.client_id))
        .json(&json!({ "refresh_token": format!("{}\u{0}", f.bootstrap) }))
        .send()
        .await;
    assert_error(
        &r,
        StatusCode::BAD_REQUEST,
        "invalid value for 'refresh_token'",
    );
    // The bootstrap token was not spent.
    pair(&confirm(&app, &f.client_id, &f.bootstrap).await);
}

async fn a_nul_in_an_mdr_path_is_the_404_of_the_path_rules(app: TestApp) {
    let f = fixture(&app).await;
    for path in [
        "/api/v1/%00/session/confirm".to_owned(),
        format!("/api/v1/{}%00/incidents/details", f.client_id),
        format!("/api/v1/{}/incidents%00/details", f.client_id),
    ] {
        let r = app
            .post(&path)
            .json(&json!({"refresh_token": f.bootstrap}))
            .send()
            .await;
        assert_error(&r, StatusCode::NOT_FOUND, "not found");
    }
    // Query parameters are ignored on the MDR surface (`docs/mdr-api.md`, "Surface conventions"),
    // NUL or not.
    let r = app
        .post(&format!("/api/v1/{}/session/confirm?x=%00", f.client_id))
        .json(&json!({"refresh_token": f.bootstrap}))
        .send()
        .await;
    pair(&r);
}

async fn a_nul_in_the_console_api_is_a_400_in_the_mdr_dialect(app: TestApp) {
    app.admin().await;
    let client_id = app.mdr_customer("Acme").await;
    let r = app
        .post("/console/api/mdr/customers")
        .basic("admin", PASSWORD)
        .json(&json!({"name": "Evil\u{0}Corp"}))
        .send()
        .await;
    assert_error(&r, StatusCode::BAD_REQUEST, "invalid value for 'name'");
    let r = app
        .post(&format!(
            "/console/api/mdr/customers/{client_id}/soc/incidents"
        ))
        .basic("admin", PASSWORD)
        .json(&json!({"summary": "s", "description": "d\u{0}", "priority": "HIGH"}))
        .send()
        .await;
    assert_error(
        &r,
        StatusCode::BAD_REQUEST,
        "invalid value for 'description'",
    );
    // The same body without the NUL is accepted.
    let r = app
        .post(&format!(
            "/console/api/mdr/customers/{client_id}/soc/incidents"
        ))
        .basic("admin", PASSWORD)
        .json(&json!({"summary": "s", "description": "d", "priority": "HIGH"}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    // In the path of the console API: refused before any lookup.
    let r = app
        .post("/console/api/mdr/customers/%00/soc/incidents")
        .basic("admin", PASSWORD)
        .json(&json!({"summary": "s", "priority": "HIGH"}))
        .send()
        .await;
    assert_error(
        &r,
        StatusCode::BAD_REQUEST,
        "null characters are not allowed",
    );
}

on_both_backends!(
    a_nul_in_a_resource_id_is_a_400_not_a_503,
    a_nul_in_the_confirm_body_is_a_400_and_spends_nothing,
    a_nul_in_an_mdr_path_is_the_404_of_the_path_rules,
    a_nul_in_the_console_api_is_a_400_in_the_mdr_dialect,
);
