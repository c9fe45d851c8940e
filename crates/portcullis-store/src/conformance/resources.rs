//! Checks of [`ResourceStore`](crate::ResourceStore): inventories and hosts, their unique
//! names, listings through the fixed field table, updates and the cascade on delete.

use super::{activity, at, t0};
use crate::{
    ActivityQuery, Condition, Filter, HostPatch, HostRecord, InventoryPatch, InventoryRecord,
    Lookup, NewHost, NewInventory, ResourceQuery, Store, StoreError,
};
use serde_json::json;
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;

/// An inventory named `name` in `organization`.
fn new_inventory(name: &str, organization: Option<i64>) -> NewInventory {
    NewInventory {
        name: name.to_owned(),
        description: format!("about {name}"),
        organization,
        kind: String::new(),
        variables: format!("---\nenv: {name}\n"),
        created_at: t0(),
    }
}

/// An enabled host named `name` in `inventory`.
fn new_host(name: &str, inventory: i64) -> NewHost {
    NewHost {
        name: name.to_owned(),
        description: format!("host {name}"),
        inventory,
        enabled: true,
        instance_id: String::new(),
        variables: "{\"ansible_host\": \"10.0.0.1\"}".to_owned(),
        created_at: t0(),
    }
}

/// Inserts an inventory without activity.
async fn inventory(store: &dyn Store, new: NewInventory) -> InventoryRecord {
    store
        .create_inventory(new, None)
        .await
        .expect("create_inventory failed")
}

/// Inserts a host without activity.
async fn host(store: &dyn Store, new: NewHost) -> HostRecord {
    store
        .create_host(new, None)
        .await
        .expect("create_host failed")
}

/// The stored host count of inventory `id`.
async fn total_hosts(store: &dyn Store, id: i64) -> i64 {
    store
        .inventory_by_id(id)
        .await
        .expect("inventory_by_id failed")
        .expect("inventory present")
        .total_hosts
}

/// A query with `filters`, id order and a page large enough for every check.
fn query(filters: &[(&str, &str)]) -> ResourceQuery {
    ResourceQuery {
        filter: Filter::exact(filters.iter().map(|(f, v)| ((*f).to_owned(), *v))),
        order: None,
        inventory: None,
        limit: 100,
        offset: 0,
    }
}

/// `query` ordered by `field`.
fn ordered(field: &str, descending: bool) -> ResourceQuery {
    ResourceQuery {
        order: Some((field.to_owned(), descending)),
        ..query(&[])
    }
}

/// Names of an inventory listing, in order, with its total.
async fn inventories(store: &dyn Store, q: &ResourceQuery) -> (i64, Vec<String>) {
    let page = store
        .list_inventories(q)
        .await
        .expect("list_inventories failed");
    (page.total, page.items.into_iter().map(|i| i.name).collect())
}

/// Ids of a host listing, in order, with its total.
async fn hosts(store: &dyn Store, q: &ResourceQuery) -> (i64, Vec<i64>) {
    let page = store.list_hosts(q).await.expect("list_hosts failed");
    (page.total, page.items.into_iter().map(|h| h.id).collect())
}

/// Shorthand for an expected list of names.
fn names(total: i64, names: &[&str]) -> (i64, Vec<String>) {
    (total, names.iter().map(|s| (*s).to_owned()).collect())
}

/// The fixture of the listing checks.
struct Fixture {
    /// `prod` (org 1, 3 hosts), `dev` (no org, 1 host), `staging` (org 1, none), `qa` (no
    /// org, 1 host), in id order.
    inventories: Vec<InventoryRecord>,
    /// `web1`, `web2` (disabled), `db1` (instance `i-123`) in prod; `web1` in dev; `x`
    /// (disabled) in qa; in id order.
    hosts: Vec<HostRecord>,
}

impl Fixture {
    /// Inventory id number `n` (1-based).
    fn inv(&self, n: usize) -> i64 {
        self.inventories
            .get(n.wrapping_sub(1))
            .map(|i| i.id)
            .expect("fixture inventory")
    }

