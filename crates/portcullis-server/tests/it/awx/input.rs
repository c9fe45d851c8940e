//! Hostile and malformed input (`docs/awx-compat.md`, "URL handling", "Errors"; `docs/security.md`,
//! "Input handling"): bodies, header limits, odd `Authorization` values and credentials in the
//! query string. Nothing here may produce a 5xx.

use crate::harness::{
    PASSWORD, Resp, TestApp, UNSUPPORTED_MEDIA, assert_generic_401, assert_token_401,
};
use crate::on_both_backends;
use axum::http::Method;
use serde_json::json;

#[track_caller]
fn assert_json_error(r: &Resp, status: u16) {
    assert_eq!(r.status.as_u16(), status, "{}", r.text());
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json")
    );
    assert!(r.json().is_object());
}

fn nested(depth: usize) -> String {
    // {"NESTING_PROBE": {"a": {"a": … {}}}} with `depth` objects in all. The key is unknown, so
    // a body the parser accepts is ignored by the settings view (200): only the depth counts.
    let mut s = String::from("{\"NESTING_PROBE\": ");
    for _ in 2..depth {
        s.push_str("{\"a\": ");
    }
    s.push_str("{}");
    for _ in 2..depth {
        s.push('}');
    }
    s.push('}');
    s
}

async fn an_oversized_json_body_is_413_json(app: TestApp) {
    app.admin().await;
    let body = format!("{{\"username\": \"{}\"}}", "a".repeat(1024 * 1024));
    let r = app
        .post("/api/v2/users/")
        .basic("admin", PASSWORD)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await;
    assert_json_error(&r, 413);
    assert_eq!(r.json(), json!({"detail": "Request body is too large."}));
    assert_eq!(
        app.get("/api/v2/users/")
            .basic("admin", PASSWORD)
            .send()
            .await
            .json()["count"],
        1
    );
}

async fn an_oversized_login_body_is_413(app: TestApp) {
    let csrf = app.anonymous_csrf().await;
    let big = "p".repeat(70 * 1024);
    let r = app
        .post("/api/login/")
        .header("cookie", &format!("csrftoken={csrf}"))
        .header("x-csrftoken", &csrf)
        .form(&[("username", "admin"), ("password", big.as_str())])
        .send()
        .await;
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(r.set_cookie("awx_sessionid").is_none());
}

async fn a_text_plain_body_is_415_with_the_awx_message(app: TestApp) {
    app.admin().await;
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/xml",
    ] {
        let r = app
            .post("/api/v2/users/")
            .basic("admin", PASSWORD)
            .header("content-type", ct)
            .body("x")
            .send()
            .await;
        assert_json_error(&r, 415);
        assert_eq!(r.json(), json!({"detail": UNSUPPORTED_MEDIA}), "{ct}");
    }
    // A non-empty body without any Content-Type is not JSON either.
    let r = app
        .patch("/api/v2/settings/all/")
        .basic("admin", PASSWORD)
        .body("{\"SESSIONS_PER_USER\": 2}")
        .send()
        .await;
    assert_json_error(&r, 415);
}

async fn an_empty_body_of_any_type_is_an_empty_object(app: TestApp) {
    app.admin().await;
    let r = app
        .post("/api/v2/users/")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.json(), json!({"username": ["This field is required."]}));
    let r = app
        .patch("/api/v2/settings/all/")
        .basic("admin", PASSWORD)
        .header("content-type", "text/plain")
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

async fn json_with_parameters_and_suffix_types_is_accepted(app: TestApp) {
    app.admin().await;
    for ct in [
        "application/json; charset=utf-8",
        "Application/JSON",
        "application/vnd.api+json",
    ] {
        let r = app
            .patch("/api/v2/settings/all/")
            .basic("admin", PASSWORD)
            .header("content-type", ct)
            .body("{\"SESSIONS_PER_USER\": 2}")
            .send()
            .await;
        assert_eq!(r.status, 200, "{ct}: {}", r.text());
    }
}

