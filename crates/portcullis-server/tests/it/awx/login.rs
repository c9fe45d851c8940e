//! The session login form, `/accounts/profile/` and logout (`docs/awx-compat.md`, "Login form",
//! "Cookies", "Logout"; `docs/security.md`, "Sessions").

use crate::harness::{BAD_LOGIN, PASSWORD, Resp, TestApp, assert_csrf_page, assert_generic_401};
use crate::on_both_backends;
use axum::http::Method;
use serde_json::json;

const NEVER_CACHE: &str = "max-age=0, no-cache, no-store, must-revalidate, private";
/// The fake clock's start as an IMF-fixdate.
const START_DATE: &str = "Sun, 01 Mar 2026 12:00:00 GMT";
const DELETED_SESSION_COOKIE: &str =
    "awx_sessionid=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax";

/// Posts the login form with a valid anonymous CSRF pair (cookie + `X-CSRFToken` +
/// `Referer`) and the given form fields.
async fn post_login(app: &TestApp, fields: &[(&str, &str)]) -> (String, Resp) {
    let csrf = app.anonymous_csrf().await;
    let r = app
        .post("/api/login/")
        .header("cookie", &format!("csrftoken={csrf}"))
        .header("x-csrftoken", &csrf)
        .header("referer", "http://127.0.0.1:8052/api/login/")
        .form(fields)
        .send()
        .await;
    (csrf, r)
}

#[track_caller]
fn assert_failed_login_page(r: &Resp, username: &str, message: &str) {
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("text/html; charset=utf-8")
    );
    let body = r.text();
    assert!(body.contains(message), "{body}");
    assert!(
        body.contains(&format!("name=\"username\" id=\"id_username\" maxlength=\"100\" autocomplete=\"username\" value=\"{username}\"")),
        "username not kept: {body}"
    );
    assert!(r.set_cookie("awx_sessionid").is_none());
    assert!(r.header("x-api-session-cookie-name").is_none());
    assert!(r.header("session-timeout").is_none());
    assert_eq!(r.header("cache-control").as_deref(), Some(NEVER_CACHE));
    // The form is rendered again with a usable CSRF token.
    let token = r.cookie("csrftoken").unwrap();
    assert!(body.contains(&format!("name=\"csrfmiddlewaretoken\" value=\"{token}\"")));
}

async fn login_form_is_served_to_html_clients(app: TestApp) {
    for accept in [
        None,
        Some("*/*"),
        Some("text/html"),
        Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
    ] {
        let mut req = app.get("/api/login/");
        if let Some(a) = accept {
            req = req.header("accept", a);
        }
        let r = req.send().await;
        assert_eq!(r.status, 200, "{accept:?}");
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("text/html; charset=utf-8")
        );
        let token = r.cookie("csrftoken").unwrap();
        assert_eq!(
            r.set_cookie("csrftoken").unwrap(),
            format!("csrftoken={token}; Path=/; SameSite=Lax"),
            "no expiry on the CSRF cookie"
        );
        let body = r.text();
        assert!(
            body.contains("<form action=\"/api/login/\" method=\"post\">"),
            "{body}"
        );
        assert!(body.contains(&format!(
            "<input type=\"hidden\" name=\"csrfmiddlewaretoken\" value=\"{token}\">"
        )));
        assert!(body.contains("<input type=\"hidden\" name=\"next\" value=\"/api/\">"));
        assert!(body.contains("name=\"username\" id=\"id_username\" maxlength=\"100\""));
        assert!(body.contains(
            "<input type=\"password\" name=\"password\" id=\"id_password\" maxlength=\"100\""
        ));
        assert!(body.contains("type=\"submit\""));
        assert_eq!(r.header("cache-control").as_deref(), Some(NEVER_CACHE));
        assert_eq!(r.header("expires").as_deref(), Some(START_DATE));
        assert!(r.set_cookie("awx_sessionid").is_none());
    }
}

