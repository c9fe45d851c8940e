//! Body limits over a real socket (issue 9, `docs/security.md`, "Input handling"): a declared
//! `Content-Length` above the limit is answered 413 at once, with nothing of the body sent; a body
//! that trickles past the body read timeout gets a 408 and the connection is closed.
//!
//! Raw TCP, so the test controls exactly what the server has received: an HTTP client
//! library would refuse to announce a body it does not send.

use crate::server::Server;
use serde_json::Value;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ADMIN_PW: &str = "limits-admin-pw-1";

/// A bound far above any timeout the scenarios configure, and far below the 30 s defaults
/// that an unfixed server would wait for.
const BOUND: Duration = Duration::from_secs(15);

/// One parsed response.
struct Answer {
    status: u16,
    headers: String,
    body: Value,
}

/// Opens a connection to the server.
async fn connect(s: &Server) -> TcpStream {
    let addr = s.base.trim_start_matches("http://").to_owned();
    TcpStream::connect(addr).await.unwrap()
}

/// Reads one response (head, then `Content-Length` bytes of body) within [`BOUND`].
async fn read_answer(stream: &mut TcpStream) -> Answer {
    tokio::time::timeout(BOUND, async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed before a response: {buf:?}");
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8(buf[..head_end].to_vec()).unwrap();
        let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .expect("content-length");
        while buf.len() < head_end + length {
            let n = stream.read(&mut chunk).await.unwrap();
            assert!(n > 0, "connection closed inside the body");
            buf.extend_from_slice(&chunk[..n]);
        }
        Answer {
            status,
            headers: head.to_ascii_lowercase(),
            body: serde_json::from_slice(&buf[head_end..head_end + length]).unwrap(),
        }
    })
    .await
    .expect("no answer within the bound: the server is waiting for the body")
}

/// True when the server closes the connection within [`BOUND`] (EOF or reset).
async fn closed(stream: &mut TcpStream) -> bool {
    let mut rest = [0u8; 1024];
    tokio::time::timeout(BOUND, async {
        loop {
            match stream.read(&mut rest).await {
                Ok(0) | Err(_) => return true,
                Ok(_) => {}
            }
        }
    })
    .await
    .unwrap_or(false)
}

/// `Authorization` for `admin:{ADMIN_PW}` (base64 written out: no encoder among this
/// crate's dependencies).
fn basic_admin() -> String {
    "Basic YWRtaW46bGltaXRzLWFkbWluLXB3LTE=".to_owned()
}

#[tokio::test]
async fn a_declared_content_length_over_the_limit_is_413_before_any_body_is_sent() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[("PORTCULLIS_ADMIN_PASSWORD", ADMIN_PW)]).await;
    let auth = basic_admin();
    let cases: [(String, &str, Value); 4] = [
        (
            "POST /api/o/token/ HTTP/1.1\r\ncontent-type: application/x-www-form-urlencoded\r\n"
                .to_owned(),
            "10000000000",
            serde_json::json!({"error": "invalid_request", "error_description": "Request body is too large."}),
        ),
        (
            "POST /api/o/token/ HTTP/1.1\r\ncontent-type: application/x-www-form-urlencoded\r\n"
                .to_owned(),
            "71680",
            serde_json::json!({"error": "invalid_request", "error_description": "Request body is too large."}),
        ),
        (
            format!(
                "POST /api/v2/users/ HTTP/1.1\r\ncontent-type: application/json\r\nauthorization: {auth}\r\n"
            ),
            "10000000000",
            serde_json::json!({"detail": "Request body is too large."}),
        ),
        (
            "POST /api/v1/0123456789abcdef0123456789abcdef/session/confirm HTTP/1.1\r\ncontent-type: application/json\r\n"
                .to_owned(),
            "70000",
            serde_json::json!({"error": "request body too large"}),
        ),
    ];
    for (head, length, expected) in cases {
        let mut stream = connect(&s).await;
        let request = format!("{head}host: localhost\r\ncontent-length: {length}\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        // Nothing more is sent: only an answer that does not wait for the body can arrive.
        let a = read_answer(&mut stream).await;
        assert_eq!(a.status, 413, "{head}: {}", a.body);
        assert_eq!(a.body, expected, "{head}");
        assert!(a.headers.contains("x-api-request-id"), "{}", a.headers);
    }
    // The server is healthy afterwards.
    let r = crate::server::client()
        .get(s.url("/api/v2/ping/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn a_body_slower_than_the_read_timeout_is_408_and_the_connection_closes() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(
        dir.path(),
        &[
            ("PORTCULLIS_ADMIN_PASSWORD", ADMIN_PW),
            ("PORTCULLIS_LIMITS__BODY_READ_TIMEOUT_SECONDS", "1"),
        ],
    )
    .await;
    for (head, partial, expected) in [
        (
            "POST /api/o/token/ HTTP/1.1\r\ncontent-type: application/x-www-form-urlencoded\r\n",
            "grant_type=pass",
            serde_json::json!({"error": "invalid_request", "error_description": "The request body was not received in time."}),
        ),
        (
            "POST /api/v1/0123456789abcdef0123456789abcdef/session/confirm HTTP/1.1\r\ncontent-type: application/json\r\n",
            "{\"refresh_token\": \"ey",
            serde_json::json!({"error": "request body not received in time"}),
        ),
    ] {
        let mut stream = connect(&s).await;
        let request = format!("{head}host: localhost\r\ncontent-length: 1000\r\n\r\n{partial}");
        stream.write_all(request.as_bytes()).await.unwrap();
        // The rest trickles in far slower than the 1 s timeout allows (one byte, once).
        tokio::time::sleep(Duration::from_millis(300)).await;
        let _ = stream.write_all(b"w").await;
        let a = read_answer(&mut stream).await;
        assert_eq!(a.status, 408, "{head}: {}", a.body);
        assert_eq!(a.body, expected);
        assert!(a.headers.contains("connection: close"), "{}", a.headers);
        assert!(closed(&mut stream).await, "the connection stays open");
    }
    // A whole body sent at once is unaffected.
    let r = crate::server::client()
        .post(s.url("/api/v2/users/"))
        .basic_auth("admin", Some(ADMIN_PW))
        .json(&serde_json::json!({"username": "carol", "password": "carol-pw-12345"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
}
