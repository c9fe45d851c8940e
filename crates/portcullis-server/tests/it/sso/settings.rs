//! The `oidc` settings: who may write them, how they read back, and that they take effect
//! on the next request; `/api/v2/auth/`; the console's button and sentences.

use super::{ORIGIN, hostile};
use crate::harness::{Builder, PASSWORD};
use crate::on_both_backends_configured;
use axum::http::StatusCode;
use serde_json::json;

on_both_backends_configured!(r21_oidc_settings_take_effect_at_once);

const OIDC_BACKEND: &str = "social_core.backends.open_id_connect.OpenIdConnectAuth";

async fn r21_oidc_settings_take_effect_at_once(b: Builder) {
    let Some(hidp) = hostile(None).await else {
        return;
    };
    let Some(app) = b
        .config(|c| c.public_url = Some(ORIGIN.into()))
        .build()
        .await
    else {
        return;
    };
    app.admin().await;
    app.auditor("watcher").await;

    // Before: nothing offered, the login refuses, the console shows no button.
    let auth = app.get("/api/v2/auth/").send().await;
    assert_eq!(auth.status, StatusCode::OK);
    assert_eq!(auth.json(), json!({}));
    let r = app.get("/sso/login/oidc/").send().await;
    assert_eq!(
        r.header("location").as_deref(),
        Some("/sso/error/?reason=not_configured")
    );
    let page = app.get("/console/login/").send().await;
    assert!(!page.text().contains("/sso/login/oidc/"));
    let backends = app
        .get("/api/v2/settings/authentication/")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(backends.status, StatusCode::OK, "{}", backends.text());
    assert!(
        !backends.json()["AUTHENTICATION_BACKENDS"]
            .as_array()
            .unwrap()
            .contains(&json!(OIDC_BACKEND))
    );

    let settings = json!({
        "SOCIAL_AUTH_OIDC_KEY": "portcullis",
        "SOCIAL_AUTH_OIDC_SECRET": "test-only-secret",
        "SOCIAL_AUTH_OIDC_OIDC_ENDPOINT": hidp.issuer,
        "SOCIAL_AUTH_OIDC_VERIFY_SSL": true,
    });
    // A system auditor may not.
    let r = app
        .patch("/api/v2/settings/oidc/")
        .basic("watcher", PASSWORD)
        .json(&settings)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_eq!(app.get("/api/v2/auth/").send().await.json(), json!({}));
    // The superuser may.
    let r = app
        .patch("/api/v2/settings/oidc/")
        .basic("admin", PASSWORD)
        .json(&settings)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["SOCIAL_AUTH_OIDC_SECRET"], "$encrypted$");
    let got = app
        .get("/api/v2/settings/oidc/")
        .basic("admin", PASSWORD)
        .send()
        .await
        .json();
    assert_eq!(got["SOCIAL_AUTH_OIDC_KEY"], "portcullis");
    assert_eq!(got["SOCIAL_AUTH_OIDC_SECRET"], "$encrypted$");
    assert_eq!(got["SOCIAL_AUTH_OIDC_OIDC_ENDPOINT"], json!(hidp.issuer));
    assert_eq!(got["SOCIAL_AUTH_OIDC_VERIFY_SSL"], true);
    assert_eq!(got["PORTCULLIS_SSO_LINK_VERIFIED_EMAIL"], false);
    assert_eq!(got["PORTCULLIS_SSO_TRUSTED_AUDIENCES"], json!([]));
    // The auditor reads it, secret hidden.
    let seen = app
        .get("/api/v2/settings/oidc/")
        .basic("watcher", PASSWORD)
        .send()
        .await;
    assert_eq!(seen.status, StatusCode::OK, "{}", seen.text());
    assert_eq!(seen.json()["SOCIAL_AUTH_OIDC_SECRET"], "$encrypted$");

    // After: offered, at once.
    let auth = app.get("/api/v2/auth/").send().await;
    assert_eq!(
        auth.json(),
        json!({"oidc": {
            "login_url": "/sso/login/oidc/",
            "complete_url": "http://127.0.0.1:8052/sso/complete/oidc/",
        }})
    );
    let r = app
        .get("/sso/login/oidc/?next=/console/users/")
        .send()
        .await;
    assert_eq!(r.status, StatusCode::FOUND);
    let loc = r.header("location").unwrap();
    assert!(
        loc.starts_with(&format!("{}/authorize?", hidp.issuer)),
        "{loc}"
    );
    let backends = app
        .get("/api/v2/settings/authentication/")
        .basic("admin", PASSWORD)
        .send()
        .await
        .json();
    assert!(
        backends["AUTHENTICATION_BACKENDS"]
            .as_array()
            .unwrap()
            .contains(&json!(OIDC_BACKEND)),
        "{backends}"
    );
    let page = app.get("/console/login/?next=/console/users/").send().await;
    assert!(page.text().contains("Sign in with SSO"), "{}", page.text());
    assert!(
        page.text().contains("/sso/login/oidc/?next="),
        "{}",
        page.text()
    );
    // The error page's sentences come from a fixed list.
    let r = app.get("/sso/error/?reason=%3Cscript%3E").send().await;
    assert_eq!(
        r.header("location").as_deref(),
        Some("/console/login/?sso_error=script")
    );
    let page = app.get("/console/login/?sso_error=state").send().await;
    assert!(
        page.text()
            .contains("The single sign-on login expired or was started in another browser."),
        "{}",
        page.text()
    );

    // A PATCH of the secret alone keeps the rest; "$encrypted$" keeps the secret.
    let r = app
        .patch("/api/v2/settings/oidc/")
        .basic("admin", PASSWORD)
        .json(&json!({"SOCIAL_AUTH_OIDC_SECRET": "$encrypted$"}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(app.get("/api/v2/auth/").send().await.json()["oidc"].is_object());

    // Removing the key: no longer offered, on the next request.
    app.set(json!({"SOCIAL_AUTH_OIDC_KEY": ""})).await;
    assert_eq!(app.get("/api/v2/auth/").send().await.json(), json!({}));
    let r = app.get("/sso/login/oidc/").send().await;
    assert_eq!(
        r.header("location").as_deref(),
        Some("/sso/error/?reason=not_configured")
    );
}
