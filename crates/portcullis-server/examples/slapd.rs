//! A throwaway OpenLDAP slapd with the test fixture directory, for benchmarks and manual
//! runs (`bench/ldap.sh`): starts [`Slapd`], prints `URL=`, `LDAPS_URL=`, `CA=`, `BASE_DN=`,
//! `SERVICE_DN=` and `SERVICE_PASSWORD=` lines on stdout, and keeps slapd running until stdin
//! closes or the process gets SIGTERM/SIGINT; then stops it and removes its files.
//!
//!   cargo run --release -q -p portcullis-server --features testing --example slapd

#![allow(
    clippy::allow_attributes,
    clippy::print_stdout,
    clippy::print_stderr,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a developer tool: setup failures should abort loudly, output goes to stdout"
)]

use portcullis_server::testing::slapd::{BASE_DN, SERVICE_DN, SERVICE_PASSWORD, Slapd};
use std::io::Read as _;
use std::io::Write as _;
use tokio::signal::unix::{SignalKind, signal};

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let Some(mut slapd) = Slapd::start().await else {
        // `start` printed why (slapd not installed).
        std::process::exit(2);
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "URL={}", slapd.url()).expect("write stdout");
    writeln!(out, "LDAPS_URL={}", slapd.ldaps_url()).expect("write stdout");
    writeln!(out, "CA={}", slapd.ca_file().display()).expect("write stdout");
    writeln!(out, "BASE_DN={BASE_DN}").expect("write stdout");
    writeln!(out, "SERVICE_DN={SERVICE_DN}").expect("write stdout");
    writeln!(out, "SERVICE_PASSWORD={SERVICE_PASSWORD}").expect("write stdout");
    writeln!(out, "READY").expect("write stdout");
    out.flush().expect("flush stdout");
    drop(out);

    let mut term = signal(SignalKind::terminate()).expect("install the SIGTERM handler");
    let mut int = signal(SignalKind::interrupt()).expect("install the SIGINT handler");
    // stdin is read on a plain thread (blocking reads; tokio's `io-std` is not enabled).
    let (closed_tx, closed_rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin();
        let mut buf = [0_u8; 256];
        // Read until EOF (or an error, which means the same: nobody is there any more).
        while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
        let _ = closed_tx.send(());
    });
    tokio::select! {
        _ = closed_rx => {}
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    slapd.stop().await;
}
