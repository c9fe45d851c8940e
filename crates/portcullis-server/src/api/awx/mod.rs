//! The AWX / Astra Automation Controller-compatible API (`awx-api.md`).

pub mod discovery;
pub mod login;
pub mod me;
pub mod paging;
pub mod render;
pub mod settings;
pub mod users;
pub mod activity;
pub mod applications;
pub mod oauth;
pub mod options;
pub mod resources;
pub mod tokens;
