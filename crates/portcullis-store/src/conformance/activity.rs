//! Checks of the activity stream: entries are written in the same transaction as the change
//! they record (and not at all when the change fails), and listing filters them (object,
//! actor, operation, instant, time range, id, "involving a user"), orders them (newest first unless told
//! otherwise) and pages them.

use super::{activity, at, create, new_user};
use crate::activity::{ActivityField, ActivityOrder};
use crate::{ActivityEntry, ActivityQuery, NewActivity, Store, StoreError, UserPatch};
use portcullis_core::ids::UserId;
use serde_json::json;
use std::sync::Arc;

/// Every entry, newest first.
async fn all(store: &dyn Store) -> (i64, Vec<ActivityEntry>) {
    let page = store
        .list_activity(&ActivityQuery {
            limit: 1000,
            ..ActivityQuery::default()
        })
        .await
        .expect("list_activity failed");
    (page.total, page.items)
}

/// The entries as written (without their ids).
fn entries(items: &[ActivityEntry]) -> Vec<NewActivity> {
    items.iter().map(|e| e.entry.clone()).collect()
}

/// Asserts ids are strictly decreasing (newest first).
fn assert_newest_first(items: &[ActivityEntry]) {
    let ids: Vec<i64> = items.iter().map(|e| e.id).collect();
    let mut sorted = ids.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    sorted.dedup();
    assert_eq!(
        ids, sorted,
        "entries must be newest first with distinct ids"
    );
}

/// Create, update and delete of a user each leave their entry, stored exactly as given; the
/// create entry gets the new user's id when it had none.
pub async fn user_changes_write_activity_newest_first(store: Arc<dyn Store>) {
    let admin = create(&*store, new_user("admin")).await;
    let actor = Some(admin.id);
    let created_entry = activity(
        "create",
        "user",
        None,
        actor,
        json!({"username": "alice", "is_superuser": false}),
    );
    let alice = store
        .create_user(new_user("alice"), Some(created_entry.clone()))
        .await
        .expect("create_user");

    let mut updated_entry = activity(
        "update",
        "user",
        Some(alice.id.0),
        actor,
        json!({"email": ["alice@example.com", "new@example.com"]}),
    );
    updated_entry.timestamp = at(5_000);
    store
        .update_user(
            alice.id,
            UserPatch {
                email: Some("new@example.com".into()),
                ..UserPatch::default()
            },
            Some(updated_entry.clone()),
        )
        .await
        .expect("update_user");

    let mut deleted_entry = activity(
        "delete",
        "user",
        Some(alice.id.0),
        actor,
        json!({"username": "alice"}),
    );
    deleted_entry.timestamp = at(9_000);
    store
        .delete_user(alice.id, Some(deleted_entry.clone()))
        .await
        .expect("delete_user");

    let (total, items) = all(&*store).await;
    assert_eq!(total, 3);
    assert_newest_first(&items);
    let expected_create = NewActivity {
        object1_id: Some(alice.id.0),
        ..created_entry
    };
    assert_eq!(
        entries(&items),
        vec![deleted_entry, updated_entry, expected_create]
    );
    // The actor may be deleted later: entries are not tied to the users table.
    store
        .delete_user(admin.id, None)
        .await
        .expect("delete admin");
    let (total, items) = all(&*store).await;
    assert_eq!(total, 3);
    assert!(items.iter().all(|e| e.entry.actor == actor));
}

/// A refused change writes no entry: the entry shares the change's transaction.
pub async fn failed_change_writes_no_activity(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let bob = create(&*store, new_user("bob")).await;
    let missing = UserId(bob.id.0 + 1000);
    let entry = || Some(activity("update", "user", None, None, json!({"x": 1})));

    assert_eq!(
        store
            .create_user(new_user("alice"), entry())
            .await
            .map(|u| u.id),
        Err(StoreError::Conflict("username".into()))
    );
    let rename = UserPatch {
        username: Some("alice".into()),
        ..UserPatch::default()
    };
    assert_eq!(
        store
            .update_user(bob.id, rename, entry())
            .await
            .map(|u| u.id),
        Err(StoreError::Conflict("username".into()))
    );
    assert_eq!(
        store
            .update_user(missing, UserPatch::default(), entry())
            .await
            .map(|u| u.id),
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.delete_user(missing, entry()).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store
            .change_password(missing, "$x".into(), None, entry())
            .await,
        Err(StoreError::NotFound)
    );
    assert_eq!(all(&*store).await, (0, vec![]));
    assert_eq!(store.user_by_id(alice.id).await, Ok(Some(alice)));
}

