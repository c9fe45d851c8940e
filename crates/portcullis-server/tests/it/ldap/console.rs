//! The console against a real directory (`docs/ldap.md`, "Console"): directory users log in
//! through the console's form, and "Test connection" reports success or the failed step.

use super::directory_app;
use crate::harness::{Builder, PASSWORD, Session};
use crate::on_both_backends_configured;
use axum::http::{Method, StatusCode};
use serde_json::json;

async fn test_connection_reports_success_and_the_failed_step(b: Builder) {
    let Some((slapd, app)) = directory_app(b).await else {
        return;
    };
    let admin = Session::console_login(&app, "admin", PASSWORD).await;
    let test = || async {
        let r = admin
            .htmx(Method::POST, "/console/settings/ldap/test/")
            .form(&[("x", "")])
            .send()
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        r.text()
    };
    let ok = test().await;
    assert!(ok.contains("OK"), "{ok}");
    assert!(ok.contains("bound as cn=portcullis"), "{ok}");
    // StartTLS with the trusted test CA works too.
    app.set(json!({"AUTH_LDAP_START_TLS": true})).await;
    assert!(test().await.contains("OK"));
    // A wrong service password: the service-bind step, never the password.
    app.set(json!({"AUTH_LDAP_START_TLS": false, "AUTH_LDAP_BIND_PASSWORD": "wrong-service-pw"}))
        .await;
    let failed = test().await;
    assert!(failed.contains("Failed at service_bind"), "{failed}");
    assert!(!failed.contains("wrong-service-pw"));
    // The directory stopped: the connect step.
    let mut slapd = slapd;
    slapd.stop().await;
    let down = test().await;
    assert!(down.contains("Failed at connect"), "{down}");
}

async fn directory_users_log_in_to_the_console_and_are_shown_as_external(b: Builder) {
    let Some((_slapd, app)) = directory_app(b).await else {
        return;
    };
    // bob logs in through the console's own form (the same password service).
    let bob = Session::console_login(&app, "bob", "bob-pass").await;
    let r = bob.get("/console/profile/").await;
    assert_eq!(r.status, StatusCode::OK);
    let page = r.text();
    assert!(page.contains("managed by your directory (LDAP)"), "{page}");
    let user = app.store().user_by_username("bob").await.unwrap().unwrap();
    let admin = Session::console_login(&app, "admin", PASSWORD).await;
    let r = admin.get(&format!("/console/users/{}/", user.id)).await;
    assert_eq!(r.status, StatusCode::OK);
    let page = r.text();
    assert!(
        page.contains("uid=bob,ou=people,dc=example,dc=org"),
        "{page}"
    );
    assert!(
        !page.contains("name=\"password\""),
        "no local password field for a directory user"
    );
}

on_both_backends_configured!(
    test_connection_reports_success_and_the_failed_step,
    directory_users_log_in_to_the_console_and_are_shown_as_external,
);
