//! What stock AWX clients (the `awx` CLI, `tower-cli`, the `awx.awx` collection) need beyond
//! the basic lists: `/api/v2/config/`, the inventory `kind`, AWX's filter syntax, named URLs
//! and the `Default` organization's users (`docs/awx-compat.md`).

use crate::harness::{PASSWORD, Resp, TestApp, assert_generic_401, assert_generic_403};
use crate::on_both_backends;
use serde_json::{Value, json};

async fn get(app: &TestApp, path: &str) -> Resp {
    app.get(path).basic("admin", PASSWORD).send().await
}

async fn post(app: &TestApp, path: &str, body: Value) -> Resp {
    app.post(path)
        .basic("admin", PASSWORD)
        .json(&body)
        .send()
        .await
}

/// Creates as `admin` and insists on the 201; the new object.
async fn create(app: &TestApp, path: &str, body: Value) -> Value {
    let r = post(app, path, body).await;
    assert_eq!(r.status, 201, "POST {path}: {}", r.text());
    r.json()
}

/// The `name` (or `username`) of each result of a list, after insisting on a 200.
#[track_caller]
fn names(r: &Resp) -> Vec<String> {
    assert_eq!(r.status, 200, "{}", r.text());
    let body = r.json();
    let results = body["results"].as_array().expect("results").clone();
    assert_eq!(body["count"], json!(results.len()), "{body}");
    results
        .iter()
        .map(|o| {
            o.get("name")
                .or_else(|| o.get("username"))
                .and_then(Value::as_str)
                .expect("a name")
                .to_owned()
        })
        .collect()
}

#[track_caller]
fn assert_detail_400(r: &Resp, detail: &str) {
    assert_eq!(r.status, 400, "{}", r.text());
    assert_eq!(r.json(), json!({ "detail": detail }));
}

async fn config_answers_authenticated_clients_like_awx(app: TestApp) {
    app.admin().await;
    app.user("bob").await;
    assert_generic_401(&app.get("/api/v2/config/").send().await);
    let r = app.get("/api/v2/").send().await;
    assert_eq!(r.json()["config"], json!("/api/v2/config/"));
    for user in ["admin", "bob"] {
        let r = app
            .get("/api/v2/config/")
            .basic(user, PASSWORD)
            .send()
            .await;
        assert_eq!(r.status, 200, "{}", r.text());
        let c = r.json();
        // What `tower-cli version` reads, and what awxkit's config page inspects.
        assert_eq!(c["version"], json!("22.2.0"));
        assert_eq!(c["license_info"]["license_type"], json!("open"));
        assert!(c["license_info"].is_object());
        assert_eq!(c["ansible_version"], json!("none"));
        assert_eq!(c["time_zone"], json!("UTC"));
        assert_eq!(c["project_base_dir"], json!("/var/lib/awx/projects/"));
        assert_eq!(c["analytics_status"], json!("off"));
        assert_eq!(c["eula"], json!(""));
    }
}

