//! SQL fragments both dialects spell byte for byte alike, as string literals for `concat!`
//! (`concat!("SELECT ", user_columns!(), " FROM users WHERE id = ", …)`).
//!
//! Column lists name exactly the columns the row structs in [`crate::rows`] read, under the
//! names they read them by; a fragment and its row struct change together.

/// The user columns [`crate::UserRow`] reads, under their own names.
#[macro_export]
macro_rules! user_columns {
    () => {
        "id, username, email, first_name, last_name, password_hash, is_superuser, \
         is_system_auditor, is_active, external_account, ldap_dn, auth_generation, created_at, \
         last_login"
    };
}

/// Every user column of the join alias `u` under its own name, for [`crate::UserRow`] on a
/// joined row.
#[macro_export]
macro_rules! joined_user_columns {
    () => {
        "u.id AS id, u.username AS username, u.email AS email, \
         u.first_name AS first_name, u.last_name AS last_name, \
         u.password_hash AS password_hash, u.is_superuser AS is_superuser, \
         u.is_system_auditor AS is_system_auditor, u.is_active AS is_active, \
         u.external_account AS external_account, u.ldap_dn AS ldap_dn, \
         u.auth_generation AS auth_generation, u.created_at AS created_at, \
         u.last_login AS last_login"
    };
}

/// The application columns [`crate::AppRow`] reads.
#[macro_export]
macro_rules! app_columns {
    () => {
        "id, name, description, client_id, secret_hash, client_type, redirect_uris, \
         authorization_grant_type, skip_authorization, organization, created_at, modified_at"
    };
}

/// The token half of a token row, prefixed `t_` (and the application name as `a_name`), as
/// [`crate::TokenRow`] reads it. Needs `oauth_access_tokens t` and `oauth_applications a` in
/// the `FROM` (see `token_from!`).
#[macro_export]
macro_rules! token_columns {
    () => {
        "t.id AS t_id, t.user_id AS t_user_id, t.application_id AS t_application_id, \
         a.name AS a_name, t.description AS t_description, t.scope AS t_scope, \
         t.created_at AS t_created_at, t.modified_at AS t_modified_at, \
         t.expires_at AS t_expires_at, t.last_used AS t_last_used, \
         EXISTS (SELECT 1 FROM oauth_refresh_tokens r WHERE r.access_token_id = t.id \
           AND r.revoked_at IS NULL \
           AND r.id > (SELECT max_id FROM token_revocation_marks WHERE kind = 'refresh')) \
           AS t_has_refresh"
    };
}

/// The owner's display fields, under the names [`crate::TokenRow`] reads (the bearer lookup
/// selects the whole user under the same names instead, with [`joined_user_columns!`]).
#[macro_export]
macro_rules! owner_columns {
    () => {
        "u.username AS username, u.first_name AS first_name, u.last_name AS last_name"
    };
}

/// The joins every token read uses.
#[macro_export]
macro_rules! token_from {
    () => {
        " FROM oauth_access_tokens t JOIN users u ON u.id = t.user_id \
          LEFT JOIN oauth_applications a ON a.id = t.application_id"
    };
}

/// "Live" access token `t`: not revoked one by one, and created after the last system-wide
/// revocation (which only raises the mark, one row write however many tokens exist).
#[macro_export]
macro_rules! live_token {
    () => {
        "t.revoked_at IS NULL \
         AND t.id > (SELECT max_id FROM token_revocation_marks WHERE kind = 'access')"
    };
}

/// "Usable" refresh token `r` of family `f`: not revoked itself, nor through its family, nor
/// by the system-wide refresh mark.
#[macro_export]
macro_rules! live_refresh {
    () => {
        "r.revoked_at IS NULL AND f.revoked_at IS NULL \
         AND r.id > (SELECT max_id FROM token_revocation_marks WHERE kind = 'refresh')"
    };
}

/// The inventory columns [`crate::InventoryRow`] reads; needs `inventories i`.
#[macro_export]
macro_rules! inventory_columns {
    () => {
        "i.id AS id, i.name AS name, i.description AS description, \
         i.organization AS organization, i.kind AS kind, i.variables AS variables, \
         (SELECT COUNT(*) FROM hosts h WHERE h.inventory_id = i.id) AS total_hosts, \
         i.created_at AS created_at, i.modified_at AS modified_at"
    };
}

/// The host columns [`crate::HostRow`] reads.
#[macro_export]
macro_rules! host_columns {
    () => {
        "id, name, description, inventory_id, enabled, instance_id, variables, created_at, \
         modified_at"
    };
}

/// The MDR object columns [`crate::ObjectRow`] reads (never the attachment bytes).
#[macro_export]
macro_rules! object_columns {
    () => {
        "client_id, kind, id, parent_id, tenant_id, created_ms, updated_ms, data"
    };
}

/// The activity-stream columns [`crate::ActivityRow`] reads.
#[macro_export]
macro_rules! activity_columns {
    () => {
        "id, timestamp, actor_id, operation, object1, object1_id, changes"
    };
}

/// The session columns of the join alias `s`, prefixed `s_`, as [`crate::SessionRow`] reads
/// them (beside [`joined_user_columns!`]).
#[macro_export]
macro_rules! session_columns {
    () => {
        "s.hash AS s_hash, s.user_id AS s_user_id, s.created_at AS s_created_at, \
         s.idle_expires_at AS s_idle_expires_at, \
         s.absolute_expires_at AS s_absolute_expires_at, \
         s.auth_generation AS s_auth_generation"
    };
}

/// The MDR signing-key columns [`crate::SigningKeyRow`] reads.
#[macro_export]
macro_rules! key_columns {
    () => {
        "kid, algorithm, public_key, sealed_private_key, state, created_at, activated_at, \
         deactivated_at"
    };
}
