//! Personal access tokens and `/api/v2/tokens/` (`docs/awx-compat.md`, "Tokens", "Personal
//! tokens", "Activity stream"; `docs/security.md`, "OAuth tokens"): creation over Basic and
//! sessions, masking,
//! Bearer use, the token 401, scopes, updates, deletion, the per-user sub-lists, external
//! users, lifetimes, bulk revocation, the activity stream, what the store holds and the
//! coalesced `last_used` stamps.

use crate::harness::{
    Backend, PASSWORD, Resp, TestApp, assert_csrf_403, assert_generic_401, assert_generic_403,
    assert_token_401,
};
use crate::on_both_backends;
use axum::http::Method;
use portcullis_core::ids::TokenId;
use portcullis_core::rng::OsRng;
use portcullis_core::token::{PlainToken, TokenKind};
use portcullis_core::user::User;
use portcullis_store::{ActivityEntry, ActivityQuery};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// The fake clock's start, as AWX renders it.
const T0: &str = "2026-03-01T12:00:00.000000Z";
/// `T0` + 31536000 s.
const T0_PLUS_YEAR: &str = "2027-03-01T12:00:00.000000Z";
const MASKED: &str = "************";
const SCOPE_ERROR: &str =
    "Must be a simple space-separated string with allowed scopes ['read', 'write'].";
const SCOPE_CHALLENGE: &str =
    "Bearer realm=api authorization_url=/api/o/authorize/, error=\"insufficient_scope\"";

/// The keys of the token object, in AWX's order (`docs/awx-compat.md`, "Token object").
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

/// A personal access token object as AWX renders it.
#[allow(clippy::too_many_arguments)]
fn pat_object(
    id: i64,
    user: &User,
    token: &str,
    description: &str,
    scope: &str,
    created: &str,
    modified: &str,
    expires: &str,
) -> Value {
    let uid = user.id.0;
    json!({
        "id": id,
        "type": "o_auth2_access_token",
        "url": format!("/api/v2/tokens/{id}/"),
        "related": {
            "user": format!("/api/v2/users/{uid}/"),
            "activity_stream": format!("/api/v2/tokens/{id}/activity_stream/"),
        },
        "summary_fields": {"user": {"id": uid, "username": user.username, "first_name": "", "last_name": ""}},
        "created": created,
        "modified": modified,
        "description": description,
        "user": uid,
        "token": token,
        "refresh_token": null,
        "application": null,
        "expires": expires,
        "scope": scope,
    })
}

/// `value` is `prefix` + 49 base62 characters.
#[track_caller]
fn assert_credential(value: &str, prefix: &str) {
    let rest = value
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("{value:?} does not start with {prefix}"));
    assert_eq!(rest.len(), 49, "{value:?}");
    assert!(rest.bytes().all(|b| b.is_ascii_alphanumeric()), "{value:?}");
}

/// The generic 403 of a read-scope token on an unsafe method.
#[track_caller]
fn assert_scope_403(r: &Resp) {
    assert_generic_403(r);
    assert_eq!(
        r.header_all("www-authenticate"),
        vec![SCOPE_CHALLENGE.to_owned()]
    );
}

fn tid(r: &Resp) -> i64 {
    r.json()["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no id: {}", r.text()))
}

fn clear(r: &Resp) -> String {
    r.json()["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token: {}", r.text()))
        .to_owned()
}

/// A well-formed PAT that was never issued.
fn unknown_pat() -> String {
    PlainToken::generate(TokenKind::PersonalAccess, &OsRng)
        .expose()
        .to_owned()
}

async fn token_activity(app: &TestApp) -> Vec<ActivityEntry> {
    let mut entries = app
        .store()
        .list_activity(&ActivityQuery {
            object1: Some("o_auth2_access_token".into()),
            limit: 100,
            ..ActivityQuery::default()
        })
        .await
        .unwrap()
        .items;
    entries.reverse(); // oldest first
    entries
}

// --- creation ---------------------------------------------------------------------------

async fn basic_post_with_an_empty_body_and_no_content_type_creates_a_pat(app: TestApp) {
    let admin = app.admin().await;
    let r = app
        .post("/api/v2/tokens/")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(r.header_count("cache-control"), 1);
    assert_eq!(r.header("pragma").as_deref(), Some("no-cache"));
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json")
    );
    let body = r.json();
    assert_eq!(keys(&body), TOKEN_KEYS);
    assert_eq!(keys(&body["related"]), ["user", "activity_stream"]);
    assert_eq!(
        keys(&body["summary_fields"]["user"]),
        ["id", "username", "first_name", "last_name"]
    );
    let id = tid(&r);
    let token = clear(&r);
    assert_credential(&token, "pcl_pat_");
    assert_eq!(r.header("location"), Some(format!("/api/v2/tokens/{id}/")));
    // expires = now + 31536000 s with the fake clock.
    assert_eq!(
        body,
        pat_object(id, &admin, &token, "", "write", T0, T0, T0_PLUS_YEAR)
    );
    assert!(r.set_cookie("awx_sessionid").is_none());
    // The new token works at once.
    assert_eq!(app.me_with(&token).await, 200);
}

async fn an_empty_json_object_and_a_body_user_are_the_same_pat_of_the_caller(app: TestApp) {
    app.admin().await;
    let alice = app.user("alice").await;
    let r = app
        .post("/api/v2/tokens/")
        .basic("alice", PASSWORD)
        .json(&json!({"user": 1, "description": "ci", "scope": "read write"}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let token = clear(&r);
    assert_eq!(
        r.json(),
        pat_object(
            tid(&r),
            &alice,
            &token,
            "ci",
            "read write",
            T0,
            T0,
            T0_PLUS_YEAR
        )
    );
    let r = app
        .post("/api/v2/tokens/")
        .basic("alice", PASSWORD)
        .json(&json!({}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["scope"], "write");
    assert_eq!(r.json()["user"], alice.id.0);
}

async fn an_unknown_application_id_is_a_400(app: TestApp) {
    app.user("alice").await;
    let r = app
        .post("/api/v2/tokens/")
        .basic("alice", PASSWORD)
        .json(&json!({"application": 999}))
        .send()
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"application": ["Invalid pk \"999\" - object does not exist."]})
    );
}

async fn basic_token_creation_ignores_a_stray_csrf_cookie(app: TestApp) {
    app.user("alice").await;
    let csrf = app.anonymous_csrf().await;
    let r = app
        .post("/api/v2/tokens/")
        .basic("alice", PASSWORD)
        .header("cookie", &format!("csrftoken={csrf}"))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert!(r.set_cookie("awx_sessionid").is_none());
}

