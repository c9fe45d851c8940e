//! The application pages (`docs/console.md`, "Tokens and applications"): administrators only,
//! create with the client secret shown once, edit, delete, the application's tokens.

use super::assert_console_html;
use crate::harness::{CreatedApp, PASSWORD, Session, TestApp};
use crate::on_both_backends;
use axum::http::{Method, StatusCode};
use serde_json::json;

fn between(body: &str, start: &str, end: &str) -> String {
    let i = body
        .find(start)
        .unwrap_or_else(|| panic!("{start} not in {body}"))
        + start.len();
    body[i..i + body[i..].find(end).expect("end")].to_owned()
}

const CREATE: [(&str, &str); 6] = [
    ("name", "ci"),
    ("description", "build robot"),
    ("client_type", "confidential"),
    ("authorization_grant_type", "password"),
    ("redirect_uris", ""),
    ("skip_authorization", "1"),
];

async fn an_application_is_created_with_its_secret_shown_once(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    let s = Session::console_login(&app, "admin", PASSWORD).await;
    for path in ["/console/applications/", "/console/applications/new/"] {
        let r = s.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        assert_console_html(&r);
    }
    let r = s.console_post("/console/applications/", &CREATE).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_console_html(&r);
    let body = r.text();
    assert!(body.contains("will not be shown again"), "{body}");
    assert!(body.contains("data-copy=\"client-secret\""));
    let secret = between(
        &body,
        "<code class=\"secret\" id=\"client-secret\">",
        "</code>",
    );
    let client_id = between(&body, "<code id=\"client-id\">", "</code>");
    let id: i64 = between(
        &body,
        "<p class=\"actions\"><a href=\"/console/applications/",
        "/\"",
    )
    .parse()
    .expect("application id");

    // The secret authenticates the client at the token endpoint.
    let client = CreatedApp {
        id,
        client_id: client_id.clone(),
        secret: Some(secret.clone()),
        body: json!({}),
    };
    let r = app
        .oauth_token(
            &client,
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    // Listed and shown afterwards, never with the secret; the new token is on the detail page.
    let list = s.get("/console/applications/").await;
    assert!(list.text().contains(&client_id));
    assert!(!list.text().contains(&secret));
    let detail = s.get(&format!("/console/applications/{id}/")).await;
    assert_eq!(detail.status, StatusCode::OK);
    assert_console_html(&detail);
    let text = detail.text();
    assert!(text.contains("build robot"));
    assert!(!text.contains(&secret));
    assert!(
        text.contains("<td data-label=\"User\">alice</td>"),
        "{text}"
    );

    // A public client has no secret to show.
    let r = s
        .console_post(
            "/console/applications/",
            &[
                ("name", "spa"),
                ("client_type", "public"),
                ("authorization_grant_type", "authorization-code"),
                (
                    "redirect_uris",
                    "https://spa.example/cb\nhttps://spa.example/cb2",
                ),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(!r.text().contains("class=\"secret\""));
    assert!(r.text().contains("A public client has no secret."));
    let apps = app
        .get("/api/v2/applications/?name=spa")
        .basic("admin", PASSWORD)
        .send()
        .await
        .json();
    assert_eq!(
        apps["results"][0]["redirect_uris"],
        "https://spa.example/cb https://spa.example/cb2"
    );
}

async fn the_services_validation_is_shown_by_the_fields(app: TestApp) {
    app.admin().await;
    let s = Session::console_login(&app, "admin", PASSWORD).await;
    let r = s
        .console_post(
            "/console/applications/",
            &[
                ("name", ""),
                ("client_type", "confidential"),
                ("authorization_grant_type", "authorization-code"),
                ("redirect_uris", "ftp://files.example/"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_console_html(&r);
    let body = r.text();
    assert!(body.contains("id=\"name-error\""), "{body}");
    assert!(body.contains("Unauthorized redirect scheme: ftp"), "{body}");
    let r = s
        .console_post(
            "/console/applications/",
            &[
                ("name", "web"),
                ("client_type", "confidential"),
                ("authorization_grant_type", "authorization-code"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.text()
            .contains("redirect_uris cannot be empty with grant_type authorization-code")
    );
    // The same name twice is the service's conflict sentence.
    s.console_post("/console/applications/", &CREATE).await;
    let r = s.console_post("/console/applications/", &CREATE).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("already exists"));
}

async fn an_application_is_edited_and_deleted(app: TestApp) {
    app.admin().await;
    let created = app.password_app("ci").await;
    let id = created.id;
    let s = Session::console_login(&app, "admin", PASSWORD).await;
    let form = s.get(&format!("/console/applications/{id}/edit/")).await;
    assert_eq!(form.status, StatusCode::OK);
    assert_console_html(&form);
    assert!(form.text().contains("value=\"ci\""));

    let r = s
        .console_post(
            &format!("/console/applications/{id}/"),
            &[
                ("name", "ci-renamed"),
                ("description", "new words"),
                ("client_type", "confidential"),
                ("redirect_uris", "https://ci.example/cb"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(
        r.header("location").as_deref(),
        Some(format!("/console/applications/{id}/").as_str())
    );
    let api = app
        .get(&format!("/api/v2/applications/{id}/"))
        .basic("admin", PASSWORD)
        .send()
        .await
        .json();
    assert_eq!(api["name"], "ci-renamed");
    assert_eq!(api["description"], "new words");
    assert_eq!(api["skip_authorization"], false);
    assert_eq!(api["authorization_grant_type"], "password");

    // Invalid edit: the form again with the message.
    let r = s
        .console_post(
            &format!("/console/applications/{id}/"),
            &[("name", " "), ("client_type", "confidential")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("This field may not be blank."));

    // Delete (htmx, as the button sends it): told where to go, and gone from the API.
    let r = s
        .htmx(Method::POST, &format!("/console/applications/{id}/delete/"))
        .form(&[])
        .send()
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    assert_eq!(
        r.header("hx-redirect").as_deref(),
        Some("/console/applications/")
    );
    let r = app
        .get(&format!("/api/v2/applications/{id}/"))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(
        s.get(&format!("/console/applications/{id}/")).await.status,
        StatusCode::NOT_FOUND
    );
}

async fn only_administrators_reach_the_application_pages(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    let created = app.password_app("ci").await;
    let id = created.id;
    let s = Session::console_login(&app, "alice", PASSWORD).await;
    assert!(
        !s.get("/console/")
            .await
            .text()
            .contains("/console/applications/")
    );
    for path in [
        "/console/applications/".to_owned(),
        "/console/applications/new/".to_owned(),
        format!("/console/applications/{id}/"),
        format!("/console/applications/{id}/edit/"),
    ] {
        let r = s.get(&path).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        assert_console_html(&r);
    }
    let r = s.console_post("/console/applications/", &CREATE).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = s
        .console_post(&format!("/console/applications/{id}/delete/"), &[])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = s
        .console_post(
            &format!("/console/applications/{id}/"),
            &[("name", "x"), ("client_type", "public")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // Nothing changed.
    let api = app
        .get(&format!("/api/v2/applications/{id}/"))
        .basic("admin", PASSWORD)
        .send()
        .await
        .json();
    assert_eq!(api["name"], "ci");

    // An administrator's post without the form's token is refused too.
    let s = Session::console_login(&app, "admin", PASSWORD).await;
    let r = s
        .req(Method::POST, "/console/applications/")
        .header("origin", "http://127.0.0.1:8052")
        .form(&CREATE)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = s
        .req(Method::POST, &format!("/console/applications/{id}/delete/"))
        .form(&[])
        .send()
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get("/api/v2/applications/")
            .basic("admin", PASSWORD)
            .send()
            .await
            .json()["count"],
        1
    );
}

on_both_backends!(
    an_application_is_created_with_its_secret_shown_once,
    the_services_validation_is_shown_by_the_fields,
    an_application_is_edited_and_deleted,
    only_administrators_reach_the_application_pages,
);
