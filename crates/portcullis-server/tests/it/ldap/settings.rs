//! The `ldap` settings category (`docs/ldap.md`, "Configuration"): AWX's keys and shapes,
//! the write-only bind password, validation messages, the additional server slots.

use crate::harness::{PASSWORD, TestApp};
use crate::on_both_backends;
use axum::http::StatusCode;
use serde_json::{Value, json};

/// An AWX administrator's LDAP settings, as AWX's own documentation writes them.
fn awx_settings() -> Value {
    json!({
        "AUTH_LDAP_SERVER_URI": "ldaps://ldap1.example.org:636 ldap://ldap2.example.org",
        "AUTH_LDAP_BIND_DN": "cn=awx,ou=services,dc=example,dc=org",
        "AUTH_LDAP_BIND_PASSWORD": "s3cret",
        "AUTH_LDAP_START_TLS": false,
        "AUTH_LDAP_CONNECTION_OPTIONS": {"OPT_REFERRALS": 0, "OPT_NETWORK_TIMEOUT": 30},
        "AUTH_LDAP_USER_SEARCH": ["ou=people,dc=example,dc=org", "SCOPE_SUBTREE", "(uid=%(user)s)"],
        "AUTH_LDAP_USER_DN_TEMPLATE": null,
        "AUTH_LDAP_USER_ATTR_MAP": {"first_name": "givenName", "last_name": "sn", "email": "mail"},
        "AUTH_LDAP_GROUP_SEARCH": ["ou=groups,dc=example,dc=org", "SCOPE_SUBTREE", "(objectClass=groupOfNames)"],
        "AUTH_LDAP_GROUP_TYPE": "MemberDNGroupType",
        "AUTH_LDAP_GROUP_TYPE_PARAMS": {"member_attr": "member", "name_attr": "cn"},
        "AUTH_LDAP_REQUIRE_GROUP": "cn=awx-users,ou=groups,dc=example,dc=org",
        "AUTH_LDAP_DENY_GROUP": null,
        "AUTH_LDAP_USER_FLAGS_BY_GROUP": {
            "is_superuser": ["cn=awx-admins,ou=groups,dc=example,dc=org"],
            "is_system_auditor": ["cn=auditors,ou=groups,dc=example,dc=org"]
        },
        "AUTH_LDAP_ORGANIZATION_MAP": {},
        "AUTH_LDAP_TEAM_MAP": {},
    })
}

async fn awx_ldap_settings_are_accepted_unchanged_and_read_back(app: TestApp) {
    app.admin().await;
    let before = app
        .get("/api/v2/settings/ldap/")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(before.status, StatusCode::OK);
    let defaults = before.json();
    // Six server slots of 16 keys each, at AWX's defaults.
    assert_eq!(defaults.as_object().unwrap().len(), 96);
    assert_eq!(defaults["AUTH_LDAP_SERVER_URI"], "");
    assert_eq!(defaults["AUTH_LDAP_BIND_PASSWORD"], "");
    assert_eq!(
        defaults["AUTH_LDAP_CONNECTION_OPTIONS"],
        json!({"OPT_REFERRALS": 0, "OPT_NETWORK_TIMEOUT": 30})
    );
    assert_eq!(defaults["AUTH_LDAP_GROUP_TYPE"], "MemberDNGroupType");
    assert_eq!(defaults["AUTH_LDAP_5_USER_SEARCH"], json!([]));
    assert_eq!(defaults["AUTH_LDAP_3_REQUIRE_GROUP"], Value::Null);

    let r = app
        .patch("/api/v2/settings/ldap/")
        .basic("admin", PASSWORD)
        .json(&awx_settings())
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let shown = r.json();
    let mut expected = awx_settings();
    expected["AUTH_LDAP_BIND_PASSWORD"] = json!("$encrypted$");
    for (k, v) in expected.as_object().unwrap() {
        assert_eq!(&shown[k], v, "{k}");
    }
    // Writing `$encrypted$` back (what a GET-modify-PUT client does) keeps the password.
    let r = app
        .req(axum::http::Method::PUT, "/api/v2/settings/ldap/")
        .basic("admin", PASSWORD)
        .json(&shown)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(
        app.state.settings.get().stored["AUTH_LDAP_BIND_PASSWORD"],
        "s3cret"
    );
    // The directory now counts: LDAP is listed and local auth may be switched off.
    let auth = app
        .get("/api/v2/settings/authentication/")
        .basic("admin", PASSWORD)
        .send()
        .await
        .json();
    assert_eq!(
        auth["AUTHENTICATION_BACKENDS"],
        json!([
            "awx.sso.backends.LDAPBackend",
            "awx.main.backends.AWXModelBackend"
        ])
    );
    let slots = &app.state.settings.get().ldap;
    assert_eq!(slots.len(), 1);
    assert_eq!(
        slots[0].uris,
        ["ldaps://ldap1.example.org:636", "ldap://ldap2.example.org"]
    );
    // The password never appears in the activity stream.
    let stream = app
        .get("/api/v2/activity_stream/?object1=setting")
        .basic("admin", PASSWORD)
        .send()
        .await
        .text();
    assert!(!stream.contains("s3cret"));
    assert!(stream.contains("AUTH_LDAP_BIND_PASSWORD"));
}

