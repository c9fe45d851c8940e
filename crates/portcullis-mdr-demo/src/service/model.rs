//! The stored shapes of the resource objects (`docs/mdr-api.md`, "Objects") and their enumerations
//! (`docs/mdr-api.md`, "Filters and enumerations"), with the conversions to and from [`MdrObject`].
//!
//! Policy: each object is stored as the JSON it is served as, minus what is derived on read
//! (an asset's or incident's `tenant_name` comes from its `tenant_id`; an incident's embedded
//! arrays are its children), plus bookkeeping keys starting with `_` that never go on the
//! wire (the author connection of comments, attachments and history records; when an
//! incident was resolved).

use super::keys::Obj;
use super::render::public_object;
use portcullis_server::api::mdr::error::{MdrError, MdrResult};
use portcullis_store::MdrObject;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Store kinds.
pub mod kind {
    /// Assets.
    pub const ASSET: &str = "asset";
    /// Incidents.
    pub const INCIDENT: &str = "incident";
    /// Response actions (children of an incident).
    pub const RESPONSE: &str = "response";
    /// Comments (children of an incident).
    pub const COMMENT: &str = "comment";
    /// Attachments (children of an incident; the bytes are the object's content).
    pub const ATTACHMENT: &str = "attachment";
    /// History records (children of an incident).
    pub const HISTORY: &str = "history";
}

/// Asset `status` values.
pub const ASSET_STATUSES: [&str; 6] = ["OK", "WARNING", "CRITICAL", "BLOCKED", "ABSENT", "OFFLINE"];
/// Incident `status` values.
pub const INCIDENT_STATUSES: [&str; 4] = ["Open", "Closed", "On hold", "Resolved"];
/// `priority` values.
pub const PRIORITIES: [&str; 3] = ["LOW", "NORMAL", "HIGH"];
/// Incident `resolution` values.
pub const RESOLUTIONS: [&str; 2] = ["True positive", "False positive"];
/// Response `status` values.
pub const RESPONSE_STATUSES: [&str; 3] = ["Pending", "Confirmed", "Declined"];
/// `mitre_tactics` values.
pub const MITRE_TACTICS: [&str; 12] = [
    "Collection",
    "Command and control",
    "Credential access",
    "Defense evasion",
    "Discovery",
    "Execution",
    "Exfiltration",
    "Impact",
    "Initial access",
    "Lateral movement",
    "Persistence",
    "Privilege escalation",
];

/// Initial status of a response.
pub const PENDING: &str = "Pending";
/// Status of a closed incident.
pub const CLOSED: &str = "Closed";
/// Status the SOC sets before an incident closes by itself.
pub const RESOLVED: &str = "Resolved";
/// How long a resolved incident stays `"Resolved"` before it reads as `"Closed"`.
pub const RESOLVED_CLOSES_AFTER_MS: i64 = 72 * 3600 * 1000;

/// `origin` of items created through the MDR surface.
pub const ORIGIN_CLIENT: &str = "client";
/// `origin` of SOC-side items.
pub const ORIGIN_SOC: &str = "soc";

/// One network interface of an asset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkInterface {
    /// IP address.
    pub ip: String,
    /// MAC address.
    pub mac: String,
    /// DNS domain.
    pub dnsd: String,
    /// Default gateway.
    pub defg: String,
    /// Description.
    pub dsc: String,
    /// Address mask.
    pub ipcm: String,
}

/// An asset as stored (no `tenant_name`: derived from the object's tenant).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Asset {
    /// `0x` + 32 uppercase hex.
    pub asset_id: String,
    /// Host name.
    pub host_name: String,
    /// Windows domain or workgroup.
    pub domain: String,
    /// First seen, epoch ms.
    pub first_seen: i64,
    /// Last seen, epoch ms.
    pub last_seen: i64,
    /// Installed security product, free text.
    pub installed_product_info: String,
    /// Network isolation on?
    pub isolation: bool,
    /// The isolation task, if any.
    pub isolation_task_id: Option<String>,
    /// Host id in Kaspersky Security Center.
    pub ksc_host_id: String,
    /// Network interfaces.
    pub network_interfaces: Vec<NetworkInterface>,
    /// OS version.
    pub os_version: String,
    /// Installed products: name → details.
    pub product_map: Obj,
    /// One of [`ASSET_STATUSES`].
    pub status: String,
    /// Why the status is what it is.
    pub status_reasons: Vec<String>,
}

