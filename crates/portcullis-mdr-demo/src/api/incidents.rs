//! `incidents/count`, `list`, `details`, `create`, `close`, `history`.

use crate::service::{history as hist, incidents as svc};
use portcullis_server::api::mdr::caller::AnyRole;

super::json_action!(
    /// `incidents/count`: `{"count": N}`.
    count, "/api/v1/{client_id}/incidents/count", AnyRole, svc::count, "`{\"count\": N}`"
);
super::json_action!(
    /// `incidents/list`: a bare array.
    list, "/api/v1/{client_id}/incidents/list", AnyRole, svc::list, "a bare array of incidents"
);
super::json_action!(
    /// `incidents/details`.
    details, "/api/v1/{client_id}/incidents/details", AnyRole, svc::details, "the incident"
);
super::json_action!(
    /// `incidents/create`: the created incident.
    create, "/api/v1/{client_id}/incidents/create", AnyRole, svc::create, "the created incident"
);
super::json_action!(
    /// `incidents/close`: the closed incident.
    close, "/api/v1/{client_id}/incidents/close", AnyRole, svc::close, "the closed incident"
);
super::json_action!(
    /// `incidents/history`: a bare array of records, newest last.
    history, "/api/v1/{client_id}/incidents/history", AnyRole, hist::list,
    "a bare array of history records, newest last"
);
