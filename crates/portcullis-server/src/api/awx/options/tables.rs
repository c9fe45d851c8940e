//! The field table of every resource this API serves (and the settings views', built from
//! the settings registry): the single source of OPTIONS metadata, list filters and the body
//! validation of inventories and hosts.

use super::builder::{Access, Field, FieldType, Preset, Resource, field};
use portcullis_core::settings::{self as registry, Category, Kind, SettingDef};

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
        Kind::Str
        | Kind::StrNoNull
        | Kind::Url
        | Kind::LdapUri
        | Kind::LdapDn { .. }
        | Kind::LdapDnTemplate
        | Kind::LdapGroupType => FieldType::String,
        Kind::StrList | Kind::ListOrNull | Kind::ReadOnlyList | Kind::LdapSearch { .. } => {
            FieldType::List
        }
        Kind::ObjectOrNull
        | Kind::SocialOrganizationMap
        | Kind::SocialTeamMap
        | Kind::OAuth2
        | Kind::LdapAttrMap
        | Kind::LdapGroupParams
        | Kind::LdapUserFlags
        | Kind::LdapOptions => FieldType::NestedObject,
    }
}

/// The field table of settings view `slug`, built from the settings registry (the registry
/// is the table there). Unknown slugs have no fields.
pub(crate) fn setting_fields(slug: &str) -> Vec<Field> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::awx::options::builder::{Write, document, get_entry};
    use serde_json::json;

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
