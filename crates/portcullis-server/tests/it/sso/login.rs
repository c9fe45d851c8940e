//! Logins through idp.mjs (the certified provider): the whole flow, state and PKCE binding,
//! `next`, SSO users and tokens, email linking, usernames and the organization map.

use super::{
    REDIRECT_URI, assert_refused, begin, complete, hostile, hostile_authorize, idp, idp_authorize,
    idp_login, me, session_of, sso_app, user_named,
};
use crate::harness::{Builder, PASSWORD};
use crate::on_both_backends_configured;
use axum::http::{Method, StatusCode};
use serde_json::json;

on_both_backends_configured!(
    r1_full_login_creates_a_social_user_and_finds_it_again,
    r2_state_must_be_known_unused_and_from_the_same_browser,
    r14_a_code_from_another_flow_is_refused_by_pkce,
    a_wrong_client_secret_is_a_misconfiguration,
    r15_next_is_followed_only_when_same_origin,
    r18_sso_users_and_tokens,
    r19_email_links_only_when_verified_and_enabled,
    r20_usernames_user_fields_and_the_organization_map,
);

async fn r1_full_login_creates_a_social_user_and_finds_it_again(b: Builder) {
    let Some(idp) = idp(0, None, &json!({})).await else {
        return;
    };
    let Some(app) = sso_app(b, &idp.issuer, true, |_| {}).await else {
        return;
    };
    let r = app.get("/sso/login/oidc/").send().await;
    assert_eq!(r.status, StatusCode::FOUND);
    let line = r.set_cookie("portcullis_sso").unwrap();
    assert!(
        line.ends_with("; HttpOnly; Max-Age=600; Path=/sso/; SameSite=Lax"),
        "{line}"
    );
    let begun = begin(&app, None).await;
    assert!(
        begun
            .location
            .as_str()
            .starts_with(&format!("{}/auth?", idp.issuer)),
        "{}",
        begun.location
    );
    assert_eq!(begun.param("response_type").as_deref(), Some("code"));
    assert_eq!(begun.param("client_id").as_deref(), Some("portcullis"));
    assert_eq!(begun.param("redirect_uri").as_deref(), Some(REDIRECT_URI));
    assert_eq!(
        begun.param("scope").as_deref(),
        Some("openid profile email")
    );
    assert!(
        begun
            .location
            .as_str()
            .contains("scope=openid+profile+email")
    );
    assert!(begun.param("state").unwrap().len() >= 16);
    assert!(begun.param("nonce").unwrap().len() >= 16);
    assert_eq!(begun.param("code_challenge").unwrap().len(), 43);
    assert_eq!(
        begun.param("code_challenge_method").as_deref(),
        Some("S256")
    );

    let cb = idp_authorize(&begun, "alice").await;
    assert!(cb.contains("iss="), "RFC 9207 iss: {cb}");
    let r = complete(&app, &cb, Some(&begun.cookie)).await;
    assert_eq!(r.header("location").as_deref(), Some("/sso/complete/"));
    assert!(r.cookie("awx_sessionid").is_some());
    assert_eq!(r.cookie("userLoggedIn").as_deref(), Some("true"));
    let s = session_of(&app, &r);
    let (status, alice) = me(&s).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(alice["username"], "alice");
    assert_eq!(alice["external_account"], "social");
    assert_eq!(alice["email"], "alice@example.test");
    let stored = app
        .store()
        .user_by_username("alice")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.password_hash, None);

    // Landing: on to the console.
    let land = s.get("/sso/complete/").await;
    assert_eq!(land.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(land.header("location").as_deref(), Some("/console/"));

    // The same identity again: the same user.
    let r = idp_login(&app, "alice", None).await;
    let s2 = session_of(&app, &r);
    let (status, again) = me(&s2).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["id"], alice["id"]);
    assert_ne!(s.id(), s2.id());

    // A disabled account: /sso/inactive/, no session.
    app.deactivate(&stored).await;
    let r = idp_login(&app, "alice", None).await;
    assert_eq!(r.status, StatusCode::FOUND);
    assert_eq!(r.header("location").as_deref(), Some("/sso/inactive/"));
    assert!(r.cookie("awx_sessionid").is_none());
    let r = app.get("/sso/inactive/").send().await;
    assert_eq!(
        r.header("location").as_deref(),
        Some("/console/login/?sso_error=inactive")
    );
}

