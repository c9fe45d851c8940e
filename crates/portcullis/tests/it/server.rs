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
        let port = free_port();
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
        let base = format!("http://127.0.0.1:{port}");
        let server = Server {
            child,
            base: base.clone(),
            log,
        };
        let client = client();
        for _ in 0..300 {
            if let Ok(r) = client.get(format!("{base}/api/v2/ping/")).send().await
                && r.status() == 200
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("server did not start; log:\n{}", server.log());
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
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -TERM failed");
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
