//! The protected resource API (`docs/mdr-api.md`, "Resource API", "SOC-side data"): every
//! method, paging, sorting, filters, `fields`, `markdown_to_html`, tenant scope, incremental
//! sync by `update_time`, response decisions, comments, attachments, the history, the role
//! rule, the SOC-side console API and the demo loader.

use crate::harness::mdr::{MdrConn, multipart};
use crate::harness::{PASSWORD, Resp, TestApp};
use crate::on_both_backends;
use crate::on_both_backends_configured;
use axum::http::StatusCode;
use portcullis_server::service::mdr_resources;
use portcullis_server::service::mdr_session::{self, Actor, ConnectionInput};
use serde_json::{Value, json};
use std::collections::HashSet;
use time::Duration;

const ADMIN_ROLE: &str = "MDR Administrator";
const OFFICER: &str = "Security Officer";
const NOT_PERMITTED: &str = "operation not permitted for this API connection";
const BOUNDARY: &str = "----portcullis-test-boundary";

/// A customer with two tenants, 25 assets and an administrator connection.
struct World {
    client_id: String,
    berlin: String,
    paris: String,
    admin: MdrConn,
    /// The SOC's 201 bodies, in creation order.
    assets: Vec<Value>,
}

/// The tenant of asset `i`: Berlin, Paris, root in turn.
fn tenant_of(i: usize) -> Value {
    match i % 3 {
        0 => json!("Berlin"),
        1 => json!("Paris"),
        _ => Value::Null,
    }
}

/// `first_seen` of asset `i`: a permutation of 25 distinct instants, so creation order and
/// `first_seen` order differ.
fn first_seen(app: &TestApp, i: usize) -> i64 {
    let base = portcullis_core::clock::unix_ms(app.now()) - 30 * 86_400_000;
    base + ((i * 7) % 25) as i64 * 60_000
}

fn asset_body(app: &TestApp, i: usize) -> Value {
    let product = if i.is_multiple_of(2) { "KES" } else { "KSC" };
    json!({
        "host_name": format!("HOST-{i:02}"),
        "domain": if i.is_multiple_of(2) { "corp" } else { "lab" },
        "first_seen": first_seen(app, i),
        "last_seen": first_seen(app, i) + 3_600_000,
        "installed_product_info": "Kaspersky Endpoint Security 12.3",
        "isolation": i == 3,
        "isolation_task_id": if i == 3 { json!("task-3") } else { Value::Null },
        "ksc_host_id": format!("ksc-{i:02}"),
        "network_interfaces": [{
            "ip": format!("10.0.0.{i}"), "mac": format!("00-00-00-00-00-{i:02}"),
            "dnsd": "corp.example", "defg": "10.0.0.254", "dsc": "Ethernet", "ipcm": "255.255.255.0"
        }],
        "os_version": if i.is_multiple_of(4) { "Windows Server 2022" } else { "Windows 11 Pro" },
        "product_map": { product: {"version": "12.3"} },
        "status": if i.is_multiple_of(5) { "WARNING" } else { "OK" },
        "status_reasons": if i.is_multiple_of(5) { json!(["Databases are outdated"]) } else { json!([]) },
        "tenant_name": tenant_of(i),
    })
}

async fn world(app: &TestApp) -> World {
    app.admin().await;
    let client_id = app.mdr_customer("Acme").await;
    let berlin = app.mdr_tenant(&client_id, "Berlin").await;
    let paris = app.mdr_tenant(&client_id, "Paris").await;
    let mut assets = Vec::new();
    for i in 0..25 {
        assets.push(app.soc(&client_id, "assets", &asset_body(app, i)).await);
    }
    let admin = app
        .mdr_connection(&client_id, "SIEM export", ADMIN_ROLE, &[])
        .await;
    World {
        client_id,
        berlin,
        paris,
        admin,
        assets,
    }
}

impl World {
    fn asset_id(&self, i: usize) -> String {
        self.assets[i]["asset_id"].as_str().unwrap().to_owned()
    }

    fn host_entry(&self, i: usize) -> String {
        format!("HOST-{i:02}:{}", self.asset_id(i))
    }

    /// A SOC incident on asset `i` (in the asset's tenant).
    async fn incident(&self, app: &TestApp, i: usize, summary: &str, priority: &str) -> Value {
        let tenant = match i % 3 {
            0 => json!(self.berlin),
            1 => json!(self.paris),
            _ => Value::Null,
        };
        app.soc(
            &self.client_id,
            "incidents",
            &json!({
                "summary": summary,
                "description": format!("**{summary}** on HOST-{i:02}"),
                "priority": priority,
                "affected_asset_ids": [self.asset_id(i)],
                "tenant_id": tenant,
                "mitre_tactics": ["Execution"],
                "mitre_techniques": ["T1059"],
                "detection_technologies": ["EDR"],
            }),
        )
        .await
    }

    /// A SOC response on `incident` for asset `i`.
    async fn response(&self, app: &TestApp, incident: &str, i: usize, kind: &str) -> Value {
        app.soc(
            &self.client_id,
            &format!("incidents/{incident}/responses"),
            &json!({
                "type": kind,
                "parameters": {"reason": "containment"},
                "description": "Isolate the *host*",
                "asset_id": self.asset_id(i),
            }),
        )
        .await
    }
}

fn id(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key} in {v}"))
        .to_owned()
}

fn ids(v: &Value, key: &str) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|o| id(o, key))
        .collect()
}

fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

#[track_caller]
fn assert_error(r: &Resp, status: StatusCode, message: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(r.json(), json!({ "error": message }));
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
}

/// The response headers that do not vary per request (no request id, no timings).
fn stable_headers(r: &Resp) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = r
        .headers
        .iter()
        .filter(|(k, _)| !k.as_str().starts_with("x-api-"))
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect();
    v.sort();
    v
}

fn now_ms(app: &TestApp) -> i64 {
    portcullis_core::clock::unix_ms(app.now())
}

async fn upload(
    app: &TestApp,
    conn: &MdrConn,
    meta: Option<&Value>,
    file: Option<(&str, &[u8])>,
) -> Resp {
    let meta_text = meta.map(Value::to_string);
    let mut parts: Vec<(&str, Option<&str>, &[u8])> = Vec::new();
    if let Some(m) = &meta_text {
        parts.push(("meta", None, m.as_bytes()));
    }
    if let Some((name, bytes)) = file {
        parts.push(("file", Some(name), bytes));
    }
    app.post(&format!("/api/v1/{}/attachments/upload", conn.client_id))
        .bearer(&conn.access_token)
        .header(
            "content-type",
            &format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(multipart(BOUNDARY, &parts))
        .send()
        .await
}

/// Every `docs/mdr-api.md`, "Endpoints" path with a valid token and body answers 200; lists are
/// bare arrays.
async fn every_path(app: TestApp) {
    let w = world(&app).await;
    let inc = w.incident(&app, 0, "Malware", "HIGH").await;
    let incident_id = id(&inc, "incident_id");
    let r1 = id(
        &w.response(&app, &incident_id, 0, "network_isolate").await,
        "response_id",
    );
    let r2 = id(
        &w.response(&app, &incident_id, 0, "kill_process").await,
        "response_id",
    );
    let r3 = id(
        &w.response(&app, &incident_id, 0, "quarantine").await,
        "response_id",
    );
    let c = &w.admin;
    let asset_id = w.asset_id(0);

    let count = app.mdr_ok(c, "assets/count", &json!({})).await;
    assert_eq!(count, json!({"count": 25}));
    assert!(app.mdr_ok(c, "assets/list", &json!({})).await.is_array());
    assert_eq!(
        app.mdr_ok(c, "assets/details", &json!({"asset_id": asset_id}))
            .await["asset_id"],
        json!(asset_id)
    );
    assert_eq!(
        app.mdr_ok(c, "incidents/count", &json!({})).await,
        json!({"count": 1})
    );
    assert!(app.mdr_ok(c, "incidents/list", &json!({})).await.is_array());
    assert_eq!(
        app.mdr_ok(c, "incidents/details", &json!({"incident_id": incident_id}))
            .await["incident_id"],
        json!(incident_id)
    );
    let created = app
        .mdr_ok(
            c,
            "incidents/create",
            &json!({"affected_hosts": [w.host_entry(1)], "client_description": "Suspicious login", "summary": "Client report"}),
        )
        .await;
    assert!(
        app.mdr_ok(c, "incidents/history", &json!({"incident_id": incident_id}))
            .await
            .is_array()
    );
    assert!(
        app.mdr_ok(c, "responses/list", &json!({"incident_id": incident_id}))
            .await
            .is_array()
    );
    assert_eq!(
        app.mdr_ok(
            c,
            "response/update",
            &json!({"response_id": r1, "status": "Confirmed", "comment": "go"})
        )
        .await["status"],
        json!("Confirmed")
    );
    assert!(
        app.mdr_ok(
            c,
            "responses/update",
            &json!({"responses_ids": [r2, r3], "status": "Declined", "comment": "no"})
        )
        .await
        .is_array()
    );
    let comment = app
        .mdr_ok(
            c,
            "comments/create",
            &json!({"incident_id": incident_id, "text": "Looking into it"}),
        )
        .await;
    assert!(
        app.mdr_ok(c, "comments/list", &json!({"incident_id": incident_id}))
            .await
            .is_array()
    );
    assert_eq!(
        app.mdr_ok(
            c,
            "comments/delete",
            &json!({"comment_id": id(&comment, "comment_id")})
        )
        .await,
        json!({})
    );
    let up = upload(
        &app,
        c,
        Some(&json!({"incident_id": incident_id, "caption": "log"})),
        Some(("a.log", b"hello")),
    )
    .await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.text());
    assert!(
        app.mdr_ok(c, "attachments/list", &json!({"incident_id": incident_id}))
            .await
            .is_array()
    );
    let dl = app
        .mdr(
            c,
            "attachments/download",
            &json!({"attachment_id": id(&up.json(), "attachment_id")}),
        )
        .await;
    assert_eq!(dl.status, StatusCode::OK);
    assert_eq!(dl.body, b"hello");
    assert_eq!(
        app.mdr_ok(c, "incidents/close", &json!({"incident_id": id(&created, "incident_id"), "resolution_status": "FALSE_POSITIVE", "summary": "benign"}))
            .await["status"],
        json!("Closed")
    );
    // Every answer of the surface is uncacheable and JSON (except the download).
    let r = app.mdr(c, "assets/list", &json!({})).await;
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json; charset=utf-8")
    );
}

