//! Checks of [`UserStore`](crate::UserStore): creation, lookups, listing, updates, password
//! changes and deletion.

use super::{at, create, hash, new_session, new_user, t0};
use crate::{
    Condition, DirectorySync, Filter, Lookup, SessionRekey, Store, StoreError, UserField,
    UserOrder, UserPatch, UserQuery,
};
use portcullis_core::ids::UserId;
use portcullis_core::user::User;
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;

/// A query with `filters`, default order and a page large enough for every check.
fn query(filters: Vec<(UserField, &str)>) -> UserQuery {
    UserQuery {
        filter: Filter::exact(filters),
        order: UserOrder::default(),
        only: None,
        member_of: None,
        limit: 100,
        offset: 0,
    }
}

/// Usernames of a listing, in order, with its total.
async fn names(store: &dyn Store, q: &UserQuery) -> (i64, Vec<String>) {
    let page = store.list_users(q).await.expect("list_users failed");
    (
        page.total,
        page.items.into_iter().map(|u| u.username).collect(),
    )
}

/// Shorthand for an expected list of usernames.
fn list(total: i64, names: &[&str]) -> (i64, Vec<String>) {
    (total, names.iter().map(|s| (*s).to_owned()).collect())
}

/// Every field of a new user is stored and read back as given, by id and by exact username.
pub async fn create_user_round_trips_and_looks_up(store: Arc<dyn Store>) {
    let mut new = new_user("alice");
    new.is_superuser = true;
    new.ldap_dn = "cn=alice,dc=example,dc=com".into();
    new.external_account = Some("ldap".into());
    new.password_hash = None;
    let created = create(&*store, new).await;

    assert!(created.id.0 > 0);
    assert_eq!(created.username, "alice");
    assert_eq!(created.email, "alice@example.com");
    assert_eq!(created.first_name, "First alice");
    assert_eq!(created.last_name, "Last alice");
    assert_eq!(created.password_hash, None);
    assert!(created.is_superuser);
    assert!(!created.is_system_auditor);
    assert!(created.is_active, "new users are active");
    assert_eq!(created.external_account.as_deref(), Some("ldap"));
    assert_eq!(created.ldap_dn, "cn=alice,dc=example,dc=com");
    assert_eq!(created.auth_generation, 0);
    assert_eq!(created.created_at, t0());
    assert_eq!(created.last_login, None);

    let local = create(&*store, new_user("bob")).await;
    assert_ne!(local.id, created.id);
    assert_eq!(
        local.password_hash.as_deref(),
        Some("$argon2id$v=19$hash-of-bob")
    );
    assert_eq!(local.external_account, None);

    let by_id = store.user_by_id(created.id).await.expect("user_by_id");
    assert_eq!(by_id.as_ref(), Some(&created));
    let by_name = store.user_by_username("alice").await.expect("by username");
    assert_eq!(by_name.as_ref(), Some(&created));

    // Lookups are exact: no case folding, no prefix match.
    assert_eq!(store.user_by_username("ALICE").await, Ok(None));
    assert_eq!(store.user_by_username("alic").await, Ok(None));
    assert_eq!(
        store.user_by_id(UserId(created.id.0 + 1000)).await,
        Ok(None)
    );
}

/// A taken username refuses the insert with `Conflict("username")` and changes nothing.
pub async fn duplicate_username_is_a_conflict(store: Arc<dyn Store>) {
    let first = create(&*store, new_user("alice")).await;
    let mut again = new_user("alice");
    again.email = "other@example.com".into();
    assert_eq!(
        store.create_user(again, None).await,
        Err(StoreError::Conflict("username".into()))
    );
    assert_eq!(store.user_by_username("alice").await, Ok(Some(first)));
    assert_eq!(names(&*store, &query(vec![])).await, list(1, &["alice"]));
    // A different name is still accepted after the refusal.
    create(&*store, new_user("alice2")).await;
    assert_eq!(names(&*store, &query(vec![])).await.0, 2);
}

