//! When to exchange (C4). Pure functions of the stored tokens and `now`, so the decision is
//! tested without a clock or a server.

use crate::store::StoredTokens;

/// How early tokens are renewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Margins {
    /// Exchange when the access token has less than this many seconds left (default 300).
    pub access: i64,
    /// Exchange when the refresh token has less than this many seconds left (default 24 h),
    /// so an integration that runs at least daily never lets its chain expire.
    pub refresh: i64,
}

impl Default for Margins {
    fn default() -> Self {
        Self {
            access: 300,
            refresh: 86_400,
        }
    }
}

/// Why an exchange is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExchangeReason {
    /// The store holds no access token.
    AccessAbsent,
    /// The stored access token cannot be decoded.
    AccessUnreadable,
    /// The access token expires within the access margin.
    AccessExpiring,
    /// The refresh token expires within the refresh margin.
    RefreshExpiring,
}

impl std::fmt::Display for ExchangeReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::AccessAbsent => "no access token stored",
            Self::AccessUnreadable => "the access token cannot be decoded",
            Self::AccessExpiring => "the access token expires within the refresh margin",
            Self::RefreshExpiring => "the refresh token expires within the refresh-token margin",
        })
    }
}

/// Whether the next call must exchange first, and why. A refresh token whose payload cannot
/// be read does not force an exchange: the server is the judge of it.
pub fn exchange_needed(
    tokens: &StoredTokens,
    now: i64,
    margins: &Margins,
) -> Option<ExchangeReason> {
    match &tokens.access_token {
        None => return Some(ExchangeReason::AccessAbsent),
        Some(at) => match at.claims() {
            Err(_) => return Some(ExchangeReason::AccessUnreadable),
            Ok(c) if c.remaining(now) < margins.access => {
                return Some(ExchangeReason::AccessExpiring);
            }
            Ok(_) => {}
        },
    }
    match tokens.refresh_token.claims() {
        Ok(c) if c.remaining(now) < margins.refresh => Some(ExchangeReason::RefreshExpiring),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::Token;
    use crate::token::tests::token_exp;

    const NOW: i64 = 1_800_000_000;

    fn tokens(access_left: Option<i64>, refresh_left: i64) -> StoredTokens {
        StoredTokens {
            client_id: "abcdefgh".into(),
            base_url: None,
            refresh_token: token_exp(NOW + refresh_left, "r"),
            access_token: access_left.map(|s| token_exp(NOW + s, "a")),
        }
    }

    #[test]
    fn fresh_tokens_need_no_exchange() {
        let m = Margins::default();
        assert_eq!(
            exchange_needed(&tokens(Some(3600), 7 * 86_400), NOW, &m),
            None
        );
        // Exactly at the margin is still enough.
        assert_eq!(exchange_needed(&tokens(Some(300), 86_400), NOW, &m), None);
    }

    #[test]
    fn absent_or_unreadable_access_token_exchanges() {
        let m = Margins::default();
        assert_eq!(
            exchange_needed(&tokens(None, 7 * 86_400), NOW, &m),
            Some(ExchangeReason::AccessAbsent)
        );
        let mut t = tokens(Some(3600), 7 * 86_400);
        t.access_token = Some(Token::new("garbage").unwrap());
        assert_eq!(
            exchange_needed(&t, NOW, &m),
            Some(ExchangeReason::AccessUnreadable)
        );
    }

    #[test]
    fn access_token_within_the_margin_exchanges() {
        let m = Margins::default();
        assert_eq!(
            exchange_needed(&tokens(Some(299), 7 * 86_400), NOW, &m),
            Some(ExchangeReason::AccessExpiring)
        );
        assert_eq!(
            exchange_needed(&tokens(Some(-10), 7 * 86_400), NOW, &m),
            Some(ExchangeReason::AccessExpiring)
        );
        // A margin larger than the access lifetime makes every call exchange.
        let big = Margins {
            access: 7200,
            refresh: 0,
        };
        assert_eq!(
            exchange_needed(&tokens(Some(3600), 7 * 86_400), NOW, &big),
            Some(ExchangeReason::AccessExpiring)
        );
    }

    #[test]
    fn refresh_token_within_its_margin_exchanges_even_with_a_fresh_access_token() {
        let m = Margins::default();
        assert_eq!(
            exchange_needed(&tokens(Some(3600), 86_399), NOW, &m),
            Some(ExchangeReason::RefreshExpiring)
        );
        let no_refresh_margin = Margins {
            access: 300,
            refresh: 0,
        };
        assert_eq!(
            exchange_needed(&tokens(Some(3600), 10), NOW, &no_refresh_margin),
            None
        );
    }

    #[test]
    fn unreadable_refresh_token_is_left_to_the_server() {
        let mut t = tokens(Some(3600), 7 * 86_400);
        t.refresh_token = Token::new("opaque").unwrap();
        assert_eq!(exchange_needed(&t, NOW, &Margins::default()), None);
    }
}
