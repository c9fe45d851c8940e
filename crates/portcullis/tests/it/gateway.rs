//! The gateway (`docs/gateway.md`) end to end: Portcullis in front of an echo upstream
//! (`gateway/echo.rs`), in its two modes — the forward-auth endpoint behind Debian's nginx
//! `auth_request`, from the template `gateway/nginx.conf` that the guide quotes, and the
//! built-in reverse proxy, reached directly and through nginx. Test numbers (T1…T46) are those
//! of the gateway requirements.
//!
//! Every scenario asserts what the upstream received (the echo answers the method, the raw
//! request target and every header) or that nothing reached it (the echo counts requests).
//! Streaming is proven causally (the upstream sends its second event only after the client
//! saw the first), never with a stopwatch; the only time bounds asserted are the revocation
//! bound of T41 and the expiry of a 1 s assertion, which the test waits for.

mod echo;

use crate::outage::Relay;
use crate::server::{Server, client, cookie, form_login, free_port};
use crate::{metrics, nginx};
use echo::{Echo, EchoBody};
use http_body_util::BodyExt;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The host every route serves.
const HOST: &str = "api.example.test";
/// `gateway.public_origin`.
const ORIGIN: &str = "http://api.example.test";
const ADMIN_PW: &str = "gateway-admin-pw-1";
const BOB_PW: &str = "gateway-bob-pw-1";
/// The nginx configuration template (placeholders `{{…}}`, see the file's header).
const NGINX_TEMPLATE: &str = include_str!("gateway/nginx.conf");
/// Longest wait for anything that should happen at once: far above a normal answer.
const BOUND: Duration = Duration::from_secs(30);
/// The 401 body of a request without a credential.
const NOT_PROVIDED: &str = r#"{"detail":"Authentication credentials were not provided."}"#;

/// The route table of every test (`{{GATEWAY}}`: the proxy listener, `{{ECHO}}`: the echo).
const ROUTES: &str = r#"
[gateway]
listen = "{{GATEWAY}}"
public_origin = "http://api.example.test"

[[gateway.routes]]
id = "public"
match = { host = "api.example.test", path_prefix = "/public/" }
upstream = { url = "http://{{ECHO}}" }
public = true

[[gateway.routes]]
id = "read"
match = { host = "api.example.test", path_prefix = "/read/", methods = ["GET", "HEAD", "POST"] }
upstream = { url = "http://{{ECHO}}" }
require = { scopes = ["read"] }

[[gateway.routes]]
id = "admin"
match = { host = "api.example.test", path_prefix = "/admin/" }
upstream = { url = "http://{{ECHO}}" }
require = { roles = ["admin"] }
headers = { preset = "x-auth-request" }
assertion = { ttl = "60s" }

[[gateway.routes]]
id = "wsgi"
match = { host = "api.example.test", path_prefix = "/wsgi/" }
upstream = { url = "http://{{ECHO}}" }
headers = { preset = "remote" }

[[gateway.routes]]
id = "ws"
match = { host = "api.example.test", path_prefix = "/ws/" }
upstream = { url = "http://{{ECHO}}", websocket = true }

[[gateway.routes]]
id = "stream"
match = { host = "api.example.test", path_prefix = "/stream/" }
upstream = { url = "http://{{ECHO}}", timeout = "60s" }

[[gateway.routes]]
id = "short"
match = { host = "api.example.test", path_prefix = "/short/" }
upstream = { url = "http://{{ECHO}}" }
assertion = { ttl = "1s" }
"#;

// ---------------------------------------------------------------------------------------
// Harness: Portcullis with the route table, the echo, nginx
// ---------------------------------------------------------------------------------------

/// One Portcullis node with the gateway's routes in front of its own echo upstream.
struct Gw {
    dir: tempfile::TempDir,
    server: Option<Server>,
    port: u16,
    /// The proxy-mode listener (`gateway.listen`), `127.0.0.1:PORT`.
    gateway: String,
    /// The metrics listener, `127.0.0.1:PORT`.
    metrics: String,
    env: Vec<(String, String)>,
    echo: Echo,
}

impl Gw {
    /// A node on SQLite.
    async fn start() -> Gw {
        Gw::start_with(&[]).await
    }

    /// A node with extra environment (a PostgreSQL URL, a key-encryption key, …).
    async fn start_with(extra: &[(&str, &str)]) -> Gw {
        let echo = Echo::start().await;
        let dir = tempfile::tempdir().unwrap();
        let gateway = format!("127.0.0.1:{}", free_port());
        let metrics = format!("127.0.0.1:{}", free_port());
        let config = dir.path().join("portcullis.toml");
        std::fs::write(
            &config,
            ROUTES
                .replace("{{GATEWAY}}", &gateway)
                .replace("{{ECHO}}", &echo.addr.to_string()),
        )
        .unwrap();
        let mut env = vec![
            ("PORTCULLIS_CONFIG".to_owned(), config.display().to_string()),
            ("PORTCULLIS_ADMIN_PASSWORD".to_owned(), ADMIN_PW.to_owned()),
            ("PORTCULLIS_METRICS__LISTEN".to_owned(), metrics.clone()),
        ];
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        let mut gw = Gw {
            dir,
            server: None,
            port: free_port(),
            gateway,
            metrics,
            env,
            echo,
        };
        gw.spawn().await;
        gw
    }

    /// Starts the process on the node's port and waits until it answers.
    async fn spawn(&mut self) {
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let s = Server::spawn(self.dir.path(), &env, self.port, "http");
        let c = client();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = c.get(s.url("/api/v2/ping/")).send().await
                && r.status() == 200
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "portcullis did not start; log:\n{}",
                s.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.server = Some(s);
    }

    /// Kills the process (SIGKILL, as a crash).
    fn kill(&mut self) {
        self.server = None;
    }

    fn server(&self) -> &Server {
        self.server.as_ref().expect("portcullis is running")
    }

    /// A URL on the main listener.
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// A URL on the proxy-mode listener.
    fn proxy(&self, path: &str) -> String {
        format!("http://{}{path}", self.gateway)
    }

    /// A forward-auth question in nginx's dialect, from a trusted (loopback) peer.
    fn ask(&self, method: &str, uri: &str) -> reqwest::RequestBuilder {
        client()
            .get(self.url("/api/gateway/auth"))
            .header("host", HOST)
            .header("x-original-method", method)
            .header("x-original-uri", uri)
    }

