//! HTTPS on the server's own listener (`docs/tls.md`), end to end: `portcullis tls dev-cert`,
//! the seeds' `https://` examples as written (the MDR Python example with `verify=`, the AWX
//! curl examples with `--cacert`), reload on SIGHUP and on changed files under load, refused
//! pairs, expiry reports, protocol versions, suites and ALPN (checked with Debian's
//! `openssl`), the handshake timeout, the health listener and the non-loopback safety rule.

use crate::cli::portcullis;
use crate::server::{Server, client, cookie, free_port, tls_client};
use portcullis_server::tls::dev_cert::DevCa;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;
use time::OffsetDateTime;

const ADMIN_PW: &str = "tls-admin-password";

fn now() -> OffsetDateTime {
    portcullis_core::clock::Clock::now(&portcullis_core::clock::SystemClock)
}

/// A directory with a development CA (`ca.crt`) and a server pair made by the binary.
struct Certs {
    dir: tempfile::TempDir,
}

impl Certs {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let (code, out, err) =
            portcullis(dir.path(), &["tls", "dev-cert", "--dir", "tls"], &[], "");
        assert_eq!(code, 0, "dev-cert failed:\n{out}\n{err}");
        Self { dir }
    }
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join("tls").join(name)
    }
    fn ca(&self) -> PathBuf {
        self.path("ca.crt")
    }
    /// The environment that serves HTTPS with the pair, plus `extra`.
    fn env<'a>(&'a self, extra: &[(&'a str, &'a str)]) -> Vec<(String, String)> {
        let mut env = vec![
            (
                "PORTCULLIS_TLS__CERT_FILE".to_owned(),
                self.path("server.crt").display().to_string(),
            ),
            (
                "PORTCULLIS_TLS__KEY_FILE".to_owned(),
                self.path("server.key").display().to_string(),
            ),
            ("PORTCULLIS_ADMIN_PASSWORD".to_owned(), ADMIN_PW.to_owned()),
        ];
        env.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        env
    }
    async fn start(&self, extra: &[(&str, &str)]) -> Server {
        let env = self.env(extra);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Server::start_tls(self.dir.path(), &env, &self.ca()).await
    }
}

fn port_of(server: &Server) -> u16 {
    server.base.rsplit(':').next().unwrap().parse().unwrap()
}

/// Runs a command; answers (success, stdout + stderr).
fn sh(cmd: &mut Command) -> (bool, String) {
    let out = cmd.stdin(Stdio::null()).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// The serial number of the certificate the server presents to a new connection, as
/// x509-parser prints it (the format of the server's own log lines).
async fn presented_serial(port: u16, ca: &Path) -> String {
    let tls = tls_connect(port, ca).await;
    let leaf = tls.get_ref().1.peer_certificates().unwrap()[0].clone();
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref()).unwrap();
    cert.tbs_certificate.raw_serial_as_string()
}

