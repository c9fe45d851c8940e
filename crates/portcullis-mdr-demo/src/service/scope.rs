//! Tenant scope (`docs/mdr-api.md`, "Roles and tenant scope"): which of a customer's objects a
//! caller may see.
//!
//! Policy: the scope is a list of tenant names, possibly with `"Root without tenants"` for
//! objects that belong to no tenant; an empty list is the whole customer. Names that no
//! longer name a tenant grant nothing.

use portcullis_core::mdr::ROOT_WITHOUT_TENANTS;
use portcullis_store::TenantRecord;
use std::collections::{HashMap, HashSet};

/// A caller's scope over one customer's tenants.
#[derive(Debug, Clone)]
pub struct Scope {
    /// Every tenant of the customer: id → name.
    names: HashMap<String, String>,
    /// Tenant ids in scope; `None` = every tenant and the root.
    allowed: Option<HashSet<String>>,
    /// Whether untenanted objects are in scope (when `allowed` is `Some`).
    root: bool,
}

impl Scope {
    /// The whole customer.
    pub fn whole(tenants: Vec<TenantRecord>) -> Self {
        Self {
            names: Self::index(tenants),
            allowed: None,
            root: true,
        }
    }

    /// The scope of a connection whose tenant list is `scope` (empty = whole customer).
    pub fn limited(tenants: Vec<TenantRecord>, scope: &[String]) -> Self {
        if scope.is_empty() {
            return Self::whole(tenants);
        }
        let names = Self::index(tenants);
        let allowed = names
            .iter()
            .filter(|(_, name)| scope.iter().any(|s| s == *name))
            .map(|(id, _)| id.clone())
            .collect();
        Self {
            names,
            allowed: Some(allowed),
            root: scope.iter().any(|s| s == ROOT_WITHOUT_TENANTS),
        }
    }

    fn index(tenants: Vec<TenantRecord>) -> HashMap<String, String> {
        tenants
            .into_iter()
            .map(|t| (t.tenant_id, t.tenant_name))
            .collect()
    }

    /// Whether an object of tenant `tenant_id` (`None` = root) is in scope.
    pub fn contains(&self, tenant_id: Option<&str>) -> bool {
        match (&self.allowed, tenant_id) {
            (None, _) => true,
            (Some(_), None) => self.root,
            (Some(ids), Some(t)) => ids.contains(t),
        }
    }

    /// The name of tenant `tenant_id`, `None` for the root (or a tenant that is gone).
    pub fn tenant_name(&self, tenant_id: Option<&str>) -> Option<&str> {
        tenant_id
            .and_then(|t| self.names.get(t))
            .map(String::as_str)
    }

    /// Whether `tenant_id` is a tenant of the customer.
    pub fn is_tenant(&self, tenant_id: &str) -> bool {
        self.names.contains_key(tenant_id)
    }

    /// The id of the customer's tenant named `name`.
    pub fn tenant_id_by_name(&self, name: &str) -> Option<&str> {
        self.names
            .iter()
            .find(|(_, n)| n.as_str() == name)
            .map(|(id, _)| id.as_str())
    }

    /// Whether an object of tenant `tenant_id` matches a `tenants_names` filter value
    /// (`"Root without tenants"` matches untenanted objects).
    pub fn name_matches(&self, tenant_id: Option<&str>, wanted: &str) -> bool {
        match self.tenant_name(tenant_id) {
            Some(n) => n == wanted,
            None => tenant_id.is_none() && wanted == ROOT_WITHOUT_TENANTS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenants() -> Vec<TenantRecord> {
        ["Berlin", "Paris"]
            .iter()
            .enumerate()
            .map(|(i, n)| TenantRecord {
                tenant_id: format!("t{i}"),
                client_id: "c".into(),
                tenant_name: (*n).into(),
            })
            .collect()
    }

    #[test]
    fn empty_scope_is_everything() {
        let s = Scope::limited(tenants(), &[]);
        assert!(s.contains(None));
        assert!(s.contains(Some("t0")));
        assert!(s.contains(Some("t1")));
    }

    #[test]
    fn named_tenants_and_root() {
        let s = Scope::limited(tenants(), &["Berlin".into()]);
        assert!(!s.contains(None));
        assert!(s.contains(Some("t0")));
        assert!(!s.contains(Some("t1")));
        let s = Scope::limited(tenants(), &[ROOT_WITHOUT_TENANTS.into()]);
        assert!(s.contains(None));
        assert!(!s.contains(Some("t0")));
    }

    #[test]
    fn root_filter_name() {
        let s = Scope::whole(tenants());
        assert!(s.name_matches(None, ROOT_WITHOUT_TENANTS));
        assert!(s.name_matches(Some("t1"), "Paris"));
        assert!(!s.name_matches(Some("t1"), ROOT_WITHOUT_TENANTS));
    }
}
