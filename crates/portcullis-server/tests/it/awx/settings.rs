//! The settings API (`docs/awx-compat.md`, "Settings", "Activity stream").

use crate::harness::{PASSWORD, TestApp, assert_generic_401, assert_generic_403};
use crate::on_both_backends;
use axum::http::Method;
use portcullis_store::{ActivityEntry, ActivityQuery};
use serde_json::{Value, json};

fn defaults() -> Value {
    json!({
        "SESSION_COOKIE_AGE": 1800,
        "SESSIONS_PER_USER": -1,
        "DISABLE_LOCAL_AUTH": false,
        "AUTH_BASIC_ENABLED": true,
        "OAUTH2_PROVIDER": {"ACCESS_TOKEN_EXPIRE_SECONDS": 31536000,
                            "REFRESH_TOKEN_EXPIRE_SECONDS": 2628000,
                            "AUTHORIZATION_CODE_EXPIRE_SECONDS": 600},
        "ALLOW_OAUTH2_FOR_EXTERNAL_USERS": false,
        "LOGIN_REDIRECT_OVERRIDE": "",
        "ALLOW_METRICS_FOR_ANONYMOUS_USERS": false,
        "AUTHENTICATION_BACKENDS": ["awx.main.backends.AWXModelBackend"],
        "SOCIAL_AUTH_ORGANIZATION_MAP": null,
        "SOCIAL_AUTH_TEAM_MAP": null,
        "SOCIAL_AUTH_USER_FIELDS": null,
        "SOCIAL_AUTH_USERNAME_IS_FULL_EMAIL": false,
        "LOCAL_PASSWORD_MIN_LENGTH": 0,
        "LOCAL_PASSWORD_MIN_DIGITS": 0,
        "LOCAL_PASSWORD_MIN_UPPER": 0,
        "LOCAL_PASSWORD_MIN_SPECIAL": 0
    })
}

async fn get(app: &TestApp, path: &str) -> Value {
    let r = app.get(path).basic("admin", PASSWORD).send().await;
    assert_eq!(r.status, 200, "{path}: {}", r.text());
    r.json()
}

async fn patch(app: &TestApp, path: &str, body: Value) -> crate::harness::Resp {
    app.patch(path)
        .basic("admin", PASSWORD)
        .json(&body)
        .send()
        .await
}

async fn setting_activity(app: &TestApp) -> Vec<ActivityEntry> {
    let mut entries = app
        .store()
        .list_activity(&ActivityQuery {
            object1: Some("setting".into()),
            limit: 100,
            ..ActivityQuery::default()
        })
        .await
        .unwrap()
        .items;
    entries.reverse();
    entries
}

async fn a_superuser_lists_the_six_categories(app: TestApp) {
    app.admin().await;
    assert_eq!(
        get(&app, "/api/v2/settings/").await,
        json!({"count": 6, "next": null, "previous": null, "results": [
            {"url": "/api/v2/settings/all/", "slug": "all", "name": "All"},
            {"url": "/api/v2/settings/changed/", "slug": "changed", "name": "Changed"},
            {"url": "/api/v2/settings/authentication/", "slug": "authentication", "name": "Authentication"},
            {"url": "/api/v2/settings/system/", "slug": "system", "name": "System"},
            {"url": "/api/v2/settings/ldap/", "slug": "ldap", "name": "LDAP"},
            {"url": "/api/v2/settings/oidc/", "slug": "oidc", "name": "Generic OIDC"}
        ]})
    );
}

async fn a_normal_user_sees_an_empty_settings_list(app: TestApp) {
    app.user("bob").await;
    let r = app
        .get("/api/v2/settings/")
        .basic("bob", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({"count": 0, "next": null, "previous": null, "results": []})
    );
    assert_generic_401(&app.get("/api/v2/settings/").send().await);
}

async fn the_authentication_category_shows_the_17_keys_at_their_defaults(app: TestApp) {
    app.admin().await;
    let r = app
        .get("/api/v2/settings/authentication/")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.json(), defaults());
    let expected: Vec<String> = defaults().as_object().unwrap().keys().cloned().collect();
    assert_eq!(r.json_keys(), expected);
    assert_eq!(r.json_keys().len(), 17);
}

