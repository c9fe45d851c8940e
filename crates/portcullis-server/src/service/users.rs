//! User management: AWX's field validation and superuser rules, password changes that end
//! the user's other sessions and re-key the caller's, and activity entries written in the
//! same transaction as each change.

use crate::service::error::{FieldErrors, Forbidden, ServiceError, ServiceResult};
use crate::state::AppState;
use portcullis_core::authz::{self, DeleteUser, SetActive};
use portcullis_core::ids::UserId;
use portcullis_core::password::{MAX_PASSWORD_BYTES, MIN_NEW_PASSWORD_CHARS};
use portcullis_core::policy::{self, PasswordPolicy};
use portcullis_core::principal::Principal;
use portcullis_core::settings::ENCRYPTED;
use portcullis_core::token::{PlainToken, TokenKind};
use portcullis_core::user::User;
use portcullis_store::{
    NewActivity, NewUser, Page, SessionRekey, StoreError, UserPatch, UserQuery,
};
use secrecy::SecretString;
use serde_json::{Map, Value, json};

/// Fields read from a create or update body, after validation.
#[derive(Default)]
struct Input {
    username: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    is_superuser: Option<bool>,
    is_system_auditor: Option<bool>,
    password: Option<SecretString>,
}

type Errors = FieldErrors;

fn push(errors: &mut Errors, field: &str, msg: impl Into<String>) {
    errors.say(field, msg);
}

fn string_field(
    body: &Map<String, Value>,
    key: &str,
    max: usize,
    errors: &mut Errors,
) -> Option<String> {
    match body.get(key)? {
        Value::Null => Some(String::new()),
        Value::String(s) => {
            if s.chars().count() > max {
                push(
                    errors,
                    key,
                    format!("Ensure this field has no more than {max} characters."),
                );
            }
            Some(s.clone())
        }
        Value::Number(n) => Some(n.to_string()),
        _ => {
            push(errors, key, "Not a valid string.");
            None
        }
    }
}

fn bool_field(body: &Map<String, Value>, key: &str, errors: &mut Errors) -> Option<bool> {
    match body.get(key)? {
        Value::Bool(b) => Some(*b),
        Value::String(s) if matches!(s.as_str(), "true" | "True" | "1") => Some(true),
        Value::String(s) if matches!(s.as_str(), "false" | "False" | "0") => Some(false),
        _ => {
            push(errors, key, "Must be a valid boolean.");
            None
        }
    }
}

/// The effective minimum length: the setting, never below the security floor.
fn effective_policy(p: PasswordPolicy) -> PasswordPolicy {
    let floor = u32::try_from(MIN_NEW_PASSWORD_CHARS).unwrap_or(8);
    PasswordPolicy {
        min_length: p.min_length.max(floor),
        ..p
    }
}

fn parse(state: &AppState, body: &Map<String, Value>, creating: bool) -> ServiceResult<Input> {
    let mut errors = Errors::new();
    let mut input = Input {
        username: string_field(body, "username", 150, &mut errors),
        first_name: string_field(body, "first_name", 150, &mut errors),
        last_name: string_field(body, "last_name", 150, &mut errors),
        email: string_field(body, "email", 254, &mut errors),
        is_superuser: bool_field(body, "is_superuser", &mut errors),
        is_system_auditor: bool_field(body, "is_system_auditor", &mut errors),
        password: None,
    };
    match &input.username {
        None if creating && !errors.iter().any(|(f, _)| f == "username") => {
            push(&mut errors, "username", "This field is required.");
        }
        Some(u) if u.is_empty() => push(&mut errors, "username", "This field may not be blank."),
        Some(u) if u.chars().count() <= 150 && !policy::username_valid(u) => {
            push(&mut errors, "username", policy::USERNAME_ERROR);
        }
        _ => {}
    }
    if let Some(e) = &input.email
        && !e.is_empty()
        && !email_valid(e)
    {
        push(&mut errors, "email", "Enter a valid email address.");
    }
    match body.get("password") {
        None | Some(Value::Null) => {}
        Some(Value::String(p)) if p.is_empty() || p == ENCRYPTED => {}
        Some(Value::String(p)) => {
            if p.len() > MAX_PASSWORD_BYTES {
                push(
                    &mut errors,
                    "password",
                    format!("Ensure this field has no more than {MAX_PASSWORD_BYTES} characters."),
                );
            } else {
                let policy = effective_policy(state.settings.get().auth.password_policy);
                for msg in policy.violations(p) {
                    push(&mut errors, "password", msg);
                }
            }
            input.password = Some(SecretString::from(p.clone()));
        }
        Some(_) => push(&mut errors, "password", "Not a valid string."),
    }
    errors.into_result()?;
    Ok(input)
}