/// Filters match exactly, booleans accept Django's spellings, and values that cannot match the
/// column's type match nothing (no error).
pub async fn list_users_filters_by_exact_match(store: Arc<dyn Store>) {
    let mut alice = new_user("alice");
    alice.is_superuser = true;
    let alice = create(&*store, alice).await;
    let mut bob = new_user("bob");
    bob.is_system_auditor = true;
    bob.created_at = at(1000);
    let bob = create(&*store, bob).await;
    let mut carol = new_user("carol");
    carol.ldap_dn = "cn=carol,dc=example".into();
    carol.created_at = at(2000);
    create(&*store, carol).await;
    let mut dave = new_user("dave");
    dave.first_name = "Same".into();
    dave.created_at = at(3000);
    let dave = create(&*store, dave).await;
    let mut erin = new_user("erin");
    erin.first_name = "Same".into();
    erin.created_at = at(4000);
    create(&*store, erin).await;
    store
        .record_login(dave.id, at(9000))
        .await
        .expect("record_login");

    let s = &*store;
    assert_eq!(
        names(s, &query(vec![(UserField::Username, "bob")])).await,
        list(1, &["bob"])
    );
    assert_eq!(
        names(s, &query(vec![(UserField::Username, "BOB")])).await,
        list(0, &[])
    );
    assert_eq!(
        names(s, &query(vec![(UserField::Email, "carol@example.com")])).await,
        list(1, &["carol"])
    );
    assert_eq!(
        names(s, &query(vec![(UserField::LastName, "Last erin")])).await,
        list(1, &["erin"])
    );
    assert_eq!(
        names(s, &query(vec![(UserField::LdapDn, "cn=carol,dc=example")])).await,
        list(1, &["carol"])
    );
    assert_eq!(
        names(s, &query(vec![(UserField::LdapDn, "")])).await,
        list(4, &["alice", "bob", "dave", "erin"])
    );
    for yes in ["true", "True", "1"] {
        assert_eq!(
            names(s, &query(vec![(UserField::IsSuperuser, yes)])).await,
            list(1, &["alice"]),
            "is_superuser={yes}"
        );
    }
    for no in ["false", "False", "0"] {
        assert_eq!(
            names(s, &query(vec![(UserField::IsSuperuser, no)])).await,
            list(4, &["bob", "carol", "dave", "erin"]),
            "is_superuser={no}"
        );
    }
    assert_eq!(
        names(s, &query(vec![(UserField::IsSystemAuditor, "1")])).await,
        list(1, &["bob"])
    );
    assert_eq!(
        names(s, &query(vec![(UserField::IsSuperuser, "yes")])).await,
        list(0, &[])
    );
    let alice_id = alice.id.0.to_string();
    assert_eq!(
        names(s, &query(vec![(UserField::Id, alice_id.as_str())])).await,
        list(1, &["alice"])
    );
    for bad in ["abc", "1.5", "", " 1"] {
        assert_eq!(
            names(s, &query(vec![(UserField::Id, bad)])).await,
            list(0, &[]),
            "id={bad:?}"
        );
    }
    // Several filters combine with AND.
    assert_eq!(
        names(
            s,
            &query(vec![
                (UserField::FirstName, "Same"),
                (UserField::LastName, "Last dave")
            ])
        )
        .await,
        list(1, &["dave"])
    );
    assert_eq!(
        names(s, &query(vec![(UserField::FirstName, "Same")])).await,
        list(2, &["dave", "erin"])
    );
    // Instants are given as RFC 3339.
    let created = at(2000).format(&Rfc3339).expect("format");
    assert_eq!(
        names(s, &query(vec![(UserField::Created, created.as_str())])).await,
        list(1, &["carol"])
    );
    let login = at(9000).format(&Rfc3339).expect("format");
    assert_eq!(
        names(s, &query(vec![(UserField::LastLogin, login.as_str())])).await,
        list(1, &["dave"])
    );
    assert_eq!(
        names(s, &query(vec![(UserField::Created, "yesterday")])).await,
        list(0, &[])
    );
    // `only` restricts to one user and still applies the filters.
    let mut only = query(vec![]);
    only.only = Some(bob.id);
    assert_eq!(names(s, &only).await, list(1, &["bob"]));
    only.filter = Filter::exact([(UserField::IsSuperuser, "true")]);
    assert_eq!(names(s, &only).await, list(0, &[]));
}

