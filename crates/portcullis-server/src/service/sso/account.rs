//! The account a single sign-on login maps to (`docs/sso.md`, "Users").
//!
//! Policy: a login is found by its (issuer, subject) link, never by a name or an e-mail the
//! provider sends. A first login creates an external account (`external_account: "social"`,
//! no password) with a username from `preferred_username` (suffixed on a collision), unless
//! `SOCIAL_AUTH_USER_FIELDS = []` forbids it. It is linked to an existing local account with
//! the same e-mail only when the provider says `email_verified: true` **and**
//! `PORTCULLIS_SSO_LINK_VERIFIED_EMAIL` is on: AWX links by e-mail unconditionally, which
//! hands the account to whoever registers that address, unverified, at the provider.

use super::SsoFailure;
use crate::state::AppState;
use portcullis_core::sso::SsoSettings;
use portcullis_core::sso::account::{base_username, random_username, suffixed_username};
use portcullis_core::sso::maps::{organization_changes, team_changes};
use portcullis_core::sso::verify::IdClaims;
use portcullis_core::user::User;
use portcullis_store::{NewUser, StoreError, UserField, UserPatch, UserQuery};
use serde_json::json;

/// `external_account` of users single sign-on created.
pub const SOCIAL: &str = "social";
/// Portcullis's one organization (`docs/awx-compat.md`), by name and id.
const DEFAULT_ORGANIZATION: (&str, i64) = ("Default", 1);
/// Attempts at a free username before giving up (each after a collision).
const NAME_ATTEMPTS: usize = 4;

/// The user for a verified login: found, linked or created; profile and memberships brought
/// up to date. `Inactive` for a disabled account, `NoAccount` when none may be created.
pub async fn resolve(
    state: &AppState,
    sso: &SsoSettings,
    issuer: &str,
    claims: &IdClaims,
) -> Result<User, SsoFailure> {
    let user = match state
        .store
        .sso_identity_user(issuer, &claims.subject)
        .await?
    {
        Some(id) => state.store.user_by_id(id).await?,
        None => None,
    };
    let user = match user {
        Some(u) => update_profile(state, u, claims).await?,
        None => first_login(state, sso, issuer, claims).await?,
    };
    if !user.is_active {
        return Err(SsoFailure::Inactive);
    }
    apply_maps(state, sso, &user).await?;
    Ok(user)
}

/// A first login: link by verified e-mail when allowed, else create.
async fn first_login(
    state: &AppState,
    sso: &SsoSettings,
    issuer: &str,
    claims: &IdClaims,
) -> Result<User, SsoFailure> {
    let linkable = match (
        &claims.email,
        sso.link_verified_email && claims.email_verified,
    ) {
        (Some(email), true) => user_with_email(state, email).await?,
        _ => None,
    };
    let user = match linkable {
        Some(u) => u,
        None if !sso.may_create_users() => return Err(SsoFailure::NoAccount),
        None => create(state, sso, claims).await?,
    };
    match state
        .store
        .link_sso_identity(issuer, &claims.subject, user.id, state.clock.now())
        .await
    {
        Ok(()) => {
            tracing::info!(event = "sso_linked", user_id = %user.id, created = user.external_account.as_deref() == Some(SOCIAL));
            Ok(user)
        }
        // A concurrent first login of the same subject linked first: use its user.
        Err(StoreError::Conflict(_)) => {
            let id = state
                .store
                .sso_identity_user(issuer, &claims.subject)
                .await?
                .ok_or_else(|| SsoFailure::Storage(StoreError::NotFound.into()))?;
            state
                .store
                .user_by_id(id)
                .await?
                .ok_or_else(|| SsoFailure::Storage(StoreError::NotFound.into()))
        }
        Err(e) => Err(e.into()),
    }
}