    /// A personal token of `user` with `scope`, made with Basic; answers (id, value).
    async fn token(&self, user: &str, pw: &str, scope: &str) -> (i64, String) {
        let r = client()
            .post(self.url("/api/v2/tokens/"))
            .basic_auth(user, Some(pw))
            .json(&json!({"description": "gateway test", "scope": scope}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            201,
            "token for {user}: {}",
            r.text().await.unwrap()
        );
        let body: Value = r.json().await.unwrap();
        (
            body["id"].as_i64().unwrap(),
            body["token"].as_str().unwrap().to_owned(),
        )
    }

    /// An admin token with `scope`.
    async fn admin_token(&self, scope: &str) -> String {
        self.token("admin", ADMIN_PW, scope).await.1
    }

    /// Makes the ordinary user `bob` (no admin or auditor role); answers his user id and a
    /// read-scoped token.
    async fn bob(&self) -> (i64, String) {
        let r = client()
            .post(self.url("/api/v2/users/"))
            .basic_auth("admin", Some(ADMIN_PW))
            .json(&json!({"username": "bob", "password": BOB_PW}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "create bob: {}", r.text().await.unwrap());
        let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
        (id, self.token("bob", BOB_PW, "read").await.1)
    }

    /// The Prometheus text of the metrics listener.
    async fn metrics_text(&self) -> String {
        client()
            .get(format!("http://{}/metrics", self.metrics))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }
}

/// Debian's nginx in front of the gateway (`nginx::Process`), with two servers.
struct Nginx {
    process: nginx::Process,
    /// The auth_request server.
    port: u16,
    /// The server in front of proxy mode.
    proxy_port: u16,
}

/// The template with its placeholders filled.
fn render_nginx(prefix: &str, listen: u16, listen_proxy: u16, gw: &Gw) -> String {
    let conf = NGINX_TEMPLATE
        .replace("{{PREFIX}}", prefix)
        .replace("{{LISTEN}}", &format!("127.0.0.1:{listen}"))
        .replace("{{LISTEN_PROXY}}", &format!("127.0.0.1:{listen_proxy}"))
        .replace("{{PORTCULLIS}}", &format!("127.0.0.1:{}", gw.port))
        .replace("{{GATEWAY}}", &gw.gateway)
        .replace("{{UPSTREAM}}", &gw.echo.addr.to_string());
    assert!(!conf.contains("{{"), "unfilled placeholder:\n{conf}");
    conf
}

impl Nginx {
    /// nginx from the template in front of `gw`, once a request passes through each of its
    /// servers; `None` (skip) when nginx is not installed, which fails under CI.
    async fn start(gw: &Gw) -> Option<Nginx> {
        if !nginx::available("gateway via nginx") {
            return None;
        }
        let (port, proxy_port) = (free_port(), free_port());
        let process = nginx::Process::start(|prefix| render_nginx(prefix, port, proxy_port, gw));
        let nginx = Nginx {
            process,
            port,
            proxy_port,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        for url in [nginx.url("/public/ready"), nginx.proxy("/public/ready")] {
            loop {
                if let Ok(r) = client().get(&url).header("host", HOST).send().await
                    && r.status() == 200
                {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "nginx did not pass {url} through; error.log:\n{}",
                    nginx.process.error_log()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Some(nginx)
    }

    /// A URL on the auth_request server.
    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// A URL on the server in front of proxy mode.
    fn proxy(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.proxy_port)
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn proxy_addr(&self) -> String {
        format!("127.0.0.1:{}", self.proxy_port)
    }

    /// True while the nginx started by the test still runs (it was never reloaded).
    fn running(&mut self) -> bool {
        self.process.running()
    }
}

/// A GET with the routes' host.
fn get(url: &str) -> reqwest::RequestBuilder {
    client().get(url).header("host", HOST)
}

/// A request with the routes' host.
fn request(method: &str, url: &str) -> reqwest::RequestBuilder {
    client()
        .request(method.parse().unwrap(), url)
        .header("host", HOST)
}

/// The echo's JSON answer; panics (with the body) unless the echo answered.
async fn echoed(r: reqwest::Response) -> Value {
    let status = r.status();
    let text = r.text().await.unwrap();
    assert_eq!(status, 200, "expected the echo's answer, got: {text}");
    serde_json::from_str(&text).unwrap_or_else(|_| panic!("not the echo's answer: {text}"))
}

/// Every value the echo received under `name` (compared without regard to case).
fn values(echo: &Value, name: &str) -> Vec<String> {
    echo["headers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h[0].as_str().unwrap().eq_ignore_ascii_case(name))
        .map(|h| h[1].as_str().unwrap().to_owned())
        .collect()
}

/// The one value the echo received under `name`.
fn one(echo: &Value, name: &str) -> String {
    let v = values(echo, name);
    assert_eq!(v.len(), 1, "{name}: {v:?} in {echo}");
    v[0].clone()
}

/// True for a header name (after `_`/`.` → `-`) that names an identity.
fn is_identity(name: &str) -> bool {
    let n = name.to_ascii_lowercase().replace(['_', '.'], "-");
    ["x-portcullis-", "x-auth-request-", "remote-"]
        .iter()
        .any(|p| n.starts_with(p))
        || [
            "x-forwarded-user",
            "x-forwarded-email",
            "x-forwarded-groups",
            "x-forwarded-preferred-username",
        ]
        .contains(&n.as_str())
}

/// The echo's identity headers.
fn identity(echo: &Value) -> Vec<(String, String)> {
    echo["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h[0].as_str().unwrap().to_owned(),
                h[1].as_str().unwrap().to_owned(),
            )
        })
        .filter(|(n, _)| is_identity(n))
        .collect()
}

/// Polls `ready` until it holds, for at most `bound`.
async fn wait_until<F, Fut>(bound: Duration, what: &str, mut ready: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + bound;
    while !ready().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

// ---------------------------------------------------------------------------------------
// Raw HTTP/1.1 over a socket: the bytes exactly as written
// ---------------------------------------------------------------------------------------

/// A response read off a socket.
struct Raw {
    /// 0 when the connection closed without an answer.
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Raw {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            panic!(
                "not JSON: {}\n{}",
                self.head,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

/// Sends `request` as is on a new connection to `addr` and reads one response.
async fn raw(addr: &str, request: &str) -> (TcpStream, Raw) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request.as_bytes()).await.unwrap();
    let answer = tokio::time::timeout(BOUND, read_response(&mut s))
        .await
        .expect("an answer within the bound");
    (s, answer)
}

async fn read_more(s: &mut TcpStream, buf: &mut Vec<u8>) -> bool {
    let mut chunk = [0u8; 16 * 1024];
    match s.read(&mut chunk).await {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            true
        }
    }
}

async fn read_response(s: &mut TcpStream) -> Raw {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        if !read_more(s, &mut buf).await {
            return Raw {
                status: 0,
                head: String::from_utf8_lossy(&buf).into_owned(),
                body: Vec::new(),
            };
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut raw = Raw {
        status: head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0),
        head,
        body: buf[head_end..].to_vec(),
    };
    if let Some(len) = raw.header("content-length") {
        let len: usize = len.parse().unwrap();
        while raw.body.len() < len && read_more(s, &mut raw.body).await {}
        raw.body.truncate(len);
    } else if raw
        .header("transfer-encoding")
        .is_some_and(|t| t.contains("chunked"))
    {
        while !raw.body.ends_with(b"0\r\n\r\n") && read_more(s, &mut raw.body).await {}
        raw.body = dechunk(&raw.body);
    } else if raw.status >= 200 && raw.status != 204 && raw.status != 304 {
        while read_more(s, &mut raw.body).await {}
    }
    raw
}

/// Decodes a chunked body.
fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = std::str::from_utf8(&data[..eol]).unwrap_or("0");
        let size =
            usize::from_str_radix(size.split(';').next().unwrap_or("0").trim(), 16).unwrap_or(0);
        if size == 0 || data.len() < eol + 2 + size {
            return out;
        }
        out.extend_from_slice(&data[eol + 2..eol + 2 + size]);
        data = &data[(eol + 4 + size).min(data.len())..];
    }
}

/// True when the peer closes the connection (or resets it) within the bound.
async fn closed(s: &mut TcpStream) -> bool {
    let mut chunk = [0u8; 4096];
    loop {
        match tokio::time::timeout(BOUND, s.read(&mut chunk)).await {
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
            Err(_) => return false,
        }
    }
}

// ---------------------------------------------------------------------------------------
// The guide quotes the template
// ---------------------------------------------------------------------------------------

/// `docs/gateway.md` quotes the nginx configuration these tests run, exactly.
#[test]
fn the_gateway_guide_quotes_the_nginx_template_exactly() {
    let guide = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/gateway.md");
    let guide =
        std::fs::read_to_string(&guide).unwrap_or_else(|e| panic!("{}: {e}", guide.display()));
    assert!(
        guide.contains(&format!("```nginx\n{NGINX_TEMPLATE}```\n")),
        "docs/gateway.md must quote crates/portcullis/tests/it/gateway/nginx.conf verbatim"
    );
}

// ---------------------------------------------------------------------------------------
// T1, T2: a read token, via nginx and via proxy mode
// ---------------------------------------------------------------------------------------

/// Headers that belong to one connection (RFC 9110 §7.6.1): the only ones the two modes may
/// differ in.
const HOP_BY_HOP: [&str; 7] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Method, target and the sorted end-to-end headers of an echo.
fn end_to_end(echo: &Value) -> (String, String, Vec<(String, String)>) {
    let mut headers: Vec<(String, String)> = echo["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h[0].as_str().unwrap().to_owned(),
                h[1].as_str().unwrap().to_owned(),
            )
        })
        .filter(|(n, _)| !HOP_BY_HOP.contains(&n.as_str()))
        .collect();
    headers.sort();
    (
        echo["method"].as_str().unwrap().to_owned(),
        echo["target"].as_str().unwrap().to_owned(),
        headers,
    )
}

#[tokio::test]
async fn t1_t2_a_read_token_reaches_the_upstream_as_an_identity_alike_in_both_modes() {
    let gw = Gw::start().await;
    let Some(ng) = Nginx::start(&gw).await else {
        return;
    };
    let (bob_id, bob) = gw.bob().await;

    // T1: through nginx auth_request.
    let via_nginx = echoed(
        get(&ng.url("/read/x?q=1"))
            .bearer_auth(&bob)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(via_nginx["method"], "GET");
    assert_eq!(via_nginx["target"], "/read/x?q=1");
    assert_eq!(one(&via_nginx, "x-portcullis-user"), "bob");
    assert_eq!(one(&via_nginx, "x-portcullis-user-id"), bob_id.to_string());
    assert_eq!(one(&via_nginx, "x-portcullis-scopes"), "read");
    assert_eq!(one(&via_nginx, "x-portcullis-roles"), "user");
    assert_eq!(one(&via_nginx, "x-portcullis-auth-method"), "bearer");
    assert!(
        values(&via_nginx, "authorization").is_empty(),
        "the route strips Authorization: {via_nginx}"
    );

    // T2: the same request to proxy mode gets the same echo, hop-by-hop headers aside.
    let direct = echoed(
        get(&gw.proxy("/read/x?q=1"))
            .bearer_auth(&bob)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        end_to_end(&direct),
        end_to_end(&via_nginx),
        "proxy mode:\n{direct}\nnginx auth_request:\n{via_nginx}"
    );
    // And through nginx in front of proxy mode, the identity is the same.
    let fronted = echoed(
        get(&ng.proxy("/read/x?q=1"))
            .bearer_auth(&bob)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(fronted["target"], "/read/x?q=1");
    assert_eq!(identity(&fronted), identity(&direct));
    assert!(values(&fronted, "authorization").is_empty());
}

// ---------------------------------------------------------------------------------------
// T4, T5: API callers get 401, browsers the login page
// ---------------------------------------------------------------------------------------

/// Asserts the API caller's 401: AWX body, one `WWW-Authenticate`, no `Location`.
async fn assert_api_401(r: reqwest::Response, body: &str, challenge: &str, what: &str) {
    assert_eq!(r.status(), 401, "{what}");
    assert!(r.headers().get("location").is_none(), "{what}: {r:?}");
    let challenges: Vec<_> = r.headers().get_all("www-authenticate").iter().collect();
    assert_eq!(challenges, [challenge], "{what}");
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "{what}: {r:?}"
    );
    let got: Value = serde_json::from_str(&r.text().await.unwrap()).unwrap();
    assert_eq!(got, serde_json::from_str::<Value>(body).unwrap(), "{what}");
}

#[tokio::test]
async fn t4_t5_browsers_go_to_the_login_page_and_api_callers_get_401() {
    let gw = Gw::start().await;
    let Some(ng) = Nginx::start(&gw).await else {
        return;
    };
    let login = format!("{ORIGIN}/console/login/?next=/read/x");
    let html = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8";
    let before = gw.echo.hits();
    for (mode, url) in [
        ("nginx auth_request", ng.url("/read/x")),
        ("proxy mode", gw.proxy("/read/x")),
        ("nginx in front of proxy mode", ng.proxy("/read/x")),
    ] {
        // T5: a browser's GET and HEAD are sent to the login page with 302, its POST with 303.
        for (method, status) in [("GET", 302), ("HEAD", 302), ("POST", 303)] {
            let r = request(method, &url)
                .header("accept", html)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), status, "{mode}: browser {method}");
            assert_eq!(
                r.headers()["location"],
                login.as_str(),
                "{mode}: browser {method}"
            );
        }
        // T4: an API caller (JSON, an XHR, or any Authorization) keeps the 401.
        let r = get(&url)
            .header("accept", "application/json")
            .send()
            .await
            .unwrap();
        assert_api_401(r, NOT_PROVIDED, r#"Bearer realm="api""#, mode).await;
        let r = get(&url)
            .header("accept", html)
            .header("x-requested-with", "XMLHttpRequest")
            .send()
            .await
            .unwrap();
        assert_api_401(r, NOT_PROVIDED, r#"Bearer realm="api""#, mode).await;
        let r = get(&url)
            .header("accept", html)
            .bearer_auth("pcl_pat_not-a-real-token")
            .send()
            .await
            .unwrap();
        assert_api_401(
            r,
            r#"{"detail":"Invalid token."}"#,
            r#"Bearer realm="api", error="invalid_token""#,
            mode,
        )
        .await;
        // An MDR access JWT that does not verify gets the MDR API's body and realm.
        let r = get(&url)
            .bearer_auth("eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl")
            .send()
            .await
            .unwrap();
        assert_api_401(
            r,
            r#"{"error":"invalid access token"}"#,
            r#"Bearer realm="mdr", error="invalid_token""#,
            mode,
        )
        .await;
    }
    // The query is part of `next`, escaped.
    let r = get(&ng.url("/read/x?a=1&b=2"))
        .header("accept", html)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    assert_eq!(
        r.headers()["location"],
        format!("{ORIGIN}/console/login/?next=/read/x%3Fa%3D1%26b%3D2").as_str()
    );
    assert_eq!(gw.echo.hits(), before, "nothing reached the upstream");
}

// ---------------------------------------------------------------------------------------
// T12: Portcullis down behind nginx
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn t12_nginx_fails_closed_while_portcullis_is_down_and_recovers_without_a_reload() {
    let mut gw = Gw::start().await;
    let Some(mut ng) = Nginx::start(&gw).await else {
        return;
    };
    let (_, bob) = gw.bob().await;
    let read = |url: String| {
        let bob = bob.clone();
        async move { get(&url).bearer_auth(bob).send().await.unwrap().status() }
    };
    assert_eq!(read(ng.url("/read/x")).await, 200);
    assert_eq!(read(ng.proxy("/read/x")).await, 200);

    gw.kill();
    let before = gw.echo.hits();
    for _ in 0..20 {
        let s = read(ng.url("/read/x")).await;
        assert!(
            s == 500 || s == 503,
            "auth_request with Portcullis down answered {s}"
        );
        let s = read(ng.proxy("/read/x")).await;
        assert!(
            s.is_server_error(),
            "nginx in front of a stopped proxy mode answered {s}"
        );
        // A public route is no way around it either.
        let s = get(&ng.url("/public/x")).send().await.unwrap().status();
        assert!(s == 500 || s == 503, "public route answered {s}");
    }
    assert_eq!(gw.echo.hits(), before, "nothing reached the upstream");

    // The same port again: nginx finds Portcullis back by itself.
    gw.spawn().await;
    wait_until(BOUND, "a 200 through nginx after the restart", || async {
        read(ng.url("/read/x")).await == 200
    })
    .await;
    wait_until(BOUND, "a 200 through nginx to proxy mode", || async {
        read(ng.proxy("/read/x")).await == 200
    })
    .await;
    assert!(
        ng.running(),
        "the nginx started before the outage still runs"
    );
}

// ---------------------------------------------------------------------------------------
// T13: the database down while the cache is cold
// ---------------------------------------------------------------------------------------

/// A fresh PostgreSQL database, or `None` (a loud skip) when the server is unreachable
/// outside CI; under CI the test fails.
async fn postgres(test: &str) -> Option<String> {
    let url = portcullis_store_postgres::testing::fresh_database_url()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    if url.is_none() {
        let _ignored = writeln!(
            std::io::stderr(),
            "\n!!!!! SKIP {test}: PostgreSQL unreachable !!!!!\n"
        );
    }
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t13_the_database_down_with_a_cold_cache_answers_503_never_2xx() {
    let Some(url) = postgres("t13").await else {
        return;
    };
    let parsed = url::Url::parse(&url).unwrap();
    let relay = Relay::start(format!(
        "{}:{}",
        parsed.host_str().unwrap(),
        parsed.port().unwrap_or(5432)
    ))
    .await;
    let mut via = parsed.clone();
    via.set_port(Some(relay.port)).unwrap();
    let gw = Gw::start_with(&[("PORTCULLIS_DATABASE_URL", via.as_str())]).await;
    let ng = Nginx::start(&gw).await;
    // Made, never used: no cache on the node holds it.
    let cold = gw.admin_token("read").await;
    let before = gw.echo.hits();
    relay.down();

    let ask = || async { gw.ask("GET", "/read/x").bearer_auth(&cold).send().await };
    let first = ask().await.unwrap();
    assert_eq!(first.status(), 503, "forward-auth: {:?}", first);
    assert_eq!(first.headers()["retry-after"], "5");
    let r = get(&gw.proxy("/read/x"))
        .bearer_auth(&cold)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503, "proxy mode");
    // A Traefik- or Caddy-style caller gets the 503 itself.
    let r = client()
        .get(gw.url("/api/gateway/auth"))
        .header("host", HOST)
        .header("x-forwarded-method", "GET")
        .header("x-forwarded-uri", "/read/x")
        .bearer_auth(&cold)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503, "forward-auth, Traefik dialect");
    // nginx turns any status but 2xx, 401 and 403 of auth_request into 500.
    if let Some(ng) = &ng {
        let r = get(&ng.url("/read/x"))
            .bearer_auth(&cold)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 500, "nginx auth_request");
        let r = get(&ng.proxy("/read/x"))
            .bearer_auth(&cold)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 503, "nginx in front of proxy mode");
    }
    for _ in 0..10 {
        let s = ask().await.unwrap().status();
        assert_eq!(s, 503, "forward-auth while the database is down");
    }
    assert_eq!(gw.echo.hits(), before, "nothing reached the upstream");
}