impl Asset {
    /// The wire object (`docs/mdr-api.md`, "Objects" key order), with `tenant_name`.
    pub fn render(&self, tenant_name: Option<&str>) -> Obj {
        let mut o = public_object(serde_json::to_value(self).unwrap_or(Value::Null));
        o.insert("tenant_name".into(), tenant_name.into());
        o
    }

    /// The `affected_hosts` entry naming this asset.
    pub fn host_entry(&self) -> String {
        format!("{}:{}", self.host_name, self.asset_id)
    }
}

/// `{host_id, host_name}` of an incident's affected host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostMapping {
    /// The asset id.
    pub host_id: String,
    /// The asset's host name.
    pub host_name: String,
}

/// An incident as stored (no `tenant_name`, no embedded arrays).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    /// 20 base62.
    pub incident_id: String,
    /// Per customer, increasing.
    pub incident_number: i64,
    /// Summary.
    pub summary: String,
    /// Markdown.
    pub description: String,
    /// One of [`INCIDENT_STATUSES`].
    pub status: String,
    /// Markdown.
    pub status_description: String,
    /// One of [`RESOLUTIONS`] or null.
    pub resolution: Option<String>,
    /// One of [`PRIORITIES`].
    pub priority: String,
    /// Epoch ms.
    pub creation_time: i64,
    /// Epoch ms, strictly increasing on every change.
    pub update_time: i64,
    /// `"<HOST-NAME>:<asset_id>"`.
    pub affected_hosts: Vec<String>,
    /// `{host_id, host_name}` for each affected host.
    pub affected_hosts_mappings: Vec<HostMapping>,
    /// Detection technologies.
    pub detection_technologies: Vec<String>,
    /// MITRE ATT&CK tactics.
    pub mitre_tactics: Vec<String>,
    /// MITRE ATT&CK techniques.
    pub mitre_techniques: Vec<String>,
    /// When the SOC set `"Resolved"`, epoch ms (bookkeeping).
    #[serde(
        rename = "_resolved_ms",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub resolved_ms: Option<i64>,
    /// `no_sla_flag` of `incidents/create` (bookkeeping).
    #[serde(
        rename = "_no_sla_flag",
        default,
        skip_serializing_if = "std::ops::Not::not"
    )]
    pub no_sla_flag: bool,
}

impl Incident {
    /// Applies the 72-hour rule: a `"Resolved"` incident reads as `"Closed"` from 72 hours
    /// after it was resolved, and that change counts as an update at that instant (so an
    /// incremental sync sees it). Returns whether it changed anything.
    pub fn settle(&mut self, now_ms: i64) -> bool {
        match self.resolved_ms {
            Some(at) if self.status == RESOLVED => {
                let closes = at.saturating_add(RESOLVED_CLOSES_AFTER_MS);
                if now_ms < closes {
                    return false;
                }
                self.status = CLOSED.into();
                self.update_time = self.update_time.max(closes);
                true
            }
            _ => false,
        }
    }

