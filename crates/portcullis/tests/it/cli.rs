//! Subcommands other than `serve`.

use crate::server::{Server, client, exe};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

pub fn portcullis(
    dir: &std::path::Path,
    args: &[&str],
    env: &[(&str, &str)],
    stdin: &str,
) -> (i32, String, String) {
    let mut cmd = Command::new(exe());
    cmd.args(args)
        .current_dir(dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn create_user_then_duplicate_fails_and_the_user_can_log_in() {
    let dir = tempfile::tempdir().unwrap();
    let (code, out, err) = portcullis(
        dir.path(),
        &[
            "admin",
            "create-user",
            "bob",
            "--superuser",
            "--email",
            "bob@example.com",
            "--password-stdin",
        ],
        &[],
        "bobs-password-1\n",
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("created user bob"));
    let (code, _, err) = portcullis(
        dir.path(),
        &["admin", "create-user", "bob"],
        &[("PORTCULLIS_PASSWORD", "another-password")],
        "",
    );
    assert_eq!(code, 1);
    assert!(err.contains("already exists"), "{err}");
    let (code, _, err) = portcullis(dir.path(), &["admin", "create-user", "carol"], &[], "");
    assert_eq!(code, 1, "no password given");
    assert!(err.contains("PORTCULLIS_PASSWORD"), "{err}");
    // The user exists, so serve creates no admin, and bob logs in with Basic.
    let s = Server::start(dir.path(), &[]).await;
    assert_eq!(s.generated_password(), None);
    let r = client()
        .get(s.url("/api/v2/me/"))
        .basic_auth("bob", Some("bobs-password-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["results"][0]["email"], "bob@example.com");
    assert_eq!(body["results"][0]["is_superuser"], true);
}

#[test]
fn check_config_names_unknown_keys_and_redacts_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = portcullis(
        dir.path(),
        &["check-config"],
        &[("PORTCULLIS_LISTN", "x")],
        "",
    );
    assert_eq!(code, 1);
    assert!(err.contains("listn"), "{err}");
    let file = dir.path().join("portcullis.toml");
    std::fs::write(
        &file,
        "version = 1\nlisten = \"127.0.0.1:9999\"\n[session]\ncookie_nam = \"x\"\n",
    )
    .unwrap();
    let (code, _, err) = portcullis(
        dir.path(),
        &["--config", file.to_str().unwrap(), "check-config"],
        &[],
        "",
    );
    assert_eq!(code, 1);
    assert!(err.contains("cookie_nam"), "{err}");
    std::fs::write(&file, "version = 1\nlisten = \"127.0.0.1:9999\"\n").unwrap();
    let (code, out, err) = portcullis(
        dir.path(),
        &["check-config"],
        &[
            ("PORTCULLIS_CONFIG", file.to_str().unwrap()),
            ("PORTCULLIS_DATABASE_URL", "postgres://u:hunter2@db/x"),
        ],
        "",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("127.0.0.1:9999"));
    assert!(out.contains("<redacted>"));
    assert!(!out.contains("hunter2"));
}

#[test]
fn migrate_creates_the_sqlite_database() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = portcullis(
        dir.path(),
        &["migrate"],
        &[("PORTCULLIS_DATABASE_URL", "sqlite:data.db")],
        "",
    );
    assert_eq!(code, 0, "{err}");
    let meta = std::fs::metadata(dir.path().join("data.db")).unwrap();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        meta.permissions().mode() & 0o777,
        0o600,
        "database file is private"
    );
}

async fn create_pat(s: &Server, user: &str, pw: &str) -> String {
    let r = client()
        .post(s.url("/api/v2/tokens/"))
        .basic_auth(user, Some(pw))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let body: serde_json::Value = r.json().await.unwrap();
    body["token"].as_str().unwrap().to_owned()
}

async fn bearer_status(s: &Server, token: &str) -> u16 {
    client()
        .get(s.url("/api/v2/me/"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The status of `GET /api/v2/me/` with `token` once it is 401, or the last status after
/// `CEILING`. A change made by another process reaches the server's caches by its change-log
/// poll, within `mdr.revocation_check_interval_ms` (1 s; `docs/cluster.md`); the ceiling is
/// a correctness bound with room for a slow machine, not a speed figure.
async fn refused_within_bound(s: &Server, token: &str) -> u16 {
    const CEILING: Duration = Duration::from_secs(3);
    let deadline = std::time::Instant::now() + CEILING;
    loop {
        let status = bearer_status(s, token).await;
        if status == 401 || std::time::Instant::now() >= deadline {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `portcullis admin revoke-tokens`: per user, then system-wide; counts printed, never a
/// token value; revocation reaches the running server (another process) within the
/// revocation bound.
#[tokio::test]
async fn revoke_tokens_ends_a_users_tokens_then_every_token() {
    let dir = tempfile::tempdir().unwrap();
    for (name, pw) in [("bob", "bobs-password-1"), ("carol", "carols-password-1")] {
        let (code, out, err) = portcullis(
            dir.path(),
            &["admin", "create-user", name, "--password-stdin"],
            &[],
            &format!("{pw}\n"),
        );
        assert_eq!(code, 0, "{out}{err}");
    }
    let s = Server::start(dir.path(), &[]).await;
    let bob1 = create_pat(&s, "bob", "bobs-password-1").await;
    let bob2 = create_pat(&s, "bob", "bobs-password-1").await;
    let carol = create_pat(&s, "carol", "carols-password-1").await;
    assert_eq!(bearer_status(&s, &bob1).await, 200);

    let (code, out, err) = portcullis(
        dir.path(),
        &["admin", "revoke-tokens", "--user", "bob"],
        &[],
        "",
    );
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.trim(), "revoked 2 access tokens");
    assert!(!out.contains("pcl_") && !err.contains("pcl_"));
    assert_eq!(refused_within_bound(&s, &bob1).await, 401);
    assert_eq!(refused_within_bound(&s, &bob2).await, 401);
    assert_eq!(bearer_status(&s, &carol).await, 200);

    let (code, _, err) = portcullis(
        dir.path(),
        &["admin", "revoke-tokens", "--user", "nobody"],
        &[],
        "",
    );
    assert_eq!(code, 1);
    assert!(err.contains("no user"), "{err}");

    let (code, out, err) = portcullis(dir.path(), &["admin", "revoke-tokens", "--all"], &[], "");
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(out.trim(), "revoked 1 access and refresh tokens");
    assert_eq!(refused_within_bound(&s, &carol).await, 401);
    // Tokens minted after the system-wide mark work.
    let fresh = create_pat(&s, "carol", "carols-password-1").await;
    assert_eq!(bearer_status(&s, &fresh).await, 200);
    s.stop().await;
}

/// `portcullis gateway check` lists a valid table and refuses an overlapping or shadowed one,
/// naming every problem; `gateway explain` prints the canonical request, the route and the
/// decision, for a token read from a file (`docs/gateway.md`, "Operations").
#[tokio::test]
async fn gateway_check_and_explain() {
    let dir = tempfile::tempdir().unwrap();
    let routes = r#"
[gateway]
[[gateway.routes]]
id = "read"
match = { host = "api.example.test", path_prefix = "/read/" }
auth = ["bearer"]
[[gateway.routes]]
id = "admin"
match = { host = "api.example.test", path_prefix = "/admin/" }
require = { roles = ["admin"] }
"#;
    let file = dir.path().join("portcullis.toml");
    std::fs::write(&file, routes).unwrap();
    let config = file.to_str().unwrap();
    let (code, out, err) = portcullis(
        dir.path(),
        &["--config", config, "gateway", "check"],
        &[],
        "",
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("read: host api.example.test, prefix /read/"),
        "{out}"
    );
    assert!(
        out.contains("2 route(s); no overlapping or shadowed routes"),
        "{out}"
    );

    let bad = format!(
        "{routes}[[gateway.routes]]\nid = \"twin\"\nmatch = {{ host = \"api.example.test\", path_prefix = \"/read/\" }}\n\
         [[gateway.routes]]\nid = \"everything\"\nmatch = {{ path_prefix = \"/admin/x/\" }}\n"
    );
    let bad_file = dir.path().join("bad.toml");
    std::fs::write(&bad_file, bad).unwrap();
    let (code, out, err) = portcullis(
        dir.path(),
        &["--config", bad_file.to_str().unwrap(), "gateway", "check"],
        &[],
        "",
    );
    assert_ne!(code, 0, "{out}{err}");
    assert!(err.contains("routes read and twin overlap"), "{err}");
    assert!(
        err.contains("route everything is shadowed on host api.example.test by route admin"),
        "{err}"
    );

    // explain: anonymous, then with a token from a file.
    let s = Server::start(
        dir.path(),
        &[
            ("PORTCULLIS_ADMIN_PASSWORD", "explain-admin-pw"),
            ("PORTCULLIS_CONFIG", config),
        ],
    )
    .await;
    let token = client()
        .post(s.url("/api/v2/tokens/"))
        .basic_auth("admin", Some("explain-admin-pw"))
        .json(&serde_json::json!({"scope": "read"}))
        .send()
        .await
        .unwrap()
        .json::<serde_json::Value>()
        .await
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let token_file = dir.path().join("token.txt");
    std::fs::write(&token_file, format!("{token}\n")).unwrap();
    let db = format!("sqlite:{}", dir.path().join("portcullis.db").display());
    let env = [("PORTCULLIS_DATABASE_URL", db.as_str())];
    let explain = |extra: &[&str]| {
        let mut args = vec!["--config", config, "gateway", "explain"];
        args.extend_from_slice(extra);
        portcullis(dir.path(), &args, &env, "")
    };
    let (code, out, err) = explain(&["GET", "https://API.example.test:443/read/../read/x?q=1"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("canonical: GET api.example.test/read/x?q=1"),
        "{out}"
    );
    assert!(out.contains("decision: 401 no credential"), "{out}");
    let (code, out, err) = explain(&[
        "GET",
        "https://api.example.test/read/x",
        "--token-file",
        token_file.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("decision: allow"), "{out}");
    assert!(out.contains("x-portcullis-user: admin"), "{out}");
    let (code, out, _) = explain(&["GET", "https://api.example.test/admin%2fx"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("decision: 400 ambiguous percent-encoding in path"),
        "{out}"
    );
    let (_, out, _) = explain(&["POST", "https://api.example.test/read/x", "--token", &token]);
    assert!(
        out.contains("decision: 403 the policy refuses (scope)"),
        "{out}"
    );
    drop(s);
}
