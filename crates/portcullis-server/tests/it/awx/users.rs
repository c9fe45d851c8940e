//! `/api/v2/me/` and `/api/v2/users/` (`docs/awx-compat.md`, "URL handling", "Users",
//! "Activity stream", "Pagination").

use crate::harness::{PASSWORD, TestApp, assert_generic_401, assert_generic_403};
use crate::on_both_backends;
use axum::http::Method;
use portcullis_core::password::{Argon2Params, hash_password};
use portcullis_core::rng::SeededRng;
use portcullis_core::user::User;
use portcullis_store::{ActivityEntry, ActivityQuery};
use serde_json::{Value, json};

/// The keys of AWX's user object, in AWX's order (`docs/awx-compat.md`, "User object").
const USER_KEYS: [&str; 18] = [
    "id",
    "type",
    "url",
    "related",
    "summary_fields",
    "created",
    "modified",
    "username",
    "first_name",
    "last_name",
    "email",
    "is_superuser",
    "is_system_auditor",
    "password",
    "ldap_dn",
    "last_login",
    "external_account",
    "auth",
];

const T0: &str = "2026-03-01T12:00:00.000000Z";

fn keys(v: &Value) -> Vec<&str> {
    v.as_object().unwrap().keys().map(String::as_str).collect()
}

fn user_url(u: &User) -> String {
    format!("/api/v2/users/{}/", u.id)
}

async fn user_activity(app: &TestApp) -> Vec<ActivityEntry> {
    let mut entries = app
        .store()
        .list_activity(&ActivityQuery {
            object1: Some("user".into()),
            limit: 100,
            ..ActivityQuery::default()
        })
        .await
        .unwrap()
        .items;
    entries.reverse(); // oldest first
    entries
}

async fn me_is_a_one_item_page_holding_the_caller_with_awx_keys_in_order(app: TestApp) {
    let admin = app.admin().await;
    let id = admin.id.0;
    let r = app.get("/api/v2/me/").basic("admin", PASSWORD).send().await;
    assert_eq!(r.status, 200);
    let body = r.json();
    assert_eq!(keys(&body), ["count", "next", "previous", "results"]);
    assert_eq!(keys(&body["results"][0]), USER_KEYS);
    assert_eq!(
        keys(&body["results"][0]["related"]),
        [
            "tokens",
            "authorized_tokens",
            "personal_tokens",
            "activity_stream"
        ]
    );
    assert_eq!(
        body,
        json!({"count": 1, "next": null, "previous": null, "results": [{
            "id": id, "type": "user", "url": format!("/api/v2/users/{id}/"),
            "related": {
                "tokens": format!("/api/v2/users/{id}/tokens/"),
                "authorized_tokens": format!("/api/v2/users/{id}/authorized_tokens/"),
                "personal_tokens": format!("/api/v2/users/{id}/personal_tokens/"),
                "activity_stream": format!("/api/v2/users/{id}/activity_stream/"),
            },
            "summary_fields": {"user_capabilities": {"edit": true, "delete": false}},
            "created": T0, "modified": T0,
            "username": "admin", "first_name": "", "last_name": "", "email": "admin@example.com",
            "is_superuser": true, "is_system_auditor": false, "password": "$encrypted$",
            "ldap_dn": "", "last_login": null, "external_account": null, "auth": []
        }]})
    );
}

async fn me_shows_the_last_login_as_modified(app: TestApp) {
    app.user("bob").await;
    app.clock.advance(time::Duration::seconds(90));
    let s = app.login("bob", PASSWORD).await;
    let me = s.get("/api/v2/me/").await.json();
    let u = &me["results"][0];
    assert_eq!(u["created"], T0);
    assert_eq!(u["last_login"], "2026-03-01T12:01:30.000000Z");
    assert_eq!(u["modified"], "2026-03-01T12:01:30.000000Z");
    assert_eq!(
        u["summary_fields"],
        json!({"user_capabilities": {"edit": true, "delete": false}})
    );
    assert_eq!(u["is_superuser"], false);
}

