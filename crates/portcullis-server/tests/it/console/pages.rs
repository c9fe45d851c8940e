//! Signing in and out, the page gate, headers and assets (`docs/console.md`, "Signing in",
//! "Who sees what", "Headers").

use super::assert_console_html;
use crate::harness::{BAD_LOGIN, PASSWORD, Session, TestApp, basic_value};
use crate::on_both_backends;
use axum::http::{Method, StatusCode};

async fn anonymous_pages_go_to_the_login_with_next(app: TestApp) {
    let r = app.get("/console/?search=a%20b").send().await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.header("location").as_deref(),
        Some("/console/login/?next=%2Fconsole%2F%3Fsearch%3Da%2520b")
    );
    // A page that does not exist is a console 404 page, not the API's JSON.
    let r = app.get("/console/no-such-page/").send().await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_console_html(&r);
    // htmx requests are told where to go instead of being redirected in place.
    let r = app
        .get("/console/")
        .header("hx-request", "true")
        .send()
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        r.header("hx-redirect").as_deref(),
        Some("/console/login/?next=%2Fconsole%2F")
    );
    let r = app.get("/console").send().await;
    assert_eq!(r.status, StatusCode::PERMANENT_REDIRECT);
    assert_eq!(r.header("location").as_deref(), Some("/console/"));
}

async fn login_page_follows_the_console_rules(app: TestApp) {
    let r = app
        .get("/console/login/?next=/console/tokens/")
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_console_html(&r);
    assert!(r.text().contains("value=\"/console/tokens/\""));
    assert!(r.cookie("csrftoken").is_some());
    // An off-site next is replaced by the console's landing page.
    let r = app.get("/console/login/?next=//evil.example/").send().await;
    assert!(r.text().contains("name=\"next\" value=\"/console/\""));
}

async fn console_login_shares_the_api_session_and_logout_ends_both(app: TestApp) {
    app.admin().await;
    let s = Session::console_login(&app, "admin", PASSWORD).await;
    assert_eq!(s.last.status, StatusCode::SEE_OTHER, "{}", s.last.text());
    assert_eq!(s.last.header("location").as_deref(), Some("/console/"));
    assert_eq!(s.get("/api/v2/me/").await.status, StatusCode::OK);
    // The login page sends a signed-in browser on to its `next`.
    let r = s.get("/console/login/?next=/console/tokens/").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location").as_deref(), Some("/console/tokens/"));
    let page = s.get("/console/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_console_html(&page);
    assert!(page.text().contains("<h1>Overview</h1>"));

    // Logout without the form's token is a CSRF failure, and the session lives on.
    let r = s
        .req(Method::POST, "/console/logout/")
        .form(&[])
        .send()
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(s.get("/api/v2/me/").await.status, StatusCode::OK);

    let r = s.console_post("/console/logout/", &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(
        r.header("location").as_deref(),
        Some("/console/login/?logged_out=1")
    );
    assert_eq!(s.get("/api/v2/me/").await.status, StatusCode::UNAUTHORIZED);
    let r = s.get("/console/").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        r.header("location")
            .is_some_and(|l| l.ends_with("&expired=1")),
        "a dead session cookie is named as expired"
    );
}

async fn an_api_login_opens_the_console(app: TestApp) {
    app.admin().await;
    let s = app.login("admin", PASSWORD).await;
    let r = s.get("/console/").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

async fn basic_and_bearer_credentials_do_not_open_the_console(app: TestApp) {
    app.admin().await;
    let r = app
        .get("/console/")
        .header("authorization", &basic_value("admin", PASSWORD))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(
        r.header("location")
            .is_some_and(|l| l.starts_with("/console/login/"))
    );
}

async fn wrong_password_and_lock_are_worded_on_the_page(app: TestApp) {
    app.user_with("dora", PASSWORD, false).await;
    let s = Session::console_login(&app, "dora", "wrong-password").await;
    assert_eq!(s.last.status, StatusCode::UNAUTHORIZED);
    assert!(s.last.text().contains(BAD_LOGIN));
    assert!(s.last.text().contains("value=\"dora\""));
    let mut last = s.last;
    for _ in 0..20 {
        last = Session::console_login(&app, "dora", "wrong-password")
            .await
            .last;
        if last.status == StatusCode::TOO_MANY_REQUESTS {
            break;
        }
    }
    assert_eq!(last.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(last.text().contains("Try again in"), "{}", last.text());
    assert!(last.header("retry-after").is_some());
    // The right password is refused too while the lock lasts.
    let s = Session::console_login(&app, "dora", PASSWORD).await;
    assert_eq!(s.last.status, StatusCode::TOO_MANY_REQUESTS);
}

async fn login_without_csrf_is_refused(app: TestApp) {
    app.admin().await;
    let r = app
        .post("/console/login/")
        .form(&[("username", "admin"), ("password", PASSWORD)])
        .send()
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.cookie("awx_sessionid").is_none());
}

async fn assets_are_served_from_the_binary(app: TestApp) {
    let r = app.get("/console/static/htmx-2.0.11.min.js").send().await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("text/javascript; charset=utf-8")
    );
    assert!(r.text().starts_with("var htmx="));
    let r = app.get("/console/static/console.css").send().await;
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("text/css; charset=utf-8")
    );
    let r = app.get("/console/static/../Cargo.toml").send().await;
    assert_ne!(r.status, StatusCode::OK);
    let r = app.get("/console/static/nope.js").send().await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

async fn a_normal_user_sees_no_admin_links(app: TestApp) {
    app.user_with("erin", PASSWORD, false).await;
    let s = Session::console_login(&app, "erin", PASSWORD).await;
    let page = s.get("/console/").await;
    assert_eq!(page.status, StatusCode::OK);
    let body = page.text();
    assert!(body.contains("of your tokens"));
    for admin_link in [
        "/console/users/",
        "/console/settings/",
        "/console/applications/",
    ] {
        assert!(
            !body.contains(admin_link),
            "{admin_link} linked for a normal user"
        );
    }
}

on_both_backends!(
    anonymous_pages_go_to_the_login_with_next,
    login_page_follows_the_console_rules,
    console_login_shares_the_api_session_and_logout_ends_both,
    an_api_login_opens_the_console,
    basic_and_bearer_credentials_do_not_open_the_console,
    wrong_password_and_lock_are_worded_on_the_page,
    login_without_csrf_is_refused,
    assets_are_served_from_the_binary,
    a_normal_user_sees_no_admin_links,
);