/// A settings write stores all its entries with the change, and none when there are none.
pub async fn settings_writes_record_activity(store: Arc<dyn Store>) {
    let admin = create(&*store, new_user("admin")).await;
    store
        .write_settings(
            vec![("SESSION_COOKIE_AGE".into(), json!(900))],
            vec![],
            at(0),
            vec![],
        )
        .await
        .expect("write without activity");
    assert_eq!(all(&*store).await.0, 0);

    let first = activity(
        "update",
        "setting",
        None,
        Some(admin.id),
        json!({"SESSION_COOKIE_AGE": [900, 1200]}),
    );
    let second = activity(
        "update",
        "setting",
        None,
        Some(admin.id),
        json!({"AUTH_LDAP_BIND_PASSWORD": ["$encrypted$", "$encrypted$"]}),
    );
    store
        .write_settings(
            vec![
                ("SESSION_COOKIE_AGE".into(), json!(1200)),
                ("AUTH_LDAP_BIND_PASSWORD".into(), json!("hunter2")),
            ],
            vec![],
            at(1_000),
            vec![first.clone(), second.clone()],
        )
        .await
        .expect("write with activity");
    let (total, items) = all(&*store).await;
    assert_eq!(total, 2);
    assert_newest_first(&items);
    // Written in the order given, so the last one is the newest.
    assert_eq!(entries(&items), vec![second, first]);
    let settings = store.load_settings().await.expect("load");
    assert_eq!(settings.get("SESSION_COOKIE_AGE"), Some(&json!(1200)));
}

/// A password change and a disable each leave their entry.
pub async fn password_change_and_disable_record_activity(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let changed = activity(
        "update",
        "user",
        Some(alice.id.0),
        Some(alice.id),
        json!({"password": "hidden"}),
    );
    assert_eq!(
        store
            .change_password(alice.id, "$argon2id$n".into(), None, Some(changed.clone()))
            .await,
        Ok(1)
    );
    let disabled = activity(
        "update",
        "user",
        Some(alice.id.0),
        None,
        json!({"is_active": [true, false]}),
    );
    let after = store
        .update_user(
            alice.id,
            UserPatch {
                is_active: Some(false),
                ..UserPatch::default()
            },
            Some(disabled.clone()),
        )
        .await
        .expect("disable");
    assert_eq!(after.auth_generation, 2);
    let (total, items) = all(&*store).await;
    assert_eq!(total, 2);
    assert_eq!(entries(&items), vec![disabled, changed]);
}

/// Filters by object type, object id and actor combine; pages are newest first and `total`
/// counts every match.
pub async fn list_activity_filters_and_pages(store: Arc<dyn Store>) {
    let a = UserId(7001);
    let b = UserId(7002);
    let stamped = |mut entry: NewActivity, ms: i64| {
        entry.timestamp = at(ms);
        entry
    };
    let rows = vec![
        stamped(
            activity("create", "user", Some(1), Some(a), json!({"n": 0})),
            3_000,
        ),
        stamped(
            activity("update", "user", Some(1), Some(b), json!({"n": 1})),
            1_000,
        ),
        stamped(
            activity("update", "user", Some(2), Some(a), json!({"n": 2})),
            1_000,
        ),
        stamped(
            activity("update", "setting", None, Some(a), json!({"n": 3})),
            5_000,
        ),
        activity(
            "create",
            "o_auth2_access_token",
            Some(1),
            None,
            json!({"n": 4}),
        ),
        stamped(
            activity("delete", "user", Some(1), Some(a), json!({"n": 5})),
            2_000,
        ),
    ];
    store
        .write_settings(vec![], vec![], at(0), rows)
        .await
        .expect("write activity");

    let list = |object1: Option<&str>, object1_id: Option<i64>, actor: Option<UserId>| {
        let store = Arc::clone(&store);
        let q = ActivityQuery {
            object1: object1.map(str::to_owned),
            object1_id,
            actor,
            limit: 100,
            offset: 0,
            ..ActivityQuery::default()
        };
        async move {
            let page = store.list_activity(&q).await.expect("list_activity");
            assert_newest_first(&page.items);
            let ns: Vec<i64> = page
                .items
                .iter()
                .filter_map(|e| e.entry.changes.get("n").and_then(serde_json::Value::as_i64))
                .collect();
            (page.total, ns)
        }
    };
    assert_eq!(list(None, None, None).await, (6, vec![5, 4, 3, 2, 1, 0]));
    assert_eq!(list(Some("user"), None, None).await, (4, vec![5, 2, 1, 0]));
    assert_eq!(list(Some("user"), Some(1), None).await, (3, vec![5, 1, 0]));
    assert_eq!(list(None, Some(1), None).await, (4, vec![5, 4, 1, 0]));
    assert_eq!(list(None, None, Some(a)).await, (4, vec![5, 3, 2, 0]));
    assert_eq!(list(Some("user"), Some(1), Some(a)).await, (2, vec![5, 0]));
    assert_eq!(list(Some("setting"), None, Some(b)).await, (0, vec![]));
    assert_eq!(list(Some("team"), None, None).await, (0, vec![]));

    let page = store
        .list_activity(&ActivityQuery {
            limit: 2,
            offset: 1,
            ..ActivityQuery::default()
        })
        .await
        .expect("page");
    assert_eq!(page.total, 6);
    let ns: Vec<i64> = page
        .items
        .iter()
        .filter_map(|e| e.entry.changes.get("n").and_then(serde_json::Value::as_i64))
        .collect();
    assert_eq!(ns, vec![4, 3]);
    let beyond = store
        .list_activity(&ActivityQuery {
            limit: 2,
            offset: 6,
            ..ActivityQuery::default()
        })
        .await
        .expect("page");
    assert_eq!((beyond.total, beyond.items.len()), (6, 0));
    list_activity_by_time_range(&store, a).await;
    list_activity_by_operation_instant_id_and_order(&store, a, b).await;
}

