//! The auth server alone, without a resource server mounted: the exchange and the JWKS
//! document still work (they are the auth server's job); resource paths are the MDR 404.

use crate::harness::{Backend, TestApp};
use axum::http::{Method, StatusCode};
use portcullis_server::service::mdr_session::{self, ConnectionInput};
use serde_json::json;

async fn exchange_without_resources(backend: Backend) {
    let Some(app) = TestApp::builder(backend).build().await else {
        eprintln!("SKIP {backend:?}: PostgreSQL unreachable");
        return;
    };
    let client_id = app.mdr_customer("Solo").await;
    let created = mdr_session::create_connection(
        &app.state,
        None,
        &client_id,
        ConnectionInput {
            name: Some("solo".into()),
            role: Some("MDR Administrator".into()),
            tenants: Some(Vec::new()),
        },
    )
    .await
    .unwrap();
    let r = app
        .post(&format!("/api/v1/{client_id}/session/confirm"))
        .json(&json!({ "refresh_token": created.token }))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let access = r.json()["access_token"].as_str().unwrap().to_owned();
    assert!(!access.is_empty());

    // No resource server: a resource path is the MDR 404, token or not.
    let r = app
        .post(&format!("/api/v1/{client_id}/assets/list"))
        .bearer(&access)
        .json(&json!({}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    assert_eq!(r.json(), json!({ "error": "not found" }));
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));

    // The exchange is POST only, in the MDR dialect.
    let r = app
        .req(Method::GET, &format!("/api/v1/{client_id}/session/confirm"))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.header("allow").as_deref(), Some("POST"));
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(r.json(), json!({ "error": "method not allowed" }));

    let r = app.get("/.well-known/jwks.json").send().await;
    assert_eq!(r.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    exchange_without_resources(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    exchange_without_resources(Backend::Postgres).await;
}
