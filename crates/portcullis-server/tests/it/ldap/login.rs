//! Directory users logging in (`docs/ldap.md`, "A directory login", "Failures"): Basic, form
//! login, the password grant; shadow users; group rules of both group types; DN templates;
//! StartTLS and ldaps; several servers; an unreachable, silent or stopped directory.

use super::{directory_app, directory_settings, group, person};
use crate::harness::{BAD_LOGIN, Builder, PASSWORD, TestApp, assert_generic_401};
use crate::on_both_backends_configured;
use axum::http::StatusCode;
use portcullis_server::testing::slapd::BASE_DN;
use serde_json::{Value, json};

/// `GET /api/v2/me/` over Basic: the status and the user object (if any).
async fn me(app: &TestApp, user: &str, pw: &str) -> (StatusCode, Value) {
    let r = app.get("/api/v2/me/").basic(user, pw).send().await;
    let body = if r.status == StatusCode::OK {
        r.json()["results"][0].clone()
    } else {
        Value::Null
    };
    (r.status, body)
}

/// Activity entries with `operation` as the admin sees them, newest first.
async fn activity(app: &TestApp, operation: &str) -> Vec<Value> {
    let r = app
        .get(&format!(
            "/api/v2/activity_stream/?operation={operation}&order_by=-id"
        ))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()["results"].as_array().cloned().unwrap_or_default()
}

async fn basic_login_creates_a_shadow_user_with_attributes_and_flags(b: Builder) {
    let Some((_slapd, app)) = directory_app(b).await else {
        return;
    };
    let (status, alice) = me(&app, "alice", "alice-pass").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(alice["username"], "alice");
    assert_eq!(alice["external_account"], "ldap");
    assert_eq!(alice["ldap_dn"], json!(person("alice")));
    assert_eq!(alice["first_name"], "Alice");
    assert_eq!(alice["last_name"], "Liddell");
    assert_eq!(alice["email"], "alice@example.org");
    assert_eq!(alice["is_superuser"], true, "member of portcullis-admins");
    assert_eq!(alice["is_system_auditor"], false);
    assert!(
        alice.get("password").is_none(),
        "external users show no password"
    );
    // The directory matches names without case; the same entry is the same shadow user.
    let (status, again) = me(&app, "ALICE", "alice-pass").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["id"], alice["id"]);
    assert!(
        app.store()
            .user_by_username("ALICE")
            .await
            .unwrap()
            .is_none()
    );

    let (status, bob) = me(&app, "bob", "bob-pass").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bob["is_superuser"], false);
    assert_eq!(bob["is_system_auditor"], true, "member of auditors");
    // Stored as an external user without a password; the first login is in the stream.
    let stored = app.store().user_by_username("bob").await.unwrap().unwrap();
    assert_eq!(stored.password_hash, None);
    assert_eq!(stored.external_account.as_deref(), Some("ldap"));
    let created = activity(&app, "create").await;
    assert!(
        created
            .iter()
            .any(|e| e["object1"] == "user" && e["changes"]["username"] == "bob"),
        "{created:?}"
    );
}

async fn flags_and_attributes_follow_the_directory_at_every_login(b: Builder) {
    let Some((_slapd, app)) = directory_app(b).await else {
        return;
    };
    assert_eq!(
        me(&app, "alice", "alice-pass").await.1["is_superuser"],
        true
    );
    // The administrator moves the superuser mapping to another group: alice loses the flag at
    // her next login, without a restart, and the change is in the activity stream.
    app.set(json!({"AUTH_LDAP_USER_FLAGS_BY_GROUP": {"is_superuser": [group("ops")]}}))
        .await;
    let (status, alice) = me(&app, "alice", "alice-pass").await;
    assert_eq!(status, StatusCode::OK);
    // The Basic cache would answer without the directory; a form login always asks it.
    app.login("alice", "alice-pass").await;
    let alice_now = app
        .store()
        .user_by_username("alice")
        .await
        .unwrap()
        .unwrap();
    assert!(!alice_now.is_superuser, "{alice:?}");
    let updates = activity(&app, "update").await;
    assert!(
        updates
            .iter()
            .any(|e| e["changes"]["is_superuser"] == json!([true, false])),
        "{updates:?}"
    );
}

