//! Debian's nginx for the tests that put it in front of Portcullis (`cluster.rs`,
//! `gateway.rs`): the policy when it is missing, and the process itself with a private prefix
//! directory, in its own process group, killed on drop. Each test keeps its own template,
//! ports and readiness check.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// Debian's nginx (package nginx-light or nginx).
pub const NGINX: &str = "/usr/sbin/nginx";

/// True when nginx is installed. When it is missing, the policy of the PostgreSQL tests: a
/// loud skip of `what` on a developer machine, a failure under CI (`.ci/run` installs
/// nginx-light).
pub fn available(what: &str) -> bool {
    if Path::new(NGINX).exists() {
        return true;
    }
    assert!(
        !portcullis_store_postgres::testing::in_ci(),
        "{NGINX} is missing and CI is set: apt-get install nginx-light"
    );
    let _ignored = writeln!(
        std::io::stderr(),
        "\n!!!!! SKIP {what}: {NGINX} is missing (apt-get install nginx-light) !!!!!\n"
    );
    false
}

/// nginx with a private prefix directory, in its own process group; killed on drop.
pub struct Process {
    child: Child,
    dir: tempfile::TempDir,
}

impl Process {
    /// Starts nginx on the configuration `render` returns for the prefix directory (its
    /// path, as the template's `{{PREFIX}}`), without waiting for it to answer.
    pub fn start(render: impl FnOnce(&str) -> String) -> Process {
        let dir = tempfile::tempdir().unwrap();
        // The worker runs as `nobody` when the master is root: it must reach the temporary
        // directories nginx creates in the prefix.
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let prefix = dir.path().display().to_string();
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, render(&prefix)).unwrap();
        let child = Command::new(NGINX)
            .process_group(0)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf_path)
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx");
        Process { child, dir }
    }

    /// The prefix directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// nginx's error log so far (empty when there is none yet).
    pub fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir().join("error.log")).unwrap_or_default()
    }

    /// True while the nginx started here still runs.
    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        // nginx runs in its own process group (master and worker): end them all.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
