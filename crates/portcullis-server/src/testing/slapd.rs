//! A real OpenLDAP `slapd` for the LDAP tests (issue 12): a throwaway server on 127.0.0.1
//! with its own configuration, a test CA, and an mdb database loaded from
//! `slapd/directory.ldif`, all in a temporary directory that goes away with the [`Slapd`].
//!
//! The server listens for `ldap://` (StartTLS offered) and for `ldaps://` on a second port,
//! both with a server certificate for `127.0.0.1` and `localhost` signed by a CA made for
//! this server only ([`Slapd::ca_pem`]).
//!
//! The directory (see `slapd/directory.ldif` for every attribute):
//! - `ou=people`: `alice`, `bob`, `carol`, `dave`, `admin`, `erin`, each with the password
//!   `<uid>-pass` except `admin` (`admin-dir-pass`); `admin` has no mail.
//! - `ou=groups`, `groupOfNames` (`member` is a DN): `portcullis-users` (alice, bob, carol,
//!   erin), `portcullis-admins` (alice), `auditors` (bob), `blocked` (carol);
//!   `posixGroup` (`memberUid` is a uid): `ops` (alice, bob), `posix-admins` (bob).
//!   `dave` is in no group.
//! - `ou=services`: [`SERVICE_DN`], password [`SERVICE_PASSWORD`].
//!
//! Access: anonymous may only bind (and read the root DSE, where StartTLS is advertised);
//! a user reads their own entry; the service account reads every entry and attribute but
//! `userPassword`. Where slapd has the `dynlist` module (Debian), people carry a computed
//! `memberOf` (the DNs of their `groupOfNames` groups), visible to the service account.
//!
//! When slapd is not installed, [`Slapd::start`] returns `None` after a loud `SKIPPED` line,
//! or panics when the `CI` environment variable is set (`.ci/run` installs Debian's slapd).

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};
use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tempfile::TempDir;
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio::time::{Instant, sleep, timeout};

/// The suffix of the test directory.
pub const BASE_DN: &str = "dc=example,dc=org";
/// The service account Portcullis binds as to look users up.
pub const SERVICE_DN: &str = "cn=portcullis,ou=services,dc=example,dc=org";
/// The service account's password.
pub const SERVICE_PASSWORD: &str = "service-pass";

const DIRECTORY_LDIF: &str = include_str!("slapd/directory.ldif");
const SLAPD_CONF: &str = include_str!("slapd/slapd.conf");

/// How long slapd may take to answer after it is started: far above the ~100 ms it takes, a
/// bound so that a server that never comes up fails the test instead of hanging it.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long slapd may take to exit after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts at `start`: a free port found by binding port 0 can be taken by another test
/// before slapd binds it; a new pair of ports is tried then.
const START_ATTEMPTS: usize = 3;

/// Where distributions put the binary (it is in `sbin`, often not on a user's `PATH`).
const SLAPD_PATHS: &[&str] = &[
    "/usr/sbin/slapd",
    "/usr/local/sbin/slapd",
    "/usr/libexec/slapd",
    "/usr/local/libexec/slapd",
];
/// Where distributions put the schema files.
const SCHEMA_DIRS: &[&str] = &[
    "/etc/ldap/schema",
    "/etc/openldap/schema",
    "/usr/local/etc/openldap/schema",
];
/// Where distributions put slapd's loadable modules (Debian builds back_mdb as one).
const MODULE_DIRS: &[&str] = &[
    "/usr/lib/ldap",
    "/usr/lib64/openldap",
    "/usr/lib/openldap",
    "/usr/libexec/openldap",
    "/usr/local/libexec/openldap",
];

/// A running throwaway slapd. Dropping it kills the process and removes its directory.
pub struct Slapd {
    // `None` while stopped. `Drop` kills and reaps it before the fields drop, so the
    // directory goes only once no slapd uses it.
    child: Option<Child>,
    dir: TempDir,
    binary: PathBuf,
    port: u16,
    ldaps_port: u16,
    ca_file: PathBuf,
    ca_pem: String,
}

