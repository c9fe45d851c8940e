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
//! `type`. OPTIONS needs authentication exactly like GET, so every handler takes [`Authed`].

use crate::api::awx::paging::MAX_PAGE_SIZE;
use crate::api::awx::users;
use crate::auth::check::Authed;
use crate::error::{ApiError, ApiResult};
use crate::extract::path::AwxPath;
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use portcullis_core::authz;
use portcullis_core::principal::Principal;
use portcullis_core::settings::{self as registry, Category, Kind, SettingDef, Stored};
use serde_json::{Map, Value, json};

/// The `type` of a field entry (the AWX vocabulary of `docs/awx-compat.md`, "OPTIONS metadata").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// Whole number.
    Integer,
    /// Text.
    String,
    /// `true`/`false`.
    Boolean,
    /// ISO-8601 instant.
    Datetime,
    /// Reference to another object by id.
    Id,
    /// JSON or YAML text.
    Json,
    /// One of [`Field::choices`].
    Choice,
    /// List of values.
    List,
    /// Object with its own keys.
    NestedObject,
}

impl FieldType {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Integer => "integer",
            Self::String => "string",
            Self::Boolean => "boolean",
            Self::Datetime => "datetime",
            Self::Id => "id",
            Self::Json => "json",
            Self::Choice => "choice",
            Self::List => "list",
            Self::NestedObject => "nested object",
        }
    }
}

/// Who sets a field, which decides the sections it appears in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Set by the server (`id`, `created`, …): `GET` only.
    Computed,
    /// Sent by clients on create and change: `GET`, `POST` and `PUT`.
    Writable,
    /// Sent on create only, read-only afterwards: `GET` and `POST`.
    CreateOnly,
    /// Accepted but never shown (`password`): `POST` and `PUT` only.
    WriteOnly,
    /// A value clients may not change (read-only settings): `GET` only, marked
    /// `read_only: true`.
    Locked,
}

/// A field's default as shown in `POST`/`PUT` (also applied when a `PUT` omits the field).
#[derive(Debug, Clone, Copy)]
pub enum Preset {
    /// `null`; also marks an [`FieldType::Id`] field as nullable.
    Null,
    /// A boolean.
    Bool(bool),
    /// A string.
    Str(&'static str),
    /// The registry default of a runtime setting.
    Setting(&'static SettingDef),
}

impl Preset {
    /// The JSON value.
    pub fn value(self) -> Value {
        match self {
            Self::Null => Value::Null,
            Self::Bool(b) => Value::Bool(b),
            Self::Str(s) => Value::String(s.to_owned()),
            Self::Setting(d) => registry::default_value(d, &Stored::new()),
        }
    }
}

/// One row of a resource's field table.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    /// JSON key.
    pub name: &'static str,
    /// Entry `type`.
    pub kind: FieldType,
    /// Entry `label`.
    pub label: &'static str,
    /// Entry `help_text`, when there is one.
    pub help_text: Option<&'static str>,
    /// Exact-match filter (and `order_by`) on lists.
    pub filterable: bool,
    /// Which sections show it.
    pub access: Access,
    /// Must be sent on create (and on `PUT`).
    pub required: bool,
    /// Longest accepted text, in characters.
    pub max_length: Option<usize>,
    /// Default value.
    pub default: Option<Preset>,
    /// `[value, label]` pairs of a [`FieldType::Choice`].
    pub choices: &'static [(&'static str, &'static str)],
}

/// A server-set, filterable field; refine it with the builder methods below.
pub const fn field(name: &'static str, kind: FieldType, label: &'static str) -> Field {
    Field {
        name,
        kind,
        label,
        help_text: None,
        filterable: true,
        access: Access::Computed,
        required: false,
        max_length: None,
        default: None,
        choices: &[],
    }
}

impl Field {
    /// Not usable as a filter (computed or free-form values).
    pub const fn unfilterable(mut self) -> Self {
        self.filterable = false;
        self
    }