async fn session_token_creation_needs_csrf(app: TestApp) {
    let alice = app.user("alice").await;
    let s = app.login("alice", PASSWORD).await;
    let r = s.req(Method::POST, "/api/v2/tokens/").send().await;
    assert_csrf_403(&r, "CSRF token missing.");
    let r = s.csrf_req(Method::POST, "/api/v2/tokens/").send().await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["user"], alice.id.0);
    assert_credential(&clear(&r), "pcl_pat_");
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    // Only the second request made a token.
    let list = s.get("/api/v2/tokens/").await.json();
    assert_eq!(list["count"], 1);
}

// --- masking -----------------------------------------------------------------------------

async fn tokens_are_masked_on_list_and_detail(app: TestApp) {
    let admin = app.admin().await;
    let (id, token) = app.create_pat("admin", PASSWORD, "write").await;
    let expected = pat_object(id, &admin, MASKED, "", "write", T0, T0, T0_PLUS_YEAR);

    let detail = app
        .get(&format!("/api/v2/tokens/{id}/"))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(detail.status, 200, "{}", detail.text());
    assert_eq!(keys(&detail.json()), TOKEN_KEYS);
    assert_eq!(detail.json(), expected);
    assert!(!detail.text().contains(&token));

    let list = app
        .get("/api/v2/tokens/")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(list.status, 200);
    assert_eq!(
        list.json(),
        json!({"count": 1, "next": null, "previous": null, "results": [expected]})
    );
    for path in [
        format!("/api/v2/users/{}/tokens/", admin.id),
        format!("/api/v2/users/{}/personal_tokens/", admin.id),
        "/api/v2/users/admin/personal_tokens/".to_owned(),
    ] {
        let r = app.get(&path).basic("admin", PASSWORD).send().await;
        assert_eq!(r.status, 200, "{path}: {}", r.text());
        assert_eq!(r.json()["count"], 1, "{path}");
        assert_eq!(r.json()["results"][0], expected, "{path}");
        assert!(!r.text().contains(&token), "{path}");
    }
    // Read with the token itself: still masked.
    let own = app
        .get(&format!("/api/v2/tokens/{id}/"))
        .bearer(&token)
        .send()
        .await;
    assert_eq!(own.json(), expected);
    // No PAT among the application tokens.
    let r = app
        .get("/api/v2/users/admin/authorized_tokens/")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.json()["count"], 0);
}

// --- Bearer use --------------------------------------------------------------------------

async fn a_bearer_token_authenticates_without_session_or_csrf(app: TestApp) {
    app.user("alice").await;
    let (_, token) = app.create_pat("alice", PASSWORD, "write").await;
    let r = app.get("/api/v2/me/").bearer(&token).send().await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["results"][0]["username"], "alice");
    assert!(r.set_cookie("awx_sessionid").is_none());
    assert!(r.header("session-timeout").is_none());
    assert_eq!(r.header("x-api-product-version").as_deref(), Some("22.2.0"));
    // The scheme is case-insensitive.
    let r = app
        .get("/api/v2/me/")
        .header("authorization", &format!("bearer {token}"))
        .send()
        .await;
    assert_eq!(r.status, 200);
    // POST with a stray csrftoken cookie, a non-matching X-CSRFToken and a Referer, as the
    // AWX CLI sends in token mode: no CSRF check.
    let csrf = app.anonymous_csrf().await;
    let r = app
        .post("/api/v2/tokens/")
        .bearer(&token)
        .header("cookie", &format!("csrftoken={csrf}"))
        .header("x-csrftoken", "not-the-cookie")
        .header("referer", "http://127.0.0.1:8052/api/v2/tokens/")
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_credential(&clear(&r), "pcl_pat_");
}

async fn a_failed_bearer_token_gets_the_token_401(app: TestApp) {
    app.user("alice").await;
    let (_, token) = app.create_pat("alice", PASSWORD, "write").await;
    let body = &token["pcl_pat_".len()..];
    let mut bad_checksum = token.clone();
    let last = bad_checksum.pop().unwrap();
    bad_checksum.push(if last == 'a' { 'b' } else { 'a' });
    let s = app.login("alice", PASSWORD).await;
    let refusals = [
        ("unknown", unknown_pat()),
        ("wrong prefix", format!("pcl_xyz_{body}")),
        ("other kind's prefix", format!("pcl_oat_{body}")),
        ("bad checksum", bad_checksum),
        ("truncated", token[..token.len() - 1].to_owned()),
        ("garbage", "garbage".to_owned()),
        ("session id", s.id().to_owned()),
    ];
    for (what, value) in &refusals {
        let r = app.get("/api/v2/me/").bearer(value).send().await;
        assert_token_401(&r);
        assert!(!r.text().contains("Invalid"), "{what}");
        // Also with a live session cookie: the failed Bearer ends the chain.
        let r = s.req(Method::GET, "/api/v2/me/").bearer(value).send().await;
        assert_token_401(&r);
        // Ignored on open views.
        let r = app.get("/api/").bearer(value).send().await;
        assert_eq!(r.status, 200, "{what}");
    }
    let r = app
        .get("/api/v2/me/")
        .header("authorization", "Bearer")
        .send()
        .await;
    assert_token_401(&r);
    // The real token still works.
    assert_eq!(app.me_with(&token).await, 200);
}

async fn a_token_expires_at_its_deadline(app: TestApp) {
    app.user("alice").await;
    let (id, token) = app.create_pat("alice", PASSWORD, "write").await;
    app.clock.advance(time::Duration::seconds(31_536_000 - 1));
    assert_eq!(app.me_with(&token).await, 200);
    app.clock.advance(time::Duration::seconds(1));
    // now >= expires: invalid.
    assert_token_401(&app.get("/api/v2/me/").bearer(&token).send().await);
    // Still listed until purged, with its original deadline.
    let r = app
        .get(&format!("/api/v2/tokens/{id}/"))
        .basic("alice", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["expires"], T0_PLUS_YEAR);
}

async fn a_disabled_or_deleted_users_tokens_fail(app: TestApp) {
    app.admin().await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let (_, a) = app.create_pat("alice", PASSWORD, "write").await;
    let (_, b) = app.create_pat("bob", PASSWORD, "write").await;
    app.deactivate(&alice).await;
    assert_token_401(&app.get("/api/v2/me/").bearer(&a).send().await);
    let r = app
        .delete(&format!("/api/v2/users/{}/", bob.id))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_token_401(&app.get("/api/v2/me/").bearer(&b).send().await);
}

async fn a_token_in_the_query_string_is_never_accepted(app: TestApp) {
    app.user("alice").await;
    let (_, token) = app.create_pat("alice", PASSWORD, "write").await;
    for q in ["access_token", "token", "bearer"] {
        let r = app.get(&format!("/api/v2/me/?{q}={token}")).send().await;
        assert_generic_401(&r);
    }
}