async fn malformed_json_is_400_json_parse_error(app: TestApp) {
    app.admin().await;
    for body in [
        "{",
        "{\"a\": }",
        "{'a': 1}",
        "{\"a\": 1} trailing",
        "\u{feff}{}",
    ] {
        let r = app
            .patch("/api/v2/settings/all/")
            .basic("admin", PASSWORD)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        assert_json_error(&r, 400);
        let detail = r.json()["detail"].as_str().unwrap().to_owned();
        assert!(
            detail.starts_with("JSON parse error - "),
            "{body}: {detail}"
        );
        assert_eq!(r.json_keys(), ["detail"]);
    }
    let r = app
        .patch("/api/v2/settings/all/")
        .basic("admin", PASSWORD)
        .header("content-type", "application/json")
        .body(vec![b'{', b'"', 0xff, b'"', b':', b'1', b'}'])
        .send()
        .await;
    assert_json_error(&r, 400);
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap()
            .starts_with("JSON parse error - ")
    );
}

async fn deeply_nested_json_is_400_and_32_levels_are_fine(app: TestApp) {
    app.admin().await;
    let r = app
        .patch("/api/v2/settings/all/")
        .basic("admin", PASSWORD)
        .header("content-type", "application/json")
        .body(nested(40))
        .send()
        .await;
    assert_json_error(&r, 400);
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap()
            .starts_with("JSON parse error - ")
    );
    let r = app
        .patch("/api/v2/settings/all/")
        .basic("admin", PASSWORD)
        .header("content-type", "application/json")
        .body("[".repeat(100_000))
        .send()
        .await;
    assert_json_error(&r, 400);
    let r = app
        .patch("/api/v2/settings/all/")
        .basic("admin", PASSWORD)
        .header("content-type", "application/json")
        .body(nested(32))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

async fn a_non_object_json_body_is_400(app: TestApp) {
    app.admin().await;
    for (body, kind) in [
        ("[1]", "list"),
        ("\"x\"", "str"),
        ("1", "int"),
        ("true", "bool"),
        ("null", "NoneType"),
    ] {
        let r = app
            .post("/api/v2/users/")
            .basic("admin", PASSWORD)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await;
        assert_json_error(&r, 400);
        assert_eq!(
            r.json(),
            json!({"non_field_errors": [format!("Invalid data. Expected a dictionary, but got {kind}.")]}),
            "{body}"
        );
    }
}

async fn two_authorization_headers_are_400(app: TestApp) {
    app.admin().await;
    let r = app
        .get("/api/v2/me/")
        .basic("admin", PASSWORD)
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_json_error(&r, 400);
    assert_eq!(
        r.json(),
        json!({"detail": "Only one Authorization header is allowed."})
    );
    let r = app
        .get("/api/")
        .header("authorization", "Bearer a")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_json_error(&r, 400);
    // Limit answers still carry the headers every response has.
    assert!(r.header("x-api-request-id").is_some());
    assert_eq!(r.header("x-frame-options").as_deref(), Some("DENY"));
    assert_eq!(r.header("content-language").as_deref(), Some("en"));
}

async fn a_header_field_over_32_kib_is_431(app: TestApp) {
    let big = "a".repeat(33 * 1024);
    let r = app.get("/api/").header("x-big", &big).send().await;
    assert_json_error(&r, 431);
    assert_eq!(
        r.json(),
        json!({"detail": "Request header fields are too large."})
    );
    assert!(r.header("x-api-request-id").is_some());
    assert_eq!(
        r.header("x-content-type-options").as_deref(),
        Some("nosniff")
    );
    let cookie = format!("csrftoken={}", "b".repeat(33 * 1024));
    let r = app
        .get("/api/v2/me/")
        .header("cookie", &cookie)
        .send()
        .await;
    assert_json_error(&r, 431);
    // 31 KiB is within the limit.
    let ok = "a".repeat(31 * 1024);
    assert_eq!(
        app.get("/api/").header("x-big", &ok).send().await.status,
        200
    );
}

async fn a_header_section_over_64_kib_or_100_fields_is_431(app: TestApp) {
    let chunk = "c".repeat(20 * 1024);
    let mut req = app.get("/api/");
    for i in 0..4 {
        req = req.header(&format!("x-chunk-{i}"), &chunk);
    }
    assert_json_error(&req.send().await, 431);
    let mut req = app.get("/api/");
    for i in 0..101 {
        req = req.header(&format!("x-h{i}"), "1");
    }
    assert_json_error(&req.send().await, 431);
}

async fn a_uri_over_8_kib_is_414(app: TestApp) {
    let path = format!("/api/v2/me/?q={}", "a".repeat(8 * 1024));
    let r = app.get(&path).send().await;
    assert_json_error(&r, 414);
    assert_eq!(r.json(), json!({"detail": "Request URI is too long."}));
    let path = format!("/api/{}/", "b".repeat(9 * 1024));
    assert_json_error(&app.get(&path).send().await, 414);
}