    /// Sent on create and change.
    pub const fn writable(mut self) -> Self {
        self.access = Access::Writable;
        self
    }

    /// Sent on create only.
    pub const fn create_only(mut self) -> Self {
        self.access = Access::CreateOnly;
        self
    }

    /// Accepted, never shown (also not filterable).
    pub const fn write_only(mut self) -> Self {
        self.access = Access::WriteOnly;
        self.filterable = false;
        self
    }

    /// Must be sent.
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// Longest accepted text.
    pub const fn max_length(mut self, n: usize) -> Self {
        self.max_length = Some(n);
        self
    }

    /// Default value.
    pub const fn default(mut self, p: Preset) -> Self {
        self.default = Some(p);
        self
    }

    /// Allowed values with their labels.
    pub const fn choices(mut self, c: &'static [(&'static str, &'static str)]) -> Self {
        self.choices = c;
        self
    }

    /// Help text.
    pub const fn help(mut self, h: &'static str) -> Self {
        self.help_text = Some(h);
        self
    }

    /// True when `method` (`POST` or `PUT`) accepts the field.
    pub fn accepted_by(&self, method: Write) -> bool {
        match self.access {
            Access::Writable | Access::WriteOnly => true,
            Access::CreateOnly => method == Write::Post,
            Access::Computed | Access::Locked => false,
        }
    }

    /// True when `null` is a valid value (its default is `null`).
    pub fn nullable(&self) -> bool {
        matches!(self.default, Some(Preset::Null))
    }

    fn shown_on_get(&self) -> bool {
        self.access != Access::WriteOnly
    }
}

/// A resource: the names of its list and detail views and its field table.
#[derive(Debug)]
pub struct Resource {
    /// `name` of the list view (`Users`).
    pub list_name: &'static str,
    /// `name` of the detail view (`User Detail`).
    pub detail_name: &'static str,
    /// `description` of both views.
    pub description: &'static str,
    /// Every field, in the object's key order.
    pub fields: &'static [Field],
}

impl Resource {
    /// The fields a list accepts as exact-match filters and `order_by` keys.
    pub fn filterable(&self) -> Vec<&'static str> {
        self.fields
            .iter()
            .filter(|f| f.filterable)
            .map(|f| f.name)
            .collect()
    }

    /// The table row of `name`.
    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// The write section of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// `actions.POST` (lists).
    Post,
    /// `actions.PUT` (details).
    Put,
}

impl Write {
    fn key(self) -> &'static str {
        match self {
            Self::Post => "POST",
            Self::Put => "PUT",
        }
    }
}

fn choices_value(f: &Field) -> Value {
    Value::Array(f.choices.iter().map(|(v, l)| json!([v, l])).collect())
}

/// The `GET` entry: AWX drops `required`, `default` and `max_length` there.
fn get_entry(f: &Field) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), json!(f.kind.as_str()));
    m.insert("label".into(), json!(f.label));
    if let Some(h) = f.help_text {
        m.insert("help_text".into(), json!(h));
    }
    if f.access == Access::Locked {
        m.insert("read_only".into(), json!(true));
    }
    m.insert("filterable".into(), json!(f.filterable));
    if !f.choices.is_empty() {
        m.insert("choices".into(), choices_value(f));
    }
    Value::Object(m)
}

/// The `POST`/`PUT` entry: AWX drops `filterable` there.
fn write_entry(f: &Field) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), json!(f.kind.as_str()));
    m.insert("label".into(), json!(f.label));
    if let Some(h) = f.help_text {
        m.insert("help_text".into(), json!(h));
    }
    m.insert("required".into(), json!(f.required));
    if let Some(n) = f.max_length {
        m.insert("max_length".into(), json!(n));
    }
    if let Some(d) = f.default {
        m.insert("default".into(), d.value());
    }
    if !f.choices.is_empty() {
        m.insert("choices".into(), choices_value(f));
    }
    Value::Object(m)
}