/// Paging with `page_size` 10 until `[]`.
async fn asset_paging(app: TestApp) {
    let w = world(&app).await;
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    for page in 1.. {
        let list = app
            .mdr_ok(
                &w.admin,
                "assets/list",
                &json!({"page": page, "page_size": 10}),
            )
            .await;
        let got = ids(&list, "asset_id");
        sizes.push(got.len());
        if got.is_empty() {
            break;
        }
        seen.extend(got);
    }
    assert_eq!(sizes, vec![10, 10, 5, 0]);
    let unique: HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), 25, "duplicates in {seen:?}");
    let all: HashSet<String> = (0..25).map(|i| w.asset_id(i)).collect();
    assert_eq!(seen.iter().cloned().collect::<HashSet<_>>(), all);
    // A page far past the end, a huge page size (clamped), and invalid paging keys.
    assert_eq!(
        app.mdr_ok(&w.admin, "assets/list", &json!({"page": 1000}))
            .await,
        json!([])
    );
    let big = app
        .mdr_ok(
            &w.admin,
            "assets/list",
            &json!({"page_size": 1_000_000_000}),
        )
        .await;
    assert_eq!(big.as_array().unwrap().len(), 25);
    assert_error(
        &app.mdr(&w.admin, "assets/list", &json!({"page": 0})).await,
        StatusCode::BAD_REQUEST,
        "invalid value for 'page'",
    );
    assert_error(
        &app.mdr(&w.admin, "assets/list", &json!({"page_size": "10"}))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid value for 'page_size'",
    );
}