async fn wrong_password_unknown_user_and_injection_are_the_generic_401(b: Builder) {
    let Some((_slapd, app)) = directory_app(b).await else {
        return;
    };
    for (user, pw) in [
        ("alice", "wrong"),
        ("nobody", "alice-pass"),
        ("*", "alice-pass"),
        ("alice)(uid=*", "alice-pass"),
        ("alice*", "alice-pass"),
        // An empty password would be an anonymous bind, which the directory accepts.
        ("alice", ""),
    ] {
        let r = app.get("/api/v2/me/").basic(user, pw).send().await;
        assert_generic_401(&r);
    }
    assert!(
        app.store()
            .user_by_username("nobody")
            .await
            .unwrap()
            .is_none(),
        "no shadow user for a failed login"
    );
    assert!(app.store().user_by_username("*").await.unwrap().is_none());
    // Failures count like any wrong password and are in the activity stream.
    assert!(!activity(&app, "login_failed").await.is_empty());
}

async fn form_login_and_password_grant_accept_directory_users(b: Builder) {
    let Some((_slapd, app)) = directory_app(b).await else {
        return;
    };
    let session = app.login("bob", "bob-pass").await;
    let r = session.get("/api/v2/me/").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["results"][0]["username"], "bob");
    let bad = app.try_login("bob", "nope").await;
    assert_eq!(bad.last.status, StatusCode::UNAUTHORIZED);
    assert!(bad.last.text().contains(BAD_LOGIN));
    assert!(bad.session.is_none());

    // The password grant: refused for external users until the administrator allows it.
    let client = app.password_app("cli").await;
    let pairs = [
        ("grant_type", "password"),
        ("username", "bob"),
        ("password", "bob-pass"),
    ];
    let r = app.oauth_token(&client, &pairs).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.text().contains("external authentication provider (ldap)"));
    app.set(json!({"ALLOW_OAUTH2_FOR_EXTERNAL_USERS": true}))
        .await;
    let r = app.oauth_token(&client, &pairs).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let token = r.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.me_with(&token).await, StatusCode::OK);
}

