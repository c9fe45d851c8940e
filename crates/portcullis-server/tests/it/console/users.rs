//! The Users pages and the profile page (`docs/console.md`, "Users and profile"): who
//! reaches them, validation shown next to the fields, and that every action really happened
//! (read back from the store or through the API).

use super::assert_console_html;
use crate::harness::{PASSWORD, Resp, Session, TestApp, basic_value};
use crate::on_both_backends;
use axum::http::{Method, StatusCode};
use portcullis_core::user::User;
use portcullis_store::ActivityQuery;

const NEW_PASSWORD: &str = "a-brand-new-password-7";

async fn by_name(app: &TestApp, username: &str) -> User {
    app.store()
        .user_by_username(username)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no user {username}"))
}

async fn admin_session(app: &TestApp) -> Session<'_> {
    app.admin().await;
    let s = Session::console_login(app, "admin", PASSWORD).await;
    assert_eq!(s.last.status, StatusCode::SEE_OTHER, "{}", s.last.text());
    s
}

#[track_caller]
fn assert_see_other(r: &Resp, to: &str) {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(r.header("location").as_deref(), Some(to));
}

async fn list_searches_and_pages(app: TestApp) {
    let s = admin_session(&app).await;
    for i in 0..30 {
        app.insert_user(&format!("member{i:02}"), None, false, None)
            .await;
    }
    app.insert_user("dirk", None, false, Some("ldap")).await;

    let r = s.get("/console/users/").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_console_html(&r);
    let body = r.text();
    assert!(body.contains("32 users · page 1 of 2"), "{body}");
    assert!(body.contains(">admin</a>") && body.contains(">member23</a>"));
    assert!(!body.contains(">member24</a>"), "page 1 holds 25 rows");
    assert!(body.contains("href=\"/console/users/?page=2\""));
    assert!(body.contains("name=\"search\""));

    let r = s.get("/console/users/?page=2").await;
    let body = r.text();
    assert!(body.contains(">member24</a>") && body.contains(">dirk</a>"));
    assert!(
        body.contains("<td data-label=\"Source\">LDAP</td>"),
        "{body}"
    );
    // A page past the end shows the last page.
    assert!(
        s.get("/console/users/?page=99")
            .await
            .text()
            .contains("page 2 of 2")
    );

    // The search box works as a plain GET form…
    let r = s.get("/console/users/?search=MEMBER1").await;
    assert_console_html(&r);
    let body = r.text();
    assert!(body.contains("10 users · page 1 of 1"), "{body}");
    assert!(body.contains(">member19</a>") && !body.contains(">member20</a>"));
    assert!(body.contains("value=\"MEMBER1\""));
    // …and for htmx answers the table only.
    let r = s
        .htmx(Method::GET, "/console/users/?search=dirk")
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let body = r.text();
    assert!(body.starts_with("<div id=\"users-table\">"), "{body}");
    assert!(!body.contains("<html"));
    assert!(body.contains("1 user ·") && body.contains(">dirk</a>"));
    let r = s.get("/console/users/?search=nobody-at-all").await;
    assert!(r.text().contains("No user matches."));
}

