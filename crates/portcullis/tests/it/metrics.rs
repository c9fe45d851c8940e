//! The metrics listener (`docs/metrics.md`): `GET /metrics` on a listener of its own, in the
//! Prometheus text format, counting requests, authentication outcomes and cache use, with no
//! credential anywhere in it; and nothing of it on the API listener.

use crate::server::{Server, client, free_port};

/// The value of the series `name` whose labels include every `(key, value)` of `labels` (in
/// any order), from the Prometheus text `text`; `None` when no such series is exported.
/// Shared by every test that reads the metrics listener.
pub(crate) fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| l.starts_with(&format!("{name}{{")) || l.starts_with(&format!("{name} ")))
        .filter(|l| {
            labels
                .iter()
                .all(|(k, v)| l.contains(&format!("{k}=\"{v}\"")))
        })
        .find_map(|l| l.rsplit(' ').next()?.parse().ok())
}

#[tokio::test]
async fn the_metrics_listener_counts_requests_outcomes_and_cache_use() {
    let dir = tempfile::tempdir().unwrap();
    let metrics_port = free_port();
    let listen = format!("127.0.0.1:{metrics_port}");
    let s = Server::start(
        dir.path(),
        &[
            ("PORTCULLIS_ADMIN_PASSWORD", "metrics-admin-pw"),
            ("PORTCULLIS_METRICS__LISTEN", &listen),
        ],
    )
    .await;
    let c = client();
    let r = c.get(s.url("/api/v2/me/")).send().await.unwrap();
    assert_eq!(r.status(), 401);
    let r = c
        .post(s.url("/api/v2/tokens/"))
        .basic_auth("admin", Some("metrics-admin-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let body: serde_json::Value = r.json().await.unwrap();
    let token = body["token"].as_str().unwrap().to_owned();
    for _ in 0..3 {
        let r = c
            .get(s.url("/api/v2/me/"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let r = c
        .get(s.url("/api/v2/me/"))
        .bearer_auth("pcl_pat_not-a-real-token")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    let r = c
        .get(format!("http://{listen}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "{:?}",
        r.headers()
    );
    let text = r.text().await.unwrap();
    let me = [("surface", "awx"), ("route", "/api/v2/me/")];
    assert_eq!(
        value(
            &text,
            "portcullis_http_requests_total",
            &[me[0], me[1], ("status", "401")]
        ),
        Some(2.0),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            "portcullis_http_requests_total",
            &[me[0], me[1], ("status", "200")]
        ),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        value(
            &text,
            "portcullis_http_requests_total",
            &[("route", "/api/v2/tokens/"), ("status", "201")]
        ),
        Some(1.0),
        "{text}"
    );
    let auth = "portcullis_authentications_total";
    let outcome = |m: &'static str, o: &'static str, r: &'static str| {
        value(&text, auth, &[("method", m), ("outcome", o), ("reason", r)])
    };
    assert_eq!(outcome("bearer", "success", ""), Some(3.0), "{text}");
    assert_eq!(outcome("bearer", "failure", "invalid"), Some(1.0), "{text}");
    assert_eq!(outcome("basic", "success", ""), Some(1.0), "{text}");
    assert_eq!(outcome("none", "anonymous", ""), Some(1.0), "{text}");
    // The first use read the database, the next two came from the cache.
    let lookups = "portcullis_cache_lookups_total";
    assert_eq!(
        value(&text, lookups, &[("cache", "token"), ("outcome", "hit")]),
        Some(2.0),
        "{text}"
    );
    assert!(value(&text, lookups, &[("cache", "token"), ("outcome", "miss")]).unwrap() >= 1.0);
    assert_eq!(
        value(&text, "portcullis_cache_entries", &[("cache", "token")]),
        Some(1.0)
    );
    assert_eq!(value(&text, "portcullis_change_log_fresh", &[]), Some(1.0));
    assert!(
        value(
            &text,
            "portcullis_db_pool_connections",
            &[("state", "open")]
        )
        .unwrap()
            >= 1.0
    );
    assert!(value(&text, "portcullis_password_hash_waiting", &[]).is_some());
    assert!(
        text.contains("portcullis_http_request_duration_seconds_bucket{"),
        "latencies are histograms: {text}"
    );
    assert!(text.contains("portcullis_db_query_duration_seconds_bucket{"));
    // No credential, and no raw path, ever.
    assert!(!text.contains(&token) && !text.contains("pcl_"), "{text}");

    // Only /metrics on the metrics listener, and no /metrics on the API listener.
    let r = c
        .get(format!("http://{listen}/api/v2/me/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let r = c.get(s.url("/metrics")).send().await.unwrap();
    assert_eq!(r.status(), 404);
}