/// Ordering by each kind of column, descending too, with ties broken by id ascending; `total`
/// counts every match regardless of the page.
pub async fn list_users_orders_with_id_tiebreak_and_pages(store: Arc<dyn Store>) {
    // (username, first name, created offset ms) in id order.
    let rows = [
        ("delta", "Zed", 500),
        ("alpha", "Tie", 100),
        ("charlie", "Tie", 300),
        ("bravo", "Abe", 200),
        ("echo", "Tie", 100),
    ];
    let mut users: Vec<User> = Vec::new();
    for (name, first, created) in rows {
        let mut n = new_user(name);
        n.first_name = first.into();
        n.created_at = at(created);
        users.push(create(&*store, n).await);
    }
    let id_of = |name: &str| {
        users
            .iter()
            .find(|u| u.username == name)
            .map(|u| u.id)
            .expect("user")
    };
    store
        .record_login(id_of("alpha"), at(10_000))
        .await
        .expect("login");
    store
        .record_login(id_of("charlie"), at(5_000))
        .await
        .expect("login");

    let s = &*store;
    let ordered = |field: UserField, descending: bool| {
        let mut q = query(vec![]);
        q.order = UserOrder { field, descending };
        q
    };
    let all = |v: &[&str]| list(5, v);
    assert_eq!(
        names(s, &ordered(UserField::Id, false)).await,
        all(&["delta", "alpha", "charlie", "bravo", "echo"])
    );
    assert_eq!(
        names(s, &ordered(UserField::Id, true)).await,
        all(&["echo", "bravo", "charlie", "alpha", "delta"])
    );
    assert_eq!(
        names(s, &ordered(UserField::Username, false)).await,
        all(&["alpha", "bravo", "charlie", "delta", "echo"])
    );
    assert_eq!(
        names(s, &ordered(UserField::Username, true)).await,
        all(&["echo", "delta", "charlie", "bravo", "alpha"])
    );
    assert_eq!(
        names(s, &ordered(UserField::FirstName, false)).await,
        all(&["bravo", "alpha", "charlie", "echo", "delta"])
    );
    // Descending order keeps the id tie-breaker ascending.
    assert_eq!(
        names(s, &ordered(UserField::FirstName, true)).await,
        all(&["delta", "alpha", "charlie", "echo", "bravo"])
    );
    assert_eq!(
        names(s, &ordered(UserField::Created, false)).await,
        all(&["alpha", "echo", "bravo", "charlie", "delta"])
    );
    // Users who never logged in sort after those who did, and first when descending.
    assert_eq!(
        names(s, &ordered(UserField::LastLogin, false)).await,
        all(&["charlie", "alpha", "delta", "bravo", "echo"])
    );
    assert_eq!(
        names(s, &ordered(UserField::LastLogin, true)).await,
        all(&["delta", "bravo", "echo", "alpha", "charlie"])
    );

    let mut page = ordered(UserField::Username, false);
    page.limit = 2;
    page.offset = 1;
    assert_eq!(names(s, &page).await, list(5, &["bravo", "charlie"]));
    page.offset = 4;
    assert_eq!(names(s, &page).await, list(5, &["echo"]));
    page.offset = 10;
    assert_eq!(names(s, &page).await, list(5, &[]));
    page.offset = 0;
    page.limit = 0;
    assert_eq!(names(s, &page).await, list(5, &[]));
    let mut only = ordered(UserField::Username, false);
    only.only = Some(id_of("charlie"));
    assert_eq!(names(s, &only).await, list(1, &["charlie"]));
}

/// A patch changes the given fields only, returns the stored row and leaves the generation alone.
pub async fn update_user_applies_only_given_fields(store: Arc<dyn Store>) {
    let before = create(&*store, new_user("alice")).await;
    let patch = UserPatch {
        email: Some("new@example.com".into()),
        is_superuser: Some(true),
        is_system_auditor: Some(true),
        ..UserPatch::default()
    };
    let after = store
        .update_user(before.id, patch, None)
        .await
        .expect("update");
    assert_eq!(after.email, "new@example.com");
    assert!(after.is_superuser);
    assert!(after.is_system_auditor);
    assert_eq!(after.username, before.username);
    assert_eq!(after.first_name, before.first_name);
    assert_eq!(after.last_name, before.last_name);
    assert_eq!(after.password_hash, before.password_hash);
    assert_eq!(after.is_active, before.is_active);
    assert_eq!(after.auth_generation, before.auth_generation);
    assert_eq!(after.created_at, before.created_at);
    assert_eq!(store.user_by_id(before.id).await, Ok(Some(after.clone())));

    let renamed = store
        .update_user(
            before.id,
            UserPatch {
                username: Some("alicia".into()),
                first_name: Some("Alicia".into()),
                last_name: Some("Liddell".into()),
                ..UserPatch::default()
            },
            None,
        )
        .await
        .expect("rename");
    assert_eq!(renamed.username, "alicia");
    assert_eq!(renamed.first_name, "Alicia");
    assert_eq!(renamed.last_name, "Liddell");
    assert_eq!(renamed.email, "new@example.com");
    assert_eq!(store.user_by_username("alice").await, Ok(None));
    assert_eq!(store.user_by_username("alicia").await, Ok(Some(renamed)));

    // An empty patch is a no-op that still returns the row.
    let same = store
        .update_user(before.id, UserPatch::default(), None)
        .await
        .expect("empty patch");
    assert_eq!(same.username, "alicia");
    assert_eq!(same.auth_generation, 0);
}

