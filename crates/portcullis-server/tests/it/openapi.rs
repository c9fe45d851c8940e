//! The OpenAPI document is generated from the route table, served, covers every surface, and
//! no route is added beside it.
//!
//! The whole served document is compared with `tests/it/snapshots/openapi.json`, so adding,
//! removing or changing a route or its documentation fails until the snapshot is updated on
//! purpose: run `UPDATE_SNAPSHOTS=1 cargo test -p portcullis-server --test it -- openapi`
//! and review the diff with the change. A route registered without documentation cannot
//! appear in the snapshot; [`no_route_is_registered_beside_the_documented_table`] catches
//! those by reading the sources.

use crate::harness::{Backend, TestApp};
use crate::on_both_backends;
use serde_json::Value;
use std::path::{Path, PathBuf};

async fn openapi_document_is_3_1_and_covers_the_awx_surface(app: TestApp) {
    let r = app.get("/api/openapi.json").send().await;
    assert_eq!(r.status, 200);
    let doc = r.json();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/api/",
        "/api/v2/",
        "/api/o/",
        "/api/v2/auth/",
        "/api/v2/ping/",
        "/api/login/",
        "/api/logout/",
        "/api/v2/me/",
        "/api/v2/users/",
        "/api/v2/users/{u}/",
        "/api/v2/settings/",
        "/api/v2/settings/{slug}/",
        "/api/v2/tokens/",
        "/api/v2/tokens/{id}/",
        "/api/v2/tokens/{id}/activity_stream/",
        "/api/v2/tokens/revoke/",
        "/api/v2/users/{u}/tokens/",
        "/api/v2/users/{u}/personal_tokens/",
        "/api/v2/users/{u}/authorized_tokens/",
        "/api/v2/applications/",
        "/api/v2/applications/{id}/",
        "/api/v2/applications/{id}/tokens/",
        "/api/v2/applications/{id}/activity_stream/",
        "/api/o/token/",
        "/api/o/revoke_token/",
        "/api/o/introspect/",
        "/api/o/authorize/",
        "/api/v2/inventories/",
        "/api/v2/hosts/",
        "/api/v2/activity_stream/",
        // Beyond AWX: the MDR exchange and keys, the console's JSON API, the document.
        "/api/v1/{client_id}/session/confirm",
        "/.well-known/jwks.json",
        "/console/api/mdr/customers",
        "/console/api/mdr/customers/{client_id}/connections/{connection_id}",
        "/console/api/mdr/customers/{client_id}/soc/incidents",
        "/api/openapi.json",
    ] {
        assert!(paths.contains_key(p), "missing {p}");
    }
    assert!(paths["/api/v2/users/"]["post"].is_object());
    assert!(paths["/api/v2/users/{u}/"]["delete"].is_object());
    assert!(paths["/api/v2/users/{u}/"]["put"].is_object());
    assert!(paths["/api/v2/users/{u}/"]["patch"].is_object());
    assert!(paths["/api/v2/tokens/"]["post"].is_object());
    assert!(paths["/api/o/token/"]["post"].is_object());
    assert!(doc["components"]["schemas"]["UserResponse"].is_object());
}

on_both_backends!(openapi_document_is_3_1_and_covers_the_awx_surface);

/// The served document, as committed in the snapshot (pretty JSON, final newline).
async fn served_document() -> Value {
    let app = TestApp::new(Backend::Sqlite).await.unwrap();
    let r = app.get("/api/openapi.json").send().await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/json")
    );
    r.json()
}

fn snapshot_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/snapshots/openapi.json")
}

