//! The Settings page (`docs/console.md`, "Settings and activity"): view mode, edit mode, a
//! save through the settings service (read back from the API, applied at once), validation
//! messages next to their fields, who may reach it, CSRF.

use super::assert_console_html;
use crate::harness::{PASSWORD, Session, TestApp};
use crate::on_both_backends;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

/// The form as the page fills it, with `changes` applied (a checkbox is sent when "on").
fn form<'a>(changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields: Vec<(&str, &str)> = vec![
        ("AUTH_BASIC_ENABLED", "on"),
        ("SESSION_COOKIE_AGE", "1800"),
        ("SESSIONS_PER_USER", "-1"),
        ("ACCESS_TOKEN_EXPIRE_SECONDS", "31536000"),
        ("REFRESH_TOKEN_EXPIRE_SECONDS", "2628000"),
        ("AUTHORIZATION_CODE_EXPIRE_SECONDS", "600"),
    ];
    for (k, v) in changes {
        fields.retain(|(f, _)| f != k);
        if !v.is_empty() {
            fields.push((k, v));
        }
    }
    fields
}

async fn authentication(s: &Session<'_>) -> Value {
    let r = s.get("/api/v2/settings/authentication/").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()
}

async fn basic_me(app: &TestApp) -> StatusCode {
    app.get("/api/v2/me/")
        .basic("admin", PASSWORD)
        .send()
        .await
        .status
}

async fn view_mode_shows_the_values_and_edit_opens_the_form(app: TestApp) {
    app.admin().await;
    app.set(json!({"SESSION_COOKIE_AGE": 4321, "SESSIONS_PER_USER": 3}))
        .await;
    let s = Session::console_login(&app, "admin", PASSWORD).await;
    let page = s.get("/console/settings/").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert_console_html(&page);
    let body = page.text();
    assert!(body.contains("Miscellaneous Authentication"));
    assert!(body.contains("<dl class=\"view\">"));
    assert!(body.contains("<dd>4321 seconds</dd>"), "{body}");
    assert!(body.contains("<dd>3</dd>"));
    assert!(body.contains("<dd>31536000 seconds</dd>"));
    assert!(body.contains("href=\"/console/settings/?edit=1\""));
    assert!(!body.contains("<form method=\"post\" action=\"/console/settings/\""));

    // The plain-GET edit mode: the form with the values, Save and Cancel.
    let edit = s.get("/console/settings/?edit=1").await;
    assert_eq!(edit.status, StatusCode::OK);
    assert_console_html(&edit);
    let body = edit.text();
    assert!(body.contains("<form method=\"post\" action=\"/console/settings/\""));
    assert!(
        body.contains("id=\"SESSION_COOKIE_AGE\" value=\"4321\""),
        "{body}"
    );
    assert!(body.contains("id=\"AUTH_BASIC_ENABLED\" value=\"on\" checked"));
    assert!(body.contains(">Save</button>"));
    assert!(body.contains(">Cancel</a>"));

    // htmx asks for the section alone.
    let frag = s
        .htmx(Method::GET, "/console/settings/?edit=1")
        .send()
        .await;
    assert_eq!(frag.status, StatusCode::OK);
    let body = frag.text();
    assert!(body.starts_with("<section id=\"misc-auth\""), "{body}");
    assert!(!body.contains("<html"));
    let view = s.htmx(Method::GET, "/console/settings/").send().await;
    assert!(view.text().contains("<dl class=\"view\">"));
}