async fn inventories_carry_kind_and_accept_it_on_create_and_update(app: TestApp) {
    app.admin().await;
    let plain = create(&app, "/api/v2/inventories/", json!({"name": "inv1"})).await;
    assert_eq!(plain["kind"], json!(""));
    // The collection sends `"kind": null` when the task does not set it.
    let nulled = create(
        &app,
        "/api/v2/inventories/",
        json!({"name": "inv2", "organization": 1, "kind": null, "host_filter": null}),
    )
    .await;
    assert_eq!(nulled["kind"], json!(""));
    let smart = create(
        &app,
        "/api/v2/inventories/",
        json!({"name": "inv3", "kind": "smart"}),
    )
    .await;
    assert_eq!(smart["kind"], json!("smart"));
    let r = post(
        &app,
        "/api/v2/inventories/",
        json!({"name": "inv4", "kind": "bogus"}),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        r.json(),
        json!({"kind": ["\"bogus\" is not a valid choice."]})
    );

    // The collection's second run: find it, then PATCH the same fields back.
    let r = get(&app, "/api/v2/inventories/?organization=1&name=inv2").await;
    assert_eq!(names(&r), ["inv2"]);
    let found = r.json()["results"][0].clone();
    assert_eq!(found["kind"], json!(""));
    // The collection reports a change when a field it sent is missing from the answer.
    assert_eq!(found.get("host_filter"), Some(&Value::Null));
    let url = found["url"].as_str().expect("url").to_owned();
    let r = app
        .patch(&url)
        .basic("admin", PASSWORD)
        .json(&json!({"name": "inv2", "organization": 1, "kind": null, "host_filter": null}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["kind"], json!(""));
    let r = app
        .patch(&url)
        .basic("admin", PASSWORD)
        .json(&json!({"kind": "constructed"}))
        .send()
        .await;
    assert_eq!(r.json()["kind"], json!("constructed"));
    assert_eq!(get(&app, &url).await.json()["kind"], json!("constructed"));
    let r = get(&app, "/api/v2/inventories/?kind=").await;
    assert_eq!(names(&r), ["inv1"]);
    let r = app
        .req(axum::http::Method::OPTIONS, "/api/v2/inventories/")
        .basic("admin", PASSWORD)
        .send()
        .await;
    let post = &r.json()["actions"]["POST"]["kind"];
    assert_eq!(post["type"], json!("choice"), "{post}");
    assert_eq!(post["default"], json!(""));
}

async fn lists_accept_awx_lookups_prefixes_and_search(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    app.user("Bob").await;
    let web = create(
        &app,
        "/api/v2/inventories/",
        json!({"name": "web", "description": "Front end", "organization": 1}),
    )
    .await;
    create(
        &app,
        "/api/v2/inventories/",
        json!({"name": "db", "description": "storage"}),
    )
    .await;
    let web_id = web["id"].as_i64().expect("id");
    for name in ["h1", "h2", "other"] {
        create(
            &app,
            "/api/v2/hosts/",
            json!({"name": name, "inventory": web_id, "enabled": name != "h2"}),
        )
        .await;
    }
    let cases: Vec<(String, Vec<&str>)> = vec![
        // How the collection finds objects by name or id.
        (
            format!("/api/v2/inventories/?or__id={web_id}&or__name={web_id}"),
            vec!["web"],
        ),
        (
            "/api/v2/inventories/?or__id=db&or__name=db".into(),
            vec!["db"],
        ),
        ("/api/v2/inventories/?name__exact=db".into(), vec!["db"]),
        ("/api/v2/inventories/?name__iexact=WEB".into(), vec!["web"]),
        (
            "/api/v2/inventories/?description__contains=end".into(),
            vec!["web"],
        ),
        (
            "/api/v2/inventories/?description__contains=END".into(),
            vec![],
        ),
        (
            "/api/v2/inventories/?description__icontains=END".into(),
            vec!["web"],
        ),
        (
            "/api/v2/inventories/?name__startswith=w".into(),
            vec!["web"],
        ),
        (
            "/api/v2/inventories/?name__istartswith=D".into(),
            vec!["db"],
        ),
        (
            "/api/v2/inventories/?name__endswith=b".into(),
            vec!["web", "db"],
        ),
        (
            "/api/v2/inventories/?description__iendswith=AGE".into(),
            vec!["db"],
        ),
        ("/api/v2/inventories/?name__in=db,nope".into(), vec!["db"]),
        (
            "/api/v2/inventories/?organization__isnull=true".into(),
            vec!["db"],
        ),
        (
            "/api/v2/inventories/?organization__isnull=0".into(),
            vec!["web"],
        ),
        (
            "/api/v2/inventories/?not__organization=1".into(),
            vec!["db"],
        ),
        (format!("/api/v2/inventories/?id__gt={web_id}"), vec!["db"]),
        (
            format!("/api/v2/inventories/?id__gte={web_id}"),
            vec!["web", "db"],
        ),
        (format!("/api/v2/inventories/?id__lt={web_id}"), vec![]),
        (
            format!("/api/v2/inventories/?id__lte={web_id}"),
            vec!["web"],
        ),
        (
            "/api/v2/inventories/?chain__name__contains=b&chain__not__name=db".into(),
            vec!["web"],
        ),
        ("/api/v2/inventories/?search=STORAGE".into(), vec!["db"]),
        ("/api/v2/inventories/?search=front,web".into(), vec!["web"]),
        ("/api/v2/inventories/?search=front&search=db".into(), vec![]),
        (
            format!("/api/v2/hosts/?inventory={web_id}&name__startswith=h&not__enabled=false"),
            vec!["h1"],
        ),
        (
            format!("/api/v2/inventories/{web_id}/hosts/?or__name=h2&or__name=other"),
            vec!["h2", "other"],
        ),
        ("/api/v2/users/?username__iexact=bob".into(), vec!["Bob"]),
        (
            "/api/v2/users/?username__in=admin,alice&order_by=-username".into(),
            vec!["alice", "admin"],
        ),
        (
            "/api/v2/users/?or__id=alice&or__username=alice".into(),
            vec!["alice"],
        ),
        ("/api/v2/users/?search=ALI".into(), vec!["alice"]),
        (
            "/api/v2/users/?is_superuser=false&not__username__startswith=a".into(),
            vec!["Bob"],
        ),
        (
            "/api/v2/users/?last_login__isnull=true&username__contains=o".into(),
            vec!["Bob"],
        ),
        (
            "/api/v2/organizations/?or__id=Default&or__name=Default".into(),
            vec!["Default"],
        ),
        (
            "/api/v2/organizations/?name__icontains=fault&id__in=1,2".into(),
            vec!["Default"],
        ),
        ("/api/v2/organizations/?not__name=Default".into(), vec![]),
        ("/api/v2/organizations/?search=def".into(), vec!["Default"]),
        ("/api/v2/projects/?name__icontains=x".into(), vec![]),
        (
            "/api/v2/settings/?slug__in=all,ldap".into(),
            vec!["All", "LDAP"],
        ),
    ];
    for (path, expected) in cases {
        let r = get(&app, &path).await;
        assert_eq!(names(&r), expected, "{path}");
    }
    // Unknown fields keep AWX's 400; so do lookups it lacks and non-boolean isnull values.
    for (path, detail) in [
        (
            "/api/v2/inventories/?nope=1",
            "Cannot resolve keyword 'nope' into field.",
        ),
        (
            "/api/v2/inventories/?or__nope=1",
            "Cannot resolve keyword 'nope' into field.",
        ),
        (
            "/api/v2/inventories/?not__nope__icontains=1",
            "Cannot resolve keyword 'nope__icontains' into field.",
        ),
        (
            "/api/v2/users/?password__startswith=x",
            "Cannot resolve keyword 'password__startswith' into field.",
        ),
        (
            "/api/v2/organizations/?name__regex=x",
            "Unsupported lookup 'regex' for field 'name'.",
        ),
        (
            "/api/v2/hosts/?name__isnull=maybe",
            "Unable to convert \"maybe\" to boolean",
        ),
    ] {
        assert_detail_400(&get(&app, path).await, detail);
    }
    // Lists whose store takes exact matches only say so rather than ignore a lookup.
    let r = get(&app, "/api/v2/tokens/?description__icontains=x").await;
    assert_detail_400(&r, "This list accepts only exact-match filters.");
    let r = get(&app, "/api/v2/tokens/?description=x").await;
    assert_eq!(r.status, 200);
}

async fn named_urls_find_inventories_hosts_users_and_the_default_organization(app: TestApp) {
    app.admin().await;
    app.user("alice").await;
    let inv1 = create(
        &app,
        "/api/v2/inventories/",
        json!({"name": "inv1", "organization": 1}),
    )
    .await;
    let loose = create(&app, "/api/v2/inventories/", json!({"name": "a+b c"})).await;
    let h1 = create(
        &app,
        "/api/v2/hosts/",
        json!({"name": "h1", "inventory": inv1["id"]}),
    )
    .await;
    let found = |path: &'static str, expected: Value| {
        let app = &app;
        async move {
            let r = get(app, path).await;
            assert_eq!(r.status, 200, "{path}: {}", r.text());
            assert_eq!(r.json()["id"], expected["id"], "{path}");
        }
    };
    found("/api/v2/inventories/inv1++Default/", inv1.clone()).await;
    // `[+]` is a literal `+`; an inventory without organization ends in `++`.
    found("/api/v2/inventories/a%5B+%5Db%20c++/", loose.clone()).await;
    found("/api/v2/hosts/h1++inv1++Default/", h1.clone()).await;
    let r = get(&app, "/api/v2/inventories/inv1++Default/hosts/").await;
    assert_eq!(names(&r), ["h1"]);
    let r = get(&app, "/api/v2/organizations/Default/").await;
    assert_eq!(r.json()["id"], json!(1));
    let r = get(&app, "/api/v2/users/alice/").await;
    assert_eq!(r.json()["username"], json!("alice"));
    for path in [
        "/api/v2/inventories/inv1++/",
        "/api/v2/inventories/inv1++Other/",
        "/api/v2/inventories/inv1/",
        "/api/v2/inventories/inv1+Default/",
        "/api/v2/inventories/a+b%20c++/",
        "/api/v2/hosts/h1++inv1/",
        "/api/v2/hosts/h2++inv1++Default/",
        "/api/v2/organizations/Other/",
        "/api/v2/organizations/Default++/",
    ] {
        let r = get(&app, path).await;
        assert_eq!(r.status, 404, "{path}: {}", r.text());
        assert_eq!(r.json(), json!({"detail": "Not found."}), "{path}");
    }
    // Named URLs work for writes too.
    let r = app
        .patch("/api/v2/hosts/h1++inv1++Default/")
        .basic("admin", PASSWORD)
        .json(&json!({"description": "renamed by named URL"}))
        .send()
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["description"], json!("renamed by named URL"));
    let r = app
        .delete("/api/v2/inventories/a%5B+%5Db%20c++/")
        .basic("admin", PASSWORD)
        .send()
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        get(&app, "/api/v2/inventories/a%5B+%5Db%20c++/")
            .await
            .status,
        404
    );
}

