//! The Settings page's LDAP section (`docs/console.md`, "Settings and activity"): view and
//! edit modes, a save through the settings service in AWX's shapes (read back from
//! `/api/v2/settings/ldap/`), the API's messages next to the inputs they are about, the bind
//! password that never reaches the browser, who may reach it, and "Test connection" against a
//! server that is not there.

use super::assert_console_html;
use crate::harness::{PASSWORD, Session, TestApp};
use crate::on_both_backends;
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

/// The bind password used by these tests; it must never appear in a page.
const BIND_PW: &str = "bind-Secret-7f3a";

/// The form as a filled-in page sends it, with `changes` applied (an empty value drops the
/// field, as an unticked checkbox is not sent).
fn form<'a>(changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields: Vec<(&str, &str)> = vec![
        ("AUTH_LDAP_SERVER_URI", "ldap://ldap.example.com:389"),
        ("AUTH_LDAP_BIND_DN", "cn=svc,dc=example,dc=com"),
        ("AUTH_LDAP_BIND_PASSWORD", ""),
        ("AUTH_LDAP_START_TLS", "on"),
        ("ldap_timeout", "5"),
        ("ldap_user_search_base", "ou=people,dc=example,dc=com"),
        ("ldap_user_search_scope", "SCOPE_ONELEVEL"),
        ("ldap_user_search_filter", "(uid=%(user)s)"),
        ("AUTH_LDAP_USER_DN_TEMPLATE", ""),
        ("ldap_attr_first_name", "givenName"),
        ("ldap_attr_last_name", "sn"),
        ("ldap_attr_email", "mail"),
        ("ldap_group_search_base", "ou=groups,dc=example,dc=com"),
        ("ldap_group_search_scope", "SCOPE_SUBTREE"),
        ("ldap_group_search_filter", "(objectClass=groupOfNames)"),
        ("AUTH_LDAP_GROUP_TYPE", "GroupOfNamesType"),
        ("ldap_member_attr", "member"),
        (
            "AUTH_LDAP_REQUIRE_GROUP",
            "cn=users,ou=groups,dc=example,dc=com",
        ),
        ("AUTH_LDAP_DENY_GROUP", ""),
        (
            "ldap_superuser_groups",
            "cn=admins,ou=groups,dc=example,dc=com\r\ncn=root,ou=groups,dc=example,dc=com",
        ),
        ("ldap_auditor_groups", ""),
    ];
    for (k, v) in changes {
        fields.retain(|(f, _)| f != k);
        if !v.is_empty() {
            fields.push((k, v));
        }
    }
    fields
}

async fn ldap(s: &Session<'_>) -> Value {
    let r = s.get("/api/v2/settings/ldap/").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()
}

async fn stored_password(app: &TestApp) -> Value {
    let stored = app.store().load_settings().await.unwrap();
    stored
        .get("AUTH_LDAP_BIND_PASSWORD")
        .cloned()
        .unwrap_or(Value::Null)
}

