//! HTTP surfaces. Each renders errors in its own dialect.

pub mod awx;
pub mod console;
pub mod health;
pub mod mdr;
pub mod sso;