async fn garbage_authorization_bytes_get_a_401_never_a_5xx(app: TestApp) {
    app.admin().await;
    let generic: [&[u8]; 6] = [
        b"Basic \xff\xfe\xfd",
        b"\xff\xfe\xfd",
        b"Basic \xc3\x28",
        b"Digest username=\"admin\"",
        b"Negotiate abc",
        b"Basic YWRtaW46\xa0",
    ];
    for raw in generic {
        let r = app
            .get("/api/v2/me/")
            .header_bytes("authorization", raw)
            .send()
            .await;
        assert_generic_401(&r);
        let r = app
            .get("/api/")
            .header_bytes("authorization", raw)
            .send()
            .await;
        assert_eq!(r.status, 200);
    }
    for raw in [&b"Bearer \xff\xfe"[..], b"bearer caf\xc3\xa9"] {
        let r = app
            .get("/api/v2/me/")
            .header_bytes("authorization", raw)
            .send()
            .await;
        assert_token_401(&r);
    }
}

async fn non_utf8_bytes_in_cookie_csrf_and_origin_headers_never_cause_a_5xx(app: TestApp) {
    use crate::harness::assert_csrf_403;
    let alice = app.user("alice").await;
    let s = app.login("alice", PASSWORD).await;
    let r = app
        .get("/api/v2/me/")
        .header_bytes("cookie", b"awx_sessionid=\xff\xfe; csrftoken=\xc3\x28")
        .send()
        .await;
    assert_generic_401(&r);
    let path = format!("/api/v2/users/{}/", alice.id);
    let r = s
        .req(Method::PATCH, &path)
        .header_bytes("x-csrftoken", b"\xff\xfe")
        .json(&json!({"first_name": "X"}))
        .send()
        .await;
    assert_csrf_403(&r, "CSRF token missing.");
    let r = s
        .csrf_req(Method::PATCH, &path)
        .header_bytes("origin", b"https://\xff.example")
        .json(&json!({"first_name": "X"}))
        .send()
        .await;
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap()
            .starts_with("CSRF Failed: Origin checking failed - ")
    );
    let r = app
        .get("/api/login/")
        .header_bytes("accept", b"text/\xff")
        .send()
        .await;
    assert!(r.status.as_u16() < 500, "{}", r.status);
}

async fn a_16_kb_bearer_token_gets_the_token_401(app: TestApp) {
    let value = format!("Bearer {}", "A".repeat(16 * 1024));
    let r = app
        .get("/api/v2/me/")
        .header("authorization", &value)
        .send()
        .await;
    assert_token_401(&r);
    let value = format!("Bearer pcl_pat_{}", "A".repeat(4090));
    assert_token_401(
        &app.get("/api/v2/me/")
            .header("authorization", &value)
            .send()
            .await,
    );
}

async fn a_bare_bearer_or_two_tokens_get_the_token_401(app: TestApp) {
    for value in [
        "Bearer",
        "Bearer ",
        "Bearer a b",
        "Bearer a,b",
        "Bearer ===",
        "Bearer a\tb",
    ] {
        let r = app
            .get("/api/v2/me/")
            .header("authorization", value)
            .send()
            .await;
        assert_token_401(&r);
    }
}

async fn any_bearer_token_gets_the_token_401_in_any_scheme_case(app: TestApp) {
    for value in [
        "Bearer garbage",
        "bearer garbage",
        "BeArEr garbage",
        "BEARER pcl_pat_0000000000000000000000000000000000000000000000000",
        "Bearer pcl_ses_0000000000000000000000000000000000000000000000000",
    ] {
        for method in [Method::GET, Method::POST] {
            let r = app
                .req(method.clone(), "/api/v2/users/")
                .header("authorization", value)
                .send()
                .await;
            assert_token_401(&r);
        }
    }
}

async fn a_failed_bearer_token_wins_over_a_live_session(app: TestApp) {
    app.admin().await;
    let s = app.login("admin", PASSWORD).await;
    let r = s
        .req(Method::GET, "/api/v2/me/")
        .header("authorization", "Bearer garbage")
        .send()
        .await;
    assert_token_401(&r);
    // The session id itself is no Bearer token either.
    let r = app
        .get("/api/v2/me/")
        .header("authorization", &format!("Bearer {}", s.id()))
        .send()
        .await;
    assert_token_401(&r);
    // Bearer failures are ignored on open views.
    let r = app
        .get("/api/v2/")
        .header("authorization", "Bearer garbage")
        .send()
        .await;
    assert_eq!(r.status, 200);
}

