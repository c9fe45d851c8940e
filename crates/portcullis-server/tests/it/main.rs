//! Integration tests of the server: the real router, real storage (SQLite and PostgreSQL),
//! a fake clock. Every scenario runs on both backends, except the outage scenarios, which
//! break each database in its own way.

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

mod awx;
mod body_limits;
mod console;
mod gateway;
mod ldap;
mod mdr;
mod openapi;
mod sso;