/// Continues [`list_activity_filters_and_pages`] on its six rows (written at 3 s, 1 s, 1 s,
/// 5 s, 0 s and 2 s): `since` is inclusive, `until` exclusive, and both combine with the
/// other filters and with paging.
async fn list_activity_by_time_range(store: &Arc<dyn Store>, a: UserId) {
    let q = ActivityQuery::default;
    let range = |since: Option<i64>, until: Option<i64>| ActivityQuery {
        since: since.map(at),
        until: until.map(at),
        ..q()
    };
    assert_eq!(
        markers(store, range(Some(1_000), None)).await,
        (5, vec![5, 3, 2, 1, 0])
    );
    assert_eq!(markers(store, range(None, Some(1_000))).await, (1, vec![4]));
    assert_eq!(
        markers(store, range(Some(1_000), Some(3_000))).await,
        (3, vec![5, 2, 1])
    );
    assert_eq!(
        markers(store, range(Some(3_000), Some(3_000))).await,
        (0, vec![])
    );
    assert_eq!(
        markers(store, range(Some(3_001), Some(1_000))).await,
        (0, vec![]),
        "an inverted range matches nothing"
    );
    assert_eq!(
        markers(
            store,
            ActivityQuery {
                actor: Some(a),
                ..range(Some(2_000), None)
            }
        )
        .await,
        (3, vec![5, 3, 0])
    );
    let page = store
        .list_activity(&ActivityQuery {
            limit: 2,
            offset: 2,
            ..range(Some(1_000), None)
        })
        .await
        .expect("page");
    let ns: Vec<i64> = page
        .items
        .iter()
        .filter_map(|e| e.entry.changes.get("n").and_then(serde_json::Value::as_i64))
        .collect();
    assert_eq!((page.total, ns), (5, vec![2, 1]));
}

/// The `n` markers of the entries matching `query` (limit 100), and their total.
async fn markers(store: &Arc<dyn Store>, query: ActivityQuery) -> (i64, Vec<i64>) {
    let page = store
        .list_activity(&ActivityQuery {
            limit: 100,
            ..query
        })
        .await
        .expect("list_activity");
    let ns = page
        .items
        .iter()
        .filter_map(|e| e.entry.changes.get("n").and_then(serde_json::Value::as_i64))
        .collect();
    (page.total, ns)
}