async fn external_users_create_tokens_only_when_allowed(b: Builder) {
    let Some((_slapd, app)) = directory_app(b).await else {
        return;
    };
    let r = app
        .post("/api/v2/tokens/")
        .basic("carol", "carol-pass")
        .json(&json!({"scope": "read"}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(
        r.json(),
        json!({"detail": "(access_denied) OAuth2 Tokens cannot be created by users associated with an external authentication provider (ldap)"})
    );
    app.set(json!({"ALLOW_OAUTH2_FOR_EXTERNAL_USERS": true}))
        .await;
    let (_, token) = app.create_pat("carol", "carol-pass", "read").await;
    assert_eq!(app.me_with(&token).await, StatusCode::OK);
    // Directory-managed fields and the password cannot be changed locally.
    let carol = app
        .store()
        .user_by_username("carol")
        .await
        .unwrap()
        .unwrap();
    for (field, value) in [("first_name", json!("X")), ("email", json!("x@y.z"))] {
        let r = app
            .patch(&format!("/api/v2/users/{}/", carol.id))
            .basic("admin", PASSWORD)
            .json(&json!({ field: value }))
            .send()
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(
            r.json(),
            json!({ field: [format!("Unable to change {field} on user managed by LDAP.")] })
        );
    }
}

async fn require_and_deny_groups_decide_who_logs_in(b: Builder) {
    let Some((_slapd, app)) = directory_app(b).await else {
        return;
    };
    app.set(json!({
        "AUTH_LDAP_REQUIRE_GROUP": group("portcullis-users"),
        "AUTH_LDAP_DENY_GROUP": group("blocked"),
    }))
    .await;
    assert_eq!(me(&app, "alice", "alice-pass").await.0, StatusCode::OK);
    // dave is in no group; carol is a user but also blocked (deny wins).
    assert_eq!(
        me(&app, "dave", "dave-pass").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        me(&app, "carol", "carol-pass").await.0,
        StatusCode::UNAUTHORIZED
    );
    // Lifting the rules applies to the next login.
    app.set(json!({"AUTH_LDAP_REQUIRE_GROUP": null, "AUTH_LDAP_DENY_GROUP": null}))
        .await;
    assert_eq!(me(&app, "dave", "dave-pass").await.0, StatusCode::OK);
    assert_eq!(me(&app, "carol", "carol-pass").await.0, StatusCode::OK);
}

async fn posix_groups_map_flags_and_requirements(b: Builder) {
    let Some((_slapd, app)) = directory_app(b).await else {
        return;
    };
    app.set(json!({
        "AUTH_LDAP_GROUP_SEARCH": [format!("ou=groups,{BASE_DN}"), "SCOPE_SUBTREE", "(objectClass=posixGroup)"],
        "AUTH_LDAP_GROUP_TYPE": "PosixGroupType",
        "AUTH_LDAP_GROUP_TYPE_PARAMS": {"name_attr": "cn"},
        "AUTH_LDAP_REQUIRE_GROUP": group("ops"),
        "AUTH_LDAP_USER_FLAGS_BY_GROUP": {"is_superuser": [group("posix-admins")]},
    }))
    .await;
    let (status, bob) = me(&app, "bob", "bob-pass").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bob["is_superuser"], true, "memberUid bob in posix-admins");
    let (status, alice) = me(&app, "alice", "alice-pass").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(alice["is_superuser"], false);
    assert_eq!(
        me(&app, "dave", "dave-pass").await.0,
        StatusCode::UNAUTHORIZED
    );
}

async fn group_rules_work_without_a_group_search(b: Builder) {
    let Some((_slapd, app)) = directory_app(b).await else {
        return;
    };
    // No group search: each DN the rules name is checked on its own.
    app.set(json!({
        "AUTH_LDAP_GROUP_SEARCH": [],
        "AUTH_LDAP_REQUIRE_GROUP": group("portcullis-users"),
    }))
    .await;
    let (status, alice) = me(&app, "alice", "alice-pass").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(alice["is_superuser"], true);
    assert_eq!(
        me(&app, "dave", "dave-pass").await.0,
        StatusCode::UNAUTHORIZED
    );
}

async fn dn_template_mode_binds_without_a_user_search(b: Builder) {
    let Some((_slapd, app)) = directory_app(b).await else {
        return;
    };
    app.set(json!({
        "AUTH_LDAP_USER_SEARCH": [],
        "AUTH_LDAP_USER_DN_TEMPLATE": format!("uid=%(user)s,ou=people,{BASE_DN}"),
    }))
    .await;
    let (status, erin) = me(&app, "erin", "erin-pass").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(erin["ldap_dn"], json!(person("erin")));
    assert_eq!(erin["last_name"], "Ng");
    assert_eq!(me(&app, "erin", "bad").await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&app, "nobody", "x").await.0, StatusCode::UNAUTHORIZED);
    // A DN-special character is escaped, not interpreted.
    assert_eq!(
        me(&app, "erin,ou=people", "erin-pass").await.0,
        StatusCode::UNAUTHORIZED
    );
}

async fn start_tls_and_ldaps_verify_the_certificate(b: Builder) {
    let Some((slapd, app)) = directory_app(b).await else {
        return;
    };
    app.set(json!({"AUTH_LDAP_START_TLS": true})).await;
    assert_eq!(me(&app, "alice", "alice-pass").await.0, StatusCode::OK);
    app.set(json!({"AUTH_LDAP_START_TLS": false, "AUTH_LDAP_SERVER_URI": slapd.ldaps_url()}))
        .await;
    assert_eq!(me(&app, "bob", "bob-pass").await.0, StatusCode::OK);
}