    /// Host ids numbered `ns` (1-based), with `total`.
    fn hosts(&self, total: i64, ns: &[usize]) -> (i64, Vec<i64>) {
        let ids = ns
            .iter()
            .map(|&n| {
                self.hosts
                    .get(n.wrapping_sub(1))
                    .map(|h| h.id)
                    .expect("fixture host")
            })
            .collect();
        (total, ids)
    }
}

/// Builds the [`Fixture`].
async fn fixture(store: &dyn Store) -> Fixture {
    let mut inventories = Vec::new();
    for (name, org, created) in [
        ("prod", Some(1), 100),
        ("dev", None, 200),
        ("staging", Some(1), 300),
        ("qa", None, 400),
    ] {
        let mut new = new_inventory(name, org);
        new.created_at = at(created);
        inventories.push(inventory(store, new).await);
    }
    let inv = |n: usize| {
        inventories
            .get(n.wrapping_sub(1))
            .map(|i| i.id)
            .expect("fixture inventory")
    };
    let mut hosts = Vec::new();
    for (name, n, enabled, instance) in [
        ("web1", 1, true, ""),
        ("web2", 1, false, ""),
        ("db1", 1, true, "i-123"),
        ("web1", 2, true, ""),
        ("x", 4, false, ""),
    ] {
        let mut new = new_host(name, inv(n));
        new.enabled = enabled;
        new.instance_id = instance.to_owned();
        hosts.push(host(store, new).await);
    }
    // Re-read: the counts changed with the hosts.
    let mut fresh = Vec::new();
    for i in &inventories {
        fresh.push(
            store
                .inventory_by_id(i.id)
                .await
                .expect("inventory_by_id")
                .expect("inventory"),
        );
    }
    Fixture {
        inventories: fresh,
        hosts,
    }
}

/// An inventory reads back as given with `total_hosts` counting its hosts; the create entry
/// is written with it.
pub async fn create_inventory_round_trips_and_counts_hosts(store: Arc<dyn Store>) {
    let mut new = new_inventory("prod", Some(1));
    new.created_at = at(1_000);
    let entry = activity("create", "inventory", None, None, json!({"name": "prod"}));
    let prod = store
        .create_inventory(new, Some(entry.clone()))
        .await
        .expect("create_inventory");
    assert!(prod.id > 0);
    assert_eq!(
        prod,
        InventoryRecord {
            id: prod.id,
            name: "prod".into(),
            description: "about prod".into(),
            organization: Some(1),
            kind: String::new(),
            variables: "---\nenv: prod\n".into(),
            total_hosts: 0,
            created_at: at(1_000),
            modified_at: at(1_000),
        }
    );
    assert_eq!(store.inventory_by_id(prod.id).await, Ok(Some(prod.clone())));
    assert_eq!(store.inventory_by_id(prod.id + 1000).await, Ok(None));
    let dev = inventory(&*store, new_inventory("dev", None)).await;
    assert_eq!(dev.organization, None);

    let mut new = new_host("web1", prod.id);
    new.instance_id = "i-0abc".into();
    new.enabled = false;
    new.created_at = at(2_000);
    let web1 = host(&*store, new).await;
    assert_eq!(
        web1,
        HostRecord {
            id: web1.id,
            name: "web1".into(),
            description: "host web1".into(),
            inventory: prod.id,
            enabled: false,
            instance_id: "i-0abc".into(),
            variables: "{\"ansible_host\": \"10.0.0.1\"}".into(),
            created_at: at(2_000),
            modified_at: at(2_000),
        }
    );
    assert_eq!(store.host_by_id(web1.id).await, Ok(Some(web1.clone())));
    assert_eq!(store.host_by_id(web1.id + 1000).await, Ok(None));
    host(&*store, new_host("web2", prod.id)).await;
    host(&*store, new_host("db1", dev.id)).await;
    assert_eq!(total_hosts(&*store, prod.id).await, 2);
    assert_eq!(total_hosts(&*store, dev.id).await, 1);
    let page = store.list_inventories(&query(&[])).await.expect("list");
    let counts: Vec<(String, i64)> = page
        .items
        .into_iter()
        .map(|i| (i.name, i.total_hosts))
        .collect();
    assert_eq!(counts, vec![("prod".into(), 2), ("dev".into(), 1)]);

    // The entry was written with the inventory (the resource contract does not say whether a
    // missing object id is filled in, so only the rest is compared).
    let written = store
        .list_activity(&ActivityQuery {
            object1: Some("inventory".into()),
            limit: 10,
            ..ActivityQuery::default()
        })
        .await
        .expect("list_activity");
    assert_eq!(written.total, 1);
    let got = written.items.first().expect("entry").entry.clone();
    assert!(
        got.object1_id.is_none() || got.object1_id == Some(prod.id),
        "object1_id is {:?}",
        got.object1_id
    );
    assert_eq!(
        crate::NewActivity {
            object1_id: None,
            ..got
        },
        entry
    );
}