/// The callback path with `state` replaced (`None` removes it).
fn with_state(cb: &str, state: Option<&str>) -> String {
    let u = url::Url::parse(&format!("http://x{cb}")).unwrap();
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in u.query_pairs() {
        if k == "state" {
            if let Some(s) = state {
                out.append_pair("state", s);
            }
        } else {
            out.append_pair(&k, &v);
        }
    }
    format!("{}?{}", u.path(), out.finish())
}

fn param(cb: &str, name: &str) -> String {
    let u = url::Url::parse(&format!("http://x{cb}")).unwrap();
    u.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap()
}

async fn r2_state_must_be_known_unused_and_from_the_same_browser(b: Builder) {
    let Some(hidp) = hostile(None).await else {
        return;
    };
    let Some(app) = sso_app(b, &hidp.issuer, true, |_| {}).await else {
        return;
    };
    // Missing state.
    let a = begin(&app, None).await;
    let cb = hostile_authorize(&a).await;
    assert_refused(
        &complete(&app, &with_state(&cb, None), Some(&a.cookie)).await,
        "state",
    );
    // Altered state.
    let st = param(&cb, "state");
    assert_refused(
        &complete(
            &app,
            &with_state(&cb, Some(&format!("{st}x"))),
            Some(&a.cookie),
        )
        .await,
        "state",
    );
    // The untouched callback still works (the refusals above consumed nothing), once.
    let ok = complete(&app, &cb, Some(&a.cookie)).await;
    session_of(&app, &ok);
    assert_refused(&complete(&app, &cb, Some(&a.cookie)).await, "state");

    // Another browser's flow cookie, and none.
    let a = begin(&app, None).await;
    let other = begin(&app, None).await;
    let cb = hostile_authorize(&a).await;
    assert_refused(&complete(&app, &cb, Some(&other.cookie)).await, "state");
    // The flow is single use even when refused for the browser.
    assert_refused(&complete(&app, &cb, Some(&a.cookie)).await, "state");
    let c = begin(&app, None).await;
    let cb = hostile_authorize(&c).await;
    assert_refused(&complete(&app, &cb, None).await, "state");

    // A refused callback clears the flow cookie.
    let line = complete(&app, &cb, Some(&c.cookie))
        .await
        .set_cookie("portcullis_sso")
        .unwrap();
    assert!(line.starts_with("portcullis_sso=;"), "{line}");
    assert!(line.contains("Max-Age=0"), "{line}");
}

async fn r14_a_code_from_another_flow_is_refused_by_pkce(b: Builder) {
    let Some(idp) = idp(0, None, &json!({})).await else {
        return;
    };
    let Some(app) = sso_app(b, &idp.issuer, true, |_| {}).await else {
        return;
    };
    let flow_a = begin(&app, None).await;
    let flow_b = begin(&app, None).await;
    let cb_b = idp_authorize(&flow_b, "mallory").await;
    let state_a = flow_a.param("state").unwrap();
    let injected = with_state(&cb_b, Some(&state_a));
    let r = complete(&app, &injected, Some(&flow_a.cookie)).await;
    // The provider refuses the code (invalid_grant: the verifier is flow A's): the login
    // was not granted.
    assert_refused(&r, "denied");
    assert!(
        app.store()
            .user_by_username("mallory")
            .await
            .unwrap()
            .is_none()
    );
}

/// The provider refuses the client's credentials at the token endpoint: an administrator's
/// problem ("misconfigured"), not the user's and not an outage.
async fn a_wrong_client_secret_is_a_misconfiguration(b: Builder) {
    let Some(idp) = idp(0, None, &json!({})).await else {
        return;
    };
    let Some(app) = sso_app(b, &idp.issuer, true, |_| {}).await else {
        return;
    };
    app.set(json!({"SOCIAL_AUTH_OIDC_SECRET": "not-the-secret"}))
        .await;
    let flow = begin(&app, None).await;
    let cb = idp_authorize(&flow, "erin").await;
    let r = complete(&app, &cb, Some(&flow.cookie)).await;
    assert_refused(&r, "misconfigured");
    assert!(
        app.store()
            .user_by_username("erin")
            .await
            .unwrap()
            .is_none()
    );
}

