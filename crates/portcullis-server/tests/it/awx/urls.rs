//! URL handling (`docs/awx-compat.md`, "URL handling", "Errors"): the trailing-slash redirect,
//! unrouted paths and methods a view does not offer.

use crate::harness::{PASSWORD, TestApp, assert_generic_401};
use crate::on_both_backends;
use axum::http::Method;
use serde_json::json;

async fn get_without_trailing_slash_redirects_permanently_to_the_slashed_path(app: TestApp) {
    app.admin().await;
    for path in [
        "/api/v2/users",
        "/api/v2/me",
        "/api/v2/settings/all",
        "/api/v2",
        "/api",
    ] {
        let r = app.get(path).basic("admin", PASSWORD).send().await;
        assert_eq!(r.status, 301, "{path}");
        assert_eq!(r.header("location"), Some(format!("{path}/")), "{path}");
        assert!(r.body.is_empty(), "{path}");
        // Following the redirect works (`curl -L`).
        let followed = app
            .get(&r.header("location").unwrap())
            .basic("admin", PASSWORD)
            .send()
            .await;
        assert_eq!(followed.status, 200, "{path}");
    }
}

async fn redirect_keeps_the_query_string(app: TestApp) {
    app.admin().await;
    let r = app
        .get("/api/v2/users?username=admin&page_size=5")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 301);
    assert_eq!(
        r.header("location").as_deref(),
        Some("/api/v2/users/?username=admin&page_size=5")
    );
    let followed = app
        .get("/api/v2/users/?username=admin&page_size=5")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(followed.json()["count"], 1);
}

async fn head_without_trailing_slash_redirects_too(app: TestApp) {
    let r = app.req(Method::HEAD, "/api/v2/ping").send().await;
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location").as_deref(), Some("/api/v2/ping/"));
    assert!(r.body.is_empty());
}

async fn redirect_happens_before_authentication(app: TestApp) {
    // URL handling is step 3, authentication step 5: anonymous callers are redirected first
    // and then get the 401 on the real URL.
    let r = app.get("/api/v2/me").send().await;
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location").as_deref(), Some("/api/v2/me/"));
    assert_generic_401(&app.get("/api/v2/me/").send().await);
}

async fn login_and_logout_paths_without_slash_redirect(app: TestApp) {
    let r = app.get("/api/login").send().await;
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location").as_deref(), Some("/api/login/"));
    let r = app.get("/api/login?next=/api/v2/").send().await;
    assert_eq!(
        r.header("location").as_deref(),
        Some("/api/login/?next=/api/v2/")
    );
    let r = app.get("/accounts/profile").send().await;
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location").as_deref(), Some("/accounts/profile/"));
}