/// A TLS connection to the server, trusting only `ca`.
async fn tls_connect(
    port: u16,
    ca: &Path,
) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    let pem = std::fs::read(ca).unwrap();
    for cert in rustls::pki_types::pem::PemObject::pem_slice_iter(&pem) {
        roots.add(cert.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    let name = rustls::pki_types::ServerName::try_from("127.0.0.1").unwrap();
    connector.connect(name, tcp).await.unwrap()
}

/// Writes a new pair signed by `ca` over the served files the way certbot and cert-manager
/// do: complete files renamed into place. Answers the new serial.
fn install(certs: &Certs, pair: &portcullis_server::tls::dev_cert::IssuedPair) -> String {
    for (name, body) in [
        ("server.key", &pair.key_pem),
        ("server.crt", &pair.cert_pem),
    ] {
        let tmp = certs.path(&format!(".{name}.new"));
        std::fs::write(&tmp, body).unwrap();
        std::fs::rename(&tmp, certs.path(name)).unwrap();
    }
    portcullis_server::tls::pair::from_pem(
        pair.cert_pem.as_bytes(),
        Path::new("c"),
        pair.key_pem.as_bytes(),
        Path::new("k"),
    )
    .unwrap()
    .info
    .serial
}

/// How long the waits below allow: far above the one-second file watch and the
/// milliseconds a SIGHUP reload takes, a bound so that a reload that never happens fails the
/// test instead of hanging it (the machine may be busy with other tests).
const PATIENCE: Duration = Duration::from_secs(60);

/// Waits (bounded by [`PATIENCE`]) until the server presents `serial`.
async fn wait_for_serial(port: u16, ca: &Path, serial: &str) {
    let deadline = std::time::Instant::now() + PATIENCE;
    while std::time::Instant::now() < deadline {
        if presented_serial(port, ca).await == serial {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the server never presented {serial}");
}

/// Waits (bounded by [`PATIENCE`]) until the server's log contains `needle`.
async fn wait_for_log(server: &Server, needle: &str) {
    let deadline = std::time::Instant::now() + PATIENCE;
    while std::time::Instant::now() < deadline {
        if server.log().contains(needle) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("no {needle:?} in the log:\n{}", server.log());
}

#[tokio::test]
async fn dev_cert_writes_a_chain_strict_clients_accept_and_does_not_overwrite_it() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = portcullis(
        dir.path(),
        &["tls", "dev-cert", "--dir", "d", "--name", "portcullis.test"],
        &[],
        "",
    );
    assert_eq!(code, 0, "{out}\n{err}");
    let d = dir.path().join("d").canonicalize().unwrap();
    let (ca, crt, key) = (d.join("ca.crt"), d.join("server.crt"), d.join("server.key"));
    // What to do next is printed with absolute paths.
    for line in [
        format!("export PORTCULLIS_TLS__CERT_FILE={}", crt.display()),
        format!("export PORTCULLIS_TLS__KEY_FILE={}", key.display()),
        format!("curl --cacert {}", ca.display()),
        format!("verify=\"{}\"", ca.display()),
        format!("NODE_EXTRA_CA_CERTS={}", ca.display()),
    ] {
        assert!(out.contains(&line), "no {line:?} in:\n{out}");
    }
    assert!(!out.contains("PRIVATE KEY"), "{out}");
    use std::os::unix::fs::PermissionsExt as _;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&key), 0o600);
    assert_eq!(mode(&crt), 0o644);

    // T2/T3 with OpenSSL: the chain verifies strictly, for TLS servers, and the server
    // certificate names what it should and is not a CA.
    let (ok, text) = sh(Command::new("openssl")
        .args(["verify", "-x509_strict", "-purpose", "sslserver", "-CAfile"])
        .arg(&ca)
        .arg(&crt));
    assert!(ok && text.contains(": OK"), "{text}");
    let (ok, text) = sh(Command::new("openssl")
        .args([
            "x509",
            "-noout",
            "-ext",
            "subjectAltName,basicConstraints,extendedKeyUsage,authorityKeyIdentifier",
            "-in",
        ])
        .arg(&crt));
    assert!(ok, "{text}");
    for want in [
        "DNS:localhost",
        "IP Address:127.0.0.1",
        "IP Address:0:0:0:0:0:0:0:1",
        "DNS:portcullis.test",
        "CA:FALSE",
        "TLS Web Server Authentication",
    ] {
        assert!(text.contains(want), "no {want} in:\n{text}");
    }
    assert!(text.contains("X509v3 Authority Key Identifier"), "{text}");
    let (ok, text) = sh(Command::new("openssl")
        .args([
            "x509",
            "-noout",
            "-ext",
            "basicConstraints,subjectKeyIdentifier,keyUsage",
            "-in",
        ])
        .arg(&ca));
    assert!(
        ok && text.contains("critical") && text.contains("CA:TRUE"),
        "{text}"
    );
    assert!(text.contains("Certificate Sign"), "{text}");
    assert!(text.contains("X509v3 Subject Key Identifier"), "{text}");

    // A second run does not replace what clients may already trust, unless told to.
    let before = std::fs::read(&ca).unwrap();
    let (code, _, err) = portcullis(dir.path(), &["tls", "dev-cert", "--dir", "d"], &[], "");
    assert_eq!(code, 1);
    assert!(err.contains("ca.crt already exists; pass --force"), "{err}");
    assert_eq!(std::fs::read(&ca).unwrap(), before);
    let (code, out, err) = portcullis(
        dir.path(),
        &["tls", "dev-cert", "--dir", "d", "--force"],
        &[],
        "",
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert_ne!(std::fs::read(&ca).unwrap(), before);
    assert_eq!(mode(&key), 0o600);
}

/// The seeds' `https://` examples as written, on one backend: the MDR Python example with
/// `verify=` the development CA, the AWX curl examples with `--cacert` where they say `-k`.
async fn seed_examples_over_https(database_url: Option<&str>) {
    let certs = Certs::new();
    let mut extra = vec![];
    if let Some(url) = database_url {
        extra.push(("PORTCULLIS_DATABASE_URL", url));
    }
    let server = certs.start(&extra).await;
    let env = certs.env(&extra);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();

    // MDR: the published example, verifying the server against the development CA.
    let (client_id, _, token) = crate::mdr::seed_connection(certs.dir.path(), &env);
    crate::mdr::run_seed_example(&server.url("/api/v1"), &client_id, &token, &certs.ca());

    // AWX: curl as the Astra document shows it, `-k` replaced by `--cacert`.
    let ca = certs.ca();
    let curl = |args: &[&str]| {
        let (ok, text) = sh(Command::new("curl")
            .args(["-sS", "--noproxy", "*", "--cacert"])
            .arg(&ca)
            .args(args));
        assert!(ok, "curl {args:?}: {text}");
        text
    };
    // 1. The CSRF token, from the cookie jar curl prints: a Secure cookie over HTTPS.
    let jar = curl(&["-c", "-", &server.url("/api/login/"), "-o", "/dev/null"]);
    let line = jar
        .lines()
        .find(|l| l.contains("\tcsrftoken\t"))
        .unwrap_or_else(|| panic!("no csrftoken in:\n{jar}"));
    let fields: Vec<&str> = line.split('\t').collect();
    assert_eq!(fields[3], "TRUE", "the csrftoken cookie is Secure: {line}");
    let csrf = fields[6];
    // 2. The login itself.
    let headers = curl(&[
        "-X",
        "POST",
        "-H",
        "Content-Type: application/x-www-form-urlencoded",
        "--referer",
        &server.url("/api/login/"),
        "-H",
        &format!("X-CSRFToken: {csrf}"),
        "--data",
        &format!("username=admin&password={ADMIN_PW}"),
        "--cookie",
        &format!("csrftoken={csrf}"),
        &server.url("/api/login/"),
        "-D",
        "-",
        "-o",
        "/dev/null",
    ]);
    assert!(headers.starts_with("HTTP/1.1 302"), "{headers}");
    let lower = headers.to_ascii_lowercase();
    assert!(
        lower.contains("x-api-session-cookie-name: awx_sessionid"),
        "{headers}"
    );
    let session = headers
        .lines()
        .find(|l| {
            l.to_ascii_lowercase()
                .starts_with("set-cookie: awx_sessionid=")
        })
        .unwrap_or_else(|| panic!("no session cookie:\n{headers}"));
    assert!(session.contains("; Secure"), "{session}");
    assert!(session.contains("HttpOnly"), "{session}");
    // 3. Basic, following the slash redirect as `-L` does.
    let user = format!("admin:{ADMIN_PW}");
    let body = curl(&[
        "-X",
        "GET",
        "--user",
        &user,
        &server.url("/api/v2/credentials"),
        "-L",
    ]);
    let v: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert!(v["results"].is_array(), "{body}");
    // 4. A personal token, then a host created with it.
    let body = curl(&["-u", &user, "-X", "POST", &server.url("/api/v2/tokens/")]);
    let tok: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(tok["scope"], "write", "{body}");
    let bearer = format!("Authorization: Bearer {}", tok["token"].as_str().unwrap());
    let body = curl(&[
        "-X",
        "POST",
        &server.url("/api/v2/inventories/"),
        "-H",
        "Content-Type: application/json",
        "-H",
        &bearer,
        "--data",
        r#"{"name": "seed-inventory"}"#,
    ]);
    let inv: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    let host = format!(
        r#"{{"name": "web1.example.org", "inventory": {}}}"#,
        inv["id"]
    );
    let body = curl(&[
        "-X",
        "POST",
        &server.url("/api/v2/hosts/"),
        "-H",
        "Content-Type: application/json",
        "-H",
        &bearer,
        "--data",
        &host,
    ]);
    let h: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(h["name"], "web1.example.org", "{body}");

    // The `awx` CLI (awxkit) has no CA option of its own; it is requests-based, so it takes
    // `REQUESTS_CA_BUNDLE`. It logs in (a personal token through Basic), lists users with
    // that token, and lists them again logging in by session (CSRF cookie and an https
    // Referer, no Origin).
    let awx = |extra: &[&str], ca: &Path| {
        let awx = crate::mdr::python().with_file_name("awx");
        let mut cmd = Command::new(awx);
        cmd.arg("--conf.host")
            .arg(&server.base)
            .args(extra)
            .env("REQUESTS_CA_BUNDLE", ca)
            .env_remove("CURL_CA_BUNDLE")
            .env("NO_PROXY", "127.0.0.1");
        sh(&mut cmd)
    };
    let login = ["--conf.username", "admin", "--conf.password", ADMIN_PW];
    let (ok, out) = awx(&[&login[..], &["login", "-f", "human"]].concat(), &ca);
    let token = out
        .lines()
        .find_map(|l| l.strip_prefix("export CONTROLLER_OAUTH_TOKEN="))
        .unwrap_or_else(|| panic!("awx login printed no token:\n{out}"))
        .to_owned();
    assert!(ok && token.starts_with("pcl_pat_"), "{out}");
    let token_auth = ["--conf.token", token.as_str()];
    for auth in [&token_auth[..], &login[..]] {
        let (ok, out) = awx(&[auth, &["users", "list", "-f", "human"]].concat(), &ca);
        let lists_admin = out
            .lines()
            .any(|l| l.split_whitespace().nth(1) == Some("admin"));
        assert!(ok && lists_admin, "{auth:?}: {out}");
    }
    // Another CA than the one that signed the server's certificate.
    let other_ca = certs.dir.path().join("other-ca.crt");
    std::fs::write(&other_ca, DevCa::new(now()).unwrap().pem()).unwrap();
    let (ok, out) = awx(&[&login[..], &["users", "list"]].concat(), &other_ca);
    assert!(!ok && out.contains("CERTIFICATE_VERIFY_FAILED"), "{out}");

    // Without the CA, curl refuses the server: the certificate really is checked.
    let (ok, text) = sh(Command::new("curl")
        .args(["-sS", "--noproxy", "*"])
        .arg(server.url("/api/v2/ping/")));
    assert!(!ok, "{text}");
    assert!(text.contains("certificate"), "{text}");

    let status = server.stop().await;
    assert!(status.success(), "{status:?}");
}

#[tokio::test]
async fn the_seed_examples_run_over_https_on_sqlite() {
    seed_examples_over_https(None).await;
}

#[tokio::test]
async fn the_seed_examples_run_over_https_on_postgresql() {
    let Some(url) = portcullis_store_postgres::testing::fresh_database_url()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
    else {
        eprintln!("SKIP the_seed_examples_run_over_https_on_postgresql: PostgreSQL unreachable");
        return;
    };
    seed_examples_over_https(Some(&url)).await;
}

/// T4/T5/G13: ten reloads (five on SIGHUP, five by replacing the files) while clients keep
/// making requests on new and kept-alive connections: every request succeeds, each reload
/// is presented to the next handshake; a broken or mismatched pair keeps the one in service.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloads_under_load_lose_no_request_and_bad_pairs_keep_the_old_one() {
    let certs = Certs::new();
    let server = certs.start(&[]).await;
    let port = port_of(&server);
    let ca_file = certs.ca();
    // Clients trust one CA throughout: a second CA made here signs the reloaded pairs, and
    // the clients' bundle holds both.
    let ca = DevCa::new(now()).unwrap();
    let bundle = certs.dir.path().join("bundle.pem");
    let mut pem = std::fs::read_to_string(&ca_file).unwrap();
    pem.push_str(ca.pem());
    std::fs::write(&bundle, pem).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut load = Vec::new();
    for fresh_connections in [true, true, false, false] {
        let (stop, ok, failed) = (stop.clone(), ok.clone(), failed.clone());
        let url = server.url("/api/v2/ping/");
        let mut builder = reqwest::Client::builder().no_proxy().tls_certs_only(
            reqwest::Certificate::from_pem_bundle(&std::fs::read(&bundle).unwrap()).unwrap(),
        );
        if fresh_connections {
            // A new connection, so a new handshake, for every request.
            builder = builder.pool_max_idle_per_host(0);
        }
        let http = builder.build().unwrap();
        load.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                match http.get(&url).send().await {
                    Ok(r) if r.status() == 200 => {
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(r) => failed
                        .lock()
                        .unwrap()
                        .push(format!("status {}", r.status())),
                    Err(e) => failed.lock().unwrap().push(format!("{e:?}")),
                }
            }
        }));
    }

    let first = presented_serial(port, &bundle).await;
    let mut serials = vec![first];
    for i in 0..10 {
        let pair = ca.issue_default(&[], now()).unwrap();
        let serial = install(&certs, &pair);
        if i % 2 == 0 {
            server.signal("HUP");
        }
        // Odd rounds: the one-second file watch notices the renamed files by itself.
        wait_for_serial(port, &bundle, &serial).await;
        serials.push(serial);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let in_service = serials.last().unwrap().clone();

    // A key that belongs to another certificate: refused, the pair in service stays.
    let other = ca.issue_default(&[], now()).unwrap();
    std::fs::write(certs.path("server.key"), &other.key_pem).unwrap();
    server.signal("HUP");
    wait_for_log(
        &server,
        "does not hold the private key of the first certificate",
    )
    .await;
    // A certificate file that is not PEM.
    std::fs::write(certs.path("server.crt"), "garbage\n").unwrap();
    server.signal("HUP");
    wait_for_log(&server, "holds no PEM certificate").await;
    assert_eq!(presented_serial(port, &bundle).await, in_service);
    assert!(
        server.log().contains("the certificate in service stays"),
        "{}",
        server.log()
    );

    stop.store(true, Ordering::Relaxed);
    for task in load {
        task.await.unwrap();
    }
    let failed = failed.lock().unwrap().clone();
    assert!(
        failed.is_empty(),
        "{} failed requests: {failed:?}",
        failed.len()
    );
    assert!(ok.load(Ordering::Relaxed) > 20, "the load ran");
    let unique: std::collections::HashSet<_> = serials.iter().collect();
    assert_eq!(unique.len(), 11, "{serials:?}");

    // T6: versions and ALPN are what they were before the reloads.
    let (good, text) = s_client(port, &["-tls1_3", "-alpn", "http/1.1"], &bundle);
    assert!(good && text.contains("ALPN protocol: http/1.1"), "{text}");
    let (good, text) = s_client(port, &["-alpn", "h2"], &bundle);
    assert!(!good, "{text}");
    assert!(text.contains("SSL alert number 120"), "{text}");
    let status = server.stop().await;
    assert!(status.success(), "{status:?}");
}