/// Continues [`list_activity_filters_and_pages`] on its six rows: filters by operation,
/// exact instant, entry id and "involving a user" (actor of, or the user as the object);
/// explicit orders on every field with the id tie-break and the actor NULLs placed alike on
/// both backends.
async fn list_activity_by_operation_instant_id_and_order(
    store: &Arc<dyn Store>,
    a: UserId,
    b: UserId,
) {
    let q = ActivityQuery::default;
    let by = |field: ActivityField, descending: bool| Some(ActivityOrder { field, descending });
    let update = Some("update".to_owned());
    assert_eq!(
        markers(
            store,
            ActivityQuery {
                operation: update.clone(),
                ..q()
            }
        )
        .await,
        (3, vec![3, 2, 1])
    );
    assert_eq!(
        markers(
            store,
            ActivityQuery {
                timestamp: Some(at(1_000)),
                ..q()
            }
        )
        .await,
        (2, vec![2, 1])
    );
    assert_eq!(
        markers(
            store,
            ActivityQuery {
                timestamp: Some(at(1_001)),
                ..q()
            }
        )
        .await,
        (0, vec![])
    );
    let orders = [
        (ActivityField::Id, false, vec![0, 1, 2, 3, 4, 5]),
        (ActivityField::Id, true, vec![5, 4, 3, 2, 1, 0]),
        (ActivityField::Timestamp, false, vec![4, 1, 2, 5, 0, 3]),
        (ActivityField::Timestamp, true, vec![3, 0, 5, 1, 2, 4]),
        (ActivityField::Operation, false, vec![0, 4, 5, 1, 2, 3]),
        (ActivityField::Operation, true, vec![1, 2, 3, 5, 0, 4]),
        (ActivityField::Object1, false, vec![4, 3, 0, 1, 2, 5]),
        (ActivityField::Object1, true, vec![0, 1, 2, 5, 3, 4]),
        (ActivityField::Actor, false, vec![0, 2, 3, 5, 1, 4]),
        (ActivityField::Actor, true, vec![4, 1, 0, 2, 3, 5]),
    ];
    for (field, descending, expected) in orders {
        assert_eq!(
            markers(
                store,
                ActivityQuery {
                    order: by(field, descending),
                    ..q()
                }
            )
            .await,
            (6, expected),
            "order by {field:?}, descending {descending}"
        );
    }
    assert_eq!(
        markers(
            store,
            ActivityQuery {
                operation: update,
                order: by(ActivityField::Timestamp, false),
                ..q()
            }
        )
        .await,
        (3, vec![1, 2, 3])
    );
    // Paging applies after the order.
    let page = store
        .list_activity(&ActivityQuery {
            order: by(ActivityField::Timestamp, false),
            limit: 2,
            offset: 2,
            ..q()
        })
        .await
        .expect("page");
    let ids: Vec<i64> = page.items.iter().map(|e| e.id).collect();
    assert_eq!((page.total, ids.len()), (6, 2));

    // One entry by id; an unknown id matches nothing.
    let all = store
        .list_activity(&ActivityQuery { limit: 100, ..q() })
        .await
        .expect("all");
    let third = all
        .items
        .iter()
        .find(|e| e.entry.changes.get("n") == Some(&json!(3)))
        .expect("entry 3");
    assert_eq!(
        markers(
            store,
            ActivityQuery {
                id: Some(third.id),
                ..q()
            }
        )
        .await,
        (1, vec![3])
    );
    let missing = all.items.iter().map(|e| e.id).max().unwrap_or(0) + 100;
    assert_eq!(
        markers(
            store,
            ActivityQuery {
                id: Some(missing),
                ..q()
            }
        )
        .await,
        (0, vec![])
    );

    // "Involving" a user: entries it acted in, and those about that user.
    let mut about_a = activity("update", "user", Some(a.0), Some(b), json!({"n": 6}));
    about_a.timestamp = at(6_000);
    store
        .write_settings(vec![], vec![], at(0), vec![about_a])
        .await
        .expect("write activity");
    assert_eq!(
        markers(
            store,
            ActivityQuery {
                involving: Some(a),
                ..q()
            }
        )
        .await,
        (5, vec![6, 5, 3, 2, 0])
    );
    assert_eq!(
        markers(
            store,
            ActivityQuery {
                involving: Some(b),
                ..q()
            }
        )
        .await,
        (2, vec![6, 1])
    );
    assert_eq!(
        markers(
            store,
            ActivityQuery {
                involving: Some(a),
                actor: Some(b),
                ..q()
            }
        )
        .await,
        (1, vec![6])
    );
    assert_eq!(
        markers(
            store,
            ActivityQuery {
                involving: Some(UserId(1)),
                ..q()
            }
        )
        .await,
        (3, vec![5, 1, 0]),
        "only `user` objects count: token 1 is not about user 1"
    );
}