async fn token_lists_filter_order_and_page(app: TestApp) {
    app.admin().await;
    let alice = app.user("alice").await;
    let ci = app.password_app("ci").await;
    let (t1, _) = app.create_pat("alice", PASSWORD, "read").await;
    let (t2, _) = app.create_pat("alice", PASSWORD, "write").await;
    let r = app
        .post("/api/v2/tokens/")
        .basic("alice", PASSWORD)
        .json(&json!({"application": ci.id, "description": "app", "scope": "read"}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let t3 = tid(&r);
    let (t4, _) = app.create_pat("admin", PASSWORD, "read").await;
    let ids = |v: &Value| -> Vec<i64> {
        v["results"]
            .as_array()
            .unwrap_or_else(|| panic!("{v}"))
            .iter()
            .map(|t| t["id"].as_i64().unwrap())
            .collect()
    };
    for (query, expected) in [
        ("", vec![t1, t2, t3, t4]),
        ("?scope=read", vec![t1, t3, t4]),
        (&format!("?user={}", alice.id) as &str, vec![t1, t2, t3]),
        (&format!("?application={}", ci.id) as &str, vec![t3]),
        ("?application=null", vec![t1, t2, t4]),
        ("?description=app", vec![t3]),
        ("?order_by=-id", vec![t4, t3, t2, t1]),
        ("?scope=read&order_by=-id", vec![t4, t3, t1]),
        (&format!("?id={t2}") as &str, vec![t2]),
        ("?scope=nothing", vec![]),
    ] {
        let r = app
            .get(&format!("/api/v2/tokens/{query}"))
            .basic("admin", PASSWORD)
            .send()
            .await;
        assert_eq!(r.status, 200, "{query}: {}", r.text());
        assert_eq!(ids(&r.json()), expected, "{query}");
        assert_eq!(r.json()["count"], expected.len(), "{query}");
    }
    let r = app
        .get("/api/v2/tokens/?page_size=2")
        .basic("admin", PASSWORD)
        .send()
        .await
        .json();
    assert_eq!(r["count"], 4);
    assert_eq!(ids(&r), [t1, t2]);
    assert_eq!(r["next"], "/api/v2/tokens/?page_size=2&page=2");
    assert_eq!(r["previous"], json!(null));
    let r = app
        .get("/api/v2/tokens/?page_size=2&page=2")
        .basic("admin", PASSWORD)
        .send()
        .await
        .json();
    assert_eq!(ids(&r), [t3, t4]);
    assert_eq!(r["next"], json!(null));
    let r = app
        .get("/api/v2/tokens/?token=x")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    // A normal user's filters stay inside their own tokens.
    let r = app
        .get("/api/v2/tokens/?scope=read")
        .basic("alice", PASSWORD)
        .send()
        .await;
    assert_eq!(ids(&r.json()), [t1, t3]);
}

// --- scopes ------------------------------------------------------------------------------

async fn a_read_token_reads_but_cannot_write_even_for_a_superuser(app: TestApp) {
    let admin = app.admin().await;
    let (id, token) = app.create_pat("admin", PASSWORD, "read").await;
    let r = app.get("/api/v2/me/").bearer(&token).send().await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["results"][0]["summary_fields"]["user_capabilities"],
        json!({"edit": false, "delete": false})
    );
    let r = app
        .get(&format!("/api/v2/tokens/{id}/"))
        .bearer(&token)
        .send()
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        app.req(Method::HEAD, "/api/v2/tokens/")
            .bearer(&token)
            .send()
            .await
            .status,
        200
    );
    assert_scope_403(&app.post("/api/v2/tokens/").bearer(&token).send().await);
    assert_scope_403(
        &app.patch(&format!("/api/v2/tokens/{id}/"))
            .bearer(&token)
            .json(&json!({"scope": "write"}))
            .send()
            .await,
    );
    assert_scope_403(
        &app.delete(&format!("/api/v2/tokens/{id}/"))
            .bearer(&token)
            .send()
            .await,
    );
    assert_scope_403(
        &app.patch(&format!("/api/v2/users/{}/", admin.id))
            .bearer(&token)
            .json(&json!({"first_name": "X"}))
            .send()
            .await,
    );
    assert_scope_403(
        &app.patch("/api/v2/settings/authentication/")
            .bearer(&token)
            .json(&json!({"SESSIONS_PER_USER": 2}))
            .send()
            .await,
    );
    // Nothing was created or changed.
    let list = app
        .get("/api/v2/tokens/")
        .basic("admin", PASSWORD)
        .send()
        .await
        .json();
    assert_eq!(list["count"], 1);
    assert_eq!(list["results"][0]["scope"], "read");
    assert_eq!(app.user_by_id(admin.id).await.first_name, "");
}

async fn invalid_scopes_get_awx_message(app: TestApp) {
    app.user("alice").await;
    for scope in [
        json!("admin"),
        json!("read read"),
        json!("write write"),
        json!(""),
        json!("READ"),
        json!("read,write"),
        json!("read admin"),
        json!(5),
        json!(["read"]),
    ] {
        let r = app
            .post("/api/v2/tokens/")
            .basic("alice", PASSWORD)
            .json(&json!({ "scope": scope }))
            .send()
            .await;
        assert_eq!(r.status, 400, "{scope}: {}", r.text());
        assert_eq!(r.json(), json!({"scope": [SCOPE_ERROR]}), "{scope}");
    }
    for scope in ["read", "write", "read write", "write read"] {
        let r = app
            .post("/api/v2/tokens/")
            .basic("alice", PASSWORD)
            .json(&json!({ "scope": scope }))
            .send()
            .await;
        assert_eq!(r.status, 201, "{scope}: {}", r.text());
        assert_eq!(r.json()["scope"], scope);
    }
    // None of the refused ones exists.
    let list = app
        .get("/api/v2/tokens/")
        .basic("alice", PASSWORD)
        .send()
        .await
        .json();
    assert_eq!(list["count"], 4);
}

// --- update and delete -------------------------------------------------------------------

