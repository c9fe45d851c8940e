//! AWX-compatible surface, every scenario on SQLite and on PostgreSQL.

mod applications;
mod basic;
mod csrf;
mod discovery;
mod input;
mod login;
mod oauth;
mod outage;
mod sessions;
mod settings;
mod throttle;
mod tokens;
mod urls;
mod users;
