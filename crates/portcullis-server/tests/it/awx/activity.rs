//! The activity stream (`docs/awx-compat.md`, "Activity stream", "Pagination"): the main list
//! and the entries of user changes.

use crate::awx::options::{assert_shape, document, keys, options};
use crate::harness::{PASSWORD, Resp, TestApp, assert_generic_401};
use crate::on_both_backends;
use axum::http::Method;
use portcullis_core::user::User;
use serde_json::{Value, json};

const T0: &str = "2026-03-01T12:00:00.000000Z";
const T1: &str = "2026-03-01T12:00:01.000000Z";
const T2: &str = "2026-03-01T12:00:02.000000Z";

/// The keys of an entry, in AWX's order.
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

/// An entry as the API shows it; `actor` `None` when there is none (any more).
fn entry(
    id: i64,
    actor: Option<&User>,
    timestamp: &str,
    operation: &str,
    object1: &str,
    changes: Value,
) -> Value {
    let (related, summary) = match actor {
        Some(u) => (
            json!({"actor": format!("/api/v2/users/{}/", u.id)}),
            json!({"actor": {"id": u.id.0, "username": u.username, "first_name": u.first_name,
                             "last_name": u.last_name}}),
        ),
        None => (json!({}), json!({})),
    };
    json!({
        "id": id, "type": "activity_stream", "url": format!("/api/v2/activity_stream/{id}/"),
        "related": related, "summary_fields": summary, "timestamp": timestamp,
        "operation": operation, "changes": changes, "object1": object1,
        "object2": "", "object_association": "", "object_type": "",
    })
}

fn page_of(results: Vec<Value>) -> Value {
    json!({"count": results.len(), "next": null, "previous": null, "results": results})
}

async fn get(app: &TestApp, path: &str, user: &str) -> Resp {
    let r = app.get(path).basic(user, PASSWORD).send().await;
    assert!(
        r.status == 200 || r.status.is_client_error(),
        "{path}: {}",
        r.text()
    );
    r
}

/// The user fields a creation entry records.
fn created_changes(username: &str, first_name: &str) -> Value {
    json!({"username": username, "first_name": first_name, "last_name": "",
           "email": format!("{username}@example.com"), "is_superuser": false,
           "is_system_auditor": false})
}

/// Creates `username` through the API as `admin` (one `create` entry).
async fn api_user(app: &TestApp, username: &str) -> i64 {
    let r = app
        .post("/api/v2/users/")
        .basic("admin", PASSWORD)
        .json(&json!({"username": username, "email": format!("{username}@example.com")}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    r.json()["id"].as_i64().unwrap()
}

async fn user_changes_are_recorded_in_awx_shape(app: TestApp) {
    let admin = app.admin().await;
    let carol = api_user(&app, "carol").await;
    app.clock.advance(time::Duration::seconds(1));
    let r = app
        .patch(&format!("/api/v2/users/{carol}/"))
        .basic("admin", PASSWORD)
        .json(&json!({"first_name": "Carol"}))
        .send()
        .await;
    assert_eq!(r.status, 200);
    app.clock.advance(time::Duration::seconds(1));
    let r = app
        .delete(&format!("/api/v2/users/{carol}/"))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 204);

    let expected = [
        entry(
            1,
            Some(&admin),
            T0,
            "create",
            "user",
            created_changes("carol", ""),
        ),
        entry(
            2,
            Some(&admin),
            T1,
            "update",
            "user",
            json!({"first_name": ["", "Carol"]}),
        ),
        entry(
            3,
            Some(&admin),
            T2,
            "delete",
            "user",
            created_changes("carol", "Carol"),
        ),
    ];
    let r = get(&app, "/api/v2/activity_stream/", "admin").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("allow").as_deref(), Some("GET, HEAD, OPTIONS"));
    let body = r.json();
    assert_eq!(keys(&body), ["count", "next", "previous", "results"]);
    assert_eq!(keys(&body["results"][0]), ENTRY_KEYS);
    assert_eq!(body, page_of(expected.to_vec()));
    let r = get(&app, "/api/v2/activity_stream/?order_by=-id", "admin").await;
    assert_eq!(r.json(), page_of(expected.iter().rev().cloned().collect()));
    let r = get(&app, "/api/v2/activity_stream/2/", "admin").await;
    assert_eq!(r.status, 200);
    assert_eq!(keys(&r.json()), ENTRY_KEYS);
    assert_eq!(r.json(), expected[1]);
    // The entries about carol outlive her.
    let r = get(
        &app,
        "/api/v2/activity_stream/?object1=user&operation=delete",
        "admin",
    )
    .await;
    assert_eq!(r.json(), page_of(vec![expected[2].clone()]));
    for path in [
        "/api/v2/activity_stream/99/",
        "/api/v2/activity_stream/abc/",
        "/api/v2/activity_stream/-1/",
    ] {
        let r = get(&app, path, "admin").await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.json(), json!({"detail": "Not found."}));
    }
}