/// Renaming onto a taken username is `Conflict("username")` and leaves both rows unchanged.
pub async fn rename_onto_a_taken_username_is_a_conflict(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let bob = create(&*store, new_user("bob")).await;
    let patch = UserPatch {
        username: Some("alice".into()),
        email: Some("changed@example.com".into()),
        ..UserPatch::default()
    };
    assert_eq!(
        store.update_user(bob.id, patch, None).await,
        Err(StoreError::Conflict("username".into()))
    );
    assert_eq!(store.user_by_id(bob.id).await, Ok(Some(bob)));
    assert_eq!(store.user_by_id(alice.id).await, Ok(Some(alice)));
}

/// Disabling bumps `auth_generation` in the same write; re-enabling does not.
pub async fn disabling_a_user_bumps_the_generation(store: Arc<dyn Store>) {
    let u = create(&*store, new_user("alice")).await;
    store
        .create_session(new_session(u.id, hash(1), at(0), 0), None, None)
        .await
        .expect("session");
    let disable = UserPatch {
        is_active: Some(false),
        ..UserPatch::default()
    };
    let off = store
        .update_user(u.id, disable, None)
        .await
        .expect("disable");
    assert!(!off.is_active);
    assert_eq!(off.auth_generation, 1);
    assert_eq!(store.user_by_id(u.id).await, Ok(Some(off.clone())));

    // The session issued before the disable no longer matches its user's generation.
    let (rec, user) = store
        .session_with_user(&hash(1))
        .await
        .expect("lookup")
        .expect("present");
    assert_eq!(rec.auth_generation, 0);
    assert_eq!(user.auth_generation, 1);
    assert!(!user.is_active);

    let enable = UserPatch {
        is_active: Some(true),
        ..UserPatch::default()
    };
    let on = store.update_user(u.id, enable, None).await.expect("enable");
    assert!(on.is_active);
    assert_eq!(
        on.auth_generation, 1,
        "enabling must not bump the generation"
    );
}

/// A directory login updates a user without a password (attributes given, flags always,
/// generation bumped on a source change only) and never touches one with a password.
pub async fn directory_sync_never_takes_over_a_local_password(store: Arc<dyn Store>) {
    let local = create(&*store, new_user("local")).await;
    let mut bare = new_user("bare");
    bare.password_hash = None;
    let bare = create(&*store, bare).await;
    let sync = |dn: &str, superuser: bool| DirectorySync {
        source: "ldap".into(),
        ldap_dn: dn.into(),
        first_name: Some("Dir".into()),
        last_name: None,
        email: Some("dir@example.org".into()),
        is_superuser: superuser,
        is_system_auditor: false,
    };
    let refused = store
        .sync_directory_user(local.id, sync("uid=local,dc=x", true), None)
        .await
        .expect("sync");
    assert_eq!(refused, None, "a local password is never taken over");
    assert_eq!(store.user_by_id(local.id).await, Ok(Some(local.clone())));

    let linked = store
        .sync_directory_user(bare.id, sync("uid=bare,dc=x", true), None)
        .await
        .expect("sync")
        .expect("linked");
    assert_eq!(linked.external_account.as_deref(), Some("ldap"));
    assert_eq!(linked.ldap_dn, "uid=bare,dc=x");
    assert_eq!(linked.first_name, "Dir");
    assert_eq!(linked.last_name, bare.last_name, "None leaves a field");
    assert_eq!(linked.email, "dir@example.org");
    assert!(linked.is_superuser);
    assert_eq!(linked.auth_generation, bare.auth_generation + 1);

    let again = store
        .sync_directory_user(bare.id, sync("uid=bare,ou=moved,dc=x", false), None)
        .await
        .expect("sync")
        .expect("still linked");
    assert!(!again.is_superuser, "flags follow the directory");
    assert_eq!(again.ldap_dn, "uid=bare,ou=moved,dc=x");
    assert_eq!(
        again.auth_generation, linked.auth_generation,
        "same source: same generation"
    );
    assert_eq!(
        store
            .sync_directory_user(UserId(999_999), sync("uid=x,dc=x", false), None)
            .await,
        Ok(None)
    );
}

