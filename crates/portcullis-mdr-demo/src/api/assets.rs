//! `assets/count`, `assets/list`, `assets/details`.

use crate::service::assets as svc;
use portcullis_server::api::mdr::caller::AnyRole;

super::json_action!(
    /// `assets/count`: `{"count": N}`.
    count, "/api/v1/{client_id}/assets/count", AnyRole, svc::count, "`{\"count\": N}`"
);
super::json_action!(
    /// `assets/list`: a bare array.
    list, "/api/v1/{client_id}/assets/list", AnyRole, svc::list, "a bare array of assets"
);
super::json_action!(
    /// `assets/details`.
    details, "/api/v1/{client_id}/assets/details", AnyRole, svc::details, "the asset"
);
