//! Discovery endpoints (`docs/awx-compat.md`, "Discovery") and the response headers of
//! `docs/awx-compat.md`, "Response headers".

use crate::harness::{Builder, PASSWORD, TestApp, assert_generic_401};
use crate::{on_both_backends, on_both_backends_configured};
use axum::http::Method;
use serde_json::{Value, json};

/// The resource keys of `/api/v2/` in AWX's order (`docs/awx-compat.md`, "Discovery").
const AWX_V2_ORDER: [&str; 17] = [
    "ping",
    "instance_groups",
    "config",
    "settings",
    "me",
    "organizations",
    "users",
    "projects",
    "teams",
    "credentials",
    "applications",
    "tokens",
    "inventory",
    "hosts",
    "job_templates",
    "activity_stream",
    "workflow_job_templates",
];

fn is_hex32(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// `"%0.3fs"`, e.g. `0.888s`.
fn is_awx_duration(s: &str) -> bool {
    let Some(num) = s.strip_suffix('s') else {
        return false;
    };
    let Some((whole, frac)) = num.split_once('.') else {
        return false;
    };
    !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && frac.len() == 3
        && frac.bytes().all(|b| b.is_ascii_digit())
}

async fn api_root_is_open_and_sets_csrf_cookie(app: TestApp) {
    let r = app.get("/api/").header("accept", "*/*").send().await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({"description": "AWX REST API", "current_version": "/api/v2/",
               "available_versions": {"v2": "/api/v2/"}, "oauth2": "/api/o/",
               "custom_logo": "", "custom_login_info": "", "login_redirect_override": ""})
    );
    assert_eq!(
        r.json_keys(),
        [
            "description",
            "current_version",
            "available_versions",
            "oauth2",
            "custom_logo",
            "custom_login_info",
            "login_redirect_override"
        ]
    );
    let cookie = r.set_cookie("csrftoken").unwrap();
    let value = r.cookie("csrftoken").unwrap();
    assert_eq!(value.len(), 64);
    assert!(value.bytes().all(|b| b.is_ascii_alphanumeric()));
    assert_eq!(cookie, format!("csrftoken={value}; Path=/; SameSite=Lax"));
    // Bad credentials are ignored on open views.
    let r = app.get("/api/").basic("nobody", "wrong").send().await;
    assert_eq!(r.status, 200);
    assert!(r.set_cookie("csrftoken").is_some());
}

async fn api_root_keeps_a_valid_csrf_cookie_and_replaces_a_forged_one(app: TestApp) {
    let first = app.anonymous_csrf().await;
    let r = app
        .get("/api/")
        .header("cookie", &format!("csrftoken={first}"))
        .send()
        .await;
    assert_eq!(r.cookie("csrftoken").as_deref(), Some(first.as_str()));
    let forged = "A".repeat(64);
    let r = app
        .get("/api/")
        .header("cookie", &format!("csrftoken={forged}"))
        .send()
        .await;
    let replaced = r.cookie("csrftoken").unwrap();
    assert_ne!(replaced, forged);
    assert_eq!(replaced.len(), 64);
}

async fn api_root_echoes_login_redirect_override_on_the_next_request(app: TestApp) {
    app.admin().await;
    app.set(json!({"LOGIN_REDIRECT_OVERRIDE": "https://sso.example.com/login"}))
        .await;
    let r = app.get("/api/").send().await;
    assert_eq!(
        r.json()["login_redirect_override"],
        "https://sso.example.com/login"
    );
}

async fn api_root_reports_configured_description_and_custom_texts(b: Builder) {
    let Some(app) = b
        .config(|c| {
            c.api.description = "Portcullis REST API".into();
            c.api.custom_logo = "data:image/png;base64,AA==".into();
            c.api.custom_login_info = "Authorised users only".into();
        })
        .build()
        .await
    else {
        return;
    };
    let r = app.get("/api/").send().await;
    assert_eq!(r.json()["description"], "Portcullis REST API");
    assert_eq!(r.json()["custom_logo"], "data:image/png;base64,AA==");
    assert_eq!(r.json()["custom_login_info"], "Authorised users only");
}

