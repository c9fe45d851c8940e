//! The list endpoints AWX clients probe: the compatibility stubs, the `Default` organization,
//! inventories and hosts (`docs/awx-compat.md`, "OPTIONS metadata", "Compatibility lists",
//! "Pagination").

use crate::awx::options::{DETAIL_ALLOW, assert_shape, document, keys, options};
use crate::harness::{
    CHALLENGE, NO_PERMISSION, PASSWORD, Resp, TestApp, assert_generic_401, assert_generic_403,
};
use crate::on_both_backends;
use axum::http::Method;
use serde_json::{Value, json};

const T0: &str = "2026-03-01T12:00:00.000000Z";
const READ_ONLY: &str = "GET, HEAD, OPTIONS";
const LIST_CREATE: &str = "GET, POST, HEAD, OPTIONS";
const STUB_DESCRIPTION: &str = "Compatibility endpoint: Portcullis does not manage these objects.";

/// The seven stubs: URL segment, list view name, detail view name.
const STUBS: [(&str, &str, &str); 7] = [
    ("organizations", "Organizations", "Organization Detail"),
    ("projects", "Projects", "Project Detail"),
    ("teams", "Teams", "Team Detail"),
    ("credentials", "Credentials", "Credential Detail"),
    ("job_templates", "Job Templates", "Job Template Detail"),
    (
        "workflow_job_templates",
        "Workflow Job Templates",
        "Workflow Job Template Detail",
    ),
    (
        "instance_groups",
        "Instance Groups",
        "Instance Group Detail",
    ),
];

fn stub_get() -> Value {
    json!({
        "id": {"type": "integer", "label": "ID", "filterable": true},
        "name": {"type": "string", "label": "Name", "filterable": true},
        "description": {"type": "string", "label": "Description", "filterable": true},
        "created": {"type": "datetime", "label": "Created", "filterable": true},
        "modified": {"type": "datetime", "label": "Modified", "filterable": true},
    })
}

fn default_org() -> Value {
    json!({
        "id": 1, "type": "organization", "url": "/api/v2/organizations/1/",
        "related": {}, "summary_fields": {},
        "created": "1970-01-01T00:00:00.000000Z", "modified": "1970-01-01T00:00:00.000000Z",
        "name": "Default", "description": "",
    })
}

fn empty_page() -> Value {
    json!({"count": 0, "next": null, "previous": null, "results": []})
}

fn page_of(results: Vec<Value>) -> Value {
    json!({"count": results.len(), "next": null, "previous": null, "results": results})
}

fn inventory(id: i64, name: &str, total_hosts: i64) -> Value {
    json!({
        "id": id, "type": "inventory", "url": format!("/api/v2/inventories/{id}/"),
        "related": {"hosts": format!("/api/v2/inventories/{id}/hosts/")}, "summary_fields": {},
        "created": T0, "modified": T0, "name": name, "description": "", "organization": null,
        "kind": "", "host_filter": null, "variables": "", "total_hosts": total_hosts,
    })
}

fn host(id: i64, name: &str, inventory: i64) -> Value {
    json!({
        "id": id, "type": "host", "url": format!("/api/v2/hosts/{id}/"),
        "related": {}, "summary_fields": {}, "created": T0, "modified": T0,
        "name": name, "description": "", "inventory": inventory, "enabled": true,
        "instance_id": "", "variables": "",
    })
}

async fn get(app: &TestApp, path: &str, user: &str) -> Resp {
    app.get(path).basic(user, PASSWORD).send().await
}

async fn post(app: &TestApp, path: &str, user: &str, body: Value) -> Resp {
    app.post(path)
        .basic(user, PASSWORD)
        .json(&body)
        .send()
        .await
}

/// Creates as `admin` and insists on the 201.
async fn create(app: &TestApp, path: &str, body: Value) -> Value {
    let r = post(app, path, "admin", body).await;
    assert_eq!(r.status, 201, "POST {path}: {}", r.text());
    r.json()
}

#[track_caller]
fn assert_400(r: &Resp, expected: Value) {
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json(), expected);
}

