//! Two client processes sharing one store (C5).

use crate::harness::{Server, claims};
use std::fs::OpenOptions;

#[test]
fn two_processes_refreshing_one_store_both_succeed_and_the_chain_survives() {
    let server = Server::start();
    let client_id = server.customer("Acme");
    let (cnx, bootstrap) = server.connection(&client_id, "race");
    let c = server.client("race");
    c.init(&client_id, &bootstrap).ok();

    for round in 0..5 {
        let args: &[&str] = if round % 2 == 0 {
            &["token", "refresh"]
        } else {
            &["--refresh-margin", "2h", "call", "assets/count"]
        };
        let a = c.spawn_captured(args);
        let b = c.spawn_captured(args);
        let a = c.finish(args, a);
        let b = c.finish(args, b);
        assert_eq!(a.code, Some(0), "round {round}: {a:#?}");
        assert_eq!(b.code, Some(0), "round {round}: {b:#?}");
        // A reuse would have revoked the family and reset the connection.
        assert_eq!(server.status(&client_id, &cnx), "Active", "round {round}");
        assert_eq!(claims(&c.refresh_token())["sub"], client_id.as_str());
    }
    c.run(&["call", "assets/list"]).ok();
    let results = server.exchange_results(&client_id);
    assert!(
        results.iter().all(|r| r == "ok"),
        "no concurrent use of one token reached the server: {results:?}"
    );
    // init + at most one exchange per process and round; the lock lets a process that
    // queued behind the other's exchange skip its own.
    assert!(results.len() <= 1 + 2 * 5, "{results:?}");
    eprintln!(
        "race test: {} exchanges for 10 processes",
        results.len() - 1
    );
}

#[test]
fn processes_waiting_on_the_lock_reuse_the_winners_pair() {
    let server = Server::start();
    let client_id = server.customer("Acme");
    let (cnx, bootstrap) = server.connection(&client_id, "lock");
    let c = server.client("lock");
    c.init(&client_id, &bootstrap).ok();

    // Hold the store's lock so both processes read the store and then queue behind it.
    let lock_path = c.store_path().with_file_name("mdr-token.json.lock");
    let lock = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .unwrap();
    lock.lock().unwrap();
    let args = &["--refresh-margin", "2h", "access-token"];
    let a = c.spawn_captured(args);
    let b = c.spawn_captured(args);
    server.pause(std::time::Duration::from_millis(300));
    drop(lock);
    let a = c.finish(args, a).ok();
    let b = c.finish(args, b).ok();
    let stored = c.access_token();
    // Whoever exchanged last wrote the store; at least one printed exactly that token, and
    // neither printed a token the server did not issue to this chain.
    assert!(
        a.stdout.trim() == stored || b.stdout.trim() == stored,
        "neither printed the stored token"
    );
    for out in [&a, &b] {
        assert_eq!(claims(out.stdout.trim())["sub"], client_id.as_str());
    }
    assert_eq!(server.status(&client_id, &cnx), "Active");
    let results = server.exchange_results(&client_id);
    assert!(results.iter().all(|r| r == "ok"), "{results:?}");
    eprintln!("lock test: {} exchanges for 2 processes", results.len() - 1);
    c.run(&["call", "assets/count"]).ok();
}
