//! `init`, status, calls, rotation, refusals (`docs/mdr-api.md`, "Client library and CLI").

use crate::harness::{Server, claims};
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;

#[test]
fn init_from_stdin_activates_the_connection_and_calls_work() {
    let server = Server::start();
    let client_id = server.customer("Acme");
    let (cnx, bootstrap) = server.connection(&client_id, "siem");
    let c = server.client("a");

    let out = c.init(&client_id, &bootstrap).ok();
    assert!(out.stdout.contains("initialised"), "{out:#?}");
    assert_eq!(server.status(&client_id, &cnx), "Active");

    // C2: the store is private and holds exactly the documented keys.
    let mode = std::fs::metadata(c.store_path())
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let doc = c.store_json();
    assert_eq!(doc["client_id"], client_id.as_str());
    let rt = c.refresh_token();
    let at = c.access_token();
    assert_ne!(rt, bootstrap, "the bootstrap token was exchanged");
    assert_eq!(claims(&rt)["sub"], client_id.as_str());
    assert_ne!(claims(&rt)["jti"], claims(&bootstrap)["jti"]);

    // C9: status shows the jti prefix and local expiry, never the token.
    let out = c.run(&["token", "status"]).ok();
    let jti = claims(&at)["jti"].as_str().unwrap().to_owned();
    assert!(out.stdout.contains(jti.get(..8).unwrap()), "{}", out.stdout);
    assert!(
        !out.stdout.contains(&jti),
        "whole jti shown: {}",
        out.stdout
    );
    assert!(out.stdout.contains("expires"), "{}", out.stdout);
    assert!(
        out.stdout.contains("uses the stored access token"),
        "{}",
        out.stdout
    );

    // Resource calls with the stored access token (no exchange needed).
    let out = c.run(&["call", "assets/list"]).ok();
    let list: Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(list.is_array(), "{list}");
    let out = c.run(&["call", "assets/count", "{}"]).ok();
    let count: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(
        count["count"].as_u64(),
        Some(list.as_array().unwrap().len() as u64)
    );
    assert_eq!(
        c.refresh_token(),
        rt,
        "no exchange while the access token is fresh"
    );

    // `access-token` prints exactly the stored token, for piping.
    let out = c.run(&["access-token"]).ok();
    assert_eq!(out.stdout.trim(), at);

    // An unknown method is the server's 404, reported with its own exit status.
    let out = c.run(&["call", "assets/bogus"]);
    assert_eq!(out.code, Some(5), "{out:#?}");
    assert!(out.stderr.contains("not found"), "{out:#?}");

    // a world-readable store is refused, naming the file.
    std::fs::set_permissions(c.store_path(), std::fs::Permissions::from_mode(0o644)).unwrap();
    for args in [&["token", "status"][..], &["call", "assets/list"]] {
        let out = c.run(args);
        assert_eq!(out.code, Some(1), "{out:#?}");
        assert!(
            out.stderr.contains(&c.store_path().display().to_string()),
            "{out:#?}"
        );
    }
}

#[test]
fn init_reads_a_token_file_and_refuses_an_empty_token() {
    let server = Server::start();
    let client_id = server.customer("Acme");
    let (cnx, bootstrap) = server.connection(&client_id, "from-file");
    let c = server.client("f");
    c.remember(&bootstrap);

    let out = c.run_with_stdin(&["init", "--client-id", &client_id], "\n");
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert!(!c.store_path().exists());

    let file = c.home.join("bootstrap.jwt");
    std::fs::write(&file, format!("{bootstrap}\n")).unwrap();
    c.run(&[
        "init",
        "--client-id",
        &client_id,
        "--token-file",
        file.to_str().unwrap(),
    ])
    .ok();
    assert_eq!(server.status(&client_id, &cnx), "Active");
    c.run(&["call", "assets/count"]).ok();
}