async fn post_without_trailing_slash_is_handled_as_if_slashed(app: TestApp) {
    app.admin().await;
    let r = app
        .post("/api/v2/users")
        .basic("admin", PASSWORD)
        .json(&json!({"username": "carol", "password": "long-enough-pw"}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["username"], "carol");
    let id = r.json()["id"].as_i64().unwrap();
    assert_eq!(r.header("location"), Some(format!("/api/v2/users/{id}/")));
}

async fn patch_and_delete_without_trailing_slash_are_handled_as_if_slashed(app: TestApp) {
    app.admin().await;
    let bob = app.user("bob").await;
    let r = app
        .patch(&format!("/api/v2/users/{}", bob.id))
        .basic("admin", PASSWORD)
        .json(&json!({"first_name": "Bob"}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["first_name"], "Bob");
    let r = app
        .patch("/api/v2/settings/authentication")
        .basic("admin", PASSWORD)
        .json(&json!({"SESSIONS_PER_USER": 4}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["SESSIONS_PER_USER"], 4);
    let r = app
        .delete(&format!("/api/v2/users/{}", bob.id))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
}

async fn post_login_without_trailing_slash_logs_in(app: TestApp) {
    app.admin().await;
    let csrf = app.anonymous_csrf().await;
    let r = app
        .post("/api/login")
        .header("cookie", &format!("csrftoken={csrf}"))
        .header("x-csrftoken", &csrf)
        .form(&[
            ("username", "admin"),
            ("password", PASSWORD),
            ("next", "/api/"),
        ])
        .send()
        .await;
    assert_eq!(r.status, 302, "{}", r.text());
    assert_eq!(r.header("location").as_deref(), Some("/api/"));
    assert!(r.cookie("awx_sessionid").is_some());
}

async fn unrouted_api_paths_get_the_awx_404(app: TestApp) {
    app.admin().await;
    let not_found = json!({"detail": "The requested resource could not be found."});
    for path in [
        "/api/v2/nope/",
        "/api/v2/nope",
        "/api/v3/",
        "/api/v2/users/1/nope/",
        // `/api/v2/config/` is served since issue 9 (tower-cli needs it).
        "/api/v2/dashboard/",
    ] {
        for auth in [None, Some(("admin", PASSWORD))] {
            let mut req = app.get(path);
            if let Some((u, p)) = auth {
                req = req.basic(u, p);
            }
            let r = req.send().await;
            assert_eq!(r.status, 404, "{path}");
            assert_eq!(r.json(), not_found, "{path}");
            assert_eq!(
                r.header("content-type").as_deref(),
                Some("application/json"),
                "{path}"
            );
        }
    }
    let r = app.post("/api/v2/nope/").send().await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json(), not_found);
}

async fn a_method_the_view_does_not_offer_gets_405_with_allow(app: TestApp) {
    app.admin().await;
    let r = app
        .req(Method::DELETE, "/api/v2/me/")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 405);
    assert_eq!(
        r.json(),
        json!({"detail": "Method \"DELETE\" not allowed."})
    );
    assert_eq!(r.header("allow").as_deref(), Some("GET, HEAD, OPTIONS"));
    let r = app
        .req(Method::PUT, "/api/v2/users/")
        .basic("admin", PASSWORD)
        .json(&json!({}))
        .send()
        .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.json(), json!({"detail": "Method \"PUT\" not allowed."}));
    assert_eq!(
        r.header("allow").as_deref(),
        Some("GET, POST, HEAD, OPTIONS")
    );
    let r = app
        .req(Method::POST, "/api/v2/settings/")
        .basic("admin", PASSWORD)
        .json(&json!({}))
        .send()
        .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.json(), json!({"detail": "Method \"POST\" not allowed."}));
    let r = app.req(Method::DELETE, "/api/").send().await;
    assert_eq!(r.status, 405);
    assert_eq!(
        r.json(),
        json!({"detail": "Method \"DELETE\" not allowed."})
    );
    assert_eq!(r.header("allow").as_deref(), Some("GET, HEAD, OPTIONS"));
}

async fn anonymous_callers_get_401_before_405_on_protected_views(app: TestApp) {
    // DRF authenticates before it looks up the handler: anonymous callers never learn which
    // methods a protected view offers.
    let r = app.req(Method::DELETE, "/api/v2/me/").send().await;
    assert_eq!(r.status, 401);
    assert_eq!(
        r.header("www-authenticate").as_deref(),
        Some("Bearer realm=api authorization_url=/api/o/authorize/")
    );
    let r = app
        .req(Method::POST, "/api/v2/settings/")
        .json(&json!({}))
        .send()
        .await;
    assert_eq!(r.status, 401);
    // Open views stay open: the method refusal is all an anonymous caller gets there.
    let r = app
        .req(Method::POST, "/api/v2/")
        .json(&json!({}))
        .send()
        .await;
    assert_eq!(r.status, 405);
}

async fn head_is_answered_like_get_without_a_body(app: TestApp) {
    app.admin().await;
    let r = app
        .req(Method::HEAD, "/api/v2/me/")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    assert_eq!(r.header("x-api-product-version").as_deref(), Some("22.2.0"));
}

on_both_backends!(
    get_without_trailing_slash_redirects_permanently_to_the_slashed_path,
    redirect_keeps_the_query_string,
    head_without_trailing_slash_redirects_too,
    redirect_happens_before_authentication,
    login_and_logout_paths_without_slash_redirect,
    post_without_trailing_slash_is_handled_as_if_slashed,
    patch_and_delete_without_trailing_slash_are_handled_as_if_slashed,
    post_login_without_trailing_slash_logs_in,
    unrouted_api_paths_get_the_awx_404,
    a_method_the_view_does_not_offer_gets_405_with_allow,
    anonymous_callers_get_401_before_405_on_protected_views,
    head_is_answered_like_get_without_a_body,
);
