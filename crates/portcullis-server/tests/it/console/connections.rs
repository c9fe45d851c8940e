//! The "API connections" pages (`docs/console.md`, "API connections") and the per-customer MDR
//! administrator role (`docs/mdr-api.md`, "MDR administrators"): customers, tenants and
//! connections created through the console's forms, Refresh's one-time token exchanged at
//! `session/confirm`, Revoke, and who reaches which customer.

use super::assert_console_html;
use crate::harness::{PASSWORD, Resp, Session, TestApp};
use crate::mdr::session::confirm;
use crate::on_both_backends;
use axum::http::{Method, StatusCode};
use portcullis_store::ActivityQuery;
use serde_json::json;

/// The text between `start` and the next `end` after it.
fn between<'a>(body: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = body.find(start)? + start.len();
    let j = body[i..].find(end)? + i;
    Some(&body[i..j])
}

/// The Client ID a customer-creating post redirected to.
fn customer_of(r: &Resp) -> String {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let to = r.header("location").expect("location");
    to.trim_start_matches("/console/connections/")
        .trim_end_matches('/')
        .to_owned()
}

/// The id of the connection named by the first Refresh/Revoke form of a customer page.
fn first_connection_id(body: &str, client_id: &str) -> String {
    let prefix = format!("/console/connections/{client_id}/connections/");
    let rest = between(body, &prefix, "/").expect("a connection form");
    rest.to_owned()
}

/// The refresh token a page shows once.
fn shown_token(body: &str) -> Option<String> {
    between(
        body,
        "<code class=\"secret\" id=\"refresh-token\">",
        "</code>",
    )
    .map(str::to_owned)
}

