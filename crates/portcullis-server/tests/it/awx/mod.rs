//! AWX-compatible surface, every scenario on SQLite and on PostgreSQL.

mod activity;
mod applications;
mod audit;
mod basic;
mod compat;
mod csrf;
mod discovery;
mod input;
mod login;
mod nul;
mod oauth;
mod options;
mod outage;
mod resources;
mod sessions;
mod settings;
mod throttle;
mod tokens;
mod urls;
mod users;
