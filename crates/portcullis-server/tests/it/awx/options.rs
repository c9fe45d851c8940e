//! OPTIONS metadata of the users, `me` and settings views (`docs/awx-compat.md`, "OPTIONS
//! metadata").

use crate::harness::{PASSWORD, Resp, TestApp, assert_generic_401};
use crate::on_both_backends;
use axum::http::Method;
use serde_json::{Value, json};

pub(crate) const DETAIL_ALLOW: &str = "GET, PUT, PATCH, DELETE, HEAD, OPTIONS";
const USERNAME_HELP: &str =
    "Required. 150 characters or fewer. Letters, digits and @/./+/-/_ only.";
const SUPERUSER_HELP: &str =
    "Designates that this user has all permissions without explicitly assigning them.";

/// `actions.GET` of the users views, as `docs/awx-compat.md`, "OPTIONS metadata" lists it.
fn users_get() -> Value {
    json!({
        "id": {"type": "integer", "label": "ID", "filterable": true},
        "username": {"type": "string", "label": "Username", "help_text": USERNAME_HELP, "filterable": true},
        "first_name": {"type": "string", "label": "First name", "filterable": true},
        "last_name": {"type": "string", "label": "Last name", "filterable": true},
        "email": {"type": "string", "label": "Email address", "filterable": true},
        "is_superuser": {"type": "boolean", "label": "Superuser status", "help_text": SUPERUSER_HELP,
                         "filterable": true},
        "is_system_auditor": {"type": "boolean", "label": "Is system auditor", "filterable": false},
        "ldap_dn": {"type": "string", "label": "LDAP DN", "filterable": true},
        "last_login": {"type": "datetime", "label": "Last login", "filterable": true},
        "external_account": {"type": "string", "label": "External account",
                             "help_text": "Set if the account is managed by an external service",
                             "filterable": false},
        "created": {"type": "datetime", "label": "Created", "filterable": true},
        "modified": {"type": "datetime", "label": "Modified", "filterable": true},
    })
}

/// The writable user fields (`actions.POST` of the list, `actions.PUT` of a detail).
fn users_write() -> Value {
    json!({
        "username": {"type": "string", "label": "Username", "help_text": USERNAME_HELP,
                     "required": true, "max_length": 150},
        "first_name": {"type": "string", "label": "First name", "required": false, "max_length": 150},
        "last_name": {"type": "string", "label": "Last name", "required": false, "max_length": 150},
        "email": {"type": "string", "label": "Email address", "required": false, "max_length": 254},
        "is_superuser": {"type": "boolean", "label": "Superuser status", "help_text": SUPERUSER_HELP,
                         "required": false, "default": false},
        "is_system_auditor": {"type": "boolean", "label": "Is system auditor", "required": false,
                              "default": false},
        "password": {"type": "string", "label": "Password", "help_text": "Field used to change the password.",
                     "required": false, "default": ""},
    })
}

/// An OPTIONS document with AWX's fixed keys around `actions` (shared by the resource and
/// activity tests).
pub(crate) fn document(name: &str, description: &str, actions: Value) -> Value {
    json!({
        "name": name, "description": description,
        "renders": ["application/json"], "parses": ["application/json"],
        "actions": actions, "max_page_size": 200, "object_roles": [],
    })
}

pub(crate) fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

/// Asserts the parts JSON equality cannot see: the document's and each section's key order,
/// and that every field entry has a `type`.
#[track_caller]
pub(crate) fn assert_shape(body: &Value, expected: &Value) {
    assert_eq!(
        keys(body),
        [
            "name",
            "description",
            "renders",
            "parses",
            "actions",
            "max_page_size",
            "object_roles"
        ]
    );
    assert_eq!(keys(&body["actions"]), keys(&expected["actions"]));
    for (method, section) in expected["actions"].as_object().unwrap() {
        assert_eq!(keys(&body["actions"][method]), keys(section), "{method}");
        for (field, entry) in body["actions"][method].as_object().unwrap() {
            assert!(entry["type"].is_string(), "{method} {field} has no type");
        }
    }
    assert_eq!(body, expected);
}

/// `OPTIONS path` with Basic credentials of `user` (default password).
pub(crate) async fn options(app: &TestApp, path: &str, user: &str) -> Resp {
    app.req(Method::OPTIONS, path)
        .basic(user, PASSWORD)
        .send()
        .await
}