#[test]
fn a_margin_beyond_the_access_lifetime_exchanges_before_every_call() {
    let server = Server::start();
    let client_id = server.customer("Acme");
    let (_, bootstrap) = server.connection(&client_id, "rotating");
    let c = server.client("r");
    c.init(&client_id, &bootstrap).ok();

    let mut seen = vec![c.refresh_token()];
    let mut access = vec![claims(&c.access_token())["jti"].clone()];
    for _ in 0..3 {
        let out = c
            .run(&["--refresh-margin", "2h", "call", "assets/count"])
            .ok();
        assert!(serde_json::from_str::<Value>(&out.stdout).unwrap()["count"].is_u64());
        let rt = c.refresh_token();
        assert!(!seen.contains(&rt), "each call rotated the refresh token");
        seen.push(rt);
        let jti = claims(&c.access_token())["jti"].clone();
        assert!(!access.contains(&jti), "each call got a new access token");
        access.push(jti);
    }
    // The refresh-token margin alone triggers an exchange too (7 d lifetime < 8 d margin).
    let before = c.refresh_token();
    c.run(&["--refresh-token-margin", "8d", "call", "assets/count"])
        .ok();
    assert_ne!(c.refresh_token(), before);
    // The chain is intact: a plain call works and needs no exchange.
    let before = c.refresh_token();
    c.run(&["call", "assets/list"]).ok();
    assert_eq!(c.refresh_token(), before);
}

#[test]
fn an_expired_access_token_is_exchanged_once_and_the_call_retried() {
    let server = Server::start();
    let client_id = server.customer("Acme");
    let (cnx, bootstrap) = server.connection(&client_id, "expiry");
    let c = server.client("e");
    c.init(&client_id, &bootstrap).ok();
    let rt = c.refresh_token();
    let at = c.access_token();

    // The server's clock passes the access token's exp (+ leeway); the client's does not, so
    // the client sends the stored token, gets 403 `access token expired`, exchanges, retries.
    server.advance(2 * 3600);
    let out = c.run(&["call", "assets/count"]).ok();
    assert!(serde_json::from_str::<Value>(&out.stdout).unwrap()["count"].is_u64());
    assert_ne!(c.refresh_token(), rt, "one exchange happened");
    assert_eq!(
        server.exchanges(&client_id, "ok"),
        2,
        "init + exactly one exchange"
    );
    assert_ne!(c.access_token(), at);
    assert_eq!(server.status(&client_id, &cnx), "Active");

    // `token refresh` works on the renewed chain.
    c.run(&["token", "refresh"]).ok();
    c.run(&["call", "assets/list"]).ok();
}

#[test]
fn a_revoked_connection_gives_exit_3_and_leaves_the_store_unchanged() {
    let server = Server::start();
    let client_id = server.customer("Acme");
    let (cnx, bootstrap) = server.connection(&client_id, "revoked");
    let c = server.client("v");
    c.init(&client_id, &bootstrap).ok();
    server.revoke(&client_id, &cnx);
    let before = std::fs::read(c.store_path()).unwrap();

    let out = c.run(&["token", "refresh"]);
    assert_eq!(out.code, Some(3), "{out:#?}");
    assert!(out.stderr.contains("refresh token revoked"), "{out:#?}");
    assert_eq!(std::fs::read(c.store_path()).unwrap(), before);

    // A call: 403 `access token revoked` → one exchange → 401 → exit 3, store unchanged.
    let out = c.run(&["call", "assets/list"]);
    assert_eq!(out.code, Some(3), "{out:#?}");
    assert!(out.stderr.contains("refresh token revoked"), "{out:#?}");
    assert_eq!(std::fs::read(c.store_path()).unwrap(), before);
}

#[test]
fn an_expired_refresh_token_gives_exit_3_with_the_expiry_message() {
    let server = Server::start();
    let client_id = server.customer("Acme");
    let (_, bootstrap) = server.connection(&client_id, "expired");
    let c = server.client("x");
    c.init(&client_id, &bootstrap).ok();
    let before = std::fs::read(c.store_path()).unwrap();

    server.advance(8 * 86_400);
    let out = c.run(&["token", "refresh"]);
    assert_eq!(out.code, Some(3), "{out:#?}");
    assert!(out.stderr.contains("refresh token expired"), "{out:#?}");
    assert_eq!(std::fs::read(c.store_path()).unwrap(), before);
}