fn email_valid(e: &str) -> bool {
    let Some((local, domain)) = e.rsplit_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
}

fn conflict(e: StoreError) -> ServiceError {
    match e {
        StoreError::Conflict(_) => {
            ServiceError::field("username", "A user with that username already exists.")
        }
        other => other.into(),
    }
}

/// The fields recorded in the activity stream (never the password).
fn recorded(u: &User) -> Value {
    json!({
        "username": u.username, "first_name": u.first_name, "last_name": u.last_name,
        "email": u.email, "is_superuser": u.is_superuser, "is_system_auditor": u.is_system_auditor,
    })
}

fn activity(
    state: &AppState,
    actor: Option<&Principal>,
    op: &str,
    id: i64,
    changes: Value,
) -> Option<NewActivity> {
    super::activity_entry(
        state,
        actor.map(|p| p.user.id),
        op,
        "user",
        Some(id),
        changes,
    )
}

/// `POST /api/v2/users/`: superusers only.
pub async fn create(
    state: &AppState,
    actor: &Principal,
    body: &Map<String, Value>,
) -> ServiceResult<User> {
    if !authz::may_administer_users(&actor.user) {
        return Err(ServiceError::not_permitted());
    }
    let input = parse(state, body, true)?;
    let password_hash = match input.password {
        Some(p) => Some(state.passwords.hash(p).await?),
        None => None,
    };
    let new = NewUser {
        username: input.username.unwrap_or_default(),
        email: input.email.unwrap_or_default(),
        first_name: input.first_name.unwrap_or_default(),
        last_name: input.last_name.unwrap_or_default(),
        password_hash,
        is_superuser: input.is_superuser.unwrap_or(false),
        is_system_auditor: input.is_system_auditor.unwrap_or(false),
        external_account: None,
        ldap_dn: String::new(),
        created_at: state.clock.now(),
    };
    // The new id is unknown until the insert: the store fills `object1_id` of a creation
    // entry (sent as `None`) with it, inside the same transaction.
    let act = activity(state, Some(actor), "create", 0, Value::Null).map(|mut a| {
        a.object1_id = None;
        a.changes = json!({
            "username": new.username, "first_name": new.first_name, "last_name": new.last_name,
            "email": new.email, "is_superuser": new.is_superuser, "is_system_auditor": new.is_system_auditor,
        });
        a
    });
    state.store.create_user(new, act).await.map_err(conflict)
}

/// Result of an update: the user, and when the caller changed their own password inside a
/// session, the new session id and CSRF token to hand back.
#[derive(Debug)]
pub struct Updated {
    /// The user after the change.
    pub user: User,
    /// New session id (re-keyed caller session).
    pub new_session: Option<PlainToken>,
}