async fn organization_users_associate_and_disassociate_like_awx(app: TestApp) {
    app.admin().await;
    let alice = app.user("alice").await;
    app.user("bob").await;
    let list = "/api/v2/organizations/1/users/";
    assert_eq!(names(&get(&app, list).await), Vec::<String>::new());
    for _ in 0..2 {
        let r = post(&app, list, json!({"id": alice.id.0})).await;
        assert_eq!(r.status, 204, "{}", r.text());
    }
    assert_eq!(names(&get(&app, list).await), ["alice"]);
    assert_eq!(
        names(
            &get(
                &app,
                "/api/v2/organizations/Default/users/?username__startswith=b"
            )
            .await
        ),
        Vec::<String>::new()
    );
    // A body without an id creates the user and associates it (the collection's `user`
    // module with `organization:`).
    let r = post(
        &app,
        list,
        json!({"username": "carol", "password": "a-long-password-1", "email": "c@example.com"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.text());
    assert_eq!(r.json()["username"], json!("carol"));
    let carol = r.json()["id"].as_i64().expect("id");
    assert_eq!(
        r.header("location"),
        Some(format!("/api/v2/users/{carol}/"))
    );
    assert_eq!(names(&get(&app, list).await), ["alice", "carol"]);

    let r = post(&app, list, json!({"id": alice.id.0, "disassociate": true})).await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert_eq!(
        names(&get(&app, "/api/v2/organizations/Default/users/").await),
        ["carol"]
    );

    for (body, expected) in [
        (
            json!({"id": "x"}),
            json!({"msg": "\"id\" field must be an integer."}),
        ),
        (
            json!({"id": 1.5}),
            json!({"msg": "\"id\" field must be an integer."}),
        ),
        (
            json!({"disassociate": true}),
            json!({"msg": "\"id\" is required to disassociate"}),
        ),
        (
            json!({"id": 9999}),
            json!({"detail": "User matching query does not exist."}),
        ),
        (
            json!({"username": ""}),
            json!({"username": ["This field may not be blank."]}),
        ),
    ] {
        let r = post(&app, list, body.clone()).await;
        assert_eq!(r.status, 400, "{body}: {}", r.text());
        assert_eq!(r.json(), expected, "{body}");
    }
    let r = app
        .post(list)
        .basic("bob", PASSWORD)
        .json(&json!({"id": alice.id.0}))
        .send()
        .await;
    assert_generic_403(&r);
    // A normal user sees only itself, as in /api/v2/users/.
    let r = app.get(list).basic("bob", PASSWORD).send().await;
    assert_eq!(names(&r), Vec::<String>::new());
    let r = get(&app, "/api/v2/organizations/2/users/").await;
    assert_eq!(r.status, 404);
    let r = app
        .post("/api/v2/organizations/2/users/")
        .basic("admin", PASSWORD)
        .json(&json!({"id": alice.id.0}))
        .send()
        .await;
    assert_eq!(r.status, 404);
    assert_generic_401(&app.get(list).send().await);
}

on_both_backends!(
    config_answers_authenticated_clients_like_awx,
    inventories_carry_kind_and_accept_it_on_create_and_update,
    lists_accept_awx_lookups_prefixes_and_search,
    named_urls_find_inventories_hosts_users_and_the_default_organization,
    organization_users_associate_and_disassociate_like_awx,
);
