//! NUL characters in client input (issue 9): a form field, a query filter, a path segment and
//! a JSON string are refused with a 400 in the surface's dialect on both backends, before
//! they reach storage (PostgreSQL refuses NUL, which used to come back as a 503 "Service
//! temporarily unavailable").

use crate::harness::{PASSWORD, Resp, TestApp};
use crate::on_both_backends;
use axum::http::Method;
use serde_json::json;

const NUL_DETAIL: &str = "Null characters are not allowed.";

#[track_caller]
fn assert_nul_400(r: &Resp) {
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_eq!(r.json(), json!({ "detail": NUL_DETAIL }));
}

async fn a_nul_in_the_login_form_is_a_400_form_not_a_503(app: TestApp) {
    app.admin().await;
    for pairs in [
        [("username", "a\0"), ("password", "x")],
        [("username", "admin"), ("password", "pw\0")],
        [("username", "\0"), ("password", PASSWORD)],
    ] {
        let csrf = app.anonymous_csrf().await;
        let r = app
            .post("/api/login/")
            .header("cookie", &format!("csrftoken={csrf}"))
            .header("x-csrftoken", &csrf)
            .form(&pairs)
            .send()
            .await;
        assert_eq!(r.status, 400, "{pairs:?}: {}", r.text());
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("text/html; charset=utf-8")
        );
        assert!(r.text().contains(NUL_DETAIL), "{}", r.text());
        assert!(r.set_cookie("awx_sessionid").is_none());
    }
    // Nothing was counted against the account: the real password still logs in.
    app.login("admin", PASSWORD).await;
}

async fn a_nul_in_a_query_filter_is_a_400(app: TestApp) {
    app.admin().await;
    for path in [
        "/api/v2/users/?username=%00",
        "/api/v2/users/?username=a%00b",
        "/api/v2/users/?username__icontains=%00",
        "/api/v2/users/?order_by=%00",
        "/api/v2/users/?search=%00",
        "/api/v2/tokens/?description=%00",
        "/api/v2/activity_stream/?operation=%00",
    ] {
        let r = app.get(path).basic("admin", PASSWORD).send().await;
        assert_nul_400(&r);
        // Without credentials too: nothing is looked up for such a request.
        assert_nul_400(&app.get(path).send().await);
    }
    // `%2500` is an encoded `%00`, not a NUL: an ordinary (empty) filter result.
    let r = app
        .get("/api/v2/users/?username=%2500")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["count"], 0);
}

async fn a_nul_in_a_path_segment_is_a_400(app: TestApp) {
    app.admin().await;
    for path in [
        "/api/v2/users/%00/",
        "/api/v2/users/a%00/",
        "/api/v2/settings/%00/",
        "/api/v2/tokens/%00/",
        "/api/v2/applications/%00/",
        "/api/v2/users/%00",
    ] {
        let r = app.get(path).basic("admin", PASSWORD).send().await;
        assert_nul_400(&r);
    }
    let r = app
        .req(Method::PATCH, "/api/v2/users/%00/")
        .basic("admin", PASSWORD)
        .json(&json!({"first_name": "X"}))
        .send()
        .await;
    assert_nul_400(&r);
    let r = app
        .req(Method::DELETE, "/api/v2/users/1%00/")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_nul_400(&r);
}

async fn a_nul_in_a_json_string_is_a_400_naming_the_field(app: TestApp) {
    app.admin().await;
    let r = app
        .post("/api/v2/tokens/")
        .basic("admin", PASSWORD)
        .header("content-type", "application/json")
        .body(r#"{"description": "a\u0000b", "scope": "read"}"#)
        .send()
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json(), json!({ "description": [NUL_DETAIL] }));
    let tokens = app
        .get("/api/v2/tokens/")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(tokens.json()["count"], 0, "no token was created");

    let r = app
        .post("/api/v2/users/")
        .basic("admin", PASSWORD)
        .json(&json!({"username": "eve\u{0}", "password": PASSWORD}))
        .send()
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json(), json!({ "username": [NUL_DETAIL] }));

    // Nested inside a setting's value (PostgreSQL's jsonb refuses `\u0000` too).
    let r = app
        .patch("/api/v2/settings/all/")
        .basic("admin", PASSWORD)
        .json(&json!({"CUSTOM_LOGIN_INFO": "x\u{0}"}))
        .send()
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json(), json!({ "CUSTOM_LOGIN_INFO": [NUL_DETAIL] }));

    // In a key: nothing to name, the plain detail.
    let r = app
        .patch("/api/v2/settings/all/")
        .basic("admin", PASSWORD)
        .header("content-type", "application/json")
        .body(r#"{"A\u0000": 1}"#)
        .send()
        .await;
    assert_nul_400(&r);

    // An escaped backslash before `u0000` is six ordinary characters.
    let r = app
        .post("/api/v2/tokens/")
        .basic("admin", PASSWORD)
        .header("content-type", "application/json")
        .body(r#"{"description": "a\\u0000b", "scope": "read"}"#)
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["description"], "a\\u0000b");
}

async fn a_nul_in_an_oauth_token_form_is_invalid_request(app: TestApp) {
    app.admin().await;
    let client = app.password_app("cli").await;
    let expected = json!({"error": "invalid_request", "error_description": NUL_DETAIL});
    // In the grant's fields, with the client authenticated by Basic.
    let r = app
        .oauth_token(
            &client,
            &[
                ("grant_type", "password"),
                ("username", "a\0"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json(), expected);
    // In the client id of form client authentication (looked up before anything else).
    let r = app
        .post("/api/o/token/")
        .form(&[
            ("grant_type", "password"),
            ("client_id", "a\0"),
            ("username", "admin"),
            ("password", PASSWORD),
        ])
        .send()
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json(), expected);
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    // In the query string of an `/api/o/` endpoint: the same dialect.
    let r = app
        .post("/api/o/revoke_token/?token=%00")
        .basic(&client.client_id, client.secret.as_deref().unwrap_or(""))
        .form(&[("token", "x")])
        .send()
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json(), expected);
    // The client still works.
    app.password_grant(&client, "admin", None).await;
}

on_both_backends!(
    a_nul_in_the_login_form_is_a_400_form_not_a_503,
    a_nul_in_a_query_filter_is_a_400,
    a_nul_in_a_path_segment_is_a_400,
    a_nul_in_a_json_string_is_a_400_naming_the_field,
    a_nul_in_an_oauth_token_form_is_invalid_request,
);