async fn users_list_options_offer_post_to_superusers_only(app: TestApp) {
    app.admin().await;
    app.user("bob").await;
    let r = options(&app, "/api/v2/users/", "admin").await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.header("allow").as_deref(),
        Some("GET, POST, HEAD, OPTIONS")
    );
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json")
    );
    assert_shape(
        &r.json(),
        &document(
            "Users",
            "Local and directory users.",
            json!({"GET": users_get(), "POST": users_write()}),
        ),
    );

    let r = options(&app, "/api/v2/users/", "bob").await;
    assert_eq!(r.status, 200);
    assert_shape(
        &r.json(),
        &document(
            "Users",
            "Local and directory users.",
            json!({"GET": users_get()}),
        ),
    );

    assert_generic_401(&app.req(Method::OPTIONS, "/api/v2/users/").send().await);
    assert_generic_401(
        &app.req(Method::OPTIONS, "/api/v2/users/")
            .basic("admin", "wrong")
            .send()
            .await,
    );
}

async fn a_read_scope_token_is_not_offered_writes(app: TestApp) {
    let admin = app.admin().await;
    let (_, token) = app.create_pat("admin", PASSWORD, "read").await;
    let r = app
        .req(Method::OPTIONS, "/api/v2/users/")
        .bearer(&token)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(keys(&r.json()["actions"]), ["GET"]);
    let r = app
        .req(Method::OPTIONS, &format!("/api/v2/users/{}/", admin.id))
        .bearer(&token)
        .send()
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(keys(&r.json()["actions"]), ["GET"]);
}

async fn user_detail_options_answer_whether_or_not_the_user_exists(app: TestApp) {
    let admin = app.admin().await;
    let bob = app.user("bob").await;
    let with_put = document(
        "User Detail",
        "Local and directory users.",
        json!({"GET": users_get(), "PUT": users_write()}),
    );
    let get_only = document(
        "User Detail",
        "Local and directory users.",
        json!({"GET": users_get()}),
    );
    let cases = [
        (format!("/api/v2/users/{}/", admin.id), "admin", &with_put),
        (format!("/api/v2/users/{}/", bob.id), "admin", &with_put),
        ("/api/v2/users/bob/".to_owned(), "admin", &with_put),
        ("/api/v2/users/999999/".to_owned(), "admin", &get_only),
        ("/api/v2/users/nobody/".to_owned(), "admin", &get_only),
        // A normal user may change itself, not others (403 by id, 404 by name for GET).
        (format!("/api/v2/users/{}/", bob.id), "bob", &with_put),
        (format!("/api/v2/users/{}/", admin.id), "bob", &get_only),
        ("/api/v2/users/admin/".to_owned(), "bob", &get_only),
        ("/api/v2/users/999999/".to_owned(), "bob", &get_only),
    ];
    for (path, user, expected) in cases {
        let r = options(&app, &path, user).await;
        assert_eq!(r.status, 200, "{path} as {user}: {}", r.text());
        assert_eq!(r.header("allow").as_deref(), Some(DETAIL_ALLOW), "{path}");
        assert!(r.header("warning").is_none());
        assert_shape(&r.json(), expected);
    }
    assert_generic_401(
        &app.req(Method::OPTIONS, "/api/v2/users/999999/")
            .send()
            .await,
    );
}

async fn me_options_are_get_only(app: TestApp) {
    app.admin().await;
    let r = options(&app, "/api/v2/me/", "admin").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("allow").as_deref(), Some("GET, HEAD, OPTIONS"));
    assert_shape(
        &r.json(),
        &document("Me", "The authenticated user.", json!({"GET": users_get()})),
    );
    assert_generic_401(&app.req(Method::OPTIONS, "/api/v2/me/").send().await);
}

async fn settings_list_options_are_get_only(app: TestApp) {
    app.admin().await;
    let r = options(&app, "/api/v2/settings/", "admin").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("allow").as_deref(), Some("GET, HEAD, OPTIONS"));
    assert_shape(
        &r.json(),
        &document(
            "Setting Categories",
            "Categories of runtime settings.",
            json!({"GET": {
                "url": {"type": "string", "label": "URL", "filterable": true},
                "slug": {"type": "string", "label": "Slug", "filterable": true},
                "name": {"type": "string", "label": "Name", "filterable": true},
            }}),
        ),
    );
    assert_generic_401(&app.req(Method::OPTIONS, "/api/v2/settings/").send().await);
}

/// The `system` category's entries (its four keys are all writable).
fn system_get() -> Value {
    json!({
        "CSRF_TRUSTED_ORIGINS": {"type": "list", "label": "CSRF Trusted Origins List",
            "help_text": "Origins (scheme://host[:port], or https://*.example.com) trusted for CSRF checks.",
            "filterable": false},
        "ACTIVITY_STREAM_ENABLED": {"type": "boolean", "label": "Enable Activity Stream",
            "help_text": "Enable capturing activity for the activity stream.", "filterable": false},
        "REMOTE_HOST_HEADERS": {"type": "list", "label": "Remote Host Headers",
            "help_text": "Stored for compatibility; trusted proxies are configuration.", "filterable": false},
        "PROXY_IP_ALLOWED_LIST": {"type": "list", "label": "Proxy IP Allowed List",
            "help_text": "Stored for compatibility; trusted proxies are configuration.", "filterable": false},
    })
}