async fn patch_changes_only_description_and_scope(app: TestApp) {
    let admin = app.admin().await;
    let alice = app.user("alice").await;
    let (id, token) = app.create_pat("alice", PASSWORD, "write").await;
    app.clock.advance(time::Duration::seconds(5));
    let r = app
        .patch(&format!("/api/v2/tokens/{id}/"))
        .basic("alice", PASSWORD)
        .json(&json!({
            "scope": "read", "description": "x", "user": admin.id.0,
            "expires": "2030-01-01T00:00:00Z", "token": "pcl_pat_chosen",
            "refresh_token": "r", "application": 1, "created": "2020-01-01T00:00:00Z"
        }))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.header("cache-control").is_none_or(|v| v != "no-store"));
    let expected = pat_object(
        id,
        &alice,
        MASKED,
        "x",
        "read",
        T0,
        "2026-03-01T12:00:05.000000Z",
        T0_PLUS_YEAR,
    );
    assert_eq!(keys(&r.json()), TOKEN_KEYS);
    assert_eq!(r.json(), expected);
    let detail = app
        .get(&format!("/api/v2/tokens/{id}/"))
        .basic("alice", PASSWORD)
        .send()
        .await;
    assert_eq!(detail.json(), expected);
    // The same value still authenticates, now read-only.
    assert_eq!(app.me_with(&token).await, 200);
    assert_scope_403(&app.post("/api/v2/tokens/").bearer(&token).send().await);
    // PUT behaves the same; an invalid scope changes nothing.
    let r = app
        .req(Method::PUT, &format!("/api/v2/tokens/{id}/"))
        .basic("alice", PASSWORD)
        .json(&json!({"description": "y", "scope": "read write"}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["description"], "y");
    assert_eq!(r.json()["scope"], "read write");
    assert_eq!(r.json()["token"], MASKED);
    let r = app
        .patch(&format!("/api/v2/tokens/{id}/"))
        .basic("alice", PASSWORD)
        .json(&json!({"scope": "admin", "description": "z"}))
        .send()
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json(), json!({"scope": [SCOPE_ERROR]}));
    let detail = app
        .get(&format!("/api/v2/tokens/{id}/"))
        .basic("alice", PASSWORD)
        .send()
        .await
        .json();
    assert_eq!(detail["description"], "y");
    assert_eq!(detail["scope"], "read write");
}