async fn login_form_keeps_a_valid_csrf_cookie_and_replaces_a_forged_one(app: TestApp) {
    let valid = app.anonymous_csrf().await;
    let r = app
        .get("/api/login/")
        .header("cookie", &format!("csrftoken={valid}"))
        .send()
        .await;
    assert_eq!(r.cookie("csrftoken").as_deref(), Some(valid.as_str()));
    assert!(
        r.text()
            .contains(&format!("name=\"csrfmiddlewaretoken\" value=\"{valid}\""))
    );
    let forged = "Z".repeat(64);
    let r = app
        .get("/api/login/")
        .header("cookie", &format!("csrftoken={forged}"))
        .send()
        .await;
    let replaced = r.cookie("csrftoken").unwrap();
    assert_ne!(replaced, forged);
    assert!(!r.text().contains(&forged));
}

async fn login_form_carries_the_next_query_value_escaped(app: TestApp) {
    let r = app.get("/api/login/?next=/api/v2/me/").send().await;
    assert!(
        r.text()
            .contains("<input type=\"hidden\" name=\"next\" value=\"/api/v2/me/\">")
    );
    let r = app
        .get("/api/login/?next=%22%3E%3Cscript%3Ealert(1)%3C/script%3E")
        .send()
        .await;
    assert_eq!(r.status, 200);
    assert!(!r.text().contains("<script>"), "{}", r.text());
}

async fn login_form_refuses_json_only_clients_with_406(app: TestApp) {
    let r = app
        .get("/api/login/")
        .header("accept", "application/json")
        .send()
        .await;
    assert_eq!(r.status, 406);
    assert!(r.body.is_empty());
    assert_eq!(r.header("content-type").as_deref(), Some("text/plain"));
    assert!(r.header("x-api-node").is_none());
    assert!(r.header("x-api-product-name").is_none());
}

async fn form_login_sets_awx_cookies_in_order_and_authenticates(app: TestApp) {
    app.admin().await;
    let (before, r) = post_login(
        &app,
        &[
            ("username", "admin"),
            ("password", PASSWORD),
            ("next", "/api/"),
        ],
    )
    .await;
    assert_eq!(r.status, 302, "{}", r.text());
    assert!(r.body.is_empty());
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(r.header("location").as_deref(), Some("/api/"));
    assert_eq!(r.header_all("x-api-session-cookie-name"), ["awx_sessionid"]);
    assert_eq!(r.header_all("session-timeout"), ["1800"]);
    assert_eq!(r.header("cache-control").as_deref(), Some(NEVER_CACHE));
    let cookies = r.set_cookies();
    assert_eq!(cookies.len(), 3, "{cookies:?}");
    assert_eq!(cookies[0], "userLoggedIn=true; Path=/; SameSite=Lax");
    let csrf = r.cookie("csrftoken").unwrap();
    assert_eq!(
        cookies[1],
        format!("csrftoken={csrf}; Path=/; SameSite=Lax")
    );
    assert_ne!(csrf, before, "the CSRF token rotates at login");
    assert_eq!(csrf.len(), 64);
    let sid = r.cookie("awx_sessionid").unwrap();
    assert!(sid.starts_with("pcl_ses_") && sid.len() == 57, "{sid}");
    assert!(sid[8..].bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(
        cookies[2],
        format!(
            "awx_sessionid={sid}; expires=Sun, 01 Mar 2026 12:30:00 GMT; HttpOnly; Max-Age=1800; Path=/; SameSite=Lax"
        )
    );
    let me = app
        .get("/api/v2/me/")
        .header("cookie", &format!("awx_sessionid={sid}"))
        .send()
        .await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["results"][0]["username"], "admin");
    assert_eq!(
        me.json()["results"][0]["last_login"],
        "2026-03-01T12:00:00.000000Z"
    );
    // Only the hash of the session id is stored.
    assert!(app.stored_session(&sid).await.is_some());
}

async fn login_without_next_goes_to_the_profile_page(app: TestApp) {
    app.admin().await;
    let (_, r) = post_login(&app, &[("username", "admin"), ("password", PASSWORD)]).await;
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location").as_deref(), Some("/accounts/profile/"));
}