/// A taken inventory name is `Conflict("name")` whatever the organization, and changes
/// nothing.
pub async fn duplicate_inventory_name_is_a_conflict(store: Arc<dyn Store>) {
    let prod = inventory(&*store, new_inventory("prod", Some(1))).await;
    let entry = Some(activity("create", "inventory", None, None, json!({})));
    assert_eq!(
        store
            .create_inventory(new_inventory("prod", Some(1)), entry.clone())
            .await
            .map(|i| i.id),
        Err(StoreError::Conflict("name".into()))
    );
    assert_eq!(
        store
            .create_inventory(new_inventory("prod", None), entry)
            .await
            .map(|i| i.id),
        Err(StoreError::Conflict("name".into())),
        "inventory names are unique across organizations"
    );
    assert_eq!(inventories(&*store, &query(&[])).await, names(1, &["prod"]));
    assert_eq!(store.inventory_by_id(prod.id).await, Ok(Some(prod)));
    let activity = store
        .list_activity(&ActivityQuery {
            limit: 10,
            ..ActivityQuery::default()
        })
        .await
        .expect("list_activity");
    assert_eq!(activity.total, 0, "a refused create writes no activity");
}

/// Inventory filters (text, integers, `null`, instants), ordering by name and by
/// `total_hosts` with the id tie-break, and paging.
pub async fn list_inventories_filters_orders_and_pages(store: Arc<dyn Store>) {
    let f = fixture(&*store).await;
    let s = &*store;
    let one = |field: &str, value: &str| query(&[(field, value)]);

    assert_eq!(
        inventories(s, &query(&[])).await,
        names(4, &["prod", "dev", "staging", "qa"])
    );
    let page = store.list_inventories(&query(&[])).await.expect("list");
    assert_eq!(
        page.items, f.inventories,
        "listed records equal the stored ones"
    );
    let counts: Vec<i64> = page.items.iter().map(|i| i.total_hosts).collect();
    assert_eq!(counts, vec![3, 1, 0, 1]);

    assert_eq!(
        inventories(s, &one("name", "dev")).await,
        names(1, &["dev"])
    );
    assert_eq!(inventories(s, &one("name", "DEV")).await, names(0, &[]));
    assert_eq!(
        inventories(s, &one("organization", "1")).await,
        names(2, &["prod", "staging"])
    );
    assert_eq!(
        inventories(s, &one("organization", "null")).await,
        names(2, &["dev", "qa"])
    );
    assert_eq!(
        inventories(s, &one("organization", "abc")).await,
        names(0, &[])
    );
    let dev = f.inv(2).to_string();
    assert_eq!(inventories(s, &one("id", &dev)).await, names(1, &["dev"]));
    assert_eq!(inventories(s, &one("id", "1.0")).await, names(0, &[]));
    assert_eq!(
        inventories(s, &one("description", "about qa")).await,
        names(1, &["qa"])
    );
    assert_eq!(
        inventories(s, &one("variables", "---\nenv: staging\n")).await,
        names(1, &["staging"])
    );
    let created = at(300).format(&Rfc3339).expect("format");
    assert_eq!(
        inventories(s, &one("created", &created)).await,
        names(1, &["staging"])
    );
    assert_eq!(
        inventories(s, &query(&[("organization", "1"), ("name", "prod")])).await,
        names(1, &["prod"])
    );
    assert_eq!(
        inventories(s, &query(&[("organization", "null"), ("name", "prod")])).await,
        names(0, &[])
    );

    assert_eq!(
        inventories(s, &ordered("name", true)).await,
        names(4, &["staging", "qa", "prod", "dev"])
    );
    assert_eq!(
        inventories(s, &ordered("name", false)).await,
        names(4, &["dev", "prod", "qa", "staging"])
    );
    assert_eq!(
        inventories(s, &ordered("id", true)).await,
        names(4, &["qa", "staging", "dev", "prod"])
    );
    // dev and qa both have one host: the tie-break is id ascending either way.
    assert_eq!(
        inventories(s, &ordered("total_hosts", true)).await,
        names(4, &["prod", "dev", "qa", "staging"])
    );
    assert_eq!(
        inventories(s, &ordered("total_hosts", false)).await,
        names(4, &["staging", "dev", "qa", "prod"])
    );
    assert_eq!(
        inventories(s, &ordered("created", true)).await,
        names(4, &["qa", "staging", "dev", "prod"])
    );

    let mut page = ordered("name", true);
    page.limit = 2;
    page.offset = 1;
    assert_eq!(inventories(s, &page).await, names(4, &["qa", "prod"]));
    page.offset = 4;
    assert_eq!(inventories(s, &page).await, names(4, &[]));
    let mut filtered = ordered("name", true);
    filtered.filter = Filter::exact([("organization".to_owned(), "null")]);
    filtered.limit = 1;
    assert_eq!(inventories(s, &filtered).await, names(2, &["qa"]));
}