/// Deleting a user deletes its sessions (and only its), and a second delete is `NotFound`.
pub async fn delete_user_cascades_to_sessions(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let bob = create(&*store, new_user("bob")).await;
    for (n, user) in [(1, alice.id), (2, alice.id), (3, bob.id)] {
        store
            .create_session(new_session(user, hash(n), at(i64::from(n)), 0), None, None)
            .await
            .expect("session");
    }
    assert_eq!(store.delete_user(alice.id, None).await, Ok(()));
    assert_eq!(store.user_by_id(alice.id).await, Ok(None));
    assert_eq!(store.session_with_user(&hash(1)).await, Ok(None));
    assert_eq!(store.session_with_user(&hash(2)).await, Ok(None));
    let (rec, user) = store
        .session_with_user(&hash(3))
        .await
        .expect("lookup")
        .expect("bob's session survives");
    assert_eq!(rec.user_id, bob.id);
    assert_eq!(user, bob);
    assert_eq!(
        store.delete_user(alice.id, None).await,
        Err(StoreError::NotFound)
    );
    // The name is free again.
    let again = create(&*store, new_user("alice")).await;
    assert_ne!(again.id, alice.id, "ids of deleted users are never reused");
}

/// Only active superusers count.
pub async fn count_active_superusers_ignores_disabled_and_plain_users(store: Arc<dyn Store>) {
    assert_eq!(store.count_active_superusers().await, Ok(0));
    let mut ids = Vec::new();
    for name in ["root1", "root2", "root3"] {
        let mut n = new_user(name);
        n.is_superuser = true;
        ids.push(create(&*store, n).await.id);
    }
    let mut auditor = new_user("auditor");
    auditor.is_system_auditor = true;
    create(&*store, auditor).await;
    create(&*store, new_user("plain")).await;
    assert_eq!(store.count_active_superusers().await, Ok(3));

    let disable = UserPatch {
        is_active: Some(false),
        ..UserPatch::default()
    };
    let first = *ids.first().expect("ids");
    store
        .update_user(first, disable, None)
        .await
        .expect("disable");
    assert_eq!(store.count_active_superusers().await, Ok(2));
    let demote = UserPatch {
        is_superuser: Some(false),
        ..UserPatch::default()
    };
    let second = *ids.get(1).expect("ids");
    store
        .update_user(second, demote, None)
        .await
        .expect("demote");
    assert_eq!(store.count_active_superusers().await, Ok(1));
}

/// A password change stores the hash, bumps the generation, ends the other sessions and re-keys
/// the kept one (same deadlines, new hash, new generation). Other users are untouched.
pub async fn change_password_bumps_generation_and_rekeys_the_kept_session(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let bob = create(&*store, new_user("bob")).await;
    for n in 1..=3u8 {
        store
            .create_session(
                new_session(alice.id, hash(n), at(i64::from(n)), 0),
                None,
                None,
            )
            .await
            .expect("session");
    }
    store
        .create_session(new_session(bob.id, hash(9), at(9), 0), None, None)
        .await
        .expect("bob session");
    let kept_before = store
        .session_with_user(&hash(2))
        .await
        .expect("lookup")
        .expect("present")
        .0;

    let keep = SessionRekey {
        old: hash(2),
        new: hash(20),
    };
    let generation = store
        .change_password(alice.id, "$argon2id$new".into(), Some(keep), None)
        .await
        .expect("change_password");
    assert_eq!(generation, 1);

    let user = store
        .user_by_id(alice.id)
        .await
        .expect("lookup")
        .expect("user");
    assert_eq!(user.password_hash.as_deref(), Some("$argon2id$new"));
    assert_eq!(user.auth_generation, 1);
    for gone in [1, 2, 3] {
        assert_eq!(
            store.session_with_user(&hash(gone)).await,
            Ok(None),
            "session {gone} must be gone"
        );
    }
    let (rekeyed, owner) = store
        .session_with_user(&hash(20))
        .await
        .expect("lookup")
        .expect("the kept session is found under its new hash");
    assert_eq!(rekeyed.hash, hash(20));
    assert_eq!(rekeyed.user_id, alice.id);
    assert_eq!(rekeyed.auth_generation, 1);
    assert_eq!(rekeyed.auth_generation, owner.auth_generation);
    assert_eq!(rekeyed.times, kept_before.times);
    assert!(
        store
            .session_with_user(&hash(9))
            .await
            .expect("lookup")
            .is_some(),
        "another user's session must survive"
    );

    // A second change bumps again and keeps re-keying.
    let keep = SessionRekey {
        old: hash(20),
        new: hash(21),
    };
    assert_eq!(
        store
            .change_password(alice.id, "$argon2id$newer".into(), Some(keep), None)
            .await,
        Ok(2)
    );
    let (rec, _) = store
        .session_with_user(&hash(21))
        .await
        .expect("lookup")
        .expect("re-keyed again");
    assert_eq!(rec.auth_generation, 2);
    assert_eq!(store.session_with_user(&hash(20)).await, Ok(None));
}