// ---------------------------------------------------------------------------------------
// T15: a re-armed session reaches the browser
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn t15_a_re_armed_session_cookie_reaches_the_browser() {
    let gw = Gw::start().await;
    let Some(ng) = Nginx::start(&gw).await else {
        return;
    };
    let (session, _) = form_login(gw.server(), "admin", ADMIN_PW).await;
    for (mode, url) in [
        ("nginx auth_request", ng.url("/read/x")),
        ("proxy mode", gw.proxy("/read/x")),
        ("nginx in front of proxy mode", ng.proxy("/read/x")),
    ] {
        let r = get(&url)
            .header("accept", "text/html")
            .header("cookie", format!("awx_sessionid={session}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{mode}");
        assert_eq!(
            cookie(&r, "awx_sessionid").as_deref(),
            Some(session.as_str()),
            "{mode}: the session cookie is sent back re-armed: {:?}",
            r.headers()
        );
        let set = r.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(
            set.contains("Max-Age=") || set.contains("Expires="),
            "{mode}: {set}"
        );
        let echo = echoed(r).await;
        assert_eq!(one(&echo, "x-portcullis-user"), "admin", "{mode}");
        assert_eq!(one(&echo, "x-portcullis-auth-method"), "session", "{mode}");
    }
}

// ---------------------------------------------------------------------------------------
// T20–T23, T29: identity headers only from Portcullis
// ---------------------------------------------------------------------------------------

/// Identity headers a client forges (T20).
const FORGED: [(&str, &str); 6] = [
    ("X-Portcullis-User", "admin"),
    ("X-Portcullis-Roles", "admin"),
    ("X-Auth-Request-User", "admin"),
    ("Remote-User", "admin"),
    ("X-Forwarded-User", "admin"),
    ("X-Auth-Request-Groups", "admin"),
];

#[tokio::test]
async fn t20_identity_headers_from_the_client_never_reach_a_public_route() {
    let gw = Gw::start().await;
    let Some(ng) = Nginx::start(&gw).await else {
        return;
    };
    for (mode, url) in [
        ("nginx auth_request", ng.url("/public/x")),
        ("proxy mode", gw.proxy("/public/x")),
        ("nginx in front of proxy mode", ng.proxy("/public/x")),
    ] {
        let mut req = get(&url);
        for (n, v) in FORGED {
            req = req.header(n, v);
        }
        let echo = echoed(req.send().await.unwrap()).await;
        assert_eq!(identity(&echo), [], "{mode}: {echo}");
    }
    // Proxy mode strips the whole namespace, not only the names it sets.
    let echo = echoed(
        get(&gw.proxy("/public/x"))
            .header("x-portcullis-tenant", "admin")
            .header("x-auth-request-access-token", "forged")
            .header("remote-anything", "admin")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(identity(&echo), [], "{echo}");
}

#[tokio::test]
async fn t21_underscore_aliases_never_reach_a_wsgi_application() {
    let gw = Gw::start().await;
    let Some(ng) = Nginx::start(&gw).await else {
        return;
    };
    let (_, bob) = gw.bob().await;
    let aliases = [
        ("X_Portcullis_User", "admin"),
        ("X_Portcullis_Roles", "admin"),
        ("Remote_User", "admin"),
        ("remote_groups", "admin"),
    ];
    // nginx drops header names with "_" (underscores_in_headers off): the application
    // sees only what Portcullis said.
    for (mode, url) in [
        ("nginx auth_request", ng.url("/wsgi/x")),
        ("nginx in front of proxy mode", ng.proxy("/wsgi/x")),
    ] {
        let mut req = get(&url).bearer_auth(&bob);
        for (n, v) in aliases {
            req = req.header(n, v);
        }
        let echo = echoed(req.send().await.unwrap()).await;
        assert_eq!(one(&echo, "x-portcullis-user"), "bob", "{mode}: {echo}");
        assert_eq!(one(&echo, "x-portcullis-roles"), "user", "{mode}");
        assert_eq!(one(&echo, "remote-user"), "bob", "{mode}");
        assert_eq!(one(&echo, "remote-groups"), "user", "{mode}");
        assert!(
            identity(&echo).iter().all(|(_, v)| !v.contains("admin")),
            "{mode}: {echo}"
        );
    }
    // Proxy mode refuses such names outright.
    let before = gw.echo.hits();
    for (n, v) in aliases {
        let r = get(&gw.proxy("/wsgi/x"))
            .bearer_auth(&bob)
            .header(n, v)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "proxy mode with {n}");
    }
    assert_eq!(gw.echo.hits(), before, "nothing reached the upstream");
}

#[tokio::test]
async fn t22_dotted_and_lower_case_copies_are_refused_or_replaced() {
    let gw = Gw::start().await;
    let Some(ng) = Nginx::start(&gw).await else {
        return;
    };
    let (_, bob) = gw.bob().await;
    for (mode, url) in [
        ("nginx auth_request", ng.url("/wsgi/x")),
        ("nginx in front of proxy mode", ng.proxy("/wsgi/x")),
    ] {
        let echo = echoed(
            get(&url)
                .bearer_auth(&bob)
                .header("X.Portcullis.User", "admin")
                .header("x-portcullis-user", "admin")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(one(&echo, "x-portcullis-user"), "bob", "{mode}: {echo}");
    }
    let before = gw.echo.hits();
    let r = get(&gw.proxy("/wsgi/x"))
        .bearer_auth(&bob)
        .header("X.Portcullis.User", "admin")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "proxy mode with a dotted name");
    assert_eq!(gw.echo.hits(), before, "nothing reached the upstream");
    let echo = echoed(
        get(&gw.proxy("/wsgi/x"))
            .bearer_auth(&bob)
            .header("x-portcullis-user", "admin")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(one(&echo, "x-portcullis-user"), "bob", "{echo}");
}

#[tokio::test]
async fn t23_a_forged_role_does_not_open_an_admin_route() {
    let gw = Gw::start().await;
    let Some(ng) = Nginx::start(&gw).await else {
        return;
    };
    let (_, bob) = gw.bob().await;
    let before = gw.echo.hits();
    for (mode, url) in [
        ("nginx auth_request", ng.url("/admin/x")),
        ("proxy mode", gw.proxy("/admin/x")),
        ("nginx in front of proxy mode", ng.proxy("/admin/x")),
    ] {
        let r = get(&url)
            .bearer_auth(&bob)
            .header("x-portcullis-roles", "admin")
            .header("x-auth-request-groups", "admin")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{mode}");
        assert!(r.headers().get("location").is_none(), "{mode}");
    }
    let r = gw
        .ask("GET", "/admin/x")
        .bearer_auth(&bob)
        .header("x-portcullis-roles", "admin")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "forward-auth");
    assert_eq!(gw.echo.hits(), before, "nothing reached the upstream");
    // Where bob may go, the forged role is replaced by his own.
    for url in [ng.url("/read/x"), gw.proxy("/read/x")] {
        let echo = echoed(
            get(&url)
                .bearer_auth(&bob)
                .header("x-portcullis-roles", "admin")
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(one(&echo, "x-portcullis-roles"), "user", "{url}");
    }
}

#[tokio::test]
async fn t29_connection_cannot_remove_the_headers_portcullis_sets() {
    let gw = Gw::start().await;
    let (_, bob) = gw.bob().await;
    let (_, r) = raw(
        &gw.gateway,
        &format!(
            "GET /read/x HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {bob}\r\n\
             X-Portcullis-User: admin\r\nX-Custom: listed\r\nX-Kept: kept\r\n\
             Connection: close, X-Portcullis-User, X-Forwarded-For, X-Custom\r\n\r\n"
        ),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.head);
    let echo = r.json();
    assert_eq!(one(&echo, "x-portcullis-user"), "bob", "{echo}");
    assert_eq!(one(&echo, "x-forwarded-for"), "127.0.0.1", "{echo}");
    assert_eq!(one(&echo, "x-forwarded-host"), HOST);
    assert_eq!(one(&echo, "x-forwarded-proto"), "http");
    assert_eq!(one(&echo, "x-kept"), "kept");
    assert!(
        values(&echo, "x-custom").is_empty(),
        "a Connection-listed header is hop-by-hop: {echo}"
    );
    assert!(
        values(&echo, "connection")
            .iter()
            .all(|v| !v.to_ascii_lowercase().contains("x-")),
        "{echo}"
    );
}

// ---------------------------------------------------------------------------------------
// T36: the upstream gets the path that was judged
// ---------------------------------------------------------------------------------------

/// A JWKS-based verifier, as an upstream writes it: the key by `kid`, the algorithm from the
/// key (never from the token), the audience, no leeway, then `htm` and `htu`.
fn verify(
    jwt: &str,
    jwks: &jsonwebtoken::jwk::JwkSet,
    aud: &str,
    htm: &str,
    htu: &str,
) -> Result<Value, String> {
    let header = jsonwebtoken::decode_header(jwt).map_err(|e| format!("header: {e}"))?;
    if header.typ.as_deref() != Some("portcullis-assertion+jwt") {
        return Err(format!("typ {:?}", header.typ));
    }
    let kid = header.kid.ok_or("no kid")?;
    let jwk = jwks.find(&kid).ok_or("unknown kid")?;
    let alg = jsonwebtoken::Algorithm::try_from(jwk.common.key_algorithm.ok_or("no alg")?)
        .map_err(|e| format!("alg: {e}"))?;
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).map_err(|e| format!("key: {e}"))?;
    let mut v = jsonwebtoken::Validation::new(alg);
    v.leeway = 0;
    v.set_audience(&[aud]);
    v.set_required_spec_claims(&["exp", "aud", "iss", "sub"]);
    let claims = jsonwebtoken::decode::<Value>(jwt, &key, &v)
        .map_err(|e| format!("{e}"))?
        .claims;
    if claims["htm"] != htm || claims["htu"] != htu {
        return Err(format!(
            "issued for {} {}, presented for {htm} {htu}",
            claims["htm"], claims["htu"]
        ));
    }
    Ok(claims)
}

async fn jwks(gw: &Gw) -> jsonwebtoken::jwk::JwkSet {
    client()
        .get(gw.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn t36_the_upstream_receives_exactly_the_path_portcullis_judged() {
    let gw = Gw::start().await;
    let ng = Nginx::start(&gw).await;
    let admin = gw.admin_token("read").await;
    let keys = jwks(&gw).await;
    let payloads = [
        ("//admin/x", "/admin/x", ""),
        ("/./admin/x", "/admin/x", ""),
        ("/public/./../admin/x", "/admin/x", ""),
        ("/public/../admin/x", "/admin/x", ""),
        ("/public/x/../../admin/x", "/admin/x", ""),
        ("/adm%69n/x", "/admin/x", ""),
        ("/admin/a/b/../x", "/admin/a/x", ""),
        ("/admin//a/./x", "/admin/a/x", ""),
        ("/admin/caf%c3%a9", "/admin/caf%C3%A9", ""),
        ("/admin/x?next=/public/", "/admin/x", "?next=/public/"),
    ];
    let mut front: Vec<(&str, String)> = vec![("proxy mode", gw.gateway.clone())];
    if let Some(ng) = &ng {
        front.push(("nginx in front of proxy mode", ng.proxy_addr()));
        // auth_request: nginx forwards the X-Portcullis-Path Portcullis answered with.
        front.push(("nginx auth_request", ng.addr()));
    }
    for (mode, addr) in &front {
        for (payload, judged, query) in payloads {
            let (_, r) = raw(
                addr,
                &format!(
                    "GET {payload} HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {admin}\r\n\
                     Connection: close\r\n\r\n"
                ),
            )
            .await;
            assert_eq!(r.status, 200, "{mode} {payload}: {}", r.head);
            let echo = r.json();
            // The differential: what Portcullis judged (the assertion's htu) is what the
            // upstream got, byte for byte.
            let assertion = one(&echo, "x-portcullis-assertion");
            let claims = verify(&assertion, &keys, "admin", "GET", judged)
                .unwrap_or_else(|e| panic!("{mode} {payload}: {e}"));
            assert_eq!(claims["htu"], judged);
            assert_eq!(
                echo["target"],
                format!("{judged}{query}"),
                "{mode} {payload}"
            );
            // Without a credential the same payload is judged on the admin route: 401.
            let (_, r) = raw(
                addr,
                &format!(
                    "GET {payload} HTTP/1.1\r\nHost: {HOST}\r\nAccept: application/json\r\n\
                     Connection: close\r\n\r\n"
                ),
            )
            .await;
            assert_eq!(r.status, 401, "{mode} {payload} without a credential");
        }
    }
    // nginx auth_request judges the raw X-Original-URI the same way: a dot segment out of a
    // public route does not make an admin path public.
    if let Some(ng) = &ng {
        let before = gw.echo.hits();
        for (payload, _, _) in payloads {
            let (_, r) = raw(
                &ng.addr(),
                &format!(
                    "GET {payload} HTTP/1.1\r\nHost: {HOST}\r\nAccept: application/json\r\n\
                     Connection: close\r\n\r\n"
                ),
            )
            .await;
            assert_eq!(r.status, 401, "nginx auth_request {payload}");
        }
        assert_eq!(gw.echo.hits(), before, "nothing reached the upstream");
    }
}

// ---------------------------------------------------------------------------------------
// T30–T35 over raw sockets: ambiguous spellings never reach the upstream
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t30_t35_ambiguous_paths_sent_raw_are_refused_and_never_forwarded() {
    let gw = Gw::start().await;
    let ng = Nginx::start(&gw).await;
    let admin = gw.admin_token("read").await;
    // Encoded separators, encoded dots, NUL, `;` on a dot segment, backslashes (T31, T32, T35).
    let refused = [
        "/public/%2e%2e/admin/x",
        "/public/%2E%2E/admin/x",
        "/public/.%2e/admin/x",
        "/public%2F..%2Fadmin/x",
        "/admin%2fx",
        "/public/%5C../admin",
        "/public/..;x=y/admin/x",
        "/admin;x/y",
        "/public/%3B/x",
        "/public/%00",
    ];
    let mut front: Vec<(&str, String)> = vec![("proxy mode", gw.gateway.clone())];
    if let Some(ng) = &ng {
        front.push(("nginx in front of proxy mode", ng.proxy_addr()));
        front.push(("nginx auth_request", ng.addr()));
    }
    let before = gw.echo.hits();
    for (mode, addr) in &front {
        for payload in refused {
            for credential in ["", &format!("Authorization: Bearer {admin}\r\n")] {
                let (_, r) = raw(
                    addr,
                    &format!(
                        "GET {payload} HTTP/1.1\r\nHost: {HOST}\r\n{credential}\
                         Accept: application/json\r\nConnection: close\r\n\r\n"
                    ),
                )
                .await;
                // Portcullis answers 400; nginx may refuse the spelling itself (400), and turns
                // an auth_request answer other than 401/403 into 500. Never a 2xx.
                let expected: &[u16] = if *mode == "proxy mode" {
                    &[400]
                } else {
                    &[400, 500]
                };
                assert!(
                    expected.contains(&r.status),
                    "{mode} {payload} ({}): {}",
                    if credential.is_empty() {
                        "anonymous"
                    } else {
                        "admin"
                    },
                    r.head
                );
            }
        }
    }
    assert_eq!(
        gw.echo.hits(),
        before,
        "an ambiguous path reached the upstream"
    );
    // T33: a raw `#` is not part of the path: judged on `/admin/x` (401 anonymous); with the
    // admin's token the upstream gets `/admin/x`, never the public route.
    for (mode, addr) in &front {
        let (_, r) = raw(
            addr,
            &format!(
                "GET /admin/x#/public/ HTTP/1.1\r\nHost: {HOST}\r\nAccept: application/json\r\n\
                 Connection: close\r\n\r\n"
            ),
        )
        .await;
        // Proxy mode: hyper's parser ends the target at `#` (`docs/gateway.md`, "Canonical
        // paths"), so the request is judged on `/admin/x`. nginx may refuse it first.
        let anonymous: &[u16] = if *mode == "proxy mode" {
            &[401]
        } else {
            &[400, 401, 500]
        };
        assert!(
            anonymous.contains(&r.status),
            "{mode} anonymous #: {}",
            r.head
        );
        let (_, r) = raw(
            addr,
            &format!(
                "GET /admin/x#/public/ HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {admin}\r\n\
                 Connection: close\r\n\r\n"
            ),
        )
        .await;
        if r.status == 200 || *mode == "proxy mode" {
            assert_eq!(r.status, 200, "{mode} admin #: {}", r.head);
            let echo = r.json();
            assert_eq!(
                echo["target"], "/admin/x",
                "{mode}: the fragment was forwarded"
            );
        } else {
            assert!([400, 500].contains(&r.status), "{mode} admin #: {}", r.head);
        }
    }
}

// ---------------------------------------------------------------------------------------
// T40, T41: the decision cache and revocation
// ---------------------------------------------------------------------------------------

/// Database reads of a bearer token on the authentication path (`docs/metrics.md`).
const TOKEN_READS: &str = "portcullis_db_query_duration_seconds_count";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t40_ten_thousand_requests_read_the_token_at_most_once_per_cache_ttl() {
    const REQUESTS: usize = 10_000;
    const WORKERS: usize = 32;
    /// `auth.credential_cache_ttl`, the default.
    const TTL: Duration = Duration::from_secs(60);
    let gw = Gw::start().await;
    let (_, bob) = gw.bob().await;
    let text = gw.metrics_text().await;
    let reads_before =
        metrics::value(&text, TOKEN_READS, &[("query", "token_for_bearer")]).unwrap_or(0.0);
    let hits_before = metrics::value(
        &text,
        "portcullis_cache_lookups_total",
        &[("cache", "token"), ("outcome", "hit")],
    )
    .unwrap_or(0.0);
    let misses_before = metrics::value(
        &text,
        "portcullis_cache_lookups_total",
        &[("cache", "token"), ("outcome", "miss")],
    )
    .unwrap_or(0.0);
    let c = client();
    let started = Instant::now();
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        let (c, url, bob) = (c.clone(), gw.url("/api/gateway/auth"), bob.clone());
        workers.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            for _ in (w..REQUESTS).step_by(WORKERS) {
                let r = c
                    .get(&url)
                    .header("host", HOST)
                    .header("x-original-method", "GET")
                    .header("x-original-uri", "/read/x")
                    .bearer_auth(&bob)
                    .send()
                    .await
                    .unwrap();
                statuses.push(r.status().as_u16());
            }
            statuses
        }));
    }
    let mut statuses = Vec::new();
    for w in workers {
        statuses.extend(w.await.unwrap());
    }
    let elapsed = started.elapsed();
    assert_eq!(statuses.len(), REQUESTS);
    assert!(
        statuses.iter().all(|s| *s == 200),
        "every decision allows: {:?}",
        statuses
            .iter()
            .filter(|s| **s != 200)
            .take(5)
            .collect::<Vec<_>>()
    );
    let text = gw.metrics_text().await;
    let reads = metrics::value(&text, TOKEN_READS, &[("query", "token_for_bearer")]).unwrap_or(0.0)
        - reads_before;
    let hits = metrics::value(
        &text,
        "portcullis_cache_lookups_total",
        &[("cache", "token"), ("outcome", "hit")],
    )
    .unwrap_or(0.0)
        - hits_before;
    let misses = metrics::value(
        &text,
        "portcullis_cache_lookups_total",
        &[("cache", "token"), ("outcome", "miss")],
    )
    .unwrap_or(0.0)
        - misses_before;
    let allowed = 1 + (elapsed.as_secs_f64() / TTL.as_secs_f64()).floor() as u64;
    eprintln!(
        "t40: {REQUESTS} forward-auth decisions ({WORKERS} at a time, the cache cold at the \
         start) in {elapsed:?}: {reads} token reads, {misses} cache misses, {hits} cache hits"
    );
    assert!(
        reads <= allowed as f64,
        "{reads} token reads ({misses} cache misses) for {REQUESTS} requests, {WORKERS} at a \
         time, in {elapsed:?}; at most {allowed} expected"
    );
    assert!(
        hits >= (REQUESTS as f64) - reads,
        "{hits} cache hits for {REQUESTS} requests"
    );
    assert_eq!(
        metrics::value(
            &text,
            "portcullis_gateway_decisions_total",
            &[
                ("mode", "forward_auth"),
                ("route", "read"),
                ("outcome", "allow")
            ]
        )
        .unwrap_or(0.0),
        REQUESTS as f64,
        "{text}"
    );
}

