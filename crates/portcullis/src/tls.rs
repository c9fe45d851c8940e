//! `portcullis tls …`: the development certificate (`docs/tls.md`, "Development certificate").

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use portcullis_server::tls::dev_cert::{DEFAULT_NAMES, DevCa};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// `portcullis tls …`.
#[derive(Debug, Subcommand)]
pub enum TlsCommand {
    /// Write a local development CA (`ca.crt`) and a server certificate it signs
    /// (`server.crt`, `server.key`) for localhost, 127.0.0.1 and ::1, and print how to use them.
    DevCert {
        /// Directory for the three files (created if missing).
        #[arg(long, default_value = "tls")]
        dir: PathBuf,
        /// One more name for the server certificate, a DNS name or an IP address; repeatable.
        #[arg(long = "name", value_name = "NAME")]
        names: Vec<String>,
        /// Replace files that are already there (a new CA: clients must trust it again).
        #[arg(long)]
        force: bool,
    },
}

/// Runs a `tls` subcommand.
pub fn run(cmd: TlsCommand) -> Result<()> {
    match cmd {
        TlsCommand::DevCert { dir, names, force } => dev_cert(&dir, &names, force),
    }
}

fn dev_cert(dir: &Path, names: &[String], force: bool) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let dir = dir
        .canonicalize()
        .with_context(|| format!("resolving {}", dir.display()))?;
    let ca_path = dir.join("ca.crt");
    let cert_path = dir.join("server.crt");
    let key_path = dir.join("server.key");
    if !force {
        for path in [&ca_path, &cert_path, &key_path] {
            if path.exists() {
                bail!(
                    "{} already exists; pass --force to replace the development certificates (clients must then trust the new CA)",
                    path.display()
                );
            }
        }
    }
    let now = portcullis_core::clock::Clock::now(&portcullis_core::clock::SystemClock);
    let ca = DevCa::new(now).context("making the development CA")?;
    let issued = ca
        .issue_default(names, now)
        .context("making the server certificate")?;
    // Key first, certificate last: a running server that watches the files sees a complete
    // new pair once the certificate lands (a mismatch in between is logged and retried).
    write_atomically(&key_path, issued.key_pem.as_bytes(), 0o600)?;
    write_atomically(&ca_path, ca.pem().as_bytes(), 0o644)?;
    write_atomically(&cert_path, issued.cert_pem.as_bytes(), 0o644)?;

    let mut all: Vec<&str> = DEFAULT_NAMES.to_vec();
    all.extend(
        names
            .iter()
            .map(String::as_str)
            .filter(|n| !DEFAULT_NAMES.contains(n)),
    );
    let until = now + time::Duration::days(portcullis_server::tls::dev_cert::LEAF_DAYS);
    let (ca, cert, key) = (ca_path.display(), cert_path.display(), key_path.display());
    println!(
        "Wrote a development CA and a server certificate for {names} (valid until {until}):
  {ca}  the CA: give it to clients as their trust anchor
  {cert}  the server certificate
  {key}  its private key (mode 0600)

Serve HTTPS with these two settings:
  export PORTCULLIS_TLS__CERT_FILE={cert}
  export PORTCULLIS_TLS__KEY_FILE={key}
  portcullis serve
(or in the configuration file: [tls] cert_file = \"{cert}\" and key_file = \"{key}\")

Trust the CA in clients:
  curl --cacert {ca} https://127.0.0.1:8052/api/v2/ping/
  Python requests: requests.post(url, json=body, verify=\"{ca}\")
  Node.js: NODE_EXTRA_CA_CERTS={ca} node app.js
  awx CLI and other requests-based tools: REQUESTS_CA_BUNDLE={ca}
  portcullis-client: --ca-file {ca}

For development only: the CA's private key is not kept, so nothing else can be signed with it.",
        names = all.join(", "),
        until = until.date(),
    );
    Ok(())
}

/// Writes `bytes` to a temporary file beside `path` with `mode`, then renames it over `path`.
fn write_atomically(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let mut file = options
        .open(&tmp)
        .with_context(|| format!("writing {}", tmp.display()))?;
    // The mode given at creation is masked by the umask, and an old temporary file keeps its
    // own: set it explicitly.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("setting the mode of {}", tmp.display()))?;
    }
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