/// Without a session to keep, a password change ends every session of the user.
pub async fn change_password_without_keep_ends_every_session(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    for n in 1..=2u8 {
        store
            .create_session(new_session(alice.id, hash(n), at(0), 0), None, None)
            .await
            .expect("session");
    }
    assert_eq!(
        store
            .change_password(alice.id, "$argon2id$x".into(), None, None)
            .await,
        Ok(1)
    );
    assert_eq!(store.session_with_user(&hash(1)).await, Ok(None));
    assert_eq!(store.session_with_user(&hash(2)).await, Ok(None));
    assert_eq!(store.delete_user_sessions(alice.id, None).await, Ok(0));
}

/// The hash upgrade only applies while the stored hash is still the old one, and never touches
/// the generation.
pub async fn upgrade_password_hash_is_conditional(store: Arc<dyn Store>) {
    let u = create(&*store, new_user("alice")).await;
    let old = u.password_hash.clone().expect("local user has a hash");
    assert_eq!(
        store
            .upgrade_password_hash(u.id, &old, "$argon2id$upgraded")
            .await,
        Ok(true)
    );
    // A racing second login presents the now stale old hash: nothing changes.
    assert_eq!(
        store
            .upgrade_password_hash(u.id, &old, "$argon2id$other")
            .await,
        Ok(false)
    );
    let after = store.user_by_id(u.id).await.expect("lookup").expect("user");
    assert_eq!(after.password_hash.as_deref(), Some("$argon2id$upgraded"));
    assert_eq!(after.auth_generation, 0);
    assert_eq!(
        store
            .upgrade_password_hash(UserId(u.id.0 + 1000), &old, "$x")
            .await,
        Ok(false)
    );

    // A user without a local hash is never "upgraded".
    let mut ext = new_user("ext");
    ext.password_hash = None;
    let ext = create(&*store, ext).await;
    assert_eq!(
        store.upgrade_password_hash(ext.id, "", "$argon2id$y").await,
        Ok(false)
    );
    let ext_after = store
        .user_by_id(ext.id)
        .await
        .expect("lookup")
        .expect("user");
    assert_eq!(ext_after.password_hash, None);
}

/// `record_login` stamps `last_login` and nothing else.
pub async fn record_login_stamps_last_login(store: Arc<dyn Store>) {
    let u = create(&*store, new_user("alice")).await;
    assert_eq!(store.record_login(u.id, at(61_000)).await, Ok(()));
    let after = store.user_by_id(u.id).await.expect("lookup").expect("user");
    assert_eq!(after.last_login, Some(at(61_000)));
    assert_eq!(
        User {
            last_login: None,
            ..after
        },
        u
    );
    assert_eq!(store.record_login(u.id, at(62_000)).await, Ok(()));
    let again = store.user_by_id(u.id).await.expect("lookup").expect("user");
    assert_eq!(again.last_login, Some(at(62_000)));
}