async fn superuser_creates_refreshes_activates_and_revokes(app: TestApp) {
    app.admin().await;
    let s = Session::console_login(&app, "admin", PASSWORD).await;
    let list = s.get("/console/connections/").await;
    assert_eq!(list.status, StatusCode::OK);
    assert_console_html(&list);
    assert!(list.text().contains("Create customer"));

    // Validation is the service's, shown next to the field.
    let r = s
        .console_post("/console/connections/", &[("name", "")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_console_html(&r);
    assert!(r.text().contains("aria-invalid=\"true\""), "{}", r.text());

    let client_id = customer_of(
        &s.console_post("/console/connections/", &[("name", "Acme")])
            .await,
    );
    let base = format!("/console/connections/{client_id}/");
    let r = s
        .console_post(&format!("{base}tenants/"), &[("tenant_name", "Berlin")])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let r = s
        .console_post(&format!("{base}tenants/"), &[("tenant_name", "Berlin")])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.text().contains("Tenant name is already taken."));

    let r = s
        .console_post(
            &format!("{base}connections/"),
            &[
                ("name", "SIEM export"),
                ("role", "Security Officer"),
                ("tenants", "Berlin"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let r = s
        .console_post(
            &format!("{base}connections/"),
            &[("name", ""), ("role", "Security Officer")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("This field is required."));
    let r = s
        .console_post(
            &format!("{base}connections/"),
            &[
                ("name", "Other"),
                ("role", "Security Officer"),
                ("tenants", "Nowhere"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("id=\"connection-tenants-error\""));

    let page = s.get(&base).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_console_html(&page);
    let body = page.text();
    assert!(body.contains(&client_id));
    assert!(body.contains("data-copy=\"client-id\""));
    assert!(body.contains("<span class=\"status pending\">Pending activation</span>"));
    assert!(body.contains("Berlin"));
    assert!(shown_token(&body).is_none());
    let connection_id = first_connection_id(&body, &client_id);
    let stored = app
        .state
        .store
        .connection(&connection_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.role, "Security Officer");
    assert_eq!(stored.tenants, vec!["Berlin".to_owned()]);

    // Refresh shows the token once, with its copy buttons and the warning.
    let r = s
        .console_post(&format!("{base}connections/{connection_id}/refresh"), &[])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_console_html(&r);
    let body = r.text();
    let token = shown_token(&body).expect("the token is shown");
    assert!(body.contains("data-copy=\"refresh-token\""));
    assert!(body.contains("data-copy=\"token-client-id\""));
    assert!(body.contains("class=\"warning\""));
    assert!(body.contains("will not be shown again"));
    assert!(!s.get(&base).await.text().contains(&token), "shown twice");

    // The integration exchanges it; the connection is then Active.
    let pair = confirm(&app, &client_id, &token).await;
    assert_eq!(pair.status, StatusCode::OK, "{}", pair.text());
    let successor = pair.json()["refresh_token"].as_str().unwrap().to_owned();
    let body = s.get(&base).await.text();
    assert!(body.contains("<span class=\"status active\">Active</span>"));
    assert!(body.contains("Recent token exchanges"));
    assert!(body.contains(">ok<"), "the exchange is audited");
    // An active connection is not refreshed; it is revoked.
    let r = s
        .console_post(&format!("{base}connections/{connection_id}/refresh"), &[])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    let r = s
        .htmx(
            Method::POST,
            &format!("{base}connections/{connection_id}/revoke"),
        )
        .send()
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    assert_eq!(r.header("hx-redirect").as_deref(), Some(base.as_str()));
    let refused = confirm(&app, &client_id, &successor).await;
    assert_ne!(refused.status, StatusCode::OK, "{}", refused.text());
    assert!(refused.text().contains("revoked"), "{}", refused.text());
    assert!(s.get(&base).await.text().contains("Pending activation"));

    let r = s
        .console_post(&format!("{base}connections/{connection_id}/delete"), &[])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(app.state.store.connection(&connection_id).await, Ok(None));
}

async fn an_mdr_administrator_manages_only_their_customer(app: TestApp) {
    app.admin().await;
    let mona = app.user("mona").await;
    let a = app.mdr_customer("Customer A").await;
    let b = app.mdr_customer("Customer B").await;
    let admin = Session::console_login(&app, "admin", PASSWORD).await;
    let r = admin
        .console_post(
            &format!("/console/connections/{a}/administrators/"),
            &[("username", "nobody")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("No user with this username."));
    let r = admin
        .console_post(
            &format!("/console/connections/{a}/administrators/"),
            &[("username", "mona")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let page = admin.get(&format!("/console/connections/{a}/")).await;
    assert_console_html(&page);
    assert!(page.text().contains("MDR administrators"));
    assert!(page.text().contains(">mona<"));
    assert_eq!(
        app.state.store.administered_customers(mona.id).await,
        Ok(vec![a.clone()])
    );
    let entries = app
        .state
        .store
        .list_activity(&ActivityQuery {
            object1: Some("mdr_administrator".into()),
            limit: 10,
            ..ActivityQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(entries.total, 1);
    assert_eq!(entries.items[0].entry.operation, "associate");

    let s = Session::console_login(&app, "mona", PASSWORD).await;
    let home = s.get("/console/").await;
    assert!(home.text().contains("href=\"/console/connections/\""));
    let list = s.get("/console/connections/").await;
    assert_eq!(list.status, StatusCode::OK);
    assert_console_html(&list);
    assert!(list.text().contains(&a));
    assert!(!list.text().contains(&b));
    assert!(!list.text().contains("Create customer"));
    let page = s.get(&format!("/console/connections/{a}/")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_console_html(&page);
    assert!(!page.text().contains("MDR administrators"));
    let r = s
        .console_post(
            &format!("/console/connections/{a}/connections/"),
            &[("name", "Mona's SIEM"), ("role", "MDR Administrator")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(app.state.store.list_connections(&a).await.unwrap().len(), 1);

    // Nothing of customer B, no customer creation, no role granting, no other admin page.
    assert_eq!(
        s.get(&format!("/console/connections/{b}/")).await.status,
        StatusCode::FORBIDDEN
    );
    let r = s
        .console_post(
            &format!("/console/connections/{b}/connections/"),
            &[("name", "Intruder"), ("role", "MDR Administrator")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        app.state
            .store
            .list_connections(&b)
            .await
            .unwrap()
            .is_empty()
    );
    let r = s
        .console_post("/console/connections/", &[("name", "Mine")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = s
        .console_post(
            &format!("/console/connections/{a}/administrators/"),
            &[("username", "admin")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    for other in [
        "/console/users/",
        "/console/settings/",
        "/console/applications/",
    ] {
        assert!(!home.text().contains(other), "{other} linked");
        assert_eq!(s.get(other).await.status, StatusCode::FORBIDDEN, "{other}");
    }

    // The console JSON API answers the same.
    let r = s.get("/console/api/mdr/customers").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json(), json!([{"client_id": a, "name": "Customer A"}]));
    let r = s
        .get(&format!("/console/api/mdr/customers/{a}/connections"))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()[0]["name"], "Mona's SIEM");
    let r = s
        .csrf_req(
            Method::POST,
            &format!("/console/api/mdr/customers/{a}/tenants"),
        )
        .json(&json!({"tenant_name": "Paris"}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    for path in [
        format!("/console/api/mdr/customers/{b}/connections"),
        format!("/console/api/mdr/customers/{b}/audit"),
        format!("/console/api/mdr/customers/{a}/administrators"),
        "/console/api/mdr/customers/ffffffffffffffffffffffffffffffff/tenants".to_owned(),
    ] {
        assert_eq!(s.get(&path).await.status, StatusCode::FORBIDDEN, "{path}");
    }
    let r = s
        .csrf_req(Method::POST, "/console/api/mdr/customers")
        .json(&json!({"name": "Mine"}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Removing the role ends it at once.
    let r = admin
        .console_post(
            &format!(
                "/console/connections/{a}/administrators/{}/remove",
                mona.id.0
            ),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(
        s.get(&format!("/console/connections/{a}/")).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        s.get("/console/connections/").await.status,
        StatusCode::FORBIDDEN
    );
}

async fn the_role_is_granted_through_the_json_api(app: TestApp) {
    app.admin().await;
    let zed = app.user("zed").await;
    let a = app.mdr_customer("Customer A").await;
    let admin = Session::console_login(&app, "admin", PASSWORD).await;
    let path = format!("/console/api/mdr/customers/{a}/administrators");
    let r = admin
        .csrf_req(Method::POST, &path)
        .json(&json!({"username": "zed"}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["user_id"], zed.id.0);
    let r = admin.get(&path).await;
    assert_eq!(r.json()[0]["username"], "zed");
    let r = admin
        .csrf_req(Method::DELETE, &format!("{path}/{}", zed.id.0))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = admin
        .csrf_req(Method::DELETE, &format!("{path}/{}", zed.id.0))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(admin.get(&path).await.json(), json!([]));
    // An id that is no 64-bit integer names nobody: the same 404, in the MDR dialect
    // (schemathesis found the framework's plain-text 400 here).
    for odd in ["9223372036854775808", "abc"] {
        let r = admin
            .csrf_req(Method::DELETE, &format!("{path}/{odd}"))
            .send()
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{odd}");
        assert!(r.json()["error"].is_string(), "{}", r.text());
    }
}

async fn a_normal_user_is_refused(app: TestApp) {
    app.user("erin").await;
    let a = app.mdr_customer("Customer A").await;
    let s = Session::console_login(&app, "erin", PASSWORD).await;
    assert!(
        !s.get("/console/")
            .await
            .text()
            .contains("/console/connections/")
    );
    let r = s.get("/console/connections/").await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_console_html(&r);
    assert_eq!(
        s.get(&format!("/console/connections/{a}/")).await.status,
        StatusCode::FORBIDDEN
    );
    let r = s
        .console_post(
            &format!("/console/connections/{a}/tenants/"),
            &[("tenant_name", "Rome")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(app.state.store.tenants(&a).await.unwrap().is_empty());
    assert_eq!(s.get("/console/api/mdr/customers").await.json(), json!([]));
}

async fn posts_without_the_csrf_token_are_refused(app: TestApp) {
    app.admin().await;
    let s = Session::console_login(&app, "admin", PASSWORD).await;
    let r = s
        .req(Method::POST, "/console/connections/")
        .header("host", "127.0.0.1:8052")
        .header("origin", "http://127.0.0.1:8052")
        .form(&[("name", "Sneaky")])
        .send()
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(app.state.store.list_customers().await.unwrap().is_empty());
}

on_both_backends!(
    superuser_creates_refreshes_activates_and_revokes,
    an_mdr_administrator_manages_only_their_customer,
    the_role_is_granted_through_the_json_api,
    a_normal_user_is_refused,
    posts_without_the_csrf_token_are_refused,
);
