//! SIGKILL the client at random points of `token refresh` (C6, R7).

use crate::harness::{Server, SplitMix64, claims};
use std::time::Duration;

const ROUNDS: usize = 50;

#[test]
fn a_client_killed_during_refresh_always_recovers_within_the_grace_period() {
    let server = Server::start();
    let client_id = server.customer("Acme");
    let (cnx, bootstrap) = server.connection(&client_id, "kill");
    let c = server.client("kill");
    c.init(&client_id, &bootstrap).ok();

    let mut rng = SplitMix64(0x6b69_6c6c_7465_7374);
    let (mut killed, mut finished) = (0, 0);
    for round in 0..ROUNDS {
        let before = c.refresh_token();
        let mut child = c.spawn(&["token", "refresh"]);
        server.pause(Duration::from_millis(rng.next_u64() % 51));
        match child.try_wait().unwrap() {
            Some(status) => {
                assert!(status.success(), "round {round}: unkilled refresh failed");
                finished += 1;
            }
            None => {
                child.kill().unwrap();
                killed += 1;
            }
        }
        let _ = child.wait().unwrap();

        // The store always parses and holds a whole pair: the old one or a new one.
        let doc = c.store_json();
        let rt = doc["refresh_token"].as_str().unwrap();
        let at = doc["access_token"].as_str().unwrap();
        assert_eq!(claims(rt)["sub"], client_id.as_str(), "round {round}");
        assert_eq!(claims(at)["sub"], client_id.as_str(), "round {round}");
        if rt != before {
            assert_eq!(
                claims(rt)["iat"],
                claims(at)["iat"],
                "round {round}: a new refresh token is stored with its own access token"
            );
        }

        // Within the grace period (and past the race tolerance) the next refresh succeeds,
        // whether the killed one had reached the server or not.
        server.advance(2);
        c.run(&["token", "refresh"]).ok();
        assert_ne!(
            c.refresh_token(),
            before,
            "round {round}: the chain moved on"
        );
    }
    let results = server.exchange_results(&client_id);
    let replayed = results.iter().filter(|r| *r == "replayed").count();
    assert!(
        results.iter().all(|r| r == "ok" || r == "replayed"),
        "no reuse, no conflict: {results:?}"
    );
    eprintln!(
        "kill test: {killed} runs killed, {finished} finished before the kill; \
         {replayed} recoveries got the successor of a token spent by a killed run"
    );
    assert_eq!(server.status(&client_id, &cnx), "Active");
    c.run(&["call", "assets/count"]).ok();
    c.run(&["token", "refresh"]).ok();
    c.run(&["call", "assets/list"]).ok();
}