async fn a_deleted_token_fails_at_once(app: TestApp) {
    app.user("alice").await;
    let (id, token) = app.create_pat("alice", PASSWORD, "write").await;
    let (_, other) = app.create_pat("alice", PASSWORD, "write").await;
    assert_eq!(app.me_with(&token).await, 200);
    let r = app
        .delete(&format!("/api/v2/tokens/{id}/"))
        .basic("alice", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert!(r.body.is_empty());
    assert_token_401(&app.get("/api/v2/me/").bearer(&token).send().await);
    for missing in [id.to_string(), "0".into(), "abc".into(), "99999".into()] {
        let r = app
            .get(&format!("/api/v2/tokens/{missing}/"))
            .basic("alice", PASSWORD)
            .send()
            .await;
        assert_eq!(r.status, 404, "{missing}");
        assert_eq!(r.json(), json!({"detail": "Not found."}), "{missing}");
    }
    let r = app
        .delete(&format!("/api/v2/tokens/{id}/"))
        .basic("alice", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 404);
    // A token may delete itself; the other one is untouched.
    assert_eq!(app.me_with(&other).await, 200);
    let list = app
        .get("/api/v2/tokens/")
        .basic("alice", PASSWORD)
        .send()
        .await
        .json();
    assert_eq!(list["count"], 1);
}

// --- personal_tokens and other users -----------------------------------------------------

async fn personal_tokens_by_username_id_and_encoded_username(app: TestApp) {
    let admin = app.admin().await;
    let ops = app.user("ops@example.com").await;
    let cli = json!({"description": "AWX CLI", "application": null, "scope": "write"});
    for (who, path) in [
        (&admin, "/api/v2/users/admin/personal_tokens/".to_owned()),
        (
            &admin,
            format!("/api/v2/users/{}/personal_tokens/", admin.id),
        ),
        (
            &ops,
            "/api/v2/users/ops%40example.com/personal_tokens/".to_owned(),
        ),
    ] {
        let r = app
            .post(&path)
            .basic(&who.username, PASSWORD)
            .json(&cli)
            .send()
            .await;
        assert_eq!(r.status, 201, "{path}: {}", r.text());
        let token = clear(&r);
        assert_credential(&token, "pcl_pat_");
        assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
        assert_eq!(
            r.json(),
            pat_object(
                tid(&r),
                who,
                &token,
                "AWX CLI",
                "write",
                T0,
                T0,
                T0_PLUS_YEAR
            ),
            "{path}"
        );
        assert_eq!(
            r.header("location"),
            Some(format!("/api/v2/tokens/{}/", tid(&r)))
        );
        assert_eq!(app.me_with(&token).await, 200);
    }
    // The CLI's exact call with a wrong password: the generic 401.
    let r = app
        .post("/api/v2/users/admin/personal_tokens/")
        .basic("admin", "wrong")
        .json(&cli)
        .send()
        .await;
    assert_generic_401(&r);
    // No credentials at all: the same.
    let r = app
        .post("/api/v2/users/admin/personal_tokens/")
        .json(&cli)
        .send()
        .await;
    assert_generic_401(&r);
    // Basic disabled: the same.
    app.set(json!({"AUTH_BASIC_ENABLED": false})).await;
    let r = app
        .post("/api/v2/users/admin/personal_tokens/")
        .basic("admin", PASSWORD)
        .json(&cli)
        .send()
        .await;
    assert_generic_401(&r);
}

async fn personal_tokens_ignore_an_application(app: TestApp) {
    app.admin().await;
    let ci = app.password_app("ci").await;
    let r = app
        .post("/api/v2/users/admin/personal_tokens/")
        .basic("admin", PASSWORD)
        .json(&json!({"application": ci.id}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["application"], json!(null));
    assert_eq!(r.json()["refresh_token"], json!(null));
    assert_credential(&clear(&r), "pcl_pat_");
    // authorized_tokens requires one.
    let r = app
        .post("/api/v2/users/admin/authorized_tokens/")
        .basic("admin", PASSWORD)
        .json(&json!({}))
        .send()
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(
        r.json(),
        json!({"application": ["This field is required."]})
    );
}

async fn nobody_is_401_anonymous_and_404_authenticated(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    let r = app
        .post("/api/v2/users/nobody/personal_tokens/")
        .json(&json!({}))
        .send()
        .await;
    assert_generic_401(&r);
    for user in ["admin", "alice"] {
        let r = app
            .post("/api/v2/users/nobody/personal_tokens/")
            .basic(user, PASSWORD)
            .json(&json!({}))
            .send()
            .await;
        assert_eq!(r.status, 404, "{user}: {}", r.text());
        assert_eq!(r.json(), json!({"detail": "Not found."}));
        let r = app
            .get("/api/v2/users/nobody/personal_tokens/")
            .basic(user, PASSWORD)
            .send()
            .await;
        assert_eq!(r.status, 404, "{user}");
        assert_eq!(r.json(), json!({"detail": "Not found."}));
    }
    let r = app
        .get("/api/v2/users/999999/personal_tokens/")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 404);
}

async fn another_users_tokens_are_out_of_reach(app: TestApp) {
    app.admin().await;
    let alice = app.user("alice").await;
    app.user("bob").await;
    app.auditor("audrey").await;
    let (a1, alice_token) = app.create_pat("alice", PASSWORD, "write").await;
    let (a2, _) = app.create_pat("alice", PASSWORD, "read").await;
    let (_, admin_token) = app.create_pat("admin", PASSWORD, "write").await;
    let ci = app.password_app("ci").await;
    let r = app
        .post(&format!("/api/v2/applications/{}/tokens/", ci.id))
        .basic("alice", PASSWORD)
        .json(&json!({}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let alice_app_token = tid(&r);

    // Bob cannot mint on Alice's URL: 403 by id, 404 by username.
    let r = app
        .post(&format!("/api/v2/users/{}/personal_tokens/", alice.id))
        .basic("bob", PASSWORD)
        .json(&json!({}))
        .send()
        .await;
    assert_generic_403(&r);
    let r = app
        .post("/api/v2/users/alice/personal_tokens/")
        .basic("bob", PASSWORD)
        .json(&json!({}))
        .send()
        .await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(r.json(), json!({"detail": "Not found."}));
    // Not even a superuser mints for someone else.
    let r = app
        .post(&format!("/api/v2/users/{}/personal_tokens/", alice.id))
        .basic("admin", PASSWORD)
        .json(&json!({}))
        .send()
        .await;
    assert_generic_403(&r);
    // Bob does not see Alice's tokens at all.
    for (method, body) in [
        (Method::GET, None),
        (Method::PATCH, Some(json!({"description": "mine"}))),
        (Method::PUT, Some(json!({"description": "mine"}))),
        (Method::DELETE, None),
    ] {
        let mut req = app
            .req(method.clone(), &format!("/api/v2/tokens/{a1}/"))
            .basic("bob", PASSWORD);
        if let Some(b) = &body {
            req = req.json(b);
        }
        let r = req.send().await;
        assert_eq!(r.status, 404, "{method}: {}", r.text());
        assert_eq!(r.json(), json!({"detail": "Not found."}));
    }
    for path in [
        format!("/api/v2/users/{}/personal_tokens/", alice.id),
        format!("/api/v2/users/{}/tokens/", alice.id),
        format!("/api/v2/users/{}/authorized_tokens/", alice.id),
        "/api/v2/users/alice/personal_tokens/".to_owned(),
    ] {
        let r = app.get(&path).basic("bob", PASSWORD).send().await;
        assert_eq!(r.status, 404, "{path}: {}", r.text());
    }
    let own = app
        .get("/api/v2/tokens/")
        .basic("bob", PASSWORD)
        .send()
        .await
        .json();
    assert_eq!(own["count"], 0);
    assert_eq!(app.me_with(&alice_token).await, 200);

    // The superuser lists Alice's PATs only (not the admin's, not Alice's application token).
    let r = app
        .get(&format!("/api/v2/users/{}/personal_tokens/", alice.id))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let ids: Vec<i64> = r.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [a1, a2]);
    assert_eq!(r.json()["count"], 2);
    let all_of_alice = app
        .get(&format!("/api/v2/users/{}/tokens/", alice.id))
        .basic("admin", PASSWORD)
        .send()
        .await
        .json();
    assert_eq!(all_of_alice["count"], 3);
    let authorized = app
        .get(&format!("/api/v2/users/{}/authorized_tokens/", alice.id))
        .basic("admin", PASSWORD)
        .send()
        .await
        .json();
    assert_eq!(authorized["count"], 1);
    assert_eq!(authorized["results"][0]["id"], alice_app_token);
    // The superuser reads and deletes Alice's token.
    let r = app
        .get(&format!("/api/v2/tokens/{a1}/"))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["token"], MASKED);

    // An auditor reads everything but changes nothing.
    let r = app
        .get(&format!("/api/v2/tokens/{a1}/"))
        .basic("audrey", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = app
        .get("/api/v2/tokens/")
        .basic("audrey", PASSWORD)
        .send()
        .await;
    assert_eq!(r.json()["count"], 4);
    let r = app
        .get(&format!("/api/v2/users/{}/personal_tokens/", alice.id))
        .basic("audrey", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["count"], 2);
    let r = app
        .delete(&format!("/api/v2/tokens/{a1}/"))
        .basic("audrey", PASSWORD)
        .send()
        .await;
    assert_generic_403(&r);
    assert_eq!(app.me_with(&alice_token).await, 200);

    let r = app
        .delete(&format!("/api/v2/tokens/{a1}/"))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 204);
    assert_token_401(&app.get("/api/v2/me/").bearer(&alice_token).send().await);
    assert_eq!(app.me_with(&admin_token).await, 200);
}

// --- external users ----------------------------------------------------------------------

async fn external_users_need_the_setting_checked_only_at_creation(app: TestApp) {
    app.admin().await;
    let lara = app.ldap_user("lara").await;
    let s = app.session_for(&lara).await;
    let refusal = json!({"detail": "(access_denied) OAuth2 Tokens cannot be created by users associated with an external authentication provider (ldap)"});
    for path in [
        "/api/v2/tokens/".to_owned(),
        "/api/v2/users/lara/personal_tokens/".to_owned(),
        format!("/api/v2/users/{}/tokens/", lara.id),
    ] {
        let r = s.csrf_req(Method::POST, &path).send().await;
        assert_eq!(r.status, 403, "{path}: {}", r.text());
        assert_eq!(r.json(), refusal, "{path}");
    }
    let ci = app.password_app("ci").await;
    let r = s
        .csrf_req(
            Method::POST,
            &format!("/api/v2/applications/{}/tokens/", ci.id),
        )
        .send()
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert_eq!(r.json(), refusal);
    // Nothing was created.
    assert_eq!(s.get("/api/v2/tokens/").await.json()["count"], 0);

    app.set(json!({"ALLOW_OAUTH2_FOR_EXTERNAL_USERS": true}))
        .await;
    let r = s.csrf_req(Method::POST, "/api/v2/tokens/").send().await;
    assert_eq!(r.status, 201, "{}", r.text());
    let token = clear(&r);
    assert_eq!(r.json()["user"], lara.id.0);

    app.set(json!({"ALLOW_OAUTH2_FOR_EXTERNAL_USERS": false}))
        .await;
    let r = app.get("/api/v2/me/").bearer(&token).send().await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["results"][0]["username"], "lara");
    // The token may read but not mint another one.
    let r = app.post("/api/v2/tokens/").bearer(&token).send().await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json(), refusal);
    // Local users are unaffected either way.
    app.create_pat("admin", PASSWORD, "write").await;
}