async fn an_untrusted_certificate_fails_closed_and_is_reported(b: Builder) {
    let Some(slapd) = portcullis_server::testing::slapd::Slapd::start().await else {
        return;
    };
    // No `ldap.ca_file`: the test CA is not trusted.
    let Some(app) = b.build().await else {
        return;
    };
    app.admin().await;
    let mut settings = directory_settings(&slapd.url());
    settings["AUTH_LDAP_START_TLS"] = json!(true);
    app.set(settings).await;
    assert_eq!(
        me(&app, "alice", "alice-pass").await.0,
        StatusCode::UNAUTHORIZED
    );
    let failed = activity(&app, "login_failed").await;
    let entry = failed
        .iter()
        .find(|e| e["changes"]["reason"] == "directory unavailable")
        .unwrap_or_else(|| panic!("no unavailable entry in {failed:?}"));
    let detail = entry["changes"]["detail"].as_str().unwrap();
    assert!(detail.contains("tls failed"), "{detail}");
    assert!(!detail.contains("service-pass"));
}

async fn a_local_account_with_a_password_is_never_taken_over(b: Builder) {
    let Some((_slapd, app)) = directory_app(b).await else {
        return;
    };
    // The directory has uid=admin with another password; the local admin keeps its own.
    assert_eq!(
        me(&app, "admin", "admin-dir-pass").await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, admin) = me(&app, "admin", PASSWORD).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(admin["external_account"], Value::Null);
    assert_eq!(admin["ldap_dn"], "");
    // Local users keep working while the directory is configured.
    app.user_with("local", "local-password-1", false).await;
    assert_eq!(
        me(&app, "local", "local-password-1").await.0,
        StatusCode::OK
    );
}

async fn several_servers_are_tried_in_order(b: Builder) {
    let Some((slapd, app)) = directory_app(b).await else {
        return;
    };
    // A closed port first in the first slot's URI list, then the directory.
    let closed = closed_port().await;
    app.set(json!({"AUTH_LDAP_SERVER_URI": format!("ldap://127.0.0.1:{closed} {}", slapd.url())}))
        .await;
    assert_eq!(me(&app, "alice", "alice-pass").await.0, StatusCode::OK);
    // First slot unreachable, the additional slot AUTH_LDAP_1_ answers.
    let mut second = serde_json::Map::new();
    for (k, v) in directory_settings(&slapd.url()).as_object().unwrap() {
        second.insert(k.replacen("AUTH_LDAP_", "AUTH_LDAP_1_", 1), v.clone());
    }
    app.set(Value::Object(second)).await;
    app.set(json!({"AUTH_LDAP_SERVER_URI": format!("ldap://127.0.0.1:{closed}")}))
        .await;
    let (status, bob) = me(&app, "bob", "bob-pass").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bob["ldap_dn"], json!(person("bob")));
}

/// A loopback port nothing listens on.
async fn closed_port() -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    port
}

async fn bad_service_credentials_fail_closed_without_leaking(b: Builder) {
    let Some((_slapd, app)) = directory_app(b).await else {
        return;
    };
    app.set(json!({"AUTH_LDAP_BIND_PASSWORD": "not-the-service-password"}))
        .await;
    let r = app
        .get("/api/v2/me/")
        .basic("alice", "alice-pass")
        .send()
        .await;
    assert_generic_401(&r);
    let failed = activity(&app, "login_failed").await;
    let detail = failed
        .iter()
        .find_map(|e| e["changes"]["detail"].as_str().map(str::to_owned))
        .expect("an unavailable entry");
    assert!(detail.contains("service_bind failed"), "{detail}");
    assert!(!detail.contains("not-the-service-password"), "{detail}");
}