/// One answered request of a load: when it was sent, where, and its status.
struct Sample {
    sent: Instant,
    node: usize,
    status: u16,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t41_a_revoked_token_is_refused_within_a_second_on_both_nodes_under_load() {
    const WORKERS: usize = 32;
    /// The revocation bound (`docs/cluster.md`).
    const REVOCATION: Duration = Duration::from_secs(1);
    let Some(url) = postgres("t41").await else {
        return;
    };
    let secrets = tempfile::tempdir().unwrap();
    let kek = secrets.path().join("kek");
    std::fs::write(&kek, format!("{}\n", crate::cluster::random_kek())).unwrap();
    let kek = kek.display().to_string();
    let mut nodes = Vec::new();
    for name in ["node-a", "node-b"] {
        nodes.push(
            Gw::start_with(&[
                ("PORTCULLIS_DATABASE_URL", &url),
                ("PORTCULLIS_MDR__SIGNING__KEY_ENCRYPTION_KEY_FILE", &kek),
                ("PORTCULLIS_NODE_NAME", name),
            ])
            .await,
        );
    }
    let (id, token) = nodes[0].token("admin", ADMIN_PW, "read").await;
    // Four ways in: forward-auth and proxy mode, on each node.
    let targets: Vec<(usize, String, bool)> = nodes
        .iter()
        .enumerate()
        .flat_map(|(i, n)| {
            [
                (i, n.url("/api/gateway/auth"), true),
                (i, n.proxy("/read/x"), false),
            ]
        })
        .collect();
    let c = client();
    for (_, url, forward_auth) in &targets {
        let mut req = get(url).bearer_auth(&token);
        if *forward_auth {
            req = req
                .header("x-original-method", "GET")
                .header("x-original-uri", "/read/x");
        }
        assert_eq!(req.send().await.unwrap().status(), 200, "{url}");
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        let (node, url, forward_auth) = targets[w % targets.len()].clone();
        let (c, token, stop) = (c.clone(), token.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            while !stop.load(Ordering::SeqCst) {
                let mut req = c.get(&url).header("host", HOST).bearer_auth(&token);
                if forward_auth {
                    req = req
                        .header("x-original-method", "GET")
                        .header("x-original-uri", "/read/x");
                }
                let sent = Instant::now();
                let status = req.send().await.unwrap().status().as_u16();
                samples.push(Sample { sent, node, status });
            }
            samples
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let r = client()
        .delete(nodes[0].url(&format!("/api/v2/tokens/{id}/")))
        .basic_auth("admin", Some(ADMIN_PW))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204, "revoke on node-a");
    let revoked = Instant::now();
    tokio::time::sleep(REVOCATION * 3).await;
    stop.store(true, Ordering::SeqCst);
    let mut samples = Vec::new();
    for w in workers {
        samples.extend(w.await.unwrap());
    }
    let mut late = [0usize; 2];
    let mut last_allowed = [Duration::ZERO; 2];
    for s in &samples {
        assert!(
            s.status == 200 || s.status == 401,
            "node {}: {}",
            s.node,
            s.status
        );
        if s.status == 200 && s.sent > revoked {
            last_allowed[s.node] = last_allowed[s.node].max(s.sent - revoked);
        }
        if s.sent >= revoked + REVOCATION {
            late[s.node] += 1;
            assert_eq!(
                s.status,
                401,
                "node {} allowed a request sent {:?} after the revocation returned",
                s.node,
                s.sent - revoked
            );
        }
    }
    eprintln!(
        "t41: {} requests; last allowed after the revocation: node-a {:?}, node-b {:?}",
        samples.len(),
        last_allowed[0],
        last_allowed[1]
    );
    assert!(
        late.iter().all(|n| *n > 0),
        "the load reached both nodes after the bound: {late:?}"
    );
    assert!(
        samples
            .iter()
            .any(|s| s.status == 200 && s.sent + Duration::from_millis(100) < revoked),
        "the token was allowed before the revocation"
    );
}

// ---------------------------------------------------------------------------------------
// T42: oversized headers, and the size of an allow answer
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn t42_oversized_credentials_are_refused_not_answered_502() {
    let gw = Gw::start().await;
    let ng = Nginx::start(&gw).await;
    let (_, bob) = gw.bob().await;
    let big_cookie = format!("big={}", "c".repeat(16 * 1024));
    let big_bearer = format!("Bearer {}", "a".repeat(64 * 1024));
    let before = gw.echo.hits();
    let r = get(&gw.proxy("/read/x"))
        .bearer_auth(&bob)
        .header("cookie", &big_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 431, "proxy mode, 16 KiB cookie");
    let r = get(&gw.proxy("/read/x"))
        .header("authorization", &big_bearer)
        .send()
        .await
        .unwrap();
    assert!(
        [400, 431].contains(&r.status().as_u16()),
        "proxy mode, 64 KiB Authorization: {}",
        r.status()
    );
    let r = gw
        .ask("GET", "/read/x")
        .header("authorization", &big_bearer)
        .send()
        .await
        .unwrap();
    assert!(
        [400, 431].contains(&r.status().as_u16()),
        "forward-auth, 64 KiB Authorization: {}",
        r.status()
    );
    if let Some(ng) = &ng {
        // nginx's own limit (large_client_header_buffers, 8 KiB a line) answers first.
        for url in [ng.url("/read/x"), ng.proxy("/read/x")] {
            for (name, value) in [("cookie", &big_cookie), ("authorization", &big_bearer)] {
                let r = get(&url).header(name, value).send().await.unwrap();
                assert!(
                    [400, 431].contains(&r.status().as_u16()),
                    "{url} with a big {name}: {}",
                    r.status()
                );
            }
        }
    }
    assert_eq!(gw.echo.hits(), before, "nothing reached the upstream");

    // The largest allow answer (session re-armed, assertion, a preset) stays far under
    // nginx's default proxy_buffer_size (4 KiB): under 2 KiB.
    let (session, _) = form_login(gw.server(), "admin", ADMIN_PW).await;
    let r = gw
        .ask("GET", "/admin/x")
        .header("cookie", format!("awx_sessionid={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().contains_key("x-portcullis-assertion"));
    assert!(r.headers().contains_key("set-cookie"));
    assert!(r.headers().contains_key("x-auth-request-user"));
    let size: usize = "HTTP/1.1 200 OK\r\n".len()
        + r.headers()
            .iter()
            .map(|(n, v)| n.as_str().len() + v.len() + 4)
            .sum::<usize>()
        + 2;
    eprintln!("t42: the allow answer's head is {size} bytes");
    assert!(size < 2048, "{size} bytes: {:?}", r.headers());
}

// ---------------------------------------------------------------------------------------
// T43: WebSockets
// ---------------------------------------------------------------------------------------

type Ws = tokio_tungstenite::WebSocketStream<TcpStream>;

/// Opens a WebSocket to `addr` (a route path); the status when the upgrade was refused.
async fn websocket(addr: &str, path: &str, token: Option<&str>) -> Result<Ws, u16> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut req = format!("ws://{addr}{path}").into_client_request().unwrap();
    req.headers_mut().insert("host", HOST.parse().unwrap());
    if let Some(t) = token {
        req.headers_mut()
            .insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    let stream = TcpStream::connect(addr).await.unwrap();
    match tokio::time::timeout(BOUND, tokio_tungstenite::client_async(req, stream))
        .await
        .expect("a handshake answer")
    {
        Ok((ws, resp)) => {
            assert_eq!(resp.status(), 101);
            Ok(ws)
        }
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("websocket handshake: {e}"),
    }
}

#[tokio::test]
async fn t43_a_websocket_opens_only_with_a_credential_and_only_where_allowed() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let gw = Gw::start().await;
    let ng = Nginx::start(&gw).await;
    let (_, bob) = gw.bob().await;
    let mut fronts = vec![("proxy mode", gw.gateway.clone())];
    if let Some(ng) = &ng {
        fronts.push(("nginx in front of proxy mode", ng.proxy_addr()));
    }
    for (mode, addr) in &fronts {
        let mut ws = websocket(addr, "/ws/chat", Some(&bob))
            .await
            .unwrap_or_else(|s| panic!("{mode}: upgrade refused with {s}"));
        for text in ["hello", "second message"] {
            ws.send(Message::text(text)).await.unwrap();
            let back = tokio::time::timeout(BOUND, ws.next())
                .await
                .expect("an echo")
                .unwrap()
                .unwrap();
            assert_eq!(back.to_text().unwrap(), text, "{mode}");
        }
        ws.close(None).await.unwrap();

        // No credential: 401 before any upgrade, and the upstream never saw it.
        let before = gw.echo.hits();
        assert_eq!(
            websocket(addr, "/ws/chat", None).await.err(),
            Some(401),
            "{mode}"
        );
        assert_eq!(
            gw.echo.hits(),
            before,
            "{mode}: nothing reached the upstream"
        );
    }
    // An upgrade on a route that takes none: 400, nothing forwarded.
    let before = gw.echo.hits();
    let (mut s, r) = raw(
        &gw.gateway,
        &format!(
            "GET /read/x HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {bob}\r\n\
             Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        ),
    )
    .await;
    assert_eq!(r.status, 400, "{}", r.head);
    assert!(closed(&mut s).await, "the connection is closed");
    assert_eq!(gw.echo.hits(), before, "nothing reached the upstream");
}

// ---------------------------------------------------------------------------------------
// T44: streaming
// ---------------------------------------------------------------------------------------

/// The pid of the `portcullis` child of this process that listens on `port`.
fn pid_of(port: u16) -> u32 {
    let me = std::process::id();
    let wanted = format!("PORTCULLIS_LISTEN=127.0.0.1:{port}");
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // `pid (comm) state ppid …`: comm may hold spaces, so count from the `)`.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid != Some(me) {
            continue;
        }
        let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
        if environ.split(|b| *b == 0).any(|kv| kv == wanted.as_bytes()) {
            return pid;
        }
    }
    panic!("no portcullis child listens on {port}");
}

/// A `/proc/PID/status` field in KiB (`VmRSS`, `VmHWM`).
fn status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or_else(|| panic!("{field} in {status}"))
}

/// One request on a fresh hyper connection to `addr`; answers the status and the body's
/// size, or the body itself when it is at most 64 KiB.
async fn send_hyper(addr: &str, req: hyper::Request<EchoBody>) -> (u16, u64, Vec<u8>) {
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(conn);
    let resp = sender.send_request(req).await.unwrap();
    let status = resp.status().as_u16();
    let mut body = resp.into_body();
    let (mut n, mut kept) = (0u64, Vec::new());
    while let Some(frame) = body.frame().await {
        if let Some(d) = frame.unwrap().data_ref() {
            n += d.len() as u64;
            if kept.len() < 64 * 1024 {
                kept.extend_from_slice(d);
            }
        }
    }
    (status, n, kept)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn t44_a_gigabyte_streams_through_proxy_mode_without_growing_portcullis() {
    const GIB: u64 = 1 << 30;
    const GROWTH_KIB: u64 = 16 * 1024;
    let gw = Gw::start().await;
    let write = gw.admin_token("write").await;
    let pid = pid_of(gw.port);
    let put = |n: u64| {
        hyper::Request::put("/stream/sink")
            .header("host", HOST)
            .header("authorization", format!("Bearer {write}"))
            .header("content-length", n)
            .body(EchoBody::Zeros(n))
            .unwrap()
    };
    let get_big = |n: u64| {
        hyper::Request::get(format!("/stream/big?bytes={n}"))
            .header("host", HOST)
            .header("authorization", format!("Bearer {write}"))
            .body(EchoBody::Full(None))
            .unwrap()
    };
    // Warm up: pools, caches and buffers exist before the baseline is taken.
    let (status, _, body) = send_hyper(&gw.gateway, put(1 << 20)).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["bytes"],
        1 << 20
    );
    let (status, n, _) = send_hyper(&gw.gateway, get_big(1 << 20)).await;
    assert_eq!((status, n), (200, 1 << 20));

    // The peak is reset (clear_refs 5) where the kernel allows it, and sampled besides.
    let reset = std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok();
    let baseline = status_kib(pid, "VmRSS");
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let sampling = sampling.clone();
        tokio::spawn(async move {
            let mut peak = 0;
            while sampling.load(Ordering::SeqCst) {
                peak = peak.max(status_kib(pid, "VmRSS"));
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            peak
        })
    };
    let (status, _, body) = send_hyper(&gw.gateway, put(GIB)).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_slice::<Value>(&body).unwrap()["bytes"],
        GIB,
        "the upstream received the whole upload"
    );
    let (status, n, _) = send_hyper(&gw.gateway, get_big(GIB)).await;
    assert_eq!((status, n), (200, GIB), "the whole download arrived");
    sampling.store(false, Ordering::SeqCst);
    let mut peak = sampler.await.unwrap();
    if reset {
        peak = peak.max(status_kib(pid, "VmHWM"));
    }
    let growth = peak.saturating_sub(baseline);
    eprintln!(
        "t44: portcullis RSS {baseline} KiB before, peak {peak} KiB during 1 GiB up and 1 GiB down (growth {growth} KiB, peak reset: {reset})"
    );
    assert!(
        growth <= GROWTH_KIB,
        "RSS grew by {growth} KiB streaming 1 GiB each way"
    );
}

