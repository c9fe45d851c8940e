//! The protected resource API's domain (`docs/mdr-api.md`, "Resource API") and the SOC-side data of
//! `docs/mdr-api.md`, "SOC-side data": assets, incidents with their responses, comments and
//! attachments, and the incident history.
//!
//! Policy: objects live as JSON documents in [`portcullis_store::MdrObjectStore`], one
//! customer and kind at a time; this module filters, sorts and pages in memory (the store's
//! documented scale). Every read and write goes through a [`Ctx`], whose [`Scope`] is the
//! connection's tenant scope read for this request, so an out-of-scope object is
//! indistinguishable from a missing one. Every change of an incident or of one of its
//! children raises the incident's `update_time` to max(now, previous + 1) by compare-and-set
//! ([`change::change_incident`]) and appends a history record.

pub mod assets;
pub mod attachments;
pub mod change;
pub mod comments;
pub mod demo;
pub mod history;
pub mod incidents;
pub mod keys;
pub mod model;
pub mod render;
pub mod responses;
pub mod scope;
pub mod soc;

pub use demo::{DemoSummary, load_demo};
pub use keys::Keys;
pub use scope::Scope;

use portcullis_core::principal::Connection;
use portcullis_server::api::mdr::error::{MdrError, MdrResult};
use portcullis_server::state::AppState;

/// Who acts, for whom, and what they may see: built once per request.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The path's customer.
    pub client_id: String,
    /// The calling connection; `None` for the SOC side (console, demo loading).
    pub connection_id: Option<String>,
    /// The `author_name` of what this caller creates (the connection's current name).
    pub author_name: String,
    /// Tenants the caller may see.
    pub scope: Scope,
    /// The request's instant, epoch ms.
    pub now_ms: i64,
}

/// `author_name` of SOC-side items when the request names none.
pub const SOC_AUTHOR: &str = "SOC";

impl Ctx {
    /// The context of an authenticated API connection: its name and its tenant scope as
    /// stored now (never from the token).
    pub async fn for_caller(
        state: &AppState,
        client_id: &str,
        connection: &Connection,
    ) -> MdrResult<Self> {
        let tenants = state.store.tenants(client_id).await?;
        Ok(Self {
            client_id: client_id.to_owned(),
            connection_id: Some(connection.connection_id.clone()),
            author_name: connection.name.clone(),
            scope: Scope::limited(tenants, &connection.tenants),
            now_ms: now_ms(state),
        })
    }

    /// The SOC side's context: the whole customer, which must exist (404 `customer not found`).
    pub async fn soc(state: &AppState, client_id: &str) -> MdrResult<Self> {
        if state.store.customer(client_id).await?.is_none() {
            return Err(MdrError::not_found("customer"));
        }
        let tenants = state.store.tenants(client_id).await?;
        Ok(Self {
            client_id: client_id.to_owned(),
            connection_id: None,
            author_name: SOC_AUTHOR.to_owned(),
            scope: Scope::whole(tenants),
            now_ms: now_ms(state),
        })
    }
}

/// The clock's instant in epoch ms.
pub fn now_ms(state: &AppState) -> i64 {
    portcullis_core::clock::unix_ms(state.clock.now())
}

/// The next `update_time` after `previous`: strictly increasing even when the clock is not
/// (several changes within one millisecond, or a clock step backwards).
pub fn next_time(now_ms: i64, previous: i64) -> i64 {
    now_ms.max(previous.saturating_add(1))
}

#[cfg(test)]
mod tests {
    use super::next_time;

    #[test]
    fn next_time_is_strictly_increasing() {
        assert_eq!(next_time(100, 50), 100);
        assert_eq!(next_time(100, 100), 101);
        assert_eq!(next_time(100, 200), 201);
    }
}