async fn an_ldap_user_object_names_the_directory_and_has_no_password(app: TestApp) {
    app.admin().await;
    let lara = app.ldap_user("lara").await;
    let expected_keys: Vec<&str> = USER_KEYS
        .iter()
        .copied()
        .filter(|k| *k != "password")
        .collect();
    let by_admin = app
        .get(&user_url(&lara))
        .basic("admin", PASSWORD)
        .send()
        .await
        .json();
    assert_eq!(keys(&by_admin), expected_keys);
    assert_eq!(by_admin["external_account"], "ldap");
    assert_eq!(by_admin["ldap_dn"], "uid=lara,ou=people,dc=example,dc=com");
    assert_eq!(
        by_admin["summary_fields"]["user_capabilities"]["delete"],
        true
    );
    // The same object through the user's own session.
    let s = app.session_for(&lara).await;
    let me = s.get("/api/v2/me/").await.json();
    assert_eq!(keys(&me["results"][0]), expected_keys);
    assert_eq!(me["results"][0]["external_account"], "ldap");
}

async fn me_offers_only_safe_methods(app: TestApp) {
    app.admin().await;
    for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
        let r = app
            .req(method.clone(), "/api/v2/me/")
            .basic("admin", PASSWORD)
            .json(&json!({}))
            .send()
            .await;
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(
            r.json(),
            json!({"detail": format!("Method \"{method}\" not allowed.")})
        );
    }
}

async fn a_superuser_lists_everyone_and_a_normal_user_only_themselves(app: TestApp) {
    app.admin().await;
    let bob = app.user("bob").await;
    app.user("carol").await;
    let all = app
        .get("/api/v2/users/")
        .basic("admin", PASSWORD)
        .send()
        .await
        .json();
    assert_eq!(all["count"], 3);
    let names: Vec<&str> = all["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["admin", "bob", "carol"]);
    assert_eq!(keys(&all["results"][1]), USER_KEYS);
    let own = app
        .get("/api/v2/users/")
        .basic("bob", PASSWORD)
        .send()
        .await
        .json();
    assert_eq!(own["count"], 1);
    assert_eq!(own["results"][0]["id"], bob.id.0);
    assert_eq!(
        app.get("/api/v2/users/?username=admin")
            .basic("bob", PASSWORD)
            .send()
            .await
            .json()["count"],
        0
    );
}

async fn a_system_auditor_reads_every_user_but_cannot_create(app: TestApp) {
    app.admin().await;
    app.auditor("audrey").await;
    let r = app
        .get("/api/v2/users/")
        .basic("audrey", PASSWORD)
        .send()
        .await;
    assert_eq!(r.json()["count"], 2);
    let r = app
        .get("/api/v2/users/admin/")
        .basic("audrey", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 200);
    let r = app
        .post("/api/v2/users/")
        .basic("audrey", PASSWORD)
        .json(&json!({"username": "x", "password": "long-enough-pw"}))
        .send()
        .await;
    assert_generic_403(&r);
}

async fn the_users_list_filters_by_exact_field_values(app: TestApp) {
    app.admin().await;
    app.user("bob").await;
    app.user("bobby").await;
    let count = |q: &'static str| {
        let app = &app;
        async move {
            let r = app
                .get(&format!("/api/v2/users/?{q}"))
                .basic("admin", PASSWORD)
                .send()
                .await;
            assert_eq!(r.status, 200, "{q}: {}", r.text());
            r.json()["count"].as_i64().unwrap()
        }
    };
    assert_eq!(count("username=admin").await, 1);
    assert_eq!(count("username=bob").await, 1);
    assert_eq!(count("username=bo").await, 0);
    assert_eq!(count("username=nobody").await, 0);
    assert_eq!(count("is_superuser=true").await, 1);
    assert_eq!(count("is_superuser=false").await, 2);
    assert_eq!(count("email=bobby%40example.com").await, 1);
    assert_eq!(count("username=bob&is_superuser=true").await, 0);
    let r = app
        .get("/api/v2/users/?username=admin")
        .basic("admin", PASSWORD)
        .send()
        .await
        .json();
    assert_eq!(r["results"][0]["username"], "admin");
}

