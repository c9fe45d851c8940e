//! Checks of [`MdrObjectStore`](crate::MdrObjectStore) (`docs/mdr-api.md`, "Resource API"): objects
//! round trip as JSON documents and list in creation order, writes are keyed and compare-and-set,
//! attachment bytes round trip, and incident numbers are a per-customer sequence, also under a
//! race.

use super::at;
use crate::{CustomerRecord, MdrObject, Store, StoreError};
use serde_json::json;
use std::sync::Arc;

/// Client ID number `n` (a customer the check creates).
fn client_id(n: u8) -> String {
    format!("{:032x}", (0x0B_u128 << 64) | u128::from(n))
}

/// Creates customer number `n`.
async fn add_customer(store: &dyn Store, n: u8) -> String {
    let c = CustomerRecord {
        client_id: client_id(n),
        name: format!("Customer {n}"),
        created_at: at(0),
    };
    store
        .create_customer(&c)
        .await
        .expect("create_customer failed");
    c.client_id
}

/// Object `id` of `kind` of `client`, created (and last changed) at `created_ms`.
fn object(client: &str, kind: &str, id: &str, created_ms: i64) -> MdrObject {
    MdrObject {
        client_id: client.to_owned(),
        kind: kind.to_owned(),
        id: id.to_owned(),
        parent_id: None,
        tenant_id: None,
        created_ms,
        updated_ms: created_ms,
        data: json!({
            "id": id,
            "summary": format!("{kind} {id} ✓ \"quoted\""),
            "creation_time": created_ms,
            "tags": ["a", "b", {"deep": [1, 2, null]}],
            "closed": false,
            "resolution": null,
        }),
    }
}

/// A child (comment, response, …) `id` of incident `parent`.
fn child(client: &str, kind: &str, id: &str, parent: &str, created_ms: i64) -> MdrObject {
    MdrObject {
        parent_id: Some(parent.to_owned()),
        ..object(client, kind, id, created_ms)
    }
}

/// Inserts `o` without content.
async fn insert(store: &dyn Store, o: &MdrObject) {
    store
        .insert_object(o, None)
        .await
        .expect("insert_object failed");
}

/// The ids of a listing, in order.
async fn ids(store: &dyn Store, client: &str, kind: &str, parent: Option<&str>) -> Vec<String> {
    store
        .objects(client, kind, parent)
        .await
        .expect("objects failed")
        .into_iter()
        .map(|o| o.id)
        .collect()
}

/// Objects read back exactly (JSON, tenant, parent); listings hold one customer's objects of
/// one kind, by `created_ms` then id, optionally only one parent's children.
pub async fn objects_round_trip_and_list_in_creation_order(store: Arc<dyn Store>) {
    let a = add_customer(&*store, 1).await;
    let b = add_customer(&*store, 2).await;
    let i3 = object(&a, "incident", "inc3", 1_000);
    let i1 = MdrObject {
        tenant_id: Some("ten00000000000000001".into()),
        ..object(&a, "incident", "inc1", 2_000)
    };
    let i2 = object(&a, "incident", "inc2", 1_000);
    for o in [&i3, &i1, &i2] {
        insert(&*store, o).await;
    }
    insert(&*store, &object(&b, "incident", "inc0", 0)).await;
    insert(&*store, &object(&a, "asset", "inc0", 0)).await;
    let c2 = child(&a, "comment", "c2", "inc1", 5_000);
    let c1 = child(&a, "comment", "c1", "inc2", 4_000);
    let c3 = child(&a, "comment", "c3", "inc1", 3_000);
    for o in [&c2, &c1, &c3] {
        insert(&*store, o).await;
    }

    assert_eq!(
        store.object(&a, "incident", "inc1").await,
        Ok(Some(i1.clone()))
    );
    assert_eq!(
        store.object(&a, "comment", "c2").await,
        Ok(Some(c2.clone()))
    );
    assert_eq!(store.object(&a, "incident", "c2").await, Ok(None));
    assert_eq!(store.object(&b, "incident", "inc1").await, Ok(None));
    assert_eq!(
        store.objects(&a, "incident", None).await,
        Ok(vec![i2, i3, i1])
    );
    assert_eq!(ids(&*store, &b, "incident", None).await, vec!["inc0"]);
    assert_eq!(ids(&*store, &a, "asset", None).await, vec!["inc0"]);
    assert_eq!(
        ids(&*store, &a, "comment", None).await,
        vec!["c3", "c1", "c2"]
    );
    assert_eq!(
        store.objects(&a, "comment", Some("inc1")).await,
        Ok(vec![c3, c2])
    );
    assert_eq!(ids(&*store, &a, "comment", Some("inc2")).await, vec!["c1"]);
    assert_eq!(
        ids(&*store, &a, "comment", Some("inc9")).await,
        Vec::<String>::new()
    );
    assert_eq!(
        ids(&*store, &a, "response", None).await,
        Vec::<String>::new()
    );
}