/// `openssl s_client` against the server with `args`; answers whether the handshake
/// completed, and the output. `@SECLEVEL=0` lets the client offer what the server must
/// refuse, so a refusal is the server's.
fn s_client(port: u16, args: &[&str], ca: &Path) -> (bool, String) {
    let mut cmd = Command::new("openssl");
    cmd.args(["s_client", "-connect"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("-CAfile")
        .arg(ca)
        .args(["-verify_return_error", "-servername", "localhost"])
        .args(args)
        .stdin(Stdio::null());
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let done = out.status.success() && text.contains("Verify return code: 0 (ok)");
    (done, text)
}

/// T1 with OpenSSL: TLS 1.3 and 1.2 with AEAD suites are served; TLS 1.1 and 1.0, CBC
/// suites and RSA key exchange are refused by the server (the client is told to offer
/// them); ALPN is http/1.1 only. T2 with Python: the strict verification flags accept the
/// development chain.
#[tokio::test]
async fn only_tls_1_2_and_1_3_with_aead_suites_and_http_1_1_are_served() {
    let certs = Certs::new();
    let server = certs.start(&[]).await;
    let port = port_of(&server);
    let ca = certs.ca();
    let weak = "DEFAULT:@SECLEVEL=0";

    let (ok, text) = s_client(port, &["-tls1_3", "-alpn", "http/1.1"], &ca);
    assert!(
        ok && text.contains("New, TLSv1.3, Cipher is TLS_"),
        "{text}"
    );
    assert!(text.contains("ALPN protocol: http/1.1"), "{text}");
    let (ok, text) = s_client(
        port,
        &["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"],
        &ca,
    );
    assert!(
        ok && text.contains("New, TLSv1.2, Cipher is ECDHE-ECDSA-AES128-GCM-SHA256"),
        "{text}"
    );
    // A refusal by the server is an alert it sent ("SSL alert number"); a client that gave
    // up on its own prints none.
    for version in ["-tls1_1", "-tls1"] {
        let (ok, text) = s_client(port, &[version, "-cipher", weak], &ca);
        assert!(!ok, "{version}: {text}");
        assert!(
            text.contains("SSL alert number 70") || text.contains("SSL alert number 40"),
            "{version}: {text}"
        );
    }
    // CBC suites, and RSA key exchange (no forward secrecy).
    for suite in [
        "ECDHE-ECDSA-AES128-SHA256",
        "ECDHE-ECDSA-AES128-SHA",
        "AES128-GCM-SHA256",
        "kRSA",
    ] {
        let (ok, text) = s_client(
            port,
            &["-tls1_2", "-cipher", &format!("{suite}:@SECLEVEL=0")],
            &ca,
        );
        assert!(!ok, "{suite}: {text}");
        assert!(text.contains("SSL alert number 40"), "{suite}: {text}");
    }
    let (ok, text) = s_client(
        port,
        &["-tls1_3", "-ciphersuites", "TLS_AES_128_CCM_SHA256"],
        &ca,
    );
    assert!(!ok && text.contains("SSL alert number 40"), "{text}");
    let (ok, text) = s_client(port, &["-alpn", "h2"], &ca);
    assert!(!ok && text.contains("SSL alert number 120"), "{text}");

    let probe = r#"
import http.client, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[1])
ctx.verify_flags |= ssl.VERIFY_X509_STRICT
conn = http.client.HTTPSConnection("127.0.0.1", int(sys.argv[2]), context=ctx)
conn.request("GET", "/api/v2/ping/")
r = conn.getresponse()
print(r.status, conn.sock.version(), conn.sock.selected_alpn_protocol())
"#;
    let (ok, text) = sh(Command::new("python3")
        .args(["-c", probe])
        .arg(&ca)
        .arg(port.to_string()));
    assert!(ok, "{text}");
    assert!(text.starts_with("200 TLSv1.3"), "{text}");
    server.stop().await;
}

/// A weak key, a mismatched pair, a missing file or half a pair stop the start with a
/// message naming the file; an expired certificate is served but reported, and one close to
/// its end is warned about.
#[tokio::test]
async fn refused_pairs_stop_the_start_and_expiry_is_reported() {
    let certs = Certs::new();
    let dir = certs.dir.path();
    let ca = DevCa::new(now()).unwrap();
    let write_pair = |name: &str, pair: &portcullis_server::tls::dev_cert::IssuedPair| {
        let crt = dir.join(format!("{name}.crt"));
        let key = dir.join(format!("{name}.key"));
        std::fs::write(&crt, &pair.cert_pem).unwrap();
        std::fs::write(&key, &pair.key_pem).unwrap();
        (crt.display().to_string(), key.display().to_string())
    };
    let serve = |crt: &str, key: &str| {
        portcullis(
            dir,
            &["serve"],
            &[
                ("PORTCULLIS_TLS__CERT_FILE", crt),
                ("PORTCULLIS_TLS__KEY_FILE", key),
                ("PORTCULLIS_LISTEN", &format!("127.0.0.1:{}", free_port())),
            ],
            "",
        )
    };
    let testdata = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../portcullis-server/src/tls/testdata")
        .canonicalize()
        .unwrap();
    let weak_crt = testdata.join("rsa1024.crt").display().to_string();
    let weak_key = testdata.join("rsa1024.key").display().to_string();
    let (code, _, err) = serve(&weak_crt, &weak_key);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!("{weak_key}: an RSA key of fewer than 2048 bits")),
        "{err}"
    );

    let a = ca.issue_default(&[], now()).unwrap();
    let b = ca.issue_default(&[], now()).unwrap();
    let (a_crt, _) = write_pair("a", &a);
    let (_, b_key) = write_pair("b", &b);
    let (code, _, err) = serve(&a_crt, &b_key);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!(
            "{b_key} does not hold the private key of the first certificate in {a_crt}"
        )),
        "{err}"
    );

    let missing = dir.join("missing.crt").display().to_string();
    let (code, _, err) = serve(&missing, &b_key);
    assert_eq!(code, 1);
    assert!(err.contains(&format!("{missing}: No such file")), "{err}");

    let (code, _, err) = portcullis(
        dir,
        &["serve"],
        &[("PORTCULLIS_TLS__CERT_FILE", a_crt.as_str())],
        "",
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("tls.cert_file and tls.key_file go together"),
        "{err}"
    );

    // Expired: served (refusing to start would take the API down at the worst moment), and
    // reported as an error; clients refuse it.
    let now = self::now();
    let expired = ca
        .issue(
            &["127.0.0.1".into()],
            now - time::Duration::days(30),
            now - time::Duration::days(1),
        )
        .unwrap();
    let (crt, key) = write_pair("expired", &expired);
    let bundle = dir.join("second-ca.pem");
    std::fs::write(&bundle, ca.pem()).unwrap();
    let env = [
        ("PORTCULLIS_TLS__CERT_FILE", crt.as_str()),
        ("PORTCULLIS_TLS__KEY_FILE", key.as_str()),
    ];
    // Ping cannot succeed over an expired certificate: wait for the log lines instead.
    let port = free_port();
    let mut server = Server::spawn(dir, &env, port, "https");
    wait_for_log(&server, "the TLS certificate in service has expired").await;
    wait_for_log(&server, "portcullis listening").await;
    let r = tls_client(&bundle)
        .get(format!("https://127.0.0.1:{port}/api/v2/ping/"))
        .send()
        .await;
    let e = format!("{:?}", r.unwrap_err());
    assert!(e.to_lowercase().contains("expired"), "{e}");

    // Ten days left: a reload logs the warning with the days left.
    let soon = ca
        .issue(
            &["127.0.0.1".into()],
            now - time::Duration::days(1),
            now + time::Duration::days(10),
        )
        .unwrap();
    std::fs::write(dir.join("expired.key"), &soon.key_pem).unwrap();
    std::fs::write(dir.join("expired.crt"), &soon.cert_pem).unwrap();
    server.signal("HUP");
    wait_for_log(&server, "expires soon").await;
    assert!(server.log().contains("days_left=9"), "{}", server.log());
    let r = tls_client(&bundle)
        .get(format!("https://127.0.0.1:{port}/api/v2/ping/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        server
            .exited_within(Duration::from_millis(1))
            .await
            .is_none()
    );
}

