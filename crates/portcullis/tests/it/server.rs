//! A running `portcullis serve` child process on a free loopback port.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The binary under test.
pub fn exe() -> &'static str {
    env!("CARGO_BIN_EXE_portcullis")
}

/// A free loopback port (bound and released; good enough for tests).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server process; killed on drop.
pub struct Server {
    child: Child,
    pub base: String,
    pub log: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `portcullis serve` in `dir` with extra environment, and waits until ping
    /// answers (bounded: 300 × 100 ms).
    pub async fn start(dir: &Path, env: &[(&str, &str)]) -> Server {
        Self::start_with(dir, env, "http", client()).await
    }

    /// [`Server::start`] for a server whose environment configures TLS: `ca` is the CA file
    /// that signed its certificate; the base URL is `https://127.0.0.1:PORT`.
    pub async fn start_tls(dir: &Path, env: &[(&str, &str)], ca: &Path) -> Server {
        Self::start_with(dir, env, "https", tls_client(ca)).await
    }

    async fn start_with(
        dir: &Path,
        env: &[(&str, &str)],
        scheme: &str,
        client: reqwest::Client,
    ) -> Server {
        let server = Self::spawn(dir, env, free_port(), scheme);
        for _ in 0..300 {
            if let Ok(r) = client.get(server.url("/api/v2/ping/")).send().await
                && r.status() == 200
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("server did not start; log:\n{}", server.log());
    }

    /// Starts `portcullis serve` on `port` without waiting for it to answer; `scheme` is
    /// that of [`Server::url`].
    pub fn spawn(dir: &Path, env: &[(&str, &str)], port: u16, scheme: &str) -> Server {
        let mut cmd = Command::new(exe());
        cmd.arg("serve")
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("PORTCULLIS_LISTEN", format!("127.0.0.1:{port}"))
            .env("PORTCULLIS_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn portcullis");
        let log = Arc::new(Mutex::new(String::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let log = log.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    log.lock().unwrap().push_str(&line);
                    log.lock().unwrap().push('\n');
                }
            });
        }
        Server {
            child,
            base: format!("{scheme}://127.0.0.1:{port}"),
            log,
        }
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The password bootstrap printed, if it generated one.
    pub fn generated_password(&self) -> Option<String> {
        let log = self.log();
        let i = log.find("generated password ")?;
        let rest = &log[i + "generated password ".len()..];
        Some(rest.split_whitespace().next()?.to_owned())
    }

    /// Sends SIGTERM and waits (bounded) for the process to exit.
    pub async fn stop(mut self) -> std::process::ExitStatus {
        self.terminate();
        match self.exited_within(Duration::from_secs(10)).await {
            Some(status) => status,
            None => {
                let _ = self.child.kill();
                self.child.wait().unwrap()
            }
        }
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        self.signal("TERM");
    }

    /// Sends the signal named `name` (`HUP`, `TERM`, …).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} failed");
    }

    /// The exit status, if the process ends within `bound`.
    pub async fn exited_within(&mut self, bound: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + bound;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An HTTP client that does not follow redirects or keep cookies: tests see the wire.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// [`client`] over HTTPS, trusting only the CA in `ca` (a PEM file).
pub fn tls_client(ca: &Path) -> reqwest::Client {
    let pem = std::fs::read(ca).unwrap();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(Duration::from_secs(30))
        .tls_certs_only(reqwest::Certificate::from_pem_bundle(&pem).unwrap())
        .build()
        .unwrap()
}

/// The value of cookie `name` in a response's `Set-Cookie` headers.
pub fn cookie(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|c| {
            let first = c.split(';').next()?;
            let (k, v) = first.split_once('=')?;
            (k == name).then(|| v.to_owned())
        })
}

/// Logs in through the CSRF form; returns (session id, csrf token).
pub async fn form_login(s: &Server, user: &str, pw: &str) -> (String, String) {
    let c = client();
    let page = c.get(s.url("/api/login/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let csrf = cookie(&page, "csrftoken").expect("csrftoken");
    let resp = c
        .post(s.url("/api/login/"))
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-csrftoken", &csrf)
        .header("referer", s.url("/api/login/"))
        .header("cookie", format!("csrftoken={csrf}"))
        .body(format!("username={user}&password={pw}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 302, "login failed");
    let session = cookie(&resp, "awx_sessionid").expect("session cookie");
    let csrf = cookie(&resp, "csrftoken").expect("rotated csrftoken");
    (session, csrf)
}