/// `docs/mdr-api.md`, "Filters and enumerations": sort, filters, unknown keys ignored, bogus sort →
/// 400; `fields`; the exact asset object.
async fn asset_sort_filters(app: TestApp) {
    let w = world(&app).await;
    let c = &w.admin;
    // Exact object of asset 3 (Berlin, isolated).
    let d = app
        .mdr_ok(c, "assets/details", &json!({"asset_id": w.asset_id(3)}))
        .await;
    let fs = first_seen(&app, 3);
    assert_eq!(
        d,
        json!({
            "asset_id": w.asset_id(3), "host_name": "HOST-03", "domain": "lab",
            "first_seen": fs, "last_seen": fs + 3_600_000,
            "installed_product_info": "Kaspersky Endpoint Security 12.3",
            "isolation": true, "isolation_task_id": "task-3", "ksc_host_id": "ksc-03",
            "network_interfaces": [{"ip": "10.0.0.3", "mac": "00-00-00-00-00-03", "dnsd": "corp.example",
                                    "defg": "10.0.0.254", "dsc": "Ethernet", "ipcm": "255.255.255.0"}],
            "os_version": "Windows 11 Pro", "product_map": {"KSC": {"version": "12.3"}},
            "status": "OK", "status_reasons": [], "tenant_name": "Berlin",
        })
    );
    assert_eq!(d, w.assets[3], "the SOC's 201 body is the same object");

    // Default order is first_seen:asc; the explicit one too, with the unknown "version" key.
    let expect_asc: Vec<String> = {
        let mut v: Vec<usize> = (0..25).collect();
        v.sort_by_key(|i| first_seen(&app, *i));
        v.into_iter().map(|i| w.asset_id(i)).collect()
    };
    let dflt = app.mdr_ok(c, "assets/list", &json!({})).await;
    assert_eq!(ids(&dflt, "asset_id"), expect_asc);
    let asc = app
        .mdr_ok(
            c,
            "assets/list",
            &json!({"sort": "first_seen:asc", "version": 2}),
        )
        .await;
    assert_eq!(ids(&asc, "asset_id"), expect_asc);
    let desc = app
        .mdr_ok(c, "assets/list", &json!({"sort": "first_seen:desc"}))
        .await;
    let mut expect_desc = expect_asc.clone();
    expect_desc.reverse();
    assert_eq!(ids(&desc, "asset_id"), expect_desc);

    // Filtered and sorted: WARNING assets are 0, 5, 10, 15, 20.
    let warn = app
        .mdr_ok(
            c,
            "assets/list",
            &json!({"sort": "first_seen:asc", "statuses": ["WARNING"], "version": 2}),
        )
        .await;
    let mut expect: Vec<usize> = vec![0, 5, 10, 15, 20];
    expect.sort_by_key(|i| first_seen(&app, *i));
    assert_eq!(
        ids(&warn, "asset_id"),
        expect.iter().map(|i| w.asset_id(*i)).collect::<Vec<_>>()
    );
    let firsts: Vec<i64> = warn
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["first_seen"].as_i64().unwrap())
        .collect();
    assert!(firsts.windows(2).all(|p| p[0] < p[1]), "{firsts:?}");

    let count = |body: Value| {
        let app = &app;
        async move {
            app.mdr_ok(c, "assets/count", &body).await["count"]
                .as_i64()
                .unwrap()
        }
    };
    assert_eq!(count(json!({"statuses": ["WARNING"]})).await, 5);
    assert_eq!(count(json!({"domain": "corp"})).await, 13);
    assert_eq!(
        count(json!({"host_names": ["host-01", "HOST-02"]})).await,
        2
    );
    assert_eq!(count(json!({"is_isolated": true})).await, 1);
    assert_eq!(count(json!({"network_interface": "10.0.0.7"})).await, 1);
    assert_eq!(count(json!({"os_version": "server"})).await, 7);
    assert_eq!(count(json!({"product": "KSC"})).await, 12);
    assert_eq!(count(json!({"search_phrase": "outdated"})).await, 5);
    assert_eq!(count(json!({"search_phrase": "host-1"})).await, 10);
    assert_eq!(count(json!({"tenants_names": ["Paris"]})).await, 8);
    assert_eq!(
        count(json!({"tenants_names": ["Root without tenants"]})).await,
        8
    );
    let fs0 = first_seen(&app, 0);
    assert_eq!(
        count(json!({"min_first_seen": fs0, "max_first_seen": fs0 + 2 * 60_000})).await,
        3
    );
    assert_eq!(
        count(json!({"min_last_seen": fs0 + 3_600_000, "max_last_seen": fs0 + 3_600_000})).await,
        1
    );
    assert_eq!(
        count(json!({"statuses": []})).await,
        25,
        "an empty list constrains nothing"
    );
    let inc = w.incident(&app, 4, "Lateral movement", "HIGH").await;
    let related = app
        .mdr_ok(
            c,
            "assets/list",
            &json!({"related_incidents_ids": [id(&inc, "incident_id")]}),
        )
        .await;
    assert_eq!(ids(&related, "asset_id"), vec![w.asset_id(4)]);

    // fields keeps the id key; unknown names are ignored.
    let f = app
        .mdr_ok(
            c,
            "assets/list",
            &json!({"fields": ["host_name", "nonsense"], "page_size": 1}),
        )
        .await;
    assert_eq!(keys(&f[0]), vec!["asset_id", "host_name"]);
    let f = app
        .mdr_ok(
            c,
            "assets/details",
            &json!({"asset_id": w.asset_id(3), "fields": ["status"]}),
        )
        .await;
    assert_eq!(f, json!({"asset_id": w.asset_id(3), "status": "OK"}));

    for (body, key) in [
        (json!({"sort": "bogus:asc"}), "sort"),
        (json!({"sort": "first_seen"}), "sort"),
        (json!({"sort": "first_seen:up"}), "sort"),
        (json!({"statuses": ["FINE"]}), "statuses"),
        (json!({"statuses": "OK"}), "statuses"),
        (json!({"is_isolated": "yes"}), "is_isolated"),
        (json!({"min_first_seen": "yesterday"}), "min_first_seen"),
        (json!({"fields": "host_name"}), "fields"),
    ] {
        let r = app.mdr(c, "assets/list", &body).await;
        assert_error(
            &r,
            StatusCode::BAD_REQUEST,
            &format!("invalid value for '{key}'"),
        );
    }
    assert_error(
        &app.mdr(c, "assets/details", &json!({})).await,
        StatusCode::BAD_REQUEST,
        "'asset_id' is required",
    );
    assert_error(
        &app.mdr(
            c,
            "assets/details",
            &json!({"asset_id": "0x00000000000000000000000000000000"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "asset not found",
    );
}

/// `incidents/count` equals the number listed over all pages, same filter.
async fn incident_count_vs_pages(app: TestApp) {
    let w = world(&app).await;
    for i in 0..12 {
        let priority = ["LOW", "NORMAL", "HIGH"][i % 3];
        w.incident(&app, i, &format!("Incident {i}"), priority)
            .await;
        app.clock.advance(Duration::seconds(1));
    }
    for filter in [
        json!({}),
        json!({"priorities": ["HIGH"]}),
        json!({"priorities": ["HIGH", "LOW"], "statuses": ["Open"]}),
        json!({"tenants_names": ["Berlin"]}),
        json!({"search_phrase": "incident 1"}),
        json!({"asset_ids": [w.asset_id(2), w.asset_id(5)]}),
        json!({"affected_hosts": ["HOST-07"]}),
        json!({"mitre_tactics": ["Execution"]}),
        json!({"detection_technologies": ["EDR"], "mitre_techniques": ["T1059"]}),
    ] {
        let n = app.mdr_ok(&w.admin, "incidents/count", &filter).await["count"]
            .as_u64()
            .unwrap();
        let mut listed = Vec::new();
        for page in 1.. {
            let mut body = filter.clone();
            body["page"] = json!(page);
            body["page_size"] = json!(2);
            let got = ids(
                &app.mdr_ok(&w.admin, "incidents/list", &body).await,
                "incident_id",
            );
            if got.is_empty() {
                break;
            }
            listed.extend(got);
        }
        assert_eq!(n as usize, listed.len(), "filter {filter}");
        assert_eq!(
            listed.iter().collect::<HashSet<_>>().len(),
            listed.len(),
            "duplicates for {filter}"
        );
    }
    let high = app
        .mdr_ok(
            &w.admin,
            "incidents/count",
            &json!({"priorities": ["HIGH"]}),
        )
        .await;
    assert_eq!(high, json!({"count": 4}));
    let one = app
        .mdr_ok(
            &w.admin,
            "incidents/count",
            &json!({"affected_hosts": [w.host_entry(7)]}),
        )
        .await;
    assert_eq!(one, json!({"count": 1}));
    // Default order creation_time:asc; incident_number:desc reverses it.
    let asc = app
        .mdr_ok(
            &w.admin,
            "incidents/list",
            &json!({"fields": ["incident_number"]}),
        )
        .await;
    let numbers: Vec<i64> = asc
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["incident_number"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, (1..=12).collect::<Vec<_>>());
    let desc = app
        .mdr_ok(
            &w.admin,
            "incidents/list",
            &json!({"sort": "incident_number:desc", "fields": ["incident_number"]}),
        )
        .await;
    assert_eq!(
        desc[0],
        json!({"incident_id": desc[0]["incident_id"], "incident_number": 12})
    );
    assert_error(
        &app.mdr(
            &w.admin,
            "incidents/list",
            &json!({"priorities": ["URGENT"]}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid value for 'priorities'",
    );
    assert_error(
        &app.mdr(
            &w.admin,
            "incidents/count",
            &json!({"min_update_time": 1.5}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid value for 'min_update_time'",
    );
}

/// `docs/mdr-api.md`, "Behaviour": incremental sync by `update_time` misses nothing; times are
/// integer ms.
async fn incremental_sync(app: TestApp) {
    let w = world(&app).await;
    let a = id(&w.incident(&app, 0, "A", "LOW").await, "incident_id");
    let b = id(&w.incident(&app, 1, "B", "LOW").await, "incident_id");
    app.clock.advance(Duration::seconds(5));
    let list = app.mdr_ok(&w.admin, "incidents/list", &json!({})).await;
    let last_seen = list
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["update_time"].as_i64().unwrap())
        .max()
        .unwrap();
    let before = list
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["incident_id"] == json!(b))
        .unwrap()["update_time"]
        .as_i64()
        .unwrap();
    let c = app
        .mdr_ok(
            &w.admin,
            "comments/create",
            &json!({"incident_id": b, "text": "any news?"}),
        )
        .await;
    let changed = app
        .mdr_ok(
            &w.admin,
            "incidents/list",
            &json!({"min_update_time": last_seen + 1}),
        )
        .await;
    assert_eq!(ids(&changed, "incident_id"), vec![b.clone()]);
    let inc = &changed[0];
    let after = inc["update_time"].as_i64().unwrap();
    assert!(after > before);
    assert_eq!(after, now_ms(&app), "update_time = max(now, previous + 1)");
    assert!(inc["creation_time"].is_i64());
    assert!(inc["comments"][0]["creation_time"].is_i64());
    assert_eq!(inc["comments"][0]["comment_id"], c["comment_id"]);
    assert_eq!(
        app.mdr_ok(
            &w.admin,
            "incidents/count",
            &json!({"min_update_time": after + 1})
        )
        .await,
        json!({"count": 0})
    );

    // Changes within one millisecond still increase update_time strictly.
    let mut prev = after;
    for n in 0..3 {
        app.mdr_ok(
            &w.admin,
            "comments/create",
            &json!({"incident_id": b, "text": format!("n{n}")}),
        )
        .await;
        let t = app
            .mdr_ok(&w.admin, "incidents/details", &json!({"incident_id": b}))
            .await["update_time"]
            .as_i64()
            .unwrap();
        assert_eq!(t, prev + 1);
        prev = t;
    }
    // Each kind of change is seen by a sync from the last value + 1 (the clock moves on
    // first: update_time is per incident, so a sync spans incidents only as well as the clock).
    let mut last = prev;
    for step in 0..5 {
        app.clock.advance(Duration::seconds(1));
        let expect = match step {
            0 => {
                let _ = w.response(&app, &a, 0, "network_isolate").await;
                &a
            }
            1 => {
                let l = app
                    .mdr_ok(&w.admin, "responses/list", &json!({"incident_id": a}))
                    .await;
                app.mdr_ok(&w.admin, "response/update", &json!({"response_id": l[0]["response_id"], "status": "Confirmed", "comment": "ok"}))
                    .await;
                &a
            }
            2 => {
                let del = app
                    .mdr_ok(
                        &w.admin,
                        "comments/delete",
                        &json!({"comment_id": id(&c, "comment_id")}),
                    )
                    .await;
                assert_eq!(del, json!({}));
                &b
            }
            3 => {
                let up = upload(
                    &app,
                    &w.admin,
                    Some(&json!({"incident_id": a, "caption": "x"})),
                    Some(("x.txt", b"x")),
                )
                .await;
                assert_eq!(up.status, StatusCode::OK, "{}", up.text());
                &a
            }
            _ => {
                app.soc(
                    &w.client_id,
                    &format!("incidents/{b}/status"),
                    &json!({"status": "On hold", "status_description": "waiting"}),
                )
                .await;
                &b
            }
        };
        let (got, max) = changed_since(&app, &w.admin, last).await;
        assert_eq!(got, vec![expect.clone()], "step {step}");
        assert_eq!(max, now_ms(&app), "step {step}");
        last = max;
    }
    let d = app
        .mdr_ok(&w.admin, "incidents/details", &json!({"incident_id": b}))
        .await;
    assert_eq!(d["status"], json!("On hold"));
    assert_eq!(d["comments"].as_array().unwrap().len(), 3);
}

/// The ids of the incidents changed after `last`, and the newest `update_time` among them.
async fn changed_since(app: &TestApp, conn: &MdrConn, last: i64) -> (Vec<String>, i64) {
    let got = app
        .mdr_ok(
            conn,
            "incidents/list",
            &json!({"min_update_time": last + 1}),
        )
        .await;
    let max = got
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["update_time"].as_i64().unwrap())
        .max()
        .unwrap_or(last);
    (ids(&got, "incident_id"), max)
}

/// Details embeds comments, attachments and responses; the exact incident object.
async fn incident_details(app: TestApp) {
    let w = world(&app).await;
    let t0 = now_ms(&app);
    let created = w.incident(&app, 0, "Malware", "HIGH").await;
    let incident_id = id(&created, "incident_id");
    let core = json!({
        "incident_id": incident_id, "incident_number": 1, "summary": "Malware",
        "description": "**Malware** on HOST-00", "status": "Open", "status_description": "",
        "resolution": null, "priority": "HIGH", "creation_time": t0, "update_time": t0,
        "affected_hosts": [w.host_entry(0)],
        "affected_hosts_mappings": [{"host_id": w.asset_id(0), "host_name": "HOST-00"}],
        "tenant_name": "Berlin", "detection_technologies": ["EDR"],
        "mitre_tactics": ["Execution"], "mitre_techniques": ["T1059"],
        "comments": [], "attachments": [], "responses": [],
    });
    assert_eq!(created, core);
    app.clock.advance(Duration::seconds(1));
    let resp = w.response(&app, &incident_id, 0, "network_isolate").await;
    assert_eq!(
        resp,
        json!({
            "response_id": resp["response_id"], "incident_id": incident_id, "type": "network_isolate",
            "parameters": {"reason": "containment"}, "description": "Isolate the *host*",
            "creation_time": t0 + 1000, "update_time": t0 + 1000, "asset_id": w.asset_id(0),
            "status": "Pending", "comment": null,
        })
    );
    app.clock.advance(Duration::seconds(1));
    let soc_comment = app
        .soc(
            &w.client_id,
            &format!("incidents/{incident_id}/comments"),
            &json!({"text": "We isolated the host."}),
        )
        .await;
    assert_eq!(
        soc_comment,
        json!({
            "comment_id": soc_comment["comment_id"], "incident_id": incident_id, "author_name": "SOC",
            "text": "We isolated the host.", "creation_time": t0 + 2000, "origin": "soc", "was_read": false,
        })
    );
    app.clock.advance(Duration::seconds(1));
    let att = upload(
        &app,
        &w.admin,
        Some(&json!({"incident_id": incident_id, "caption": "memory dump"})),
        Some(("dump.bin", b"\x00\x01\x02")),
    )
    .await;
    assert_eq!(att.status, StatusCode::OK, "{}", att.text());
    let att = att.json();
    assert_eq!(
        att,
        json!({
            "attachment_id": att["attachment_id"], "incident_id": incident_id, "author_name": "SIEM export",
            "caption": "memory dump", "creation_time": t0 + 3000, "file_size": 3, "full_name": "dump.bin",
            "link": null, "origin": "client", "was_read": true,
        })
    );
    let d = app
        .mdr_ok(
            &w.admin,
            "incidents/details",
            &json!({"incident_id": incident_id}),
        )
        .await;
    let mut expect = core.clone();
    expect["update_time"] = json!(t0 + 3000);
    expect["comments"] = json!([soc_comment]);
    expect["attachments"] = json!([att]);
    expect["responses"] = json!([resp]);
    assert_eq!(d, expect);
    assert_eq!(
        keys(&d),
        vec![
            "incident_id",
            "incident_number",
            "summary",
            "description",
            "status",
            "status_description",
            "resolution",
            "priority",
            "creation_time",
            "update_time",
            "affected_hosts",
            "affected_hosts_mappings",
            "tenant_name",
            "detection_technologies",
            "mitre_tactics",
            "mitre_techniques",
            "comments",
            "attachments",
            "responses",
        ]
    );
    // The list embeds the same; markdown_to_html renders description and embedded texts.
    let l = app.mdr_ok(&w.admin, "incidents/list", &json!({})).await;
    assert_eq!(l, json!([expect]));
    let h = app
        .mdr_ok(
            &w.admin,
            "incidents/details",
            &json!({"incident_id": incident_id, "markdown_to_html": true}),
        )
        .await;
    assert_eq!(
        h["description"],
        json!("<p><strong>Malware</strong> on HOST-00</p>")
    );
    assert_eq!(
        h["comments"][0]["text"],
        json!("<p>We isolated the host.</p>")
    );
    assert_eq!(
        h["responses"][0]["description"],
        json!("<p>Isolate the <em>host</em></p>")
    );
    assert_eq!(h["summary"], json!("Malware"));
    let f = app
        .mdr_ok(
            &w.admin,
            "incidents/details",
            &json!({"incident_id": incident_id, "fields": ["status", "comments"]}),
        )
        .await;
    assert_eq!(
        f,
        json!({"incident_id": incident_id, "status": "Open", "comments": [soc_comment]})
    );
    let r = app
        .mdr(
            &w.admin,
            "incidents/details",
            &json!({"incident_id": "AAAAAAAAAAAAAAAAAAAA"}),
        )
        .await;
    assert_error(&r, StatusCode::NOT_FOUND, "incident not found");
    assert_error(
        &app.mdr(&w.admin, "incidents/details", &json!({})).await,
        StatusCode::BAD_REQUEST,
        "'incident_id' is required",
    );
    assert_error(
        &app.mdr(&w.admin, "incidents/details", &json!({"incident_id": 7}))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid value for 'incident_id'",
    );
    // responses/list pages and projects.
    let rl = app
        .mdr_ok(
            &w.admin,
            "responses/list",
            &json!({"incident_id": incident_id, "fields": ["status"]}),
        )
        .await;
    assert_eq!(
        rl,
        json!([{"response_id": resp["response_id"], "status": "Pending"}])
    );
    assert_eq!(
        app.mdr_ok(
            &w.admin,
            "responses/list",
            &json!({"incident_id": incident_id, "page": 2})
        )
        .await,
        json!([])
    );
}

/// `response/update` Confirmed with comment; repeat → 409.
async fn response_update(app: TestApp) {
    let w = world(&app).await;
    let inc = id(&w.incident(&app, 0, "Malware", "HIGH").await, "incident_id");
    let resp = w.response(&app, &inc, 0, "network_isolate").await;
    let rid = id(&resp, "response_id");
    app.clock.advance(Duration::seconds(10));
    let c = &w.admin;
    assert_error(
        &app.mdr(
            c,
            "response/update",
            &json!({"status": "Confirmed", "comment": "x"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "'response_id' is required",
    );
    assert_error(
        &app.mdr(
            c,
            "response/update",
            &json!({"response_id": rid, "comment": "x"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "'status' is required",
    );
    assert_error(
        &app.mdr(
            c,
            "response/update",
            &json!({"response_id": rid, "status": "Confirmed"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "'comment' is required",
    );
    assert_error(
        &app.mdr(
            c,
            "response/update",
            &json!({"response_id": rid, "status": "Pending", "comment": "x"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid value for 'status'",
    );
    assert_error(
        &app.mdr(
            c,
            "response/update",
            &json!({"response_id": "nope", "status": "Confirmed", "comment": "x"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "response not found",
    );
    let r = app
        .mdr_ok(
            c,
            "response/update",
            &json!({"response_id": rid, "status": "Confirmed", "comment": "Approved by on-call"}),
        )
        .await;
    let mut expect = resp.clone();
    expect["status"] = json!("Confirmed");
    expect["comment"] = json!("Approved by on-call");
    expect["update_time"] = json!(now_ms(&app));
    assert_eq!(r, expect);
    let again = app
        .mdr(
            c,
            "response/update",
            &json!({"response_id": rid, "status": "Declined", "comment": "changed my mind"}),
        )
        .await;
    assert_error(&again, StatusCode::CONFLICT, "response is not pending");
    let list = app
        .mdr_ok(c, "responses/list", &json!({"incident_id": inc}))
        .await;
    assert_eq!(list, json!([expect]));
    let filtered = app
        .mdr_ok(
            c,
            "incidents/count",
            &json!({"response_statuses": ["Confirmed"], "response_types": ["network_isolate"]}),
        )
        .await;
    assert_eq!(filtered, json!({"count": 1}));
    let none = app
        .mdr_ok(
            c,
            "incidents/count",
            &json!({"response_statuses": ["Pending"]}),
        )
        .await;
    assert_eq!(none, json!({"count": 0}));
}

/// `responses/update` with two pending ids; then with one unknown id → 404, no change.
async fn responses_update_all_or_nothing(app: TestApp) {
    let w = world(&app).await;
    let inc = id(&w.incident(&app, 0, "Malware", "HIGH").await, "incident_id");
    let other = id(&w.incident(&app, 2, "Phishing", "LOW").await, "incident_id");
    let r1 = id(
        &w.response(&app, &inc, 0, "network_isolate").await,
        "response_id",
    );
    let r2 = id(
        &w.response(&app, &other, 2, "kill_process").await,
        "response_id",
    );
    let r3 = id(
        &w.response(&app, &inc, 0, "quarantine").await,
        "response_id",
    );
    let r4 = id(&w.response(&app, &inc, 0, "scan").await, "response_id");
    let c = &w.admin;
    let both = app
        .mdr_ok(
            c,
            "responses/update",
            &json!({"responses_ids": [r2, r1], "status": "Declined", "comment": "not now"}),
        )
        .await;
    assert_eq!(ids(&both, "response_id"), vec![r2.clone(), r1.clone()]);
    for r in both.as_array().unwrap() {
        assert_eq!(r["status"], json!("Declined"));
        assert_eq!(r["comment"], json!("not now"));
    }
    let before = response_statuses(&app, c, &inc).await;
    let unknown = app
        .mdr(c, "responses/update", &json!({"responses_ids": [r3, "AAAAAAAAAAAAAAAAAAAA"], "status": "Confirmed", "comment": "go"}))
        .await;
    assert_error(&unknown, StatusCode::NOT_FOUND, "response not found");
    let decided = app
        .mdr(
            c,
            "responses/update",
            &json!({"responses_ids": [r3, r1], "status": "Confirmed", "comment": "go"}),
        )
        .await;
    assert_error(&decided, StatusCode::CONFLICT, "response is not pending");
    assert_eq!(
        response_statuses(&app, c, &inc).await,
        before,
        "nothing changed"
    );
    assert_eq!(before, vec!["Declined", "Pending", "Pending"]);
    assert_error(
        &app.mdr(
            c,
            "responses/update",
            &json!({"responses_ids": [], "status": "Confirmed", "comment": "go"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid value for 'responses_ids'",
    );
    assert_error(
        &app.mdr(
            c,
            "responses/update",
            &json!({"responses_ids": r3, "status": "Confirmed", "comment": "go"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid value for 'responses_ids'",
    );
    // Duplicates count once.
    let dup = app
        .mdr_ok(
            c,
            "responses/update",
            &json!({"responses_ids": [r3, r4, r3], "status": "Confirmed", "comment": "go"}),
        )
        .await;
    assert_eq!(ids(&dup, "response_id"), vec![r3, r4]);
}

/// The statuses of an incident's responses, sorted.
async fn response_statuses(app: &TestApp, c: &MdrConn, inc: &str) -> Vec<String> {
    let l = app
        .mdr_ok(c, "responses/list", &json!({"incident_id": inc}))
        .await;
    let mut v: Vec<String> = l
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_owned())
        .collect();
    v.sort();
    v
}

/// `comments/create` / `comments/list` with `markdown_to_html`.
async fn comments_markdown(app: TestApp) {
    let w = world(&app).await;
    let inc = id(&w.incident(&app, 0, "Malware", "HIGH").await, "incident_id");
    let c = &w.admin;
    let source = "Please **isolate** the host <script>alert(1)</script>";
    let created = app
        .mdr_ok(
            c,
            "comments/create",
            &json!({"incident_id": inc, "text": source, "markdown_to_html": true}),
        )
        .await;
    assert_eq!(
        keys(&created),
        vec![
            "comment_id",
            "incident_id",
            "author_name",
            "text",
            "creation_time",
            "origin",
            "was_read"
        ]
    );
    assert_eq!(
        created,
        json!({
            "comment_id": created["comment_id"], "incident_id": inc, "author_name": "SIEM export",
            "text": "<p>Please <strong>isolate</strong> the host </p>", "creation_time": now_ms(&app),
            "origin": "client", "was_read": true,
        })
    );
    assert_eq!(created["comment_id"].as_str().unwrap().len(), 11);
    let html = app
        .mdr_ok(
            c,
            "comments/list",
            &json!({"incident_id": inc, "markdown_to_html": true}),
        )
        .await;
    assert_eq!(html, json!([created]));
    let raw = app
        .mdr_ok(c, "comments/list", &json!({"incident_id": inc}))
        .await;
    assert_eq!(raw[0]["text"], json!(source), "stored as the Markdown sent");
    let projected = app
        .mdr_ok(
            c,
            "comments/list",
            &json!({"incident_id": inc, "fields": ["text"]}),
        )
        .await;
    assert_eq!(
        projected,
        json!([{"comment_id": created["comment_id"], "text": source}])
    );
    // author_name is the connection's current name.
    mdr_session::update_connection(
        &app.state,
        Actor(None),
        &w.client_id,
        &w.admin.connection_id,
        ConnectionInput {
            name: Some("Renamed SIEM".into()),
            ..ConnectionInput::default()
        },
    )
    .await
    .unwrap();
    let renamed = app
        .mdr_ok(
            c,
            "comments/create",
            &json!({"incident_id": inc, "text": "again"}),
        )
        .await;
    assert_eq!(renamed["author_name"], json!("Renamed SIEM"));
    let raw = app
        .mdr_ok(c, "comments/list", &json!({"incident_id": inc}))
        .await;
    let first = raw
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["comment_id"] == created["comment_id"])
        .unwrap();
    assert_eq!(
        first["author_name"],
        json!("SIEM export"),
        "kept after a rename"
    );
    assert_error(
        &app.mdr(c, "comments/create", &json!({"incident_id": inc}))
            .await,
        StatusCode::BAD_REQUEST,
        "'text' is required",
    );
    assert_error(
        &app.mdr(c, "comments/create", &json!({"text": "x"})).await,
        StatusCode::BAD_REQUEST,
        "'incident_id' is required",
    );
    assert_error(
        &app.mdr(
            c,
            "comments/create",
            &json!({"incident_id": inc, "text": ""}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid value for 'text'",
    );
    assert_error(
        &app.mdr(
            c,
            "comments/create",
            &json!({"incident_id": "nope", "text": "x"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "incident not found",
    );
    assert_error(
        &app.mdr(c, "comments/list", &json!({"incident_id": "nope"}))
            .await,
        StatusCode::NOT_FOUND,
        "incident not found",
    );
}

/// `docs/mdr-api.md`, "Behaviour": only the creating connection may delete a comment.
async fn comments_delete(app: TestApp) {
    let w = world(&app).await;
    let inc = id(&w.incident(&app, 0, "Malware", "HIGH").await, "incident_id");
    let other = app
        .mdr_connection(&w.client_id, "Ticketing", ADMIN_ROLE, &[])
        .await;
    let mine = app
        .mdr_ok(
            &w.admin,
            "comments/create",
            &json!({"incident_id": inc, "text": "mine"}),
        )
        .await;
    let theirs = app
        .mdr_ok(
            &other,
            "comments/create",
            &json!({"incident_id": inc, "text": "theirs"}),
        )
        .await;
    let soc = app
        .soc(
            &w.client_id,
            &format!("incidents/{inc}/comments"),
            &json!({"text": "soc"}),
        )
        .await;
    for c in [&theirs, &soc] {
        let r = app
            .mdr(
                &w.admin,
                "comments/delete",
                &json!({"comment_id": c["comment_id"]}),
            )
            .await;
        assert_error(&r, StatusCode::FORBIDDEN, NOT_PERMITTED);
    }
    assert_error(
        &app.mdr(
            &w.admin,
            "comments/delete",
            &json!({"comment_id": "AAAAAAAAAAA"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "comment not found",
    );
    assert_error(
        &app.mdr(&w.admin, "comments/delete", &json!({})).await,
        StatusCode::BAD_REQUEST,
        "'comment_id' is required",
    );
    assert_eq!(
        app.mdr_ok(
            &w.admin,
            "comments/delete",
            &json!({"comment_id": mine["comment_id"]})
        )
        .await,
        json!({})
    );
    assert_error(
        &app.mdr(
            &w.admin,
            "comments/delete",
            &json!({"comment_id": mine["comment_id"]}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "comment not found",
    );
    let left = app
        .mdr_ok(&w.admin, "comments/list", &json!({"incident_id": inc}))
        .await;
    let left: HashSet<String> = ids(&left, "comment_id").into_iter().collect();
    assert_eq!(
        left,
        HashSet::from([id(&theirs, "comment_id"), id(&soc, "comment_id")])
    );
    // A deleted connection's comments keep their author_name.
    mdr_session::delete_connection(&app.state, Actor(None), &w.client_id, &other.connection_id)
        .await
        .unwrap();
    let left = app
        .mdr_ok(&w.admin, "comments/list", &json!({"incident_id": inc}))
        .await;
    let kept = left
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["comment_id"] == theirs["comment_id"])
        .unwrap();
    assert_eq!(kept["author_name"], json!("Ticketing"));
}

/// Upload and download; the upload's failure modes.
async fn attachments(builder: crate::harness::Builder) {
    let Some(app) = builder
        .config(|c| c.mdr.attachments.max_size = 4096)
        .build()
        .await
    else {
        return;
    };
    let w = world(&app).await;
    let inc = id(&w.incident(&app, 0, "Malware", "HIGH").await, "incident_id");
    let c = &w.admin;
    let bytes: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    let up = upload(
        &app,
        c,
        Some(&json!({"incident_id": inc, "caption": "pcap"})),
        Some(("capture.pcap", &bytes)),
    )
    .await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.text());
    assert_eq!(up.header("cache-control").as_deref(), Some("no-store"));
    let att = up.json();
    assert_eq!(att["file_size"], json!(4096));
    assert_eq!(att["full_name"], json!("capture.pcap"));
    assert_eq!(att["author_name"], json!("SIEM export"));
    assert_eq!(att["attachment_id"].as_str().unwrap().len(), 20);
    let dl = app
        .mdr(
            c,
            "attachments/download",
            &json!({"attachment_id": att["attachment_id"]}),
        )
        .await;
    assert_eq!(dl.status, StatusCode::OK);
    assert_eq!(dl.body, bytes, "download bytes identical to upload");
    assert_eq!(
        dl.header("content-type").as_deref(),
        Some("application/octet-stream")
    );
    assert_eq!(
        dl.header("content-disposition").as_deref(),
        Some("attachment; filename=\"capture.pcap\"")
    );
    assert_eq!(dl.header("cache-control").as_deref(), Some("no-store"));
    let list = app
        .mdr_ok(c, "attachments/list", &json!({"incident_id": inc}))
        .await;
    assert_eq!(list, json!([att]));
    let details = app
        .mdr_ok(c, "incidents/details", &json!({"incident_id": inc}))
        .await;
    assert_eq!(details["attachments"], json!([att]));

    let too_big = vec![7u8; 4097];
    assert_error(
        &upload(
            &app,
            c,
            Some(&json!({"incident_id": inc})),
            Some(("big.bin", &too_big)),
        )
        .await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "attachment too large",
    );
    let huge = vec![7u8; 200_000];
    assert_error(
        &upload(
            &app,
            c,
            Some(&json!({"incident_id": inc})),
            Some(("huge.bin", &huge)),
        )
        .await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "attachment too large",
    );
    assert_error(
        &upload(&app, c, Some(&json!({"incident_id": inc})), None).await,
        StatusCode::BAD_REQUEST,
        "'file' is required",
    );
    assert_error(
        &upload(&app, c, None, Some(("a", b"a"))).await,
        StatusCode::BAD_REQUEST,
        "'meta' is required",
    );
    assert_error(
        &upload(&app, c, Some(&json!({"caption": "x"})), Some(("a", b"a"))).await,
        StatusCode::BAD_REQUEST,
        "'incident_id' is required",
    );
    assert_error(
        &upload(
            &app,
            c,
            Some(&json!({"incident_id": "nope"})),
            Some(("a", b"a")),
        )
        .await,
        StatusCode::NOT_FOUND,
        "incident not found",
    );
    let json_upload = app
        .mdr(c, "attachments/upload", &json!({"incident_id": inc}))
        .await;
    assert_error(
        &json_upload,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported content type",
    );
    assert_error(
        &app.mdr(
            c,
            "attachments/download",
            &json!({"attachment_id": "AAAAAAAAAAAAAAAAAAAA"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "attachment not found",
    );
    // Multipart on a JSON method is still refused.
    let r = app
        .post(&format!("/api/v1/{}/assets/list", w.client_id))
        .bearer(&c.access_token)
        .header(
            "content-type",
            &format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(multipart(BOUNDARY, &[("meta", None, b"{}")]))
        .send()
        .await;
    assert_error(
        &r,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported content type",
    );
    // A path in the file name is dropped; the SOC side uploads too.
    let up = upload(
        &app,
        c,
        Some(&json!({"incident_id": inc})),
        Some(("../../etc/passwd", b"root")),
    )
    .await;
    assert_eq!(up.json()["full_name"], json!("passwd"));
    let soc = app
        .post(&format!(
            "/console/api/mdr/customers/{}/soc/incidents/{inc}/attachments",
            w.client_id
        ))
        .basic("admin", PASSWORD)
        .header(
            "content-type",
            &format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(multipart(
            BOUNDARY,
            &[
                ("meta", None, br#"{"caption": "SOC report"}"#),
                ("file", Some("report.pdf"), b"%PDF"),
            ],
        ))
        .send()
        .await;
    assert_eq!(soc.status, StatusCode::CREATED, "{}", soc.text());
    let soc = soc.json();
    assert_eq!(
        (
            soc["origin"].clone(),
            soc["was_read"].clone(),
            soc["caption"].clone()
        ),
        (json!("soc"), json!(false), json!("SOC report"))
    );
}

/// Tenant scope on lists, counts, details and writes.
async fn tenant_scope(app: TestApp) {
    let w = world(&app).await;
    let berlin_inc = id(
        &w.incident(&app, 0, "Berlin incident", "HIGH").await,
        "incident_id",
    );
    let paris_inc = id(
        &w.incident(&app, 1, "Paris incident", "HIGH").await,
        "incident_id",
    );
    let root_inc = id(
        &w.incident(&app, 2, "Root incident", "HIGH").await,
        "incident_id",
    );
    let paris_resp = id(
        &w.response(&app, &paris_inc, 1, "scan").await,
        "response_id",
    );
    let paris_comment = app
        .soc(
            &w.client_id,
            &format!("incidents/{paris_inc}/comments"),
            &json!({"text": "x"}),
        )
        .await;
    let berlin = app
        .mdr_connection(&w.client_id, "Berlin SIEM", ADMIN_ROLE, &["Berlin"])
        .await;
    let root = app
        .mdr_connection(
            &w.client_id,
            "Root SIEM",
            ADMIN_ROLE,
            &["Root without tenants"],
        )
        .await;
    let both = app
        .mdr_connection(
            &w.client_id,
            "Both",
            ADMIN_ROLE,
            &["Berlin", "Root without tenants"],
        )
        .await;

    let names = |v: &Value| -> HashSet<Value> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|a| a["tenant_name"].clone())
            .collect()
    };
    let assets = app.mdr_ok(&berlin, "assets/list", &json!({})).await;
    assert_eq!(assets.as_array().unwrap().len(), 9);
    assert_eq!(names(&assets), HashSet::from([json!("Berlin")]));
    assert_eq!(
        app.mdr_ok(&berlin, "assets/count", &json!({})).await,
        json!({"count": 9})
    );
    let root_assets = app.mdr_ok(&root, "assets/list", &json!({})).await;
    assert_eq!(names(&root_assets), HashSet::from([Value::Null]));
    assert_eq!(
        app.mdr_ok(&root, "assets/count", &json!({})).await,
        json!({"count": 8})
    );
    assert_eq!(
        app.mdr_ok(&both, "assets/count", &json!({})).await,
        json!({"count": 17})
    );
    assert_eq!(
        app.mdr_ok(
            &berlin,
            "assets/count",
            &json!({"tenants_names": ["Paris"]})
        )
        .await,
        json!({"count": 0})
    );

    assert_eq!(
        ids(
            &app.mdr_ok(&berlin, "incidents/list", &json!({})).await,
            "incident_id"
        ),
        vec![berlin_inc.clone()]
    );
    assert_eq!(
        ids(
            &app.mdr_ok(&root, "incidents/list", &json!({})).await,
            "incident_id"
        ),
        vec![root_inc.clone()]
    );
    assert_eq!(
        app.mdr_ok(&both, "incidents/count", &json!({})).await,
        json!({"count": 2})
    );
    assert_eq!(
        app.mdr_ok(&w.admin, "incidents/count", &json!({})).await,
        json!({"count": 3})
    );

    // Out of scope answers exactly like nonexistent.
    let hidden = app
        .mdr(
            &berlin,
            "incidents/details",
            &json!({"incident_id": paris_inc}),
        )
        .await;
    let missing = app
        .mdr(
            &berlin,
            "incidents/details",
            &json!({"incident_id": "AAAAAAAAAAAAAAAAAAAA"}),
        )
        .await;
    assert_error(&hidden, StatusCode::NOT_FOUND, "incident not found");
    assert_eq!(
        (hidden.status, &hidden.body, stable_headers(&hidden)),
        (missing.status, &missing.body, stable_headers(&missing))
    );
    let hidden_asset = app
        .mdr(
            &berlin,
            "assets/details",
            &json!({"asset_id": w.asset_id(1)}),
        )
        .await;
    assert_error(&hidden_asset, StatusCode::NOT_FOUND, "asset not found");
    for (action, body, kind) in [
        (
            "comments/create",
            json!({"incident_id": paris_inc, "text": "x"}),
            "incident",
        ),
        (
            "comments/list",
            json!({"incident_id": paris_inc}),
            "incident",
        ),
        (
            "attachments/list",
            json!({"incident_id": paris_inc}),
            "incident",
        ),
        (
            "responses/list",
            json!({"incident_id": paris_inc}),
            "incident",
        ),
        (
            "incidents/history",
            json!({"incident_id": paris_inc}),
            "incident",
        ),
        (
            "incidents/close",
            json!({"incident_id": paris_inc, "resolution_status": "TRUE_POSITIVE", "summary": "x"}),
            "incident",
        ),
        (
            "response/update",
            json!({"response_id": paris_resp, "status": "Confirmed", "comment": "x"}),
            "response",
        ),
        (
            "responses/update",
            json!({"responses_ids": [paris_resp], "status": "Confirmed", "comment": "x"}),
            "response",
        ),
        (
            "comments/delete",
            json!({"comment_id": paris_comment["comment_id"]}),
            "comment",
        ),
    ] {
        let r = app.mdr(&berlin, action, &body).await;
        assert_error(&r, StatusCode::NOT_FOUND, &format!("{kind} not found"));
    }
    assert_eq!(
        app.mdr_ok(
            &berlin,
            "assets/count",
            &json!({"related_incidents_ids": [paris_inc]})
        )
        .await,
        json!({"count": 0})
    );

    // incidents/create: only in-scope assets and tenants.
    let r = app
        .mdr(&berlin, "incidents/create", &json!({"affected_hosts": [w.host_entry(1)], "client_description": "d", "summary": "s"}))
        .await;
    assert_error(
        &r,
        StatusCode::BAD_REQUEST,
        "invalid value for 'affected_hosts'",
    );
    let r = app
        .mdr(&berlin, "incidents/create", &json!({"affected_hosts": [w.host_entry(0)], "client_description": "d", "summary": "s", "tenant_id": w.paris}))
        .await;
    assert_error(&r, StatusCode::NOT_FOUND, "tenant not found");
    let r = app
        .mdr(&berlin, "incidents/create", &json!({"affected_hosts": [w.host_entry(0)], "client_description": "d", "summary": "s", "tenant_id": "nope"}))
        .await;
    assert_error(&r, StatusCode::NOT_FOUND, "tenant not found");
    let ok = app
        .mdr_ok(&berlin, "incidents/create", &json!({"affected_hosts": [w.host_entry(0)], "client_description": "d", "summary": "s"}))
        .await;
    assert_eq!(ok["tenant_name"], json!("Berlin"), "the assets' tenant");
    let explicit = app
        .mdr_ok(&w.admin, "incidents/create", &json!({"affected_hosts": [w.host_entry(2)], "client_description": "d", "summary": "s", "tenant_id": w.paris}))
        .await;
    assert_eq!(explicit["tenant_name"], json!("Paris"));
    // Assets of two tenants make a root incident.
    let r = app
        .mdr(&both, "incidents/create", &json!({"affected_hosts": [w.host_entry(0), w.host_entry(2)], "client_description": "d", "summary": "s"}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["tenant_name"], Value::Null);

    // A scope edit applies to the next call.
    mdr_session::update_connection(
        &app.state,
        Actor(None),
        &w.client_id,
        &berlin.connection_id,
        ConnectionInput {
            tenants: Some(vec!["Paris".into()]),
            ..ConnectionInput::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        app.mdr_ok(&berlin, "incidents/count", &json!({})).await,
        json!({"count": 2})
    );
    assert_eq!(
        app.mdr_ok(&berlin, "assets/count", &json!({})).await,
        json!({"count": 8})
    );
}

/// `docs/mdr-api.md`, "Behaviour": close; close again → 409; "Resolved" for 72 h reads as "Closed".
async fn close_incident(app: TestApp) {
    let w = world(&app).await;
    let inc = id(&w.incident(&app, 0, "Malware", "HIGH").await, "incident_id");
    app.clock.advance(Duration::seconds(1));
    let c = &w.admin;
    assert_error(
        &app.mdr(
            c,
            "incidents/close",
            &json!({"incident_id": inc, "summary": "x"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "'resolution_status' is required",
    );
    assert_error(
        &app.mdr(
            c,
            "incidents/close",
            &json!({"incident_id": inc, "resolution_status": "TRUE_POSITIVE"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "'summary' is required",
    );
    assert_error(
        &app.mdr(
            c,
            "incidents/close",
            &json!({"incident_id": inc, "resolution_status": "MAYBE", "summary": "x"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid value for 'resolution_status'",
    );
    let closed = app
        .mdr_ok(c, "incidents/close", &json!({"incident_id": inc, "resolution_status": "TRUE_POSITIVE", "summary": "Confirmed *malware*, host reimaged"}))
        .await;
    assert_eq!(closed["status"], json!("Closed"));
    assert_eq!(closed["resolution"], json!("True positive"));
    assert_eq!(
        closed["status_description"],
        json!("Confirmed *malware*, host reimaged")
    );
    assert_eq!(closed["update_time"], json!(now_ms(&app)));
    let again = app
        .mdr(
            c,
            "incidents/close",
            &json!({"incident_id": inc, "resolution_status": "FALSE_POSITIVE", "summary": "x"}),
        )
        .await;
    assert_error(&again, StatusCode::CONFLICT, "incident is already closed");
    let d = app
        .mdr_ok(c, "incidents/details", &json!({"incident_id": inc}))
        .await;
    assert_eq!(
        d["resolution"],
        json!("True positive"),
        "the second close changed nothing"
    );
    assert_eq!(
        app.mdr_ok(
            c,
            "incidents/count",
            &json!({"resolutions": ["True positive"]})
        )
        .await,
        json!({"count": 1})
    );
    assert_eq!(
        app.mdr_ok(
            c,
            "incidents/count",
            &json!({"resolutions": ["FALSE_POSITIVE"]})
        )
        .await,
        json!({"count": 0})
    );

    // Resolved by the SOC: still "Resolved" just before 72 h, "Closed" from then on.
    let other = id(&w.incident(&app, 2, "Phishing", "LOW").await, "incident_id");
    app.clock.advance(Duration::seconds(1));
    let resolved_at = now_ms(&app);
    let r = app
        .soc(
            &w.client_id,
            &format!("incidents/{other}/status"),
            &json!({"status": "Resolved", "status_description": "Mail purged"}),
        )
        .await;
    assert_eq!(
        (r["status"].clone(), r["update_time"].clone()),
        (json!("Resolved"), json!(resolved_at))
    );
    app.clock
        .advance(Duration::hours(72) - Duration::milliseconds(1));
    let c2 = app
        .mdr_connection(&w.client_id, "Later", ADMIN_ROLE, &[])
        .await;
    let d = app
        .mdr_ok(&c2, "incidents/details", &json!({"incident_id": other}))
        .await;
    assert_eq!(d["status"], json!("Resolved"));
    app.clock.advance(Duration::milliseconds(1));
    let d = app
        .mdr_ok(&c2, "incidents/details", &json!({"incident_id": other}))
        .await;
    assert_eq!(d["status"], json!("Closed"));
    assert_eq!(
        d["update_time"],
        json!(resolved_at + 72 * 3_600_000),
        "the change is visible to sync"
    );
    assert_eq!(
        ids(
            &app.mdr_ok(
                &c2,
                "incidents/list",
                &json!({"statuses": ["Closed"], "min_update_time": resolved_at + 1})
            )
            .await,
            "incident_id"
        ),
        vec![other.clone()]
    );
    assert_eq!(
        app.mdr_ok(&c2, "incidents/count", &json!({"statuses": ["Resolved"]}))
            .await,
        json!({"count": 0})
    );
    let r = app
        .mdr(
            &c2,
            "incidents/close",
            &json!({"incident_id": other, "resolution_status": "TRUE_POSITIVE", "summary": "x"}),
        )
        .await;
    assert_error(&r, StatusCode::CONFLICT, "incident is already closed");
    // A later change starts from the settled state and keeps update_time increasing.
    let t = app
        .mdr_ok(
            &c2,
            "comments/create",
            &json!({"incident_id": other, "text": "thanks"}),
        )
        .await["creation_time"]
        .as_i64()
        .unwrap();
    let d = app
        .mdr_ok(&c2, "incidents/details", &json!({"incident_id": other}))
        .await;
    assert_eq!(
        (d["status"].clone(), d["update_time"].clone()),
        (json!("Closed"), json!(t + 1))
    );
}

/// `docs/mdr-api.md`, "Behaviour": `incidents/create` validation and result.
async fn create_incident(app: TestApp) {
    let w = world(&app).await;
    let c = &w.admin;
    let full = json!({"affected_hosts": [w.host_entry(0)], "client_description": "Users report *pop-ups*", "summary": "Adware?"});
    let mut no_summary = full.clone();
    no_summary.as_object_mut().unwrap().remove("summary");
    assert_error(
        &app.mdr(c, "incidents/create", &no_summary).await,
        StatusCode::BAD_REQUEST,
        "'summary' is required",
    );
    assert_error(
        &app.mdr(c, "incidents/create", &json!({})).await,
        StatusCode::BAD_REQUEST,
        "'summary' is required",
    );
    assert_error(
        &app.mdr(
            c,
            "incidents/create",
            &json!({"summary": "s", "affected_hosts": [w.host_entry(0)]}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "'client_description' is required",
    );
    assert_error(
        &app.mdr(
            c,
            "incidents/create",
            &json!({"summary": "s", "client_description": "d"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "'affected_hosts' is required",
    );
    for (patch, key) in [
        (json!({"affected_hosts": []}), "affected_hosts"),
        (json!({"affected_hosts": ["HOST-00"]}), "affected_hosts"),
        (
            json!({"affected_hosts": [format!("HOST-01:{}", w.asset_id(0))]}),
            "affected_hosts",
        ),
        (
            json!({"affected_hosts": ["HOST-00:0x00000000000000000000000000000000"]}),
            "affected_hosts",
        ),
        (json!({"affected_hosts": w.host_entry(0)}), "affected_hosts"),
        (json!({"priority": "URGENT"}), "priority"),
        (json!({"summary": "  "}), "summary"),
        (json!({"summary": 5}), "summary"),
        (json!({"no_sla_flag": "yes"}), "no_sla_flag"),
    ] {
        let mut body = full.clone();
        for (k, v) in patch.as_object().unwrap() {
            body[k] = v.clone();
        }
        assert_error(
            &app.mdr(c, "incidents/create", &body).await,
            StatusCode::BAD_REQUEST,
            &format!("invalid value for '{key}'"),
        );
    }
    let t = now_ms(&app);
    let created = app.mdr_ok(c, "incidents/create", &full).await;
    let incident_id = id(&created, "incident_id");
    assert_eq!(incident_id.len(), 20);
    assert_eq!(
        created,
        json!({
            "incident_id": incident_id, "incident_number": 1, "summary": "Adware?",
            "description": "Users report *pop-ups*", "status": "Open", "status_description": "",
            "resolution": null, "priority": "NORMAL", "creation_time": t, "update_time": t,
            "affected_hosts": [w.host_entry(0)],
            "affected_hosts_mappings": [{"host_id": w.asset_id(0), "host_name": "HOST-00"}],
            "tenant_name": "Berlin", "detection_technologies": [], "mitre_tactics": [], "mitre_techniques": [],
            "comments": [], "attachments": [], "responses": [],
        })
    );
    let mut html = full.clone();
    html["markdown_to_html"] = json!(true);
    html["priority"] = json!("HIGH");
    html["affected_hosts"] = json!([format!("host-05:{}", w.asset_id(5))]);
    let second = app.mdr_ok(c, "incidents/create", &html).await;
    assert_eq!(second["incident_number"], json!(2));
    assert_eq!(
        second["description"],
        json!("<p>Users report <em>pop-ups</em></p>")
    );
    assert_eq!(second["priority"], json!("HIGH"));
    assert_eq!(
        second["affected_hosts"],
        json!([w.host_entry(5)]),
        "canonical host name"
    );
    let stored = app
        .mdr_ok(
            c,
            "incidents/details",
            &json!({"incident_id": second["incident_id"]}),
        )
        .await;
    assert_eq!(stored["description"], json!("Users report *pop-ups*"));
}

/// A Security Officer may not decide on responses (at creation, and after an Edit).
async fn security_officer(app: TestApp) {
    let w = world(&app).await;
    let inc = id(&w.incident(&app, 0, "Malware", "HIGH").await, "incident_id");
    let rid = id(
        &w.response(&app, &inc, 0, "network_isolate").await,
        "response_id",
    );
    let officer = app
        .mdr_connection(&w.client_id, "Officer", OFFICER, &[])
        .await;
    for (action, body) in [
        (
            "response/update",
            json!({"response_id": rid, "status": "Confirmed", "comment": "x"}),
        ),
        (
            "responses/update",
            json!({"responses_ids": [rid], "status": "Confirmed", "comment": "x"}),
        ),
        ("response/update", json!({})),
    ] {
        let r = app.mdr(&officer, action, &body).await;
        assert_error(&r, StatusCode::FORBIDDEN, NOT_PERMITTED);
        assert_eq!(
            r.header("www-authenticate").as_deref(),
            Some("Bearer realm=\"mdr\", error=\"insufficient_scope\"")
        );
    }
    // Everything else is allowed.
    app.mdr_ok(
        &officer,
        "comments/create",
        &json!({"incident_id": inc, "text": "seen"}),
    )
    .await;
    app.mdr_ok(&officer, "responses/list", &json!({"incident_id": inc}))
        .await;
    let created = app
        .mdr_ok(&officer, "incidents/create", &json!({"affected_hosts": [w.host_entry(3)], "client_description": "d", "summary": "s"}))
        .await;
    app.mdr_ok(&officer, "incidents/close", &json!({"incident_id": created["incident_id"], "resolution_status": "FALSE_POSITIVE", "summary": "x"})).await;

    // Edit a live Senior Security Officer down to Security Officer: the next call is refused.
    let senior = app
        .mdr_connection(&w.client_id, "Senior", "Senior Security Officer", &[])
        .await;
    let rid2 = id(&w.response(&app, &inc, 0, "scan").await, "response_id");
    let rid3 = id(
        &w.response(&app, &inc, 0, "kill_process").await,
        "response_id",
    );
    app.mdr_ok(
        &senior,
        "response/update",
        &json!({"response_id": rid2, "status": "Declined", "comment": "x"}),
    )
    .await;
    mdr_session::update_connection(
        &app.state,
        Actor(None),
        &w.client_id,
        &senior.connection_id,
        ConnectionInput {
            role: Some(OFFICER.into()),
            ..ConnectionInput::default()
        },
    )
    .await
    .unwrap();
    let r = app
        .mdr(
            &senior,
            "response/update",
            &json!({"response_id": rid3, "status": "Confirmed", "comment": "x"}),
        )
        .await;
    assert_error(&r, StatusCode::FORBIDDEN, NOT_PERMITTED);
    let l = app
        .mdr_ok(&w.admin, "responses/list", &json!({"incident_id": inc}))
        .await;
    let r3 = l
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["response_id"] == json!(rid3))
        .unwrap();
    assert_eq!(r3["status"], json!("Pending"));
}

/// `docs/mdr-api.md`, "Endpoints", "Behaviour": `incidents/history`, newest
/// last, `ignore_self`, time bounds, per-kind paging.
async fn history(app: TestApp) {
    let w = world(&app).await;
    let t0 = now_ms(&app);
    let inc = id(&w.incident(&app, 0, "Malware", "HIGH").await, "incident_id");
    app.clock.advance(Duration::seconds(1));
    let resp = w.response(&app, &inc, 0, "network_isolate").await;
    app.clock.advance(Duration::seconds(1));
    let comment = app
        .mdr_ok(
            &w.admin,
            "comments/create",
            &json!({"incident_id": inc, "text": "on it"}),
        )
        .await;
    app.clock.advance(Duration::seconds(1));
    let decided = app
        .mdr_ok(
            &w.admin,
            "response/update",
            &json!({"response_id": resp["response_id"], "status": "Confirmed", "comment": "ok"}),
        )
        .await;
    app.clock.advance(Duration::seconds(1));
    let closed = app
        .mdr_ok(
            &w.admin,
            "incidents/close",
            &json!({"incident_id": inc, "resolution_status": "TRUE_POSITIVE", "summary": "done"}),
        )
        .await;
    let h = app
        .mdr_ok(&w.admin, "incidents/history", &json!({"incident_id": inc}))
        .await;
    let kinds: Vec<(i64, String)> = h
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            assert_eq!(keys(r), vec!["changed_at", "entity"]);
            let e = r["entity"].as_object().unwrap();
            assert_eq!(e.len(), 1);
            (
                r["changed_at"].as_i64().unwrap(),
                e.keys().next().unwrap().clone(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            (t0, "incident_details".into()),
            (t0 + 1000, "incident_response".into()),
            (t0 + 2000, "incident_comment".into()),
            (t0 + 3000, "incident_response".into()),
            (t0 + 4000, "incident_details".into()),
        ]
    );
    assert_eq!(h[2]["entity"]["incident_comment"], comment);
    assert_eq!(h[3]["entity"]["incident_response"], decided);
    let mut closed_core = closed.clone();
    for k in ["comments", "attachments", "responses"] {
        closed_core.as_object_mut().unwrap().remove(k);
    }
    assert_eq!(h[4]["entity"]["incident_details"], closed_core);
    assert_eq!(h[0]["entity"]["incident_details"]["status"], json!("Open"));

    let own = app
        .mdr_ok(
            &w.admin,
            "incidents/history",
            &json!({"incident_id": inc, "ignore_self": true}),
        )
        .await;
    let times: Vec<i64> = own
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["changed_at"].as_i64().unwrap())
        .collect();
    assert_eq!(times, vec![t0, t0 + 1000], "only the SOC's changes");
    let other = app
        .mdr_connection(&w.client_id, "Other", ADMIN_ROLE, &[])
        .await;
    let theirs = app
        .mdr_ok(
            &other,
            "incidents/history",
            &json!({"incident_id": inc, "ignore_self": true}),
        )
        .await;
    assert_eq!(theirs.as_array().unwrap().len(), 5);
    let bounded = app
        .mdr_ok(&w.admin, "incidents/history", &json!({"incident_id": inc, "min_record_time": t0 + 1000, "max_record_time": t0 + 3000}))
        .await;
    assert_eq!(bounded.as_array().unwrap().len(), 3);
    let p1 = app
        .mdr_ok(
            &w.admin,
            "incidents/history",
            &json!({"incident_id": inc, "entity_type_page_size": 1}),
        )
        .await;
    let t = |v: &Value| -> Vec<i64> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r["changed_at"].as_i64().unwrap())
            .collect()
    };
    assert_eq!(t(&p1), vec![t0, t0 + 1000, t0 + 2000]);
    let p2 = app
        .mdr_ok(
            &w.admin,
            "incidents/history",
            &json!({"incident_id": inc, "entity_type_page_size": 1, "page": 2}),
        )
        .await;
    assert_eq!(t(&p2), vec![t0 + 3000, t0 + 4000]);
    let p3 = app
        .mdr_ok(
            &w.admin,
            "incidents/history",
            &json!({"incident_id": inc, "entity_type_page_size": 1, "page": 3}),
        )
        .await;
    assert_eq!(p3, json!([]));
    assert_error(
        &app.mdr(&w.admin, "incidents/history", &json!({})).await,
        StatusCode::BAD_REQUEST,
        "'incident_id' is required",
    );
    assert_error(
        &app.mdr(
            &w.admin,
            "incidents/history",
            &json!({"incident_id": inc, "ignore_self": 1}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid value for 'ignore_self'",
    );
}

/// `docs/mdr-api.md`, "SOC-side data": the SOC-side console API is for superusers, per existing
/// customer.
async fn soc_api(app: TestApp) {
    let w = world(&app).await;
    app.user("alice").await;
    let r = app
        .post(&format!(
            "/console/api/mdr/customers/{}/soc/assets",
            w.client_id
        ))
        .basic("alice", PASSWORD)
        .json(&json!({"host_name": "X"}))
        .send()
        .await;
    assert_error(&r, StatusCode::FORBIDDEN, "permission denied");
    let r = app
        .soc_raw(
            "0123456789abcdef0123456789abcdef",
            "assets",
            &json!({"host_name": "X"}),
        )
        .await;
    assert_error(&r, StatusCode::NOT_FOUND, "customer not found");
    assert_error(
        &app.soc_raw(&w.client_id, "assets", &json!({})).await,
        StatusCode::BAD_REQUEST,
        "'host_name' is required",
    );
    assert_error(
        &app.soc_raw(
            &w.client_id,
            "assets",
            &json!({"host_name": "X", "status": "FINE"}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid value for 'status'",
    );
    assert_error(
        &app.soc_raw(
            &w.client_id,
            "assets",
            &json!({"host_name": "X", "tenant_name": "Tokyo"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "tenant not found",
    );
    let minimal = app
        .soc(&w.client_id, "assets", &json!({"host_name": "MINI"}))
        .await;
    let t = now_ms(&app);
    let aid = id(&minimal, "asset_id");
    assert!(
        aid.starts_with("0x")
            && aid.len() == 34
            && aid[2..]
                .chars()
                .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_lowercase()),
        "{aid}"
    );
    assert_eq!(
        minimal,
        json!({
            "asset_id": aid, "host_name": "MINI", "domain": "", "first_seen": t, "last_seen": t,
            "installed_product_info": "", "isolation": false, "isolation_task_id": null, "ksc_host_id": "",
            "network_interfaces": [], "os_version": "", "product_map": {}, "status": "OK",
            "status_reasons": [], "tenant_name": null,
        })
    );
    assert_error(
        &app.soc_raw(
            &w.client_id,
            "incidents",
            &json!({"summary": "x", "affected_asset_ids": ["0xNOPE"]}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid value for 'affected_asset_ids'",
    );
    assert_error(
        &app.soc_raw(
            &w.client_id,
            "incidents",
            &json!({"summary": "x", "mitre_tactics": ["Sorcery"]}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid value for 'mitre_tactics'",
    );
    assert_error(
        &app.soc_raw(
            &w.client_id,
            "incidents",
            &json!({"summary": "x", "tenant_id": "nope"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "tenant not found",
    );
    let inc = app
        .soc(&w.client_id, "incidents", &json!({"summary": "Root one"}))
        .await;
    assert_eq!(
        (
            inc["status"].clone(),
            inc["tenant_name"].clone(),
            inc["affected_hosts"].clone()
        ),
        (json!("Open"), Value::Null, json!([]))
    );
    let path = format!("incidents/{}/status", id(&inc, "incident_id"));
    assert_error(
        &app.soc_raw(&w.client_id, &path, &json!({"status": "Done"}))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid value for 'status'",
    );
    let held = app
        .soc(
            &w.client_id,
            &path,
            &json!({"status": "On hold", "status_description": "Waiting for the customer"}),
        )
        .await;
    assert_eq!(
        (held["status"].clone(), held["status_description"].clone()),
        (json!("On hold"), json!("Waiting for the customer"))
    );
    assert_error(
        &app.soc_raw(
            &w.client_id,
            "incidents/AAAAAAAAAAAAAAAAAAAA/comments",
            &json!({"text": "x"}),
        )
        .await,
        StatusCode::NOT_FOUND,
        "incident not found",
    );
    assert_error(
        &app.soc_raw(
            &w.client_id,
            &format!("incidents/{}/responses", id(&inc, "incident_id")),
            &json!({}),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "'type' is required",
    );
}

/// `comments/create` with an owned body, for concurrent use.
async fn add_comment(app: &TestApp, conn: &MdrConn, incident_id: &str, text: String) -> Resp {
    app.mdr(
        conn,
        "comments/create",
        &json!({"incident_id": incident_id, "text": text}),
    )
    .await
}

/// `docs/mdr-api.md`, "Behaviour": concurrent changes of one incident all land, each with its own
/// `update_time` (compare-and-set), and each leaves one history record.
async fn concurrent_changes(app: TestApp) {
    let w = world(&app).await;
    let t0 = now_ms(&app);
    let inc = id(&w.incident(&app, 0, "Malware", "HIGH").await, "incident_id");
    let c = &w.admin;
    let results = tokio::join!(
        add_comment(&app, c, &inc, "c0".into()),
        add_comment(&app, c, &inc, "c1".into()),
        add_comment(&app, c, &inc, "c2".into()),
        add_comment(&app, c, &inc, "c3".into()),
        add_comment(&app, c, &inc, "c4".into()),
        add_comment(&app, c, &inc, "c5".into()),
    );
    for r in [
        results.0, results.1, results.2, results.3, results.4, results.5,
    ] {
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
    let d = app
        .mdr_ok(c, "incidents/details", &json!({"incident_id": inc}))
        .await;
    assert_eq!(d["comments"].as_array().unwrap().len(), 6);
    assert_eq!(
        d["update_time"],
        json!(t0 + 6),
        "six increments of previous + 1"
    );
    let h = app
        .mdr_ok(c, "incidents/history", &json!({"incident_id": inc}))
        .await;
    let times: Vec<i64> = h
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["entity"].get("incident_comment").is_some())
        .map(|r| r["changed_at"].as_i64().unwrap())
        .collect();
    assert_eq!(times, (t0 + 1..=t0 + 6).collect::<Vec<_>>());
}

/// All assets and incidents a connection sees.
async fn snapshot(app: &TestApp, conn: &MdrConn) -> (Value, Value) {
    (
        app.mdr_ok(conn, "assets/list", &json!({})).await,
        app.mdr_ok(
            conn,
            "incidents/list",
            &json!({"sort": "incident_number:asc"}),
        )
        .await,
    )
}

/// `load_demo`: the shipped demo document loads, twice gives the same data.
async fn demo_load(app: TestApp) {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/mdr-demo.json"
    ))
    .unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    let first = mdr_resources::load_demo(&app.state, &doc).await.unwrap();
    assert_eq!(first.customers, 1);
    assert_eq!(first.tenants, 2);
    assert!(first.assets >= 25, "{first:?}");
    assert!(first.incidents >= 12, "{first:?}");
    assert!(first.comments > 0 && first.responses > 0, "{first:?}");
    let client_id = doc["customers"][0]["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let conn = app
        .mdr_connection(&client_id, "Demo", ADMIN_ROLE, &[])
        .await;
    let (assets, incidents) = snapshot(&app, &conn).await;
    assert_eq!(assets.as_array().unwrap().len(), first.assets);
    assert_eq!(incidents.as_array().unwrap().len(), first.incidents);
    let numbers: Vec<i64> = incidents
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["incident_number"].as_i64().unwrap())
        .collect();
    assert_eq!(numbers, (1..=first.incidents as i64).collect::<Vec<_>>());
    let second = mdr_resources::load_demo(&app.state, &doc).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(
        snapshot(&app, &conn).await,
        (assets, incidents),
        "reloading changes nothing"
    );
    // A new incident continues the sequence.
    let host = app
        .mdr_ok(&conn, "assets/list", &json!({"page_size": 1}))
        .await[0]
        .clone();
    let entry = format!(
        "{}:{}",
        host["host_name"].as_str().unwrap(),
        host["asset_id"].as_str().unwrap()
    );
    let created = app
        .mdr_ok(
            &conn,
            "incidents/create",
            &json!({"affected_hosts": [entry], "client_description": "d", "summary": "s"}),
        )
        .await;
    assert_eq!(
        created["incident_number"],
        json!(first.incidents as i64 + 1)
    );
    // A malformed document names the offending object.
    let bad = json!({"customers": [{"client_id": client_id, "name": "x", "assets": [{"asset_id": "nope", "host_name": "h"}]}]});
    let e = mdr_resources::load_demo(&app.state, &bad)
        .await
        .unwrap_err();
    assert_eq!(
        e.message,
        "customers[0].assets[0]: invalid value for 'asset_id'"
    );
}

on_both_backends!(
    every_path,
    asset_paging,
    asset_sort_filters,
    incident_count_vs_pages,
    incremental_sync,
    incident_details,
    response_update,
    responses_update_all_or_nothing,
    comments_markdown,
    comments_delete,
    tenant_scope,
    close_incident,
    create_incident,
    security_officer,
    history,
    soc_api,
    demo_load,
    concurrent_changes,
);
on_both_backends_configured!(attachments);
