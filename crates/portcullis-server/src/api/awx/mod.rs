//! The AWX / Astra Automation Controller-compatible API (`docs/awx-compat.md`).

pub mod activity;
pub mod applications;
pub mod discovery;
pub mod filter;
pub mod login;
pub mod me;
pub mod oauth;
pub mod options;
pub mod organizations;
pub mod paging;
pub mod render;
pub mod resources;
pub mod response;
pub mod settings;
pub mod tokens;
pub mod users;

/// A path id: one or more ASCII digits naming a positive id (AWX's `[0-9]+` URL patterns);
/// anything else names no object (404, never a 400 or 500).
pub fn parse_id(segment: &str) -> crate::error::ApiResult<i64> {
    if segment.is_empty() || !segment.bytes().all(|b| b.is_ascii_digit()) {
        return Err(crate::error::ApiError::NotFound);
    }
    segment
        .parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or(crate::error::ApiError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::parse_id;
    use crate::error::ApiError;

    #[test]
    fn ids_are_positive_digit_strings() {
        assert_eq!(parse_id("12"), Ok(12));
        assert_eq!(parse_id("1x"), Err(ApiError::NotFound));
        assert_eq!(parse_id("+5"), Err(ApiError::NotFound));
        assert_eq!(parse_id("0"), Err(ApiError::NotFound));
        assert_eq!(parse_id(""), Err(ApiError::NotFound));
        assert_eq!(parse_id("99999999999999999999"), Err(ApiError::NotFound));
    }
}