async fn the_users_list_orders_by_a_field(app: TestApp) {
    app.admin().await;
    app.user("zed").await;
    app.user("bob").await;
    let names = |q: &'static str| {
        let app = &app;
        async move {
            app.get(&format!("/api/v2/users/?{q}"))
                .basic("admin", PASSWORD)
                .send()
                .await
                .json()["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["username"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(names("").await, ["admin", "zed", "bob"]);
    assert_eq!(names("order_by=username").await, ["admin", "bob", "zed"]);
    assert_eq!(names("order_by=-username").await, ["zed", "bob", "admin"]);
    assert_eq!(names("order_by=-id").await, ["bob", "zed", "admin"]);
}

async fn an_unknown_filter_or_order_field_is_400_naming_it(app: TestApp) {
    app.admin().await;
    for (q, field) in [
        ("nope=1", "nope"),
        ("order_by=nope", "nope"),
        ("order_by=-nope", "nope"),
        ("password=x", "password"),
        ("access_token=abc", "access_token"),
    ] {
        let r = app
            .get(&format!("/api/v2/users/?{q}"))
            .basic("admin", PASSWORD)
            .send()
            .await;
        assert_eq!(r.status, 400, "{q}");
        assert_eq!(
            r.json(),
            json!({"detail": format!("Cannot resolve keyword '{field}' into field.")}),
            "{q}"
        );
    }
}

async fn page_size_is_clamped_to_200_and_next_links_stay_relative(app: TestApp) {
    app.admin().await;
    let hash = hash_password(&Argon2Params::FLOOR, PASSWORD, &SeededRng::new(5)).unwrap();
    for i in 0..205 {
        app.insert_user(&format!("user{i:03}"), Some(hash.clone()), false, None)
            .await;
    }
    let r = app
        .get("/api/v2/users/?page_size=500")
        .basic("admin", PASSWORD)
        .send()
        .await
        .json();
    assert_eq!(r["count"], 206);
    assert_eq!(r["results"].as_array().unwrap().len(), 200);
    assert_eq!(r["previous"], json!(null));
    let next = r["next"].as_str().unwrap();
    assert_eq!(next, "/api/v2/users/?page_size=500&page=2");
    let r2 = app.get(next).basic("admin", PASSWORD).send().await.json();
    assert_eq!(r2["results"].as_array().unwrap().len(), 6);
    assert_eq!(r2["next"], json!(null));
    assert_eq!(r2["previous"], "/api/v2/users/?page_size=500&page=1");
    assert_eq!(r2["results"][5]["username"], "user204");
    // Default page size 25.
    let r = app
        .get("/api/v2/users/")
        .basic("admin", PASSWORD)
        .send()
        .await
        .json();
    assert_eq!(r["results"].as_array().unwrap().len(), 25);
    assert_eq!(r["next"], "/api/v2/users/?page=2");
    // Other query parameters are kept in the links.
    let r = app
        .get("/api/v2/users/?is_superuser=false&page_size=100&page=2")
        .basic("admin", PASSWORD)
        .send()
        .await
        .json();
    assert_eq!(r["count"], 205);
    assert_eq!(
        r["next"],
        "/api/v2/users/?is_superuser=false&page_size=100&page=3"
    );
    assert_eq!(
        r["previous"],
        "/api/v2/users/?is_superuser=false&page_size=100&page=1"
    );
}

async fn count_disabled_returns_the_results_only(app: TestApp) {
    app.admin().await;
    app.user("bob").await;
    let r = app
        .get("/api/v2/users/?count_disabled=1")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json_keys(), ["results"]);
    assert_eq!(r.json()["results"].as_array().unwrap().len(), 2);
}

async fn a_page_past_the_last_is_an_invalid_page(app: TestApp) {
    app.admin().await;
    for q in ["page=999", "page=2", "page=0", "page=abc", "page=-1"] {
        let r = app
            .get(&format!("/api/v2/users/?{q}"))
            .basic("admin", PASSWORD)
            .send()
            .await;
        assert_eq!(r.status, 404, "{q}");
        assert_eq!(r.json(), json!({"detail": "Invalid page."}), "{q}");
    }
    let r = app
        .get("/api/v2/users/?page=1")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 200);
}

