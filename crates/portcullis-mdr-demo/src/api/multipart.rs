//! `multipart/form-data` (RFC 7578) for `attachments/upload` and the SOC side's attachments.
//!
//! Policy: the body is streamed through [`multer`] under hard limits, so an oversized upload
//! costs at most the attachment limit plus room for the envelope and answers 413
//! `attachment too large`. Only what an upload needs is kept: the first `file` part (its
//! bytes and file name) and the first `meta` part; other parts are skipped unread.

use crate::service::attachments::{Upload, too_large};
use axum::extract::Request;
use axum::http::{StatusCode, header};
use multer::{Constraints, Multipart, SizeLimit};
use portcullis_server::api::mdr::error::{MdrError, MdrResult};

/// Room for boundaries, part headers and the `meta` part beyond the file itself.
const ENVELOPE_ALLOWANCE: usize = 64 * 1024;
/// Longest boundary accepted; RFC 2046 allows 70, this is lenient toward odd clients while
/// still refusing a boundary that would make the delimiter search costly.
const MAX_BOUNDARY: usize = 200;

/// The boundary of a `multipart/form-data` Content-Type, if it is one.
pub fn boundary(content_type: &str) -> Option<String> {
    multer::parse_boundary(content_type)
        .ok()
        .filter(|b| (1..=MAX_BOUNDARY).contains(&b.len()))
}

/// The error a multer failure answers with.
fn upload_error(e: &multer::Error) -> MdrError {
    match e {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => {
            too_large()
        }
        // The body itself broke off (not its syntax): answered as the JSON body reader
        // answers that, as before multer.
        multer::Error::StreamReadFailed(_) => {
            MdrError::bad_request("request body is not a JSON object")
        }
        _ => MdrError::bad_request("request body is not valid multipart/form-data"),
    }
}