async fn normal_users_see_only_entries_by_or_about_them(app: TestApp) {
    let admin = app.admin().await;
    let bob = app.user("bob").await;
    app.auditor("audrey").await;
    // 1: about bob, by admin.
    let r = app
        .patch("/api/v2/users/bob/")
        .basic("admin", PASSWORD)
        .json(&json!({"last_name": "B"}))
        .send()
        .await;
    assert_eq!(r.status, 200);
    // 2: about carol, by admin.
    let carol = api_user(&app, "carol").await;
    // 3: about bob, by bob.
    let r = app
        .patch("/api/v2/users/bob/")
        .basic("bob", PASSWORD)
        .json(&json!({"first_name": "Bob"}))
        .send()
        .await;
    assert_eq!(r.status, 200);
    let bob_after = app.user_by_id(bob.id).await;

    let one = entry(
        1,
        Some(&admin),
        T0,
        "update",
        "user",
        json!({"last_name": ["", "B"]}),
    );
    let two = entry(
        2,
        Some(&admin),
        T0,
        "create",
        "user",
        created_changes("carol", ""),
    );
    let three = entry(
        3,
        Some(&bob_after),
        T0,
        "update",
        "user",
        json!({"first_name": ["", "Bob"]}),
    );
    let mine = page_of(vec![one.clone(), three.clone()]);
    assert_eq!(
        get(&app, "/api/v2/activity_stream/", "bob").await.json(),
        mine
    );
    assert_eq!(
        get(&app, "/api/v2/activity_stream/?object1=user", "bob")
            .await
            .json(),
        mine
    );
    assert_eq!(
        get(&app, "/api/v2/activity_stream/1/", "bob").await.json(),
        one
    );
    assert_eq!(
        get(&app, "/api/v2/activity_stream/2/", "bob").await.status,
        404
    );
    let all = page_of(vec![one.clone(), two.clone(), three.clone()]);
    assert_eq!(
        get(&app, "/api/v2/activity_stream/", "audrey").await.json(),
        all
    );
    assert_eq!(
        get(&app, "/api/v2/activity_stream/", "admin").await.json(),
        all
    );

    // Per user: entries by that user and about that user.
    for path in [
        format!("/api/v2/users/{}/activity_stream/", bob.id),
        "/api/v2/users/bob/activity_stream/".to_owned(),
    ] {
        assert_eq!(get(&app, &path, "bob").await.json(), mine, "{path}");
        assert_eq!(get(&app, &path, "admin").await.json(), mine, "{path}");
    }
    assert_eq!(
        get(
            &app,
            &format!("/api/v2/users/{carol}/activity_stream/"),
            "audrey"
        )
        .await
        .json(),
        page_of(vec![two.clone()])
    );
    assert_eq!(
        get(&app, "/api/v2/users/admin/activity_stream/", "admin")
            .await
            .json(),
        page_of(vec![one, two])
    );
    assert_eq!(
        get(
            &app,
            "/api/v2/users/bob/activity_stream/?operation=create",
            "bob"
        )
        .await
        .json(),
        page_of(vec![])
    );
    // Another user's stream: 403 by id, 404 by name (`docs/awx-compat.md`, "URL handling").
    let r = get(
        &app,
        &format!("/api/v2/users/{}/activity_stream/", admin.id),
        "bob",
    )
    .await;
    assert_eq!(r.status, 403);
    let r = get(&app, "/api/v2/users/admin/activity_stream/", "bob").await;
    assert_eq!(r.status, 404);
    assert_eq!(
        get(&app, "/api/v2/users/nobody/activity_stream/", "admin")
            .await
            .status,
        404
    );

    for path in [
        "/api/v2/activity_stream/",
        "/api/v2/activity_stream/1/",
        "/api/v2/users/bob/activity_stream/",
        "/api/v2/users/nobody/activity_stream/",
    ] {
        assert_generic_401(&app.get(path).send().await);
    }
}

