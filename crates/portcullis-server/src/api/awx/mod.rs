//! The AWX / Astra Automation Controller-compatible API (`docs/awx-compat.md`).

pub mod activity;
pub mod applications;
pub mod discovery;
pub mod filter;
pub mod login;
pub mod me;
pub mod oauth;
pub mod options;
pub mod organizations;
pub mod paging;
pub mod render;
pub mod resources;
pub mod settings;
pub mod tokens;
pub mod users;
