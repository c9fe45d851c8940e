//! The directory connection test behind the console's "Test connection" (`docs/ldap.md`):
//! each configured server slot is connected to, bound as its service account and its user
//! search base read, and the result is reported per URI with the step that failed.
//!
//! Policy: superusers only ([`authz::may_manage_settings`]), as the settings it tests. The
//! report never holds the bind password; the detail is the server's or the TLS library's
//! message, which an administrator needs to fix the configuration.

use crate::directory::TestReport;
use crate::service::audit::{self, Outcome};
use crate::service::error::{Forbidden, ServiceError, ServiceResult};
use crate::state::AppState;
use portcullis_core::authz;
use portcullis_core::user::User;

/// Tests every configured directory server slot, in order. An empty list means none is
/// configured.
pub async fn test_connection(state: &AppState, actor: &User) -> ServiceResult<Vec<TestReport>> {
    if !authz::may_manage_settings(actor) {
        return Err(ServiceError::Forbidden(Forbidden::NotPermitted));
    }
    let servers = state.settings.get().ldap.clone();
    let mut reports = Vec::with_capacity(servers.len());
    for cfg in &servers {
        let report = state.directory.test(cfg).await;
        for (_, r) in &report.results {
            if let Err(e) = r {
                audit::Event::new("ldap_test_failed", Outcome::Failure)
                    .via("console")
                    .user(&actor.username)
                    .reason(e.stage.as_str())
                    .emit();
            }
        }
        reports.push(report);
    }
    Ok(reports)
}
