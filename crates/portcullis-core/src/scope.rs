//! OAuth2 scopes of the AWX surface: `read` and `write`, where `write` includes `read`.

use std::fmt;

/// AWX's exact validation message for a bad scope string.
pub const SCOPE_ERROR: &str =
    "Must be a simple space-separated string with allowed scopes ['read', 'write'].";

/// A validated scope set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope {
    read: bool,
    write: bool,
}

impl Scope {
    /// `read` only: safe methods.
    pub const READ: Self = Self {
        read: true,
        write: false,
    };
    /// `write` (implies read).
    pub const WRITE: Self = Self {
        read: false,
        write: true,
    };
    /// `read write`.
    pub const READ_WRITE: Self = Self {
        read: true,
        write: true,
    };

    /// Parses a non-empty, space-separated set of `read`/`write` without repeats, at most
    /// 64 bytes. Anything else is `None`.
    pub fn parse(s: &str) -> Option<Self> {
        if s.is_empty() || s.len() > 64 {
            return None;
        }
        let mut scope = Self {
            read: false,
            write: false,
        };
        for word in s.split(' ') {
            let slot = match word {
                "read" => &mut scope.read,
                "write" => &mut scope.write,
                _ => return None,
            };
            if *slot {
                return None; // repeats are refused, as AWX does
            }
            *slot = true;
        }
        Some(scope)
    }

    /// True when this scope allows unsafe methods.
    pub fn allows_write(&self) -> bool {
        self.write
    }

    /// True when `method` (upper case) is allowed under this scope: a scope without `write`
    /// may only use GET, HEAD and OPTIONS.
    pub fn allows_method(&self, method: &str) -> bool {
        self.write || matches!(method, "GET" | "HEAD" | "OPTIONS")
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.read, self.write) {
            (true, true) => f.write_str("read write"),
            (false, true) => f.write_str("write"),
            _ => f.write_str("read"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn valid_and_invalid_scopes() {
        assert_eq!(Scope::parse("read"), Some(Scope::READ));
        assert_eq!(Scope::parse("write"), Some(Scope::WRITE));
        assert_eq!(Scope::parse("read write"), Some(Scope::READ_WRITE));
        assert_eq!(Scope::parse("write read"), Some(Scope::READ_WRITE));
        for bad in ["", "admin", "read read", "read  write", " read", "READ"] {
            assert_eq!(Scope::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn read_scope_allows_only_safe_methods() {
        assert!(Scope::READ.allows_method("GET"));
        assert!(Scope::READ.allows_method("OPTIONS"));
        assert!(!Scope::READ.allows_method("POST"));
        assert!(Scope::WRITE.allows_method("DELETE"));
    }

    proptest! {
        #[test]
        fn parse_format_is_identity(s in prop_oneof!["read", "write", "read write"]) {
            let parsed = Scope::parse(&s).unwrap();
            prop_assert_eq!(Scope::parse(&parsed.to_string()), Some(parsed));
        }
        #[test]
        fn junk_never_panics(s in ".{0,100}") { let _ = Scope::parse(&s); }
    }
}