/// `actions` for `fields`: `GET` always, the write section when given.
fn actions(fields: &[Field], write: Option<Write>) -> Value {
    let get: Map<String, Value> = fields
        .iter()
        .filter(|f| f.shown_on_get())
        .map(|f| (f.name.to_owned(), get_entry(f)))
        .collect();
    let mut a = Map::new();
    a.insert("GET".into(), Value::Object(get));
    if let Some(w) = write {
        let entries: Map<String, Value> = fields
            .iter()
            .filter(|f| f.accepted_by(w))
            .map(|f| (f.name.to_owned(), write_entry(f)))
            .collect();
        a.insert(w.key().into(), Value::Object(entries));
    }
    Value::Object(a)
}

/// The whole document, keys in AWX's order.
fn document(name: &str, description: &str, fields: &[Field], write: Option<Write>) -> Value {
    json!({
        "name": name,
        "description": description,
        "renders": ["application/json"],
        "parses": ["application/json"],
        "actions": actions(fields, write),
        "max_page_size": MAX_PAGE_SIZE,
        "object_roles": [],
    })
}

/// OPTIONS of a list view: `actions.GET`, plus `actions.POST` when `can_create`.
pub fn list_options(resource: &Resource, can_create: bool) -> Json<Value> {
    Json(document(
        resource.list_name,
        resource.description,
        resource.fields,
        can_create.then_some(Write::Post),
    ))
}

/// OPTIONS of a detail view: `actions.GET`, plus `actions.PUT` when the object exists and
/// the caller may change it (`can_change`). Answer it with 200 whether or not the object
/// exists (the AWX CLI probes `…/1/`).
pub fn detail_options(resource: &Resource, can_change: bool) -> Json<Value> {
    Json(document(
        resource.detail_name,
        resource.description,
        resource.fields,
        can_change.then_some(Write::Put),
    ))
}

/// True when the caller may write resources that only superusers change (everything but
/// their own user and tokens): a superuser whose scope includes `write` (a read-only token
/// is refused unsafe methods, so it is not offered them either).
pub fn superuser_writes(p: &Principal) -> bool {
    authz::may_write(p) && p.user.is_superuser
}

const ID: Field = field("id", FieldType::Integer, "ID");
const CREATED: Field = field("created", FieldType::Datetime, "Created");
const MODIFIED: Field = field("modified", FieldType::Datetime, "Modified");
const NAME_512: Field = field("name", FieldType::String, "Name")
    .writable()
    .required()
    .max_length(512);
const DESCRIPTION: Field = field("description", FieldType::String, "Description")
    .writable()
    .default(Preset::Str(""));
const VARIABLES: Field = field("variables", FieldType::Json, "Variables")
    .unfilterable()
    .writable()
    .default(Preset::Str(""))
    .help("Variables in JSON or YAML format.");

const USER_FIELDS: &[Field] = &[
    ID,
    field("username", FieldType::String, "Username")
        .writable()
        .required()
        .max_length(150)
        .help("Required. 150 characters or fewer. Letters, digits and @/./+/-/_ only."),
    field("first_name", FieldType::String, "First name")
        .writable()
        .max_length(150),
    field("last_name", FieldType::String, "Last name")
        .writable()
        .max_length(150),
    field("email", FieldType::String, "Email address")
        .writable()
        .max_length(254),
    field("is_superuser", FieldType::Boolean, "Superuser status")
        .writable()
        .default(Preset::Bool(false))
        .help("Designates that this user has all permissions without explicitly assigning them."),
    field("is_system_auditor", FieldType::Boolean, "Is system auditor")
        .unfilterable()
        .writable()
        .default(Preset::Bool(false)),
    field("password", FieldType::String, "Password")
        .write_only()
        .default(Preset::Str(""))
        .help("Field used to change the password."),
    field("ldap_dn", FieldType::String, "LDAP DN"),
    field("last_login", FieldType::Datetime, "Last login"),
    field("external_account", FieldType::String, "External account")
        .unfilterable()
        .help("Set if the account is managed by an external service"),
    CREATED,
    MODIFIED,
];

