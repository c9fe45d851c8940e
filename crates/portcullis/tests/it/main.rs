//! End-to-end tests of the `portcullis` binary: each starts the built executable on a
//! loopback port, as an operator would, and talks HTTP to it over a real socket.

#![allow(
    clippy::allow_attributes,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code: a failed expectation should panic with its message"
)]

mod cli;
mod cluster;
mod disk_full;
mod gateway;
mod limits;
mod logs;
mod mdr;
mod metrics;
mod nginx;
mod outage;
mod serve;
mod server;
mod shutdown;
mod tls;