/// Reads `resp` until `needle` has arrived; the text so far.
async fn read_until(resp: &mut reqwest::Response, seen: &mut String, needle: &str) {
    while !seen.contains(needle) {
        match resp.chunk().await.unwrap() {
            Some(c) => seen.push_str(&String::from_utf8_lossy(&c)),
            None => panic!("the stream ended without {needle:?}: {seen:?}"),
        }
    }
}

#[tokio::test]
async fn t44_server_sent_events_are_streamed_not_buffered() {
    let gw = Gw::start().await;
    let ng = Nginx::start(&gw).await;
    let (_, bob) = gw.bob().await;
    let mut urls = vec![("proxy mode", gw.proxy("/stream/events"))];
    if let Some(ng) = &ng {
        urls.push(("nginx in front of proxy mode", ng.proxy("/stream/events")));
        urls.push(("nginx auth_request", ng.url("/stream/events")));
    }
    for (mode, url) in urls {
        let mut r = get(&url).bearer_auth(&bob).send().await.unwrap();
        assert_eq!(r.status(), 200, "{mode}");
        assert_eq!(r.headers()["content-type"], "text/event-stream", "{mode}");
        let mut seen = String::new();
        // The upstream holds event 2 back until event 1 has reached the client: a proxy that
        // buffered the response would never deliver event 1.
        tokio::time::timeout(BOUND, read_until(&mut r, &mut seen, "event 1"))
            .await
            .unwrap_or_else(|_| panic!("{mode}: event 1 did not arrive before the stream ended"));
        assert!(!seen.contains("event 2"), "{mode}: {seen:?}");
        gw.echo.release();
        tokio::time::timeout(BOUND, read_until(&mut r, &mut seen, "event 2"))
            .await
            .unwrap_or_else(|_| panic!("{mode}: event 2 did not arrive"));
        assert!(
            r.chunk().await.unwrap().is_none(),
            "{mode}: the stream ends"
        );
    }
}