/// A host needs an existing inventory (`NotFound`) and a name free in that inventory
/// (`Conflict("name")`); the same name in another inventory is fine.
pub async fn create_host_requires_its_inventory_and_a_unique_name(store: Arc<dyn Store>) {
    let prod = inventory(&*store, new_inventory("prod", None)).await;
    let dev = inventory(&*store, new_inventory("dev", None)).await;
    let web = host(&*store, new_host("web", prod.id)).await;

    assert_eq!(
        store
            .create_host(new_host("web", prod.id + 1000), None)
            .await
            .map(|h| h.id),
        Err(StoreError::NotFound)
    );
    let mut dup = new_host("web", prod.id);
    dup.description = "another".into();
    assert_eq!(
        store.create_host(dup, None).await.map(|h| h.id),
        Err(StoreError::Conflict("name".into()))
    );
    assert_eq!(store.host_by_id(web.id).await, Ok(Some(web.clone())));
    let twin = host(&*store, new_host("web", dev.id)).await;
    assert_ne!(twin.id, web.id);
    assert_eq!(twin.inventory, dev.id);
    assert_eq!(total_hosts(&*store, prod.id).await, 1);
    assert_eq!(total_hosts(&*store, dev.id).await, 1);
    assert_eq!(
        hosts(&*store, &query(&[])).await,
        (2, vec![web.id, twin.id])
    );
}