/// Users (`/api/v2/users/`, `…/<u>/`; `docs/awx-compat.md`, "User object").
pub static USERS: Resource = Resource {
    list_name: "Users",
    detail_name: "User Detail",
    description: "Local and directory users.",
    fields: USER_FIELDS,
};

/// `/api/v2/me/`: the user object, never writable through this view.
pub static ME: Resource = Resource {
    list_name: "Me",
    detail_name: "Me",
    description: "The authenticated user.",
    fields: USER_FIELDS,
};

/// OAuth2 access tokens (`/api/v2/tokens/` and the user/application sub-lists;
/// `docs/awx-compat.md`, "Token object").
pub static TOKENS: Resource = Resource {
    list_name: "OAuth2 Tokens",
    detail_name: "OAuth2 Token Detail",
    description: "OAuth2 personal access tokens and application tokens.",
    fields: &[
        ID,
        DESCRIPTION,
        field("user", FieldType::Id, "User")
            .help("The user representing the token owner"),
        field("application", FieldType::Id, "Application")
            .create_only()
            .default(Preset::Null),
        field("expires", FieldType::Datetime, "Expires"),
        field("scope", FieldType::String, "Scope")
            .writable()
            .default(Preset::Str("write"))
            .help("Allowed scopes, further restricts user's permissions. Must be a simple space-separated string with allowed scopes ['read', 'write']."),
        field("token", FieldType::String, "Token").unfilterable(),
        field("refresh_token", FieldType::String, "Refresh token").unfilterable(),
        CREATED,
        MODIFIED,
    ],
};

/// OAuth2 applications (`/api/v2/applications/`; `docs/awx-compat.md`, "Applications").
pub static APPLICATIONS: Resource = Resource {
    list_name: "OAuth2 Applications",
    detail_name: "OAuth2 Application Detail",
    description: "OAuth2 applications (clients).",
    fields: &[
        ID,
        field("name", FieldType::String, "Name")
            .writable()
            .required()
            .max_length(255),
        DESCRIPTION,
        field("client_id", FieldType::String, "Client ID"),
        field("client_type", FieldType::Choice, "Client Type")
            .writable()
            .required()
            .choices(&[("confidential", "Confidential"), ("public", "Public")])
            .help("Set to Public or Confidential depending on how secure the client device is."),
        field("redirect_uris", FieldType::String, "Redirect URIs")
            .writable()
            .default(Preset::Str(""))
            .help("Allowed URIs list, space separated"),
        field(
            "authorization_grant_type",
            FieldType::Choice,
            "Authorization Grant Type",
        )
        .create_only()
        .required()
        .choices(&[
            ("authorization-code", "Authorization code"),
            ("password", "Resource owner password-based"),
        ])
        .help("The Grant type the user must use for acquire tokens for this application."),
        field(
            "skip_authorization",
            FieldType::Boolean,
            "Skip Authorization",
        )
        .writable()
        .default(Preset::Bool(false))
        .help("Set True to skip authorization step for completely trusted applications."),
        field("organization", FieldType::Id, "Organization")
            .writable()
            .default(Preset::Null),
        CREATED,
        MODIFIED,
    ],
};

const HOST_FIELDS: &[Field] = &[
    ID,
    NAME_512,
    DESCRIPTION,
    field("inventory", FieldType::Id, "Inventory")
        .writable()
        .required(),
    field("enabled", FieldType::Boolean, "Enabled")
        .writable()
        .default(Preset::Bool(true))
        .help("Is this host online and available for running jobs?"),
    field("instance_id", FieldType::String, "Instance ID")
        .writable()
        .max_length(1024)
        .default(Preset::Str(""))
        .help("The value used by the remote inventory source to uniquely identify the host"),
    VARIABLES,
    CREATED,
    MODIFIED,
];