async fn r15_next_is_followed_only_when_same_origin(b: Builder) {
    let Some(hidp) = hostile(None).await else {
        return;
    };
    let Some(app) = sso_app(b, &hidp.issuer, true, |_| {}).await else {
        return;
    };
    let corpus = [
        "//evil.test",
        "/\\evil.test",
        "https://evil.test",
        "%2F%2Fevil.test",
        "/%5Cevil.test",
        "javascript:alert(1)",
    ];
    for next in corpus {
        let enc: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
        let a = begin(&app, Some(&enc)).await;
        let cb = hostile_authorize(&a).await;
        let r = complete(&app, &cb, Some(&a.cookie)).await;
        session_of(&app, &r);
        let loc = r.header("location").unwrap();
        if next == "/%5Cevil.test" {
            // Sent encoded, the server sees the text `/%5Cevil.test`: a same-origin path whose
            // segment holds `%5C`, which browsers keep on this origin (never a backslash).
            assert_eq!(loc, next, "{next}");
        } else {
            assert_eq!(loc, "/sso/complete/", "next {next:?}");
        }
    }
    // The same values written into the query as is: the server decodes them to `//evil.test`,
    // `/\evil.test` and so on.
    for raw in [
        "%2F%2Fevil.test",
        "/%5Cevil.test",
        "%2F%5Cevil.test",
        "https:%2F%2Fevil.test",
        "/%2Fevil.test",
        "%09/evil.test",
        "javascript:alert(1)",
    ] {
        let a = begin(&app, Some(raw)).await;
        let cb = hostile_authorize(&a).await;
        let r = complete(&app, &cb, Some(&a.cookie)).await;
        session_of(&app, &r);
        assert_eq!(
            r.header("location").as_deref(),
            Some("/sso/complete/"),
            "raw next {raw:?}"
        );
    }
    let a = begin(&app, Some("/console/users/")).await;
    let cb = hostile_authorize(&a).await;
    let r = complete(&app, &cb, Some(&a.cookie)).await;
    assert_eq!(r.header("location").as_deref(), Some("/console/users/"));

    let r = app
        .get("/sso/complete/")
        .header("cookie", "lastPath=//evil.test")
        .send()
        .await;
    assert_eq!(r.status, StatusCode::MOVED_PERMANENTLY);
    assert_eq!(r.header("location").as_deref(), Some("/console/"));
}

async fn r18_sso_users_and_tokens(b: Builder) {
    let Some(idp) = idp(0, None, &json!({})).await else {
        return;
    };
    let Some(app) = sso_app(b, &idp.issuer, true, |_| {}).await else {
        return;
    };
    let r = idp_login(&app, "alice", None).await;
    let s = session_of(&app, &r);
    let t = s
        .csrf_req(Method::POST, "/api/v2/tokens/")
        .json(&json!({"scope": "read"}))
        .send()
        .await;
    assert_eq!(t.status, StatusCode::FORBIDDEN, "{}", t.text());
    assert_eq!(
        t.json(),
        json!({"detail": "(access_denied) OAuth2 Tokens cannot be created by users associated with an external authentication provider (social)"})
    );
    app.set(json!({"ALLOW_OAUTH2_FOR_EXTERNAL_USERS": true}))
        .await;
    let t = s
        .csrf_req(Method::POST, "/api/v2/tokens/")
        .json(&json!({"scope": "read"}))
        .send()
        .await;
    assert_eq!(t.status, StatusCode::CREATED, "{}", t.text());

    // No password: Basic with any password fails.
    for pw in ["", "x", PASSWORD] {
        let r = app.get("/api/v2/me/").basic("alice", pw).send().await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "password {pw:?}");
    }
    // The password grant for that username is refused.
    let ci = app.password_app("ci").await;
    let r = app
        .oauth_token(
            &ci,
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert_eq!(r.json()["error"], "invalid_grant", "{}", r.text());
}