async fn basic_without_a_colon_is_a_401(app: TestApp) {
    app.admin().await;
    let r = app
        .get("/api/v2/me/")
        .header("authorization", "Basic YWRtaW4=")
        .send()
        .await;
    assert_generic_401(&r);
}

async fn credentials_in_the_query_string_never_authenticate(app: TestApp) {
    app.admin().await;
    let s = app.login("admin", PASSWORD).await;
    let sid = s.id().to_owned();
    for q in [
        format!("access_token={sid}"),
        format!("sessionid={sid}"),
        format!("awx_sessionid={sid}"),
        format!("username=admin&password={PASSWORD}"),
        "access_token=pcl_pat_0000000000000000000000000000000000000000000000000".to_owned(),
    ] {
        let r = app.get(&format!("/api/v2/me/?{q}")).send().await;
        assert_generic_401(&r);
        let r = app
            .post(&format!("/api/v2/users/?{q}"))
            .json(&json!({"username": "x"}))
            .send()
            .await;
        assert_generic_401(&r);
    }
    // A token in a GET body does not authenticate either.
    let r = app
        .get("/api/v2/me/")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("access_token={sid}"))
        .send()
        .await;
    assert_generic_401(&r);
}

async fn an_unknown_authorization_scheme_counts_as_no_credentials(app: TestApp) {
    app.admin().await;
    let s = app.login("admin", PASSWORD).await;
    // With a live session the session still authenticates.
    let r = s
        .req(Method::GET, "/api/v2/me/")
        .header("authorization", "Digest abc")
        .send()
        .await;
    assert_eq!(r.status, 200);
    assert_generic_401(
        &app.get("/api/v2/me/")
            .header("authorization", "Token abc")
            .send()
            .await,
    );
}

async fn invalid_utf8_in_a_user_path_is_a_json_400(app: TestApp) {
    app.admin().await;
    let r = app
        .get("/api/v2/users/%FF/")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_json_error(&r, 400);
    let r = app
        .patch("/api/v2/users/%C3%28/")
        .basic("admin", PASSWORD)
        .json(&json!({}))
        .send()
        .await;
    assert_json_error(&r, 400);
    let r = app
        .get("/api/v2/settings/%FF/")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_json_error(&r, 400);
    // Anonymous callers still get the 401 first.
    assert_generic_401(&app.get("/api/v2/users/%FF/").send().await);
}

async fn an_overlong_user_id_is_not_found_not_an_error(app: TestApp) {
    app.admin().await;
    let r = app
        .get("/api/v2/users/99999999999999999999999/")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 404, "{}", r.text());
    assert_eq!(r.json(), json!({"detail": "Not found."}));
}

on_both_backends!(
    an_oversized_json_body_is_413_json,
    an_oversized_login_body_is_413,
    a_text_plain_body_is_415_with_the_awx_message,
    an_empty_body_of_any_type_is_an_empty_object,
    json_with_parameters_and_suffix_types_is_accepted,
    malformed_json_is_400_json_parse_error,
    deeply_nested_json_is_400_and_32_levels_are_fine,
    a_non_object_json_body_is_400,
    two_authorization_headers_are_400,
    a_header_field_over_32_kib_is_431,
    a_header_section_over_64_kib_or_100_fields_is_431,
    a_uri_over_8_kib_is_414,
    garbage_authorization_bytes_get_a_401_never_a_5xx,
    non_utf8_bytes_in_cookie_csrf_and_origin_headers_never_cause_a_5xx,
    a_16_kb_bearer_token_gets_the_token_401,
    a_bare_bearer_or_two_tokens_get_the_token_401,
    any_bearer_token_gets_the_token_401_in_any_scheme_case,
    a_failed_bearer_token_wins_over_a_live_session,
    basic_without_a_colon_is_a_401,
    credentials_in_the_query_string_never_authenticate,
    an_unknown_authorization_scheme_counts_as_no_credentials,
    invalid_utf8_in_a_user_path_is_a_json_400,
    an_overlong_user_id_is_not_found_not_an_error,
);
