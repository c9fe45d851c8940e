//! A running server plus a client runner.

use portcullis_core::clock::FakeClock;
use portcullis_core::rng::OsRng;
use portcullis_server::config::Secret;
use portcullis_server::service::bootstrap;
use portcullis_server::{AppState, Config};
use serde_json::{Value, json};
use std::cell::RefCell;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

/// Password of the first superuser `admin`.
pub const ADMIN_PASSWORD: &str = "e2e-admin-password-4711";
/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_portcullis-client");

#[expect(
    clippy::disallowed_methods,
    reason = "the fake server clock starts at the real time, because the client judges expiry by the machine's clock"
)]
fn real_now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// The server: its own runtime, a SQLite file in a temp dir, `127.0.0.1:<random port>`.
pub struct Server {
    pub rt: tokio::runtime::Runtime,
    pub base: String,
    pub clock: FakeClock,
    pub dir: tempfile::TempDir,
    /// The development CA that signed the server's certificate, when it serves HTTPS.
    pub ca: Option<PathBuf>,
    http: reqwest::Client,
}

impl Server {
    pub fn start() -> Self {
        Self::start_with(|_| {})
    }

    pub fn start_with(tweak: impl FnOnce(&mut Config)) -> Self {
        Self::start_inner(tweak, false)
    }

    /// The server over HTTPS with a development certificate (`docs/tls.md`); clients get
    /// `--ca-file` with its CA.
    pub fn start_tls() -> Self {
        Self::start_inner(|_| {}, true)
    }

    fn start_inner(tweak: impl FnOnce(&mut Config), tls: bool) -> Self {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.password.hash_concurrency = Some(2);
        config.admin_password = Some(Secret::new(ADMIN_PASSWORD));
        config.mdr.signing.key_encryption_key_path =
            dir.path().join("mdr.kek").display().to_string();
        // The fake clock does not move by itself, so failures would pile up in "the last
        // minute" forever; the rate limit is not what these tests are about.
        config.mdr.exchange_failure_limit = 100_000;
        tweak(&mut config);
        let ca = tls.then(|| {
            use portcullis_server::tls::dev_cert::DevCa;
            let ca = DevCa::new(real_now()).unwrap();
            let pair = ca.issue_default(&[], real_now()).unwrap();
            let path = |name: &str| dir.path().join(name);
            std::fs::write(path("ca.crt"), ca.pem()).unwrap();
            std::fs::write(path("server.crt"), &pair.cert_pem).unwrap();
            std::fs::write(path("server.key"), &pair.key_pem).unwrap();
            config.tls.cert_file = Some(path("server.crt"));
            config.tls.key_file = Some(path("server.key"));
            path("ca.crt")
        });
        let server_tls = portcullis_server::tls::ServerTls::from_config(&config.tls).unwrap();
        let clock = FakeClock::new(real_now());
        let db = format!("sqlite:{}", dir.path().join("e2e.db").display());
        let (state, listener) = rt.block_on(async {
            let store = portcullis_store_sqlite::SqliteStore::connect(&db)
                .await
                .unwrap();
            store.migrate().await.unwrap();
            let state = AppState::new(
                config,
                Arc::new(store),
                Arc::new(clock.clone()),
                Arc::new(OsRng),
            )
            .await
            .unwrap();
            bootstrap::ensure_admin(&state).await.unwrap();
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            (state, listener)
        });
        let addr = listener.local_addr().unwrap();
        let limits = state.config.limits.clone();
        // The server as the binary runs it: the auth server with the MDR demo resources mounted.
        let app = portcullis_mdr_demo::app(state.clone());
        {
            let _entered = rt.enter();
            let _ = portcullis_server::background::spawn(state.clone());
        }
        rt.spawn(async move {
            let _ = portcullis_server::listener::serve_on(
                listener,
                app,
                &limits,
                server_tls,
                std::time::Duration::from_secs(30),
                std::future::pending::<()>(),
            )
            .await;
        });
        let mut http = reqwest::Client::builder().no_proxy();
        if let Some(ca) = &ca {
            let pem = std::fs::read(ca).unwrap();
            http = http.tls_certs_only(reqwest::Certificate::from_pem_bundle(&pem).unwrap());
        }
        let scheme = if ca.is_some() { "https" } else { "http" };
        Self {
            rt,
            base: format!("{scheme}://{addr}"),
            clock,
            dir,
            ca,
            http: http.build().unwrap(),
        }
    }

