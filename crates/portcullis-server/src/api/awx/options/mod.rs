//! AWX OPTIONS metadata (`docs/awx-compat.md`, "OPTIONS metadata"): the declarative field table of
//! every resource this API serves, the builder that turns a table into AWX's list and detail
//! metadata, and the OPTIONS handlers of the users, `me` and settings views.
//!
//! One table per resource is the single source of its metadata: `actions.GET` lists every
//! readable field (with `filterable`), `actions.POST` / `actions.PUT` only the fields the
//! caller may send (with `required`, `max_length`, `default`, `choices`). The tables also
//! name the filters a list accepts ([`Resource::filterable`]) and drive the body validation
//! of inventories and hosts, so metadata, filters and validation cannot drift apart.
//!
//! AWX clients build their command lines from these answers: `actions` may hold only `GET`
//! and, when the caller may write, `POST` (lists) or `PUT` (details); every field entry has a
//! `type`. OPTIONS needs authentication exactly like GET, so every handler takes `Authed`.

//!
//! Layout: [`builder`] (the table types and the document builder), [`tables`] (the field
//! table of every resource) and [`handlers`] (the OPTIONS views of users, `me` and settings;
//! other views' OPTIONS handlers live with the views).

pub mod builder;
pub mod handlers;
pub mod tables;

pub use builder::*;
pub use handlers::*;
pub use tables::*;
