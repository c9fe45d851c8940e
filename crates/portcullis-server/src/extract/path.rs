//! The path-parameter extractor of the AWX views. Its rejection is an [`ApiError`], so a segment
//! that is not valid UTF-8 after percent-decoding gets a 400 in AWX's JSON shape
//! (`docs/security.md`, "Input handling": every 4xx carries the surface's own error body), not
//! axum's plain text.

use crate::error::ApiError;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

/// Path parameters, deserialised like [`axum::extract::Path`].
#[derive(Debug, Clone)]
pub struct AwxPath<T>(pub T);

impl<T, S> FromRequestParts<S> for AwxPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(v)) => Ok(Self(v)),
            Err(PathRejection::FailedToDeserializePathParams(_)) => Err(ApiError::BadRequest(
                "Invalid path: a segment is not valid UTF-8.".into(),
            )),
            // A route without the parameter its handler reads is a defect, not bad input.
            Err(e) => Err(ApiError::Internal(format!("path parameters: {e}"))),
        }
    }
}
