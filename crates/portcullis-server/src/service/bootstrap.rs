//! First start: when the database holds no user, create the superuser `admin` so a newcomer
//! can log in with nothing else read.

use crate::service::error::ServiceResult;
use crate::state::AppState;
use portcullis_core::base62;
use portcullis_core::rng::bytes;
use portcullis_store::{Filter, NewUser, StoreError, UserField, UserOrder, UserQuery};
use secrecy::SecretString;

/// What bootstrap did.
#[derive(Debug, PartialEq, Eq)]
pub enum Bootstrap {
    /// Users already exist; nothing was done.
    AlreadyInitialised,
    /// `admin` was created with the configured password.
    CreatedWithConfiguredPassword,
    /// `admin` was created with this generated password (to be shown once).
    CreatedWithGeneratedPassword(String),
}

/// Creates `admin` if the user table is empty.
pub async fn ensure_admin(state: &AppState) -> ServiceResult<Bootstrap> {
    let any = state
        .store
        .list_users(&UserQuery {
            filter: Filter::default(),
            order: UserOrder {
                field: UserField::Id,
                descending: false,
            },
            only: None,
            member_of: None,
            limit: 1,
            offset: 0,
        })
        .await?;
    if any.total > 0 {
        return Ok(Bootstrap::AlreadyInitialised);
    }
    let (password, generated) = match &state.config.admin_password {
        Some(p) => (p.expose().to_owned(), false),
        None => {
            // 16 random bytes (128 bits) always fit in 22 base62 digits.
            let raw: [u8; 16] = bytes(state.rng.as_ref());
            (base62::encode::<16, 22>(&raw), true)
        }
    };
    let hash = state
        .passwords
        .hash(SecretString::from(password.clone()))
        .await?;
    let created = state
        .store
        .create_user(
            NewUser {
                username: "admin".into(),
                email: String::new(),
                first_name: String::new(),
                last_name: String::new(),
                password_hash: Some(hash),
                is_superuser: true,
                is_system_auditor: false,
                external_account: None,
                ldap_dn: String::new(),
                created_at: state.clock.now(),
            },
            None,
        )
        .await;
    match created {
        Ok(_) => {}
        // Another node created it first: fine.
        Err(StoreError::Conflict(_)) => return Ok(Bootstrap::AlreadyInitialised),
        Err(e) => return Err(e.into()),
    }
    Ok(if generated {
        Bootstrap::CreatedWithGeneratedPassword(password)
    } else {
        Bootstrap::CreatedWithConfiguredPassword
    })
}