// ---------------------------------------------------------------------------------------
// T45: request smuggling shapes over a raw socket
// ---------------------------------------------------------------------------------------

/// Sends `request` to proxy mode on a public route: 400, the connection closed, nothing
/// forwarded.
async fn assert_smuggling_refused(request: &str) {
    let gw = Gw::start().await;
    let before = gw.echo.hits();
    let (mut s, r) = raw(&gw.gateway, request).await;
    assert_eq!(
        r.status,
        400,
        "{request:?} was answered:\n{}{}",
        r.head,
        String::from_utf8_lossy(&r.body)
    );
    assert!(closed(&mut s).await, "the connection is closed");
    assert_eq!(gw.echo.hits(), before, "nothing reached the upstream");
}

/// A request carrying both `Content-Length` and `Transfer-Encoding`: hyper reads it as
/// chunked, drops the length and closes the connection after the answer (RFC 9112 §6.3 allows
/// this instead of a 400; `docs/gateway.md`, "Proxy mode"), and proxy mode re-frames it. The
/// property that matters holds: the upstream gets one well-framed request, never both framing
/// headers, and the request smuggled behind the body never becomes a request.
async fn assert_reframed_not_smuggled(request: &str) {
    let gw = Gw::start().await;
    let before = gw.echo.hits();
    let (mut s, r) = raw(&gw.gateway, request).await;
    assert_eq!(r.status, 200, "{}", r.head);
    assert_eq!(
        r.header("connection").as_deref(),
        Some("close"),
        "{}",
        r.head
    );
    let echoed: Value = serde_json::from_slice(&r.body).unwrap();
    let names: Vec<String> = echoed["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h[0].as_str().unwrap().to_ascii_lowercase())
        .collect();
    assert!(
        !(names.iter().any(|n| n == "content-length")
            && names.iter().any(|n| n == "transfer-encoding")),
        "the upstream saw both framing headers: {names:?}"
    );
    assert_eq!(echoed["target"], "/public/x");
    assert!(closed(&mut s).await, "the connection is closed");
    assert_eq!(
        gw.echo.hits(),
        before + 1,
        "the smuggled GET never reached the upstream"
    );
}

#[tokio::test]
async fn t45_content_length_with_transfer_encoding_is_reframed() {
    assert_reframed_not_smuggled(&format!(
        "POST /public/x HTTP/1.1\r\nHost: {HOST}\r\nContent-Length: 5\r\n\
         Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /public/smuggled HTTP/1.1\r\nHost: {HOST}\r\n\r\n"
    ))
    .await;
}

#[tokio::test]
async fn t45_transfer_encoding_after_content_length_is_reframed() {
    assert_reframed_not_smuggled(&format!(
        "POST /public/x HTTP/1.1\r\nHost: {HOST}\r\nTransfer-Encoding: chunked\r\n\
         Content-Length: 5\r\n\r\n0\r\n\r\nGET /public/smuggled HTTP/1.1\r\nHost: {HOST}\r\n\r\n"
    ))
    .await;
}

#[tokio::test]
async fn t45_doubled_chunked_transfer_encoding_is_refused() {
    assert_smuggling_refused(&format!(
        "POST /public/x HTTP/1.1\r\nHost: {HOST}\r\nTransfer-Encoding: chunked, chunked\r\n\r\n\
         0\r\n\r\n"
    ))
    .await;
}

#[tokio::test]
async fn t45_obs_fold_is_refused() {
    assert_smuggling_refused(&format!(
        "GET /public/x HTTP/1.1\r\nHost: {HOST}\r\nX-Folded: a\r\n b\r\n\r\n"
    ))
    .await;
}

/// A request with bare LF line ends: hyper's parser (httparse) accepts them, as RFC 9112 §2.2
/// allows a recipient to; proxy mode forwards a re-serialised request with CRLF, so no
/// upstream ever parses the client's bytes (`docs/gateway.md`, "Proxy mode").
#[tokio::test]
async fn t45_bare_lf_is_reserialised() {
    let gw = Gw::start().await;
    let before = gw.echo.hits();
    let (_s, r) = raw(
        &gw.gateway,
        &format!("GET /public/x HTTP/1.1\nHost: {HOST}\n\n"),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.head);
    let echoed: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(echoed["target"], "/public/x");
    assert_eq!(gw.echo.hits(), before + 1);
}

// ---------------------------------------------------------------------------------------
// T46: the signed assertion
// ---------------------------------------------------------------------------------------

/// Base64url without padding.
fn b64url(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

#[tokio::test]
async fn t46_an_assertion_verifies_only_for_its_route_request_and_lifetime() {
    let gw = Gw::start().await;
    let admin = gw.admin_token("write").await;
    let keys = jwks(&gw).await;
    let ask = |uri: &'static str| {
        let r = gw.ask("GET", uri).bearer_auth(&admin);
        async move {
            let r = r.send().await.unwrap();
            assert_eq!(r.status(), 200, "{uri}");
            r.headers()["x-portcullis-assertion"]
                .to_str()
                .unwrap()
                .to_owned()
        }
    };

    // Genuine: verifies for its route, method and path, and says who and what.
    let genuine = ask("/admin/x").await;
    let claims = verify(&genuine, &keys, "admin", "GET", "/admin/x").unwrap();
    assert_eq!(claims["sub"], "admin");
    assert_eq!(claims["scope"], "read write");
    assert_eq!(claims["amr"], "bearer");
    assert!(
        claims["roles"]
            .as_array()
            .unwrap()
            .contains(&json!("admin"))
    );
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert!((1..=60).contains(&lifetime), "{claims}");
    // The upstream of proxy mode gets one that verifies the same way.
    let echo = echoed(
        get(&gw.proxy("/admin/x"))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    verify(
        &one(&echo, "x-portcullis-assertion"),
        &keys,
        "admin",
        "GET",
        "/admin/x",
    )
    .unwrap();

    // Replayed to another route: the audience is wrong.
    let e = verify(&genuine, &keys, "short", "GET", "/admin/x").unwrap_err();
    assert!(e.contains("udience"), "{e}");
    // Presented for another request: htm or htu differ.
    assert!(verify(&genuine, &keys, "admin", "POST", "/admin/x").is_err());
    assert!(verify(&genuine, &keys, "admin", "GET", "/admin/y").is_err());
    let other = ask("/admin/y").await;
    assert_ne!(other, genuine);
    verify(&other, &keys, "admin", "GET", "/admin/y").unwrap();

    // Forgeries.
    let parts: Vec<&str> = genuine.split('.').collect();
    let kid = jsonwebtoken::decode_header(&genuine).unwrap().kid.unwrap();
    let mut forged_claims = claims.clone();
    forged_claims["sub"] = json!("mallory");
    let payload = b64url(&serde_json::to_vec(&forged_claims).unwrap());
    // A changed claim under the genuine signature.
    let tampered = format!("{}.{payload}.{}", parts[0], parts[2]);
    assert!(verify(&tampered, &keys, "admin", "GET", "/admin/x").is_err());
    // alg none.
    for body in [parts[1], payload.as_str()] {
        let none = format!(
            "{}.{body}.",
            b64url(
                json!({"alg": "none", "typ": "portcullis-assertion+jwt", "kid": kid})
                    .to_string()
                    .as_bytes()
            )
        );
        assert!(verify(&none, &keys, "admin", "GET", "/admin/x").is_err());
    }
    // HS256 keyed with the public key.
    let jwk = serde_json::to_value(keys.find(&kid).unwrap()).unwrap();
    for secret in [jwk["x"].as_str().unwrap().to_owned(), jwk.to_string()] {
        let mut h = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        h.typ = Some("portcullis-assertion+jwt".into());
        h.kid = Some(kid.clone());
        let hs = jsonwebtoken::encode(
            &h,
            &forged_claims,
            &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()).unwrap(),
        )
        .unwrap();
        assert!(verify(&hs, &keys, "admin", "GET", "/admin/x").is_err());
    }

    // Expired: a route whose assertions live 1 s.
    let short = ask("/short/x").await;
    let claims = verify(&short, &keys, "short", "GET", "/short/x").unwrap();
    let exp = claims["exp"].as_u64().unwrap();
    assert_eq!(exp - claims["iat"].as_u64().unwrap(), 1, "{claims}");
    wait_until(BOUND, "the 1 s assertion to expire", || async {
        jsonwebtoken::get_current_timestamp() > exp
    })
    .await;
    let e = verify(&short, &keys, "short", "GET", "/short/x").unwrap_err();
    assert!(e.contains("xpired"), "{e}");
    // A new request gets a new, valid one.
    let fresh = ask("/short/x").await;
    assert_ne!(fresh, short);
    verify(&fresh, &keys, "short", "GET", "/short/x").unwrap();
}

/// The README's nginx snippet is the auth location of the template these tests run, cut
/// from it unchanged.
#[test]
fn the_readme_quotes_the_auth_location_of_the_template() {
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let readme = std::fs::read_to_string(&readme).unwrap();
    let lines: Vec<&str> = NGINX_TEMPLATE.split_inclusive('\n').collect();
    let start = lines
        .iter()
        .position(|l| l.trim() == "location = /_auth {")
        .expect("the template has the auth location");
    let end = start
        + lines[start..]
            .iter()
            .position(|l| l.trim_end() == "        }")
            .expect("the auth location ends");
    let excerpt: String = lines[start..=end].concat();
    assert!(excerpt.contains("X-Original-Method"), "{excerpt}");
    assert!(
        readme.contains(&format!("```nginx\n{excerpt}```\n")),
        "README.md must quote the auth location of crates/portcullis/tests/it/gateway/nginx.conf verbatim:\n{excerpt}"
    );
}