async fn the_system_and_ldap_categories_show_their_defaults(app: TestApp) {
    app.admin().await;
    assert_eq!(
        get(&app, "/api/v2/settings/system/").await,
        json!({"CSRF_TRUSTED_ORIGINS": [], "ACTIVITY_STREAM_ENABLED": true,
               "REMOTE_HOST_HEADERS": ["REMOTE_ADDR", "REMOTE_HOST"],
               "PROXY_IP_ALLOWED_LIST": []})
    );
    let ldap = get(&app, "/api/v2/settings/ldap/").await;
    assert_eq!(ldap["AUTH_LDAP_SERVER_URI"], "");
    assert_eq!(ldap["AUTH_LDAP_BIND_PASSWORD"], "");
    let all = get(&app, "/api/v2/settings/all/").await;
    for key in [
        "SESSION_COOKIE_AGE",
        "CSRF_TRUSTED_ORIGINS",
        "AUTH_LDAP_SERVER_URI",
    ] {
        assert!(all.get(key).is_some(), "{key}");
    }
    assert_eq!(get(&app, "/api/v2/settings/changed/").await, json!({}));
}

async fn a_normal_user_cannot_read_change_or_reset_a_category(app: TestApp) {
    app.admin().await;
    app.user("bob").await;
    for slug in ["all", "authentication", "changed"] {
        let path = format!("/api/v2/settings/{slug}/");
        assert_generic_403(&app.get(&path).basic("bob", PASSWORD).send().await);
        assert_generic_403(
            &app.patch(&path)
                .basic("bob", PASSWORD)
                .json(&json!({"SESSIONS_PER_USER": 1}))
                .send()
                .await,
        );
        assert_generic_403(&app.delete(&path).basic("bob", PASSWORD).send().await);
        assert_generic_401(&app.get(&path).send().await);
    }
    assert_eq!(
        get(&app, "/api/v2/settings/authentication/").await,
        defaults()
    );
}

async fn a_system_auditor_reads_settings_but_cannot_change_them(app: TestApp) {
    app.admin().await;
    app.auditor("audrey").await;
    let r = app
        .get("/api/v2/settings/")
        .basic("audrey", PASSWORD)
        .send()
        .await;
    assert_eq!(r.json()["count"], 6);
    let r = app
        .get("/api/v2/settings/authentication/")
        .basic("audrey", PASSWORD)
        .send()
        .await;
    assert_eq!(r.json(), defaults());
    let r = app
        .patch("/api/v2/settings/authentication/")
        .basic("audrey", PASSWORD)
        .json(&json!({"SESSIONS_PER_USER": 1}))
        .send()
        .await;
    assert_generic_403(&r);
    let r = app
        .delete("/api/v2/settings/authentication/")
        .basic("audrey", PASSWORD)
        .send()
        .await;
    assert_generic_403(&r);
}

async fn an_unknown_category_is_404(app: TestApp) {
    app.admin().await;
    for method in [Method::GET, Method::PATCH, Method::DELETE] {
        let r = app
            .req(method.clone(), "/api/v2/settings/nope/")
            .basic("admin", PASSWORD)
            .json(&json!({}))
            .send()
            .await;
        assert_eq!(r.status, 404, "{method}");
        assert_eq!(r.json(), json!({"detail": "Not found."}));
    }
}