    /// Moves the server's clock.
    pub fn advance(&self, secs: i64) {
        self.clock.advance(time::Duration::seconds(secs));
    }

    /// A console API request as the superuser (HTTP Basic). Returns status and JSON body.
    pub fn console(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        self.rt.block_on(async {
            let mut req = self
                .http
                .request(m, url)
                .basic_auth("admin", Some(ADMIN_PASSWORD));
            if let Some(b) = body {
                req = req.json(&b);
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            let bytes = resp.bytes().await.unwrap();
            let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            (status, v)
        })
    }

    /// A new customer; returns its Client ID.
    pub fn customer(&self, name: &str) -> String {
        let (s, v) = self.console(
            "POST",
            "/console/api/mdr/customers",
            Some(json!({"name": name})),
        );
        assert_eq!(s, 201, "create customer: {v}");
        v["client_id"].as_str().unwrap().to_owned()
    }

    /// A new "MDR Administrator" connection: `(connection_id, bootstrap token)`.
    pub fn connection(&self, client_id: &str, name: &str) -> (String, String) {
        let (s, v) = self.console(
            "POST",
            &format!("/console/api/mdr/customers/{client_id}/connections"),
            Some(json!({"name": name, "role": "MDR Administrator", "tenants": []})),
        );
        assert_eq!(s, 201, "create connection: {v}");
        assert_eq!(v["status"], "Pending activation", "{v}");
        (
            v["connection_id"].as_str().unwrap().to_owned(),
            v["refresh_token"].as_str().unwrap().to_owned(),
        )
    }

    /// The connection's console status string.
    pub fn status(&self, client_id: &str, connection_id: &str) -> String {
        let (s, v) = self.console(
            "GET",
            &format!("/console/api/mdr/customers/{client_id}/connections/{connection_id}"),
            None,
        );
        assert_eq!(s, 200, "get connection: {v}");
        assert!(
            v.get("refresh_token").is_none(),
            "a later GET shows the token: {v}"
        );
        v["status"].as_str().unwrap().to_owned()
    }

    /// Console "Revoke".
    pub fn revoke(&self, client_id: &str, connection_id: &str) {
        let (s, v) = self.console(
            "POST",
            &format!("/console/api/mdr/customers/{client_id}/connections/{connection_id}/revoke"),
            None,
        );
        assert_eq!(s, 200, "revoke: {v}");
    }

    /// The `result` of every recorded exchange of the customer (`ok`, `replayed`,
    /// `concurrent`, `reuse`, `revoked`, `expired`, …), in any order.
    pub fn exchange_results(&self, client_id: &str) -> Vec<String> {
        let (s, v) = self.console(
            "GET",
            &format!("/console/api/mdr/customers/{client_id}/audit"),
            None,
        );
        assert_eq!(s, 200, "audit: {v}");
        v.as_array()
            .unwrap()
            .iter()
            .map(|a| a["result"].as_str().unwrap().to_owned())
            .collect()
    }

    /// How many exchanges of the customer ended with `result`.
    pub fn exchanges(&self, client_id: &str, result: &str) -> usize {
        self.exchange_results(client_id)
            .iter()
            .filter(|r| *r == result)
            .count()
    }

    /// A personal access token of `admin` (AWX side).
    pub fn personal_token(&self) -> String {
        let (s, v) = self.console(
            "POST",
            "/api/v2/tokens/",
            Some(json!({"description": "e2e", "scope": "write"})),
        );
        assert_eq!(s, 201, "create token: {v}");
        v["token"].as_str().unwrap().to_owned()
    }

    /// Pauses the test thread without `std::thread::sleep`.
    pub fn pause(&self, d: Duration) {
        self.rt.block_on(async move { tokio::time::sleep(d).await });
    }

    /// A client with its own store (and HOME) in the server's temp dir.
    pub fn client(&self, name: &str) -> Client<'_> {
        let home = self.dir.path().join(format!("home-{name}"));
        std::fs::create_dir_all(&home).unwrap();
        Client {
            server: self,
            store: home.join("mdr-token.json"),
            home,
            known_tokens: RefCell::new(Vec::new()),
        }
    }
}

