//! Small input rules shared by several endpoints: usernames, local password policy and the
//! login `next` redirect target.

/// AWX's username rule: ≤ 150 characters of letters, digits and `@.+-_`.
pub fn username_valid(u: &str) -> bool {
    !u.is_empty()
        && u.chars().count() <= 150
        && u.chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '@' | '.' | '+' | '-' | '_'))
}

/// AWX's message for an invalid username.
pub const USERNAME_ERROR: &str = "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.";

/// The `LOCAL_PASSWORD_MIN_*` settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Minimum length in characters.
    pub min_length: u32,
    /// Minimum number of digits.
    pub min_digits: u32,
    /// Minimum number of uppercase characters.
    pub min_upper: u32,
    /// Minimum number of special (non-alphanumeric) characters.
    pub min_special: u32,
}

impl PasswordPolicy {
    /// AWX's messages for each rule `password` breaks, in AWX's order.
    pub fn violations(&self, password: &str) -> Vec<String> {
        let mut out = Vec::new();
        let count = |f: fn(&char) -> bool| {
            u32::try_from(password.chars().filter(f).count()).unwrap_or(u32::MAX)
        };
        let len = u32::try_from(password.chars().count()).unwrap_or(u32::MAX);
        if len < self.min_length {
            out.push(format!(
                "Password must be at least {} characters long.",
                self.min_length
            ));
        }
        if count(char::is_ascii_digit) < self.min_digits {
            out.push(format!(
                "Password must contain at least {} digits.",
                self.min_digits
            ));
        }
        if count(|c| c.is_uppercase()) < self.min_upper {
            out.push(format!(
                "Password must contain at least {} uppercase characters.",
                self.min_upper
            ));
        }
        if count(|c| !c.is_alphanumeric()) < self.min_special {
            out.push(format!(
                "Password must contain at least {} special characters.",
                self.min_special
            ));
        }
        out
    }
}

/// True when the login `next` value is a same-site relative path: it starts with a single
/// `/`, not `//` or `/\`, and holds no control characters.
pub fn next_is_safe(next: &str) -> bool {
    next.starts_with('/')
        && !next.starts_with("//")
        && !next.contains('\\')
        && !next.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// True when `next` is [safe](next_is_safe), or an absolute URL on exactly one of `origins`
/// (`scheme://host[:port]`, as configured): the origin must be followed by `/`, `?` or the end,
/// so `https://api.example.com.evil.test` and `https://api.example.com@evil.test` are refused
/// (`docs/gateway.md`, "Login redirects").
pub fn next_is_allowed(next: &str, origins: &[String]) -> bool {
    if next_is_safe(next) {
        return true;
    }
    if next.contains('\\') || next.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return false;
    }
    origins.iter().any(|o| {
        next.strip_prefix(o.as_str()).is_some_and(|rest| {
            rest.is_empty()
                || rest.starts_with('/') && !rest.starts_with("//")
                || rest.starts_with('?')
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(username_valid("admin"));
        assert!(username_valid("a.b+c-d_e@f"));
        assert!(!username_valid(""));
        assert!(!username_valid("a b"));
        assert!(!username_valid(&"a".repeat(151)));
    }

    #[test]
    fn password_policy_messages() {
        let p = PasswordPolicy {
            min_length: 12,
            min_digits: 1,
            min_upper: 1,
            min_special: 1,
        };
        assert_eq!(
            p.violations("abcde"),
            vec![
                "Password must be at least 12 characters long.",
                "Password must contain at least 1 digits.",
                "Password must contain at least 1 uppercase characters.",
                "Password must contain at least 1 special characters."
            ]
        );
        assert!(p.violations("Abcdefghij1!").is_empty());
    }

    #[test]
    fn next_targets() {
        assert!(next_is_safe("/api/"));
        assert!(!next_is_safe("//evil.example"));
        assert!(!next_is_safe("/\\evil.example"));
        assert!(!next_is_safe("https://evil.example/"));
        assert!(!next_is_safe("/api/\r\nX: y"));
        assert!(!next_is_safe("/\t/evil.test"));
        assert!(!next_is_safe("/a\\b"));
    }

    #[test]
    fn next_allow_list() {
        let origins = vec!["https://api.example.com".to_owned()];
        for bad in [
            "//evil.test",
            "/\\evil.test",
            "/\t/evil.test",
            "https://evil.test",
            "https://api.example.com.evil.test",
            "https://api.example.com@evil.test",
            "https://api.example.com//evil.test",
            "javascript:alert(1)",
            "%68%74%74%70%73://evil.test",
            "http://api.example.com/",
        ] {
            assert!(!next_is_allowed(bad, &origins), "{bad}");
        }
        for good in [
            "/read/x?a=1",
            "https://api.example.com",
            "https://api.example.com/read/x",
            "https://api.example.com?x=1",
        ] {
            assert!(next_is_allowed(good, &origins), "{good}");
        }
    }
}