/// Host filters (name, inventory, enabled in every spelling, instance id), the inventory
/// restriction, ordering with the id tie-break across inventories, and paging.
pub async fn list_hosts_filters_and_restricts_to_an_inventory(store: Arc<dyn Store>) {
    let f = fixture(&*store).await;
    let s = &*store;
    let one = |field: &str, value: &str| query(&[(field, value)]);

    assert_eq!(hosts(s, &query(&[])).await, f.hosts(5, &[1, 2, 3, 4, 5]));
    let page = store.list_hosts(&query(&[])).await.expect("list");
    assert_eq!(page.items, f.hosts, "listed records equal the created ones");

    assert_eq!(hosts(s, &one("name", "web1")).await, f.hosts(2, &[1, 4]));
    let prod = f.inv(1).to_string();
    assert_eq!(
        hosts(s, &one("inventory", &prod)).await,
        f.hosts(3, &[1, 2, 3])
    );
    assert_eq!(hosts(s, &one("inventory", "abc")).await, f.hosts(0, &[]));
    for yes in ["true", "True", "1"] {
        assert_eq!(
            hosts(s, &one("enabled", yes)).await,
            f.hosts(3, &[1, 3, 4]),
            "enabled={yes}"
        );
    }
    for no in ["false", "False", "0"] {
        assert_eq!(
            hosts(s, &one("enabled", no)).await,
            f.hosts(2, &[2, 5]),
            "enabled={no}"
        );
    }
    assert_eq!(hosts(s, &one("enabled", "yes")).await, f.hosts(0, &[]));
    assert_eq!(
        hosts(s, &one("instance_id", "i-123")).await,
        f.hosts(1, &[3])
    );
    assert_eq!(
        hosts(s, &one("instance_id", "")).await,
        f.hosts(4, &[1, 2, 4, 5])
    );
    assert_eq!(
        hosts(s, &one("description", "host x")).await,
        f.hosts(1, &[5])
    );
    assert_eq!(
        hosts(s, &query(&[("name", "web1"), ("enabled", "false")])).await,
        f.hosts(0, &[])
    );

    let within = |n: usize, filters: &[(&str, &str)]| ResourceQuery {
        inventory: Some(f.inv(n)),
        ..query(filters)
    };
    assert_eq!(hosts(s, &within(1, &[])).await, f.hosts(3, &[1, 2, 3]));
    assert_eq!(
        hosts(s, &within(1, &[("name", "web1")])).await,
        f.hosts(1, &[1])
    );
    assert_eq!(hosts(s, &within(2, &[])).await, f.hosts(1, &[4]));
    assert_eq!(hosts(s, &within(3, &[])).await, f.hosts(0, &[]));
    assert_eq!(
        hosts(s, &within(2, &[("name", "web2")])).await,
        f.hosts(0, &[])
    );
    let dev = f.inv(2).to_string();
    assert_eq!(
        hosts(s, &within(1, &[("inventory", &dev)])).await,
        f.hosts(0, &[]),
        "the restriction and an inventory filter combine with AND"
    );

    assert_eq!(
        hosts(s, &ordered("name", true)).await,
        f.hosts(5, &[5, 2, 1, 4, 3])
    );
    assert_eq!(
        hosts(s, &ordered("name", false)).await,
        f.hosts(5, &[3, 1, 4, 2, 5])
    );
    assert_eq!(
        hosts(s, &ordered("enabled", false)).await,
        f.hosts(5, &[2, 5, 1, 3, 4])
    );
    let mut page = ordered("name", true);
    page.limit = 2;
    page.offset = 2;
    assert_eq!(hosts(s, &page).await, f.hosts(5, &[1, 4]));
    let mut page = within(1, &[]);
    page.order = Some(("name".into(), false));
    page.limit = 1;
    page.offset = 1;
    assert_eq!(hosts(s, &page).await, f.hosts(3, &[1]));
}

