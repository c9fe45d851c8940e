//! Prometheus metrics (`docs/metrics.md`): the recorder, the `/metrics` listener's app and
//! the few helpers the request path calls.
//!
//! Counters and histograms are recorded through the `metrics` facade wherever the event
//! happens; gauges that describe the node's state (pool, password queue, cache sizes) are
//! read when `/metrics` is scraped. Nothing secret is ever a label: routes are the matched
//! route templates (`/api/v2/tokens/{id}/`), never the raw path, and no credential, user
//! name or address is recorded.

use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::Arc;
use std::time::Duration;

/// Histogram buckets for latencies, seconds: 100 µs to 10 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0,
];

/// Installs the process-wide recorder (once, in the binary) and returns the handle that
/// renders it.
pub fn install() -> Result<PrometheusHandle, String> {
    let recorder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), LATENCY_BUCKETS)
        .map_err(|e| e.to_string())?
        .build_recorder();
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).map_err(|e| e.to_string())?;
    describe();
    Ok(handle)
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "portcullis_http_requests_total",
        "Requests answered, by surface, matched route and status."
    );
    describe_histogram!(
        "portcullis_http_request_duration_seconds",
        "Time from the request's arrival to its answer, by surface."
    );
    describe_counter!(
        "portcullis_authentications_total",
        "Authentication outcomes by method (bearer, session, basic, mdr_access, exchange) and reason."
    );
    describe_counter!(
        "portcullis_cache_lookups_total",
        "Credential cache lookups by cache (token, session) and outcome (hit, miss)."
    );
    describe_gauge!(
        "portcullis_cache_entries",
        "Entries held by each credential cache."
    );
    describe_counter!(
        "portcullis_invalidations_total",
        "Change log entries applied, by kind and by how they arrived (notify, poll)."
    );
    describe_histogram!(
        "portcullis_invalidation_lag_seconds",
        "Time from a change to its application on this node."
    );
    describe_counter!(
        "portcullis_cache_flushes_total",
        "Whole-cache drops (feed reconnect, failed poll, unknown change)."
    );
    describe_gauge!(
        "portcullis_change_log_fresh",
        "1 while the change log reader is within the revocation bound (caches usable)."
    );
    describe_gauge!(
        "portcullis_db_pool_connections",
        "Database pool connections by state (open, idle)."
    );
    describe_histogram!(
        "portcullis_db_query_duration_seconds",
        "Latency of the database reads on the authentication path, by query."
    );
    describe_gauge!(
        "portcullis_password_hash_workers_busy",
        "Argon2id workers hashing now."
    );
    describe_gauge!(
        "portcullis_password_hash_waiting",
        "Callers waiting for an Argon2id worker."
    );
    describe_histogram!(
        "portcullis_mdr_exchange_duration_seconds",
        "Time spent in session/confirm, by outcome."
    );
}

/// The app of the metrics listener: `GET /metrics`, everything else 404.
pub fn app(state: AppState, handle: PrometheusHandle) -> axum::Router {
    let handle = Arc::new(handle);
    axum::Router::new()
        .route(
            "/metrics",
            axum::routing::get(move |State(state): State<AppState>| {
                let handle = handle.clone();
                async move { scrape(&state, &handle) }
            }),
        )
        .fallback(|| async { StatusCode::NOT_FOUND })
        .with_state(state)
}

/// Keeps the recorder's histogram storage bounded between scrapes.
pub fn spawn_upkeep(handle: PrometheusHandle) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            handle.run_upkeep();
        }
    })
}

fn scrape(state: &AppState, handle: &PrometheusHandle) -> Response {
    let pool = state.store.pool_stats();
    metrics::gauge!("portcullis_db_pool_connections", "state" => "open").set(f64::from(pool.size));
    metrics::gauge!("portcullis_db_pool_connections", "state" => "idle").set(f64::from(pool.idle));
    let (busy, waiting) = state.passwords.load();
    metrics::gauge!("portcullis_password_hash_workers_busy").set(busy as f64);
    metrics::gauge!("portcullis_password_hash_waiting").set(waiting as f64);
    metrics::gauge!("portcullis_cache_entries", "cache" => "token")
        .set(state.caches.tokens.len() as f64);
    metrics::gauge!("portcullis_cache_entries", "cache" => "session")
        .set(state.caches.sessions.len() as f64);
    metrics::gauge!("portcullis_change_log_fresh").set(if state.changes.fresh() {
        1.0
    } else {
        0.0
    });
    let mut resp = handle.render().into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    resp
}