fn system_put() -> Value {
    json!({
        "CSRF_TRUSTED_ORIGINS": {"type": "list", "label": "CSRF Trusted Origins List",
            "help_text": "Origins (scheme://host[:port], or https://*.example.com) trusted for CSRF checks.",
            "required": false, "default": []},
        "ACTIVITY_STREAM_ENABLED": {"type": "boolean", "label": "Enable Activity Stream",
            "help_text": "Enable capturing activity for the activity stream.", "required": false,
            "default": true},
        "REMOTE_HOST_HEADERS": {"type": "list", "label": "Remote Host Headers",
            "help_text": "Stored for compatibility; trusted proxies are configuration.", "required": false,
            "default": ["REMOTE_ADDR", "REMOTE_HOST"]},
        "PROXY_IP_ALLOWED_LIST": {"type": "list", "label": "Proxy IP Allowed List",
            "help_text": "Stored for compatibility; trusted proxies are configuration.", "required": false,
            "default": []},
    })
}

async fn a_settings_category_offers_put_to_superusers_only(app: TestApp) {
    app.admin().await;
    app.auditor("audrey").await;
    app.user("bob").await;
    let expected = |actions: Value| {
        document(
            "Setting Detail",
            "Runtime settings of one category.",
            actions,
        )
    };
    let r = options(&app, "/api/v2/settings/system/", "admin").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("allow").as_deref(), Some(DETAIL_ALLOW));
    assert_shape(
        &r.json(),
        &expected(json!({"GET": system_get(), "PUT": system_put()})),
    );
    for user in ["audrey", "bob"] {
        let r = options(&app, "/api/v2/settings/system/", user).await;
        assert_eq!(r.status, 200, "{user}");
        assert_shape(&r.json(), &expected(json!({"GET": system_get()})));
    }
    // An unknown category still answers 200, with nothing to show or change.
    let r = options(&app, "/api/v2/settings/nope/", "admin").await;
    assert_eq!(r.status, 200);
    assert_shape(&r.json(), &expected(json!({"GET": {}})));
    assert_generic_401(
        &app.req(Method::OPTIONS, "/api/v2/settings/system/")
            .send()
            .await,
    );
}

async fn settings_all_put_lists_every_writable_setting_and_no_read_only_one(app: TestApp) {
    app.admin().await;
    let r = options(&app, "/api/v2/settings/all/", "admin").await;
    assert_eq!(r.status, 200);
    let body = r.json();
    let put = &body["actions"]["PUT"];
    for key in [
        "AUTH_BASIC_ENABLED",
        "SESSION_COOKIE_AGE",
        "OAUTH2_PROVIDER",
    ] {
        assert!(put.get(key).is_some(), "PUT lacks {key}");
    }
    assert!(put.get("AUTHENTICATION_BACKENDS").is_none());
    assert_eq!(
        body["actions"]["GET"]["AUTHENTICATION_BACKENDS"],
        json!({"type": "list", "label": "Authentication Backends",
               "help_text": "List of authentication backends that are enabled based on license features and other authentication settings.",
               "read_only": true, "filterable": false})
    );
    assert_eq!(
        put["SESSION_COOKIE_AGE"],
        json!({"type": "integer", "label": "Idle Time Force Log Out",
               "help_text": "Number of seconds that a user is inactive before they will need to login again.",
               "required": false, "default": 1800})
    );
    assert_eq!(
        put["OAUTH2_PROVIDER"]["default"],
        json!({"ACCESS_TOKEN_EXPIRE_SECONDS": 31536000, "REFRESH_TOKEN_EXPIRE_SECONDS": 2628000,
               "AUTHORIZATION_CODE_EXPIRE_SECONDS": 600})
    );
    assert_eq!(put["OAUTH2_PROVIDER"]["type"], "nested object");
    assert_eq!(
        keys(put).len() + 1,
        keys(&body["actions"]["GET"]).len(),
        "every setting but AUTHENTICATION_BACKENDS is writable through `all`"
    );
    // The keys the AWX CLI will accept for `settings modify` are those a PATCH takes.
    let r = app
        .patch("/api/v2/settings/all/")
        .basic("admin", PASSWORD)
        .json(&json!({"AUTH_BASIC_ENABLED": false}))
        .send()
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["AUTH_BASIC_ENABLED"], false);
}

on_both_backends!(
    users_list_options_offer_post_to_superusers_only,
    a_read_scope_token_is_not_offered_writes,
    user_detail_options_answer_whether_or_not_the_user_exists,
    me_options_are_get_only,
    settings_list_options_are_get_only,
    a_settings_category_offers_put_to_superusers_only,
    settings_all_put_lists_every_writable_setting_and_no_read_only_one,
);
