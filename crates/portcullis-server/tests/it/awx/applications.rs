//! OAuth2 applications (`docs/awx-compat.md`, "Applications", "Token object", "Default
//! organization", "Activity stream"): creation with a one-time client secret, masking, public
//! clients, validation, who may manage them, application tokens, and deletion with their tokens.

use crate::harness::{PASSWORD, TestApp, assert_generic_401, assert_generic_403, assert_token_401};
use crate::on_both_backends;
use portcullis_store::{ActivityEntry, ActivityQuery};
use serde_json::{Value, json};

const T0: &str = "2026-03-01T12:00:00.000000Z";
const T0_PLUS_YEAR: &str = "2027-03-01T12:00:00.000000Z";
const MASKED: &str = "************";

/// The keys of the application object, in AWX's order (`docs/awx-compat.md`, "Applications").
const APP_KEYS: [&str; 16] = [
    "id",
    "type",
    "url",
    "related",
    "summary_fields",
    "created",
    "modified",
    "name",
    "description",
    "client_id",
    "client_secret",
    "client_type",
    "redirect_uris",
    "authorization_grant_type",
    "skip_authorization",
    "organization",
];

/// The keys of an application token object (`docs/awx-compat.md`, "Token object").
const TOKEN_KEYS: [&str; 14] = [
    "id",
    "type",
    "url",
    "related",
    "summary_fields",
    "created",
    "modified",
    "description",
    "user",
    "token",
    "refresh_token",
    "application",
    "expires",
    "scope",
];

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

#[track_caller]
fn assert_credential(value: &str, prefix: &str) {
    let rest = value
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{value:?} does not start with {prefix}"));
    assert_eq!(rest.len(), 49, "{value:?}");
    assert!(rest.bytes().all(|b| b.is_ascii_alphanumeric()), "{value:?}");
}

/// A password-grant, confidential application object with no tokens and no organization.
fn ci_object(id: i64, name: &str, client_id: &str, secret: &str, manage: bool) -> Value {
    json!({
        "id": id,
        "type": "o_auth2_application",
        "url": format!("/api/v2/applications/{id}/"),
        "related": {
            "tokens": format!("/api/v2/applications/{id}/tokens/"),
            "activity_stream": format!("/api/v2/applications/{id}/activity_stream/"),
        },
        "summary_fields": {
            "user_capabilities": {"edit": manage, "delete": manage},
            "tokens": {"count": 0, "results": []},
        },
        "created": T0,
        "modified": T0,
        "name": name,
        "description": "",
        "client_id": client_id,
        "client_secret": secret,
        "client_type": "confidential",
        "redirect_uris": "",
        "authorization_grant_type": "password",
        "skip_authorization": false,
        "organization": null,
    })
}

async fn post_app(app: &TestApp, user: &str, body: Value) -> crate::harness::Resp {
    app.post("/api/v2/applications/")
        .basic(user, PASSWORD)
        .json(&body)
        .send()
        .await
}

async fn app_activity(app: &TestApp) -> Vec<ActivityEntry> {
    let mut entries = app
        .store()
        .list_activity(&ActivityQuery {
            object1: Some("o_auth2_application".into()),
            limit: 100,
            ..ActivityQuery::default()
        })
        .await
        .unwrap()
        .items;
    entries.reverse();
    entries
}

