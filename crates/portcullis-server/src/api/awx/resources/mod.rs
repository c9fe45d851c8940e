//! The list endpoints AWX clients probe (`docs/awx-compat.md`, "Compatibility lists"): the seven
//! compatibility stubs (organizations, projects, teams, credentials, job templates, workflow job
//! templates, instance groups), the built-in `Default` organization among them, and the minimal
//! inventory and host registry backed by the store.
//!
//! The stubs are one generic handler set parameterised by a [`Stub`] row: every stub lists
//! its (fixed, usually empty) rows with AWX's filters, ordering and paging, answers 404 for
//! details it does not hold, and offers only `GET`, `HEAD`, `OPTIONS`.
//!
//! Inventories and hosts share one generic handler set too, parameterised by a `Registry`
//! implementation. Bodies are validated from the resource's field table in
//! [`options`](crate::api::awx::options) (types, `required`, `max_length`, defaults on
//! create and `PUT`), so OPTIONS metadata, filters and validation cannot disagree. Reads are
//! open to every authenticated caller; writes to administrators only (`authz`; others get the generic
//! 403; read-scope tokens never get this far, `Authed` refuses their unsafe methods).
//!
//! Layout: [`stubs`] (the compatibility tables and their handlers), [`validate`] (bodies
//! checked against the field tables, errors as `FieldErrors`), [`registry`] (the generic
//! store-backed handler set and its inventory and host implementations) and [`handlers`]
//! (the documented inventory and host views).

pub mod handlers;
pub mod registry;
pub mod stubs;
pub mod validate;

pub use handlers::*;
pub use stubs::{
    __path_stub_detail, __path_stub_list, __path_stub_options, Stub, stub_detail, stub_list,
    stub_options,
};
pub(crate) use stubs::{organization_id, stubs};

/// Id of the built-in `Default` organization, the only organization there is.
pub const DEFAULT_ORGANIZATION: i64 = 1;

/// The components of a named-URL segment (`inv1++Default`): split on `++`, with `[+]`
/// standing for a literal `+` (AWX's escape). `None` for a lone `+`, which no named URL of
/// the resources Portcullis holds contains.
pub(crate) fn named_parts(segment: &str) -> Option<Vec<String>> {
    let mut parts = vec![String::new()];
    let mut rest = segment;
    while let Some(c) = rest.chars().next() {
        if let Some(r) = rest.strip_prefix("[+]") {
            parts.last_mut()?.push('+');
            rest = r;
        } else if let Some(r) = rest.strip_prefix("++") {
            parts.push(String::new());
            rest = r;
        } else if c == '+' {
            return None;
        } else {
            parts.last_mut()?.push(c);
            rest = rest.get(c.len_utf8()..)?;
        }
    }
    Some(parts)
}

/// The organization a named URL's `<organization.name>` part names: `Some(None)` for the
/// empty part (no organization), `Some(Some(1))` for `Default`, `None` for any other name.
pub(crate) fn organization_named(name: &str) -> Option<Option<i64>> {
    match name {
        "" => Some(None),
        "Default" => Some(Some(DEFAULT_ORGANIZATION)),
        _ => None,
    }
}
