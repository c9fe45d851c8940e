//! The OpenAPI document is generated from the handlers, served, and covers every route.

use crate::harness::TestApp;
use crate::on_both_backends;

async fn openapi_document_is_3_1_and_covers_the_awx_surface(app: TestApp) {
    let r = app.get("/api/openapi.json").send().await;
    assert_eq!(r.status, 200);
    let doc = r.json();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/",
        "/api/v2/",
        "/api/o/",
        "/api/v2/auth/",
        "/api/v2/ping/",
        "/api/login/",
        "/api/logout/",
        "/api/v2/me/",
        "/api/v2/users/",
        "/api/v2/users/{u}/",
        "/api/v2/settings/",
        "/api/v2/settings/{slug}/",
        "/api/v2/tokens/",
        "/api/v2/tokens/{id}/",
        "/api/v2/tokens/{id}/activity_stream/",
        "/api/v2/tokens/revoke/",
        "/api/v2/users/{u}/tokens/",
        "/api/v2/users/{u}/personal_tokens/",
        "/api/v2/users/{u}/authorized_tokens/",
        "/api/v2/applications/",
        "/api/v2/applications/{id}/",
        "/api/v2/applications/{id}/tokens/",
        "/api/v2/applications/{id}/activity_stream/",
        "/api/o/token/",
        "/api/o/revoke_token/",
        "/api/o/introspect/",
        "/api/o/authorize/",
        "/api/v2/inventories/",
        "/api/v2/hosts/",
        "/api/v2/activity_stream/",
    ] {
        assert!(paths.contains_key(p), "missing {p}");
    }
    assert!(paths["/api/v2/users/"]["post"].is_object());
    assert!(paths["/api/v2/users/{u}/"]["delete"].is_object());
    assert!(paths["/api/v2/tokens/"]["post"].is_object());
    assert!(paths["/api/o/token/"]["post"].is_object());
    assert!(doc["components"]["schemas"]["UserResponse"].is_object());
}

on_both_backends!(openapi_document_is_3_1_and_covers_the_awx_surface);
