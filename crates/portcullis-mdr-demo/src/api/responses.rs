//! `responses/list`, `response/update`, `responses/update`. The updates require a role that
//! may decide on responses ([`Decide`]), checked before the body is read.

use crate::service::responses as svc;
use portcullis_server::api::mdr::caller::{AnyRole, Decide};

super::json_action!(
    /// `responses/list`: a bare array.
    list, "/api/v1/{client_id}/responses/list", AnyRole, svc::list, "a bare array of responses"
);
super::json_action!(
    /// `response/update`: the updated response.
    update, "/api/v1/{client_id}/response/update", Decide, svc::update, "the updated response"
);
super::json_action!(
    /// `responses/update`: the updated responses, in request order.
    update_many, "/api/v1/{client_id}/responses/update", Decide, svc::update_many,
    "the updated responses, in request order"
);