async fn filters_order_and_paging(app: TestApp) {
    let admin = app.admin().await;
    api_user(&app, "carol").await; // 1 create at T0
    app.clock.advance(time::Duration::seconds(1));
    api_user(&app, "dave").await; // 2 create at T1
    app.clock.advance(time::Duration::seconds(1));
    app.set(json!({"SESSION_COOKIE_AGE": 900})).await; // 3 setting update at T2
    let ids = |r: &Resp| -> Vec<i64> {
        r.json()["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["id"].as_i64().unwrap())
            .collect()
    };
    let by_admin = format!("?actor={}", admin.id);
    let at_t1 = format!("?timestamp={T1}");
    let cases: Vec<(&str, Vec<i64>)> = vec![
        ("", vec![1, 2, 3]),
        ("?operation=create", vec![1, 2]),
        ("?operation=update&object1=setting", vec![3]),
        ("?object1=user", vec![1, 2]),
        (&by_admin, vec![1, 2, 3]),
        ("?actor=999", vec![]),
        ("?actor=admin", vec![]),
        (&at_t1, vec![2]),
        ("?timestamp=2026-03-01T12:00:01Z", vec![2]),
        ("?timestamp=yesterday", vec![]),
        ("?id=2", vec![2]),
        ("?order_by=-timestamp", vec![3, 2, 1]),
        ("?order_by=-object1", vec![1, 2, 3]),
        ("?order_by=actor&operation=create&operation=delete", vec![]),
    ];
    for (query, expected) in cases {
        let r = get(&app, &format!("/api/v2/activity_stream/{query}"), "admin").await;
        assert_eq!(r.status, 200, "{query}: {}", r.text());
        assert_eq!(ids(&r), expected, "{query}");
        assert_eq!(r.json()["count"], expected.len(), "{query}");
    }
    let r = get(&app, "/api/v2/activity_stream/3/", "admin").await;
    assert_eq!(
        r.json(),
        entry(
            3,
            Some(&admin),
            T2,
            "update",
            "setting",
            json!({"SESSION_COOKIE_AGE": [1800, 900]})
        )
    );
    for query in ["?bogus=1", "?changes=x", "?order_by=changes"] {
        let r = get(&app, &format!("/api/v2/activity_stream/{query}"), "admin").await;
        assert_eq!(r.status, 400, "{query}");
        assert!(
            r.json()["detail"]
                .as_str()
                .unwrap()
                .starts_with("Cannot resolve keyword '")
        );
    }
    let r = get(
        &app,
        "/api/v2/activity_stream/?page_size=2&object1=user",
        "admin",
    )
    .await;
    assert_eq!(r.json()["next"], Value::Null);
    let r = get(&app, "/api/v2/activity_stream/?page_size=2", "admin").await;
    assert_eq!(ids(&r), [1, 2]);
    assert_eq!(
        r.json()["next"],
        "/api/v2/activity_stream/?page_size=2&page=2"
    );
    let r = get(&app, "/api/v2/activity_stream/?page_size=2&page=2", "admin").await;
    assert_eq!(ids(&r), [3]);
    assert_eq!(
        r.json()["previous"],
        "/api/v2/activity_stream/?page_size=2&page=1"
    );
    let r = get(
        &app,
        "/api/v2/activity_stream/?count_disabled=1&id=1",
        "admin",
    )
    .await;
    assert_eq!(keys(&r.json()), ["results"]);
    let r = get(&app, "/api/v2/activity_stream/?page=3&page_size=2", "admin").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json(), json!({"detail": "Invalid page."}));
}

async fn token_entries_show_the_masked_value(app: TestApp) {
    app.admin().await;
    let (_, token) = app.create_pat("admin", PASSWORD, "write").await;
    let r = get(
        &app,
        "/api/v2/activity_stream/?object1=o_auth2_access_token",
        "admin",
    )
    .await;
    assert_eq!(r.status, 200);
    let body = r.json();
    assert_eq!(body["count"], 1, "{body}");
    let e = &body["results"][0];
    assert_eq!(e["operation"], "create");
    assert_eq!(e["object1"], "o_auth2_access_token");
    assert_eq!(e["changes"]["token"], "************");
    assert!(
        !body.to_string().contains(&token),
        "clear token in the stream"
    );
    assert_eq!(keys(e), ENTRY_KEYS);
}

