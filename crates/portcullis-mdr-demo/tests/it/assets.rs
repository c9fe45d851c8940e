//! Assets: paging, sort, filters, `fields`, the exact asset object.

use crate::common::*;
use crate::harness::TestApp;
use crate::on_both_backends;
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::collections::HashSet;

/// Row 16: paging with `page_size` 10 until `[]`.
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

/// `docs/mdr-api.md`, "Filters and enumerations": sort, filters, unknown keys ignored, bogus sort → 400; `fields`;
/// the exact asset object.
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

on_both_backends!(asset_paging, asset_sort_filters,);