async fn every_stub_answers_get_and_options_and_refuses_writes(app: TestApp) {
    app.admin().await;
    app.user("bob").await;
    let (_, token) = app.create_pat("bob", PASSWORD, "write").await;
    for (segment, list_name, detail_name) in STUBS {
        let list = format!("/api/v2/{segment}/");
        let r = app.req(Method::OPTIONS, &list).bearer(&token).send().await;
        assert_eq!(r.status, 200, "{list}: {}", r.text());
        assert_eq!(r.header("allow").as_deref(), Some(READ_ONLY), "{list}");
        assert_shape(
            &r.json(),
            &document(list_name, STUB_DESCRIPTION, json!({"GET": stub_get()})),
        );
        let r = app.get(&list).bearer(&token).send().await;
        assert_eq!(r.status, 200, "{list}");
        assert_eq!(r.header("allow").as_deref(), Some(READ_ONLY));
        let expected = if segment == "organizations" {
            page_of(vec![default_org()])
        } else {
            empty_page()
        };
        assert_eq!(r.json(), expected, "{list}");
        // Every list accepts AWX's filters, ordering and paging.
        let r = app
            .get(&format!(
                "{list}?name=x&description=&order_by=-name&page=1&page_size=5"
            ))
            .bearer(&token)
            .send()
            .await;
        assert_eq!(r.status, 200, "{list}");
        assert_eq!(r.json(), empty_page(), "{list}");
        let r = app
            .get(&format!("{list}?page=2"))
            .bearer(&token)
            .send()
            .await;
        assert_eq!(r.status, 404);
        assert_eq!(r.json(), json!({"detail": "Invalid page."}));
        let r = app
            .get(&format!("{list}?bogus=1"))
            .bearer(&token)
            .send()
            .await;
        assert_400(
            &r,
            json!({"detail": "Cannot resolve keyword 'bogus' into field."}),
        );

        let detail = format!("/api/v2/{segment}/2/");
        let r = app.get(&detail).bearer(&token).send().await;
        assert_eq!(r.status, 404, "{detail}");
        assert_eq!(r.json(), json!({"detail": "Not found."}));
        let r = app
            .req(Method::OPTIONS, &detail)
            .bearer(&token)
            .send()
            .await;
        assert_eq!(r.status, 200, "{detail}");
        assert_eq!(r.header("allow").as_deref(), Some(READ_ONLY));
        assert_shape(
            &r.json(),
            &document(detail_name, STUB_DESCRIPTION, json!({"GET": stub_get()})),
        );

        for (method, path) in [
            (Method::POST, &list),
            (Method::PUT, &detail),
            (Method::PATCH, &detail),
            (Method::DELETE, &detail),
        ] {
            let r = app
                .req(method.clone(), path)
                .bearer(&token)
                .json(&json!({"name": "x"}))
                .send()
                .await;
            assert_eq!(r.status, 405, "{method} {path}");
            assert_eq!(
                r.json(),
                json!({"detail": format!("Method \"{method}\" not allowed.")})
            );
            assert_eq!(r.header("allow").as_deref(), Some(READ_ONLY));
        }

        for method in [Method::GET, Method::OPTIONS, Method::POST] {
            assert_generic_401(&app.req(method.clone(), &list).send().await);
            assert_generic_401(&app.req(method, &detail).send().await);
        }
    }
}

async fn a_stub_without_its_slash_redirects_then_answers(app: TestApp) {
    app.admin().await;
    let r = get(&app, "/api/v2/credentials?page_size=5", "admin").await;
    assert_eq!(r.status, 301);
    assert_eq!(
        r.header("location").as_deref(),
        Some("/api/v2/credentials/?page_size=5")
    );
    let r = get(&app, "/api/v2/credentials/?page_size=5", "admin").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), empty_page());
}

async fn the_default_organization_is_listed_and_filterable(app: TestApp) {
    app.admin().await;
    let one = page_of(vec![default_org()]);
    for (query, expected) in [
        ("", &one),
        ("?name=Default", &one),
        ("?id=1", &one),
        ("?id=1&name=Default", &one),
        ("?order_by=-name", &one),
        ("?description=", &one),
        ("?name=Other", &empty_page()),
        ("?id=2", &empty_page()),
        ("?id=one", &empty_page()),
    ] {
        let r = get(&app, &format!("/api/v2/organizations/{query}"), "admin").await;
        assert_eq!(r.status, 200, "{query}");
        assert_eq!(&r.json(), expected, "{query}");
    }
    let r = get(&app, "/api/v2/organizations/?count_disabled=1", "admin").await;
    assert_eq!(r.json(), json!({"results": [default_org()]}));
    let r = get(&app, "/api/v2/organizations/1/", "admin").await;
    assert_eq!(r.status, 200);
    assert_eq!(keys(&r.json()), keys(&default_org()));
    assert_eq!(r.json(), default_org());
    for path in ["/api/v2/organizations/2/", "/api/v2/organizations/one/"] {
        let r = get(&app, path, "admin").await;
        assert_eq!(r.status, 404, "{path}");
        assert_eq!(r.json(), json!({"detail": "Not found."}));
    }
}