async fn login_follows_only_safe_relative_next_values(app: TestApp) {
    app.admin().await;
    for (next, expected) in [
        ("/api/", "/api/"),
        ("/api/v2/me/?format=json", "/api/v2/me/?format=json"),
        ("https://evil.example/", "/accounts/profile/"),
        ("//evil.example", "/accounts/profile/"),
        ("//evil.example/api/", "/accounts/profile/"),
        ("/\\evil.example", "/accounts/profile/"),
        ("javascript:alert(1)", "/accounts/profile/"),
        ("api/", "/accounts/profile/"),
        ("", "/accounts/profile/"),
    ] {
        let (_, r) = post_login(
            &app,
            &[
                ("username", "admin"),
                ("password", PASSWORD),
                ("next", next),
            ],
        )
        .await;
        assert_eq!(r.status, 302, "{next}");
        assert_eq!(r.header("location").as_deref(), Some(expected), "{next}");
    }
}

async fn login_accepts_the_token_from_the_form_field(app: TestApp) {
    app.admin().await;
    let csrf = app.anonymous_csrf().await;
    let r = app
        .post("/api/login/")
        .header("cookie", &format!("csrftoken={csrf}"))
        .form(&[
            ("csrfmiddlewaretoken", csrf.as_str()),
            ("username", "admin"),
            ("password", PASSWORD),
            ("next", "/api/"),
        ])
        .send()
        .await;
    assert_eq!(r.status, 302, "{}", r.text());
    assert!(r.cookie("awx_sessionid").is_some());
}

async fn wrong_password_shows_the_form_again_with_the_awx_text(app: TestApp) {
    app.user("alice").await;
    let (_, r) = post_login(
        &app,
        &[
            ("username", "alice"),
            ("password", "wrong-password"),
            ("next", "/api/"),
        ],
    )
    .await;
    assert_failed_login_page(&r, "alice", BAD_LOGIN);
    assert!(
        r.text()
            .contains("<input type=\"hidden\" name=\"next\" value=\"/api/\">")
    );
}

async fn unknown_user_gets_the_same_failure_as_a_wrong_password(app: TestApp) {
    let (_, r) = post_login(&app, &[("username", "ghost"), ("password", "whatever")]).await;
    assert_failed_login_page(&r, "ghost", BAD_LOGIN);
}

async fn inactive_user_cannot_log_in(app: TestApp) {
    let alice = app.user("alice").await;
    app.deactivate(&alice).await;
    let (_, r) = post_login(&app, &[("username", "alice"), ("password", PASSWORD)]).await;
    assert_failed_login_page(&r, "alice", BAD_LOGIN);
}

async fn ldap_user_without_a_directory_cannot_log_in_locally(app: TestApp) {
    app.ldap_user("lara").await;
    let (_, r) = post_login(&app, &[("username", "lara"), ("password", "anything")]).await;
    assert_failed_login_page(&r, "lara", BAD_LOGIN);
}

async fn over_long_username_fails_like_a_wrong_password(app: TestApp) {
    let long = "a".repeat(151);
    let (_, r) = post_login(&app, &[("username", long.as_str()), ("password", "x")]).await;
    assert_eq!(r.status, 401);
    assert!(r.text().contains(BAD_LOGIN));
    assert!(r.set_cookie("awx_sessionid").is_none());
}

async fn missing_fields_say_this_field_is_required(app: TestApp) {
    app.user("alice").await;
    let (_, r) = post_login(&app, &[("username", "alice")]).await;
    assert_failed_login_page(&r, "alice", "This field is required.");
    let (_, r) = post_login(&app, &[("username", "alice"), ("password", "")]).await;
    assert_failed_login_page(&r, "alice", "This field is required.");
    let (_, r) = post_login(&app, &[("password", PASSWORD)]).await;
    assert_failed_login_page(&r, "", "This field is required.");
}

async fn failed_login_keeps_the_username_html_escaped(app: TestApp) {
    let (_, r) = post_login(
        &app,
        &[("username", "\"><script>x</script>"), ("password", "pw")],
    )
    .await;
    assert_eq!(r.status, 401);
    assert!(!r.text().contains("<script>x</script>"), "{}", r.text());
}

async fn json_login_body_with_csrf_is_415(app: TestApp) {
    app.admin().await;
    let csrf = app.anonymous_csrf().await;
    let r = app
        .post("/api/login/")
        .header("cookie", &format!("csrftoken={csrf}"))
        .header("x-csrftoken", &csrf)
        .json(&json!({"username": "admin", "password": PASSWORD}))
        .send()
        .await;
    assert_eq!(r.status, 415);
    assert!(r.body.is_empty());
    assert!(r.set_cookie("awx_sessionid").is_none());
}