/// A second insert of one customer's kind and id is `Conflict("id")` and changes nothing; the
/// same id in another kind or customer is fine.
pub async fn duplicate_object_is_a_conflict(store: Arc<dyn Store>) {
    let a = add_customer(&*store, 1).await;
    let b = add_customer(&*store, 2).await;
    let original = object(&a, "incident", "inc1", 1_000);
    store
        .insert_object(&original, Some(b"first"))
        .await
        .expect("insert");
    let again = MdrObject {
        data: json!({"other": true}),
        updated_ms: 9_000,
        ..original.clone()
    };
    assert_eq!(
        store.insert_object(&again, Some(b"second")).await,
        Err(StoreError::Conflict("id".into()))
    );
    assert_eq!(
        store.object(&a, "incident", "inc1").await,
        Ok(Some(original))
    );
    assert_eq!(
        store.object_content(&a, "incident", "inc1").await,
        Ok(Some(b"first".to_vec()))
    );
    insert(&*store, &object(&a, "asset", "inc1", 1_000)).await;
    insert(&*store, &object(&b, "incident", "inc1", 1_000)).await;
    assert_eq!(ids(&*store, &a, "incident", None).await, vec!["inc1"]);
}

/// `upsert_object` inserts a new object and replaces an existing one whole (content included)
/// whatever its version.
pub async fn upsert_inserts_or_replaces(store: Arc<dyn Store>) {
    let a = add_customer(&*store, 1).await;
    let first = object(&a, "attachment", "att1", 1_000);
    store
        .upsert_object(&first, Some(b"v1"))
        .await
        .expect("upsert new");
    assert_eq!(
        store.object(&a, "attachment", "att1").await,
        Ok(Some(first.clone()))
    );
    let second = MdrObject {
        parent_id: Some("inc1".into()),
        tenant_id: Some("ten1".into()),
        updated_ms: 500,
        data: json!({"caption": "replaced"}),
        ..first.clone()
    };
    store
        .upsert_object(&second, Some(b"v2"))
        .await
        .expect("upsert existing");
    assert_eq!(
        store.object(&a, "attachment", "att1").await,
        Ok(Some(second.clone()))
    );
    assert_eq!(
        store.object_content(&a, "attachment", "att1").await,
        Ok(Some(b"v2".to_vec()))
    );
    assert_eq!(
        store.objects(&a, "attachment", None).await,
        Ok(vec![second])
    );
}

/// `replace_object` writes only while the stored `updated_ms` equals the expected one, keeps
/// the stored content, and is `NotFound` for a missing object.
pub async fn replace_object_compares_and_sets(store: Arc<dyn Store>) {
    let a = add_customer(&*store, 1).await;
    let v1 = object(&a, "incident", "inc1", 1_000);
    store
        .insert_object(&v1, Some(b"bytes"))
        .await
        .expect("insert");
    let v2 = MdrObject {
        updated_ms: 2_000,
        tenant_id: Some("ten1".into()),
        data: json!({"status": "Closed"}),
        ..v1.clone()
    };
    assert_eq!(store.replace_object(&v2, 1_000).await, Ok(true));
    assert_eq!(
        store.object(&a, "incident", "inc1").await,
        Ok(Some(v2.clone()))
    );

    let stale = MdrObject {
        updated_ms: 2_001,
        data: json!({"status": "Open"}),
        ..v1.clone()
    };
    assert_eq!(
        store.replace_object(&stale, 1_000).await,
        Ok(false),
        "a writer that read the old version loses"
    );
    assert_eq!(
        store.object(&a, "incident", "inc1").await,
        Ok(Some(v2.clone()))
    );

    let v3 = MdrObject {
        updated_ms: 3_000,
        ..v2.clone()
    };
    assert_eq!(store.replace_object(&v3, 2_000).await, Ok(true));
    assert_eq!(store.object(&a, "incident", "inc1").await, Ok(Some(v3)));
    assert_eq!(
        store.object_content(&a, "incident", "inc1").await,
        Ok(Some(b"bytes".to_vec()))
    );
    assert_eq!(
        store
            .replace_object(&object(&a, "incident", "inc9", 1_000), 1_000)
            .await,
        Err(StoreError::NotFound)
    );
    assert_eq!(store.object(&a, "incident", "inc9").await, Ok(None));
}

