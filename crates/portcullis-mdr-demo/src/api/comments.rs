//! `comments/list`, `comments/create`, `comments/delete`.

use crate::service::comments as svc;
use portcullis_server::api::mdr::caller::AnyRole;

super::json_action!(
    /// `comments/list`: a bare array, oldest first.
    list, "/api/v1/{client_id}/comments/list", AnyRole, svc::list, "a bare array of comments, oldest first"
);
super::json_action!(
    /// `comments/create`: the created comment.
    create, "/api/v1/{client_id}/comments/create", AnyRole, svc::create, "the created comment"
);
super::json_action!(
    /// `comments/delete`: `{}`.
    delete, "/api/v1/{client_id}/comments/delete", AnyRole, svc::delete, "`{}`"
);