impl std::fmt::Debug for Slapd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slapd")
            .field("url", &self.url())
            .field("ldaps_url", &self.ldaps_url())
            .field("dir", &self.dir.path())
            .field("running", &self.child.is_some())
            .finish()
    }
}

impl Slapd {
    /// Starts slapd on 127.0.0.1 (two free ports: `ldap://` with StartTLS, and `ldaps://`)
    /// with a throwaway `slapd.conf`, test certificates and an mdb database loaded from
    /// `directory.ldif`, and waits until it answers an LDAP request.
    ///
    /// When slapd is not installed: panics if the `CI` environment variable is set, else
    /// prints a loud `SKIPPED` line and returns `None`.
    pub async fn start() -> Option<Slapd> {
        let Some(binary) = find_slapd() else {
            if portcullis_store_postgres::testing::in_ci() {
                panic!(
                    "slapd is not installed (looked in {SLAPD_PATHS:?} and PATH) and CI is set: \
                     the LDAP tests need Debian's `slapd` and `ldap-utils` (.ci/run installs them)"
                );
            }
            // Written to the stderr handle, not with `eprintln!`, which the test harness
            // captures and hides for passing tests: a skip must show in a plain `cargo test`.
            let _ignored = writeln!(
                std::io::stderr(),
                "\n!!!!! SKIPPED: slapd not installed; this LDAP test did NOT run \
                 (apt-get install slapd ldap-utils) !!!!!\n"
            );
            return None;
        };
        let schema = SCHEMA_DIRS
            .iter()
            .map(Path::new)
            .find(|d| d.join("inetorgperson.schema").is_file())
            .unwrap_or_else(|| {
                panic!("slapd is installed but its schema files are in none of {SCHEMA_DIRS:?}")
            });

        let dir = tempfile::Builder::new()
            .prefix("portcullis-slapd-")
            .tempdir()
            .expect("create slapd's temporary directory");
        let root = dir.path();
        std::fs::create_dir(root.join("db")).expect("create slapd's database directory");

        let (ca_pem, server_pem, server_key) = certificates();
        let ca_file = root.join("ca.pem");
        std::fs::write(&ca_file, &ca_pem).expect("write the test CA");
        std::fs::write(root.join("server.pem"), server_pem).expect("write the server cert");
        // Only slapd (the same user as the test) reads the key.
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(root.join("server.key"))
            .and_then(|mut f| f.write_all(server_key.as_bytes()))
            .expect("write the server key");

        let dir_str = root
            .to_str()
            .expect("the temporary directory's path is UTF-8");
        let conf = SLAPD_CONF
            .replace("@SCHEMA@", &schema.display().to_string())
            .replace("@DIR@", dir_str)
            .replace("@MODULES@", &module_lines())
            .replace("@OVERLAYS@", &overlay_lines());
        std::fs::write(root.join("slapd.conf"), conf).expect("write slapd.conf");
        std::fs::write(root.join("directory.ldif"), DIRECTORY_LDIF).expect("write the LDIF");

        // slapadd, offline, before the first start: `slapd -T add` is slapadd.
        let out = Command::new(&binary)
            .arg("-T")
            .arg("add")
            .arg("-f")
            .arg(root.join("slapd.conf"))
            .arg("-l")
            .arg(root.join("directory.ldif"))
            .stdin(Stdio::null())
            .output()
            .await
            .expect("run slapadd (`slapd -T add`)");
        assert!(
            out.status.success(),
            "slapadd of directory.ldif failed ({}):\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );

        let mut slapd = Slapd {
            child: None,
            dir,
            binary,
            port: 0,
            ldaps_port: 0,
            ca_file,
            ca_pem,
        };
        for attempt in 1..=START_ATTEMPTS {
            slapd.port = free_port();
            slapd.ldaps_port = free_port();
            match slapd.spawn_and_wait().await {
                Ok(()) => return Some(slapd),
                Err(Failure::Exited(status)) if attempt < START_ATTEMPTS => {
                    eprintln!(
                        "slapd exited during start ({status}), most likely a port taken \
                         meanwhile; trying new ports:\n{}",
                        slapd.log()
                    );
                }
                Err(failure) => slapd.fail("start", &failure),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    /// `ldap://127.0.0.1:PORT`: plain LDAP, StartTLS offered.
    pub fn url(&self) -> String {
        format!("ldap://127.0.0.1:{}", self.port)
    }

    /// `ldaps://127.0.0.1:PORT2`: LDAP over TLS from the first byte. The certificate names
    /// `127.0.0.1` (IP SAN) and `localhost`.
    pub fn ldaps_url(&self) -> String {
        format!("ldaps://127.0.0.1:{}", self.ldaps_port)
    }

    /// The PEM file of the test CA that signed the server certificate.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// The PEM of the test CA that signed the server certificate.
    pub fn ca_pem(&self) -> String {
        self.ca_pem.clone()
    }

    /// Stops slapd (SIGTERM, SIGKILL after a bound) and waits until its port refuses
    /// connections. Does nothing when it is already stopped.
    pub async fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if let Some(pid) = child
            .id()
            .and_then(|id| i32::try_from(id).ok())
            .and_then(rustix::process::Pid::from_raw)
        {
            // An error means it has already exited; the wait below reaps it either way.
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        if timeout(STOP_TIMEOUT, child.wait()).await.is_err() {
            eprintln!("slapd did not exit within {STOP_TIMEOUT:?} of SIGTERM; killing it");
            child.kill().await.expect("kill slapd");
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        while connects(self.port).await || connects(self.ldaps_port).await {
            assert!(
                Instant::now() < deadline,
                "slapd exited but 127.0.0.1:{} still accepts connections",
                self.port
            );
            sleep(Duration::from_millis(20)).await;
        }
    }

    /// Starts slapd again (stopping it first if it runs) on the same ports with the same
    /// database, and waits until it answers.
    pub async fn restart(&mut self) {
        self.stop().await;
        if let Err(failure) = self.spawn_and_wait().await {
            self.fail("restart", &failure);
        }
    }

    /// Runs slapd in the foreground (`-d none`: no debug output, errors to stderr, which
    /// goes to `slapd.log`) and waits until it answers on both ports.
    async fn spawn_and_wait(&mut self) -> Result<(), Failure> {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .expect("open slapd.log");
        let log2 = log.try_clone().expect("clone slapd.log's handle");
        let listen = format!(
            "ldap://127.0.0.1:{}/ ldaps://127.0.0.1:{}/",
            self.port, self.ldaps_port
        );
        let child = Command::new(&self.binary)
            .arg("-d")
            .arg("none")
            .arg("-h")
            .arg(listen)
            .arg("-f")
            .arg(self.dir.path().join("slapd.conf"))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .kill_on_drop(true)
            .spawn()
            .expect("spawn slapd");
        self.child = Some(child);
        self.wait_ready().await
    }

    async fn wait_ready(&mut self) -> Result<(), Failure> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(Failure::Exited(status));
            }
            if connects(self.port).await
                && connects(self.ldaps_port).await
                && root_dse_answers(&self.url()).await
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(Failure::Timeout);
            }
            sleep(Duration::from_millis(20)).await;
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("slapd.log")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    fn fail(&self, what: &str, failure: &Failure) -> ! {
        let why = match failure {
            Failure::Exited(status) => format!("slapd exited ({status})"),
            Failure::Timeout => format!("slapd did not answer within {START_TIMEOUT:?}"),
        };
        panic!(
            "slapd {what} failed on {} and {}: {why}. slapd's output:\n{}",
            self.url(),
            self.ldaps_url(),
            self.log()
        );
    }
}

impl Drop for Slapd {
    #[expect(
        clippy::disallowed_methods,
        reason = "Drop cannot await: a bounded wait of a few ms for a real process to die"
    )]
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.start_kill();
            // Reap it before the directory goes, so that no slapd writes into a removed
            // database; SIGKILL takes effect at once.
            for _ in 0..200 {
                if !matches!(child.try_wait(), Ok(None)) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

enum Failure {
    Exited(ExitStatus),
    Timeout,
}

fn find_slapd() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join("slapd"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    SLAPD_PATHS
        .iter()
        .map(PathBuf::from)
        .chain(on_path)
        .find(|p| p.is_file())
}

/// The directory holding slapd's loadable modules, when this slapd has them (a static
/// build has back_mdb and the overlays built in).
fn module_dir() -> Option<&'static Path> {
    MODULE_DIRS
        .iter()
        .map(Path::new)
        .find(|d| d.join("back_mdb.la").is_file() || d.join("back_mdb.so").is_file())
}

fn has_module(name: &str) -> bool {
    module_dir().is_some_and(|d| {
        d.join(format!("{name}.la")).is_file() || d.join(format!("{name}.so")).is_file()
    })
}

fn module_lines() -> String {
    let Some(dir) = module_dir() else {
        return String::new();
    };
    let mut lines = format!("modulepath \"{}\"\nmoduleload back_mdb\n", dir.display());
    if has_module("dynlist") {
        lines.push_str("moduleload dynlist\n");
    }
    lines
}

/// `memberOf` on people, computed from the `groupOfNames` groups at search time (the
/// dynlist overlay of OpenLDAP 2.5, which also works on entries loaded by slapadd, unlike
/// the older memberof overlay).
fn overlay_lines() -> String {
    if has_module("dynlist") {
        "overlay dynlist\ndynlist-attrset groupOfURLs memberURL member+memberOf@groupOfNames\n"
            .to_owned()
    } else {
        String::new()
    }
}

/// A port on 127.0.0.1 that is free now (the OS picks it for a listener on port 0).
fn free_port() -> u16 {
    TcpListener::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .and_then(|l| l.local_addr())
        .expect("find a free port on 127.0.0.1")
        .port()
}

async fn connects(port: u16) -> bool {
    matches!(
        timeout(
            Duration::from_secs(1),
            TcpStream::connect((Ipv4Addr::LOCALHOST, port))
        )
        .await,
        Ok(Ok(_))
    )
}

/// Whether slapd answers an anonymous read of the root DSE (a TCP accept alone can come
/// before the databases are open).
async fn root_dse_answers(url: &str) -> bool {
    let attempt = async {
        let settings = ldap3::LdapConnSettings::new().set_conn_timeout(Duration::from_secs(1));
        let (conn, mut ldap) = ldap3::LdapConnAsync::with_settings(settings, url).await?;
        ldap3::drive!(conn);
        let result = ldap
            .search(
                "",
                ldap3::Scope::Base,
                "(objectClass=*)",
                vec!["supportedExtension"],
            )
            .await?
            .success();
        let _ = ldap.unbind().await;
        result.map(|(entries, _)| !entries.is_empty())
    };
    matches!(timeout(Duration::from_secs(2), attempt).await, Ok(Ok(true)))
}

/// A throwaway CA and a server certificate it signed, for 127.0.0.1 and localhost:
/// (CA certificate PEM, server certificate PEM, server key PEM in PKCS#8). The LDAP tests'
/// slapd and the single sign-on tests' HTTPS provider serve it.
pub fn certificates() -> (String, String, String) {
    let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("generate the CA key");
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "Portcullis test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).expect("self-sign the CA");
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key =
        KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).expect("generate the server key");
    // `new` makes an IP SAN of "127.0.0.1" and a DNS SAN of "localhost".
    let mut params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .expect("server params");
    params
        .distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    let server_cert = params
        .signed_by(&server_key, &issuer)
        .expect("sign the server certificate");

    (ca_cert.pem(), server_cert.pem(), server_key.serialize_pem())
}