/// Host patches apply the given fields and stamp `modified_at`; moving a host moves its count;
/// a missing host or target inventory is `NotFound`, a taken name `Conflict("name")`; deleting
/// a host lowers the count, and a second delete is `NotFound`.
pub async fn update_and_delete_hosts(store: Arc<dyn Store>) {
    let prod = inventory(&*store, new_inventory("prod", None)).await;
    let dev = inventory(&*store, new_inventory("dev", None)).await;
    let web = host(&*store, new_host("web", prod.id)).await;
    let db = host(&*store, new_host("db", prod.id)).await;
    let dev_web = host(&*store, new_host("web", dev.id)).await;

    let after = store
        .update_host(
            web.id,
            HostPatch {
                name: Some("web-1".into()),
                description: Some("front".into()),
                enabled: Some(false),
                instance_id: Some("i-9".into()),
                variables: Some("a: 1".into()),
                ..HostPatch::default()
            },
            at(5_000),
        )
        .await
        .expect("update_host");
    assert_eq!(
        after,
        HostRecord {
            name: "web-1".into(),
            description: "front".into(),
            enabled: false,
            instance_id: "i-9".into(),
            variables: "a: 1".into(),
            modified_at: at(5_000),
            ..web.clone()
        }
    );
    assert_eq!(store.host_by_id(web.id).await, Ok(Some(after.clone())));

    // Rename onto a name taken in the same inventory.
    assert_eq!(
        store
            .update_host(
                after.id,
                HostPatch {
                    name: Some("db".into()),
                    ..HostPatch::default()
                },
                at(6_000)
            )
            .await,
        Err(StoreError::Conflict("name".into()))
    );
    // Move "db" into dev, where "web" is taken: renaming it there at the same time collides.
    assert_eq!(
        store
            .update_host(
                db.id,
                HostPatch {
                    name: Some("web".into()),
                    inventory: Some(dev.id),
                    ..HostPatch::default()
                },
                at(6_000)
            )
            .await,
        Err(StoreError::Conflict("name".into()))
    );
    assert_eq!(
        store
            .update_host(
                db.id,
                HostPatch {
                    inventory: Some(dev.id + 1000),
                    ..HostPatch::default()
                },
                at(6_000)
            )
            .await,
        Err(StoreError::NotFound),
        "the new inventory must exist"
    );
    assert_eq!(
        store
            .update_host(db.id + 1000, HostPatch::default(), at(6_000))
            .await,
        Err(StoreError::NotFound)
    );
    assert_eq!(store.host_by_id(db.id).await, Ok(Some(db.clone())));
    assert_eq!(store.host_by_id(after.id).await, Ok(Some(after.clone())));

    let moved = store
        .update_host(
            db.id,
            HostPatch {
                inventory: Some(dev.id),
                ..HostPatch::default()
            },
            at(7_000),
        )
        .await
        .expect("move");
    assert_eq!(
        moved,
        HostRecord {
            inventory: dev.id,
            modified_at: at(7_000),
            ..db.clone()
        }
    );
    assert_eq!(total_hosts(&*store, prod.id).await, 1);
    assert_eq!(total_hosts(&*store, dev.id).await, 2);
    // The old name is free in prod now.
    host(&*store, new_host("db", prod.id)).await;

    assert_eq!(store.delete_host(dev_web.id).await, Ok(()));
    assert_eq!(store.host_by_id(dev_web.id).await, Ok(None));
    assert_eq!(total_hosts(&*store, dev.id).await, 1);
    assert_eq!(
        store.delete_host(dev_web.id).await,
        Err(StoreError::NotFound)
    );
    let q = ResourceQuery {
        inventory: Some(dev.id),
        ..query(&[])
    };
    assert_eq!(hosts(&*store, &q).await, (1, vec![db.id]));
}

