//! OAuth2 applications: validation of the AWX body,
//! client-id and client-secret generation, activity entries and the store calls. Only
//! callers `authz::may_manage_applications` allows create, change or delete them; the
//! client secret is a `pcl_cs_` credential returned once by [`create`] and stored only as
//! its SHA-256.

use crate::service::error::{FieldErrors, ServiceError, ServiceResult};
use crate::service::tokens;
use crate::state::AppState;
use portcullis_core::authz;
use portcullis_core::base62;
use portcullis_core::ids::ApplicationId;
use portcullis_core::principal::Principal;
use portcullis_core::rng::bytes;
use portcullis_core::token::{PlainToken, TokenKind};
use portcullis_store::{
    ApplicationPatch, ApplicationRecord, NewActivity, NewApplication, StoreError,
};
use serde_json::{Map, Value, json};

/// Activity-stream object type of applications.
pub const APPLICATION_OBJECT: &str = "o_auth2_application";

fn string(body: &Map<String, Value>, key: &str, errors: &mut FieldErrors) -> Option<String> {
    match body.get(key)? {
        Value::Null => Some(String::new()),
        Value::String(s) => Some(s.clone()),
        _ => {
            errors.say(key, "Not a valid string.");
            None
        }
    }
}

fn choice(
    body: &Map<String, Value>,
    key: &str,
    allowed: &[&str],
    errors: &mut FieldErrors,
) -> Option<String> {
    let v = string(body, key, errors)?;
    if allowed.contains(&v.as_str()) {
        Some(v)
    } else {
        errors.say(key, format!("\"{v}\" is not a valid choice."));
        None
    }
}

/// Checks space-separated absolute `http`/`https` redirect URIs.
fn check_redirects(uris: &str, errors: &mut FieldErrors) {
    for u in uris.split_whitespace() {
        match url::Url::parse(u) {
            Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => {}
            Ok(parsed) => errors.say(
                "redirect_uris",
                format!("Unauthorized redirect scheme: {}", parsed.scheme()),
            ),
            Err(_) => errors.say("redirect_uris", "Enter a valid URL."),
        }
    }
}

/// Parsed, validated body. `existing` is the application being changed (PUT/PATCH).
struct Input {
    name: Option<String>,
    description: Option<String>,
    client_type: Option<String>,
    redirect_uris: Option<String>,
    grant_type: Option<String>,
    skip_authorization: Option<bool>,
    organization: Option<Option<i64>>,
}

fn parse(body: &Map<String, Value>, existing: Option<&ApplicationRecord>) -> ServiceResult<Input> {
    let mut errors = FieldErrors::new();
    let creating = existing.is_none();
    let name = string(body, "name", &mut errors);
    match &name {
        None if creating && !errors.iter().any(|(f, _)| f == "name") => {
            errors.say("name", "This field is required.");
        }
        Some(n) if n.trim().is_empty() => errors.say("name", "This field may not be blank."),
        Some(n) if n.chars().count() > 255 => {
            errors.say("name", "Ensure this field has no more than 255 characters.")
        }
        _ => {}
    }
    let description = string(body, "description", &mut errors);
    let client_type = choice(
        body,
        "client_type",
        &["confidential", "public"],
        &mut errors,
    );
    if creating && client_type.is_none() && !body.contains_key("client_type") {
        errors.say("client_type", "This field is required.");
    }
    // Read-only after creation (`docs/awx-compat.md`, "Applications"): ignored on PUT/PATCH.
    let grant_type = if creating {
        let g = choice(
            body,
            "authorization_grant_type",
            &["authorization-code", "password"],
            &mut errors,
        );
        if g.is_none() && !body.contains_key("authorization_grant_type") {
            errors.say("authorization_grant_type", "This field is required.");
        }
        g
    } else {
        None
    };
    let redirect_uris = string(body, "redirect_uris", &mut errors);
    if let Some(r) = &redirect_uris {
        check_redirects(r, &mut errors);
    }
    let skip_authorization = match body.get("skip_authorization") {
        None => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            errors.say("skip_authorization", "Must be a valid boolean.");
            None
        }
    };
    let organization = match body.get("organization") {
        None => None,
        Some(Value::Null) => Some(None),
        // AWX's only organization is the built-in `Default` (id 1, `docs/awx-compat.md`, "Default
        // organization").
        Some(Value::Number(n)) if n.as_i64() == Some(1) => Some(Some(1)),
        Some(other) => {
            let shown = other
                .as_str()
                .map_or_else(|| other.to_string(), str::to_owned);
            errors.say("organization", tokens::invalid_pk(&shown));
            None
        }
    };
    let effective_grant = grant_type
        .as_deref()
        .or(existing.map(|e| e.authorization_grant_type.as_str()));
    let effective_redirects = redirect_uris
        .as_deref()
        .or(existing.map(|e| e.redirect_uris.as_str()))
        .unwrap_or("");
    if errors.is_empty()
        && effective_grant == Some("authorization-code")
        && effective_redirects.trim().is_empty()
    {
        errors.say(
            "__all__",
            "redirect_uris cannot be empty with grant_type authorization-code",
        );
    }
    errors.into_result()?;
    Ok(Input {
        name,
        description,
        client_type,
        redirect_uris,
        grant_type,
        skip_authorization,
        organization,
    })
}