async fn a_superuser_creates_a_user_with_201_and_location(app: TestApp) {
    app.admin().await;
    app.clock.advance(time::Duration::seconds(5));
    let r = app
        .post("/api/v2/users/")
        .basic("admin", PASSWORD)
        .json(
            &json!({"username": "carol", "email": "carol@example.com", "first_name": "Carol",
                      "last_name": "Jones", "password": "long-enough-pw", "is_superuser": false,
                      "is_system_auditor": true}),
        )
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let body = r.json();
    let id = body["id"].as_i64().unwrap();
    assert_eq!(r.header("location"), Some(format!("/api/v2/users/{id}/")));
    assert_eq!(keys(&body), USER_KEYS);
    assert_eq!(body["url"], format!("/api/v2/users/{id}/"));
    assert_eq!(body["username"], "carol");
    assert_eq!(body["email"], "carol@example.com");
    assert_eq!(body["first_name"], "Carol");
    assert_eq!(body["last_name"], "Jones");
    assert_eq!(body["is_system_auditor"], true);
    assert_eq!(body["password"], "$encrypted$");
    assert_eq!(body["created"], "2026-03-01T12:00:05.000000Z");
    assert_eq!(body["last_login"], json!(null));
    assert_eq!(body["external_account"], json!(null));
    // The password was stored as Argon2id and works.
    let stored = app
        .store()
        .user_by_username("carol")
        .await
        .unwrap()
        .unwrap();
    assert!(
        stored
            .password_hash
            .unwrap()
            .starts_with("$argon2id$v=19$m=19456,t=2,p=1$")
    );
    let me = app
        .get("/api/v2/me/")
        .basic("carol", "long-enough-pw")
        .send()
        .await;
    assert_eq!(me.status, 200);
    // Without a password the account exists but cannot log in locally.
    let r = app
        .post("/api/v2/users/")
        .basic("admin", PASSWORD)
        .json(&json!({"username": "nopass"}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_generic_401(&app.get("/api/v2/me/").basic("nopass", "").send().await);
}

async fn user_creation_validation_messages_match_awx(app: TestApp) {
    app.admin().await;
    let long = "a".repeat(151);
    let long_email = format!("{}@example.com", "e".repeat(250));
    let cases = [
        (json!({}), json!({"username": ["This field is required."]})),
        (
            json!({"username": ""}),
            json!({"username": ["This field may not be blank."]}),
        ),
        (
            json!({"username": "bad name!"}),
            json!({"username": ["Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."]}),
        ),
        (
            json!({"username": long}),
            json!({"username": ["Ensure this field has no more than 150 characters."]}),
        ),
        (
            json!({"username": "admin"}),
            json!({"username": ["A user with that username already exists."]}),
        ),
        (
            json!({"username": "x1", "email": "not-an-email"}),
            json!({"email": ["Enter a valid email address."]}),
        ),
        (
            json!({"username": "x2", "email": long_email}),
            json!({"email": ["Ensure this field has no more than 254 characters."]}),
        ),
        (
            json!({"username": "x3", "password": "short"}),
            json!({"password": ["Password must be at least 8 characters long."]}),
        ),
        (
            json!({"username": "x3b", "password": "p".repeat(1025)}),
            json!({"password": ["Ensure this field has no more than 1024 characters."]}),
        ),
        (
            json!({"username": "x4", "is_superuser": "maybe"}),
            json!({"is_superuser": ["Must be a valid boolean."]}),
        ),
        (
            json!({"username": "x5", "first_name": "f".repeat(151)}),
            json!({"first_name": ["Ensure this field has no more than 150 characters."]}),
        ),
    ];
    for (body, expected) in cases {
        let r = app
            .post("/api/v2/users/")
            .basic("admin", PASSWORD)
            .json(&body)
            .send()
            .await;
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        assert_eq!(r.json(), expected, "{body}");
    }
    let all = app
        .get("/api/v2/users/")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(all.json()["count"], 1, "nothing was created");
}

async fn local_password_policy_settings_apply_to_new_passwords(app: TestApp) {
    app.admin().await;
    app.set(json!({"LOCAL_PASSWORD_MIN_LENGTH": 12})).await;
    let create = |username: &'static str, password: &'static str| {
        let app = &app;
        async move {
            app.post("/api/v2/users/")
                .basic("admin", PASSWORD)
                .json(&json!({"username": username, "password": password}))
                .send()
                .await
        }
    };
    let r = create("short1", "abcde").await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        json!({"password": ["Password must be at least 12 characters long."]})
    );
    let r = create("short2", "abcdefghijk").await;
    assert_eq!(
        r.json(),
        json!({"password": ["Password must be at least 12 characters long."]})
    );
    assert_eq!(create("ok12", "abcdefghijkl").await.status, 201);
    app.set(
        json!({"LOCAL_PASSWORD_MIN_DIGITS": 2, "LOCAL_PASSWORD_MIN_UPPER": 1,
                   "LOCAL_PASSWORD_MIN_SPECIAL": 1}),
    )
    .await;
    let r = create("weak", "abcdefghijkl").await;
    assert_eq!(
        r.json(),
        json!({"password": [
            "Password must contain at least 2 digits.",
            "Password must contain at least 1 uppercase characters.",
            "Password must contain at least 1 special characters."
        ]})
    );
    assert_eq!(create("strong", "Abcdefghij12!").await.status, 201);
}

async fn a_normal_user_cannot_create_users(app: TestApp) {
    app.admin().await;
    app.user("bob").await;
    let r = app
        .post("/api/v2/users/")
        .basic("bob", PASSWORD)
        .json(&json!({"username": "carol", "password": "long-enough-pw"}))
        .send()
        .await;
    assert_generic_403(&r);
    assert_generic_401(
        &app.post("/api/v2/users/")
            .json(&json!({"username": "carol"}))
            .send()
            .await,
    );
}

async fn detail_by_id_and_by_username_is_the_same_object(app: TestApp) {
    let admin = app.admin().await;
    let ops = app.user("ops@corp.example").await;
    let plus = app.user("a+b").await;
    let by_id = app
        .get(&user_url(&admin))
        .basic("admin", PASSWORD)
        .send()
        .await;
    let by_name = app
        .get("/api/v2/users/admin/")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(by_id.status, 200);
    assert_eq!(by_name.status, 200);
    assert_eq!(by_id.json(), by_name.json());
    assert_eq!(keys(&by_id.json()), USER_KEYS);
    let encoded = app
        .get("/api/v2/users/ops%40corp.example/")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(encoded.status, 200, "{}", encoded.text());
    assert_eq!(encoded.json()["id"], ops.id.0);
    let raw = app
        .get("/api/v2/users/ops@corp.example/")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(raw.json()["id"], ops.id.0);
    let r = app
        .get("/api/v2/users/a%2Bb/")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.json()["id"], plus.id.0);
    // A user sees themselves by name too.
    let r = app
        .get("/api/v2/users/ops%40corp.example/")
        .basic("ops@corp.example", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 200);
}

