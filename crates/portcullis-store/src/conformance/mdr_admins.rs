//! Checks of [`MdrAdminStore`](crate::MdrAdminStore): granting, listing and revoking the
//! per-customer MDR administrator role, its activity entries and its cascades.

use super::{activity, at, create, new_user};
use crate::{ActivityQuery, CustomerAdministrator, CustomerRecord, Store, StoreError};
use portcullis_core::ids::UserId;
use serde_json::json;
use std::sync::Arc;

/// Customer number `n`.
async fn add_customer(store: &dyn Store, n: u8) -> String {
    let client_id = format!("{:032x}", (0xAD_u128 << 64) | u128::from(n));
    store
        .create_customer(&CustomerRecord {
            client_id: client_id.clone(),
            name: format!("Customer {n}"),
            created_at: at(0),
        })
        .await
        .expect("create_customer failed");
    client_id
}

/// The number of activity entries about MDR administrators.
async fn admin_entries(store: &dyn Store) -> i64 {
    store
        .list_activity(&ActivityQuery {
            object1: Some("mdr_administrator".into()),
            limit: 100,
            ..ActivityQuery::default()
        })
        .await
        .expect("list_activity failed")
        .total
}

/// A grant is listed both ways, is idempotent (no second activity entry), and a revoke
/// removes exactly that grant; another customer's grants are untouched.
pub async fn grants_round_trip_and_revoke(store: Arc<dyn Store>) {
    let a = add_customer(store.as_ref(), 1).await;
    let b = add_customer(store.as_ref(), 2).await;
    let zoe = create(store.as_ref(), new_user("zoe")).await;
    let adam = create(store.as_ref(), new_user("adam")).await;
    let entry = || {
        Some(activity(
            "associate",
            "mdr_administrator",
            None,
            None,
            json!({"client_id": "x"}),
        ))
    };
    assert_eq!(store.administered_customers(zoe.id).await, Ok(vec![]));
    assert_eq!(
        store
            .grant_customer_admin(&a, zoe.id, at(1_000), entry())
            .await,
        Ok(true)
    );
    assert_eq!(
        store
            .grant_customer_admin(&a, zoe.id, at(2_000), entry())
            .await,
        Ok(false)
    );
    assert_eq!(
        store
            .grant_customer_admin(&a, adam.id, at(3_000), entry())
            .await,
        Ok(true)
    );
    assert_eq!(
        store
            .grant_customer_admin(&b, zoe.id, at(4_000), None)
            .await,
        Ok(true)
    );
    assert_eq!(admin_entries(store.as_ref()).await, 2);
    assert_eq!(
        store.customer_admins(&a).await,
        Ok(vec![
            CustomerAdministrator {
                user_id: adam.id,
                username: "adam".into(),
                granted_at: at(3_000),
            },
            CustomerAdministrator {
                user_id: zoe.id,
                username: "zoe".into(),
                granted_at: at(1_000),
            },
        ])
    );
    let mut both = vec![a.clone(), b.clone()];
    both.sort();
    assert_eq!(store.administered_customers(zoe.id).await, Ok(both));
    assert_eq!(
        store.administered_customers(adam.id).await,
        Ok(vec![a.clone()])
    );

    assert_eq!(
        store.revoke_customer_admin(&a, zoe.id, entry()).await,
        Ok(true)
    );
    assert_eq!(
        store.revoke_customer_admin(&a, zoe.id, entry()).await,
        Ok(false)
    );
    assert_eq!(admin_entries(store.as_ref()).await, 3);
    assert_eq!(
        store.administered_customers(zoe.id).await,
        Ok(vec![b.clone()])
    );
    assert_eq!(
        store
            .customer_admins(&a)
            .await
            .map(|v| v.into_iter().map(|x| x.user_id).collect::<Vec<_>>()),
        Ok(vec![adam.id])
    );
}

/// A grant for a missing customer or user is `NotFound` and writes nothing.
pub async fn grant_for_missing_customer_or_user_is_not_found(store: Arc<dyn Store>) {
    let a = add_customer(store.as_ref(), 1).await;
    let zoe = create(store.as_ref(), new_user("zoe")).await;
    let entry = Some(activity(
        "associate",
        "mdr_administrator",
        None,
        None,
        json!({}),
    ));
    assert_eq!(
        store
            .grant_customer_admin(&"f".repeat(32), zoe.id, at(0), entry.clone())
            .await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store
            .grant_customer_admin(&a, UserId(987_654), at(0), entry)
            .await,
        Err(StoreError::NotFound)
    );
    assert_eq!(admin_entries(store.as_ref()).await, 0);
    assert_eq!(store.customer_admins(&a).await, Ok(vec![]));
}

/// Deleting the user removes their grants.
pub async fn deleting_the_user_removes_the_grant(store: Arc<dyn Store>) {
    let a = add_customer(store.as_ref(), 1).await;
    let zoe = create(store.as_ref(), new_user("zoe")).await;
    store
        .grant_customer_admin(&a, zoe.id, at(0), None)
        .await
        .expect("grant failed");
    store
        .delete_user(zoe.id, None)
        .await
        .expect("delete_user failed");
    assert_eq!(store.customer_admins(&a).await, Ok(vec![]));
    assert_eq!(store.administered_customers(zoe.id).await, Ok(vec![]));
}
