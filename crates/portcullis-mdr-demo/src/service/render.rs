//! Output shaping (`docs/mdr-api.md`, "Common request keys", "Behaviour"): `markdown_to_html` and
//! the removal of stored bookkeeping keys.
//!
//! Policy: rich text is stored as the Markdown source sent; HTML is rendered only on the way
//! out and always sanitised (no script, no event attributes, no `javascript:` links), so a
//! comment cannot attack whatever console displays it.

use super::keys::Obj;
use pulldown_cmark::{Options, Parser, html};
use serde_json::Value;

/// Keys that hold rich text.
const RICH_TEXT: [&str; 3] = ["description", "status_description", "text"];
/// Embedded arrays whose elements carry rich text too.
const EMBEDDED: [&str; 2] = ["comments", "responses"];

/// Sanitised HTML rendered from Markdown, without the trailing newline.
pub fn markdown_to_html(source: &str) -> String {
    let parser = Parser::new_ext(
        source,
        Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
    );
    let mut raw = String::with_capacity(source.len().saturating_mul(2));
    html::push_html(&mut raw, parser);
    ammonia::clean(&raw).trim_end_matches('\n').to_owned()
}

/// Rewrites the rich-text keys of `obj` (and of its embedded comments and responses) as HTML.
pub fn html_fields(obj: &mut Obj) {
    for key in RICH_TEXT {
        if let Some(Value::String(s)) = obj.get_mut(key) {
            *s = markdown_to_html(s);
        }
    }
    for key in EMBEDDED {
        if let Some(Value::Array(items)) = obj.get_mut(key) {
            for item in items {
                if let Value::Object(o) = item {
                    html_fields(o);
                }
            }
        }
    }
}

/// Prefix of stored bookkeeping keys that never go on the wire.
pub const INTERNAL_PREFIX: char = '_';

/// `value` as an object without its bookkeeping keys.
pub fn public_object(value: Value) -> Obj {
    match value {
        Value::Object(m) => m
            .into_iter()
            .filter(|(k, _)| !k.starts_with(INTERNAL_PREFIX))
            .collect(),
        _ => Obj::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paragraph() {
        assert_eq!(
            markdown_to_html("hello **world**"),
            "<p>hello <strong>world</strong></p>"
        );
    }

    #[test]
    fn sanitised() {
        let h = markdown_to_html("<script>alert(1)</script><img src=x onerror=alert(1)>");
        assert!(!h.contains("<script"), "{h}");
        assert!(!h.contains("onerror"), "{h}");
        let h = markdown_to_html(
            "see [a](javascript:alert(1)) and <a href=\"#\" onclick=\"x()\">b</a>",
        );
        assert!(!h.contains("javascript:"), "{h}");
        assert!(!h.contains("onclick"), "{h}");
    }

    #[test]
    fn nested_comments() {
        let mut o = match json!({"description": "*a*", "comments": [{"text": "b"}], "summary": "*s*"})
        {
            Value::Object(m) => m,
            _ => Obj::new(),
        };
        html_fields(&mut o);
        assert_eq!(
            Value::Object(o),
            json!({"description": "<p><em>a</em></p>", "comments": [{"text": "<p>b</p>"}], "summary": "*s*"})
        );
    }
}