// --- lifetimes ---------------------------------------------------------------------------

async fn the_access_token_lifetime_setting_applies_to_new_tokens_only(app: TestApp) {
    app.admin().await;
    let (old_id, old) = app.create_pat("admin", PASSWORD, "write").await;
    app.set(json!({"OAUTH2_PROVIDER": {"ACCESS_TOKEN_EXPIRE_SECONDS": 3600}}))
        .await;
    let r = app
        .post("/api/v2/tokens/")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["expires"], "2026-03-01T13:00:00.000000Z");
    let new = clear(&r);
    let r = app
        .get(&format!("/api/v2/tokens/{old_id}/"))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.json()["expires"], T0_PLUS_YEAR);
    app.clock.advance(time::Duration::seconds(3599));
    assert_eq!(app.me_with(&new).await, 200);
    app.clock.advance(time::Duration::seconds(1));
    assert_token_401(&app.get("/api/v2/me/").bearer(&new).send().await);
    assert_eq!(app.me_with(&old).await, 200);
    // A lifetime change later does not revive or extend anything.
    app.set(json!({"OAUTH2_PROVIDER": {"ACCESS_TOKEN_EXPIRE_SECONDS": 31536000}}))
        .await;
    assert_token_401(&app.get("/api/v2/me/").bearer(&new).send().await);
}

// --- bulk revocation ---------------------------------------------------------------------

async fn the_revoke_action_kills_existing_tokens_only(app: TestApp) {
    app.admin().await;
    let alice = app.user("alice").await;
    app.user("bob").await;
    let (_, admin_t) = app.create_pat("admin", PASSWORD, "write").await;
    let (_, a1) = app.create_pat("alice", PASSWORD, "write").await;
    let (_, a2) = app.create_pat("alice", PASSWORD, "read").await;
    let (_, b1) = app.create_pat("bob", PASSWORD, "write").await;

    // Not for normal users.
    let r = app
        .post("/api/v2/tokens/revoke/")
        .basic("bob", PASSWORD)
        .json(&json!({"all": true}))
        .send()
        .await;
    assert_generic_403(&r);
    let r = app
        .post("/api/v2/tokens/revoke/")
        .basic("bob", PASSWORD)
        .json(&json!({"user": alice.id.0}))
        .send()
        .await;
    assert_generic_403(&r);
    for t in [&admin_t, &a1, &a2, &b1] {
        assert_eq!(app.me_with(t).await, 200);
    }

    let r = app
        .post("/api/v2/tokens/revoke/")
        .basic("admin", PASSWORD)
        .json(&json!({"user": "alice"}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"revoked": 2}));
    assert_token_401(&app.get("/api/v2/me/").bearer(&a1).send().await);
    assert_token_401(&app.get("/api/v2/me/").bearer(&a2).send().await);
    assert_eq!(app.me_with(&b1).await, 200);
    assert_eq!(app.me_with(&admin_t).await, 200);
    // Tokens created afterwards work.
    let (a3_id, a3) = app.create_pat("alice", PASSWORD, "write").await;
    assert_eq!(app.me_with(&a3).await, 200);
    let list = app
        .get("/api/v2/tokens/")
        .basic("alice", PASSWORD)
        .send()
        .await
        .json();
    assert_eq!(list["count"], 1, "{list}");
    assert_eq!(list["results"][0]["id"], a3_id);

    let r = app
        .post("/api/v2/tokens/revoke/")
        .basic("admin", PASSWORD)
        .json(&json!({"all": true}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"revoked": 3}));
    for t in [&admin_t, &b1, &a3] {
        assert_token_401(&app.get("/api/v2/me/").bearer(t).send().await);
    }
    let (b2_id, b2) = app.create_pat("bob", PASSWORD, "write").await;
    assert_eq!(app.me_with(&b2).await, 200);
    // Revoked tokens are no longer listed; only the new one is.
    let list = app
        .get("/api/v2/tokens/")
        .basic("admin", PASSWORD)
        .send()
        .await
        .json();
    assert_eq!(list["count"], 1, "{list}");
    assert_eq!(list["results"][0]["id"], b2_id);
    let (_, admin2) = app.create_pat("admin", PASSWORD, "write").await;
    assert_eq!(app.me_with(&admin2).await, 200);
    // The revoked ones stay dead.
    assert_token_401(&app.get("/api/v2/me/").bearer(&b1).send().await);
}