async fn v2_root_lists_only_served_resources_as_relative_urls_in_awx_order(app: TestApp) {
    app.admin().await;
    let r = app.get("/api/v2/").send().await;
    assert_eq!(r.status, 200);
    let body = r.json();
    let map = body.as_object().unwrap();
    // Every AWX list clients probe, plus every other list Portcullis serves.
    for key in AWX_V2_ORDER {
        assert!(map.contains_key(key), "missing {key}: {body}");
    }
    assert!(
        !map.contains_key("dashboard"),
        "dashboard must not be listed: {body}"
    );
    // Keys appear in AWX's relative order.
    let positions: Vec<usize> = map
        .keys()
        .map(|k| {
            AWX_V2_ORDER
                .iter()
                .position(|o| o == k)
                .unwrap_or_else(|| panic!("unexpected key {k}"))
        })
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{body}");
    for (key, value) in map {
        let url = value.as_str().unwrap();
        assert!(
            url.starts_with("/api/v2/") && url.ends_with('/'),
            "{key} → {url} must be a relative /api/v2/…/ path"
        );
        // Every listed resource is really served (the CLI turns each into a command).
        let r = app.get(url).basic("admin", PASSWORD).send().await;
        assert_eq!(r.status, 200, "{key} → {url} answered {}", r.status);
    }
    assert_eq!(map["users"], "/api/v2/users/");
    assert_eq!(map["me"], "/api/v2/me/");
}

async fn v2_root_never_refuses_even_with_bad_credentials(app: TestApp) {
    for auth in ["Basic Zm9vOmJhcg==", "Bearer garbage", "Basic !!!"] {
        let r = app
            .get("/api/v2/")
            .header("authorization", auth)
            .send()
            .await;
        assert_eq!(r.status, 200, "{auth}");
    }
}

async fn oauth_root_maps_the_three_endpoints(app: TestApp) {
    let r = app.get("/api/o/").send().await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        json!({"authorize": "/api/o/authorize/", "token": "/api/o/token/",
               "revoke_token": "/api/o/revoke_token/"})
    );
}

async fn sso_backends_are_an_empty_object(app: TestApp) {
    let r = app.get("/api/v2/auth/").send().await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), json!({}));
}

async fn ping_answers_with_a_garbage_bearer_token(app: TestApp) {
    let r = app
        .get("/api/v2/ping/")
        .header("authorization", "Bearer garbage")
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    assert_eq!(
        r.json_keys(),
        [
            "ha",
            "version",
            "active_node",
            "install_uuid",
            "instances",
            "instance_groups"
        ]
    );
    assert_eq!(body["ha"], false);
    assert_eq!(body["version"], "22.2.0");
    assert_eq!(body["instance_groups"], json!([]));
    let uuid = body["install_uuid"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(uuid).is_ok(), "{uuid}");
    let instances = body["instances"].as_array().unwrap();
    assert_eq!(instances.len(), 1);
    let keys: Vec<&str> = instances[0]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "node",
            "node_type",
            "uuid",
            "heartbeat",
            "capacity",
            "version"
        ]
    );
    assert_eq!(instances[0]["node"], body["active_node"]);
    assert_eq!(instances[0]["version"], "22.2.0");
    assert_eq!(instances[0]["heartbeat"], "2026-03-01T12:00:00.000000Z");
    // The install UUID is stable across requests.
    let again = app.get("/api/v2/ping/").send().await;
    assert_eq!(again.json()["install_uuid"], body["install_uuid"]);
}

async fn anonymous_me_gets_the_generic_401(app: TestApp) {
    let r = app.get("/api/v2/me/").send().await;
    assert_generic_401(&r);
}

async fn every_response_carries_a_request_id_and_expose_header(app: TestApp) {
    for path in [
        "/api/",
        "/api/v2/me/",
        "/api/v2/nope/",
        "/api/login/",
        "/nowhere",
    ] {
        let r = app.get(path).send().await;
        let ids = r.header_all("x-api-request-id");
        assert_eq!(ids.len(), 1, "{path}");
        assert!(is_hex32(&ids[0]), "{path}: {}", ids[0]);
        assert_eq!(
            r.header_all("access-control-expose-headers"),
            ["X-API-Request-Id"],
            "{path}"
        );
        let total = r.header("x-api-total-time").unwrap();
        assert!(is_awx_duration(&total), "{path}: {total}");
        assert_eq!(r.header_all("content-language"), ["en"], "{path}");
    }
    // Ids differ per request.
    let a = app.get("/api/").send().await.header("x-api-request-id");
    let b = app.get("/api/").send().await.header("x-api-request-id");
    assert_ne!(a, b);
}

async fn a_uuid_request_id_is_echoed_and_junk_is_replaced(app: TestApp) {
    let r = app
        .get("/api/")
        .header("x-api-request-id", "0F8FAD5B-D9CB-469F-A165-70867728950E")
        .send()
        .await;
    assert_eq!(
        r.header("x-api-request-id").as_deref(),
        Some("0f8fad5bd9cb469fa16570867728950e")
    );
    let r = app
        .get("/api/")
        .header("x-api-request-id", "0f8fad5bd9cb469fa16570867728950e")
        .send()
        .await;
    assert_eq!(
        r.header("x-api-request-id").as_deref(),
        Some("0f8fad5bd9cb469fa16570867728950e")
    );
    let r = app
        .get("/api/")
        .header("x-api-request-id", "not-a-uuid\"<script>")
        .send()
        .await;
    let id = r.header("x-api-request-id").unwrap();
    assert!(is_hex32(&id), "{id}");
}