/// T7: a client that connects and never completes the handshake is dropped after the
/// handshake timeout, and meanwhile others are served; plain HTTP on the TLS port gets no
/// HTTP answer. The plain-HTTP health listener answers health checks only.
#[tokio::test]
async fn stalled_handshakes_time_out_and_the_health_listener_serves_health_only() {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let certs = Certs::new();
    let health_port = free_port();
    let health = format!("127.0.0.1:{health_port}");
    let server = certs
        .start(&[
            ("PORTCULLIS_TLS__HANDSHAKE_TIMEOUT_SECONDS", "1"),
            ("PORTCULLIS_TLS__HEALTH_LISTEN", &health),
        ])
        .await;
    let port = port_of(&server);
    let mut stalled = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    // Served while the stalled client holds its connection.
    let r = tls_client(&certs.ca())
        .get(server.url("/api/v2/ping/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(30), stalled.read(&mut buf))
        .await
        .expect("the server closes a stalled handshake");
    assert!(matches!(read, Ok(0) | Err(_)), "{read:?}");

    let mut plain = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    plain
        .write_all(b"GET /api/v2/ping/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), plain.read_to_end(&mut answer)).await;
    assert!(
        !answer.starts_with(b"HTTP/"),
        "{:?}",
        String::from_utf8_lossy(&answer)
    );

    let plain = client();
    let base = format!("http://{health}");
    let r = plain.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({"status": "ok"})
    );
    let r = plain.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<serde_json::Value>().await.unwrap(),
        serde_json::json!({"status": "ready"})
    );
    let r = plain
        .get(format!("{base}/api/v2/ping/"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = plain
        .get(format!("{base}/api/v2/me/"))
        .basic_auth("admin", Some(ADMIN_PW))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "no credential is taken in clear");
    let status = server.stop().await;
    assert!(status.success(), "{status:?}");
}

/// The listener's limits apply over TLS as they do in plain HTTP, and HSTS stays tied to an
/// https public URL while cookies are Secure on any TLS listener.
#[tokio::test]
async fn limits_and_cookies_over_tls() {
    let certs = Certs::new();
    let server = certs.start(&[]).await;
    let http = tls_client(&certs.ca());
    let r = http
        .get(server.url("/api/v2/ping/"))
        .header("x-big", "a".repeat(40 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 431);
    let mut req = http.get(server.url("/api/v2/ping/"));
    for i in 0..120 {
        req = req.header(format!("x-h-{i}"), "1");
    }
    assert_eq!(req.send().await.unwrap().status(), 431);
    // A declared body above the form limit is refused before it is read (written by hand:
    // an HTTP client still sending the body would see the closed connection first).
    {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let mut tls = tls_connect(port_of(&server), &certs.ca()).await;
        tls.write_all(
            b"POST /api/login/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 2000000\r\n\r\n",
        )
        .await
        .unwrap();
        let mut answer = Vec::new();
        let _ = tls.read_to_end(&mut answer).await;
        let answer = String::from_utf8_lossy(&answer);
        assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    }
    let r = http.get(server.url("/api/login/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers().get("strict-transport-security").is_none());
    let set = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    assert!(cookie(&r, "csrftoken").is_some());
    assert!(set.iter().all(|c| c.contains("; Secure")), "{set:?}");
    server.stop().await;
}

/// `docs/tls.md`, "Safety default": a non-loopback address without TLS is refused with both
/// ways out named; with `trusted_proxies` (TLS at the proxy) or TLS files it is accepted.
/// (`check-config` checks this without binding anything.)
#[tokio::test]
async fn a_non_loopback_listener_without_tls_is_refused() {
    let certs = Certs::new();
    let dir = certs.dir.path();
    let (code, _, err) = portcullis(
        dir,
        &["check-config"],
        &[("PORTCULLIS_LISTEN", "0.0.0.0:8052")],
        "",
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("listen = 0.0.0.0:8052 is not a loopback address and TLS is off"),
        "{err}"
    );
    assert!(err.contains("PORTCULLIS_TLS__CERT_FILE"), "{err}");
    assert!(err.contains("trusted_proxies"), "{err}");
    let (code, out, err) = portcullis(
        dir,
        &["check-config"],
        &[
            ("PORTCULLIS_LISTEN", "0.0.0.0:8052"),
            ("PORTCULLIS_TRUSTED_PROXIES", "[\"10.0.0.5\"]"),
        ],
        "",
    );
    assert_eq!(code, 0, "{out}{err}");
    let env = certs.env(&[("PORTCULLIS_LISTEN", "0.0.0.0:8052")]);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (code, out, err) = portcullis(dir, &["check-config"], &env, "");
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("TLS certificate"), "{out}");
}