async fn view_mode_shows_the_values_and_edit_opens_the_form(app: TestApp) {
    app.admin().await;
    app.set(json!({
        "AUTH_LDAP_SERVER_URI": "ldaps://dir.example.com:636",
        "AUTH_LDAP_BIND_DN": "cn=svc,dc=example,dc=com",
        "AUTH_LDAP_BIND_PASSWORD": BIND_PW,
        "AUTH_LDAP_USER_SEARCH": ["ou=people,dc=example,dc=com", "SCOPE_SUBTREE", "(uid=%(user)s)"],
        "AUTH_LDAP_USER_FLAGS_BY_GROUP": {"is_superuser": ["cn=admins,dc=example,dc=com"]},
        "AUTH_LDAP_2_SERVER_URI": "ldap://second.example.com",
    }))
    .await;
    let s = Session::console_login(&app, "admin", PASSWORD).await;
    let page = s.get("/console/settings/").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert_console_html(&page);
    let body = page.text();
    assert!(body.contains("<section id=\"ldap\""), "{body}");
    assert!(
        body.contains("<code>ldaps://dir.example.com:636</code>"),
        "{body}"
    );
    assert!(body.contains("<dt>Bind password</dt><dd>Set</dd>"));
    assert!(body.contains(
        "<code>ou=people,dc=example,dc=com</code> SCOPE_SUBTREE <code>(uid=%(user)s)</code>"
    ));
    assert!(body.contains("<code>cn=admins,dc=example,dc=com</code>"));
    // The other slots are listed by URI, configured through the API.
    assert!(body.contains("LDAP 2: <code>ldap://second.example.com</code>"));
    assert!(body.contains("PATCH /api/v2/settings/ldap/"));
    assert!(body.contains("href=\"/console/settings/?edit=ldap#ldap\""));
    assert!(body.contains(">Test connection</button>"));
    assert!(!body.contains(BIND_PW));
    // The other section stays as it was.
    assert!(body.contains("Miscellaneous Authentication"));

    // The plain-GET edit mode: the LDAP form, the password empty but said to be set.
    let edit = s.get("/console/settings/?edit=ldap").await;
    assert_eq!(edit.status, StatusCode::OK);
    assert_console_html(&edit);
    let body = edit.text();
    assert!(body.contains("<form method=\"post\" action=\"/console/settings/ldap/\""));
    assert!(
        body.contains("id=\"AUTH_LDAP_SERVER_URI\" value=\"ldaps://dir.example.com:636\""),
        "{body}"
    );
    assert!(
        body.contains("name=\"AUTH_LDAP_BIND_PASSWORD\" id=\"AUTH_LDAP_BIND_PASSWORD\" value=\"\"")
    );
    assert!(body.contains("A password is set. Leave this empty to keep it."));
    assert!(body.contains("<option value=\"SCOPE_SUBTREE\" selected>"));
    assert!(body.contains("<option value=\"MemberDNGroupType\" selected>"));
    assert!(body.contains("<option value=\"PosixUIDGroupType\">"));
    assert!(body.contains(">cn=admins,dc=example,dc=com</textarea>"));
    assert!(!body.contains(BIND_PW));
    // The misc section is in view mode meanwhile.
    assert!(!body.contains("<form method=\"post\" action=\"/console/settings/\""));

    // htmx asks for the section alone.
    let frag = s
        .htmx(Method::GET, "/console/settings/ldap/?edit=1")
        .send()
        .await;
    assert_eq!(frag.status, StatusCode::OK);
    let body = frag.text();
    assert!(body.starts_with("<section id=\"ldap\""), "{body}");
    assert!(body.contains("action=\"/console/settings/ldap/\""));
    assert!(!body.contains("<html"));
    let view = s.htmx(Method::GET, "/console/settings/ldap/").send().await;
    assert!(view.text().starts_with("<section id=\"ldap\""));
    assert!(view.text().contains("<dl class=\"view\">"));
    // Without the script, the section's address leads to the page.
    let r = s.get("/console/settings/ldap/?edit=1").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(
        r.header("location").as_deref(),
        Some("/console/settings/?edit=ldap#ldap")
    );
}