/// The matched route of a request, carried on its response to the envelope.
#[derive(Debug, Clone)]
pub struct RouteLabel(pub MatchedPath);

/// Route layer: hands the matched route template to the envelope, which counts the answer.
pub async fn label_route(req: Request, next: Next) -> Response {
    let matched = req.extensions().get::<MatchedPath>().cloned();
    let mut resp = next.run(req).await;
    if let Some(m) = matched {
        resp.extensions_mut().insert(RouteLabel(m));
    }
    resp
}

/// Counts one answered request (called by the envelope).
pub fn request(surface: &'static str, route: Option<&RouteLabel>, status: u16, elapsed: Duration) {
    let route = route.map_or("unmatched", |r| r.0.as_str()).to_owned();
    metrics::counter!(
        "portcullis_http_requests_total",
        "surface" => surface,
        "route" => route,
        "status" => status_label(status)
    )
    .increment(1);
    metrics::histogram!("portcullis_http_request_duration_seconds", "surface" => surface)
        .record(elapsed.as_secs_f64());
}

/// Counts one authentication outcome.
pub fn authentication(method: &'static str, outcome: &'static str, reason: &'static str) {
    metrics::counter!(
        "portcullis_authentications_total",
        "method" => method,
        "outcome" => outcome,
        "reason" => reason
    )
    .increment(1);
}

/// Counts one gateway decision by mode, route id, outcome (`allow`, `deny`) and reason
/// (`docs/gateway.md`, "Metrics").
pub fn gateway_decision(
    mode: &'static str,
    route: &str,
    outcome: &'static str,
    reason: &'static str,
) {
    metrics::counter!(
        "portcullis_gateway_decisions_total",
        "mode" => mode,
        "route" => route.to_owned(),
        "outcome" => outcome,
        "reason" => reason
    )
    .increment(1);
}

/// Counts a gateway request whose credential was (`hit`) or was not in the node's cache.
pub fn gateway_cache(route: &str, hit: bool) {
    metrics::counter!(
        "portcullis_gateway_cache_total",
        "route" => route.to_owned(),
        "outcome" => if hit { "hit" } else { "miss" }
    )
    .increment(1);
}

/// Counts a signed assertion reused from the cache (`hit`) or signed anew.
pub fn gateway_assertion(route: &str, hit: bool) {
    metrics::counter!(
        "portcullis_gateway_assertions_total",
        "route" => route.to_owned(),
        "cache" => if hit { "hit" } else { "miss" }
    )
    .increment(1);
}

/// Records the upstream's time to the response head in proxy mode, by route and outcome
/// (`ok`, `error`, `timeout`).
pub fn gateway_upstream(route: &str, outcome: &'static str, elapsed: Duration) {
    metrics::histogram!(
        "portcullis_gateway_upstream_seconds",
        "route" => route.to_owned(),
        "outcome" => outcome
    )
    .record(elapsed.as_secs_f64());
}

/// Records how long a database read on the authentication path took.
pub fn query(name: &'static str, elapsed: Duration) {
    metrics::histogram!("portcullis_db_query_duration_seconds", "query" => name)
        .record(elapsed.as_secs_f64());
}

fn status_label(status: u16) -> &'static str {
    match status {
        200 => "200",
        201 => "201",
        204 => "204",
        301 => "301",
        302 => "302",
        304 => "304",
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        405 => "405",
        408 => "408",
        409 => "409",
        413 => "413",
        415 => "415",
        429 => "429",
        500 => "500",
        503 => "503",
        s if s < 200 => "1xx",
        s if s < 300 => "2xx",
        s if s < 400 => "3xx",
        s if s < 500 => "4xx",
        _ => "5xx",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_keep_a_small_label_set() {
        assert_eq!(status_label(401), "401");
        assert_eq!(status_label(418), "4xx");
        assert_eq!(status_label(599), "5xx");
        assert_eq!(status_label(101), "1xx");
    }
}
