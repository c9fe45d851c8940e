//! Input limits that hyper does not enforce per field (`docs/security.md`, "Input handling"):
//! request line length (414), one header field and the whole header section (431), exactly one
//! `Authorization` header (400), no NUL in the path or query (400), and the body read timeout
//! (408). The listener additionally caps the read buffer and the header count, so oversized header
//! sections never reach this layer whole. Body sizes are checked by the body readers, which know
//! each endpoint's limit ([`crate::extract::body`]).

use crate::api::mdr::error::MdrError;
use crate::config::LimitsConfig;
use crate::error::ApiError;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper::body::{Frame, SizeHint};
use std::future::Future as _;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

/// Checks the limits before anything else reads the request; `Err` is the answer to send.
pub fn check(l: &LimitsConfig, req: &Request) -> Result<(), ApiError> {
    let uri_len = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if uri_len > l.max_uri_bytes {
        return Err(ApiError::UriTooLong);
    }
    let headers = req.headers();
    if headers.len() > l.max_headers {
        return Err(ApiError::HeadersTooLarge);
    }
    let mut total = 0usize;
    for (name, value) in headers {
        let size = name.as_str().len() + value.len();
        if size > l.max_header_field_bytes {
            return Err(ApiError::HeadersTooLarge);
        }
        total += size + 4;
    }
    if total > l.max_header_bytes {
        return Err(ApiError::HeadersTooLarge);
    }
    if headers.get_all(header::AUTHORIZATION).iter().count() > 1 {
        return Err(ApiError::BadRequest(
            "Only one Authorization header is allowed.".into(),
        ));
    }
    Ok(())
}

/// The error dialect of the surface a path belongs to, for the refusals the envelope makes before
/// any handler runs (`docs/security.md`, "Failure answers by surface": every 4xx in the surface's
/// own shape).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// The AWX API and its form views: `{"detail": …}`.
    Awx,
    /// `/api/o/`: RFC 6749 `{"error": "invalid_request", …}`.
    OAuth,
    /// The console's JSON API and the JWKS: `{"error": …}`.
    Mdr,
    /// The MDR client API (`/api/v1/…`): `{"error": …}`, and its own path rules.
    MdrApi,
}

impl Surface {
    /// The surface's name in metrics.
    pub fn label(self) -> &'static str {
        match self {
            Self::Awx => "awx",
            Self::OAuth => "oauth",
            Self::Mdr => "console",
            Self::MdrApi => "mdr",
        }
    }

    /// The surface serving `path`.
    pub fn of(path: &str) -> Self {
        if crate::api::mdr::is_mdr_path(path) {
            Self::MdrApi
        } else if path == "/api/o" || path.starts_with("/api/o/") {
            Self::OAuth
        } else if path.starts_with("/console/") || path.starts_with("/.well-known/") {
            Self::Mdr
        } else {
            Self::Awx
        }
    }
}

/// 400 when the percent-decoded path or query holds a NUL (see [`crate::extract::nul`]), so
/// no handler, filter or store ever sees one.
///
/// The MDR client API is left to its own rules: query parameters are ignored there
/// (`docs/mdr-api.md`, "Surface conventions"), and a NUL in the path fails the Client ID syntax or
/// the action table, which answer 404 `not found` (`docs/mdr-api.md`, "Objects and identifiers")
/// before anything is looked up.
pub fn refuse_nul(surface: Surface, req: &Request) -> Option<Response> {
    if surface == Surface::MdrApi {
        return None;
    }
    let pq = req.uri().path_and_query().map_or("", |p| p.as_str());
    if !crate::extract::nul::in_uri(pq) {
        return None;
    }
    Some(match surface {
        Surface::Awx | Surface::MdrApi => {
            ApiError::BadRequest(crate::error::NUL_REFUSED.into()).into_response()
        }
        Surface::OAuth => crate::api::awx::oauth::NUL_REFUSED.into_response(),
        Surface::Mdr => MdrError::nul_refused().into_response(),
    })
}

/// The body outlived the body read timeout.
#[derive(Debug, thiserror::Error)]
#[error("request body not received within the body read timeout")]
pub struct BodyTimedOut;

/// A request body with a deadline (`docs/security.md`, "Input handling", "body within 30 s"). The
/// time counts from the first read, so work a handler does before it reads (authentication, a
/// password hash) is not charged to the client. When the deadline passes before the body has
/// arrived, the read fails and `fired` is set, so the envelope can answer 408 whatever the reader
/// made of the failed read.
struct TimedBody {
    inner: Body,
    timeout: Duration,
    /// Set at the first read.
    deadline: Option<tokio::time::Instant>,
    /// Created on the first wait only: a body that is already in the buffer costs no timer.
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    fired: Arc<AtomicBool>,
}

impl HttpBody for TimedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let deadline = *this
            .deadline
            .get_or_insert_with(|| tokio::time::Instant::now() + this.timeout);
        if let Poll::Ready(frame) = Pin::new(&mut this.inner).poll_frame(cx) {
            return Poll::Ready(frame);
        }
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => {
                this.fired.store(true, Ordering::Relaxed);
                Poll::Ready(Some(Err(axum::Error::new(BodyTimedOut))))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Puts the body read deadline on `req`'s body; the flag says whether it passed. A request
/// without a body gets none (and no timer).
pub fn arm_body_deadline(req: &mut Request, timeout: Duration) -> Option<Arc<AtomicBool>> {
    if req.body().is_end_stream() {
        return None;
    }
    let fired = Arc::new(AtomicBool::new(false));
    let inner = std::mem::take(req.body_mut());
    *req.body_mut() = Body::new(TimedBody {
        inner,
        timeout,
        deadline: None,
        sleep: None,
        fired: fired.clone(),
    });
    Some(fired)
}

/// The 408 for a body that did not arrive in time, in `surface`'s dialect, closing the
/// connection (the rest of the body may still be on its way; the connection cannot be
/// reused).
pub fn body_timeout(surface: Surface) -> Response {
    let mut resp = match surface {
        Surface::Awx => ApiError::BodyTimeout.into_response(),
        Surface::OAuth => crate::api::awx::oauth::OAuthError::BodyTimeout.into_response(),
        Surface::Mdr | Surface::MdrApi => {
            MdrError::new(StatusCode::REQUEST_TIMEOUT, BODY_TIMEOUT_MDR).into_response()
        }
    };
    resp.headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    resp
}

/// The MDR dialect's 408 text.
const BODY_TIMEOUT_MDR: &str = "request body not received in time";
