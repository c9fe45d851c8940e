//! `multipart/form-data` (RFC 7578) for `attachments/upload` and the SOC side's attachments.
//!
//! Policy: the whole body is read under a hard limit (the attachment limit plus room for the
//! envelope) before it is split, so an oversized upload costs at most that much memory and
//! answers 413 `attachment too large`. Only what an upload needs is understood: part names,
//! file names (`filename` and RFC 5987 `filename*`) and the bytes.

use crate::api::mdr::body::read_limited;
use crate::api::mdr::error::{MdrError, MdrResult};
use crate::service::mdr_resources::attachments::{Upload, too_large};
use axum::extract::Request;
use axum::http::{StatusCode, header};

/// Room for boundaries, part headers and the `meta` part beyond the file itself.
const ENVELOPE_ALLOWANCE: usize = 64 * 1024;

/// One part of a multipart body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// `name` of its `Content-Disposition`.
    pub name: String,
    /// `filename` (or `filename*`), if any.
    pub file_name: Option<String>,
    /// The bytes.
    pub data: Vec<u8>,
}

/// The boundary of a `multipart/form-data` Content-Type, if it is one.
pub fn boundary(content_type: &str) -> Option<String> {
    let mut items = split_params(content_type).into_iter();
    let essence = items.next()?;
    if !essence.trim().eq_ignore_ascii_case("multipart/form-data") {
        return None;
    }
    items
        .filter_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim()
                .eq_ignore_ascii_case("boundary")
                .then(|| unquote(v.trim()))
        })
        .find(|b| (1..=200).contains(&b.len()))
}

/// Splits on `;` outside double quotes.
fn split_params(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            cur.push(c);
            escaped = false;
            continue;
        }
        match c {
            '\\' if quoted => {
                cur.push(c);
                escaped = true;
            }
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            ';' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// A parameter value without its quotes and escapes.
fn unquote(v: &str) -> String {
    let Some(inner) = v.strip_prefix('"').and_then(|s| s.strip_suffix('"')) else {
        return v.to_owned();
    };
    let mut out = String::with_capacity(inner.len());
    let mut escaped = false;
    for c in inner.chars() {
        if escaped {
            out.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else {
            out.push(c);
        }
    }
    out
}

fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    haystack
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

/// `name` and file name from a part's header block.
fn disposition(headers: &[u8]) -> Option<(String, Option<String>)> {
    let text = String::from_utf8_lossy(headers);
    let line = text.split("\r\n").find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case("content-disposition")
            .then(|| v.to_owned())
    })?;
    let mut name = None;
    let mut plain = None;
    let mut extended = None;
    for p in split_params(&line).into_iter().skip(1) {
        let Some((k, v)) = p.split_once('=') else {
            continue;
        };
        let k = k.trim().to_ascii_lowercase();
        let v = v.trim();
        match k.as_str() {
            "name" => name = Some(unquote(v)),
            "filename" => plain = Some(unquote(v)),
            "filename*" => extended = ext_value(v),
            _ => {}
        }
    }
    Some((name?, extended.or(plain)))
}

/// An RFC 5987 `charset'lang'percent-encoded` value (UTF-8 only).
fn ext_value(v: &str) -> Option<String> {
    let mut it = v.splitn(3, '\'');
    let charset = it.next()?;
    let _lang = it.next()?;
    let encoded = it.next()?;
    if !charset.eq_ignore_ascii_case("utf-8") {
        return None;
    }
    percent_encoding::percent_decode_str(encoded)
        .decode_utf8()
        .ok()
        .map(|s| s.into_owned())
}

/// Splits a multipart body; `None` if it is not well formed.
pub fn parse(body: &[u8], boundary: &str) -> Option<Vec<Part>> {
    let delimiter = format!("--{boundary}").into_bytes();
    let mut close = b"\r\n".to_vec();
    close.extend_from_slice(&delimiter);
    // The first delimiter may follow a preamble.
    let mut pos = if body.starts_with(&delimiter) {
        0
    } else {
        find(body, &close, 0)? + 2
    };
    let mut parts = Vec::new();
    loop {
        pos += delimiter.len();
        if body.get(pos..pos + 2) == Some(b"--".as_slice()) {
            return Some(parts);
        }
        while matches!(body.get(pos), Some(b' ' | b'\t')) {
            pos += 1;
        }
        if body.get(pos..pos + 2) != Some(b"\r\n".as_slice()) {
            return None;
        }
        // Search from the line break after the delimiter, so an empty header block matches.
        let header_end = find(body, b"\r\n\r\n", pos)?;
        let headers = body.get(pos + 2..header_end.max(pos + 2))?;
        let start = header_end + 4;
        let end = find(body, &close, start)?;
        let data = body.get(start..end)?.to_vec();
        if let Some((name, file_name)) = disposition(headers) {
            parts.push(Part {
                name,
                file_name,
                data,
            });
        }
        pos = end + 2;
    }
}

/// Reads an upload request: parts `file` (required) and `meta` (optional here; the caller
/// decides). 415 unless `multipart/form-data`; 413 `attachment too large` past
/// `max_size`.
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
    let limit = max_size.saturating_add(ENVELOPE_ALLOWANCE);
    let bytes = read_limited(req.into_body(), limit).await.map_err(|e| {
        if e.status == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            e
        }
    })?;
    let parts = parse(&bytes, &boundary)
        .ok_or_else(|| MdrError::bad_request("request body is not valid multipart/form-data"))?;
    let mut file = None;
    let mut meta = None;
    for p in parts {
        match p.name.as_str() {
            "file" if file.is_none() => file = Some(p),
            "meta" if meta.is_none() => meta = Some(p.data),
            _ => {}
        }
    }
    let file = file.ok_or_else(|| MdrError::required("file"))?;
    if file.data.len() > max_size {
        return Err(too_large());
    }
    Ok(Upload {
        file_name: file.file_name,
        bytes: file.data,
        meta,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }

    #[test]
    fn parts_and_file_names() {
        let body = b"preamble\r\n--XX\r\nContent-Disposition: form-data; name=\"meta\"\r\n\r\n{\"a\":1}\r\n--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"r\\\"e.txt\"\r\nContent-Type: text/plain\r\n\r\nline1\r\nline2\r\n--XX--\r\n";
        let parts = parse(body, "XX").unwrap_or_default();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts.first().map(|p| p.name.as_str()), Some("meta"));
        assert_eq!(
            parts.first().map(|p| p.data.as_slice()),
            Some(b"{\"a\":1}".as_slice())
        );
        let file = parts.get(1);
        assert_eq!(file.and_then(|p| p.file_name.as_deref()), Some("r\"e.txt"));
        assert_eq!(
            file.map(|p| p.data.as_slice()),
            Some(b"line1\r\nline2".as_slice())
        );
    }

    #[test]
    fn extended_file_name_and_empty_part() {
        let body = b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"; filename*=UTF-8''%C3%A4.bin\r\n\r\n\r\n--b--";
        let parts = parse(body, "b").unwrap_or_default();
        assert_eq!(
            parts.first().and_then(|p| p.file_name.as_deref()),
            Some("ä.bin")
        );
        assert_eq!(parts.first().map(|p| p.data.len()), Some(0));
    }

    #[test]
    fn malformed() {
        assert_eq!(parse(b"--b\r\nno end", "b"), None);
        assert_eq!(parse(b"nothing", "b"), None);
    }
}