async fn the_revoke_action_spares_refresh_tokens_unless_asked(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    let ci = app.password_app("ci").await;
    let (access, refresh) = app.password_grant(&ci, "alice", None).await;
    let r = app
        .post("/api/v2/tokens/revoke/")
        .basic("admin", PASSWORD)
        .json(&json!({"all": true}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_token_401(&app.get("/api/v2/me/").bearer(&access).send().await);
    // Access tokens only: the refresh token still rotates, and its successor works.
    let r = app
        .oauth_token(
            &ci,
            &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let access2 = r.json()["access_token"].as_str().unwrap().to_owned();
    let refresh2 = r.json()["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(app.me_with(&access2).await, 200);

    let r = app
        .post("/api/v2/tokens/revoke/")
        .basic("admin", PASSWORD)
        .json(&json!({"user": "alice", "include_refresh": true}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json(), json!({"revoked": 1}));
    assert_token_401(&app.get("/api/v2/me/").bearer(&access2).send().await);
    let r = app
        .oauth_token(
            &ci,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh2),
            ],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["error"], "invalid_grant");

    // System-wide with refresh tokens.
    let (access3, refresh3) = app.password_grant(&ci, "alice", None).await;
    let r = app
        .post("/api/v2/tokens/revoke/")
        .basic("admin", PASSWORD)
        .json(&json!({"all": true, "include_refresh": true}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_token_401(&app.get("/api/v2/me/").bearer(&access3).send().await);
    let r = app
        .oauth_token(
            &ci,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh3),
            ],
        )
        .await;
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json()["error"], "invalid_grant");
    // New grants work.
    let (access4, _) = app.password_grant(&ci, "alice", None).await;
    assert_eq!(app.me_with(&access4).await, 200);
}

// --- activity stream ---------------------------------------------------------------------

async fn token_changes_are_in_the_activity_stream_masked(app: TestApp) {
    let admin = app.admin().await;
    let r = app
        .post("/api/v2/tokens/")
        .basic("admin", PASSWORD)
        .json(&json!({"description": "ci"}))
        .send()
        .await;
    assert_eq!(r.status, 201);
    let id = tid(&r);
    let token = clear(&r);
    let entries = token_activity(&app).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    let e = &entries[0].entry;
    assert_eq!(e.operation, "create");
    assert_eq!(e.object1, "o_auth2_access_token");
    assert_eq!(e.object1_id, Some(id));
    assert_eq!(e.actor, Some(admin.id));
    assert_eq!(e.changes["token"], MASKED);
    assert_eq!(
        e.changes,
        json!({"description": "ci", "user": admin.id.0, "token": MASKED, "refresh_token": null,
               "application": null, "expires": T0_PLUS_YEAR, "scope": "write"})
    );

    let r = app
        .patch(&format!("/api/v2/tokens/{id}/"))
        .basic("admin", PASSWORD)
        .json(&json!({"scope": "read"}))
        .send()
        .await;
    assert_eq!(r.status, 200);
    let r = app
        .delete(&format!("/api/v2/tokens/{id}/"))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 204);
    let entries = token_activity(&app).await;
    let ops: Vec<&str> = entries.iter().map(|e| e.entry.operation.as_str()).collect();
    assert_eq!(ops, ["create", "update", "delete"]);
    assert_eq!(
        entries[1].entry.changes,
        json!({"scope": ["write", "read"]})
    );
    assert_eq!(entries[1].entry.object1_id, Some(id));
    assert_eq!(entries[2].entry.changes["token"], MASKED);
    assert_eq!(entries[2].entry.object1_id, Some(id));
    for e in &entries {
        assert!(!e.entry.changes.to_string().contains(&token));
        assert!(e.entry.changes.get("last_used").is_none());
    }
}

/// The keys of an activity-stream entry (`docs/awx-compat.md`, "Activity stream").
const ENTRY_KEYS: [&str; 12] = [
    "id",
    "type",
    "url",
    "related",
    "summary_fields",
    "timestamp",
    "operation",
    "changes",
    "object1",
    "object2",
    "object_association",
    "object_type",
];

async fn a_tokens_activity_stream_shows_its_creation_masked(app: TestApp) {
    let admin = app.admin().await;
    app.user("bob").await;
    let (id, token) = app.create_pat("admin", PASSWORD, "write").await;
    let path = format!("/api/v2/tokens/{id}/activity_stream/");
    let r = app.get(&path).basic("admin", PASSWORD).send().await;
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    assert_eq!(body["count"], 1, "{body}");
    let e = &body["results"][0];
    assert_eq!(keys(e), ENTRY_KEYS);
    assert_eq!(e["type"], "activity_stream");
    assert_eq!(
        e["url"],
        format!("/api/v2/activity_stream/{}/", e["id"].as_i64().unwrap())
    );
    assert_eq!(e["object1"], "o_auth2_access_token");
    assert_eq!(e["operation"], "create");
    assert_eq!(e["timestamp"], T0);
    assert_eq!(e["changes"]["token"], MASKED);
    assert_eq!(
        e["related"],
        json!({"actor": format!("/api/v2/users/{}/", admin.id)})
    );
    assert_eq!(
        e["summary_fields"],
        json!({"actor": {"id": admin.id.0, "username": "admin", "first_name": "", "last_name": ""}})
    );
    assert!(!r.text().contains(&token));
    // Someone who may not see the token does not see its history either.
    let r = app.get(&path).basic("bob", PASSWORD).send().await;
    assert_eq!(r.status, 404, "{}", r.text());
}

async fn no_token_activity_while_the_stream_is_off(app: TestApp) {
    app.admin().await;
    app.set(json!({"ACTIVITY_STREAM_ENABLED": false})).await;
    app.create_pat("admin", PASSWORD, "write").await;
    assert!(token_activity(&app).await.is_empty());
}

// --- what the store holds ----------------------------------------------------------------

/// Every place (`table.column`) in the database whose content contains `needle`.
async fn find_in_store(app: &TestApp, needle: &[u8]) -> Vec<String> {
    use sqlx::{Connection, Row};
    let mut hits = Vec::new();
    match app.backend {
        Backend::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(&app.db_url).await.unwrap();
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )
            .fetch_all(&mut conn)
            .await
            .unwrap();
            assert!(
                tables.iter().any(|t| t == "oauth_access_tokens"),
                "{tables:?}"
            );
            for t in &tables {
                let cols: Vec<String> =
                    sqlx::query_scalar("SELECT name FROM pragma_table_xinfo(?1)")
                        .bind(t)
                        .fetch_all(&mut conn)
                        .await
                        .unwrap();
                for c in &cols {
                    let sql = format!(
                        "SELECT count(*) FROM \"{t}\" WHERE instr(CAST(\"{c}\" AS BLOB), ?1) > 0"
                    );
                    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                        .bind(needle.to_vec())
                        .fetch_one(&mut conn)
                        .await
                        .unwrap();
                    if n > 0 {
                        hits.push(format!("{t}.{c}"));
                    }
                }
            }
        }
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&app.db_url).await.unwrap();
            let cols = sqlx::query(
                "SELECT table_name::text AS t, column_name::text AS c, data_type::text AS d \
                 FROM information_schema.columns WHERE table_schema = 'public'",
            )
            .fetch_all(&mut conn)
            .await
            .unwrap();
            assert!(
                cols.iter()
                    .any(|r| r.get::<String, _>("t") == "oauth_access_tokens"),
                "no token table"
            );
            let utf8 = std::str::from_utf8(needle).is_ok();
            for row in &cols {
                let (t, c, d): (String, String, String) =
                    (row.get("t"), row.get("c"), row.get("d"));
                if d != "bytea" && !utf8 {
                    continue;
                }
                let sql = if d == "bytea" {
                    format!("SELECT count(*) FROM \"{t}\" WHERE position($1::bytea in \"{c}\") > 0")
                } else {
                    format!(
                        "SELECT count(*) FROM \"{t}\" WHERE position(convert_from($1::bytea, 'UTF8') in \"{c}\"::text) > 0"
                    )
                };
                let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .bind(needle.to_vec())
                    .fetch_one(&mut conn)
                    .await
                    .unwrap_or_else(|e| panic!("{t}.{c} ({d}): {e}"));
                if n > 0 {
                    hits.push(format!("{t}.{c}"));
                }
            }
        }
    }
    hits
}

