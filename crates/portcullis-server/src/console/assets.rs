//! The console's static files, compiled into the binary (`docs/console.md`, "Assets"): htmx
//! (vendored, version in the name, licence beside it), the console's script and stylesheet.
//! Nothing is fetched from elsewhere at run time, and no build step produces them.

use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The files: name, content type, bytes.
const FILES: [(&str, &str, &[u8]); 4] = [
    (
        "htmx-2.0.11.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/console/htmx-2.0.11.min.js"),
    ),
    (
        "htmx-LICENSE.txt",
        "text/plain; charset=utf-8",
        include_bytes!("../../static/console/htmx-LICENSE.txt"),
    ),
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../static/console/console.js"),
    ),
    (
        "console.css",
        "text/css; charset=utf-8",
        include_bytes!("../../static/console/console.css"),
    ),
];

/// `GET /console/static/{name}`: one of the files above, or 404.
pub async fn serve(Path(name): Path<String>) -> Response {
    let Some((_, kind, bytes)) = FILES.iter().find(|(n, _, _)| *n == name) else {
        return (StatusCode::NOT_FOUND, "no such file").into_response();
    };
    let mut resp = (StatusCode::OK, *bytes).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    // An hour: short enough that an upgrade is picked up the same day without versioned names.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    resp
}