/// The one local account with this e-mail (compared case-insensitively), if exactly one.
async fn user_with_email(state: &AppState, email: &str) -> Result<Option<User>, SsoFailure> {
    let query = UserQuery::matching(UserField::Email, email, 2);
    let page = state.store.list_users(&query).await?;
    let mut matches = page
        .items
        .into_iter()
        .filter(|u| u.email.eq_ignore_ascii_case(email) && !u.is_external());
    let first = matches.next();
    Ok(if matches.next().is_some() {
        None
    } else {
        first
    })
}

fn names(claims: &IdClaims) -> (String, String) {
    let given = claims.given_name.clone();
    let family = claims.family_name.clone();
    match (given, family, &claims.name) {
        (None, None, Some(full)) => match full.split_once(' ') {
            Some((g, f)) => (g.to_owned(), f.to_owned()),
            None => (full.clone(), String::new()),
        },
        (g, f, _) => (g.unwrap_or_default(), f.unwrap_or_default()),
    }
}

fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// Creates the external account of a first login.
async fn create(
    state: &AppState,
    sso: &SsoSettings,
    claims: &IdClaims,
) -> Result<User, SsoFailure> {
    let base = base_username(claims, sso.username_is_full_email)
        .unwrap_or_else(|| random_username(state.rng.as_ref()));
    let (first, last) = names(claims);
    let mut username = base.clone();
    for _ in 0..NAME_ATTEMPTS {
        let new = NewUser {
            username: username.clone(),
            email: clip(claims.email.as_deref().unwrap_or_default(), 254),
            first_name: clip(&first, 150),
            last_name: clip(&last, 150),
            password_hash: None,
            is_superuser: false,
            is_system_auditor: false,
            external_account: Some(SOCIAL.into()),
            ldap_dn: String::new(),
            created_at: state.clock.now(),
        };
        let activity = crate::service::activity_entry(
            state,
            None,
            "create",
            "user",
            None,
            json!({"username": username, "external_account": SOCIAL}),
        );
        match state.store.create_user(new, activity).await {
            Ok(u) => return Ok(u),
            Err(StoreError::Conflict(_)) => {
                username = suffixed_username(&base, state.rng.as_ref());
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(SsoFailure::Storage(
        StoreError::Conflict("username".into()).into(),
    ))
}

/// Brings an external account's e-mail and names up to the provider's; a linked local
/// account keeps its own profile.
async fn update_profile(
    state: &AppState,
    user: User,
    claims: &IdClaims,
) -> Result<User, SsoFailure> {
    if user.external_account.as_deref() != Some(SOCIAL) {
        return Ok(user);
    }
    let (first, last) = names(claims);
    let email = claims.email.as_deref().map(|e| clip(e, 254));
    let patch = UserPatch {
        email: email.filter(|e| *e != user.email),
        first_name: Some(clip(&first, 150)).filter(|f| !f.is_empty() && *f != user.first_name),
        last_name: Some(clip(&last, 150)).filter(|l| !l.is_empty() && *l != user.last_name),
        ..UserPatch::default()
    };
    if patch == UserPatch::default() {
        return Ok(user);
    }
    Ok(state.store.update_user(user.id, patch, None).await?)
}

/// Applies the organization map to the organizations Portcullis has; the team map names
/// teams, which Portcullis does not have (logged, `docs/sso.md`).
async fn apply_maps(state: &AppState, sso: &SsoSettings, user: &User) -> Result<(), SsoFailure> {
    for change in organization_changes(&sso.organization_map, &user.username, &user.email) {
        if change.organization == DEFAULT_ORGANIZATION.0 {
            state
                .store
                .set_organization_member(DEFAULT_ORGANIZATION.1, user.id, change.member)
                .await?;
        } else {
            tracing::debug!(event = "sso_map_skipped", organization = %change.organization, "no such organization in Portcullis");
        }
    }
    let teams = team_changes(&sso.team_map, &user.username, &user.email);
    if !teams.is_empty() {
        tracing::debug!(
            event = "sso_team_map_skipped",
            count = teams.len(),
            "Portcullis has no teams"
        );
    }
    Ok(())
}