/// The raw bytes of the SQLite files (database and WAL), so deleted or unindexed copies
/// count too.
fn sqlite_file_bytes(app: &TestApp) -> Vec<u8> {
    let path = app.db_url.strip_prefix("sqlite:").unwrap();
    let mut all = Vec::new();
    for suffix in ["", "-wal", "-journal"] {
        if let Ok(b) = std::fs::read(format!("{path}{suffix}")) {
            all.extend(b);
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn the_store_holds_only_hashes_of_tokens_and_secrets(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    let (_, pat) = app.create_pat("admin", PASSWORD, "write").await;
    let ci = app.password_app("ci").await;
    let secret = ci.secret.clone().expect("confidential secret");
    let r = app
        .post(&format!("/api/v2/applications/{}/tokens/", ci.id))
        .basic("admin", PASSWORD)
        .json(&json!({"scope": "read"}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let app_token = clear(&r);
    let app_refresh = r.json()["refresh_token"].as_str().unwrap().to_owned();
    let (grant_access, grant_refresh) = app.password_grant(&ci, "alice", None).await;
    // A rotation writes a new pair through another path.
    let r = app
        .oauth_token(
            &ci,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &grant_refresh),
            ],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let rotated_access = r.json()["access_token"].as_str().unwrap().to_owned();
    let rotated_refresh = r.json()["refresh_token"].as_str().unwrap().to_owned();
    // Use them, so `last_used` stamps are written too.
    for t in [&pat, &app_token, &rotated_access] {
        assert_eq!(app.me_with(t).await, 200);
    }
    app.state.last_used.flush(&app.state).await.unwrap();

    // (what, value, whether a row for it must still exist: the access token replaced by the
    // rotation is deleted, its consumed refresh token kept for reuse detection).
    let values = [
        ("PAT", pat, true),
        ("client secret", secret, true),
        ("application token", app_token, true),
        ("application refresh token", app_refresh, true),
        ("password-grant access token", grant_access, false),
        ("password-grant refresh token", grant_refresh, true),
        ("rotated access token", rotated_access, true),
        ("rotated refresh token", rotated_refresh, true),
    ];
    let raw = match app.backend {
        Backend::Sqlite => Some(sqlite_file_bytes(&app)),
        Backend::Postgres => None,
    };
    for (what, value, kept) in &values {
        // Neither the value nor its random part without the prefix.
        let body = value.split_at(value.len() - 49).1;
        for needle in [value.as_str(), body] {
            let hits = find_in_store(&app, needle.as_bytes()).await;
            assert!(hits.is_empty(), "{what} stored in clear in {hits:?}");
            if let Some(raw) = &raw {
                assert!(
                    !contains(raw, needle.as_bytes()),
                    "{what} in the SQLite files"
                );
            }
        }
        if !kept {
            continue;
        }
        // Its SHA-256 is what is kept (raw, or as hex text).
        let digest = Sha256::digest(value.as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let mut hits = find_in_store(&app, digest.as_slice()).await;
        hits.extend(find_in_store(&app, hex.as_bytes()).await);
        assert!(!hits.is_empty(), "no SHA-256 of the {what} stored");
    }
}

// --- last_used coalescing ----------------------------------------------------------------

async fn a_hundred_bearer_requests_stamp_last_used_once(app: TestApp) {
    app.user("alice").await;
    let (id, token) = app.create_pat("alice", PASSWORD, "write").await;
    assert_eq!(app.state.last_used.pending(), 0);
    for i in 0..100 {
        if i % 10 == 0 {
            app.clock.advance(time::Duration::milliseconds(100));
        }
        assert_eq!(app.me_with(&token).await, 200, "request {i}");
    }
    assert_eq!(app.state.last_used.pending(), 1);
    assert_eq!(app.state.last_used.flush(&app.state).await.unwrap(), 1);
    assert_eq!(app.state.last_used.pending(), 0);
    let stored = app.store().token_by_id(TokenId(id)).await.unwrap().unwrap();
    let first_use = time::macros::datetime!(2026-03-01 12:00:00.1 UTC);
    assert_eq!(stored.last_used, Some(first_use));
    // Within the interval nothing more is queued, before or after the flush.
    app.clock.advance(time::Duration::seconds(50));
    for _ in 0..20 {
        assert_eq!(app.me_with(&token).await, 200);
    }
    assert_eq!(app.state.last_used.pending(), 0);
    // After the interval one more stamp.
    app.clock.advance(time::Duration::seconds(11));
    for _ in 0..5 {
        assert_eq!(app.me_with(&token).await, 200);
    }
    assert_eq!(app.state.last_used.pending(), 1);
    assert_eq!(app.state.last_used.flush(&app.state).await.unwrap(), 1);
    let stored = app.store().token_by_id(TokenId(id)).await.unwrap().unwrap();
    assert_eq!(
        stored.last_used,
        Some(time::macros::datetime!(2026-03-01 12:01:02 UTC))
    );
    // A stamp of a token deleted before the flush is skipped; the batch still succeeds.
    let (gone_id, gone) = app.create_pat("alice", PASSWORD, "write").await;
    assert_eq!(app.me_with(&gone).await, 200);
    assert_eq!(app.me_with(&token).await, 200);
    assert_eq!(app.state.last_used.pending(), 1);
    let r = app
        .delete(&format!("/api/v2/tokens/{gone_id}/"))
        .basic("alice", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(app.state.last_used.flush(&app.state).await.unwrap(), 1);
    assert_eq!(app.state.last_used.pending(), 0);
    // `last_used` is not part of the API.
    let r = app
        .get(&format!("/api/v2/tokens/{id}/"))
        .basic("alice", PASSWORD)
        .send()
        .await;
    assert!(r.json().get("last_used").is_none());
}

on_both_backends!(
    basic_post_with_an_empty_body_and_no_content_type_creates_a_pat,
    an_empty_json_object_and_a_body_user_are_the_same_pat_of_the_caller,
    an_unknown_application_id_is_a_400,
    basic_token_creation_ignores_a_stray_csrf_cookie,
    session_token_creation_needs_csrf,
    tokens_are_masked_on_list_and_detail,
    a_bearer_token_authenticates_without_session_or_csrf,
    a_failed_bearer_token_gets_the_token_401,
    a_token_expires_at_its_deadline,
    a_disabled_or_deleted_users_tokens_fail,
    a_token_in_the_query_string_is_never_accepted,
    token_lists_filter_order_and_page,
    a_read_token_reads_but_cannot_write_even_for_a_superuser,
    invalid_scopes_get_awx_message,
    patch_changes_only_description_and_scope,
    a_deleted_token_fails_at_once,
    personal_tokens_by_username_id_and_encoded_username,
    personal_tokens_ignore_an_application,
    nobody_is_401_anonymous_and_404_authenticated,
    another_users_tokens_are_out_of_reach,
    external_users_need_the_setting_checked_only_at_creation,
    the_access_token_lifetime_setting_applies_to_new_tokens_only,
    the_revoke_action_kills_existing_tokens_only,
    the_revoke_action_spares_refresh_tokens_unless_asked,
    token_changes_are_in_the_activity_stream_masked,
    a_tokens_activity_stream_shows_its_creation_masked,
    no_token_activity_while_the_stream_is_off,
    the_store_holds_only_hashes_of_tokens_and_secrets,
    a_hundred_bearer_requests_stamp_last_used_once,
);
