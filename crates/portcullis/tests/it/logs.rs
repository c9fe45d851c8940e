//! Log formats an operator can choose: `PORTCULLIS_LOG_FORMAT=json` writes one JSON object per
//! line (the README documents it), and an unknown format is refused at start.

use crate::server::{Server, client, exe};

#[tokio::test]
async fn json_log_format_writes_one_json_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(
        dir.path(),
        &[
            ("PORTCULLIS_LOG_FORMAT", "json"),
            ("PORTCULLIS_ADMIN_PASSWORD", "json-admin-pw"),
        ],
    )
    .await;
    let r = client()
        .get(s.url("/api/v2/me/"))
        .basic_auth("admin", Some("json-admin-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let log = s.log();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(!lines.is_empty(), "the server logged nothing");
    for line in &lines {
        assert!(line["timestamp"].is_string(), "{line}");
        assert!(line["level"].is_string(), "{line}");
    }
    let listening = lines
        .iter()
        .find(|l| l["fields"]["message"] == "portcullis listening")
        .unwrap_or_else(|| panic!("no start line in:\n{log}"));
    assert_eq!(listening["level"], "INFO");
    assert_eq!(listening["fields"]["backend"], "sqlite");
}

#[test]
fn an_unknown_log_format_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(exe())
        .arg("check-config")
        .current_dir(dir.path())
        .env_clear()
        .env("PORTCULLIS_LOG_FORMAT", "xml")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("PORTCULLIS_LOG_FORMAT=xml"), "{stderr}");
    // And the documented values pass.
    for format in ["json", "text"] {
        let out = std::process::Command::new(exe())
            .arg("check-config")
            .current_dir(dir.path())
            .env_clear()
            .env("PORTCULLIS_LOG_FORMAT", format)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