async fn json_login_body_without_csrf_fails_the_csrf_check_first(app: TestApp) {
    app.admin().await;
    let r = app
        .post("/api/login/")
        .json(&json!({"username": "admin", "password": PASSWORD}))
        .send()
        .await;
    assert_csrf_page(&r, "CSRF cookie not set.");
}

async fn login_without_csrf_cookie_is_refused(app: TestApp) {
    app.admin().await;
    let csrf = app.anonymous_csrf().await;
    let r = app
        .post("/api/login/")
        .header("x-csrftoken", &csrf)
        .form(&[("username", "admin"), ("password", PASSWORD)])
        .send()
        .await;
    assert_csrf_page(&r, "CSRF cookie not set.");
}

async fn login_without_csrf_token_is_refused(app: TestApp) {
    app.admin().await;
    let csrf = app.anonymous_csrf().await;
    let r = app
        .post("/api/login/")
        .header("cookie", &format!("csrftoken={csrf}"))
        .form(&[("username", "admin"), ("password", PASSWORD)])
        .send()
        .await;
    assert_csrf_page(&r, "CSRF token missing.");
}

async fn login_with_a_wrong_csrf_token_is_refused(app: TestApp) {
    app.admin().await;
    let cookie = app.anonymous_csrf().await;
    let other = app.anonymous_csrf().await;
    assert_ne!(cookie, other);
    let r = app
        .post("/api/login/")
        .header("cookie", &format!("csrftoken={cookie}"))
        .header("x-csrftoken", &other)
        .form(&[("username", "admin"), ("password", PASSWORD)])
        .send()
        .await;
    assert_csrf_page(
        &r,
        "CSRF token from the 'X-Csrftoken' HTTP header incorrect.",
    );
    let r = app
        .post("/api/login/")
        .header("cookie", &format!("csrftoken={cookie}"))
        .form(&[
            ("csrfmiddlewaretoken", other.as_str()),
            ("username", "admin"),
            ("password", PASSWORD),
        ])
        .send()
        .await;
    assert_csrf_page(&r, "CSRF token from POST incorrect.");
    let r = app
        .post("/api/login/")
        .header("cookie", &format!("csrftoken={cookie}"))
        .header("x-csrftoken", &cookie[..32])
        .form(&[("username", "admin"), ("password", PASSWORD)])
        .send()
        .await;
    assert_csrf_page(
        &r,
        "CSRF token from the 'X-Csrftoken' HTTP header has incorrect length.",
    );
}

async fn login_with_a_forged_csrf_pair_is_refused(app: TestApp) {
    // Equal cookie and header, but no server MAC: a cookie planted from a sibling host.
    app.admin().await;
    let forged = "x".repeat(64);
    let r = app
        .post("/api/login/")
        .header("cookie", &format!("csrftoken={forged}"))
        .header("x-csrftoken", &forged)
        .form(&[("username", "admin"), ("password", PASSWORD)])
        .send()
        .await;
    assert_csrf_page(&r, "CSRF cookie not set.");
}

async fn login_from_a_foreign_origin_is_refused(app: TestApp) {
    app.admin().await;
    let csrf = app.anonymous_csrf().await;
    let r = app
        .post("/api/login/")
        .header("cookie", &format!("csrftoken={csrf}"))
        .header("x-csrftoken", &csrf)
        .header("origin", "https://evil.example")
        .form(&[("username", "admin"), ("password", PASSWORD)])
        .send()
        .await;
    assert_csrf_page(
        &r,
        "Origin checking failed - https://evil.example does not match any trusted origins.",
    );
}

async fn login_from_the_own_origin_is_accepted(app: TestApp) {
    app.admin().await;
    let csrf = app.anonymous_csrf().await;
    let r = app
        .post("/api/login/")
        .header("host", "127.0.0.1:8052")
        .header("cookie", &format!("csrftoken={csrf}"))
        .header("x-csrftoken", &csrf)
        .header("origin", "http://127.0.0.1:8052")
        .form(&[("username", "admin"), ("password", PASSWORD)])
        .send()
        .await;
    assert_eq!(r.status, 302, "{}", r.text());
}

