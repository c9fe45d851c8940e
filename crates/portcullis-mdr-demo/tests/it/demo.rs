//! `load_demo`: the shipped demo document loads; loading twice gives the same data.

use crate::common::*;
use crate::harness::TestApp;
use crate::harness::mdr::MdrConn;
use crate::on_both_backends;
use serde_json::{Value, json};

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
    let first = portcullis_mdr_demo::load_demo(&app.state, &doc)
        .await
        .unwrap();
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
    let second = portcullis_mdr_demo::load_demo(&app.state, &doc)
        .await
        .unwrap();
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
    let e = portcullis_mdr_demo::load_demo(&app.state, &bad)
        .await
        .unwrap_err();
    assert_eq!(
        e.message(),
        "customers[0].assets[0]: invalid value for 'asset_id'"
    );
}

on_both_backends!(demo_load,);