async fn a_superuser_creates_a_confidential_application(app: TestApp) {
    app.admin().await;
    let r = post_app(
        &app,
        "admin",
        json!({"name": "ci", "client_type": "confidential", "authorization_grant_type": "password"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(r.header("pragma").as_deref(), Some("no-cache"));
    let body = r.json();
    assert_eq!(keys(&body), APP_KEYS);
    let id = body["id"].as_i64().unwrap();
    assert_eq!(
        r.header("location"),
        Some(format!("/api/v2/applications/{id}/"))
    );
    let client_id = body["client_id"].as_str().unwrap();
    assert_eq!(client_id.len(), 40, "{client_id}");
    assert!(client_id.bytes().all(|b| b.is_ascii_alphanumeric()));
    let secret = body["client_secret"].as_str().unwrap();
    assert_credential(secret, "pcl_cs_");
    assert_eq!(body, ci_object(id, "ci", client_id, secret, true));

    // A second application gets a different client id and secret.
    let other = app.password_app("other").await;
    assert_ne!(other.client_id, client_id);
    assert_ne!(other.secret.as_deref(), Some(secret));
}

async fn the_client_secret_is_masked_afterwards(app: TestApp) {
    app.admin().await;
    app.user("bob").await;
    let ci = app.password_app("ci").await;
    let secret = ci.secret.clone().unwrap();
    let expected = ci_object(ci.id, "ci", &ci.client_id, MASKED, true);
    let r = app
        .get(&format!("/api/v2/applications/{}/", ci.id))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(keys(&r.json()), APP_KEYS);
    assert_eq!(r.json(), expected);
    assert!(!r.text().contains(&secret));
    let list = app
        .get("/api/v2/applications/")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(
        list.json(),
        json!({"count": 1, "next": null, "previous": null, "results": [expected]})
    );
    // Every authenticated user reads applications, without the right to manage them.
    let r = app
        .get(&format!("/api/v2/applications/{}/", ci.id))
        .basic("bob", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json(),
        ci_object(ci.id, "ci", &ci.client_id, MASKED, false)
    );
    assert_generic_401(
        &app.get(&format!("/api/v2/applications/{}/", ci.id))
            .send()
            .await,
    );
    let r = app
        .get("/api/v2/applications/999/")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json(), json!({"detail": "Not found."}));
}

async fn a_public_application_has_no_client_secret_key(app: TestApp) {
    app.admin().await;
    let r = post_app(
        &app,
        "admin",
        json!({"name": "cli", "client_type": "public", "authorization_grant_type": "password"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let public_keys: Vec<&str> = APP_KEYS
        .iter()
        .copied()
        .filter(|k| *k != "client_secret")
        .collect();
    assert_eq!(keys(&r.json()), public_keys);
    assert_eq!(r.json()["client_type"], "public");
    let id = r.json()["id"].as_i64().unwrap();
    let r = app
        .get(&format!("/api/v2/applications/{id}/"))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(keys(&r.json()), public_keys);
    assert!(!r.text().contains("client_secret"));
}

async fn application_validation_messages(app: TestApp) {
    app.admin().await;
    let cases = [
        (
            json!({"name": "web", "client_type": "confidential", "authorization_grant_type": "authorization-code"}),
            json!({"__all__": ["redirect_uris cannot be empty with grant_type authorization-code"]}),
        ),
        (
            json!({"name": "web", "client_type": "confidential", "authorization_grant_type": "authorization-code", "redirect_uris": "  "}),
            json!({"__all__": ["redirect_uris cannot be empty with grant_type authorization-code"]}),
        ),
        (
            json!({"name": "web", "client_type": "confidential", "authorization_grant_type": "authorization-code", "redirect_uris": "ftp://files.example/cb"}),
            json!({"redirect_uris": ["Unauthorized redirect scheme: ftp"]}),
        ),
        (
            json!({"name": "web", "client_type": "public", "authorization_grant_type": "password", "redirect_uris": "https://ok.example/cb javascript:alert(1)"}),
            json!({"redirect_uris": ["Unauthorized redirect scheme: javascript"]}),
        ),
        (
            json!({}),
            json!({"name": ["This field is required."], "client_type": ["This field is required."],
                   "authorization_grant_type": ["This field is required."]}),
        ),
        (
            json!({"name": "", "client_type": "confidential", "authorization_grant_type": "password"}),
            json!({"name": ["This field may not be blank."]}),
        ),
        (
            json!({"name": "x".repeat(256), "client_type": "confidential", "authorization_grant_type": "password"}),
            json!({"name": ["Ensure this field has no more than 255 characters."]}),
        ),
        (
            json!({"name": "web", "client_type": "secret", "authorization_grant_type": "password"}),
            json!({"client_type": ["\"secret\" is not a valid choice."]}),
        ),
        (
            json!({"name": "web", "client_type": "confidential", "authorization_grant_type": "implicit"}),
            json!({"authorization_grant_type": ["\"implicit\" is not a valid choice."]}),
        ),
        (
            json!({"name": "web", "client_type": "confidential", "authorization_grant_type": "client-credentials"}),
            json!({"authorization_grant_type": ["\"client-credentials\" is not a valid choice."]}),
        ),
        (
            json!({"name": "web", "client_type": "confidential", "authorization_grant_type": "password", "organization": 7}),
            json!({"organization": ["Invalid pk \"7\" - object does not exist."]}),
        ),
    ];
    for (body, expected) in &cases {
        let r = post_app(&app, "admin", body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        assert_eq!(&r.json(), expected, "{body}");
    }
    let none = app
        .get("/api/v2/applications/")
        .basic("admin", PASSWORD)
        .send()
        .await
        .json();
    assert_eq!(none["count"], 0);
    let r = post_app(
        &app,
        "admin",
        json!({"name": "web", "client_type": "confidential", "authorization_grant_type": "authorization-code",
               "redirect_uris": "https://client.example/cb http://localhost:8000/cb"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        r.json()["redirect_uris"],
        "https://client.example/cb http://localhost:8000/cb"
    );
    assert_eq!(r.json()["authorization_grant_type"], "authorization-code");
}

async fn only_superusers_manage_applications(app: TestApp) {
    app.admin().await;
    app.user("bob").await;
    app.auditor("audrey").await;
    let ci = app.password_app("ci").await;
    let body = json!({"name": "mine", "client_type": "confidential", "authorization_grant_type": "password"});
    for user in ["bob", "audrey"] {
        assert_generic_403(&post_app(&app, user, body.clone()).await);
        let r = app
            .patch(&format!("/api/v2/applications/{}/", ci.id))
            .basic(user, PASSWORD)
            .json(&json!({"name": "renamed"}))
            .send()
            .await;
        assert_generic_403(&r);
        let r = app
            .delete(&format!("/api/v2/applications/{}/", ci.id))
            .basic(user, PASSWORD)
            .send()
            .await;
        assert_generic_403(&r);
    }
    assert_generic_401(&app.post("/api/v2/applications/").json(&body).send().await);
    // A superuser's read-scope token cannot either.
    let (_, read) = app.create_pat("admin", PASSWORD, "read").await;
    let r = app
        .post("/api/v2/applications/")
        .bearer(&read)
        .json(&body)
        .send()
        .await;
    assert_generic_403(&r);
    let r = app
        .get(&format!("/api/v2/applications/{}/", ci.id))
        .bearer(&read)
        .send()
        .await;
    assert_eq!(
        r.json()["summary_fields"]["user_capabilities"],
        json!({"edit": false, "delete": false})
    );
    let list = app
        .get("/api/v2/applications/")
        .basic("admin", PASSWORD)
        .send()
        .await
        .json();
    assert_eq!(list["count"], 1);
    assert_eq!(list["results"][0]["name"], "ci");
}

async fn application_names_are_unique_per_organization(app: TestApp) {
    app.admin().await;
    let ci = app.password_app("ci").await;
    let dup = json!({"__all__": ["Application with this Name and Organization already exists."]});
    let r = post_app(
        &app,
        "admin",
        json!({"name": "ci", "client_type": "public", "authorization_grant_type": "password"}),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json(), dup);
    // The same name in the Default organization is another key.
    let r = post_app(
        &app,
        "admin",
        json!({"name": "ci", "client_type": "confidential", "authorization_grant_type": "password", "organization": 1}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["organization"], 1);
    assert_eq!(
        r.json()["related"]["organization"],
        "/api/v2/organizations/1/"
    );
    let in_default = r.json()["id"].as_i64().unwrap();
    let r = post_app(
        &app,
        "admin",
        json!({"name": "ci", "client_type": "confidential", "authorization_grant_type": "password", "organization": 1}),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json(), dup);
    // Renaming onto a taken name is refused too.
    let other = app.password_app("other").await;
    let r = app
        .patch(&format!("/api/v2/applications/{}/", other.id))
        .basic("admin", PASSWORD)
        .json(&json!({"name": "ci"}))
        .send()
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json(), dup);
    // Moving the Default one out of its organization collides with the first.
    let r = app
        .patch(&format!("/api/v2/applications/{in_default}/"))
        .basic("admin", PASSWORD)
        .json(&json!({"organization": null}))
        .send()
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json(), dup);
    assert_ne!(ci.id, in_default);
}

async fn patch_changes_fields_but_not_the_grant_type_or_client_id(app: TestApp) {
    app.admin().await;
    let ci = app.password_app("ci").await;
    app.clock.advance(time::Duration::seconds(3));
    let r = app
        .patch(&format!("/api/v2/applications/{}/", ci.id))
        .basic("admin", PASSWORD)
        .json(&json!({"name": "ci2", "description": "d", "authorization_grant_type": "authorization-code",
                      "client_id": "chosen", "client_secret": "chosen", "skip_authorization": true}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let b = r.json();
    assert_eq!(keys(&b), APP_KEYS);
    assert_eq!(b["name"], "ci2");
    assert_eq!(b["description"], "d");
    assert_eq!(b["authorization_grant_type"], "password");
    assert_eq!(b["client_id"], ci.client_id.as_str());
    assert_eq!(b["client_secret"], MASKED);
    assert_eq!(b["skip_authorization"], true);
    assert_eq!(b["created"], T0);
    assert_eq!(b["modified"], "2026-03-01T12:00:03.000000Z");
    assert!(r.header("cache-control").is_none_or(|v| v != "no-store"));
    // An authorization-code application cannot lose its redirect URIs.
    let web = app
        .create_app(json!({"name": "web", "client_type": "confidential",
                           "authorization_grant_type": "authorization-code",
                           "redirect_uris": "https://c.example/cb"}))
        .await;
    let r = app
        .patch(&format!("/api/v2/applications/{}/", web.id))
        .basic("admin", PASSWORD)
        .json(&json!({"redirect_uris": ""}))
        .send()
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"__all__": ["redirect_uris cannot be empty with grant_type authorization-code"]})
    );
    // The secret still authenticates the client.
    app.user("alice").await;
    app.password_grant(&ci, "alice", None).await;
}

async fn application_tokens_carry_a_refresh_token(app: TestApp) {
    let admin = app.admin().await;
    app.user("bob").await;
    let ci = app.password_app("ci").await;
    let r = app
        .post(&format!("/api/v2/applications/{}/tokens/", ci.id))
        .basic("admin", PASSWORD)
        .json(&json!({"scope": "read", "application": 999}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let body = r.json();
    assert_eq!(keys(&body), TOKEN_KEYS);
    let id = body["id"].as_i64().unwrap();
    assert_eq!(r.header("location"), Some(format!("/api/v2/tokens/{id}/")));
    let token = body["token"].as_str().unwrap().to_owned();
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    assert_credential(&token, "pcl_oat_");
    assert_credential(&refresh, "pcl_ort_");
    let uid = admin.id.0;
    let expected = |token: &str, refresh: &str| {
        json!({
            "id": id, "type": "o_auth2_access_token", "url": format!("/api/v2/tokens/{id}/"),
            "related": {
                "user": format!("/api/v2/users/{uid}/"),
                "application": format!("/api/v2/applications/{}/", ci.id),
                "activity_stream": format!("/api/v2/tokens/{id}/activity_stream/"),
            },
            "summary_fields": {
                "user": {"id": uid, "username": "admin", "first_name": "", "last_name": ""},
                "application": {"id": ci.id, "name": "ci"},
            },
            "created": T0, "modified": T0, "description": "", "user": uid,
            "token": token, "refresh_token": refresh, "application": ci.id,
            "expires": T0_PLUS_YEAR, "scope": "read",
        })
    };
    assert_eq!(body, expected(&token, &refresh));
    // Masked afterwards, both values.
    let r = app
        .get(&format!("/api/v2/tokens/{id}/"))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.json(), expected(MASKED, MASKED));
    let r = app
        .get(&format!("/api/v2/applications/{}/tokens/", ci.id))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"count": 1, "next": null, "previous": null, "results": [expected(MASKED, MASKED)]})
    );
    // The application's summary counts it.
    let r = app
        .get(&format!("/api/v2/applications/{}/", ci.id))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(
        r.json()["summary_fields"]["tokens"],
        json!({"count": 1, "results": [{"id": id, "token": MASKED, "scope": "read"}]})
    );
    assert!(!r.text().contains(&token));
    // It authenticates, read-only.
    assert_eq!(app.me_with(&token).await, 200);
    let r = app.post("/api/v2/tokens/").bearer(&token).send().await;
    assert_generic_403(&r);
    // The refresh token rotates at the token endpoint with this client.
    let r = app
        .oauth_token(
            &ci,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["scope"], "read");

    // Other ways of minting one; listings by kind.
    let r = app
        .post("/api/v2/tokens/")
        .basic("admin", PASSWORD)
        .json(&json!({"application": ci.id}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["application"], ci.id);
    assert_credential(r.json()["refresh_token"].as_str().unwrap(), "pcl_ort_");
    let r = app
        .post("/api/v2/users/admin/authorized_tokens/")
        .basic("admin", PASSWORD)
        .json(&json!({"application": ci.id, "scope": "write"}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["application"], ci.id);
    let authorized = app
        .get("/api/v2/users/admin/authorized_tokens/")
        .basic("admin", PASSWORD)
        .send()
        .await
        .json();
    assert_eq!(authorized["count"], 3);
    let personal = app
        .get("/api/v2/users/admin/personal_tokens/")
        .basic("admin", PASSWORD)
        .send()
        .await
        .json();
    assert_eq!(personal["count"], 0);
    // Bob reads the application but not the admin's tokens of it.
    let r = app
        .get(&format!("/api/v2/applications/{}/", ci.id))
        .basic("bob", PASSWORD)
        .send()
        .await;
    assert_eq!(
        r.json()["summary_fields"]["tokens"],
        json!({"count": 0, "results": []})
    );
    let r = app
        .get(&format!("/api/v2/applications/{}/tokens/", ci.id))
        .basic("bob", PASSWORD)
        .send()
        .await;
    assert_eq!(r.json()["count"], 0);
    // Unknown application.
    let r = app
        .post("/api/v2/applications/999/tokens/")
        .basic("admin", PASSWORD)
        .json(&json!({}))
        .send()
        .await;
    assert_eq!(r.status, 404, "{}", r.text());
}

async fn deleting_a_token_revokes_its_refresh_token(app: TestApp) {
    app.admin().await;
    let ci = app.password_app("ci").await;
    let r = app
        .post(&format!("/api/v2/applications/{}/tokens/", ci.id))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let id = r.json()["id"].as_i64().unwrap();
    let token = r.json()["token"].as_str().unwrap().to_owned();
    let refresh = r.json()["refresh_token"].as_str().unwrap().to_owned();
    let r = app
        .delete(&format!("/api/v2/tokens/{id}/"))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 204);
    assert_token_401(&app.get("/api/v2/me/").bearer(&token).send().await);
    let r = app
        .oauth_token(
            &ci,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["error"], "invalid_grant");
}

async fn deleting_an_application_kills_its_tokens(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    let ci = app.password_app("ci").await;
    let keep = app.password_app("keep").await;
    let r = app
        .post(&format!("/api/v2/applications/{}/tokens/", ci.id))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let admin_token = r.json()["token"].as_str().unwrap().to_owned();
    let (alice_access, alice_refresh) = app.password_grant(&ci, "alice", None).await;
    let (kept_access, _) = app.password_grant(&keep, "alice", None).await;
    let (_, pat) = app.create_pat("alice", PASSWORD, "write").await;

    let r = app
        .delete(&format!("/api/v2/applications/{}/", ci.id))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert!(r.body.is_empty());
    for t in [&admin_token, &alice_access] {
        assert_token_401(&app.get("/api/v2/me/").bearer(t).send().await);
    }
    assert_eq!(app.me_with(&kept_access).await, 200);
    assert_eq!(app.me_with(&pat).await, 200);
    let r = app
        .get(&format!("/api/v2/applications/{}/", ci.id))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 404);
    let r = app
        .get(&format!("/api/v2/applications/{}/tokens/", ci.id))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 404);
    let alice_tokens = app
        .get("/api/v2/tokens/")
        .basic("alice", PASSWORD)
        .send()
        .await
        .json();
    assert_eq!(alice_tokens["count"], 2);
    // The client itself is gone.
    let r = app
        .oauth_token(
            &ci,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &alice_refresh),
            ],
        )
        .await;
    assert_eq!(r.status, 401, "{}", r.text());
    assert_eq!(r.json(), json!({"error": "invalid_client"}));
    // The name is free again.
    app.password_app("ci").await;
}

async fn application_changes_are_recorded_without_the_secret(app: TestApp) {
    let admin = app.admin().await;
    let ci = app.password_app("ci").await;
    let secret = ci.secret.clone().unwrap();
    let r = app
        .patch(&format!("/api/v2/applications/{}/", ci.id))
        .basic("admin", PASSWORD)
        .json(&json!({"name": "ci2"}))
        .send()
        .await;
    assert_eq!(r.status, 200);
    let r = app
        .delete(&format!("/api/v2/applications/{}/", ci.id))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 204);
    let entries = app_activity(&app).await;
    let ops: Vec<&str> = entries.iter().map(|e| e.entry.operation.as_str()).collect();
    assert_eq!(ops, ["create", "update", "delete"]);
    for e in &entries {
        assert_eq!(e.entry.object1_id, Some(ci.id));
        assert_eq!(e.entry.actor, Some(admin.id));
        let text = e.entry.changes.to_string();
        assert!(!text.contains(&secret), "{text}");
        assert!(e.entry.changes.get("client_secret").is_none(), "{text}");
    }
    assert_eq!(entries[0].entry.changes["name"], "ci");
    assert_eq!(entries[1].entry.changes, json!({"name": ["ci", "ci2"]}));
}