/// Hosts (`/api/v2/hosts/`; `docs/awx-compat.md`, "Inventories and hosts").
pub static HOSTS: Resource = Resource {
    list_name: "Hosts",
    detail_name: "Host Detail",
    description: "Hosts of the minimal inventory registry.",
    fields: HOST_FIELDS,
};

/// The hosts of one inventory (`/api/v2/inventories/<id>/hosts/`).
pub static INVENTORY_HOSTS: Resource = Resource {
    list_name: "Inventory Hosts List",
    detail_name: "Host Detail",
    description: "Hosts of one inventory.",
    fields: HOST_FIELDS,
};

/// Inventories (`/api/v2/inventories/`; `docs/awx-compat.md`, "Inventories and hosts").
pub static INVENTORIES: Resource = Resource {
    list_name: "Inventories",
    detail_name: "Inventory Detail",
    description: "Inventories of the minimal inventory registry.",
    fields: &[
        ID,
        NAME_512,
        DESCRIPTION,
        field("organization", FieldType::Id, "Organization")
            .writable()
            .default(Preset::Null)
            .help("Organization containing this inventory."),
        field("kind", FieldType::Choice, "Kind")
            .writable()
            .choices(&[
                ("", "Hosts have a direct link to this inventory."),
                (
                    "smart",
                    "Hosts for inventory generated using the host_filter property.",
                ),
                (
                    "constructed",
                    "Parse list of source inventories with the constructed plugin.",
                ),
            ])
            .default(Preset::Str(""))
            .help("Kind of inventory being represented."),
        VARIABLES,
        field("total_hosts", FieldType::Integer, "Total hosts")
            .unfilterable()
            .help("Total number of hosts in this inventory."),
        CREATED,
        MODIFIED,
    ],
};

/// The fields of every compatibility stub and of the `Default` organization (`docs/awx-compat.md`,
/// "Default organization").
pub const STUB_FIELDS: &[Field] = &[
    ID,
    field("name", FieldType::String, "Name"),
    field("description", FieldType::String, "Description"),
    CREATED,
    MODIFIED,
];

/// `/api/v2/organizations/`.
pub static ORGANIZATIONS: Resource = stub("Organizations", "Organization Detail");
/// `/api/v2/projects/`.
pub static PROJECTS: Resource = stub("Projects", "Project Detail");
/// `/api/v2/teams/`.
pub static TEAMS: Resource = stub("Teams", "Team Detail");
/// `/api/v2/credentials/`.
pub static CREDENTIALS: Resource = stub("Credentials", "Credential Detail");
/// `/api/v2/job_templates/`.
pub static JOB_TEMPLATES: Resource = stub("Job Templates", "Job Template Detail");
/// `/api/v2/workflow_job_templates/`.
pub static WORKFLOW_JOB_TEMPLATES: Resource =
    stub("Workflow Job Templates", "Workflow Job Template Detail");
/// `/api/v2/instance_groups/`.
pub static INSTANCE_GROUPS: Resource = stub("Instance Groups", "Instance Group Detail");

const fn stub(list_name: &'static str, detail_name: &'static str) -> Resource {
    Resource {
        list_name,
        detail_name,
        description: "Compatibility endpoint: Portcullis does not manage these objects.",
        fields: STUB_FIELDS,
    }
}