/// Inventory patches apply the given fields and stamp `modified_at`; a taken name is
/// `Conflict("name")`; deleting an inventory deletes its hosts (and only its).
pub async fn update_and_delete_inventories(store: Arc<dyn Store>) {
    let prod = inventory(&*store, new_inventory("prod", Some(1))).await;
    let dev = inventory(&*store, new_inventory("dev", None)).await;
    let a = host(&*store, new_host("a", prod.id)).await;
    let b = host(&*store, new_host("b", prod.id)).await;
    let c = host(&*store, new_host("a", dev.id)).await;

    let after = store
        .update_inventory(
            prod.id,
            InventoryPatch {
                name: Some("production".into()),
                description: Some("live".into()),
                organization: Some(None),
                kind: Some("smart".into()),
                variables: Some("x: 2".into()),
            },
            at(5_000),
        )
        .await
        .expect("update_inventory");
    assert_eq!(
        after,
        InventoryRecord {
            name: "production".into(),
            description: "live".into(),
            organization: None,
            kind: "smart".into(),
            variables: "x: 2".into(),
            total_hosts: 2,
            modified_at: at(5_000),
            ..prod.clone()
        }
    );
    assert_eq!(
        store.inventory_by_id(prod.id).await,
        Ok(Some(after.clone()))
    );
    let org = store
        .update_inventory(
            prod.id,
            InventoryPatch {
                organization: Some(Some(1)),
                ..InventoryPatch::default()
            },
            at(6_000),
        )
        .await
        .expect("set organization");
    assert_eq!(org.organization, Some(1));
    assert_eq!(org.name, "production");
    assert_eq!(org.modified_at, at(6_000));

    assert_eq!(
        store
            .update_inventory(
                dev.id,
                InventoryPatch {
                    name: Some("production".into()),
                    ..InventoryPatch::default()
                },
                at(7_000)
            )
            .await,
        Err(StoreError::Conflict("name".into()))
    );
    assert_eq!(
        store
            .update_inventory(dev.id + 1000, InventoryPatch::default(), at(7_000))
            .await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store
            .inventory_by_id(dev.id)
            .await
            .map(|i| i.map(|i| i.name)),
        Ok(Some("dev".to_owned()))
    );
    // The old name is free again.
    inventory(&*store, new_inventory("prod", None)).await;

    assert_eq!(store.delete_inventory(prod.id).await, Ok(()));
    assert_eq!(store.inventory_by_id(prod.id).await, Ok(None));
    assert_eq!(store.host_by_id(a.id).await, Ok(None));
    assert_eq!(store.host_by_id(b.id).await, Ok(None));
    assert_eq!(store.host_by_id(c.id).await, Ok(Some(c.clone())));
    assert_eq!(hosts(&*store, &query(&[])).await, (1, vec![c.id]));
    assert_eq!(
        store.delete_inventory(prod.id).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(total_hosts(&*store, dev.id).await, 1);
    assert_eq!(
        store
            .create_host(new_host("z", prod.id), None)
            .await
            .map(|h| h.id),
        Err(StoreError::NotFound),
        "no host in a deleted inventory"
    );
}

/// A filter on a field outside the fixed table matches nothing (never an error, never
/// interpolated), for inventories and hosts alike.
pub async fn unknown_filter_fields_match_nothing(store: Arc<dyn Store>) {
    let f = fixture(&*store).await;
    let s = &*store;
    for field in [
        "bogus",
        "Name",
        "name) OR (1=1",
        "name; DROP TABLE hosts",
        "",
    ] {
        assert_eq!(
            inventories(s, &query(&[(field, "prod")])).await,
            names(0, &[]),
            "inventory filter {field:?}"
        );
        assert_eq!(
            hosts(s, &query(&[(field, "web1")])).await,
            f.hosts(0, &[]),
            "host filter {field:?}"
        );
    }
    // `total_hosts` is orderable only, and hosts have no `variables` filter.
    assert_eq!(
        inventories(s, &query(&[("total_hosts", "3")])).await,
        names(0, &[])
    );
    assert_eq!(
        hosts(
            s,
            &query(&[("variables", "{\"ansible_host\": \"10.0.0.1\"}")])
        )
        .await,
        f.hosts(0, &[])
    );
    // An unknown field next to a good one still empties the listing.
    assert_eq!(
        inventories(s, &query(&[("name", "prod"), ("bogus", "x")])).await,
        names(0, &[])
    );
    // Everything is still there.
    assert_eq!(inventories(s, &query(&[])).await.0, 4);
    assert_eq!(hosts(s, &query(&[])).await.0, 5);
}

/// One condition of a resource filter.
fn cond(field: &str, lookup: Lookup, value: &str, negated: bool) -> Condition<String> {
    Condition {
        field: field.to_owned(),
        lookup,
        value: value.to_owned(),
        negated,
    }
}

/// A query from a whole filter.
fn filtered(filter: Filter<String>) -> ResourceQuery {
    ResourceQuery {
        filter,
        ..query(&[])
    }
}

/// The lookups, `not__`, `or__` and `search` on inventories and hosts, the way the AWX
/// collection finds objects (`?or__id=N&or__name=N`), and the stored inventory `kind`.
pub async fn list_inventories_and_hosts_apply_lookups_and_search(store: Arc<dyn Store>) {
    let f = fixture(&*store).await;
    let s = &*store;
    let qa = store
        .update_inventory(
            f.inv(4),
            InventoryPatch {
                kind: Some("constructed".into()),
                ..InventoryPatch::default()
            },
            at(5_000),
        )
        .await
        .expect("set kind");
    assert_eq!(qa.kind, "constructed");
    let all = |conds: Vec<Condition<String>>| {
        filtered(Filter {
            all: conds,
            ..Filter::default()
        })
    };
    let any = |conds: Vec<Condition<String>>| {
        filtered(Filter {
            any: conds,
            ..Filter::default()
        })
    };
    let prod = f.inv(1).to_string();
    let cases: Vec<(ResourceQuery, (i64, Vec<String>))> = vec![
        (
            any(vec![
                cond("id", Lookup::Exact, &prod, false),
                cond("name", Lookup::Exact, &prod, false),
            ]),
            names(1, &["prod"]),
        ),
        (
            any(vec![
                cond("id", Lookup::Exact, "dev", false),
                cond("name", Lookup::Exact, "dev", false),
            ]),
            names(1, &["dev"]),
        ),
        (
            all(vec![cond("kind", Lookup::Exact, "", false)]),
            names(3, &["prod", "dev", "staging"]),
        ),
        (
            all(vec![cond("kind", Lookup::Exact, "constructed", false)]),
            names(1, &["qa"]),
        ),
        (
            all(vec![cond("organization", Lookup::IsNull, "true", false)]),
            names(2, &["dev", "qa"]),
        ),
        (
            all(vec![cond("organization", Lookup::Exact, "1", true)]),
            names(2, &["dev", "qa"]),
        ),
        (
            all(vec![cond("organization", Lookup::Exact, "null", true)]),
            names(2, &["prod", "staging"]),
        ),
        (
            all(vec![cond("name", Lookup::IStartsWith, "S", false)]),
            names(1, &["staging"]),
        ),
        (
            all(vec![cond(
                "description",
                Lookup::IContains,
                "ABOUT D",
                false,
            )]),
            names(1, &["dev"]),
        ),
        (
            all(vec![
                cond("name", Lookup::In, "qa,prod,x", false),
                cond("name", Lookup::EndsWith, "a", true),
            ]),
            names(1, &["prod"]),
        ),
        (
            filtered(Filter {
                search: vec!["PROD".to_ascii_lowercase()],
                ..Filter::default()
            }),
            names(1, &["prod"]),
        ),
        (
            filtered(Filter {
                search: vec!["about".into(), "ag".into()],
                ..Filter::default()
            }),
            names(1, &["staging"]),
        ),
    ];
    for (q, expected) in cases {
        assert_eq!(inventories(s, &q).await, expected, "{:?}", q.filter);
    }

    let host_cases: Vec<(ResourceQuery, (i64, Vec<i64>))> = vec![
        (
            all(vec![cond("name", Lookup::StartsWith, "web", false)]),
            f.hosts(3, &[1, 2, 4]),
        ),
        (
            all(vec![
                cond("name", Lookup::StartsWith, "web", false),
                cond("enabled", Lookup::Exact, "false", true),
            ]),
            f.hosts(2, &[1, 4]),
        ),
        (
            all(vec![cond("instance_id", Lookup::Exact, "", true)]),
            f.hosts(1, &[3]),
        ),
        (
            all(vec![cond(
                "inventory",
                Lookup::In,
                &format!("{},{}", f.inv(2), f.inv(4)),
                false,
            )]),
            f.hosts(2, &[4, 5]),
        ),
        (
            any(vec![
                cond("name", Lookup::Exact, "x", false),
                cond("instance_id", Lookup::IContains, "I-1", false),
            ]),
            f.hosts(2, &[3, 5]),
        ),
        (
            filtered(Filter {
                search: vec!["host w".into()],
                ..Filter::default()
            }),
            f.hosts(3, &[1, 2, 4]),
        ),
    ];
    for (q, expected) in host_cases {
        assert_eq!(hosts(s, &q).await, expected, "{:?}", q.filter);
    }
}