#[tokio::test]
async fn the_document_matches_its_snapshot() {
    let doc = served_document().await;
    let text = format!("{}\n", serde_json::to_string_pretty(&doc).unwrap());
    let path = snapshot_path();
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if committed != text {
        let first = committed
            .lines()
            .zip(text.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| committed.lines().count().min(text.lines().count()));
        panic!(
            "the OpenAPI document differs from {} from line {} on:\n  committed: {:?}\n  served:    {:?}\n\
             If the route table changed on purpose, rerun with UPDATE_SNAPSHOTS=1 and commit the file.",
            path.display(),
            first + 1,
            committed.lines().nth(first),
            text.lines().nth(first),
        );
    }
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// What schemathesis and client generators rely on: unique operation ids, every path
/// template parameter declared on every operation, at least one response each.
#[tokio::test]
async fn every_operation_is_well_formed() {
    let doc = served_document().await;
    let mut ids = std::collections::HashSet::new();
    let mut count = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let templated: Vec<&str> = path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect();
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            count += 1;
            let id = op["operationId"].as_str().unwrap_or_default();
            assert!(!id.is_empty(), "{method} {path}: no operationId");
            assert!(
                ids.insert(id.to_owned()),
                "{method} {path}: duplicate id {id}"
            );
            let declared: Vec<&str> = op["parameters"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .filter(|p| p["in"] == "path")
                        .filter_map(|p| p["name"].as_str())
                        .collect()
                })
                .unwrap_or_default();
            for name in &templated {
                assert!(
                    declared.contains(name),
                    "{method} {path}: path parameter {name} not declared"
                );
            }
            for name in &declared {
                assert!(
                    templated.contains(name),
                    "{method} {path}: parameter {name} is not in the path"
                );
            }
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path}: no responses"
            );
        }
    }
    assert!(count > 100, "only {count} operations");
}

/// Every `*.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Routes are added through `OpenApiRouter::routes` in `src/router.rs`, which documents them.
/// Anything that adds a route without documenting it (`.route(`, `.route_service(`,
/// `.nest(`, `.nest_service(`, `.fallback_service(`, a second `Router::new()`) may appear
/// only where `router.rs` explains it: AWX's slash-less twins, and the console's HTML pages,
/// which are a user interface rather than an API and have their own table in
/// `console/mod.rs` (left out of the document; its JSON API under `/console/api/` is in it).
/// (Mounted resource servers such as the MDR demo bring their own `OpenApiRouter`,
/// documented the same way.)
#[test]
fn no_route_is_registered_beside_the_documented_table() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let patterns = [
        ".route(",
        ".route_service(",
        ".nest(",
        ".nest_service(",
        ".fallback_service(",
        "Router::new(",
        "routing::",
    ];
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let rel = file.strip_prefix(&src).unwrap().display().to_string();
        for (n, line) in text.lines().enumerate() {
            // `OpenApiRouter::new()` documents what it holds; only a plain axum router counts.
            let code = line
                .split("//")
                .next()
                .unwrap_or_default()
                .replace("OpenApiRouter::new(", "");
            for p in patterns {
                if code.contains(p) {
                    found.push(format!("{rel}:{}: {}", n + 1, line.trim()));
                }
            }
        }
    }
    let allowed = |f: &String| {
        (f.starts_with("router.rs:")
            && (f.contains("router.route(&twin,")
                || f.contains("use axum::routing::{MethodRouter, get};")))
            // `action` wraps a documented route's method router; it registers nothing.
            || (f.starts_with("api/mdr/mod.rs:") && f.contains("use axum::routing::MethodRouter;"))
            // The console's page table: the one file where console pages are registered.
            || f.starts_with("console/mod.rs:")
            // The metrics listener's `GET /metrics`: a listener of its own, never the API's
            // (`docs/metrics.md`), so not part of the API's document.
            || f.starts_with("metrics.rs:")
            // The gateway: the forward-auth endpoint speaks the proxies' protocol, not a REST
            // resource, and the proxy listener forwards whatever its route table allows
            // (`docs/gateway.md`); neither belongs to the API's document.
            || f.starts_with("gateway/forward_auth.rs:")
            || f.starts_with("gateway/proxy.rs:")
    };
    let unexpected: Vec<&String> = found.iter().filter(|f| !allowed(f)).collect();
    assert!(
        unexpected.is_empty(),
        "routes registered outside the documented table:\n{unexpected:#?}"
    );
    // The allowed places are still there (else this test checks nothing).
    assert_eq!(
        found
            .iter()
            .filter(|f| {
                !f.starts_with("console/mod.rs:")
                    && !f.starts_with("metrics.rs:")
                    && !f.starts_with("gateway/")
            })
            .count(),
        3,
        "{found:#?}"
    );
    assert!(
        found.iter().any(|f| f.starts_with("console/mod.rs:")),
        "{found:#?}"
    );
}