async fn saving_changes_the_setting_and_basic_auth_follows_at_once(app: TestApp) {
    app.admin().await;
    let s = Session::console_login(&app, "admin", PASSWORD).await;
    assert_eq!(basic_me(&app).await, StatusCode::OK);

    // Basic off, a new idle timeout and token lifetime (a plain form post: 303 to view mode).
    let r = s
        .console_post(
            "/console/settings/",
            &form(&[
                ("AUTH_BASIC_ENABLED", ""),
                ("SESSION_COOKIE_AGE", "900"),
                ("ACCESS_TOKEN_EXPIRE_SECONDS", "7200"),
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(
        r.header("location").as_deref(),
        Some("/console/settings/?saved=1")
    );
    let after = authentication(&s).await;
    assert_eq!(after["AUTH_BASIC_ENABLED"], json!(false));
    assert_eq!(after["SESSION_COOKIE_AGE"], json!(900));
    assert_eq!(
        after["OAUTH2_PROVIDER"]["ACCESS_TOKEN_EXPIRE_SECONDS"],
        json!(7200)
    );
    assert_eq!(after["ALLOW_OAUTH2_FOR_EXTERNAL_USERS"], json!(false));
    assert_eq!(basic_me(&app).await, StatusCode::UNAUTHORIZED);
    let page = s.get("/console/settings/?saved=1").await;
    assert_console_html(&page);
    assert!(page.text().contains("The settings were saved."));
    assert!(page.text().contains("<dd>Off</dd>"));

    // Basic on again, through htmx: the section comes back in view mode with the notice.
    let r = s
        .htmx(Method::POST, "/console/settings/")
        .form(&form(&[("ALLOW_OAUTH2_FOR_EXTERNAL_USERS", "on")]))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.text();
    assert!(body.starts_with("<section id=\"misc-auth\""), "{body}");
    assert!(body.contains("The settings were saved."));
    assert!(body.contains("<dl class=\"view\">"));
    assert_eq!(basic_me(&app).await, StatusCode::OK);
    let after = authentication(&s).await;
    assert_eq!(after["AUTH_BASIC_ENABLED"], json!(true));
    assert_eq!(after["ALLOW_OAUTH2_FOR_EXTERNAL_USERS"], json!(true));

    // The service recorded the changes in the activity stream.
    let r = s
        .get("/api/v2/activity_stream/?object1=setting&order_by=id")
        .await;
    let changed: Vec<String> = r.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|e| e["changes"].as_object().unwrap().keys().cloned())
        .collect();
    assert!(
        changed.contains(&"AUTH_BASIC_ENABLED".to_owned()),
        "{changed:?}"
    );
}

async fn invalid_values_are_422_next_to_the_field_and_change_nothing(app: TestApp) {
    app.admin().await;
    let s = Session::console_login(&app, "admin", PASSWORD).await;
    let before = authentication(&s).await;
    let r = s
        .console_post(
            "/console/settings/",
            &form(&[
                ("AUTH_BASIC_ENABLED", ""),
                ("SESSION_COOKIE_AGE", "-5"),
                ("SESSIONS_PER_USER", "many"),
                ("REFRESH_TOKEN_EXPIRE_SECONDS", "0"),
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_console_html(&r);
    let body = r.text();
    assert!(
        body.contains("id=\"SESSION_COOKIE_AGE\" value=\"-5\" aria-invalid=\"true\" aria-describedby=\"SESSION_COOKIE_AGE-error\""),
        "{body}"
    );
    assert!(body.contains(
        "<span class=\"field-error\" id=\"SESSION_COOKIE_AGE-error\">Ensure this value is greater than or equal to 60.</span>"
    ));
    assert!(body.contains(
        "<span class=\"field-error\" id=\"SESSIONS_PER_USER-error\">A valid integer is required.</span>"
    ));
    assert!(body.contains(
        "<span class=\"field-error\" id=\"REFRESH_TOKEN_EXPIRE_SECONDS-error\">REFRESH_TOKEN_EXPIRE_SECONDS must be a positive integer.</span>"
    ));
    // The form keeps what was typed, the unchecked box too.
    assert!(body.contains("id=\"SESSIONS_PER_USER\" value=\"many\""));
    assert!(body.contains("id=\"AUTH_BASIC_ENABLED\" value=\"on\">"));
    assert_eq!(authentication(&s).await, before);
    assert_eq!(basic_me(&app).await, StatusCode::OK);

    // Through htmx: the section alone, 422.
    let r = s
        .htmx(Method::POST, "/console/settings/")
        .form(&form(&[("SESSION_COOKIE_AGE", "")]))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().starts_with("<section id=\"misc-auth\""));
    assert!(r.text().contains("A valid integer is required."));
    assert_eq!(authentication(&s).await, before);
}

async fn a_normal_user_is_refused(app: TestApp) {
    app.admin().await;
    app.user_with("erin", PASSWORD, false).await;
    let s = Session::console_login(&app, "erin", PASSWORD).await;
    let r = s.get("/console/settings/").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_console_html(&r);
    assert_eq!(
        s.get("/console/settings/?edit=1").await.status,
        StatusCode::FORBIDDEN
    );
    let r = s
        .console_post("/console/settings/", &form(&[("AUTH_BASIC_ENABLED", "")]))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(basic_me(&app).await, StatusCode::OK);
    assert!(
        !s.get("/console/")
            .await
            .text()
            .contains("/console/settings/")
    );
}

async fn a_post_without_the_csrf_token_is_refused(app: TestApp) {
    app.admin().await;
    let s = Session::console_login(&app, "admin", PASSWORD).await;
    let r = s
        .req(Method::POST, "/console/settings/")
        .header("host", "127.0.0.1:8052")
        .header("origin", "http://127.0.0.1:8052")
        .form(&form(&[("AUTH_BASIC_ENABLED", "")]))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.text().contains("This form has expired"));
    assert_eq!(authentication(&s).await["AUTH_BASIC_ENABLED"], json!(true));
    assert_eq!(basic_me(&app).await, StatusCode::OK);
}

on_both_backends!(
    view_mode_shows_the_values_and_edit_opens_the_form,
    saving_changes_the_setting_and_basic_auth_follows_at_once,
    invalid_values_are_422_next_to_the_field_and_change_nothing,
    a_normal_user_is_refused,
    a_post_without_the_csrf_token_is_refused,
);