async fn profile_redirects_to_the_api_root(app: TestApp) {
    let r = app.get("/accounts/profile/").send().await;
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location").as_deref(), Some("/api/"));
}

async fn logout_by_get_deletes_the_session_and_expires_the_cookies(app: TestApp) {
    app.admin().await;
    let s = app.login("admin", PASSWORD).await;
    let r = s.get("/api/logout/").await;
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location").as_deref(), Some("/api/"));
    assert_eq!(r.header("cache-control").as_deref(), Some(NEVER_CACHE));
    let cookies = r.set_cookies();
    assert_eq!(cookies.len(), 3, "{cookies:?}");
    assert_eq!(cookies[0], DELETED_SESSION_COOKIE);
    assert_eq!(cookies[1], "userLoggedIn=false; Path=/; SameSite=Lax");
    let fresh = r.cookie("csrftoken").unwrap();
    assert_ne!(fresh, s.csrf, "the CSRF token rotates at logout");
    assert_eq!(
        cookies[2],
        format!("csrftoken={fresh}; Path=/; SameSite=Lax")
    );
    assert!(r.header("session-timeout").is_none());
    assert!(app.stored_session(s.id()).await.is_none());
    assert_generic_401(&s.get("/api/v2/me/").await);
}

async fn logout_follows_a_safe_next_only(app: TestApp) {
    app.admin().await;
    let s = app.login("admin", PASSWORD).await;
    let r = s.get("/api/logout/?next=/api/v2/").await;
    assert_eq!(r.header("location").as_deref(), Some("/api/v2/"));
    let r = app
        .get("/api/logout/?next=https://evil.example/")
        .send()
        .await;
    assert_eq!(r.header("location").as_deref(), Some("/api/"));
    let r = app.get("/api/logout/?next=//evil.example").send().await;
    assert_eq!(r.header("location").as_deref(), Some("/api/"));
}

async fn logout_by_post_with_csrf_ends_the_session(app: TestApp) {
    app.admin().await;
    let s = app.login("admin", PASSWORD).await;
    let r = s.csrf_req(Method::POST, "/api/logout/").send().await;
    assert_eq!(r.status, 302, "{}", r.text());
    assert_eq!(
        r.set_cookie("awx_sessionid").as_deref(),
        Some(DELETED_SESSION_COOKIE)
    );
    assert_generic_401(&s.get("/api/v2/me/").await);
}

async fn logout_by_post_with_the_form_token_ends_the_session(app: TestApp) {
    app.admin().await;
    let s = app.login("admin", PASSWORD).await;
    let r = s
        .req(Method::POST, "/api/logout/")
        .form(&[("csrfmiddlewaretoken", s.csrf.as_str())])
        .send()
        .await;
    assert_eq!(r.status, 302, "{}", r.text());
    assert_generic_401(&s.get("/api/v2/me/").await);
}

async fn logout_by_post_without_csrf_is_refused_and_the_session_survives(app: TestApp) {
    app.admin().await;
    let s = app.login("admin", PASSWORD).await;
    let r = s.req(Method::POST, "/api/logout/").send().await;
    assert_csrf_page(&r, "CSRF token missing.");
    let r = s
        .req(Method::POST, "/api/logout/")
        .header("x-csrftoken", &app.anonymous_csrf().await)
        .send()
        .await;
    assert_csrf_page(
        &r,
        "CSRF token from the 'X-Csrftoken' HTTP header incorrect.",
    );
    assert_eq!(s.get("/api/v2/me/").await.status, 200);
    assert!(app.stored_session(s.id()).await.is_some());
}

async fn anonymous_logout_redirects_without_deleting_a_session_cookie(app: TestApp) {
    let r = app.get("/api/logout/").send().await;
    assert_eq!(r.status, 302);
    assert_eq!(r.header("location").as_deref(), Some("/api/"));
    assert!(r.set_cookie("awx_sessionid").is_none());
    assert_eq!(
        r.set_cookie("userLoggedIn").as_deref(),
        Some("userLoggedIn=false; Path=/; SameSite=Lax")
    );
}