async fn create_shows_errors_then_creates(app: TestApp) {
    let s = admin_session(&app).await;
    let r = s.get("/console/users/new/").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_console_html(&r);

    let r = s
        .console_post(
            "/console/users/new/",
            &[
                ("username", ""),
                ("first_name", "Fay"),
                ("email", "not-an-address"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_console_html(&r);
    let body = r.text();
    assert!(
        body.contains("id=\"username-error\">This field may not be blank."),
        "{body}"
    );
    assert!(body.contains("id=\"email-error\">Enter a valid email address."));
    assert!(body.contains("id=\"password-error\">"));
    assert!(body.contains("aria-invalid=\"true\" aria-describedby=\"username-error\""));
    // The values come back, never the password.
    assert!(body.contains("value=\"Fay\""));
    assert!(!body.contains("value=\"short\""));
    assert!(app.store().user_by_username("").await.unwrap().is_none());

    // A taken username is named next to the field.
    let r = s
        .console_post("/console/users/new/", &[("username", "admin")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.text()
            .contains("A user with that username already exists.")
    );

    let r = s
        .console_post(
            "/console/users/new/",
            &[
                ("username", "fay"),
                ("first_name", "Fay"),
                ("last_name", "Doe"),
                ("email", "fay@example.com"),
                ("password", NEW_PASSWORD),
                ("is_superuser", "true"),
            ],
        )
        .await;
    let fay = by_name(&app, "fay").await;
    assert_see_other(&r, &format!("/console/users/{}/?done=created", fay.id.0));
    assert!(fay.is_superuser);
    assert_eq!(
        (fay.first_name.as_str(), fay.email.as_str()),
        ("Fay", "fay@example.com")
    );
    let page = s
        .get(&format!("/console/users/{}/?done=created", fay.id.0))
        .await;
    assert_console_html(&page);
    assert!(page.text().contains("The user was created."));
    let fay_session = Session::console_login(&app, "fay", NEW_PASSWORD).await;
    assert_eq!(fay_session.last.status, StatusCode::SEE_OTHER);
}

async fn edit_and_reset_password(app: TestApp) {
    let s = admin_session(&app).await;
    let alice = app.user("alice").await;
    let path = format!("/console/users/{}/", alice.id.0);
    let r = s.get(&path).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_console_html(&r);
    assert!(r.text().contains("name=\"password2\""));

    let r = s
        .console_post(
            &path,
            &[
                ("username", "alice2"),
                ("first_name", "Alice"),
                ("last_name", "Liddell"),
                ("email", "bad"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_console_html(&r);
    assert!(
        r.text()
            .contains("id=\"email-error\">Enter a valid email address.")
    );
    assert_eq!(app.user_by_id(alice.id).await.username, "alice");

    let r = s
        .console_post(
            &path,
            &[
                ("username", "alice2"),
                ("first_name", "Alice"),
                ("last_name", "Liddell"),
                ("email", "alice@example.org"),
                ("is_superuser", "true"),
            ],
        )
        .await;
    assert_see_other(&r, &format!("{path}?done=saved"));
    let after = app.user_by_id(alice.id).await;
    assert_eq!(after.username, "alice2");
    assert_eq!(after.last_name, "Liddell");
    assert_eq!(after.email, "alice@example.org");
    assert!(after.is_superuser);

    // Reset: a mismatched confirmation and a policy violation are shown; nothing changes.
    let pw_path = format!("{path}password/");
    let r = s
        .console_post(
            &pw_path,
            &[("password", NEW_PASSWORD), ("password2", "other")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_console_html(&r);
    assert!(
        r.text()
            .contains("id=\"password2-error\">The two passwords do not match.")
    );
    let r = s
        .console_post(&pw_path, &[("password", "abc"), ("password2", "abc")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("id=\"password-error\">"));
    let alice_old = app.login("alice2", PASSWORD).await;

    let r = s
        .console_post(
            &pw_path,
            &[("password", NEW_PASSWORD), ("password2", NEW_PASSWORD)],
        )
        .await;
    assert_see_other(&r, &format!("{path}?done=password"));
    // The admin's own session is untouched; alice's ends; the new password logs her in.
    assert_eq!(s.get("/console/").await.status, StatusCode::OK);
    assert_eq!(
        alice_old.get("/api/v2/me/").await.status,
        StatusCode::UNAUTHORIZED
    );
    let old = Session::console_login(&app, "alice2", PASSWORD).await;
    assert_eq!(old.last.status, StatusCode::UNAUTHORIZED);
    let new = Session::console_login(&app, "alice2", NEW_PASSWORD).await;
    assert_eq!(new.last.status, StatusCode::SEE_OTHER);
}

async fn external_users_have_no_password_field(app: TestApp) {
    let s = admin_session(&app).await;
    let dirk = app.ldap_user("dirk").await;
    let r = s.get(&format!("/console/users/{}/", dirk.id.0)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_console_html(&r);
    let body = r.text();
    assert!(
        body.contains("password is managed by their directory (LDAP)"),
        "{body}"
    );
    assert!(!body.contains("name=\"password\""));
    // Posting one anyway is refused by the service.
    let r = s
        .console_post(
            &format!("/console/users/{}/password/", dirk.id.0),
            &[("password", NEW_PASSWORD), ("password2", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.text()
            .contains("Unable to change password on user managed by LDAP."),
        "{}",
        r.text()
    );
    // Unknown users are the console's 404.
    for path in ["/console/users/99999/", "/console/users/abc/"] {
        let r = s.get(path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
        assert_console_html(&r);
    }
}

async fn deactivation_ends_sessions_basic_and_login(app: TestApp) {
    let s = admin_session(&app).await;
    let alice = app.user("alice").await;
    let alice_session = app.login("alice", PASSWORD).await;
    let basic = basic_value("alice", PASSWORD);
    let me = |auth: Option<&str>| {
        let mut r = app.get("/api/v2/me/");
        if let Some(a) = auth {
            r = r.header("authorization", a);
        }
        r
    };
    assert_eq!(me(Some(&basic)).send().await.status, StatusCode::OK);
    assert_eq!(
        alice_session.get("/api/v2/me/").await.status,
        StatusCode::OK
    );

    let path = format!("/console/users/{}/active/", alice.id.0);
    let r = s.console_post(&path, &[("active", "false")]).await;
    assert_see_other(
        &r,
        &format!("/console/users/{}/?done=deactivated", alice.id.0),
    );
    assert!(!app.user_by_id(alice.id).await.is_active);
    assert_eq!(
        alice_session.get("/api/v2/me/").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        me(Some(&basic)).send().await.status,
        StatusCode::UNAUTHORIZED
    );
    let refused = Session::console_login(&app, "alice", PASSWORD).await;
    assert_eq!(refused.last.status, StatusCode::UNAUTHORIZED);
    let page = s.get(&format!("/console/users/{}/", alice.id.0)).await;
    assert_console_html(&page);
    assert!(page.text().contains("Deactivated") && page.text().contains("Reactivate"));
    let entries = app
        .store()
        .list_activity(&ActivityQuery {
            object1: Some("user".into()),
            object1_id: Some(alice.id.0),
            operation: Some("update".into()),
            limit: 10,
            ..ActivityQuery::default()
        })
        .await
        .unwrap();
    assert!(
        entries
            .items
            .iter()
            .any(|e| e.entry.changes["is_active"] == serde_json::json!([true, false])),
        "{:?}",
        entries
            .items
            .iter()
            .map(|e| &e.entry.changes)
            .collect::<Vec<_>>()
    );

    // Reactivated (through htmx this time): she can log in again.
    let r = s
        .htmx(Method::POST, &path)
        .form(&[("active", "true")])
        .send()
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    assert_eq!(
        r.header("hx-redirect").as_deref(),
        Some(format!("/console/users/{}/?done=reactivated", alice.id.0).as_str())
    );
    assert!(app.user_by_id(alice.id).await.is_active);
    let again = Session::console_login(&app, "alice", PASSWORD).await;
    assert_eq!(again.last.status, StatusCode::SEE_OTHER);
}

async fn own_account_and_last_superuser_are_kept(app: TestApp) {
    let s = admin_session(&app).await;
    let admin = by_name(&app, "admin").await;
    let page = s.get(&format!("/console/users/{}/", admin.id.0)).await;
    assert!(
        page.text()
            .contains("You cannot deactivate or delete your own account.")
    );
    // Deactivating or deleting oneself, the last active superuser, is refused.
    let r = s
        .console_post(
            &format!("/console/users/{}/active/", admin.id.0),
            &[("active", "false")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_console_html(&r);
    assert!(r.text().contains("cannot be deactivated"), "{}", r.text());
    let r = s
        .htmx(
            Method::POST,
            &format!("/console/users/{}/delete/", admin.id.0),
        )
        .form(&[])
        .send()
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.text().contains("cannot be deleted"));
    assert!(app.user_by_id(admin.id).await.is_active);
    // Another superuser may be deactivated while one stays, and deleted.
    let root = app.user_with("root", PASSWORD, true).await;
    let r = s
        .console_post(
            &format!("/console/users/{}/active/", root.id.0),
            &[("active", "false")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(app.store().count_active_superusers().await.unwrap(), 1);
    let r = s
        .console_post(&format!("/console/users/{}/delete/", root.id.0), &[])
        .await;
    assert_see_other(&r, "/console/users/?done=deleted");
    assert!(app.store().user_by_id(root.id).await.unwrap().is_none());
}

async fn normal_users_are_refused(app: TestApp) {
    let admin = app.admin().await;
    app.user("bob").await;
    let s = Session::console_login(&app, "bob", PASSWORD).await;
    let home = s.get("/console/").await;
    assert!(!home.text().contains("/console/users/"));
    for path in [
        "/console/users/".to_owned(),
        "/console/users/new/".to_owned(),
        format!("/console/users/{}/", admin.id.0),
    ] {
        let r = s.get(&path).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        assert_console_html(&r);
    }
    let r = s
        .console_post(
            "/console/users/new/",
            &[("username", "mallory"), ("password", NEW_PASSWORD)],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        app.store()
            .user_by_username("mallory")
            .await
            .unwrap()
            .is_none()
    );
    for (path, form) in [
        (
            format!("/console/users/{}/", admin.id.0),
            vec![("first_name", "X")],
        ),
        (
            format!("/console/users/{}/password/", admin.id.0),
            vec![("password", NEW_PASSWORD), ("password2", NEW_PASSWORD)],
        ),
        (
            format!("/console/users/{}/active/", admin.id.0),
            vec![("active", "false")],
        ),
        (format!("/console/users/{}/delete/", admin.id.0), vec![]),
    ] {
        let r = s.console_post(&path, &form).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
    }
    let after = app.user_by_id(admin.id).await;
    assert!(after.is_active && after.first_name.is_empty());
    let r = Session::console_login(&app, "admin", PASSWORD).await;
    assert_eq!(
        r.last.status,
        StatusCode::SEE_OTHER,
        "admin password unchanged"
    );
}

async fn posts_without_the_csrf_token_are_refused(app: TestApp) {
    let s = admin_session(&app).await;
    let alice = app.user("alice").await;
    let r = s
        .req(Method::POST, "/console/users/new/")
        .header("host", "127.0.0.1:8052")
        .header("origin", "http://127.0.0.1:8052")
        .form(&[("username", "mallory"), ("password", NEW_PASSWORD)])
        .send()
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.text().contains("This form has expired"));
    assert!(
        app.store()
            .user_by_username("mallory")
            .await
            .unwrap()
            .is_none()
    );
    let r = s
        .req(
            Method::POST,
            &format!("/console/users/{}/active/", alice.id.0),
        )
        .header("host", "127.0.0.1:8052")
        .header("origin", "http://127.0.0.1:8052")
        .form(&[("active", "false")])
        .send()
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(app.user_by_id(alice.id).await.is_active);
    let r = s
        .req(Method::POST, "/console/profile/password/")
        .form(&[("password", NEW_PASSWORD), ("password2", NEW_PASSWORD)])
        .send()
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

async fn profile_edits_and_password_change_keep_the_caller_signed_in(app: TestApp) {
    let carol = app.user("carol").await;
    let mut s = Session::console_login(&app, "carol", PASSWORD).await;
    let other = app.login("carol", PASSWORD).await;
    let r = s.get("/console/profile/").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_console_html(&r);
    assert!(r.text().contains("name=\"password2\""));
    // A normal user cannot change their username here (the field is not offered) …
    assert!(!r.text().contains("name=\"username\""));

    let r = s
        .console_post(
            "/console/profile/",
            &[
                ("first_name", "Carol"),
                ("last_name", "Ann"),
                ("email", "nope"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_console_html(&r);
    assert!(
        r.text()
            .contains("id=\"email-error\">Enter a valid email address.")
    );
    let r = s
        .console_post(
            "/console/profile/",
            &[
                ("first_name", "Carol"),
                ("last_name", "Ann"),
                ("email", "carol@example.org"),
            ],
        )
        .await;
    assert_see_other(&r, "/console/profile/?done=saved");
    let after = app.user_by_id(carol.id).await;
    assert_eq!(
        (after.first_name.as_str(), after.email.as_str()),
        ("Carol", "carol@example.org")
    );

    let r = s
        .console_post(
            "/console/profile/password/",
            &[("password", NEW_PASSWORD), ("password2", "typo")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("The two passwords do not match."));

    let old_id = s.id().to_owned();
    let r = s
        .console_post(
            "/console/profile/password/",
            &[("password", NEW_PASSWORD), ("password2", NEW_PASSWORD)],
        )
        .await;
    assert_see_other(&r, "/console/profile/?done=password");
    let new_id = r.cookie("awx_sessionid").expect("re-keyed session cookie");
    assert_ne!(new_id, old_id);
    s.adopt(&r);
    let page = s.get("/console/profile/?done=password").await;
    assert_eq!(page.status, StatusCode::OK, "still signed in");
    assert!(page.text().contains("Your password was changed."));
    // The caller's other session has ended; the new password is the one that works.
    assert_eq!(
        other.get("/api/v2/me/").await.status,
        StatusCode::UNAUTHORIZED
    );
    let again = Session::console_login(&app, "carol", NEW_PASSWORD).await;
    assert_eq!(again.last.status, StatusCode::SEE_OTHER);
}

async fn directory_users_see_their_profile_without_a_password_form(app: TestApp) {
    let dirk = app.ldap_user("dirk").await;
    let s = app.session_for(&dirk).await;
    let r = s.get("/console/profile/").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_console_html(&r);
    let body = r.text();
    assert!(body.contains("Your password is managed by your directory (LDAP)"));
    assert!(!body.contains("name=\"password\""));
}

on_both_backends!(
    list_searches_and_pages,
    create_shows_errors_then_creates,
    edit_and_reset_password,
    external_users_have_no_password_field,
    deactivation_ends_sessions_basic_and_login,
    own_account_and_last_superuser_are_kept,
    normal_users_are_refused,
    posts_without_the_csrf_token_are_refused,
    profile_edits_and_password_change_keep_the_caller_signed_in,
    directory_users_see_their_profile_without_a_password_form,
);