async fn api_views_carry_the_awx_headers(app: TestApp) {
    let r = app.get("/api/v2/me/").send().await;
    assert!(is_awx_duration(&r.header("x-api-time").unwrap()));
    assert!(r.header("x-api-node").is_some_and(|n| !n.is_empty()));
    assert_eq!(r.header("x-api-product-name").as_deref(), Some("AWX"));
    assert_eq!(r.header("allow").as_deref(), Some("GET, HEAD, OPTIONS"));
    assert_eq!(r.header("vary").as_deref(), Some("Accept"));
    let r = app.get("/api/v2/users/").send().await;
    assert_eq!(
        r.header("allow").as_deref(),
        Some("GET, POST, HEAD, OPTIONS")
    );
    let r = app.get("/api/v2/users/1/").send().await;
    assert_eq!(
        r.header("allow").as_deref(),
        Some("GET, PUT, PATCH, DELETE, HEAD, OPTIONS")
    );
    let r = app.get("/api/v2/settings/authentication/").send().await;
    assert_eq!(
        r.header("allow").as_deref(),
        Some("GET, PUT, PATCH, DELETE, HEAD, OPTIONS")
    );
    let r = app.get("/api/").send().await;
    assert_eq!(r.header("allow").as_deref(), Some("GET, HEAD, OPTIONS"));
}

async fn node_name_and_product_name_come_from_configuration(b: Builder) {
    let Some(app) = b
        .config(|c| {
            c.node_name = Some("node-a".into());
            c.api.product_name = "Astra Automation Controller".into();
            c.api.product_version = "2.1.0".into();
        })
        .build()
        .await
    else {
        return;
    };
    app.admin().await;
    let r = app.get("/api/v2/me/").basic("admin", PASSWORD).send().await;
    assert_eq!(r.header("x-api-node").as_deref(), Some("node-a"));
    assert_eq!(
        r.header("x-api-product-name").as_deref(),
        Some("Astra Automation Controller")
    );
    assert_eq!(r.header("x-api-product-version").as_deref(), Some("2.1.0"));
    let ping = app.get("/api/v2/ping/").send().await.json();
    assert_eq!(ping["active_node"], "node-a");
    assert_eq!(ping["version"], "2.1.0");
}

async fn product_version_is_sent_only_to_authenticated_callers(app: TestApp) {
    app.admin().await;
    for path in ["/api/", "/api/v2/", "/api/v2/me/", "/api/v2/ping/"] {
        let r = app.get(path).send().await;
        assert!(r.header("x-api-product-version").is_none(), "{path}");
    }
    let r = app.get("/api/v2/me/").basic("admin", "wrong").send().await;
    assert!(r.header("x-api-product-version").is_none());
    for path in ["/api/", "/api/v2/", "/api/v2/me/"] {
        let r = app.get(path).basic("admin", PASSWORD).send().await;
        assert_eq!(r.header_all("x-api-product-version"), ["22.2.0"], "{path}");
    }
    let s = app.login("admin", PASSWORD).await;
    let r = s.get("/api/v2/me/").await;
    assert_eq!(r.header("x-api-product-version").as_deref(), Some("22.2.0"));
}

async fn form_views_carry_no_api_node_or_product_headers(app: TestApp) {
    let r = app.get("/api/login/").send().await;
    assert_eq!(r.status, 200);
    assert!(r.header("x-api-node").is_none());
    assert!(r.header("x-api-product-name").is_none());
    assert!(r.header("x-api-product-version").is_none());
    assert!(r.header("x-api-time").is_none());
    // …but still the headers every response carries.
    assert!(r.header("x-api-request-id").is_some());
    assert!(r.header("x-api-total-time").is_some());
}

async fn security_headers_are_sent_exactly_once(app: TestApp) {
    app.admin().await;
    let s = app.login("admin", PASSWORD).await;
    let responses = [
        app.get("/api/").send().await,
        app.get("/api/v2/me/").send().await,
        app.get("/api/v2/nope/").send().await,
        app.get("/api/login/").send().await,
        s.last.clone(),
        s.get("/api/v2/me/").await,
        app.req(Method::DELETE, "/api/v2/me/")
            .basic("admin", PASSWORD)
            .send()
            .await,
    ];
    for r in &responses {
        assert_eq!(r.header_all("x-frame-options"), ["DENY"]);
        assert_eq!(r.header_all("x-content-type-options"), ["nosniff"]);
        assert_eq!(r.header_all("referrer-policy"), ["same-origin"]);
        // Plain-http development set-up: no HSTS.
        assert_eq!(r.header_count("strict-transport-security"), 0);
        assert!(r.header_count("cache-control") <= 1);
    }
}

