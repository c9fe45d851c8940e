//! End-to-end tests: the real Portcullis server (SQLite in a temp dir, loopback listener,
//! in-process) driven by the real `portcullis-client` binary as a subprocess.
//!
//! The server runs on a `FakeClock` started at the real time and moved only by the tests,
//! so expiry, grace periods and race tolerances are exercised without waiting and without
//! any assertion on wall-clock durations.

mod awx;
mod flows;
mod harness;
mod kill;
mod race;