async fn a_superuser_creates_inventories_and_hosts_and_lists_them(app: TestApp) {
    app.admin().await;
    let r = post(&app, "/api/v2/inventories/", "admin", json!({"name": "i1"})).await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(
        r.header("location").as_deref(),
        Some("/api/v2/inventories/1/")
    );
    assert_eq!(keys(&r.json()), keys(&inventory(1, "i1", 0)));
    assert_eq!(r.json(), inventory(1, "i1", 0));

    for (id, name) in [(1, "h1"), (2, "h2")] {
        let r = post(
            &app,
            "/api/v2/hosts/",
            "admin",
            json!({"name": name, "inventory": 1}),
        )
        .await;
        assert_eq!(r.status, 201, "{}", r.text());
        assert_eq!(r.header("location"), Some(format!("/api/v2/hosts/{id}/")));
        assert_eq!(keys(&r.json()), keys(&host(id, name, 1)));
        assert_eq!(r.json(), host(id, name, 1));
    }
    let r = get(&app, "/api/v2/hosts/?name=h1", "admin").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json(), page_of(vec![host(1, "h1", 1)]));
    let r = get(&app, "/api/v2/hosts/", "admin").await;
    assert_eq!(r.json(), page_of(vec![host(1, "h1", 1), host(2, "h2", 1)]));
    let r = get(&app, "/api/v2/hosts/?order_by=-name", "admin").await;
    assert_eq!(r.json(), page_of(vec![host(2, "h2", 1), host(1, "h1", 1)]));
    for query in ["?inventory=1&enabled=true", "?description=&enabled=True"] {
        let r = get(&app, &format!("/api/v2/hosts/{query}"), "admin").await;
        assert_eq!(r.json()["count"], 2, "{query}");
    }
    let r = get(&app, "/api/v2/hosts/?enabled=false", "admin").await;
    assert_eq!(r.json(), empty_page());
    let r = get(&app, "/api/v2/hosts/?variables=x", "admin").await;
    assert_400(
        &r,
        json!({"detail": "Cannot resolve keyword 'variables' into field."}),
    );
    let r = get(&app, "/api/v2/inventories/1/", "admin").await;
    assert_eq!(r.json(), inventory(1, "i1", 2));
    let r = get(&app, "/api/v2/inventories/?name=i1", "admin").await;
    assert_eq!(r.json(), page_of(vec![inventory(1, "i1", 2)]));
    let r = get(&app, "/api/v2/inventories/1/hosts/?name=h2", "admin").await;
    assert_eq!(r.json(), page_of(vec![host(2, "h2", 1)]));
}

async fn the_documented_first_call_with_a_new_token_creates_a_host(app: TestApp) {
    app.admin().await;
    create(&app, "/api/v2/inventories/", json!({"name": "i1"})).await;
    let (_, token) = app.create_pat("admin", PASSWORD, "write").await;
    let r = app
        .post("/api/v2/hosts/")
        .bearer(&token)
        .json(&json!({"name": "h1", "inventory": 1}))
        .send()
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json(), host(1, "h1", 1));
    // A read-scope token is refused before anything else, also for a superuser.
    let (_, read) = app.create_pat("admin", PASSWORD, "read").await;
    for (method, path) in [
        (Method::POST, "/api/v2/hosts/"),
        (Method::POST, "/api/v2/inventories/"),
        (Method::PATCH, "/api/v2/hosts/1/"),
        (Method::DELETE, "/api/v2/hosts/1/"),
        (Method::PUT, "/api/v2/inventories/1/"),
    ] {
        let r = app
            .req(method.clone(), path)
            .bearer(&read)
            .json(&json!({"name": "h2", "inventory": 1}))
            .send()
            .await;
        assert_generic_403(&r);
        assert_eq!(
            r.header("www-authenticate"),
            Some(format!("{CHALLENGE}, error=\"insufficient_scope\"")),
            "{method} {path}"
        );
    }
    let r = app.get("/api/v2/hosts/").bearer(&read).send().await;
    assert_eq!(r.json(), page_of(vec![host(1, "h1", 1)]));
}