async fn other_users_are_403_by_id_and_404_by_username(app: TestApp) {
    let admin = app.admin().await;
    app.user("bob").await;
    let not_found = json!({"detail": "Not found."});
    let r = app
        .get(&user_url(&admin))
        .basic("bob", PASSWORD)
        .send()
        .await;
    assert_generic_403(&r);
    for path in ["/api/v2/users/admin/", "/api/v2/users/nobody/"] {
        let r = app.get(path).basic("bob", PASSWORD).send().await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.json(), not_found, "{path}");
    }
    let r = app
        .get("/api/v2/users/999999/")
        .basic("bob", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json(), not_found);
    let r = app
        .get("/api/v2/users/999999/")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.json(), not_found);
    // Anonymous callers never learn whether a user exists.
    for path in [
        "/api/v2/users/admin/",
        "/api/v2/users/nobody/",
        "/api/v2/users/999999/",
    ] {
        assert_generic_401(&app.get(path).send().await);
    }
}

async fn a_normal_user_cannot_grant_themselves_privileges(app: TestApp) {
    let bob = app.user("bob").await;
    for (body, detail) in [
        (json!({"is_superuser": true}), "Cannot change is_superuser."),
        (
            json!({"is_system_auditor": true}),
            "Cannot change is_system_auditor.",
        ),
        (
            json!({"is_superuser": true, "is_system_auditor": true}),
            "Cannot change is_superuser, is_system_auditor.",
        ),
    ] {
        let r = app
            .patch(&user_url(&bob))
            .basic("bob", PASSWORD)
            .json(&body)
            .send()
            .await;
        assert_eq!(r.status, 403, "{body}");
        assert_eq!(r.json(), json!({"detail": detail}), "{body}");
    }
    let after = app.user_by_id(bob.id).await;
    assert!(!after.is_superuser && !after.is_system_auditor);
    // Sending the current values is fine.
    let r = app
        .patch(&user_url(&bob))
        .basic("bob", PASSWORD)
        .json(&json!({"is_superuser": false, "is_system_auditor": false}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
}

async fn a_normal_user_cannot_change_their_username(app: TestApp) {
    let bob = app.user("bob").await;
    let r = app
        .patch(&user_url(&bob))
        .basic("bob", PASSWORD)
        .json(&json!({"username": "robert"}))
        .send()
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json(), json!({"detail": "Cannot change username."}));
    assert_eq!(app.user_by_id(bob.id).await.username, "bob");
    let r = app
        .patch(&user_url(&bob))
        .basic("bob", PASSWORD)
        .json(&json!({"username": "bob"}))
        .send()
        .await;
    assert_eq!(r.status, 200);
}

async fn a_normal_user_updates_their_own_profile(app: TestApp) {
    let bob = app.user("bob").await;
    let r = app
        .patch("/api/v2/users/bob/")
        .basic("bob", PASSWORD)
        .json(&json!({"first_name": "Bob", "last_name": "Builder", "email": "b@example.org"}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    assert_eq!(keys(&body), USER_KEYS);
    assert_eq!(body["first_name"], "Bob");
    assert_eq!(body["last_name"], "Builder");
    assert_eq!(body["email"], "b@example.org");
    let stored = app.user_by_id(bob.id).await;
    assert_eq!(
        (stored.first_name.as_str(), stored.email.as_str()),
        ("Bob", "b@example.org")
    );
}

async fn a_normal_user_cannot_update_another_user(app: TestApp) {
    let admin = app.admin().await;
    app.user("bob").await;
    let carol = app.user("carol").await;
    let r = app
        .patch(&user_url(&carol))
        .basic("bob", PASSWORD)
        .json(&json!({"first_name": "X"}))
        .send()
        .await;
    assert_generic_403(&r);
    let r = app
        .patch("/api/v2/users/carol/")
        .basic("bob", PASSWORD)
        .json(&json!({"first_name": "X"}))
        .send()
        .await;
    assert_eq!(r.status, 404);
    let r = app
        .patch(&user_url(&admin))
        .basic("bob", PASSWORD)
        .json(&json!({"password": "taken-over-now"}))
        .send()
        .await;
    assert_generic_403(&r);
    assert_eq!(app.user_by_id(carol.id).await.first_name, "");
    assert_eq!(
        app.get("/api/v2/me/")
            .basic("admin", PASSWORD)
            .send()
            .await
            .status,
        200
    );
}

async fn a_superuser_changes_another_users_name_and_flags(app: TestApp) {
    app.admin().await;
    let bob = app.user("bob").await;
    let r = app
        .patch(&user_url(&bob))
        .basic("admin", PASSWORD)
        .json(&json!({"username": "robert", "is_system_auditor": true}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["username"], "robert");
    assert_eq!(r.json()["is_system_auditor"], true);
    let r = app
        .req(Method::PUT, &user_url(&bob))
        .basic("admin", PASSWORD)
        .json(&json!({"username": "robert", "first_name": "Rob"}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["first_name"], "Rob");
    // Renaming onto an existing name is refused.
    let r = app
        .patch(&user_url(&bob))
        .basic("admin", PASSWORD)
        .json(&json!({"username": "admin"}))
        .send()
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        json!({"username": ["A user with that username already exists."]})
    );
}

async fn an_own_password_change_rekeys_the_session_and_ends_the_others(app: TestApp) {
    let bob = app.user("bob").await;
    let mut a = app.login("bob", PASSWORD).await;
    let b = app.login("bob", PASSWORD).await;
    let old_id = a.id().to_owned();
    let old_csrf = a.csrf.clone();
    let r = a
        .csrf_req(Method::PATCH, &user_url(&bob))
        .json(&json!({"password": "a-brand-new-password"}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["password"], "$encrypted$");
    assert!(!r.text().contains("a-brand-new-password"));
    let session_lines: Vec<String> = r
        .set_cookies()
        .into_iter()
        .filter(|c| c.starts_with("awx_sessionid="))
        .collect();
    assert_eq!(session_lines.len(), 1, "{session_lines:?}");
    let new_id = r.cookie("awx_sessionid").unwrap();
    assert_ne!(new_id, old_id);
    assert_eq!(
        session_lines[0],
        format!(
            "awx_sessionid={new_id}; expires=Sun, 01 Mar 2026 12:30:00 GMT; HttpOnly; Max-Age=1800; Path=/; SameSite=Lax"
        )
    );
    let new_csrf = r.cookie("csrftoken").unwrap();
    assert_ne!(new_csrf, old_csrf);
    assert_eq!(r.header("session-timeout").as_deref(), Some("1800"));

    // The old id and the other session are dead; the new id works and keeps working.
    let old = app
        .get("/api/v2/me/")
        .header("cookie", &format!("awx_sessionid={old_id}"))
        .send()
        .await;
    assert_generic_401(&old);
    assert_generic_401(&b.get("/api/v2/me/").await);
    a.adopt(&r);
    assert_eq!(a.get("/api/v2/me/").await.status, 200);
    app.clock.advance(time::Duration::seconds(120));
    assert_eq!(a.get("/api/v2/me/").await.status, 200);
    // The rotated CSRF token is bound to the new session: unsafe requests work with it…
    let r = a
        .csrf_req(Method::PATCH, &user_url(&bob))
        .json(&json!({"first_name": "Bob"}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    // …and not with the old one.
    let r = app
        .patch(&user_url(&bob))
        .header(
            "cookie",
            &format!("csrftoken={old_csrf}; awx_sessionid={new_id}"),
        )
        .header("x-csrftoken", &old_csrf)
        .json(&json!({"first_name": "X"}))
        .send()
        .await;
    assert_eq!(r.status, 403);
    // Passwords: the old one is refused everywhere, the new one accepted.
    assert_eq!(app.try_login("bob", PASSWORD).await.last.status, 401);
    assert_generic_401(&app.get("/api/v2/me/").basic("bob", PASSWORD).send().await);
    assert_eq!(
        app.login("bob", "a-brand-new-password").await.last.status,
        302
    );
}

async fn a_superuser_resetting_a_password_ends_all_that_users_sessions(app: TestApp) {
    app.admin().await;
    let bob = app.user("bob").await;
    let s = app.login("bob", PASSWORD).await;
    let r = app
        .patch(&user_url(&bob))
        .basic("admin", PASSWORD)
        .json(&json!({"password": "reset-by-admin"}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r.set_cookie("awx_sessionid").is_none());
    assert_generic_401(&s.get("/api/v2/me/").await);
    assert_eq!(
        app.get("/api/v2/me/")
            .basic("bob", "reset-by-admin")
            .send()
            .await
            .status,
        200
    );
}

async fn the_encrypted_placeholder_or_an_empty_password_changes_nothing(app: TestApp) {
    let bob = app.user("bob").await;
    let s = app.login("bob", PASSWORD).await;
    for pw in ["$encrypted$", ""] {
        let r = s
            .csrf_req(Method::PATCH, &user_url(&bob))
            .json(&json!({"password": pw, "first_name": "Bob"}))
            .send()
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(
            r.cookie("awx_sessionid").as_deref(),
            Some(s.id()),
            "not re-keyed"
        );
    }
    assert_eq!(
        app.user_by_id(bob.id).await.auth_generation,
        bob.auth_generation
    );
    assert_eq!(s.get("/api/v2/me/").await.status, 200);
    assert_eq!(
        app.get("/api/v2/me/")
            .basic("bob", PASSWORD)
            .send()
            .await
            .status,
        200
    );
}

async fn nobody_can_delete_themselves(app: TestApp) {
    let admin = app.admin().await;
    let bob = app.user("bob").await;
    let cannot = json!({"detail": "Cannot delete user."});
    let r = app
        .delete(&user_url(&admin))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json(), cannot);
    let r = app
        .delete(&user_url(&bob))
        .basic("bob", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 403);
    assert_eq!(r.json(), cannot);
    assert!(app.store().user_by_id(bob.id).await.unwrap().is_some());
    assert!(app.store().user_by_id(admin.id).await.unwrap().is_some());
}

async fn a_normal_user_cannot_delete_others(app: TestApp) {
    let admin = app.admin().await;
    app.user("bob").await;
    let r = app
        .delete(&user_url(&admin))
        .basic("bob", PASSWORD)
        .send()
        .await;
    assert_generic_403(&r);
    let r = app
        .delete("/api/v2/users/admin/")
        .basic("bob", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 404);
}

async fn a_superuser_deletes_a_user_and_their_sessions(app: TestApp) {
    app.admin().await;
    let bob = app.user("bob").await;
    let s = app.login("bob", PASSWORD).await;
    let r = app
        .delete(&user_url(&bob))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert!(r.body.is_empty());
    assert_generic_401(&s.get("/api/v2/me/").await);
    assert!(app.stored_session(s.id()).await.is_none());
    assert_generic_401(&app.get("/api/v2/me/").basic("bob", PASSWORD).send().await);
    let r = app
        .get(&user_url(&bob))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 404);
    let r = app
        .delete(&user_url(&bob))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 404);
}

async fn another_superuser_can_be_deleted_while_one_remains(app: TestApp) {
    app.admin().await;
    let root = app.user_with("root", PASSWORD, true).await;
    let r = app
        .delete(&user_url(&root))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 204, "{}", r.text());
}

async fn user_changes_are_recorded_in_the_activity_stream_without_passwords(app: TestApp) {
    let admin = app.admin().await;
    let secret = "carols-secret-pw";
    let r = app
        .post("/api/v2/users/")
        .basic("admin", PASSWORD)
        .json(&json!({"username": "carol", "email": "carol@example.com", "password": secret}))
        .send()
        .await;
    let id = r.json()["id"].as_i64().unwrap();
    app.patch(&format!("/api/v2/users/{id}/"))
        .basic("admin", PASSWORD)
        .json(&json!({"first_name": "Carol"}))
        .send()
        .await;
    app.patch(&format!("/api/v2/users/{id}/"))
        .basic("admin", PASSWORD)
        .json(&json!({"password": "carols-new-secret"}))
        .send()
        .await;
    app.delete(&format!("/api/v2/users/{id}/"))
        .basic("admin", PASSWORD)
        .send()
        .await;
    let entries = user_activity(&app).await;
    let ops: Vec<&str> = entries.iter().map(|e| e.entry.operation.as_str()).collect();
    assert_eq!(ops, ["create", "update", "update", "delete"]);
    for e in &entries {
        assert_eq!(e.entry.object1, "user");
        assert_eq!(e.entry.object1_id, Some(id));
        assert_eq!(e.entry.actor, Some(admin.id));
        assert_eq!(e.entry.timestamp, app.now());
        let text = e.entry.changes.to_string();
        assert!(
            !text.contains(secret) && !text.contains("carols-new-secret"),
            "{text}"
        );
        assert!(
            !text.contains("$argon2") && !text.contains("pbkdf2"),
            "{text}"
        );
    }
    assert_eq!(entries[0].entry.changes["username"], "carol");
    assert_eq!(entries[0].entry.changes["email"], "carol@example.com");
    assert_eq!(
        entries[1].entry.changes,
        json!({"first_name": ["", "Carol"]})
    );
    assert_eq!(entries[3].entry.changes["username"], "carol");
}

async fn nothing_is_recorded_while_the_activity_stream_is_off(app: TestApp) {
    app.admin().await;
    app.set(json!({"ACTIVITY_STREAM_ENABLED": false})).await;
    let r = app
        .post("/api/v2/users/")
        .basic("admin", PASSWORD)
        .json(&json!({"username": "carol"}))
        .send()
        .await;
    assert_eq!(r.status, 201);
    assert!(user_activity(&app).await.is_empty());
}

on_both_backends!(
    me_is_a_one_item_page_holding_the_caller_with_awx_keys_in_order,
    me_shows_the_last_login_as_modified,
    an_ldap_user_object_names_the_directory_and_has_no_password,
    me_offers_only_safe_methods,
    a_superuser_lists_everyone_and_a_normal_user_only_themselves,
    a_system_auditor_reads_every_user_but_cannot_create,
    the_users_list_filters_by_exact_field_values,
    the_users_list_orders_by_a_field,
    an_unknown_filter_or_order_field_is_400_naming_it,
    page_size_is_clamped_to_200_and_next_links_stay_relative,
    count_disabled_returns_the_results_only,
    a_page_past_the_last_is_an_invalid_page,
    a_superuser_creates_a_user_with_201_and_location,
    user_creation_validation_messages_match_awx,
    local_password_policy_settings_apply_to_new_passwords,
    a_normal_user_cannot_create_users,
    detail_by_id_and_by_username_is_the_same_object,
    other_users_are_403_by_id_and_404_by_username,
    a_normal_user_cannot_grant_themselves_privileges,
    a_normal_user_cannot_change_their_username,
    a_normal_user_updates_their_own_profile,
    a_normal_user_cannot_update_another_user,
    a_superuser_changes_another_users_name_and_flags,
    an_own_password_change_rekeys_the_session_and_ends_the_others,
    a_superuser_resetting_a_password_ends_all_that_users_sessions,
    the_encrypted_placeholder_or_an_empty_password_changes_nothing,
    nobody_can_delete_themselves,
    a_normal_user_cannot_delete_others,
    a_superuser_deletes_a_user_and_their_sessions,
    another_superuser_can_be_deleted_while_one_remains,
    user_changes_are_recorded_in_the_activity_stream_without_passwords,
    nothing_is_recorded_while_the_activity_stream_is_off,
);