async fn csp_and_coop_are_on_html_pages_only(app: TestApp) {
    let csp = "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
    let page = app.get("/api/login/").send().await;
    assert_eq!(
        page.header("content-type").as_deref(),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(page.header_all("content-security-policy"), [csp]);
    assert_eq!(
        page.header_all("cross-origin-opener-policy"),
        ["same-origin"]
    );
    // The CSRF failure page is HTML too.
    let r = app
        .post("/api/login/")
        .form(&[("username", "a"), ("password", "b")])
        .send()
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.header_all("content-security-policy"), [csp]);
    for path in ["/api/", "/api/v2/", "/api/v2/me/", "/api/v2/ping/"] {
        let r = app.get(path).send().await;
        assert_eq!(r.header_count("content-security-policy"), 0, "{path}");
        assert_eq!(r.header_count("cross-origin-opener-policy"), 0, "{path}");
    }
}

async fn https_public_url_turns_on_hsts_and_secure_cookies(b: Builder) {
    let Some(app) = b
        .config(|c| c.public_url = Some("https://awx.example.com".into()))
        .build()
        .await
    else {
        return;
    };
    let r = app.get("/api/").send().await;
    assert_eq!(
        r.header_all("strict-transport-security"),
        ["max-age=63072000"]
    );
    let token = r.cookie("csrftoken").unwrap();
    assert_eq!(
        r.set_cookie("csrftoken").unwrap(),
        format!("csrftoken={token}; Path=/; SameSite=Lax; Secure")
    );
    app.admin().await;
    let s = app.login("admin", PASSWORD).await;
    let cookies = s.last.set_cookies();
    assert_eq!(
        cookies[0],
        "userLoggedIn=true; Path=/; SameSite=Lax; Secure"
    );
    assert!(cookies[1].ends_with("; Path=/; SameSite=Lax; Secure"));
    assert!(
        cookies[2].ends_with("; HttpOnly; Max-Age=1800; Path=/; SameSite=Lax; Secure"),
        "{}",
        cookies[2]
    );
    assert!(!cookies.iter().any(|c| c.contains("Domain")));
}

async fn a_foreign_origin_is_never_reflected_in_cors_headers(app: TestApp) {
    app.admin().await;
    for path in ["/api/", "/api/login/", "/api/v2/me/"] {
        let r = app
            .get(path)
            .basic("admin", PASSWORD)
            .header("origin", "https://evil.example")
            .send()
            .await;
        assert!(r.header("access-control-allow-origin").is_none(), "{path}");
        assert!(
            r.header("access-control-allow-credentials").is_none(),
            "{path}"
        );
        assert_eq!(r.header_count("x-frame-options"), 1, "{path}");
    }
}

async fn discovery_bodies_are_json(app: TestApp) {
    for path in [
        "/api/",
        "/api/v2/",
        "/api/o/",
        "/api/v2/auth/",
        "/api/v2/ping/",
    ] {
        for accept in ["*/*", "application/json", "text/html"] {
            let r = app.get(path).header("accept", accept).send().await;
            assert_eq!(r.status, 200, "{path} {accept}");
            assert_eq!(
                r.header("content-type").as_deref(),
                Some("application/json"),
                "{path} {accept}"
            );
            let _: Value = r.json();
        }
    }
}

on_both_backends!(
    api_root_is_open_and_sets_csrf_cookie,
    api_root_keeps_a_valid_csrf_cookie_and_replaces_a_forged_one,
    api_root_echoes_login_redirect_override_on_the_next_request,
    v2_root_lists_only_served_resources_as_relative_urls_in_awx_order,
    v2_root_never_refuses_even_with_bad_credentials,
    oauth_root_maps_the_three_endpoints,
    sso_backends_are_an_empty_object,
    ping_answers_with_a_garbage_bearer_token,
    anonymous_me_gets_the_generic_401,
    every_response_carries_a_request_id_and_expose_header,
    a_uuid_request_id_is_echoed_and_junk_is_replaced,
    api_views_carry_the_awx_headers,
    product_version_is_sent_only_to_authenticated_callers,
    form_views_carry_no_api_node_or_product_headers,
    security_headers_are_sent_exactly_once,
    csp_and_coop_are_on_html_pages_only,
    a_foreign_origin_is_never_reflected_in_cors_headers,
    discovery_bodies_are_json,
);

on_both_backends_configured!(
    api_root_reports_configured_description_and_custom_texts,
    node_name_and_product_name_come_from_configuration,
    https_public_url_turns_on_hsts_and_secure_cookies,
);