/// Issue 4 asks the activity stream to record logins and failed logins (AWX only logs them;
/// `docs/awx-compat.md`, "Activity stream": Portcullis records them). Logouts stay out. A failed
/// attempt for an unknown name records no username: it may be a password typed into the wrong
/// field.
async fn logins_and_failed_logins_are_in_the_activity_stream_logouts_are_not(app: TestApp) {
    let admin = app.admin().await;
    let s = app.login("admin", PASSWORD).await;
    assert_eq!(app.try_login("admin", "wrong").await.last.status, 401);
    assert_eq!(app.try_login("no-such-user", "x").await.last.status, 401);
    assert_eq!(s.get("/api/logout/").await.status, 302);
    let mut entries = app
        .store()
        .list_activity(&portcullis_store::ActivityQuery {
            limit: 100,
            ..portcullis_store::ActivityQuery::default()
        })
        .await
        .unwrap()
        .items;
    entries.sort_by_key(|e| e.id);
    let seen: Vec<(String, Option<i64>, Option<i64>, serde_json::Value)> = entries
        .iter()
        .map(|e| {
            (
                e.entry.operation.clone(),
                e.entry.actor.map(|a| a.0),
                e.entry.object1_id,
                e.entry.changes.clone(),
            )
        })
        .collect();
    let id = admin.id.0;
    assert_eq!(
        seen,
        vec![
            (
                "login".into(),
                Some(id),
                Some(id),
                serde_json::json!({"username": "admin", "client": "127.0.0.1"})
            ),
            (
                "login_failed".into(),
                None,
                Some(id),
                serde_json::json!({"username": "admin", "client": "127.0.0.1"})
            ),
            (
                "login_failed".into(),
                None,
                None,
                serde_json::json!({"username": null, "client": "127.0.0.1"})
            ),
        ]
    );
    assert!(entries.iter().all(|e| e.entry.object1 == "user"));
}

async fn logout_only_ends_the_session_it_was_sent_with(app: TestApp) {
    app.admin().await;
    let a = app.login("admin", PASSWORD).await;
    let b = app.login("admin", PASSWORD).await;
    assert_eq!(a.get("/api/logout/").await.status, 302);
    assert_generic_401(&a.get("/api/v2/me/").await);
    assert_eq!(b.get("/api/v2/me/").await.status, 200);
}

on_both_backends!(
    login_form_is_served_to_html_clients,
    login_form_keeps_a_valid_csrf_cookie_and_replaces_a_forged_one,
    login_form_carries_the_next_query_value_escaped,
    login_form_refuses_json_only_clients_with_406,
    form_login_sets_awx_cookies_in_order_and_authenticates,
    login_without_next_goes_to_the_profile_page,
    login_follows_only_safe_relative_next_values,
    login_accepts_the_token_from_the_form_field,
    wrong_password_shows_the_form_again_with_the_awx_text,
    unknown_user_gets_the_same_failure_as_a_wrong_password,
    inactive_user_cannot_log_in,
    ldap_user_without_a_directory_cannot_log_in_locally,
    over_long_username_fails_like_a_wrong_password,
    missing_fields_say_this_field_is_required,
    failed_login_keeps_the_username_html_escaped,
    json_login_body_with_csrf_is_415,
    json_login_body_without_csrf_fails_the_csrf_check_first,
    login_without_csrf_cookie_is_refused,
    login_without_csrf_token_is_refused,
    login_with_a_wrong_csrf_token_is_refused,
    login_with_a_forged_csrf_pair_is_refused,
    login_from_a_foreign_origin_is_refused,
    login_from_the_own_origin_is_accepted,
    profile_redirects_to_the_api_root,
    logout_by_get_deletes_the_session_and_expires_the_cookies,
    logout_follows_a_safe_next_only,
    logout_by_post_with_csrf_ends_the_session,
    logout_by_post_with_the_form_token_ends_the_session,
    logout_by_post_without_csrf_is_refused_and_the_session_survives,
    anonymous_logout_redirects_without_deleting_a_session_cookie,
    logins_and_failed_logins_are_in_the_activity_stream_logouts_are_not,
    logout_only_ends_the_session_it_was_sent_with,
);
