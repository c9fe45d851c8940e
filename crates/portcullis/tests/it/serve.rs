//! Serving over a socket: first start, login, limits enforced by the listener, both
//! backends, graceful stop.

use crate::server::{Server, client, form_login};
use serde_json::Value;

#[tokio::test]
async fn first_start_creates_admin_and_prints_how_to_log_in_once() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path(), &[]).await;
    let pw = s
        .generated_password()
        .expect("generated password in the log");
    assert!(
        s.log().contains("/console/") && s.log().contains("/api/v2/me/"),
        "log says how to log in: the web console, or Basic on the API"
    );
    assert!(
        dir.path().join("portcullis.db").exists(),
        "default SQLite file in the working directory"
    );
    let r = client()
        .get(s.url("/api/v2/me/"))
        .basic_auth("admin", Some(&pw))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["results"][0]["username"], "admin");
    assert_eq!(body["results"][0]["is_superuser"], true);
    assert!(s.stop().await.success(), "SIGTERM stops the server cleanly");
    // A second start on the same database creates nothing and prints no password.
    let s = Server::start(dir.path(), &[]).await;
    assert_eq!(s.generated_password(), None);
    let r = client()
        .get(s.url("/api/v2/me/"))
        .basic_auth("admin", Some(&pw))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn configured_admin_password_and_form_login_over_a_socket() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(
        dir.path(),
        &[("PORTCULLIS_ADMIN_PASSWORD", "s3cret-admin-pw")],
    )
    .await;
    assert_eq!(s.generated_password(), None);
    assert!(
        !s.log().contains("s3cret-admin-pw"),
        "the password never reaches the log"
    );
    let (session, csrf) = form_login(&s, "admin", "s3cret-admin-pw").await;
    assert!(session.starts_with("pcl_ses_"));
    let c = client();
    let me = c
        .get(s.url("/api/v2/me/"))
        .header(
            "cookie",
            format!("awx_sessionid={session}; csrftoken={csrf}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), 200);
    assert_eq!(me.headers()["session-timeout"], "1800");
    // Unsafe request with the CSRF dance, as the AWX CLI does it.
    let r = c
        .patch(s.url("/api/v2/settings/authentication/"))
        .header(
            "cookie",
            format!("awx_sessionid={session}; csrftoken={csrf}"),
        )
        .header("x-csrftoken", &csrf)
        .header("referer", s.url("/api/v2/settings/authentication/"))
        .header("content-type", "application/json")
        .body(r#"{"SESSION_COOKIE_AGE": 600}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let me = c
        .get(s.url("/api/v2/me/"))
        .header("cookie", format!("awx_sessionid={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        me.headers()["session-timeout"],
        "600",
        "setting effective without restart"
    );
}

#[tokio::test]
async fn listener_enforces_header_and_uri_limits() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(
        dir.path(),
        &[("PORTCULLIS_ADMIN_PASSWORD", "s3cret-admin-pw")],
    )
    .await;
    let c = client();
    // One header field above 32 KiB.
    let r = c
        .get(s.url("/api/v2/me/"))
        .header("x-big", "a".repeat(40 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 431);
    // A header section far above 64 KiB: hyper refuses it before routing.
    let mut req = c.get(s.url("/api/v2/me/"));
    for i in 0..5 {
        req = req.header(format!("x-big-{i}"), "b".repeat(30 * 1024));
    }
    let r = req.send().await.unwrap();
    assert_eq!(r.status(), 431);
    // More than 100 header fields.
    let mut req = c.get(s.url("/api/v2/me/"));
    for i in 0..120 {
        req = req.header(format!("x-h-{i}"), "1");
    }
    let r = req.send().await;
    match r {
        Ok(r) => assert_eq!(r.status(), 431),
        Err(e) => panic!("expected a 431 answer, got {e}"),
    }
    // Request line above 8 KiB.
    let r = c
        .get(s.url(&format!("/api/v2/users/?username={}", "u".repeat(9000))))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 414);
    // A JSON body just over the 1 MiB limit: small enough to sit in the socket buffers whole,
    // so the client always reads the early 413 instead of failing its write.
    let r = c
        .post(s.url("/api/v2/users/"))
        .basic_auth("admin", Some("s3cret-admin-pw"))
        .header("content-type", "application/json")
        .body(format!(
            r#"{{"username": "{}"}}"#,
            "x".repeat(2 * 1024 * 1024)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    // The server is still healthy (a fresh client: the refused connection was closed).
    let r = client().get(s.url("/api/v2/ping/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn serves_from_postgresql() {
    let Some(url) = portcullis_store_postgres::testing::fresh_database_url()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
    else {
        eprintln!("SKIP serves_from_postgresql: PostgreSQL unreachable");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(
        dir.path(),
        &[
            ("PORTCULLIS_DATABASE_URL", &url),
            ("PORTCULLIS_ADMIN_PASSWORD", "pg-admin-pw-1"),
        ],
    )
    .await;
    assert!(s.log().contains("backend=\"postgres\""), "{}", s.log());
    let (session, _) = form_login(&s, "admin", "pg-admin-pw-1").await;
    let r = client()
        .get(s.url("/api/v2/me/"))
        .header("cookie", format!("awx_sessionid={session}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        !dir.path().join("portcullis.db").exists(),
        "no SQLite file with a postgres URL"
    );
}

#[tokio::test]
async fn a_config_file_readable_by_others_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("portcullis.toml");
    std::fs::write(
        &file,
        "version = 1\nadmin_password = \"cfg-file-admin-pw\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let s = Server::start(dir.path(), &[("PORTCULLIS_CONFIG", file.to_str().unwrap())]).await;
    assert!(s.log().contains("readable by other users"), "{}", s.log());
    assert!(
        !s.log().contains("cfg-file-admin-pw"),
        "secrets never reach the log"
    );
    let r = client()
        .get(s.url("/api/v2/me/"))
        .basic_auth("admin", Some("cfg-file-admin-pw"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the file's admin password was used");
}