async fn reads_are_open_and_writes_are_for_superusers(app: TestApp) {
    app.admin().await;
    app.user("bob").await;
    app.auditor("audrey").await;
    create(&app, "/api/v2/inventories/", json!({"name": "i1"})).await;
    create(
        &app,
        "/api/v2/hosts/",
        json!({"name": "h1", "inventory": 1}),
    )
    .await;
    for user in ["bob", "audrey"] {
        let r = get(&app, "/api/v2/hosts/", user).await;
        assert_eq!(r.json(), page_of(vec![host(1, "h1", 1)]), "{user}");
        assert_eq!(
            get(&app, "/api/v2/hosts/1/", user).await.json(),
            host(1, "h1", 1)
        );
        assert_eq!(
            get(&app, "/api/v2/inventories/", user).await.json(),
            page_of(vec![inventory(1, "i1", 1)])
        );
        for (method, path) in [
            (Method::POST, "/api/v2/hosts/"),
            (Method::PUT, "/api/v2/hosts/1/"),
            (Method::PATCH, "/api/v2/hosts/1/"),
            (Method::DELETE, "/api/v2/hosts/1/"),
            (Method::POST, "/api/v2/inventories/"),
            (Method::PATCH, "/api/v2/inventories/1/"),
            (Method::DELETE, "/api/v2/inventories/1/"),
        ] {
            let r = app
                .req(method.clone(), path)
                .basic(user, PASSWORD)
                .json(&json!({"name": "x", "inventory": 1}))
                .send()
                .await;
            assert_eq!(r.status, 403, "{user} {method} {path}");
            assert_eq!(r.json(), json!({"detail": NO_PERMISSION}));
        }
        // A missing object is 404 before the permission check, as in DRF.
        let r = app
            .patch("/api/v2/hosts/99/")
            .basic(user, PASSWORD)
            .json(&json!({}))
            .send()
            .await;
        assert_eq!(r.status, 404);
    }
    assert_eq!(
        get(&app, "/api/v2/hosts/1/", "admin").await.json(),
        host(1, "h1", 1),
        "nothing changed"
    );
    for path in [
        "/api/v2/hosts/",
        "/api/v2/hosts/1/",
        "/api/v2/inventories/1/hosts/",
    ] {
        assert_generic_401(&app.get(path).send().await);
    }
}

async fn validation_messages_match_awx(app: TestApp) {
    app.admin().await;
    create(&app, "/api/v2/inventories/", json!({"name": "i1"})).await;
    let long = "x".repeat(513);
    let cases = [
        (
            "/api/v2/inventories/",
            json!({}),
            json!({"name": ["This field is required."]}),
        ),
        (
            "/api/v2/inventories/",
            json!({"name": "  "}),
            json!({"name": ["This field may not be blank."]}),
        ),
        (
            "/api/v2/inventories/",
            json!({"name": long}),
            json!({"name": ["Ensure this field has no more than 512 characters."]}),
        ),
        (
            "/api/v2/inventories/",
            json!({"name": "i1"}),
            json!({"name": ["Inventory with this Name already exists."]}),
        ),
        (
            "/api/v2/inventories/",
            json!({"name": "i2", "organization": 2}),
            json!({"organization": ["Invalid pk \"2\" - object does not exist."]}),
        ),
        (
            "/api/v2/inventories/",
            json!({"name": "i2", "organization": "Default"}),
            json!({"organization": ["Incorrect type. Expected pk value, received str."]}),
        ),
        (
            "/api/v2/inventories/",
            json!({"name": ["i2"], "variables": {"a": 1}}),
            json!({"name": ["Not a valid string."], "variables": ["Not a valid string."]}),
        ),
        (
            "/api/v2/hosts/",
            json!({}),
            json!({"name": ["This field is required."], "inventory": ["This field is required."]}),
        ),
        (
            "/api/v2/hosts/",
            json!({"name": "h1", "inventory": 999}),
            json!({"inventory": ["Invalid pk \"999\" - object does not exist."]}),
        ),
        (
            "/api/v2/hosts/",
            json!({"name": "", "inventory": null, "enabled": "maybe"}),
            json!({"name": ["This field may not be blank."], "inventory": ["This field may not be null."],
                   "enabled": ["Must be a valid boolean."]}),
        ),
        (
            "/api/v2/hosts/",
            json!({"name": "h1", "inventory": true, "instance_id": "i".repeat(1025)}),
            json!({"inventory": ["Incorrect type. Expected pk value, received bool."],
                   "instance_id": ["Ensure this field has no more than 1024 characters."]}),
        ),
    ];
    for (path, body, expected) in cases {
        let r = post(&app, path, "admin", body.clone()).await;
        assert_400(&r, expected.clone());
        assert_eq!(keys(&r.json()), keys(&expected), "{body}");
    }
    create(
        &app,
        "/api/v2/hosts/",
        json!({"name": "h1", "inventory": "1"}),
    )
    .await;
    let r = post(
        &app,
        "/api/v2/hosts/",
        "admin",
        json!({"name": "h1", "inventory": 1}),
    )
    .await;
    assert_400(
        &r,
        json!({"__all__": ["Host with this Name and Inventory already exists."]}),
    );
    // The same name in another inventory is fine; organization 1 is the Default one. (Its
    // id is read back: PostgreSQL spends ids on the refused inserts above.)
    let i2 = create(
        &app,
        "/api/v2/inventories/",
        json!({"name": "i2", "organization": 1}),
    )
    .await;
    assert_eq!(i2["organization"], 1);
    let h1 = create(
        &app,
        "/api/v2/hosts/",
        json!({"name": "h1", "inventory": i2["id"]}),
    )
    .await;
    assert_eq!(h1["inventory"], i2["id"]);
    // Malformed JSON and non-objects are AWX's 400s, never a 500.
    let r = app
        .post("/api/v2/hosts/")
        .basic("admin", PASSWORD)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await;
    assert_eq!(r.status, 400);
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap()
            .starts_with("JSON parse error - ")
    );
    let r = post(&app, "/api/v2/hosts/", "admin", json!([1])).await;
    assert_400(
        &r,
        json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
    );
}

