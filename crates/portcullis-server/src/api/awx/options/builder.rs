//! The metadata builder: a resource's field table ([`Resource`], [`Field`]) and the AWX
//! list and detail documents built from it.

use crate::api::awx::paging::MAX_PAGE_SIZE;
use axum::Json;
use portcullis_core::authz;
use portcullis_core::principal::Principal;
use portcullis_core::settings::{self as registry, SettingDef, Stored};
use portcullis_core::user::User;
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
pub(crate) fn get_entry(f: &Field) -> Value {
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
pub(crate) fn document(
    name: &str,
    description: &str,
    fields: &[Field],
    write: Option<Write>,
) -> Value {
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

/// True when the caller may be offered the writes `rule` (a rule of `portcullis_core::authz`)
/// allows: the rule holds for the user and the scope includes `write` (a read-only token is
/// refused unsafe methods, so it is not offered them either).
pub fn offers_writes(p: &Principal, rule: fn(&User) -> bool) -> bool {
    authz::may_write(p) && rule(&p.user)
}