#[test]
fn presenting_a_spent_token_after_the_grace_period_is_reuse_and_exit_3() {
    let server = Server::start();
    let client_id = server.customer("Acme");
    let (cnx, bootstrap) = server.connection(&client_id, "reuse");
    let c = server.client("u");
    c.init(&client_id, &bootstrap).ok();
    let old = std::fs::read(c.store_path()).unwrap();
    c.run(&["token", "refresh"]).ok();

    // Put the spent token back (as a restored backup would) and wait out the grace period.
    std::fs::write(c.store_path(), &old).unwrap();
    server.advance(120);
    let out = c.run(&["token", "refresh"]);
    assert_eq!(out.code, Some(3), "{out:#?}");
    assert!(out.stderr.contains("already used"), "{out:#?}");
    assert_eq!(std::fs::read(c.store_path()).unwrap(), old);
    assert_eq!(server.status(&client_id, &cnx), "Pending activation");
}

#[test]
fn a_lost_answer_within_the_grace_period_is_recovered_with_the_same_pair() {
    let server = Server::start();
    let client_id = server.customer("Acme");
    let (_, bootstrap) = server.connection(&client_id, "grace");
    let c = server.client("g");
    c.init(&client_id, &bootstrap).ok();
    let old = std::fs::read(c.store_path()).unwrap();
    c.run(&["token", "refresh"]).ok();
    let successor = c.refresh_token();

    // As if the process died after the server's commit but before the rename.
    std::fs::write(c.store_path(), &old).unwrap();
    server.advance(5);
    c.run(&["token", "refresh"]).ok();
    assert_eq!(
        c.refresh_token(),
        successor,
        "the grace period returned the same successor"
    );
    c.run(&["token", "refresh"]).ok();
    c.run(&["call", "assets/count"]).ok();
}

#[test]
fn a_409_is_not_answered_by_sending_the_same_token_again() {
    let server = Server::start_with(|c| c.mdr.rotation_grace_period = 0);
    let client_id = server.customer("Acme");
    let (cnx, bootstrap) = server.connection(&client_id, "conflict");
    let c = server.client("c");
    c.init(&client_id, &bootstrap).ok();
    let old = std::fs::read(c.store_path()).unwrap();
    c.run(&["token", "refresh"]).ok();
    let good = std::fs::read(c.store_path()).unwrap();

    // The spent token again, within the race tolerance (the fake clock has not moved): 409.
    std::fs::write(c.store_path(), &old).unwrap();
    let out = c.run(&["token", "refresh"]);
    assert_eq!(out.code, Some(4), "{out:#?}");
    assert!(out.stderr.contains("concurrent request"), "{out:#?}");
    assert_eq!(
        std::fs::read(c.store_path()).unwrap(),
        old,
        "store untouched"
    );

    // The family is still live: the real successor works.
    std::fs::write(c.store_path(), &good).unwrap();
    c.run(&["token", "refresh"]).ok();
    c.run(&["call", "assets/count"]).ok();
    assert_eq!(server.status(&client_id, &cnx), "Active");
}

/// Over HTTPS with the development CA as the only trust anchor (`--ca-file`), the client
/// activates a connection and calls the API; without the CA it refuses the server.
#[test]
fn the_client_works_over_https_with_its_ca_file() {
    let server = Server::start_tls();
    assert!(server.base.starts_with("https://"), "{}", server.base);
    let client_id = server.customer("Acme TLS");
    let (cnx, bootstrap) = server.connection(&client_id, "siem");
    let c = server.client("tls");
    c.init(&client_id, &bootstrap).ok();
    assert_eq!(server.status(&client_id, &cnx), "Active");
    let out = c.run(&["call", "assets/list"]).ok();
    let list: Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(list.is_array(), "{list}");

    // Without --ca-file the system roots are used, and they do not know the development CA.
    let mut plain = std::process::Command::new(crate::harness::BIN);
    plain
        .env_clear()
        .env("HOME", &c.home)
        .arg("--url")
        .arg(&server.base)
        .arg("--store")
        .arg(&c.store)
        .args(["call", "assets/list"]);
    let out = plain.output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("invalid peer certificate: UnknownIssuer"),
        "{stderr}"
    );
}