async fn ldap_settings_are_validated_with_awx_messages(app: TestApp) {
    app.admin().await;
    let cases = [
        (
            json!({"AUTH_LDAP_SERVER_URI": "http://ldap.example.org"}),
            json!({"AUTH_LDAP_SERVER_URI": ["Enter a valid URL."]}),
        ),
        (
            json!({"AUTH_LDAP_BIND_DN": "not a dn"}),
            json!({"AUTH_LDAP_BIND_DN": ["Invalid DN: not a dn"]}),
        ),
        (
            json!({"AUTH_LDAP_USER_SEARCH": ["ou=people,dc=x", "SCOPE_SUBTREE"]}),
            json!({"AUTH_LDAP_USER_SEARCH": ["Expected a list of three items but got 2 instead."]}),
        ),
        (
            json!({"AUTH_LDAP_USER_SEARCH": ["ou=people,dc=x", "SCOPE_SUBTREE", "(uid=bob)"]}),
            json!({"AUTH_LDAP_USER_SEARCH": ["DN must include \"%(user)s\" placeholder for username: (uid=bob)"]}),
        ),
        (
            json!({"AUTH_LDAP_GROUP_SEARCH": ["ou=g,dc=x", "SCOPE_EVERYTHING", "(cn=*)"]}),
            json!({"AUTH_LDAP_GROUP_SEARCH": ["\"SCOPE_EVERYTHING\" is not a valid choice."]}),
        ),
        (
            json!({"AUTH_LDAP_USER_DN_TEMPLATE": "uid=bob,dc=x"}),
            json!({"AUTH_LDAP_USER_DN_TEMPLATE": ["DN must include \"%(user)s\" placeholder for username: uid=bob,dc=x"]}),
        ),
        (
            json!({"AUTH_LDAP_USER_ATTR_MAP": {"phone": "telephoneNumber"}}),
            json!({"AUTH_LDAP_USER_ATTR_MAP": ["Invalid user attribute(s): phone."]}),
        ),
        (
            json!({"AUTH_LDAP_USER_FLAGS_BY_GROUP": {"is_staff": []}}),
            json!({"AUTH_LDAP_USER_FLAGS_BY_GROUP": ["Invalid user flag: \"is_staff\"."]}),
        ),
        (
            json!({"AUTH_LDAP_GROUP_TYPE": "LDAPGroupType"}),
            json!({"AUTH_LDAP_GROUP_TYPE": ["\"LDAPGroupType\" is not a valid choice."]}),
        ),
        (
            json!({"AUTH_LDAP_2_CONNECTION_OPTIONS": {"NETWORK_TIMEOUT": 5}}),
            json!({"AUTH_LDAP_2_CONNECTION_OPTIONS": ["Invalid connection option(s): NETWORK_TIMEOUT."]}),
        ),
        (
            json!({"AUTH_LDAP_START_TLS": "yes"}),
            json!({"AUTH_LDAP_START_TLS": ["Must be a valid boolean."]}),
        ),
    ];
    for (body, errors) in cases {
        let r = app
            .patch("/api/v2/settings/ldap/")
            .basic("admin", PASSWORD)
            .json(&body)
            .send()
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(r.json(), errors, "{body}");
    }
    assert!(
        app.state.settings.get().stored.is_empty(),
        "a refused write stores nothing"
    );
    // Without a usable directory, local authentication cannot be switched off.
    let r = app
        .patch("/api/v2/settings/authentication/")
        .basic("admin", PASSWORD)
        .json(&json!({"DISABLE_LOCAL_AUTH": true}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

async fn only_superusers_read_or_write_ldap_settings(app: TestApp) {
    app.admin().await;
    app.user("bob").await;
    app.auditor("audrey").await;
    let r = app
        .get("/api/v2/settings/ldap/")
        .basic("bob", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app
        .get("/api/v2/settings/ldap/")
        .basic("audrey", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "auditors read settings");
    let r = app
        .patch("/api/v2/settings/ldap/")
        .basic("audrey", PASSWORD)
        .json(&json!({"AUTH_LDAP_SERVER_URI": "ldap://x"}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

on_both_backends!(
    awx_ldap_settings_are_accepted_unchanged_and_read_back,
    ldap_settings_are_validated_with_awx_messages,
    only_superusers_read_or_write_ldap_settings,
);