/// `PUT`/`PATCH /api/v2/users/<id>/`: self or superuser, with AWX's refusals.
pub async fn update(
    state: &AppState,
    actor: &Principal,
    target: &User,
    body: &Map<String, Value>,
) -> ServiceResult<Updated> {
    let me = &actor.user;
    let is_self = me.id == target.id;
    if !authz::may_edit_user(me, target) {
        return Err(ServiceError::not_permitted());
    }
    let input = parse(state, body, false)?;
    if !authz::may_administer_users(me) {
        let mut refused = Vec::new();
        if input.is_superuser.is_some_and(|v| v != target.is_superuser) {
            refused.push("is_superuser");
        }
        if input
            .is_system_auditor
            .is_some_and(|v| v != target.is_system_auditor)
        {
            refused.push("is_system_auditor");
        }
        if !refused.is_empty() {
            return Err(ServiceError::Forbidden(Forbidden::CannotChangeFields(
                refused,
            )));
        }
        if !authz::may_rename_user(me)
            && input
                .username
                .as_ref()
                .is_some_and(|u| *u != target.username)
        {
            return Err(ServiceError::Forbidden(Forbidden::CannotChangeUsername));
        }
    }
    if target.is_external() {
        if input
            .username
            .as_ref()
            .is_some_and(|u| *u != target.username)
        {
            return Err(ServiceError::field(
                "username",
                "Unable to change username on user managed by LDAP.",
            ));
        }
        if input.password.is_some() {
            return Err(ServiceError::field(
                "password",
                "Unable to change password on user managed by LDAP.",
            ));
        }
        // Fields the directory sets at every login would be overwritten at the next one:
        // refuse to change them here rather than accept a change that silently reverts.
        let settings = state.settings.get();
        let managed = |field: &str| {
            settings.ldap.iter().any(|cfg| match field {
                "first_name" => cfg.attr_map.first_name.is_some(),
                "last_name" => cfg.attr_map.last_name.is_some(),
                "email" => cfg.attr_map.email.is_some(),
                "is_superuser" => !cfg.superuser_groups.is_empty(),
                "is_system_auditor" => !cfg.auditor_groups.is_empty(),
                _ => false,
            })
        };
        let changes = [
            (
                "first_name",
                input
                    .first_name
                    .as_ref()
                    .is_some_and(|v| *v != target.first_name),
            ),
            (
                "last_name",
                input
                    .last_name
                    .as_ref()
                    .is_some_and(|v| *v != target.last_name),
            ),
            (
                "email",
                input.email.as_ref().is_some_and(|v| *v != target.email),
            ),
            (
                "is_superuser",
                input.is_superuser.is_some_and(|v| v != target.is_superuser),
            ),
            (
                "is_system_auditor",
                input
                    .is_system_auditor
                    .is_some_and(|v| v != target.is_system_auditor),
            ),
        ];
        if let Some((field, _)) = changes.iter().find(|(f, changed)| *changed && managed(f)) {
            return Err(ServiceError::field(
                field,
                format!("Unable to change {field} on user managed by LDAP."),
            ));
        }
    }
    let patch = UserPatch {
        username: input.username.filter(|u| *u != target.username),
        email: input.email.filter(|v| *v != target.email),
        first_name: input.first_name.filter(|v| *v != target.first_name),
        last_name: input.last_name.filter(|v| *v != target.last_name),
        is_superuser: input.is_superuser.filter(|v| *v != target.is_superuser),
        is_system_auditor: input
            .is_system_auditor
            .filter(|v| *v != target.is_system_auditor),
        is_active: None,
    };
    let mut user = target.clone();
    if patch != UserPatch::default() {
        let mut changes = Map::new();
        let mut diff = |k: &str, old: Value, new: Option<Value>| {
            if let Some(n) = new {
                changes.insert(k.to_owned(), json!([old, n]));
            }
        };
        diff(
            "username",
            json!(target.username),
            patch.username.clone().map(Value::from),
        );
        diff(
            "email",
            json!(target.email),
            patch.email.clone().map(Value::from),
        );
        diff(
            "first_name",
            json!(target.first_name),
            patch.first_name.clone().map(Value::from),
        );
        diff(
            "last_name",
            json!(target.last_name),
            patch.last_name.clone().map(Value::from),
        );
        diff(
            "is_superuser",
            json!(target.is_superuser),
            patch.is_superuser.map(Value::from),
        );
        diff(
            "is_system_auditor",
            json!(target.is_system_auditor),
            patch.is_system_auditor.map(Value::from),
        );
        let act = activity(
            state,
            Some(actor),
            "update",
            target.id.0,
            Value::Object(changes),
        );
        user = state
            .store
            .update_user(target.id, patch, act)
            .await
            .map_err(conflict)?;
    }
    let mut new_session = None;
    if let Some(pw) = input.password {
        let hash = state.passwords.hash(pw).await?;
        let keep = match (is_self, actor.session) {
            (true, Some(old)) => {
                let token = PlainToken::generate(TokenKind::Session, state.rng.as_ref());
                let rekey = SessionRekey {
                    old,
                    new: token.hash(),
                };
                new_session = Some(token);
                Some(rekey)
            }
            _ => None,
        };
        let act = activity(
            state,
            Some(actor),
            "update",
            target.id.0,
            json!({"password": "hidden"}),
        );
        let generation = state
            .store
            .change_password(target.id, hash, keep, act)
            .await?;
        if let Some(old) = actor.session.filter(|_| is_self) {
            state.renewals.forget(&old);
        }
        user.auth_generation = generation;
        tracing::info!(event = "password_changed", user_id = %target.id, by = %me.id);
    }
    // The change applies on this node before the answer (`docs/cluster.md`).
    state.changes.catch_up(state).await;
    Ok(Updated { user, new_session })
}

