//! The token pages (`docs/console.md`, "Tokens and applications"): a token made in the
//! console works as a Bearer credential and is shown once; revocation, one at a time and in
//! bulk behind a confirmation that names the count; who sees what; the external-user rule.

use super::assert_console_html;
use crate::harness::{PASSWORD, Session, TestApp};
use crate::on_both_backends;
use axum::http::{Method, StatusCode};
use serde_json::json;

/// The text between `start` and the next `end` in `body`.
fn between(body: &str, start: &str, end: &str) -> String {
    let i = body
        .find(start)
        .unwrap_or_else(|| panic!("{start} not in {body}"))
        + start.len();
    body[i..i + body[i..].find(end).expect("end")].to_owned()
}

/// The clear value on a "token created" page.
fn shown_token(body: &str) -> String {
    between(
        body,
        "<code class=\"secret\" id=\"token-value\">",
        "</code>",
    )
}

/// The id of the first token listed on a page.
fn first_token_id(body: &str) -> String {
    between(body, "aria-label=\"Revoke token ", "\"")
}

async fn me(app: &TestApp, token: &str) -> StatusCode {
    app.get("/api/v2/me/").bearer(token).send().await.status
}

async fn a_console_token_works_is_shown_once_and_revokes(app: TestApp) {
    app.user("alice").await;
    let s = Session::console_login(&app, "alice", PASSWORD).await;
    let list = s.get("/console/tokens/").await;
    assert_eq!(list.status, StatusCode::OK);
    assert_console_html(&list);
    assert!(list.text().contains("No tokens."));

    let r = s
        .console_post(
            "/console/tokens/",
            &[("description", "deploy bot"), ("scope", "read")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_console_html(&r);
    let body = r.text();
    assert!(body.contains("will not be shown again"), "{body}");
    assert!(body.contains("data-copy=\"token-value\""), "{body}");
    let token = shown_token(&body);
    assert!(token.len() > 20, "{token}");

    // The value is a working Bearer credential, with the scope chosen in the form.
    let r = app.get("/api/v2/me/").bearer(&token).send().await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["results"][0]["username"], "alice");
    assert_eq!(
        app.post("/api/v2/tokens/")
            .bearer(&token)
            .send()
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // Never shown again: the list names the token but not its value.
    let list = s.get("/console/tokens/").await;
    assert_console_html(&list);
    let text = list.text();
    assert!(text.contains("deploy bot"), "{text}");
    assert!(!text.contains(&token));
    let id = first_token_id(&text);

    // Revoking it: back to the list, and the token is refused from then on.
    let r = s
        .console_post(&format!("/console/tokens/{id}/revoke/"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(r.header("location").as_deref(), Some("/console/tokens/"));
    assert_eq!(me(&app, &token).await, StatusCode::UNAUTHORIZED);
    assert!(
        s.get("/console/tokens/")
            .await
            .text()
            .contains("No tokens.")
    );

    // The form as htmx sends it gets the same page (htmx swaps its `main` in place).
    let r = s
        .htmx(Method::POST, "/console/tokens/")
        .form(&[("description", "via htmx"), ("scope", "write")])
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_console_html(&r);
    assert_eq!(me(&app, &shown_token(&r.text())).await, StatusCode::OK);

    // An htmx revoke of a token that is gone is a 404 message in place.
    let r = s
        .htmx(Method::POST, &format!("/console/tokens/{id}/revoke/"))
        .form(&[])
        .send()
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

async fn the_form_is_validated_and_needs_its_csrf_token(app: TestApp) {
    app.user("alice").await;
    let s = Session::console_login(&app, "alice", PASSWORD).await;
    let r = s
        .console_post(
            "/console/tokens/",
            &[("description", "x"), ("scope", "admin")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_console_html(&r);
    let body = r.text();
    assert!(body.contains("id=\"scope-error\""), "{body}");
    assert!(body.contains("aria-invalid=\"true\""), "{body}");
    assert!(!body.contains("class=\"secret\""));

    // Without the form's token the post is refused and nothing is minted.
    let r = s
        .req(Method::POST, "/console/tokens/")
        .header("origin", "http://127.0.0.1:8052")
        .form(&[("description", "x"), ("scope", "write")])
        .send()
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = s
        .req(Method::POST, "/console/tokens/revoke/")
        .form(&[("target", "all")])
        .send()
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let listed = app
        .get("/api/v2/tokens/")
        .basic("alice", PASSWORD)
        .send()
        .await;
    assert_eq!(listed.json()["count"], 0);
}

async fn external_users_get_the_services_refusal(app: TestApp) {
    app.admin().await;
    let lee = app.ldap_user("lee").await;
    let s = app.session_for(&lee).await;
    let r = s
        .console_post(
            "/console/tokens/",
            &[("description", "x"), ("scope", "write")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_console_html(&r);
    assert!(
        r.text()
            .contains("external source (ldap) may not create tokens"),
        "{}",
        r.text()
    );
    assert!(!r.text().contains("class=\"secret\""));
    // Sent by htmx, the refusal is a fragment for the page's message area.
    let r = s
        .htmx(Method::POST, "/console/tokens/")
        .form(&[("scope", "write")])
        .send()
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(!r.text().contains("<html"), "{}", r.text());
    assert!(r.text().contains("may not create tokens"));

    app.set(json!({"ALLOW_OAUTH2_FOR_EXTERNAL_USERS": true}))
        .await;
    let r = s
        .console_post(
            "/console/tokens/",
            &[("description", "x"), ("scope", "write")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(me(&app, &shown_token(&r.text())).await, StatusCode::OK);
}

async fn a_normal_user_sees_only_their_tokens_and_no_bulk_tools(app: TestApp) {
    app.user("alice").await;
    app.user("bob").await;
    let (bob_id, bob_token) = app.create_pat("bob", PASSWORD, "write").await;
    let s = Session::console_login(&app, "alice", PASSWORD).await;
    s.console_post(
        "/console/tokens/",
        &[("description", "mine"), ("scope", "write")],
    )
    .await;
    let list = s.get("/console/tokens/").await;
    let text = list.text();
    assert!(text.contains("mine"));
    assert!(
        !text.contains(&format!("Revoke token {bob_id}\"")),
        "{text}"
    );
    assert!(!text.contains("/console/tokens/all/"), "{text}");
    assert!(!text.contains("/console/tokens/revoke/"), "{text}");

    for path in [
        "/console/tokens/all/",
        "/console/tokens/revoke/?target=all",
        "/console/tokens/revoke/?target=user&user=bob",
        "/console/tokens/revoke/?target=external",
    ] {
        let r = s.get(path).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        assert_console_html(&r);
    }
    for target in ["all", "external"] {
        let r = s
            .console_post("/console/tokens/revoke/", &[("target", target)])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{target}");
    }
    let r = s
        .console_post(
            "/console/tokens/revoke/",
            &[("target", "user"), ("user", "alice")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Another user's token does not exist for alice.
    let r = s
        .console_post(&format!("/console/tokens/{bob_id}/revoke/"), &[])
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(me(&app, &bob_token).await, StatusCode::OK);
}

async fn bulk_revocations_confirm_the_count_then_revoke(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    app.user("bob").await;
    let lee = app.ldap_user("lee").await;
    let mut alice = Vec::new();
    for _ in 0..3 {
        alice.push(app.create_pat("alice", PASSWORD, "write").await.1);
    }
    let bob = app.create_pat("bob", PASSWORD, "read").await.1;
    app.set(json!({"ALLOW_OAUTH2_FOR_EXTERNAL_USERS": true}))
        .await;
    let ls = app.session_for(&lee).await;
    let r = ls
        .console_post("/console/tokens/", &[("scope", "write")])
        .await;
    let lee_token = shown_token(&r.text());

    let s = Session::console_login(&app, "admin", PASSWORD).await;
    let page = s.get("/console/tokens/").await;
    assert!(page.text().contains("/console/tokens/all/"));
    // Every token, then one user's.
    let all = s.get("/console/tokens/all/").await;
    assert_eq!(all.status, StatusCode::OK);
    assert_console_html(&all);
    assert_eq!(all.text().matches("aria-label=\"Revoke token ").count(), 5);
    let only = s.get("/console/tokens/all/?user=alice").await;
    assert_console_html(&only);
    assert_eq!(only.text().matches("aria-label=\"Revoke token ").count(), 3);
    assert!(only.text().contains("Revoke all tokens of alice"));
    // A row's revoke comes back to the same filter.
    assert!(
        only.text()
            .contains("name=\"next\" value=\"/console/tokens/all/?user=alice\""),
        "{}",
        only.text()
    );
    let none = s.get("/console/tokens/all/?user=nobody").await;
    assert!(none.text().contains("There is no user named"));

    // External users: the confirmation names the count; nothing happens on the GET.
    let r = s.get("/console/tokens/revoke/?target=external").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_console_html(&r);
    assert!(r.text().contains("This revokes 1 token."), "{}", r.text());
    assert_eq!(me(&app, &lee_token).await, StatusCode::OK);
    let r = s
        .console_post("/console/tokens/revoke/", &[("target", "external")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(
        r.header("location").as_deref(),
        Some("/console/tokens/all/?revoked=1")
    );
    assert_eq!(me(&app, &lee_token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&app, &bob).await, StatusCode::OK);

    // One user.
    let r = s
        .get("/console/tokens/revoke/?target=user&user=alice")
        .await;
    assert_console_html(&r);
    assert!(r.text().contains("This revokes 3 tokens."), "{}", r.text());
    let r = s
        .console_post(
            "/console/tokens/revoke/",
            &[("target", "user"), ("user", "alice")],
        )
        .await;
    assert_eq!(
        r.header("location").as_deref(),
        Some("/console/tokens/all/?revoked=3")
    );
    for t in &alice {
        assert_eq!(me(&app, t).await, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(me(&app, &bob).await, StatusCode::OK);
    let done = s.get("/console/tokens/all/?revoked=3").await;
    assert!(done.text().contains("3 tokens revoked."));

    // Everyone.
    let r = s.get("/console/tokens/revoke/?target=all").await;
    assert!(r.text().contains("This revokes 1 token."), "{}", r.text());
    let r = s
        .console_post("/console/tokens/revoke/", &[("target", "all")])
        .await;
    assert_eq!(
        r.header("location").as_deref(),
        Some("/console/tokens/all/?revoked=1")
    );
    assert_eq!(me(&app, &bob).await, StatusCode::UNAUTHORIZED);

    // An unknown user or target is refused, not guessed.
    let r = s
        .get("/console/tokens/revoke/?target=user&user=nobody")
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = s.get("/console/tokens/revoke/?target=sideways").await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn an_administrator_revokes_another_users_token(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    let (id, token) = app.create_pat("alice", PASSWORD, "write").await;
    let s = Session::console_login(&app, "admin", PASSWORD).await;
    let r = s
        .console_post(
            &format!("/console/tokens/{id}/revoke/"),
            &[("next", "/console/tokens/all/?user=alice")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(
        r.header("location").as_deref(),
        Some("/console/tokens/all/?user=alice")
    );
    assert_eq!(me(&app, &token).await, StatusCode::UNAUTHORIZED);
}

on_both_backends!(
    a_console_token_works_is_shown_once_and_revokes,
    the_form_is_validated_and_needs_its_csrf_token,
    external_users_get_the_services_refusal,
    a_normal_user_sees_only_their_tokens_and_no_bulk_tools,
    bulk_revocations_confirm_the_count_then_revoke,
    an_administrator_revokes_another_users_token,
);