/// One finished client run.
#[derive(Debug)]
pub struct Out {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    #[track_caller]
    pub fn ok(self) -> Self {
        assert_eq!(self.code, Some(0), "client failed: {self:#?}");
        self
    }
}

/// Runs the client binary against one store.
pub struct Client<'a> {
    pub server: &'a Server,
    pub store: PathBuf,
    pub home: PathBuf,
    /// Every token this test has seen; none may appear in any output (C9).
    known_tokens: RefCell<Vec<String>>,
}

impl Client<'_> {
    /// The base command: `--url`, `--store`, a clean environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        c.env_clear()
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join(".config"))
            .env("TZ", "UTC")
            .arg("--url")
            .arg(&self.server.base)
            .arg("--store")
            .arg(&self.store);
        if let Some(ca) = &self.server.ca {
            c.arg("--ca-file").arg(ca);
        }
        c.args(args);
        c
    }

    /// Notes a token that must never be printed.
    pub fn remember(&self, token: &str) {
        self.known_tokens.borrow_mut().push(token.to_owned());
    }

    /// Remembers the tokens currently in the store, if it parses.
    pub fn remember_store(&self) {
        if let Some(v) = self.try_store() {
            for k in ["refresh_token", "access_token"] {
                if let Some(t) = v[k].as_str() {
                    self.remember(t);
                }
            }
        }
    }

    fn check_no_token(&self, args: &[&str], out: &Out) {
        self.remember_store();
        let prints_token = args.contains(&"access-token");
        for t in self.known_tokens.borrow().iter() {
            assert!(
                !out.stderr.contains(t.as_str()),
                "stderr of {args:?} holds a token"
            );
            if !prints_token {
                assert!(
                    !out.stdout.contains(t.as_str()),
                    "stdout of {args:?} holds a token"
                );
            }
        }
    }

    /// Runs to completion with `stdin` as standard input.
    pub fn run_with_stdin(&self, args: &[&str], stdin: &str) -> Out {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let o = child.wait_with_output().unwrap();
        let out = Out {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        };
        self.check_no_token(args, &out);
        out
    }

    /// Runs to completion with empty standard input.
    pub fn run(&self, args: &[&str]) -> Out {
        self.run_with_stdin(args, "")
    }

    /// Starts a run in the background, output discarded.
    pub fn spawn(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    /// Starts a run in the background, output captured.
    pub fn spawn_captured(&self, args: &[&str]) -> Child {
        self.command(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Waits for a [`Client::spawn_captured`] child.
    pub fn finish(&self, args: &[&str], child: Child) -> Out {
        let o = child.wait_with_output().unwrap();
        let out = Out {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        };
        self.check_no_token(args, &out);
        out
    }

    /// `init` with the bootstrap token on stdin.
    pub fn init(&self, client_id: &str, bootstrap: &str) -> Out {
        self.remember(bootstrap);
        self.run_with_stdin(
            &["init", "--client-id", client_id],
            &format!("{bootstrap}\n"),
        )
    }

    /// The store's JSON, if it exists and parses.
    pub fn try_store(&self) -> Option<Value> {
        let bytes = std::fs::read(&self.store).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// The store's JSON (must parse).
    #[track_caller]
    pub fn store_json(&self) -> Value {
        let bytes = std::fs::read(&self.store).unwrap();
        serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "store does not parse ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        })
    }

    /// The stored refresh token.
    pub fn refresh_token(&self) -> String {
        self.store_json()["refresh_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// The stored access token.
    pub fn access_token(&self) -> String {
        self.store_json()["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub fn store_path(&self) -> &Path {
        &self.store
    }
}

/// Claims of a JWT, decoded independently of the library (base64url JSON payload).
pub fn claims(jwt: &str) -> Value {
    use base64::Engine as _;
    let payload = jwt.split('.').nth(1).unwrap();
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// A small deterministic PRNG (SplitMix64) for kill delays.
pub struct SplitMix64(pub u64);

impl SplitMix64 {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}
