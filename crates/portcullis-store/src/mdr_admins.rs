//! The per-customer "MDR administrator" role (`docs/mdr-api.md`, "MDR administrators"): which
//! users manage one customer's tenants and connections without being superusers.
//!
//! Policy: the store only records who holds the role; what the role allows is
//! `portcullis_core::authz::may_manage_customer`. Granting is idempotent, and deleting the
//! customer or the user removes the grant with it.

use crate::StoreResult;
use crate::activity::NewActivity;
use portcullis_core::ids::UserId;
use time::OffsetDateTime;

/// One holder of the role for one customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerAdministrator {
    /// The user.
    pub user_id: UserId,
    /// Their username now.
    pub username: String,
    /// When the role was granted.
    pub granted_at: OffsetDateTime,
}

/// Storage of the MDR administrator role.
#[async_trait::async_trait]
pub trait MdrAdminStore: Send + Sync {
    /// Makes `user` an MDR administrator of customer `client_id`, writing `activity` in the same
    /// transaction when the grant is new. Returns false (nothing written) if the user already
    /// holds it; `NotFound` if the customer or the user does not exist.
    async fn grant_customer_admin(
        &self,
        client_id: &str,
        user: UserId,
        now: OffsetDateTime,
        activity: Option<NewActivity>,
    ) -> StoreResult<bool>;
    /// Takes the role away, writing `activity` in the same transaction when it was held.
    /// Returns whether it was held.
    async fn revoke_customer_admin(
        &self,
        client_id: &str,
        user: UserId,
        activity: Option<NewActivity>,
    ) -> StoreResult<bool>;
    /// The customer's MDR administrators, by username.
    async fn customer_admins(&self, client_id: &str) -> StoreResult<Vec<CustomerAdministrator>>;
    /// The Client IDs of the customers `user` administers, sorted (one indexed read: the
    /// console asks it on every page for non-superusers).
    async fn administered_customers(&self, user: UserId) -> StoreResult<Vec<String>>;
}
