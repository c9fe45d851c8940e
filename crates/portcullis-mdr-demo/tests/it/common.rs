//! What the resource tests share: a customer with tenants, assets and a connection
//! ([`World`]), JSON helpers, the upload request.

use crate::harness::mdr::{MdrConn, multipart};
use crate::harness::{Resp, TestApp};
use axum::http::StatusCode;
use serde_json::{Value, json};

pub const ADMIN_ROLE: &str = "MDR Administrator";
pub const OFFICER: &str = "Security Officer";
pub const NOT_PERMITTED: &str = "operation not permitted for this API connection";
pub const BOUNDARY: &str = "----portcullis-test-boundary";

/// A customer with two tenants, 25 assets and an administrator connection.
pub struct World {
    pub client_id: String,
    pub berlin: String,
    pub paris: String,
    pub admin: MdrConn,
    /// The SOC's 201 bodies, in creation order.
    pub assets: Vec<Value>,
}

/// The tenant of asset `i`: Berlin, Paris, root in turn.
pub fn tenant_of(i: usize) -> Value {
    match i % 3 {
        0 => json!("Berlin"),
        1 => json!("Paris"),
        _ => Value::Null,
    }
}

/// `first_seen` of asset `i`: a permutation of 25 distinct instants, so creation order and
/// `first_seen` order differ.
pub fn first_seen(app: &TestApp, i: usize) -> i64 {
    let base = portcullis_core::clock::unix_ms(app.now()) - 30 * 86_400_000;
    base + ((i * 7) % 25) as i64 * 60_000
}

pub fn asset_body(app: &TestApp, i: usize) -> Value {
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

pub async fn world(app: &TestApp) -> World {
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
    pub fn asset_id(&self, i: usize) -> String {
        self.assets[i]["asset_id"].as_str().unwrap().to_owned()
    }

    pub fn host_entry(&self, i: usize) -> String {
        format!("HOST-{i:02}:{}", self.asset_id(i))
    }

    /// A SOC incident on asset `i` (in the asset's tenant).
    pub async fn incident(&self, app: &TestApp, i: usize, summary: &str, priority: &str) -> Value {
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
    pub async fn response(&self, app: &TestApp, incident: &str, i: usize, kind: &str) -> Value {
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

pub fn id(v: &Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("no {key} in {v}"))
        .to_owned()
}

pub fn ids(v: &Value, key: &str) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("not an array: {v}"))
        .iter()
        .map(|o| id(o, key))
        .collect()
}

pub fn keys(v: &Value) -> Vec<&str> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .map(String::as_str)
        .collect()
}

#[track_caller]
pub fn assert_error(r: &Resp, status: StatusCode, message: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(r.json(), json!({ "error": message }));
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
}

/// The response headers that do not vary per request (no request id, no timings).
pub fn stable_headers(r: &Resp) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = r
        .headers
        .iter()
        .filter(|(k, _)| !k.as_str().starts_with("x-api-"))
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()))
        .collect();
    v.sort();
    v
}

pub fn now_ms(app: &TestApp) -> i64 {
    portcullis_core::clock::unix_ms(app.now())
}

pub async fn upload(
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