async fn a_silent_directory_times_out_and_local_users_are_unaffected(b: Builder) {
    let Some((_slapd, app)) = directory_app(b).await else {
        return;
    };
    // A server that accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    app.set(json!({
        "AUTH_LDAP_SERVER_URI": format!("ldap://127.0.0.1:{port}"),
        "AUTH_LDAP_CONNECTION_OPTIONS": {"OPT_NETWORK_TIMEOUT": 1},
    }))
    .await;
    let (directory_login, local_login) =
        tokio::join!(me(&app, "alice", "alice-pass"), me(&app, "admin", PASSWORD));
    assert_eq!(directory_login.0, StatusCode::UNAUTHORIZED);
    assert_eq!(local_login.0, StatusCode::OK);
    let failed = activity(&app, "login_failed").await;
    assert!(
        failed
            .iter()
            .any(|e| e["changes"]["reason"] == "directory unavailable"),
        "{failed:?}"
    );
    holder.abort();
}

async fn a_stopped_directory_fails_logins_until_it_is_back(b: Builder) {
    let Some((mut slapd, app)) = directory_app(b).await else {
        return;
    };
    assert_eq!(me(&app, "alice", "alice-pass").await.0, StatusCode::OK);
    let session = app.login("bob", "bob-pass").await;
    slapd.stop().await;
    // A verified Basic credential is cached: no bind per request.
    assert_eq!(me(&app, "alice", "alice-pass").await.0, StatusCode::OK);
    // A login needs the directory: the normal failure, no 500, the local admin unaffected.
    let refused = app.try_login("bob", "bob-pass").await;
    assert_eq!(refused.last.status, StatusCode::UNAUTHORIZED);
    assert!(refused.last.text().contains(BAD_LOGIN));
    assert!(refused.session.is_none());
    assert_eq!(
        me(&app, "erin", "erin-pass").await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(me(&app, "admin", PASSWORD).await.0, StatusCode::OK);
    // Existing sessions keep working: they do not depend on the directory.
    assert_eq!(session.get("/api/v2/me/").await.status, StatusCode::OK);
    slapd.restart().await;
    assert_eq!(me(&app, "erin", "erin-pass").await.0, StatusCode::OK);
    let again = app.login("bob", "bob-pass").await;
    assert_eq!(again.get("/api/v2/me/").await.status, StatusCode::OK);
}

async fn a_disabled_shadow_user_stays_disabled(b: Builder) {
    let Some((_slapd, app)) = directory_app(b).await else {
        return;
    };
    assert_eq!(me(&app, "dave", "dave-pass").await.0, StatusCode::OK);
    let dave = app.store().user_by_username("dave").await.unwrap().unwrap();
    app.deactivate(&dave).await;
    assert_eq!(
        me(&app, "dave", "dave-pass").await.0,
        StatusCode::UNAUTHORIZED
    );
}

on_both_backends_configured!(
    basic_login_creates_a_shadow_user_with_attributes_and_flags,
    flags_and_attributes_follow_the_directory_at_every_login,
    wrong_password_unknown_user_and_injection_are_the_generic_401,
    form_login_and_password_grant_accept_directory_users,
    external_users_create_tokens_only_when_allowed,
    require_and_deny_groups_decide_who_logs_in,
    posix_groups_map_flags_and_requirements,
    group_rules_work_without_a_group_search,
    dn_template_mode_binds_without_a_user_search,
    start_tls_and_ldaps_verify_the_certificate,
    an_untrusted_certificate_fails_closed_and_is_reported,
    a_local_account_with_a_password_is_never_taken_over,
    several_servers_are_tried_in_order,
    bad_service_credentials_fail_closed_without_leaking,
    a_silent_directory_times_out_and_local_users_are_unaffected,
    a_stopped_directory_fails_logins_until_it_is_back,
    a_disabled_shadow_user_stays_disabled,
);