/// Reads an upload request: parts `file` (required) and `meta` (optional here; the caller
/// decides). 415 unless `multipart/form-data`; 413 `attachment too large` past
/// `max_size`.
///
/// The `file` part's name comes from its plain `filename`: multer does not read the RFC
/// 5987 `filename*`, which RFC 7578 §4.2 forbids in form data anyway.
pub async fn read_upload(req: Request, max_size: usize) -> MdrResult<Upload> {
    let boundary = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(boundary)
        .ok_or_else(|| {
            MdrError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported content type",
            )
        })?;
    let as_u64 = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
    let whole = max_size.saturating_add(ENVELOPE_ALLOWANCE);
    // A declared length above what could ever be accepted is refused before reading.
    if portcullis_server::extract::body::declared_over(req.body(), whole) {
        return Err(too_large());
    }
    let limits = SizeLimit::new()
        .whole_stream(as_u64(whole))
        .for_field("file", as_u64(max_size));
    let mut multipart = Multipart::with_constraints(
        req.into_body().into_data_stream(),
        boundary,
        Constraints::new().size_limit(limits),
    );
    let mut file = None;
    let mut meta = None;
    // Read to the closing delimiter even once both parts are in: a body that turns out
    // malformed later is refused as a whole.
    while let Some(field) = multipart.next_field().await.map_err(|e| upload_error(&e))? {
        match field.name() {
            Some("file") if file.is_none() => {
                let file_name = field.file_name().map(str::to_owned);
                let bytes = field.bytes().await.map_err(|e| upload_error(&e))?;
                file = Some((file_name, Vec::from(bytes)));
            }
            Some("meta") if meta.is_none() => {
                let bytes = field.bytes().await.map_err(|e| upload_error(&e))?;
                meta = Some(Vec::from(bytes));
            }
            _ => {}
        }
    }
    let (file_name, bytes) = file.ok_or_else(|| MdrError::required("file"))?;
    Ok(Upload {
        file_name,
        bytes,
        meta,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    /// `read_upload` of `body` under Content-Type `content_type`.
    async fn read(content_type: &str, body: &[u8], max_size: usize) -> MdrResult<Upload> {
        let req = Request::builder()
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body.to_vec()))
            .unwrap();
        read_upload(req, max_size).await
    }

    /// The status and message of a refused upload.
    fn refused(r: MdrResult<Upload>) -> (StatusCode, String) {
        let e = r.unwrap_err();
        (e.status(), e.message().to_owned())
    }

    #[test]
    fn boundary_of_content_type() {
        assert_eq!(
            boundary("multipart/form-data; boundary=abc123").as_deref(),
            Some("abc123")
        );
        assert_eq!(
            boundary("Multipart/Form-Data; charset=utf-8; boundary=\"a;b\"").as_deref(),
            Some("a;b")
        );
        assert_eq!(boundary("application/json"), None);
        assert_eq!(boundary("multipart/form-data"), None);
        let long = "b".repeat(MAX_BOUNDARY + 1);
        assert_eq!(
            boundary(&format!("multipart/form-data; boundary={long}")),
            None
        );
    }

    #[tokio::test]
    async fn parts_and_file_names() {
        let body = b"preamble\r\n--XX\r\nContent-Disposition: form-data; name=\"meta\"\r\n\r\n{\"a\":1}\r\n--XX\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nskipped\r\n--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r\\\"e.txt\"\r\nContent-Type: text/plain\r\n\r\nline1\r\nline2\r\n--XX--\r\n";
        let up = read("multipart/form-data; boundary=XX", body, 1024)
            .await
            .unwrap();
        assert_eq!(up.meta.as_deref(), Some(b"{\"a\":1}".as_slice()));
        assert_eq!(up.file_name.as_deref(), Some("r\"e.txt"));
        assert_eq!(up.bytes, b"line1\r\nline2");
    }

    #[tokio::test]
    async fn plain_file_name_and_empty_part() {
        // multer reads the plain `filename` only; `filename*` does not override it.
        let body = b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"; filename*=UTF-8''%C3%A4.bin\r\n\r\n\r\n--b--";
        let up = read("multipart/form-data; boundary=b", body, 1024)
            .await
            .unwrap();
        assert_eq!(up.file_name.as_deref(), Some("x"));
        assert!(up.bytes.is_empty());
        assert_eq!(up.meta, None);
    }

    #[tokio::test]
    async fn not_multipart() {
        let unsupported = (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported content type".to_owned(),
        );
        assert_eq!(
            refused(read("application/json", b"{}", 1024).await),
            unsupported
        );
        assert_eq!(
            refused(read("multipart/form-data", b"--b--", 1024).await),
            unsupported
        );
    }

    #[tokio::test]
    async fn malformed() {
        let malformed = (
            StatusCode::BAD_REQUEST,
            "request body is not valid multipart/form-data".to_owned(),
        );
        let ct = "multipart/form-data; boundary=b";
        assert_eq!(refused(read(ct, b"--b\r\nno end", 1024).await), malformed);
        assert_eq!(refused(read(ct, b"nothing", 1024).await), malformed);
        // A well-formed first part does not save a broken rest.
        let body =
            b"--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nx\r\n--b\r\nno end";
        assert_eq!(refused(read(ct, body, 1024).await), malformed);
    }

    #[tokio::test]
    async fn file_required() {
        let body = b"--b\r\nContent-Disposition: form-data; name=\"meta\"\r\n\r\n{}\r\n--b--\r\n";
        assert_eq!(
            refused(read("multipart/form-data; boundary=b", body, 1024).await),
            (StatusCode::BAD_REQUEST, "'file' is required".to_owned())
        );
    }

    #[tokio::test]
    async fn oversized() {
        let ct = "multipart/form-data; boundary=b";
        let part = |name: &str, data: &[u8]| {
            let mut out = format!(
                "--b\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"f\"\r\n\r\n"
            )
            .into_bytes();
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
            out
        };
        let too_large = (
            StatusCode::PAYLOAD_TOO_LARGE,
            "attachment too large".to_owned(),
        );
        // The file part at the limit passes; one byte more does not.
        let mut body = part("file", &[7; 16]);
        body.extend_from_slice(b"--b--\r\n");
        assert_eq!(read(ct, &body, 16).await.unwrap().bytes.len(), 16);
        let mut body = part("file", &[7; 17]);
        body.extend_from_slice(b"--b--\r\n");
        assert_eq!(refused(read(ct, &body, 16).await), too_large);
        // The body as a whole past the limit plus the envelope allowance, whatever the part.
        let mut body = part("other", &vec![7; ENVELOPE_ALLOWANCE + 17]);
        body.extend_from_slice(&part("file", b"x"));
        body.extend_from_slice(b"--b--\r\n");
        assert_eq!(refused(read(ct, &body, 16).await), too_large);
    }

    #[tokio::test]
    async fn body_breaks_off() {
        let body = b"--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nx\r\n--b--\r\n";
        // A body that fails while being read, here by its own length limit.
        let broken = http_body_util::Limited::new(
            http_body_util::Full::new(axum::body::Bytes::from_static(body)),
            8,
        );
        let req = Request::builder()
            .header(header::CONTENT_TYPE, "multipart/form-data; boundary=b")
            .body(Body::new(broken))
            .unwrap();
        assert_eq!(
            refused(read_upload(req, 1024).await),
            (
                StatusCode::BAD_REQUEST,
                "request body is not a JSON object".to_owned()
            )
        );
    }
}
