//! Integration tests of the MDR demo resource server: the server's real router with the demo
//! mounted, real storage (SQLite and PostgreSQL), a fake clock. Every scenario runs on both
//! backends.

#![allow(
    clippy::allow_attributes,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    dead_code,
    reason = "test-only helpers: a failed call or a missing value must fail the test loudly"
)]

mod harness;

mod common;

mod assets;
mod attachments;
mod comments;
mod demo;
mod incidents;
mod paths;
mod responses;
mod scope;
mod soc;