/// Activity-stream entries (`docs/awx-compat.md`, "Activity stream").
pub static ACTIVITY_STREAM: Resource = Resource {
    list_name: "Activity Stream",
    detail_name: "Activity Stream Detail",
    description: "Records of changes to users, tokens, applications and settings.",
    fields: &[
        ID,
        field("timestamp", FieldType::Datetime, "Timestamp"),
        field("operation", FieldType::Choice, "Operation")
            .choices(&[
                ("create", "Entity Created"),
                ("update", "Entity Updated"),
                ("delete", "Entity Deleted"),
                ("associate", "Entity Associated with another Entity"),
                ("disassociate", "Entity was Disassociated with another Entity"),
            ])
            .help("The action taken with respect to the given object(s)."),
        field("changes", FieldType::Json, "Changes")
            .unfilterable()
            .help("A summary of the new and changed values when an object is created, updated, or deleted"),
        field("object1", FieldType::String, "Object1")
            .help("For create, update, and delete events this is the object type that was affected."),
        field("object2", FieldType::String, "Object2").unfilterable(),
        field("object_association", FieldType::String, "Object association").unfilterable(),
        field("object_type", FieldType::String, "Object type").unfilterable(),
    ],
};

/// The settings categories list (`/api/v2/settings/`).
pub static SETTING_CATEGORIES: Resource = Resource {
    list_name: "Setting Categories",
    detail_name: "Setting Categories",
    description: "Categories of runtime settings.",
    fields: &[
        field("url", FieldType::String, "URL"),
        field("slug", FieldType::String, "Slug"),
        field("name", FieldType::String, "Name"),
    ],
};

/// The metadata type of a setting.
fn setting_type(kind: Kind) -> FieldType {
    match kind {
        Kind::Bool => FieldType::Boolean,
        Kind::Int { .. } => FieldType::Integer,
        Kind::Str => FieldType::String,
        Kind::StrList | Kind::ListOrNull | Kind::ReadOnlyList => FieldType::List,
        Kind::ObjectOrNull | Kind::OAuth2 => FieldType::NestedObject,
    }
}

/// The field table of settings view `slug`, built from the settings registry (the registry
/// is the table there). Unknown slugs have no fields.
fn setting_fields(slug: &str) -> Vec<Field> {
    let category = Category::from_slug(slug);
    let in_view =
        |d: &SettingDef| matches!(slug, "all" | "changed") || Some(d.category) == category;
    registry::SETTINGS
        .iter()
        .filter(|d| in_view(d))
        .map(|d| {
            let f = field(d.key, setting_type(d.kind), d.label)
                .unfilterable()
                .help(d.help);
            if registry::writable_in(d, slug) {
                // Not `required`: PUT and PATCH both change only the keys sent
                // (`docs/awx-compat.md`, "Settings").
                f.writable().default(Preset::Setting(d))
            } else {
                Field {
                    access: Access::Locked,
                    ..f
                }
            }
        })
        .collect()
}

/// `OPTIONS /api/v2/users/`
#[utoipa::path(options, path = "/api/v2/users/", tag = "users",
    responses((status = 200, description = "AWX metadata; actions.POST for superusers"),
              (status = 401, description = "Not authenticated")))]
pub async fn users_options(Authed(p): Authed) -> Json<Value> {
    list_options(&USERS, superuser_writes(&p))
}

/// `OPTIONS /api/v2/users/<u>/`: 200 whether or not the user exists; `actions.PUT` when
/// the caller may change that user (itself or, for superusers, anyone).
#[utoipa::path(options, path = "/api/v2/users/{u}/", tag = "users",
    params(("u" = String, Path, description = "User id or username")),
    responses((status = 200, description = "AWX metadata; actions.PUT when the caller may change the user"),
              (status = 401, description = "Not authenticated")))]
pub async fn user_options(
    State(state): State<AppState>,
    Authed(p): Authed,
    AwxPath(u): AwxPath<String>,
) -> ApiResult<Json<Value>> {
    let can_change = match users::resolve(&state, &p, &u).await {
        Ok(target) => authz::user_capabilities(&p, &target).0,
        // Missing or invisible: still 200, just without PUT (the CLI probes `…/1/`).
        Err(ApiError::NotFound | ApiError::PermissionDenied) => false,
        Err(e) => return Err(e),
    };
    Ok(detail_options(&USERS, can_change))
}