async fn entries_of_a_deleted_actor_lose_the_actor_links(app: TestApp) {
    app.admin().await;
    let root = app.user_with("root", PASSWORD, true).await;
    let r = app
        .post("/api/v2/users/")
        .basic("root", PASSWORD)
        .json(&json!({"username": "carol", "email": "carol@example.com"}))
        .send()
        .await;
    assert_eq!(r.status, 201);
    let r = get(&app, "/api/v2/activity_stream/1/", "admin").await;
    assert_eq!(
        r.json(),
        entry(
            1,
            Some(&root),
            T0,
            "create",
            "user",
            created_changes("carol", "")
        )
    );
    let r = app
        .delete(&format!("/api/v2/users/{}/", root.id))
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 204);
    let r = get(&app, "/api/v2/activity_stream/1/", "admin").await;
    assert_eq!(
        r.json(),
        entry(1, None, T0, "create", "user", created_changes("carol", ""))
    );
}

async fn inventory_and_host_creations_are_recorded_without_variables(app: TestApp) {
    let admin = app.admin().await;
    for (path, body) in [
        (
            "/api/v2/inventories/",
            json!({"name": "i1", "variables": "password: x"}),
        ),
        (
            "/api/v2/hosts/",
            json!({"name": "h1", "inventory": 1, "variables": "{\"ansible_password\": \"x\"}"}),
        ),
    ] {
        let r = app
            .post(path)
            .basic("admin", PASSWORD)
            .json(&body)
            .send()
            .await;
        assert_eq!(r.status, 201, "{}", r.text());
    }
    let r = get(&app, "/api/v2/activity_stream/", "admin").await;
    assert_eq!(
        r.json(),
        page_of(vec![
            entry(
                1,
                Some(&admin),
                T0,
                "create",
                "inventory",
                json!({"name": "i1", "description": "", "organization": null, "kind": ""})
            ),
            entry(
                2,
                Some(&admin),
                T0,
                "create",
                "host",
                json!({"name": "h1", "description": "", "inventory": 1, "enabled": true,
                       "instance_id": ""})
            ),
        ])
    );
}

fn activity_get() -> Value {
    json!({
        "id": {"type": "integer", "label": "ID", "filterable": true},
        "timestamp": {"type": "datetime", "label": "Timestamp", "filterable": true},
        "operation": {"type": "choice", "label": "Operation",
                      "help_text": "The action taken with respect to the given object(s).", "filterable": true,
                      "choices": [["create", "Entity Created"], ["update", "Entity Updated"],
                                  ["delete", "Entity Deleted"],
                                  ["associate", "Entity Associated with another Entity"],
                                  ["disassociate", "Entity was Disassociated with another Entity"]]},
        "changes": {"type": "json", "label": "Changes",
                    "help_text": "A summary of the new and changed values when an object is created, updated, or deleted",
                    "filterable": false},
        "object1": {"type": "string", "label": "Object1",
                    "help_text": "For create, update, and delete events this is the object type that was affected.",
                    "filterable": true},
        "object2": {"type": "string", "label": "Object2", "filterable": false},
        "object_association": {"type": "string", "label": "Object association", "filterable": false},
        "object_type": {"type": "string", "label": "Object type", "filterable": false},
    })
}

async fn activity_options_are_get_only(app: TestApp) {
    app.admin().await;
    app.user("bob").await;
    let description = "Records of changes to users, tokens, applications and settings.";
    for (path, name) in [
        ("/api/v2/activity_stream/", "Activity Stream"),
        ("/api/v2/activity_stream/1/", "Activity Stream Detail"),
        ("/api/v2/users/bob/activity_stream/", "Activity Stream"),
    ] {
        for user in ["admin", "bob"] {
            let r = options(&app, path, user).await;
            assert_eq!(r.status, 200, "{path} {user}: {}", r.text());
            assert_eq!(r.header("allow").as_deref(), Some("GET, HEAD, OPTIONS"));
            assert_shape(
                &r.json(),
                &document(name, description, json!({"GET": activity_get()})),
            );
        }
        assert_generic_401(&app.req(Method::OPTIONS, path).send().await);
        let r = app
            .post(path)
            .basic("admin", PASSWORD)
            .json(&json!({}))
            .send()
            .await;
        assert_eq!(r.status, 405, "{path}");
    }
}

on_both_backends!(
    user_changes_are_recorded_in_awx_shape,
    normal_users_see_only_entries_by_or_about_them,
    filters_order_and_paging,
    token_entries_show_the_masked_value,
    entries_of_a_deleted_actor_lose_the_actor_links,
    inventory_and_host_creations_are_recorded_without_variables,
    activity_options_are_get_only,
);
