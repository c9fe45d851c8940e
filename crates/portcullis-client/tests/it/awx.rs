//! The AWX side with a personal access token.

use crate::harness::Server;
use serde_json::Value;

#[test]
fn get_with_a_personal_access_token_from_a_file_or_the_environment() {
    let server = Server::start();
    let pat = server.personal_token();
    let c = server.client("awx");
    c.remember(&pat);
    let file = c.home.join("pat");
    std::fs::write(&file, format!("{pat}\n")).unwrap();

    let out = c
        .run(&[
            "--awx-token-file",
            file.to_str().unwrap(),
            "get",
            "/api/v2/me/",
        ])
        .ok();
    let me: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(me["results"][0]["username"], "admin", "{me}");

    let o = c
        .command(&["get", "/api/v2/me/"])
        .env("PORTCULLIS_AWX_TOKEN", &pat)
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    assert!(!String::from_utf8_lossy(&o.stdout).contains(&pat));

    // Without a token: a usage error, not a request.
    let out = c.run(&["get", "/api/v2/me/"]);
    assert_eq!(out.code, Some(1), "{out:#?}");
    assert!(out.stderr.contains("PORTCULLIS_AWX_TOKEN"), "{out:#?}");

    // A wrong token is the server's 401, exit 5.
    std::fs::write(&file, "pcl_pat_wrong\n").unwrap();
    let out = c.run(&[
        "--awx-token-file",
        file.to_str().unwrap(),
        "get",
        "/api/v2/me/",
    ]);
    assert_eq!(out.code, Some(5), "{out:#?}");
}