/// `delete_object` removes exactly one object (and its bytes); `NotFound` when it is missing.
pub async fn delete_object_removes_one(store: Arc<dyn Store>) {
    let a = add_customer(&*store, 1).await;
    let b = add_customer(&*store, 2).await;
    store
        .insert_object(&object(&a, "attachment", "x", 1_000), Some(b"data"))
        .await
        .expect("insert");
    insert(&*store, &object(&a, "attachment", "y", 2_000)).await;
    insert(&*store, &object(&b, "attachment", "x", 1_000)).await;
    assert_eq!(store.delete_object(&a, "attachment", "x").await, Ok(()));
    assert_eq!(store.object(&a, "attachment", "x").await, Ok(None));
    assert_eq!(store.object_content(&a, "attachment", "x").await, Ok(None));
    assert_eq!(
        store.delete_object(&a, "attachment", "x").await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.delete_object(&a, "comment", "y").await,
        Err(StoreError::NotFound)
    );
    assert_eq!(ids(&*store, &a, "attachment", None).await, vec!["y"]);
    assert_eq!(ids(&*store, &b, "attachment", None).await, vec!["x"]);
}

/// Attachment bytes round trip exactly (every byte value, a large blob); an object stored
/// without content and a missing object both have none.
pub async fn object_content_round_trips_bytes(store: Arc<dyn Store>) {
    let a = add_customer(&*store, 1).await;
    let bytes: Vec<u8> = (0..=255u8).cycle().take(256 * 1024 + 7).collect();
    store
        .insert_object(&object(&a, "attachment", "att1", 1_000), Some(&bytes))
        .await
        .expect("insert with content");
    insert(&*store, &object(&a, "attachment", "att2", 2_000)).await;
    assert_eq!(
        store.object_content(&a, "attachment", "att1").await,
        Ok(Some(bytes))
    );
    assert_eq!(
        store.object_content(&a, "attachment", "att2").await,
        Ok(None)
    );
    assert_eq!(
        store.object_content(&a, "attachment", "att9").await,
        Ok(None)
    );
    assert_eq!(store.object_content(&a, "comment", "att1").await, Ok(None));
}

/// Incident numbers run 1, 2, 3, … per customer, independently between customers.
pub async fn incident_numbers_count_per_customer(store: Arc<dyn Store>) {
    let a = add_customer(&*store, 1).await;
    let b = add_customer(&*store, 2).await;
    assert_eq!(store.next_incident_number(&a).await, Ok(1));
    assert_eq!(store.next_incident_number(&a).await, Ok(2));
    assert_eq!(store.next_incident_number(&b).await, Ok(1));
    assert_eq!(store.next_incident_number(&a).await, Ok(3));
    assert_eq!(store.next_incident_number(&b).await, Ok(2));
}

/// Twenty concurrent allocations get twenty distinct numbers, 1 to 20.
pub async fn concurrent_incident_numbers_are_distinct(store: Arc<dyn Store>) {
    let a = add_customer(&*store, 1).await;
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let store = Arc::clone(&store);
        let a = a.clone();
        tasks.push(tokio::spawn(
            async move { store.next_incident_number(&a).await },
        ));
    }
    let mut numbers = Vec::new();
    for task in tasks {
        numbers.push(
            task.await
                .expect("allocation task panicked")
                .expect("next_incident_number failed under concurrency"),
        );
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=20).collect::<Vec<i64>>());
    assert_eq!(store.next_incident_number(&a).await, Ok(21));
}
