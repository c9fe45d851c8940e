//! End-to-end tests: the real Portcullis server (SQLite in a temp dir, loopback listener,
//! in-process) driven by the real `portcullis-client` binary as a subprocess.
//!
//! The server runs on a `FakeClock` started at the real time and moved only by the tests,
//! so expiry, grace periods and race tolerances are exercised without waiting and without
//! any assertion on wall-clock durations.

#![allow(
    clippy::allow_attributes,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed call or a missing value must fail the test loudly"
)]

mod awx;
mod flows;
mod harness;
mod kill;
mod race;
