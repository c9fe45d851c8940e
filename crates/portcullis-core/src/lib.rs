//! Portcullis domain rules.
//!
//! Policy: this crate holds every rule that decides who may do what — credential formats,
//! password hashing and verification, session timing, CSRF tokens, scopes, authentication
//! settings and their validation — and does **no I/O**. Time comes from a [`clock::Clock`],
//! randomness from an [`rng::Rng`], so every rule is testable without a runtime or database.

pub mod authz;
pub mod base62;
pub mod basic;
pub mod clock;
pub mod csrf;
pub mod error;
pub mod gateway;
pub mod ids;
pub mod jwt;
pub mod ldap;
pub mod mdr;
pub mod password;
pub mod policy;
pub mod principal;
pub mod rng;
pub mod scope;
pub mod session;
pub mod settings;
pub mod sso;
pub mod token;
pub mod user;
