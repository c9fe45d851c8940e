//! Incidents: counts against pages, incremental sync by `update_time`, details, close,
//! create, the history, concurrent changes.

use crate::common::*;
use crate::harness::mdr::MdrConn;
use crate::harness::{Resp, TestApp};
use crate::on_both_backends;
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::collections::HashSet;
use time::Duration;

/// Row 18: `incidents/count` equals the number listed over all pages, same filter.
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

/// `docs/mdr-api.md`, "Behaviour": incremental sync by `update_time` misses nothing; times are integer ms.
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

/// Row 20: details embeds comments, attachments and responses; the exact incident object.
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

/// `docs/mdr-api.md`, "Endpoints" and "Behaviour": `incidents/history`, newest last, `ignore_self`, time bounds, per-kind paging.
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

/// `comments/create` with an owned body, for concurrent use.
async fn add_comment(app: &TestApp, conn: &MdrConn, incident_id: &str, text: String) -> Resp {
    app.mdr(
        conn,
        "comments/create",
        &json!({"incident_id": incident_id, "text": text}),
    )
    .await
}

/// `docs/mdr-api.md`, "Behaviour": concurrent changes of one incident all land, each with its own `update_time`
/// (compare-and-set), and each leaves one history record.
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

on_both_backends!(
    incident_count_vs_pages,
    incremental_sync,
    incident_details,
    close_incident,
    create_incident,
    history,
    concurrent_changes,
);