/// Writes addressed at a missing user are `NotFound`, never `Unavailable`.
pub async fn missing_users_are_not_found(store: Arc<dyn Store>) {
    let u = create(&*store, new_user("alice")).await;
    let missing = UserId(u.id.0 + 1000);
    assert_eq!(
        store.update_user(missing, UserPatch::default(), None).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store
            .update_user(
                missing,
                UserPatch {
                    email: Some("x@example.com".into()),
                    ..UserPatch::default()
                },
                None
            )
            .await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store
            .change_password(missing, "$x".into(), None, None)
            .await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.record_login(missing, at(1)).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.delete_user(missing, None).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(store.user_by_id(u.id).await, Ok(Some(u)));
}

/// A query from a whole [`Filter`].
fn filtered(filter: Filter<UserField>) -> UserQuery {
    UserQuery {
        filter,
        ..query(Vec::new())
    }
}

/// One condition.
fn cond(field: UserField, lookup: Lookup, value: &str, negated: bool) -> Condition<UserField> {
    Condition {
        field,
        lookup,
        value: value.to_owned(),
        negated,
    }
}

/// AWX's field lookups, `not__`, the `or__` group and `search` select the same users on
/// every backend: text lookups compare case-sensitively unless `i…`, which folds ASCII only;
/// `%` and `_` are plain characters; a NULL column fails a condition and passes its `not__`.
pub async fn list_users_applies_lookups_or_groups_and_search(store: Arc<dyn Store>) {
    let mut alice = new_user("alice");
    alice.email = "Alice@Example.com".into();
    alice.first_name = "Ärger".into();
    let alice = create(&*store, alice).await;
    let mut bob = new_user("bob_1");
    bob.created_at = at(1000);
    bob.last_name = "100%".into();
    create(&*store, bob).await;
    let mut carol = new_user("carol");
    carol.created_at = at(2000);
    carol.is_superuser = true;
    let carol = create(&*store, carol).await;
    store
        .record_login(carol.id, at(9000))
        .await
        .expect("record_login");
    let s = &*store;
    let one = |field, lookup, value: &str| {
        filtered(Filter {
            all: vec![cond(field, lookup, value, false)],
            ..Filter::default()
        })
    };
    use UserField::{Created, Email, FirstName, Id, IsSuperuser, LastLogin, LastName, Username};
    let cases: Vec<(UserQuery, (i64, Vec<String>))> = vec![
        (one(Username, Lookup::Exact, "alice"), list(1, &["alice"])),
        (one(Username, Lookup::IExact, "ALICE"), list(1, &["alice"])),
        (
            one(Username, Lookup::Contains, "o"),
            list(2, &["bob_1", "carol"]),
        ),
        (one(Username, Lookup::Contains, "O"), list(0, &[])),
        (
            one(Username, Lookup::IContains, "O"),
            list(2, &["bob_1", "carol"]),
        ),
        (one(Username, Lookup::Contains, "_"), list(1, &["bob_1"])),
        (one(LastName, Lookup::EndsWith, "0%"), list(1, &["bob_1"])),
        (one(LastName, Lookup::Contains, "%"), list(1, &["bob_1"])),
        (one(Email, Lookup::StartsWith, "alice"), list(0, &[])),
        (
            one(Email, Lookup::IStartsWith, "alice@"),
            list(1, &["alice"]),
        ),
        (
            one(Email, Lookup::EndsWith, "example.com"),
            list(2, &["bob_1", "carol"]),
        ),
        (
            one(Email, Lookup::IEndsWith, "EXAMPLE.COM"),
            list(3, &["alice", "bob_1", "carol"]),
        ),
        (
            one(Username, Lookup::EndsWith, "a_very_long_suffix"),
            list(0, &[]),
        ),
        // Only ASCII letters fold, on both backends.
        (one(FirstName, Lookup::IExact, "ärger"), list(0, &[])),
        (one(FirstName, Lookup::IExact, "ÄRGER"), list(1, &["alice"])),
        (
            one(Username, Lookup::In, "carol,alice,nobody"),
            list(2, &["alice", "carol"]),
        ),
        (
            one(Id, Lookup::In, &format!("{},x", alice.id.0)),
            list(1, &["alice"]),
        ),
        (
            one(Id, Lookup::Gt, &alice.id.0.to_string()),
            list(2, &["bob_1", "carol"]),
        ),
        (
            one(Id, Lookup::Lte, &alice.id.0.to_string()),
            list(1, &["alice"]),
        ),
        (one(Id, Lookup::Exact, "abc"), list(0, &[])),
        (one(Id, Lookup::Contains, "1"), list(0, &[])),
        (
            one(Username, Lookup::Gte, "bob_1"),
            list(2, &["bob_1", "carol"]),
        ),
        (
            one(Created, Lookup::Gte, "2026-03-01T12:00:00.750Z"),
            list(2, &["bob_1", "carol"]),
        ),
        (
            one(Created, Lookup::Lt, "2026-03-01T12:00:00.750Z"),
            list(1, &["alice"]),
        ),
        (one(IsSuperuser, Lookup::Exact, "True"), list(1, &["carol"])),
        (
            one(IsSuperuser, Lookup::IExact, "false"),
            list(2, &["alice", "bob_1"]),
        ),
        (
            one(LastLogin, Lookup::IsNull, "true"),
            list(2, &["alice", "bob_1"]),
        ),
        (one(LastLogin, Lookup::IsNull, "false"), list(1, &["carol"])),
        (
            one(LastLogin, Lookup::Gt, "2026-03-01T12:00:00Z"),
            list(1, &["carol"]),
        ),
        (
            filtered(Filter {
                all: vec![cond(LastLogin, Lookup::Gt, "2026-03-01T12:00:00Z", true)],
                ..Filter::default()
            }),
            list(2, &["alice", "bob_1"]),
        ),
        (
            filtered(Filter {
                all: vec![cond(Username, Lookup::Exact, "alice", true)],
                ..Filter::default()
            }),
            list(2, &["bob_1", "carol"]),
        ),
        (
            filtered(Filter {
                all: vec![cond(Id, Lookup::Exact, "abc", true)],
                ..Filter::default()
            }),
            list(3, &["alice", "bob_1", "carol"]),
        ),
        (
            filtered(Filter {
                any: vec![
                    cond(Id, Lookup::Exact, "carol", false),
                    cond(Username, Lookup::Exact, "carol", false),
                ],
                ..Filter::default()
            }),
            list(1, &["carol"]),
        ),
        (
            filtered(Filter {
                all: vec![cond(IsSuperuser, Lookup::Exact, "false", false)],
                any: vec![
                    cond(Username, Lookup::Exact, "carol", false),
                    cond(Username, Lookup::StartsWith, "bob", false),
                ],
                ..Filter::default()
            }),
            list(1, &["bob_1"]),
        ),
        (
            filtered(Filter {
                search: vec!["example".into()],
                ..Filter::default()
            }),
            list(3, &["alice", "bob_1", "carol"]),
        ),
        (
            filtered(Filter {
                search: vec!["first".into(), "bob".into()],
                ..Filter::default()
            }),
            list(1, &["bob_1"]),
        ),
        (
            filtered(Filter {
                search: vec!["nothing".into()],
                ..Filter::default()
            }),
            list(0, &[]),
        ),
    ];
    for (q, expected) in cases {
        assert_eq!(names(s, &q).await, expected, "{:?}", q.filter);
    }
}

/// Organization membership: idempotent in both directions, restricted listings show only
/// members, a missing user is `NotFound`, and deleting a user ends its membership.
pub async fn organization_membership_restricts_listings(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let bob = create(&*store, new_user("bob")).await;
    let members = |org: i64| UserQuery {
        member_of: Some(org),
        ..query(Vec::new())
    };
    let s = &*store;
    assert_eq!(names(s, &members(1)).await, list(0, &[]));
    for _ in 0..2 {
        s.set_organization_member(1, bob.id, true)
            .await
            .expect("associate");
    }
    s.set_organization_member(1, alice.id, true)
        .await
        .expect("associate");
    assert_eq!(names(s, &members(1)).await, list(2, &["alice", "bob"]));
    assert_eq!(names(s, &members(2)).await, list(0, &[]));
    let search = UserQuery {
        filter: Filter {
            search: vec!["ali".into()],
            ..Filter::default()
        },
        ..members(1)
    };
    assert_eq!(names(s, &search).await, list(1, &["alice"]));
    for _ in 0..2 {
        s.set_organization_member(1, alice.id, false)
            .await
            .expect("disassociate");
    }
    assert_eq!(names(s, &members(1)).await, list(1, &["bob"]));
    assert_eq!(
        s.set_organization_member(1, UserId(bob.id.0 + 1000), true)
            .await,
        Err(StoreError::NotFound)
    );
    s.delete_user(bob.id, None).await.expect("delete_user");
    assert_eq!(names(s, &members(1)).await, list(0, &[]));
}