async fn saving_stores_awx_shapes_and_a_blank_password_keeps_the_stored_one(app: TestApp) {
    app.admin().await;
    let s = Session::console_login(&app, "admin", PASSWORD).await;

    // A plain form post with a password: 303 to view mode, the values in AWX's shapes.
    let r = s
        .console_post(
            "/console/settings/ldap/",
            &form(&[("AUTH_LDAP_BIND_PASSWORD", BIND_PW)]),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(
        r.header("location").as_deref(),
        Some("/console/settings/?saved=ldap#ldap")
    );
    let after = ldap(&s).await;
    assert_eq!(after["AUTH_LDAP_SERVER_URI"], "ldap://ldap.example.com:389");
    assert_eq!(after["AUTH_LDAP_BIND_DN"], "cn=svc,dc=example,dc=com");
    assert_eq!(after["AUTH_LDAP_BIND_PASSWORD"], "$encrypted$");
    assert_eq!(after["AUTH_LDAP_START_TLS"], json!(true));
    assert_eq!(
        after["AUTH_LDAP_CONNECTION_OPTIONS"],
        json!({"OPT_REFERRALS": 0, "OPT_NETWORK_TIMEOUT": 5})
    );
    assert_eq!(
        after["AUTH_LDAP_USER_SEARCH"],
        json!([
            "ou=people,dc=example,dc=com",
            "SCOPE_ONELEVEL",
            "(uid=%(user)s)"
        ])
    );
    assert_eq!(after["AUTH_LDAP_USER_DN_TEMPLATE"], Value::Null);
    assert_eq!(
        after["AUTH_LDAP_USER_ATTR_MAP"],
        json!({"first_name": "givenName", "last_name": "sn", "email": "mail"})
    );
    assert_eq!(
        after["AUTH_LDAP_GROUP_SEARCH"],
        json!([
            "ou=groups,dc=example,dc=com",
            "SCOPE_SUBTREE",
            "(objectClass=groupOfNames)"
        ])
    );
    assert_eq!(after["AUTH_LDAP_GROUP_TYPE"], "GroupOfNamesType");
    assert_eq!(
        after["AUTH_LDAP_GROUP_TYPE_PARAMS"],
        json!({"member_attr": "member", "name_attr": "cn"})
    );
    assert_eq!(
        after["AUTH_LDAP_REQUIRE_GROUP"],
        "cn=users,ou=groups,dc=example,dc=com"
    );
    assert_eq!(after["AUTH_LDAP_DENY_GROUP"], Value::Null);
    assert_eq!(
        after["AUTH_LDAP_USER_FLAGS_BY_GROUP"],
        json!({"is_superuser": [
            "cn=admins,ou=groups,dc=example,dc=com",
            "cn=root,ou=groups,dc=example,dc=com"
        ]})
    );
    assert_eq!(stored_password(&app).await, json!(BIND_PW));
    let page = s.get("/console/settings/?saved=ldap").await;
    assert_console_html(&page);
    assert!(page.text().contains("The LDAP settings were saved."));
    assert!(!page.text().contains(BIND_PW));

    // Through htmx with the password left empty: the stored one stays; the section comes
    // back in view mode with the notice.
    let r = s
        .htmx(Method::POST, "/console/settings/ldap/")
        .form(&form(&[
            ("AUTH_LDAP_START_TLS", ""),
            ("AUTH_LDAP_SERVER_URI", "ldap://other.example.com"),
        ]))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.text();
    assert!(body.starts_with("<section id=\"ldap\""), "{body}");
    assert!(body.contains("The LDAP settings were saved."));
    assert!(body.contains("<code>ldap://other.example.com</code>"));
    assert!(body.contains("<dt>Bind password</dt><dd>Set</dd>"));
    assert!(!body.contains(BIND_PW));
    let after = ldap(&s).await;
    assert_eq!(after["AUTH_LDAP_START_TLS"], json!(false));
    assert_eq!(after["AUTH_LDAP_SERVER_URI"], "ldap://other.example.com");
    assert_eq!(stored_password(&app).await, json!(BIND_PW));

    // The placeholder a browser might send back keeps it too; the box removes it.
    let r = s
        .console_post(
            "/console/settings/ldap/",
            &form(&[("AUTH_LDAP_BIND_PASSWORD", "$encrypted$")]),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(stored_password(&app).await, json!(BIND_PW));
    let r = s
        .console_post(
            "/console/settings/ldap/",
            &form(&[("ldap_clear_bind_password", "on")]),
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(ldap(&s).await["AUTH_LDAP_BIND_PASSWORD"], "");

    // The service recorded the changes in the activity stream, the password hidden.
    let r = s
        .get("/api/v2/activity_stream/?object1=setting&order_by=id")
        .await;
    assert!(r.text().contains("AUTH_LDAP_SERVER_URI"), "{}", r.text());
    assert!(!r.text().contains(BIND_PW));
}

async fn invalid_values_are_422_next_to_their_inputs_and_store_nothing(app: TestApp) {
    app.admin().await;
    let s = Session::console_login(&app, "admin", PASSWORD).await;
    let before = ldap(&s).await;
    let r = s
        .console_post(
            "/console/settings/ldap/",
            &form(&[
                ("AUTH_LDAP_BIND_PASSWORD", BIND_PW),
                ("AUTH_LDAP_BIND_DN", "not a dn"),
                ("ldap_user_search_filter", "(uid=someone)"),
                ("ldap_timeout", "soon"),
                ("ldap_auditor_groups", "cn=ok,dc=example,dc=com\nbroken"),
            ]),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    assert_console_html(&r);
    let body = r.text();
    assert!(
        body.contains("id=\"AUTH_LDAP_BIND_DN\" value=\"not a dn\" aria-invalid=\"true\" aria-describedby=\"AUTH_LDAP_BIND_DN-error\""),
        "{body}"
    );
    assert!(body.contains(
        "<span class=\"field-error\" id=\"AUTH_LDAP_BIND_DN-error\">Invalid DN: not a dn</span>"
    ));
    assert!(
        body.contains(
            "id=\"ldap_user_search_filter\" value=\"(uid=someone)\" aria-invalid=\"true\""
        )
    );
    assert!(body.contains(
        "<span class=\"field-error\" id=\"ldap_user_search_filter-error\">DN must include &#34;%(user)s&#34; placeholder for username: (uid=someone)</span>"
    ) || body.contains(
        "<span class=\"field-error\" id=\"ldap_user_search_filter-error\">DN must include &quot;%(user)s&quot; placeholder for username: (uid=someone)</span>"
    ), "{body}");
    assert!(body.contains(
        "<span class=\"field-error\" id=\"ldap_timeout-error\">OPT_NETWORK_TIMEOUT must be an integer between 1 and 3600.</span>"
    ));
    assert!(body.contains(
        "<span class=\"field-error\" id=\"ldap_auditor_groups-error\">Invalid DN: broken</span>"
    ));
    // The typed values are kept; the typed password is not shown back.
    assert!(body.contains("id=\"ldap_timeout\" value=\"soon\""));
    assert!(!body.contains(BIND_PW));
    assert_eq!(ldap(&s).await, before);
    assert_eq!(stored_password(&app).await, Value::Null);

    // Through htmx: the section alone, 422; a bad search base goes next to the base.
    let r = s
        .htmx(Method::POST, "/console/settings/ldap/")
        .form(&form(&[("ldap_group_search_base", "nope")]))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let body = r.text();
    assert!(body.starts_with("<section id=\"ldap\""), "{body}");
    assert!(body.contains(
        "<span class=\"field-error\" id=\"ldap_group_search_base-error\">Invalid DN: nope</span>"
    ));
    assert_eq!(ldap(&s).await, before);
}

async fn a_normal_user_is_refused(app: TestApp) {
    app.admin().await;
    app.set(json!({"AUTH_LDAP_SERVER_URI": "ldap://127.0.0.1:1",
                   "AUTH_LDAP_USER_DN_TEMPLATE": "uid=%(user)s,dc=example,dc=com"}))
        .await;
    app.user_with("erin", PASSWORD, false).await;
    let s = Session::console_login(&app, "erin", PASSWORD).await;
    assert_eq!(
        s.get("/console/settings/?edit=ldap").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        s.htmx(Method::GET, "/console/settings/ldap/?edit=1")
            .send()
            .await
            .status,
        StatusCode::FORBIDDEN
    );
    let r = s.console_post("/console/settings/ldap/", &form(&[])).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_console_html(&r);
    let r = s.console_post("/console/settings/ldap/test/", &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = s
        .htmx(Method::POST, "/console/settings/ldap/test/")
        .form(&[("x", "")])
        .send()
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let admin = Session::console_login(&app, "admin", PASSWORD).await;
    assert_eq!(
        ldap(&admin).await["AUTH_LDAP_SERVER_URI"],
        "ldap://127.0.0.1:1"
    );
}

async fn a_post_without_the_csrf_token_is_refused(app: TestApp) {
    app.admin().await;
    let s = Session::console_login(&app, "admin", PASSWORD).await;
    for path in ["/console/settings/ldap/", "/console/settings/ldap/test/"] {
        let r = s
            .req(Method::POST, path)
            .header("host", "127.0.0.1:8052")
            .header("origin", "http://127.0.0.1:8052")
            .form(&form(&[]))
            .send()
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{path}");
        assert!(r.text().contains("This form has expired"));
    }
    assert_eq!(ldap(&s).await["AUTH_LDAP_SERVER_URI"], "");
}

/// A 127.0.0.1 port nothing listens on: bound, then released.
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    port
}

async fn test_connection_reports_the_connect_stage_without_the_password(app: TestApp) {
    app.admin().await;
    let s = Session::console_login(&app, "admin", PASSWORD).await;

    // Nothing configured: said so.
    let r = s
        .htmx(Method::POST, "/console/settings/ldap/test/")
        .form(&[("x", "")])
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(
        r.text().contains("No LDAP server is configured"),
        "{}",
        r.text()
    );

    let uri = format!("ldap://127.0.0.1:{}", closed_port());
    app.set(json!({
        "AUTH_LDAP_SERVER_URI": uri,
        "AUTH_LDAP_BIND_DN": "cn=svc,dc=example,dc=com",
        "AUTH_LDAP_BIND_PASSWORD": BIND_PW,
        "AUTH_LDAP_USER_SEARCH": ["ou=people,dc=example,dc=com", "SCOPE_SUBTREE", "(uid=%(user)s)"],
        "AUTH_LDAP_CONNECTION_OPTIONS": {"OPT_NETWORK_TIMEOUT": 2},
    }))
    .await;

    // htmx: the lines alone.
    let r = s
        .htmx(Method::POST, "/console/settings/ldap/test/")
        .form(&[("x", "")])
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let body = r.text();
    assert!(!body.contains("<html"));
    assert!(
        body.contains(&format!("<strong>LDAP</strong> <code>{uri}</code>: <span class=\"field-error\">Failed at connect: ")),
        "{body}"
    );
    assert!(!body.contains(BIND_PW));

    // A plain form post: the page, with the lines in the section.
    let r = s.console_post("/console/settings/ldap/test/", &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_console_html(&r);
    let body = r.text();
    assert!(body.contains("<h1>Settings</h1>"));
    assert!(body.contains("Failed at connect: "), "{body}");
    assert!(!body.contains(BIND_PW));
}

on_both_backends!(
    view_mode_shows_the_values_and_edit_opens_the_form,
    saving_stores_awx_shapes_and_a_blank_password_keeps_the_stored_one,
    invalid_values_are_422_next_to_their_inputs_and_store_nothing,
    a_normal_user_is_refused,
    a_post_without_the_csrf_token_is_refused,
    test_connection_reports_the_connect_stage_without_the_password,
);