async fn the_token_summary_shows_ten_of_the_count(app: TestApp) {
    app.admin().await;
    let ci = app.password_app("ci").await;
    let mut ids = Vec::new();
    for _ in 0..11 {
        let r = app
            .post(&format!("/api/v2/applications/{}/tokens/", ci.id))
            .basic("admin", PASSWORD)
            .send()
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
        ids.push(r.json()["id"].as_i64().unwrap());
    }
    let r = app
        .get(&format!("/api/v2/applications/{}/", ci.id))
        .basic("admin", PASSWORD)
        .send()
        .await;
    let tokens = &r.json()["summary_fields"]["tokens"];
    assert_eq!(tokens["count"], 11);
    let results = tokens["results"].as_array().unwrap();
    assert_eq!(results.len(), 10);
    for t in results {
        assert_eq!(keys(t), ["id", "token", "scope"]);
        assert_eq!(t["token"], MASKED);
        assert_eq!(t["scope"], "write");
        assert!(ids.contains(&t["id"].as_i64().unwrap()));
    }
}

async fn application_lists_filter_and_order(app: TestApp) {
    app.admin().await;
    let a = app.password_app("alpha").await;
    let b = app
        .create_app(
            json!({"name": "beta", "client_type": "public", "authorization_grant_type": "password",
                           "organization": 1}),
        )
        .await;
    let c = app
        .create_app(json!({"name": "gamma", "client_type": "confidential",
                           "authorization_grant_type": "authorization-code",
                           "redirect_uris": "https://c.example/cb", "skip_authorization": true}))
        .await;
    let ids = |v: &Value| -> Vec<i64> {
        v["results"]
            .as_array()
            .unwrap_or_else(|| panic!("{v}"))
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect()
    };
    for (query, expected) in [
        ("", vec![a.id, b.id, c.id]),
        ("?name=beta", vec![b.id]),
        ("?client_type=confidential", vec![a.id, c.id]),
        ("?authorization_grant_type=authorization-code", vec![c.id]),
        ("?skip_authorization=true", vec![c.id]),
        ("?skip_authorization=false", vec![a.id, b.id]),
        ("?organization=1", vec![b.id]),
        (&format!("?client_id={}", a.client_id) as &str, vec![a.id]),
        ("?order_by=-name", vec![c.id, b.id, a.id]),
        ("?name=delta", vec![]),
    ] {
        let r = app
            .get(&format!("/api/v2/applications/{query}"))
            .basic("admin", PASSWORD)
            .send()
            .await;
        assert_eq!(r.status, 200, "{query}: {}", r.text());
        assert_eq!(ids(&r.json()), expected, "{query}");
        assert_eq!(r.json()["count"], expected.len(), "{query}");
    }
    let r = app
        .get("/api/v2/applications/?client_secret=x")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
}