/// A name already taken within the organization.
fn name_conflict(e: StoreError) -> ServiceError {
    match e {
        StoreError::Conflict(_) => ServiceError::field(
            "__all__",
            "Application with this Name and Organization already exists.",
        ),
        other => other.into(),
    }
}

fn activity(
    state: &AppState,
    actor: &Principal,
    op: &str,
    id: Option<ApplicationId>,
    changes: Value,
) -> Option<NewActivity> {
    super::activity_entry(
        state,
        Some(actor.user.id),
        op,
        APPLICATION_OBJECT,
        id.map(|a| a.0),
        changes,
    )
}

/// The recorded fields of an application: never the client secret.
fn recorded(a: &NewApplication) -> Value {
    json!({"name": a.name, "description": a.description, "client_id": a.client_id,
           "client_type": a.client_type, "redirect_uris": a.redirect_uris,
           "authorization_grant_type": a.authorization_grant_type,
           "skip_authorization": a.skip_authorization, "organization": a.organization})
}

/// 40 characters of `[A-Za-z0-9]` from 232 random bits (62^40 > 2^232).
fn client_id(state: &AppState) -> String {
    let raw: [u8; 29] = bytes(state.rng.as_ref());
    base62::encode::<29, 40>(&raw)
}

/// The application with `id`.
pub async fn load(state: &AppState, id: i64) -> ServiceResult<ApplicationRecord> {
    state
        .store
        .application_by_id(ApplicationId(id))
        .await?
        .ok_or(ServiceError::NotFound("application"))
}

/// The refusal of a caller who may not manage applications.
fn may_manage(actor: &Principal) -> ServiceResult<()> {
    if authz::may_manage_applications(&actor.user) {
        Ok(())
    } else {
        Err(ServiceError::not_permitted())
    }
}

/// Creates an application from an AWX body; returns it and, for a confidential client, the
/// clear secret (shown once).
pub async fn create(
    state: &AppState,
    actor: &Principal,
    body: &Map<String, Value>,
) -> ServiceResult<(ApplicationRecord, Option<PlainToken>)> {
    may_manage(actor)?;
    let input = parse(body, None)?;
    let client_type = input.client_type.unwrap_or_default();
    let secret = (client_type == "confidential")
        .then(|| PlainToken::generate(TokenKind::ClientSecret, state.rng.as_ref()));
    let new = NewApplication {
        name: input.name.unwrap_or_default(),
        description: input.description.unwrap_or_default(),
        client_id: client_id(state),
        secret_hash: secret.as_ref().map(PlainToken::hash),
        client_type,
        redirect_uris: input.redirect_uris.unwrap_or_default(),
        authorization_grant_type: input.grant_type.unwrap_or_default(),
        skip_authorization: input.skip_authorization.unwrap_or(false),
        organization: input.organization.flatten(),
        created_at: state.clock.now(),
    };
    let entry = activity(state, actor, "create", None, recorded(&new));
    let app = state
        .store
        .create_application(new, entry)
        .await
        .map_err(name_conflict)?;
    Ok((app, secret))
}

/// Changes `app` from an AWX `PUT`/`PATCH` body (`authorization_grant_type` is read-only).
pub async fn update(
    state: &AppState,
    actor: &Principal,
    app: &ApplicationRecord,
    body: &Map<String, Value>,
) -> ServiceResult<ApplicationRecord> {
    may_manage(actor)?;
    let input = parse(body, Some(app))?;
    // Turning a public client confidential mints its first secret; it cannot be shown
    // later, so the operator recreates the application instead (AWX behaves the same).
    let secret_hash = match input.client_type.as_deref() {
        Some("confidential") if app.client_type != "confidential" => {
            Some(PlainToken::generate(TokenKind::ClientSecret, state.rng.as_ref()).hash())
        }
        _ => None,
    };
    let patch = ApplicationPatch {
        name: input.name,
        description: input.description,
        client_type: input.client_type,
        secret_hash,
        redirect_uris: input.redirect_uris,
        skip_authorization: input.skip_authorization,
        organization: input.organization,
    };
    let mut changes = Map::new();
    for (k, old, new) in [
        ("name", &app.name, &patch.name),
        ("description", &app.description, &patch.description),
        ("client_type", &app.client_type, &patch.client_type),
        ("redirect_uris", &app.redirect_uris, &patch.redirect_uris),
    ] {
        if let Some(n) = new
            && n != old
        {
            changes.insert(k.into(), json!([old, n]));
        }
    }
    let entry = (!changes.is_empty())
        .then(|| activity(state, actor, "update", Some(app.id), Value::Object(changes)))
        .flatten();
    state
        .store
        .update_application(app.id, patch, state.clock.now(), entry)
        .await
        .map_err(name_conflict)
}

/// Deletes `app` with its tokens and refresh tokens.
pub async fn delete(
    state: &AppState,
    actor: &Principal,
    app: &ApplicationRecord,
) -> ServiceResult<()> {
    may_manage(actor)?;
    let entry = activity(
        state,
        actor,
        "delete",
        Some(app.id),
        json!({"name": app.name, "client_id": app.client_id}),
    );
    state.store.delete_application(app.id, entry).await?;
    state.changes.catch_up(state).await;
    Ok(())
}