async fn patch_validation_messages_match_awx(app: TestApp) {
    app.admin().await;
    let cases = [
        (
            json!({"SESSION_COOKIE_AGE": 10}),
            json!({"SESSION_COOKIE_AGE": ["Ensure this value is greater than or equal to 60."]}),
        ),
        (
            json!({"SESSION_COOKIE_AGE": 30_000_000_001_i64}),
            json!({"SESSION_COOKIE_AGE": ["Ensure this value is less than or equal to 30000000000."]}),
        ),
        (
            json!({"SESSION_COOKIE_AGE": "abc"}),
            json!({"SESSION_COOKIE_AGE": ["A valid integer is required."]}),
        ),
        (
            json!({"SESSION_COOKIE_AGE": 90.5}),
            json!({"SESSION_COOKIE_AGE": ["A valid integer is required."]}),
        ),
        (
            json!({"SESSIONS_PER_USER": -2}),
            json!({"SESSIONS_PER_USER": ["Ensure this value is greater than or equal to -1."]}),
        ),
        (
            json!({"OAUTH2_PROVIDER": {"FOO": 1}}),
            json!({"OAUTH2_PROVIDER": ["Invalid key names: FOO"]}),
        ),
        (
            json!({"DISABLE_LOCAL_AUTH": true}),
            json!({"__all__": ["There are no remote authentication systems configured."]}),
        ),
        (
            json!({"AUTH_BASIC_ENABLED": "no"}),
            json!({"AUTH_BASIC_ENABLED": ["Must be a valid boolean."]}),
        ),
        (
            json!({"LOCAL_PASSWORD_MIN_LENGTH": -1}),
            json!({"LOCAL_PASSWORD_MIN_LENGTH": ["Ensure this value is greater than or equal to 0."]}),
        ),
        (
            json!({"CSRF_TRUSTED_ORIGINS": "https://a.example"}),
            json!({"CSRF_TRUSTED_ORIGINS": ["Expected a list of items but got type \"str\"."]}),
        ),
    ];
    for (body, expected) in cases {
        let r = patch(&app, "/api/v2/settings/all/", body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        assert_eq!(r.json(), expected, "{body}");
    }
    for body in [
        json!({"OAUTH2_PROVIDER": {"ACCESS_TOKEN_EXPIRE_SECONDS": 63_072_001}}),
        json!({"OAUTH2_PROVIDER": {"ACCESS_TOKEN_EXPIRE_SECONDS": 0}}),
        json!({"OAUTH2_PROVIDER": {"REFRESH_TOKEN_EXPIRE_SECONDS": "soon"}}),
        json!({"OAUTH2_PROVIDER": 5}),
    ] {
        let r = patch(&app, "/api/v2/settings/authentication/", body.clone()).await;
        assert_eq!(r.status, 400, "{body}");
        assert_eq!(r.json_keys(), ["OAUTH2_PROVIDER"], "{body}");
    }
    // Nothing was stored by any refused write.
    assert_eq!(get(&app, "/api/v2/settings/changed/").await, json!({}));
}

async fn a_write_is_validated_as_a_whole(app: TestApp) {
    app.admin().await;
    let r = patch(
        &app,
        "/api/v2/settings/authentication/",
        json!({"SESSION_COOKIE_AGE": 120, "SESSIONS_PER_USER": -2}),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        get(&app, "/api/v2/settings/authentication/").await["SESSION_COOKIE_AGE"],
        1800
    );
}

async fn patch_answers_the_full_category_including_the_change(app: TestApp) {
    app.admin().await;
    let r = patch(
        &app,
        "/api/v2/settings/authentication/",
        json!({"AUTH_BASIC_ENABLED": false, "SESSIONS_PER_USER": 5}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let mut expected = defaults();
    expected["AUTH_BASIC_ENABLED"] = json!(false);
    expected["SESSIONS_PER_USER"] = json!(5);
    assert_eq!(r.json(), expected);
    // From here on Basic is off; read back through a session.
    let s = app.login("admin", PASSWORD).await;
    let r = s.get("/api/v2/settings/changed/").await;
    assert_eq!(
        r.json(),
        json!({"SESSIONS_PER_USER": 5, "AUTH_BASIC_ENABLED": false})
    );
}

async fn put_updates_only_the_keys_sent(app: TestApp) {
    app.admin().await;
    assert_eq!(
        patch(
            &app,
            "/api/v2/settings/authentication/",
            json!({"SESSION_COOKIE_AGE": 600})
        )
        .await
        .status,
        200
    );
    let r = app
        .req(Method::PUT, "/api/v2/settings/authentication/")
        .basic("admin", PASSWORD)
        .json(&json!({"SESSIONS_PER_USER": 2}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["SESSIONS_PER_USER"], 2);
    assert_eq!(r.json()["SESSION_COOKIE_AGE"], 600);
}

async fn oauth2_provider_keys_left_out_take_their_defaults(app: TestApp) {
    app.admin().await;
    let r = patch(
        &app,
        "/api/v2/settings/authentication/",
        json!({"OAUTH2_PROVIDER": {"ACCESS_TOKEN_EXPIRE_SECONDS": 3600}}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let expected = json!({"ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
                          "REFRESH_TOKEN_EXPIRE_SECONDS": 2628000,
                          "AUTHORIZATION_CODE_EXPIRE_SECONDS": 600});
    assert_eq!(r.json()["OAUTH2_PROVIDER"], expected);
    assert_eq!(
        get(&app, "/api/v2/settings/all/").await["OAUTH2_PROVIDER"],
        expected
    );
    assert_eq!(
        app.state.settings.get().auth.access_token_expire_seconds,
        3600
    );
}

async fn read_only_and_unknown_keys_are_ignored_on_write(app: TestApp) {
    app.admin().await;
    let r = patch(
        &app,
        "/api/v2/settings/authentication/",
        json!({"AUTHENTICATION_BACKENDS": ["evil.Backend"], "NOT_A_SETTING": 1}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json()["AUTHENTICATION_BACKENDS"],
        json!(["awx.main.backends.AWXModelBackend"])
    );
    assert!(r.json().get("NOT_A_SETTING").is_none());
    assert_eq!(get(&app, "/api/v2/settings/changed/").await, json!({}));
}

async fn secret_settings_read_back_encrypted_and_the_placeholder_keeps_them(app: TestApp) {
    app.admin().await;
    let r = patch(
        &app,
        "/api/v2/settings/ldap/",
        json!({"AUTH_LDAP_SERVER_URI": "ldaps://ldap.example.com:636",
               "AUTH_LDAP_BIND_PASSWORD": "hunter2"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["AUTH_LDAP_BIND_PASSWORD"], "$encrypted$");
    assert!(!r.text().contains("hunter2"));
    let stored = app.store().load_settings().await.unwrap();
    assert_eq!(stored["AUTH_LDAP_BIND_PASSWORD"], "hunter2");
    // Sending the placeholder back keeps the stored secret.
    let r = patch(
        &app,
        "/api/v2/settings/ldap/",
        json!({"AUTH_LDAP_BIND_PASSWORD": "$encrypted$", "AUTH_LDAP_START_TLS": true}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["AUTH_LDAP_BIND_PASSWORD"], "$encrypted$");
    let stored = app.store().load_settings().await.unwrap();
    assert_eq!(stored["AUTH_LDAP_BIND_PASSWORD"], "hunter2");
    let all = get(&app, "/api/v2/settings/all/").await;
    assert_eq!(all["AUTH_LDAP_BIND_PASSWORD"], "$encrypted$");
    assert!(!all.to_string().contains("hunter2"));
    // A configured directory shows in the computed backends list.
    assert_eq!(
        all["AUTHENTICATION_BACKENDS"],
        json!([
            "awx.sso.backends.LDAPBackend",
            "awx.main.backends.AWXModelBackend"
        ])
    );
}

async fn delete_resets_only_that_category_to_its_defaults(app: TestApp) {
    app.admin().await;
    let r = patch(
        &app,
        "/api/v2/settings/all/",
        json!({"SESSION_COOKIE_AGE": 600, "SESSIONS_PER_USER": 2,
               "CSRF_TRUSTED_ORIGINS": ["https://ui.example.com"]}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let r = app
        .delete("/api/v2/settings/authentication/")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert!(r.body.is_empty());
    assert_eq!(
        get(&app, "/api/v2/settings/authentication/").await,
        defaults()
    );
    assert_eq!(
        get(&app, "/api/v2/settings/changed/").await,
        json!({"CSRF_TRUSTED_ORIGINS": ["https://ui.example.com"]})
    );
    assert_eq!(app.state.settings.get().auth.session_cookie_age, 1800);
}

async fn changes_apply_to_the_next_request_without_a_restart(app: TestApp) {
    app.admin().await;
    app.user("bob").await;
    app.set(json!({"SESSION_COOKIE_AGE": 600, "SESSIONS_PER_USER": 1}))
        .await;
    let first = app.login("bob", PASSWORD).await;
    assert!(
        first
            .last
            .set_cookie("awx_sessionid")
            .unwrap()
            .contains("; Max-Age=600; ")
    );
    let second = app.login("bob", PASSWORD).await;
    assert_eq!(first.get("/api/v2/me/").await.status, 401);
    assert_eq!(second.get("/api/v2/me/").await.status, 200);
    app.set(json!({"LOGIN_REDIRECT_OVERRIDE": "/sso/"})).await;
    assert_eq!(
        app.get("/api/").send().await.json()["login_redirect_override"],
        "/sso/"
    );
}

async fn setting_changes_and_resets_are_recorded_in_the_activity_stream(app: TestApp) {
    let admin = app.admin().await;
    app.set(json!({"SESSION_COOKIE_AGE": 60})).await;
    // Writing the value in force again is not a change.
    app.set(json!({"SESSION_COOKIE_AGE": 60})).await;
    let r = app
        .delete("/api/v2/settings/authentication/")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 204);
    let entries = setting_activity(&app).await;
    let summary: Vec<(&str, Value)> = entries
        .iter()
        .map(|e| (e.entry.operation.as_str(), e.entry.changes.clone()))
        .collect();
    assert_eq!(
        summary,
        [
            ("update", json!({"SESSION_COOKIE_AGE": [1800, 60]})),
            ("delete", json!({"SESSION_COOKIE_AGE": [60, 1800]})),
        ]
    );
    for e in &entries {
        assert_eq!(e.entry.object1, "setting");
        assert_eq!(e.entry.actor, Some(admin.id));
    }
}

async fn changing_a_secret_setting_is_recorded_masked(app: TestApp) {
    app.admin().await;
    app.set(json!({"AUTH_LDAP_BIND_PASSWORD": "hunter2"})).await;
    app.set(json!({"AUTH_LDAP_BIND_PASSWORD": "swordfish"}))
        .await;
    let entries = setting_activity(&app).await;
    let changes: Vec<Value> = entries.iter().map(|e| e.entry.changes.clone()).collect();
    assert_eq!(
        changes,
        [
            json!({"AUTH_LDAP_BIND_PASSWORD": ["", "$encrypted$"]}),
            json!({"AUTH_LDAP_BIND_PASSWORD": ["$encrypted$", "$encrypted$"]}),
        ]
    );
    let text = serde_json::to_string(&changes).unwrap();
    assert!(!text.contains("hunter2") && !text.contains("swordfish"));
}

on_both_backends!(
    a_superuser_lists_the_six_categories,
    a_normal_user_sees_an_empty_settings_list,
    the_authentication_category_shows_the_17_keys_at_their_defaults,
    the_system_and_ldap_categories_show_their_defaults,
    a_normal_user_cannot_read_change_or_reset_a_category,
    a_system_auditor_reads_settings_but_cannot_change_them,
    an_unknown_category_is_404,
    patch_validation_messages_match_awx,
    a_write_is_validated_as_a_whole,
    patch_answers_the_full_category_including_the_change,
    put_updates_only_the_keys_sent,
    oauth2_provider_keys_left_out_take_their_defaults,
    read_only_and_unknown_keys_are_ignored_on_write,
    secret_settings_read_back_encrypted_and_the_placeholder_keeps_them,
    delete_resets_only_that_category_to_its_defaults,
    changes_apply_to_the_next_request_without_a_restart,
    setting_changes_and_resets_are_recorded_in_the_activity_stream,
    changing_a_secret_setting_is_recorded_masked,
);