/// `DELETE /api/v2/users/<id>/`: superusers; never oneself or the last superuser.
pub async fn delete(state: &AppState, actor: &Principal, target: &User) -> ServiceResult<()> {
    // Self-deletion is refused with AWX's specific text for everyone, superuser or not
    // (docs/awx-compat.md), so the policy checks it before the superuser rule. The count of
    // superusers is read only when it can matter.
    let superusers = if target.is_superuser && target.is_active && actor.user.id != target.id {
        state.store.count_active_superusers().await?
    } else {
        i64::MAX
    };
    match authz::may_delete_user(&actor.user, target, superusers) {
        DeleteUser::Allowed => {}
        DeleteUser::Self_ | DeleteUser::LastSuperuser => {
            return Err(ServiceError::Forbidden(Forbidden::CannotDeleteUser));
        }
        DeleteUser::NotPermitted => return Err(ServiceError::not_permitted()),
    }
    let act = activity(state, Some(actor), "delete", target.id.0, recorded(target));
    state.store.delete_user(target.id, act).await?;
    state.changes.catch_up(state).await;
    Ok(())
}

/// A page of the users `actor` may see: everyone for superusers and system auditors, only
/// themselves for anyone else (the visibility rule of `/api/v2/users/` and the console).
pub async fn list(
    state: &AppState,
    actor: &Principal,
    mut query: UserQuery,
) -> ServiceResult<Page<User>> {
    if !authz::may_read_everything(&actor.user) {
        query.only = Some(actor.user.id);
    }
    Ok(state.store.list_users(&query).await?)
}

/// The user `id` as `actor` may see it; a user the caller may not see is "not found".
pub async fn get(state: &AppState, actor: &Principal, id: UserId) -> ServiceResult<User> {
    match state.store.user_by_id(id).await? {
        Some(u) if authz::may_read_everything(&actor.user) || actor.user.id == u.id => Ok(u),
        _ => Err(ServiceError::NotFound("user")),
    }
}

/// Deactivates (`active` false) or reactivates a user: superusers only, never oneself nor
/// the last active superuser ([`authz::may_set_user_active`]). Deactivating bumps the user's
/// `auth_generation` in the store, so their sessions, cached Basic credentials and tokens
/// stop working at their next use; the activity entry is written in the same transaction.
pub async fn set_active(
    state: &AppState,
    actor: &Principal,
    target: &User,
    active: bool,
) -> ServiceResult<User> {
    // The count is read only when it can matter (as for deletion).
    let superusers =
        if !active && target.is_superuser && target.is_active && actor.user.id != target.id {
            state.store.count_active_superusers().await?
        } else {
            i64::MAX
        };
    match authz::may_set_user_active(&actor.user, target, active, superusers) {
        SetActive::Allowed => {}
        SetActive::Self_ | SetActive::LastSuperuser => {
            return Err(ServiceError::Forbidden(Forbidden::CannotDeactivateUser));
        }
        SetActive::NotPermitted => return Err(ServiceError::not_permitted()),
    }
    if target.is_active == active {
        return Ok(target.clone());
    }
    let act = activity(
        state,
        Some(actor),
        "update",
        target.id.0,
        json!({"is_active": [target.is_active, active]}),
    );
    let patch = UserPatch {
        is_active: Some(active),
        ..UserPatch::default()
    };
    let user = state.store.update_user(target.id, patch, act).await?;
    state.changes.catch_up(state).await;
    tracing::info!(
        event = if active { "user_reactivated" } else { "user_deactivated" },
        user_id = %target.id,
        by = %actor.user.id
    );
    Ok(user)
}