    /// The wire object without the embedded arrays (`docs/mdr-api.md`, "Objects" key order).
    pub fn render_core(&self, tenant_name: Option<&str>) -> Obj {
        let mut o = Obj::new();
        o.insert("incident_id".into(), self.incident_id.clone().into());
        o.insert("incident_number".into(), self.incident_number.into());
        o.insert("summary".into(), self.summary.clone().into());
        o.insert("description".into(), self.description.clone().into());
        o.insert("status".into(), self.status.clone().into());
        o.insert(
            "status_description".into(),
            self.status_description.clone().into(),
        );
        o.insert("resolution".into(), self.resolution.clone().into());
        o.insert("priority".into(), self.priority.clone().into());
        o.insert("creation_time".into(), self.creation_time.into());
        o.insert("update_time".into(), self.update_time.into());
        o.insert("affected_hosts".into(), self.affected_hosts.clone().into());
        o.insert(
            "affected_hosts_mappings".into(),
            serde_json::to_value(&self.affected_hosts_mappings).unwrap_or(Value::Null),
        );
        o.insert("tenant_name".into(), tenant_name.into());
        o.insert(
            "detection_technologies".into(),
            self.detection_technologies.clone().into(),
        );
        o.insert("mitre_tactics".into(), self.mitre_tactics.clone().into());
        o.insert(
            "mitre_techniques".into(),
            self.mitre_techniques.clone().into(),
        );
        o
    }

    /// The asset ids of the affected hosts.
    pub fn asset_ids(&self) -> impl Iterator<Item = &str> {
        self.affected_hosts_mappings
            .iter()
            .map(|m| m.host_id.as_str())
    }
}

/// A response action as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Response {
    /// 20 base62.
    pub response_id: String,
    /// Owning incident.
    pub incident_id: String,
    /// Kind of action (e.g. `"network_isolate"`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Parameters of the action.
    pub parameters: Obj,
    /// Markdown.
    pub description: String,
    /// Epoch ms.
    pub creation_time: i64,
    /// Epoch ms.
    pub update_time: i64,
    /// The asset it acts on.
    pub asset_id: Option<String>,
    /// One of [`RESPONSE_STATUSES`].
    pub status: String,
    /// The client's comment on its decision.
    pub comment: Option<String>,
    /// The deciding connection (bookkeeping).
    #[serde(
        rename = "_connection_id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub connection_id: Option<String>,
}

/// A comment as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comment {
    /// 11 base62.
    pub comment_id: String,
    /// Owning incident.
    pub incident_id: String,
    /// The creating connection's name at creation (kept after it is renamed or deleted).
    pub author_name: String,
    /// Markdown.
    pub text: String,
    /// Epoch ms.
    pub creation_time: i64,
    /// [`ORIGIN_CLIENT`] or [`ORIGIN_SOC`].
    pub origin: String,
    /// True for client items, false for SOC items.
    pub was_read: bool,
    /// The creating connection (bookkeeping: only it may delete the comment).
    #[serde(
        rename = "_connection_id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub connection_id: Option<String>,
}

/// An attachment as stored (the bytes are the object's content).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Attachment {
    /// 20 base62.
    pub attachment_id: String,
    /// Owning incident.
    pub incident_id: String,
    /// The creating connection's name at creation.
    pub author_name: String,
    /// Caption.
    pub caption: String,
    /// Epoch ms.
    pub creation_time: i64,
    /// Bytes.
    pub file_size: i64,
    /// File name.
    pub full_name: String,
    /// A URL, or null when the bytes are stored here.
    pub link: Option<String>,
    /// [`ORIGIN_CLIENT`] or [`ORIGIN_SOC`].
    pub origin: String,
    /// True for client items, false for SOC items.
    pub was_read: bool,
    /// The creating connection (bookkeeping).
    #[serde(
        rename = "_connection_id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub connection_id: Option<String>,
}

/// A history record as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryRecord {
    /// The incident's `update_time` after the change.
    pub changed_at: i64,
    /// `incident_details`, `incident_comment`, `incident_attachment` or `incident_response`.
    pub entity_kind: String,
    /// That object as it was after the change.
    pub entity: Value,
    /// The connection that made the change; `None` for the SOC (bookkeeping).
    #[serde(
        rename = "_connection_id",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub connection_id: Option<String>,
}