async fn r19_email_links_only_when_verified_and_enabled(b: Builder) {
    const X: &str = "root@example.test";
    let accounts = json!({
        "unverified-x": {"email": X, "email_verified": false},
        "verified-off": {"email": X, "email_verified": true},
        "verified-on": {"email": X, "email_verified": true},
    });
    let Some(idp) = idp(0, None, &accounts).await else {
        return;
    };
    let Some(app) = sso_app(b, &idp.issuer, true, |_| {}).await else {
        return;
    };
    let admin = app
        .store()
        .user_by_username("admin")
        .await
        .unwrap()
        .unwrap();
    let r = app
        .patch(&format!("/api/v2/users/{}/", admin.id.0))
        .basic("admin", PASSWORD)
        .json(&json!({"email": X}))
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    for sub in ["unverified-x", "verified-off"] {
        let s = session_of(&app, &idp_login(&app, sub, None).await);
        let (status, u) = me(&s).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(u["username"], sub, "{sub}");
        assert_ne!(u["id"], json!(admin.id.0), "{sub}");
        assert_eq!(u["external_account"], "social");
    }
    app.set(json!({"PORTCULLIS_SSO_LINK_VERIFIED_EMAIL": true}))
        .await;
    let s = session_of(&app, &idp_login(&app, "verified-on", None).await);
    let (status, u) = me(&s).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(u["username"], "admin");
    assert_eq!(u["id"], json!(admin.id.0));
    assert!(user_named(&app, "verified-on").await.is_none());
}

async fn org1_usernames(app: &crate::harness::TestApp) -> Vec<String> {
    let r = app
        .get("/api/v2/organizations/1/users/")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_owned())
        .collect()
}

async fn r20_usernames_user_fields_and_the_organization_map(b: Builder) {
    let accounts = json!({"carol": {"email": "carol.c@example.test"}});
    let Some(idp) = idp(0, None, &accounts).await else {
        return;
    };
    let Some(app) = sso_app(b, &idp.issuer, true, |_| {}).await else {
        return;
    };
    // USER_FIELDS = []: no account is created.
    app.set(json!({"SOCIAL_AUTH_USER_FIELDS": []})).await;
    assert_refused(&idp_login(&app, "nobody", None).await, "no_account");
    assert!(user_named(&app, "nobody").await.is_none());
    app.set(json!({"SOCIAL_AUTH_USER_FIELDS": null})).await;

    // A local `bob` takes the name: bob + 16 hex.
    app.user("bob").await;
    let s = session_of(&app, &idp_login(&app, "bob", None).await);
    let (_, u) = me(&s).await;
    let name = u["username"].as_str().unwrap();
    assert_eq!(name.len(), 3 + 16, "{name}");
    assert!(name.starts_with("bob"), "{name}");
    assert!(name[3..].chars().all(|c| c.is_ascii_hexdigit()), "{name}");

    // USERNAME_IS_FULL_EMAIL.
    app.set(json!({"SOCIAL_AUTH_USERNAME_IS_FULL_EMAIL": true}))
        .await;
    let s = session_of(&app, &idp_login(&app, "carol", None).await);
    let (_, u) = me(&s).await;
    assert_eq!(u["username"], "carol.c@example.test");
    app.set(json!({"SOCIAL_AUTH_USERNAME_IS_FULL_EMAIL": false}))
        .await;

    // The organization map: added, then removed.
    app.set(json!({"SOCIAL_AUTH_ORGANIZATION_MAP": {"Default": {"users": "/^al/"}}}))
        .await;
    session_of(&app, &idp_login(&app, "alice", None).await);
    let members = org1_usernames(&app).await;
    assert!(members.contains(&"alice".to_owned()), "{members:?}");
    app.set(json!({"SOCIAL_AUTH_ORGANIZATION_MAP": {"Default": {"users": "/^zz/"}}}))
        .await;
    session_of(&app, &idp_login(&app, "alice", None).await);
    let members = org1_usernames(&app).await;
    assert!(!members.contains(&"alice".to_owned()), "{members:?}");
}