async fn hosts_are_changed_replaced_and_deleted(app: TestApp) {
    app.admin().await;
    create(&app, "/api/v2/inventories/", json!({"name": "i1"})).await;
    create(&app, "/api/v2/inventories/", json!({"name": "i2"})).await;
    create(
        &app,
        "/api/v2/hosts/",
        json!({"name": "h1", "inventory": 1, "description": "web", "instance_id": "i-1",
               "variables": "{\"ansible_host\": \"10.0.0.1\"}", "enabled": false}),
    )
    .await;
    create(
        &app,
        "/api/v2/hosts/",
        json!({"name": "h2", "inventory": 1}),
    )
    .await;
    app.clock.advance(time::Duration::seconds(5));
    let later = "2026-03-01T12:00:05.000000Z";

    let r = app
        .patch("/api/v2/hosts/1/")
        .basic("admin", PASSWORD)
        .json(&json!({"enabled": true, "id": 77, "type": "nope"}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let mut expected = host(1, "h1", 1);
    expected["description"] = json!("web");
    expected["instance_id"] = json!("i-1");
    expected["variables"] = json!("{\"ansible_host\": \"10.0.0.1\"}");
    expected["modified"] = json!(later);
    assert_eq!(r.json(), expected);

    // PUT replaces: omitted fields take their defaults.
    let r = app
        .req(Method::PUT, "/api/v2/hosts/1/")
        .basic("admin", PASSWORD)
        .json(&json!({"name": "h1b", "inventory": 2}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let mut expected = host(1, "h1b", 2);
    expected["modified"] = json!(later);
    assert_eq!(r.json(), expected);
    assert_eq!(
        get(&app, "/api/v2/hosts/1/", "admin").await.json(),
        expected
    );
    assert_eq!(
        get(&app, "/api/v2/inventories/2/", "admin").await.json()["total_hosts"],
        1
    );
    let r = app
        .req(Method::PUT, "/api/v2/hosts/1/")
        .basic("admin", PASSWORD)
        .json(&json!({"description": "x"}))
        .send()
        .await;
    assert_400(
        &r,
        json!({"name": ["This field is required."], "inventory": ["This field is required."]}),
    );
    for (body, expected) in [
        (
            json!({"inventory": 999}),
            json!({"inventory": ["Invalid pk \"999\" - object does not exist."]}),
        ),
        (
            json!({"name": "h2", "inventory": 1}),
            json!({"__all__": ["Host with this Name and Inventory already exists."]}),
        ),
        (
            json!({"name": ""}),
            json!({"name": ["This field may not be blank."]}),
        ),
    ] {
        let r = app
            .patch("/api/v2/hosts/1/")
            .basic("admin", PASSWORD)
            .json(&body)
            .send()
            .await;
        assert_400(&r, expected);
    }

    let r = app
        .delete("/api/v2/hosts/1/")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 204);
    assert!(r.body.is_empty());
    for method in [Method::GET, Method::PATCH, Method::DELETE] {
        let r = app
            .req(method.clone(), "/api/v2/hosts/1/")
            .basic("admin", PASSWORD)
            .json(&json!({}))
            .send()
            .await;
        assert_eq!(r.status, 404, "{method}");
        assert_eq!(r.json(), json!({"detail": "Not found."}));
    }
    for path in [
        "/api/v2/hosts/h2/",
        "/api/v2/hosts/-1/",
        "/api/v2/hosts/99999999999999999999/",
    ] {
        assert_eq!(get(&app, path, "admin").await.status, 404, "{path}");
    }
}

async fn inventories_are_changed_and_deleting_one_deletes_its_hosts(app: TestApp) {
    app.admin().await;
    create(
        &app,
        "/api/v2/inventories/",
        json!({"name": "i1", "organization": 1, "description": "d", "variables": "a: 1"}),
    )
    .await;
    create(&app, "/api/v2/inventories/", json!({"name": "i2"})).await;
    create(
        &app,
        "/api/v2/hosts/",
        json!({"name": "h1", "inventory": 1}),
    )
    .await;
    create(
        &app,
        "/api/v2/hosts/",
        json!({"name": "h2", "inventory": 2}),
    )
    .await;
    let r = get(&app, "/api/v2/inventories/?organization=1", "admin").await;
    assert_eq!(r.json()["count"], 1);
    let r = get(&app, "/api/v2/inventories/?organization=null", "admin").await;
    assert_eq!(r.json(), page_of(vec![inventory(2, "i2", 1)]));

    let r = app
        .patch("/api/v2/inventories/1/")
        .basic("admin", PASSWORD)
        .json(&json!({"organization": null, "total_hosts": 40}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    let mut expected = inventory(1, "i1", 1);
    expected["description"] = json!("d");
    expected["variables"] = json!("a: 1");
    assert_eq!(r.json(), expected);
    let r = app
        .patch("/api/v2/inventories/2/")
        .basic("admin", PASSWORD)
        .json(&json!({"name": "i1"}))
        .send()
        .await;
    assert_400(
        &r,
        json!({"name": ["Inventory with this Name already exists."]}),
    );

    let r = app
        .delete("/api/v2/inventories/1/")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        get(&app, "/api/v2/inventories/1/", "admin").await.status,
        404
    );
    assert_eq!(get(&app, "/api/v2/hosts/1/", "admin").await.status, 404);
    let r = get(&app, "/api/v2/inventories/1/hosts/", "admin").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json(), json!({"detail": "Not found."}));
    assert_eq!(
        get(&app, "/api/v2/hosts/", "admin").await.json(),
        page_of(vec![host(2, "h2", 2)])
    );
    assert_eq!(
        get(&app, "/api/v2/inventories/2/hosts/", "admin")
            .await
            .json(),
        page_of(vec![host(2, "h2", 2)])
    );
    let r = post(
        &app,
        "/api/v2/inventories/2/hosts/",
        "admin",
        json!({"name": "h3"}),
    )
    .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow").as_deref(), Some(READ_ONLY));
}

fn hosts_get() -> Value {
    json!({
        "id": {"type": "integer", "label": "ID", "filterable": true},
        "name": {"type": "string", "label": "Name", "filterable": true},
        "description": {"type": "string", "label": "Description", "filterable": true},
        "inventory": {"type": "id", "label": "Inventory", "filterable": true},
        "enabled": {"type": "boolean", "label": "Enabled",
                    "help_text": "Is this host online and available for running jobs?", "filterable": true},
        "instance_id": {"type": "string", "label": "Instance ID",
                        "help_text": "The value used by the remote inventory source to uniquely identify the host",
                        "filterable": true},
        "variables": {"type": "json", "label": "Variables", "help_text": "Variables in JSON or YAML format.",
                      "filterable": false},
        "created": {"type": "datetime", "label": "Created", "filterable": true},
        "modified": {"type": "datetime", "label": "Modified", "filterable": true},
    })
}

fn hosts_write() -> Value {
    json!({
        "name": {"type": "string", "label": "Name", "required": true, "max_length": 512},
        "description": {"type": "string", "label": "Description", "required": false, "default": ""},
        "inventory": {"type": "id", "label": "Inventory", "required": true},
        "enabled": {"type": "boolean", "label": "Enabled",
                    "help_text": "Is this host online and available for running jobs?",
                    "required": false, "default": true},
        "instance_id": {"type": "string", "label": "Instance ID",
                        "help_text": "The value used by the remote inventory source to uniquely identify the host",
                        "required": false, "max_length": 1024, "default": ""},
        "variables": {"type": "json", "label": "Variables", "help_text": "Variables in JSON or YAML format.",
                      "required": false, "default": ""},
    })
}

const HOSTS_DESCRIPTION: &str = "Hosts of the minimal inventory registry.";

async fn host_options_follow_the_caller_and_the_object(app: TestApp) {
    app.admin().await;
    app.user("bob").await;
    // Detail OPTIONS answer 200 before the object exists (the AWX CLI probes `…/1/`).
    for user in ["admin", "bob"] {
        let r = options(&app, "/api/v2/hosts/1/", user).await;
        assert_eq!(r.status, 200, "{user}");
        assert_eq!(r.header("allow").as_deref(), Some(DETAIL_ALLOW));
        assert_shape(
            &r.json(),
            &document(
                "Host Detail",
                HOSTS_DESCRIPTION,
                json!({"GET": hosts_get()}),
            ),
        );
    }
    let r = options(&app, "/api/v2/hosts/", "admin").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("allow").as_deref(), Some(LIST_CREATE));
    assert_shape(
        &r.json(),
        &document(
            "Hosts",
            HOSTS_DESCRIPTION,
            json!({"GET": hosts_get(), "POST": hosts_write()}),
        ),
    );
    let r = options(&app, "/api/v2/hosts/", "bob").await;
    assert_shape(
        &r.json(),
        &document("Hosts", HOSTS_DESCRIPTION, json!({"GET": hosts_get()})),
    );

    create(&app, "/api/v2/inventories/", json!({"name": "i1"})).await;
    create(
        &app,
        "/api/v2/hosts/",
        json!({"name": "h1", "inventory": 1}),
    )
    .await;
    let r = options(&app, "/api/v2/hosts/1/", "admin").await;
    assert_shape(
        &r.json(),
        &document(
            "Host Detail",
            HOSTS_DESCRIPTION,
            json!({"GET": hosts_get(), "PUT": hosts_write()}),
        ),
    );
    let r = options(&app, "/api/v2/hosts/1/", "bob").await;
    assert_eq!(keys(&r.json()["actions"]), ["GET"]);
    let r = options(&app, "/api/v2/hosts/abc/", "admin").await;
    assert_eq!(r.status, 200);
    assert_eq!(keys(&r.json()["actions"]), ["GET"]);

    let r = options(&app, "/api/v2/inventories/1/hosts/", "admin").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("allow").as_deref(), Some(READ_ONLY));
    assert_shape(
        &r.json(),
        &document(
            "Inventory Hosts List",
            "Hosts of one inventory.",
            json!({"GET": hosts_get()}),
        ),
    );
    assert_generic_401(&app.req(Method::OPTIONS, "/api/v2/hosts/1/").send().await);
    assert_generic_401(&app.req(Method::OPTIONS, "/api/v2/hosts/").send().await);
}

async fn inventory_options_list_their_fields(app: TestApp) {
    app.admin().await;
    let get = json!({
        "id": {"type": "integer", "label": "ID", "filterable": true},
        "name": {"type": "string", "label": "Name", "filterable": true},
        "description": {"type": "string", "label": "Description", "filterable": true},
        "organization": {"type": "id", "label": "Organization",
                         "help_text": "Organization containing this inventory.", "filterable": true},
        "kind": {"type": "choice", "label": "Kind", "help_text": "Kind of inventory being represented.",
                 "filterable": true, "choices": [["", "Hosts have a direct link to this inventory."],
                            ["smart", "Hosts for inventory generated using the host_filter property."],
                            ["constructed", "Parse list of source inventories with the constructed plugin."]]},
        "variables": {"type": "json", "label": "Variables", "help_text": "Variables in JSON or YAML format.",
                      "filterable": false},
        "total_hosts": {"type": "integer", "label": "Total hosts",
                        "help_text": "Total number of hosts in this inventory.", "filterable": false},
        "created": {"type": "datetime", "label": "Created", "filterable": true},
        "modified": {"type": "datetime", "label": "Modified", "filterable": true},
    });
    let post = json!({
        "name": {"type": "string", "label": "Name", "required": true, "max_length": 512},
        "description": {"type": "string", "label": "Description", "required": false, "default": ""},
        "organization": {"type": "id", "label": "Organization",
                         "help_text": "Organization containing this inventory.", "required": false,
                         "default": null},
        "kind": {"type": "choice", "label": "Kind", "help_text": "Kind of inventory being represented.",
                 "required": false, "default": "", "choices": [["", "Hosts have a direct link to this inventory."],
                            ["smart", "Hosts for inventory generated using the host_filter property."],
                            ["constructed", "Parse list of source inventories with the constructed plugin."]]},
        "variables": {"type": "json", "label": "Variables", "help_text": "Variables in JSON or YAML format.",
                      "required": false, "default": ""},
    });
    let description = "Inventories of the minimal inventory registry.";
    let r = options(&app, "/api/v2/inventories/", "admin").await;
    assert_eq!(r.header("allow").as_deref(), Some(LIST_CREATE));
    assert_shape(
        &r.json(),
        &document(
            "Inventories",
            description,
            json!({"GET": get, "POST": post}),
        ),
    );
    let r = options(&app, "/api/v2/inventories/1/", "admin").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("allow").as_deref(), Some(DETAIL_ALLOW));
    assert_shape(
        &r.json(),
        &document("Inventory Detail", description, json!({"GET": get})),
    );
    create(&app, "/api/v2/inventories/", json!({"name": "i1"})).await;
    let r = options(&app, "/api/v2/inventories/1/", "admin").await;
    assert_shape(
        &r.json(),
        &document(
            "Inventory Detail",
            description,
            json!({"GET": get, "PUT": post}),
        ),
    );
}