/// Renders a child object (response, comment, attachment) for the wire.
pub fn render<T: Serialize>(item: &T) -> Obj {
    public_object(serde_json::to_value(item).unwrap_or(Value::Null))
}

/// Decodes a stored object's JSON.
pub fn decode<T: DeserializeOwned>(o: &MdrObject) -> MdrResult<T> {
    serde_json::from_value(o.data.clone())
        .map_err(|e| MdrError::internal(format!("stored {} {} does not decode: {e}", o.kind, o.id)))
}

/// Encodes an object for storage.
pub fn encode<T: Serialize>(item: &T) -> MdrResult<Value> {
    serde_json::to_value(item).map_err(|e| MdrError::internal(format!("encode: {e}")))
}

/// Where a store object hangs: its incident (for children) and its tenant (for scope).
#[derive(Debug, Clone, Copy, Default)]
pub struct Link<'a> {
    /// The owning incident of a child.
    pub parent_id: Option<&'a str>,
    /// The tenant (`None` = root).
    pub tenant_id: Option<&'a str>,
}

/// A new store object of `kind` for customer `client_id`; `times` is (created, updated) ms.
pub fn object<T: Serialize>(
    client_id: &str,
    kind: &str,
    id: &str,
    link: Link<'_>,
    times: (i64, i64),
    item: &T,
) -> MdrResult<MdrObject> {
    Ok(MdrObject {
        client_id: client_id.to_owned(),
        kind: kind.to_owned(),
        id: id.to_owned(),
        parent_id: link.parent_id.map(str::to_owned),
        tenant_id: link.tenant_id.map(str::to_owned),
        created_ms: times.0,
        updated_ms: times.1,
        data: encode(item)?,
    })
}

/// The display value of a resolution given as either spelling (`"TRUE_POSITIVE"` or
/// `"True positive"`).
pub fn resolution_value(s: &str) -> Option<&'static str> {
    match s {
        "TRUE_POSITIVE" | "True positive" => Some("True positive"),
        "FALSE_POSITIVE" | "False positive" => Some("False positive"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incident() -> Incident {
        Incident {
            incident_id: "i".into(),
            incident_number: 1,
            summary: String::new(),
            description: String::new(),
            status: RESOLVED.into(),
            status_description: String::new(),
            resolution: None,
            priority: "NORMAL".into(),
            creation_time: 0,
            update_time: 10,
            affected_hosts: vec![],
            affected_hosts_mappings: vec![],
            detection_technologies: vec![],
            mitre_tactics: vec![],
            mitre_techniques: vec![],
            resolved_ms: Some(5),
            no_sla_flag: false,
        }
    }

    #[test]
    fn resolved_closes_after_72_hours() {
        let mut i = incident();
        assert!(!i.settle(5 + RESOLVED_CLOSES_AFTER_MS - 1));
        assert_eq!(i.status, RESOLVED);
        assert!(i.settle(5 + RESOLVED_CLOSES_AFTER_MS + 100));
        assert_eq!(i.status, CLOSED);
        assert_eq!(i.update_time, 5 + RESOLVED_CLOSES_AFTER_MS);
    }

    #[test]
    fn bookkeeping_stays_off_the_wire() {
        let c = Comment {
            comment_id: "c".into(),
            incident_id: "i".into(),
            author_name: "a".into(),
            text: "t".into(),
            creation_time: 1,
            origin: ORIGIN_CLIENT.into(),
            was_read: true,
            connection_id: Some("x".into()),
        };
        assert!(
            encode(&c)
                .ok()
                .and_then(|v| v.get("_connection_id").cloned())
                .is_some()
        );
        assert!(!render(&c).contains_key("_connection_id"));
        let keys: Vec<_> = render(&c).keys().cloned().collect();
        assert_eq!(
            keys,
            [
                "comment_id",
                "incident_id",
                "author_name",
                "text",
                "creation_time",
                "origin",
                "was_read"
            ]
        );
    }
}