/// `OPTIONS /api/v2/me/`
#[utoipa::path(options, path = "/api/v2/me/", tag = "users",
    responses((status = 200, description = "AWX metadata (GET only)"),
              (status = 401, description = "Not authenticated")))]
pub async fn me_options(Authed(_): Authed) -> Json<Value> {
    list_options(&ME, false)
}

/// `OPTIONS /api/v2/settings/`
#[utoipa::path(options, path = "/api/v2/settings/", tag = "settings",
    responses((status = 200, description = "AWX metadata (GET only)"),
              (status = 401, description = "Not authenticated")))]
pub async fn settings_list_options(Authed(_): Authed) -> Json<Value> {
    list_options(&SETTING_CATEGORIES, false)
}

/// `OPTIONS /api/v2/settings/<slug>/`: `actions.GET` with every setting of the view
/// (read-only ones marked `read_only`) and, for superusers, `actions.PUT` with one entry
/// per writable setting. The AWX CLI takes the keys of `actions.PUT` of `all` as the only
/// keys `settings modify` accepts.
#[utoipa::path(options, path = "/api/v2/settings/{slug}/", tag = "settings",
    params(("slug" = String, Path, description = "all, changed, authentication, system or ldap")),
    responses((status = 200, description = "AWX metadata; actions.PUT for superusers"),
              (status = 401, description = "Not authenticated")))]
pub async fn settings_options(Authed(p): Authed, AwxPath(slug): AwxPath<String>) -> Json<Value> {
    let fields = setting_fields(&slug);
    let write = (superuser_writes(&p) && registry::slug_exists(&slug)).then_some(Write::Put);
    Json(document(
        "Setting Detail",
        "Runtime settings of one category.",
        &fields,
        write,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_follow_access() {
        let doc = document("T", "d", TOKENS.fields, Some(Write::Post));
        let a = &doc["actions"];
        let post: Vec<&String> = a["POST"].as_object().unwrap().keys().collect();
        assert_eq!(post, ["description", "application", "scope"]);
        let put = document("T", "d", TOKENS.fields, Some(Write::Put));
        let put: Vec<&String> = put["actions"]["PUT"].as_object().unwrap().keys().collect();
        assert_eq!(put, ["description", "scope"]);
        assert!(a["GET"]["token"]["filterable"] == json!(false));
        let users = document("U", "d", USERS.fields, Some(Write::Post));
        assert!(users["actions"]["GET"].get("password").is_none());
        assert_eq!(
            users["actions"]["POST"]["password"],
            json!({"type": "string", "label": "Password", "help_text": "Field used to change the password.",
                   "required": false, "default": ""})
        );
    }

    #[test]
    fn every_entry_has_a_type_and_filters_come_from_the_table() {
        for r in [
            &USERS,
            &TOKENS,
            &APPLICATIONS,
            &HOSTS,
            &INVENTORIES,
            &ORGANIZATIONS,
            &ACTIVITY_STREAM,
        ] {
            let doc = document("x", "y", r.fields, Some(Write::Post));
            for section in doc["actions"].as_object().unwrap().values() {
                for entry in section.as_object().unwrap().values() {
                    assert!(entry["type"].is_string(), "{entry}");
                }
            }
        }
        assert_eq!(
            HOSTS.filterable(),
            [
                "id",
                "name",
                "description",
                "inventory",
                "enabled",
                "instance_id",
                "created",
                "modified"
            ]
        );
    }

    #[test]
    fn settings_tables_mark_read_only_keys() {
        let all = setting_fields("all");
        let backends = all
            .iter()
            .find(|f| f.name == "AUTHENTICATION_BACKENDS")
            .unwrap();
        assert_eq!(backends.access, Access::Locked);
        assert_eq!(get_entry(backends)["read_only"], json!(true));
        assert!(setting_fields("nope").is_empty());
        let system = setting_fields("system");
        assert!(system.iter().all(|f| f.access == Access::Writable));
    }
}
