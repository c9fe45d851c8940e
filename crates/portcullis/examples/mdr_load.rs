//! Load generator for the MDR surface (`bench/mdr.sh` drives it): closed-loop workers over
//! keep-alive connections, each owning its token chain, reporting throughput and latency
//! percentiles.
//!
//! ```text
//! mdr_load exchange <base> <client_id> <tokens-file> <seconds>   # one worker per token line
//! mdr_load call <base> <client_id> <access-token> <seconds> <workers> [action]
//! ```
//!
//! `exchange`: each worker exchanges its refresh token, takes the successor and goes on, so
//! every request is a real single-use rotation (durable write included). At the end the
//! tokens file holds each chain's current token, so the next run can go on from there. `call`: workers
//! call `assets/count` (or `action`) with one access token.

#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "a benchmark tool: any failure stops the run loudly"
)]

use std::time::{Duration, Instant};

struct Tally {
    ok: u64,
    errors: u64,
    latencies_us: Vec<u64>,
    /// The chain's current refresh token (exchange workers).
    last: Option<String>,
}

async fn exchange_worker(
    client: reqwest::Client,
    url: String,
    mut token: String,
    until: Instant,
) -> Tally {
    let mut t = Tally {
        ok: 0,
        errors: 0,
        latencies_us: Vec::new(),
        last: None,
    };
    while Instant::now() < until {
        let started = Instant::now();
        let r = client
            .post(&url)
            .json(&serde_json::json!({ "refresh_token": token }))
            .send()
            .await;
        let elapsed = started.elapsed();
        match r {
            Ok(r) if r.status() == 200 => {
                let body: serde_json::Value = r.json().await.unwrap();
                token = body["refresh_token"].as_str().unwrap().to_owned();
                t.ok += 1;
                t.latencies_us
                    .push(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX));
            }
            Ok(r) => panic!(
                "exchange answered {}: {}",
                r.status(),
                r.text().await.unwrap()
            ),
            Err(_) => t.errors += 1,
        }
    }
    t.last = Some(token);
    t
}

async fn call_worker(client: reqwest::Client, url: String, token: String, until: Instant) -> Tally {
    let mut t = Tally {
        ok: 0,
        errors: 0,
        latencies_us: Vec::new(),
        last: None,
    };
    while Instant::now() < until {
        let started = Instant::now();
        let r = client
            .post(&url)
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body("{}")
            .send()
            .await;
        match r {
            Ok(r) if r.status() == 200 => {
                let _ = r.bytes().await;
                t.ok += 1;
                t.latencies_us
                    .push(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
            }
            Ok(r) => panic!("call answered {}: {}", r.status(), r.text().await.unwrap()),
            Err(_) => t.errors += 1,
        }
    }
    t
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1000.0
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: mdr_load exchange <base> <client_id> <tokens-file> <seconds> | call <base> <client_id> <access-token> <seconds> <workers> [action]";
    assert!(args.len() >= 6, "{usage}");
    let (mode, base, client_id) = (&args[1], &args[2], &args[3]);
    let seconds: u64 = args[5].parse().expect(usage);
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(512)
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);
    let mut handles = Vec::new();
    match mode.as_str() {
        "exchange" => {
            let url = format!("{base}/api/v1/{client_id}/session/confirm");
            let tokens = std::fs::read_to_string(&args[4]).unwrap();
            for token in tokens.lines().filter(|l| !l.is_empty()) {
                handles.push(tokio::spawn(exchange_worker(
                    client.clone(),
                    url.clone(),
                    token.to_owned(),
                    until,
                )));
            }
        }
        "call" => {
            let workers: usize = args.get(6).expect(usage).parse().expect(usage);
            let action = args.get(7).map_or("assets/count", String::as_str);
            let url = format!("{base}/api/v1/{client_id}/{action}");
            for _ in 0..workers {
                handles.push(tokio::spawn(call_worker(
                    client.clone(),
                    url.clone(),
                    args[4].clone(),
                    until,
                )));
            }
        }
        _ => panic!("{usage}"),
    }
    let mut all = Vec::new();
    let (mut ok, mut errors) = (0u64, 0u64);
    let mut chains = Vec::new();
    for h in handles {
        let t = h.await.unwrap();
        ok += t.ok;
        errors += t.errors;
        all.extend(t.latencies_us);
        chains.extend(t.last);
    }
    if mode == "exchange" {
        std::fs::write(&args[4], chains.join("\n") + "\n").unwrap();
    }
    let wall = started.elapsed().as_secs_f64();
    all.sort_unstable();
    println!(
        "mode={mode} ok={ok} errors={errors} rps={:.0} p50_ms={:.2} p99_ms={:.2} max_ms={:.2}",
        ok as f64 / wall,
        percentile(&all, 0.50),
        percentile(&all, 0.99),
        percentile(&all, 1.0),
    );
}
