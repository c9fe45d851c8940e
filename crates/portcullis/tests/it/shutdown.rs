//! Stopping on SIGTERM: every request that reached the server before the signal gets its real
//! answer, what was acknowledged is stored, the process exits 0 — and an idle server does not
//! linger. Durations appear only as generous bounds against hanging.

use crate::server::{Server, client};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const ADMIN_PW: &str = "drain-admin-pw";
/// Requests under way when the signal arrives.
const REQUESTS: usize = 10;
/// `admin:drain-admin-pw` in Base64.
const ADMIN_BASIC: &str = "YWRtaW46ZHJhaW4tYWRtaW4tcHc=";

/// A raw HTTP/1.1 request creating a personal token as `admin` with Basic.
fn token_request(host: &str, n: usize) -> String {
    let body = format!(r#"{{"description": "drain {n}", "scope": "write"}}"#);
    format!(
        "POST /api/v2/tokens/ HTTP/1.1\r\nHost: {host}\r\nAuthorization: Basic {ADMIN_BASIC}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// Connects to `host` and writes the whole of `request`.
fn send(host: &str, request: &str) -> TcpStream {
    let mut stream = TcpStream::connect(host).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    stream.flush().unwrap();
    stream
}

/// Reads one whole response (the server closes the connection after it while stopping) and
/// returns its status code, or what went wrong. Blocking: run it on its own thread.
fn status_of(mut stream: TcpStream) -> Result<u16, String> {
    stream
        .set_read_timeout(Some(Duration::from_secs(300)))
        .unwrap();
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .map_err(|e| format!("read failed: {e}"))?;
    let text = String::from_utf8_lossy(&raw);
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("no HTTP response: {text:?}"))?;
    Ok(status)
}

#[tokio::test]
async fn requests_under_way_at_sigterm_get_their_real_answers() {
    let dir = tempfile::tempdir().unwrap();
    // One hashing worker and a raised Argon2 cost (about a second per check here): the Basic
    // checks queue behind each other, so most requests are still waiting for their hash when
    // the signal arrives, and answering them all takes longer than the 10 s the listener
    // used to allow. The account throttle reserves a failure per pending check, so its free
    // failures are raised above the number of concurrent checks of this one account.
    let env = [
        ("PORTCULLIS_ADMIN_PASSWORD", ADMIN_PW),
        ("PORTCULLIS_PASSWORD__ITERATIONS", "64"),
        ("PORTCULLIS_PASSWORD__HASH_CONCURRENCY", "1"),
        ("PORTCULLIS_PASSWORD__PERMIT_WAIT_SECONDS", "300"),
        ("PORTCULLIS_AUTH__BASIC_CACHE_TTL", "0"),
        ("PORTCULLIS_THROTTLE__ACCOUNT_FREE_FAILURES", "50"),
        ("PORTCULLIS_SHUTDOWN__DRAIN_TIMEOUT_SECONDS", "300"),
    ];
    let mut s = Server::start(dir.path(), &env).await;
    let host = s.base.trim_start_matches("http://").to_owned();

    // Ten requests written in full on their own connections, then the signal.
    let streams: Vec<_> = (0..REQUESTS)
        .map(|n| send(&host, &token_request(&host, n)))
        .collect();
    s.terminate();

    let answers = answers_of(streams).await;
    assert_eq!(
        answers,
        vec![Ok(201); REQUESTS],
        "every request sent before SIGTERM is answered by its handler; log:\n{}",
        s.log()
    );
    let status = s
        .exited_within(Duration::from_secs(300))
        .await
        .expect("the server exits once the requests are answered");
    assert!(status.success(), "exit status {status}; log:\n{}", s.log());
    assert!(s.log().contains("stopped"), "{}", s.log());
    drop(s);

    // What was acknowledged is stored.
    let s = Server::start(dir.path(), &env).await;
    let r = client()
        .get(s.url("/api/v2/tokens/?page_size=50"))
        .basic_auth("admin", Some(ADMIN_PW))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["count"], REQUESTS, "{body}");
}

#[tokio::test]
async fn new_connections_are_refused_once_the_drain_has_begun() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("PORTCULLIS_ADMIN_PASSWORD", ADMIN_PW),
        ("PORTCULLIS_PASSWORD__ITERATIONS", "24"),
        ("PORTCULLIS_PASSWORD__HASH_CONCURRENCY", "1"),
        ("PORTCULLIS_PASSWORD__PERMIT_WAIT_SECONDS", "120"),
        ("PORTCULLIS_AUTH__BASIC_CACHE_TTL", "0"),
        ("PORTCULLIS_THROTTLE__ACCOUNT_FREE_FAILURES", "50"),
    ];
    let mut s = Server::start(dir.path(), &env).await;
    let host = s.base.trim_start_matches("http://").to_owned();
    let streams: Vec<_> = (0..3)
        .map(|n| send(&host, &token_request(&host, n)))
        .collect();
    s.terminate();
    // The listening socket closes while the three are still being answered.
    let mut refused = false;
    for _ in 0..600 {
        if tokio::net::TcpStream::connect(&host).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused, "the listener stops accepting");
    let answers = answers_of(streams).await;
    assert_eq!(answers, vec![Ok(201); 3], "log:\n{}", s.log());
    let status = s.exited_within(Duration::from_secs(150)).await.unwrap();
    assert!(status.success());
}

#[tokio::test]
async fn an_idle_server_exits_promptly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = Server::start(dir.path(), &[("PORTCULLIS_ADMIN_PASSWORD", ADMIN_PW)]).await;
    let host = s.base.trim_start_matches("http://").to_owned();
    // A keep-alive connection that has been used and sits idle, and one that never sent a
    // byte: neither is a request under way.
    let c = client();
    let r = c.get(s.url("/api/v2/ping/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let silent = TcpStream::connect(&host).unwrap();
    s.terminate();
    // Far below the 10 s header timeout and the 30 s drain timeout.
    let status = s
        .exited_within(Duration::from_secs(5))
        .await
        .unwrap_or_else(|| panic!("still running 5 s after SIGTERM; log:\n{}", s.log()));
    assert!(status.success(), "exit status {status}");
    drop(silent);
}

/// The status of each stream's response, read concurrently, in the streams' order.
async fn answers_of(streams: Vec<TcpStream>) -> Vec<Result<u16, String>> {
    let readers: Vec<_> = streams
        .into_iter()
        .map(|stream| std::thread::spawn(move || status_of(stream)))
        .collect();
    tokio::task::spawn_blocking(move || readers.into_iter().map(|r| r.join().unwrap()).collect())
        .await
        .unwrap()
}