async fn an_applications_activity_stream_never_shows_the_secret(app: TestApp) {
    app.admin().await;
    let ci = app.password_app("ci").await;
    let r = app
        .get(&format!("/api/v2/applications/{}/activity_stream/", ci.id))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["count"], 1, "{}", r.text());
    let e = &r.json()["results"][0];
    assert_eq!(e["object1"], "o_auth2_application");
    assert_eq!(e["operation"], "create");
    assert_eq!(e["changes"]["name"], "ci");
    assert!(e["changes"].get("client_secret").is_none());
    assert!(!r.text().contains(ci.secret.as_deref().unwrap()));
}

on_both_backends!(
    a_superuser_creates_a_confidential_application,
    the_client_secret_is_masked_afterwards,
    a_public_application_has_no_client_secret_key,
    application_validation_messages,
    only_superusers_manage_applications,
    application_names_are_unique_per_organization,
    patch_changes_fields_but_not_the_grant_type_or_client_id,
    application_tokens_carry_a_refresh_token,
    deleting_a_token_revokes_its_refresh_token,
    deleting_an_application_kills_its_tokens,
    application_changes_are_recorded_without_the_secret,
    an_applications_activity_stream_never_shows_the_secret,
    the_token_summary_shows_ten_of_the_count,
    application_lists_filter_and_order,
);
