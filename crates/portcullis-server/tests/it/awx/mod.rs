//! AWX-compatible surface, every scenario on SQLite and on PostgreSQL.

mod basic;
mod csrf;
mod discovery;
mod input;
mod login;
mod outage;
mod sessions;
mod settings;
mod urls;
mod users;