async fn lists_clamp_the_page_size_and_link_pages_relatively(app: TestApp) {
    app.admin().await;
    for i in 0..205 {
        app.insert_user(&format!("user{i:03}"), None, false, None)
            .await;
    }
    let r = get(&app, "/api/v2/users/?page_size=500", "admin").await;
    assert_eq!(r.status, 200);
    let body = r.json();
    assert_eq!(body["count"], 206);
    assert_eq!(body["results"].as_array().unwrap().len(), 200);
    assert_eq!(body["next"], "/api/v2/users/?page_size=500&page=2");
    assert_eq!(body["previous"], Value::Null);
    let r = get(&app, body["next"].as_str().unwrap(), "admin").await;
    let body = r.json();
    assert_eq!(body["results"].as_array().unwrap().len(), 6);
    assert_eq!(body["next"], Value::Null);
    assert_eq!(body["previous"], "/api/v2/users/?page_size=500&page=1");
    assert_eq!(body["results"][5]["username"], "user204");
    let r = get(&app, "/api/v2/users/?count_disabled=1&page_size=2", "admin").await;
    assert_eq!(keys(&r.json()), ["results"]);
    assert_eq!(r.json()["results"].as_array().unwrap().len(), 2);
    let r = get(&app, "/api/v2/users/?page=999", "admin").await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json(), json!({"detail": "Invalid page."}));

    // The same envelope on hosts, with the other parameters kept in the links.
    create(&app, "/api/v2/inventories/", json!({"name": "i1"})).await;
    create(
        &app,
        "/api/v2/hosts/",
        json!({"name": "h1", "inventory": 1}),
    )
    .await;
    create(
        &app,
        "/api/v2/hosts/",
        json!({"name": "h2", "inventory": 1}),
    )
    .await;
    let r = get(&app, "/api/v2/hosts/?inventory=1&page_size=1", "admin").await;
    assert_eq!(
        r.json(),
        json!({"count": 2, "next": "/api/v2/hosts/?inventory=1&page_size=1&page=2", "previous": null,
               "results": [host(1, "h1", 1)]})
    );
    let r = get(
        &app,
        "/api/v2/hosts/?inventory=1&page_size=1&page=2",
        "admin",
    )
    .await;
    assert_eq!(
        r.json(),
        json!({"count": 2, "next": null, "previous": "/api/v2/hosts/?inventory=1&page_size=1&page=1",
               "results": [host(2, "h2", 1)]})
    );
}

on_both_backends!(
    every_stub_answers_get_and_options_and_refuses_writes,
    a_stub_without_its_slash_redirects_then_answers,
    the_default_organization_is_listed_and_filterable,
    a_superuser_creates_inventories_and_hosts_and_lists_them,
    the_documented_first_call_with_a_new_token_creates_a_host,
    reads_are_open_and_writes_are_for_superusers,
    validation_messages_match_awx,
    hosts_are_changed_replaced_and_deleted,
    inventories_are_changed_and_deleting_one_deletes_its_hosts,
    host_options_follow_the_caller_and_the_object,
    inventory_options_list_their_fields,
    lists_clamp_the_page_size_and_link_pages_relatively,
);
