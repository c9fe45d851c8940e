//! Checks of [`MdrStore`](crate::MdrStore): customers, tenants, connections and their family
//! changes (Refresh, Revoke, Delete), the exchange with its grace period, race tolerance and reuse
//! detection (`docs/mdr-api.md`, "Rotation and reuse detection"), also under concurrency, last-use
//! stamps, the exchange audit and the purge of refresh records.

use super::at;
use crate::{
    AccessRecord, ActivityQuery, ConnectionPatch, ConnectionRecord, CustomerRecord, Exchange,
    ExchangeAudit, ExchangeOutcome, FamilyChange, IssuedPair, NewActivity, NewConnection,
    NewFamily, NewRefreshRecord, Store, StoreError, TenantRecord,
};
use serde_json::json;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// The race tolerance every exchange in these checks uses (`mdr.race_tolerance` default).
const TOLERANCE_MS: i64 = 1_000;

/// The grace period of the checks that switch it on.
const GRACE_MS: i64 = 30_000;

/// One minute in milliseconds, for [`at`].
const MINUTE: i64 = 60_000;

/// One hour in milliseconds, for [`at`].
const HOUR: i64 = 3_600_000;

/// Client ID number `n`: 32 lowercase hex characters.
fn client_id(n: u8) -> String {
    format!("{:032x}", (0xC1_u128 << 64) | u128::from(n))
}

/// A 20-character id: `prefix` and `n`, zero padded.
fn id20(prefix: &str, n: u32) -> String {
    format!("{prefix}{n:0>width$}", width = 20 - prefix.len())
}

/// A 22-character `jti`: `prefix` and `n`, zero padded.
fn jti(prefix: &str, n: u32) -> String {
    format!("{prefix}{n:0>width$}", width = 22 - prefix.len())
}

/// Connection id number `n`.
fn connection_id(n: u32) -> String {
    id20("cnx", n)
}

/// Family id number `n`.
fn family_id(n: u32) -> String {
    id20("fam", n)
}

/// The `jti` of the bootstrap token of family `n`.
fn bootstrap_jti(n: u32) -> String {
    jti("bt", n)
}

/// The `jti` of the refresh token issued by the exchange numbered `n`.
fn refresh_jti(n: u32) -> String {
    jti("rt", n)
}

/// The `jti` of the access token issued by the exchange numbered `n`.
fn access_jti(n: u32) -> String {
    jti("at", n)
}

/// Customer number `n`, created at `created`.
fn customer(n: u8, created: OffsetDateTime) -> CustomerRecord {
    CustomerRecord {
        client_id: client_id(n),
        name: format!("Customer {n}"),
        created_at: created,
    }
}

/// Creates customer number `n` (created at `t0`).
async fn add_customer(store: &dyn Store, n: u8) -> CustomerRecord {
    let c = customer(n, at(0));
    store
        .create_customer(&c)
        .await
        .expect("create_customer failed");
    c
}

/// Tenant `name` of customer `client`, with id number `n`.
fn tenant(client: &str, n: u32, name: &str) -> TenantRecord {
    TenantRecord {
        tenant_id: id20("ten", n),
        client_id: client.to_owned(),
        tenant_name: name.to_owned(),
    }
}

/// Connection number `n` of `client` named `name`, created at `created`.
fn new_connection(client: &str, n: u32, name: &str, created: OffsetDateTime) -> NewConnection {
    NewConnection {
        connection_id: connection_id(n),
        client_id: client.to_owned(),
        name: name.to_owned(),
        role: "MDR Administrator".to_owned(),
        tenants: vec!["zeta".to_owned(), "Root without tenants".to_owned()],
        created_at: created,
    }
}

/// Family number `n` whose bootstrap token was issued at `issued` (valid 24 h).
fn new_family(n: u32, issued: OffsetDateTime) -> NewFamily {
    NewFamily {
        family_id: family_id(n),
        bootstrap: NewRefreshRecord {
            jti: bootstrap_jti(n),
            issued_at: issued,
            expires_at: issued + Duration::hours(24),
        },
    }
}

/// A refresh token as its holder sees it: the `jti` and the claims an exchange presents.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Held {
    /// `jti`.
    jti: String,
    /// `sub`.
    client_id: String,
    /// `cnx`.
    connection_id: String,
    /// `fam`.
    family_id: String,
}

impl Held {
    /// The bootstrap token of `family` for connection `connection` of `client`.
    fn bootstrap(client: &str, connection: &str, family: &NewFamily) -> Self {
        Self {
            jti: family.bootstrap.jti.clone(),
            client_id: client.to_owned(),
            connection_id: connection.to_owned(),
            family_id: family.family_id.clone(),
        }
    }

    /// The refresh token the exchange numbered `n` of this token issues.
    fn successor(&self, n: u32) -> Self {
        Self {
            jti: refresh_jti(n),
            ..self.clone()
        }
    }
}

/// The successor refresh record of the exchange numbered `n` at `now`. Its `iat` is a whole
/// second, as a JWT's is, and so differs from `now`: the store must keep the given values.
fn successor_record(n: u32, now: OffsetDateTime) -> NewRefreshRecord {
    let issued = now - Duration::milliseconds(250);
    NewRefreshRecord {
        jti: refresh_jti(n),
        issued_at: issued,
        expires_at: issued + Duration::days(7),
    }
}

/// The access record of the exchange numbered `n` at `now`.
fn access_record(n: u32, now: OffsetDateTime) -> AccessRecord {
    let issued = now - Duration::milliseconds(250);
    AccessRecord {
        jti: access_jti(n),
        issued_at: issued,
        expires_at: issued + Duration::hours(1),
    }
}

/// The pair the exchange numbered `n` at `now` issues.
fn pair(n: u32, now: OffsetDateTime) -> IssuedPair {
    IssuedPair {
        refresh: successor_record(n, now),
        access: access_record(n, now),
    }
}

/// The activity entry an exchange of connection `connection` writes when it detects reuse.
fn reuse_activity(connection: &str, now: OffsetDateTime) -> NewActivity {
    NewActivity {
        timestamp: now,
        actor: None,
        operation: "update".to_owned(),
        object1: "mdr_connection".to_owned(),
        object1_id: None,
        changes: json!({"connection_id": connection, "event": "refresh_token_reuse"}),
    }
}

/// A console activity entry `operation` about connection `connection`.
fn cnx_activity(operation: &str, connection: &str, when: OffsetDateTime) -> NewActivity {
    NewActivity {
        timestamp: when,
        actor: None,
        operation: operation.to_owned(),
        object1: "mdr_connection".to_owned(),
        object1_id: None,
        changes: json!({"connection_id": connection, "via": operation}),
    }
}

/// The exchange of `held` at `now` whose successor is numbered `n`, with grace `grace_ms`.
fn exchange(held: &Held, n: u32, now: OffsetDateTime, grace_ms: i64) -> Exchange {
    Exchange {
        jti: held.jti.clone(),
        client_id: held.client_id.clone(),
        connection_id: held.connection_id.clone(),
        family_id: held.family_id.clone(),
        now,
        successor: successor_record(n, now),
        access: access_record(n, now),
        grace: Duration::milliseconds(grace_ms),
        race_tolerance: Duration::milliseconds(TOLERANCE_MS),
        reuse_activity: reuse_activity(&held.connection_id, now),
    }
}

/// Runs an exchange.
async fn exchanged(store: &dyn Store, ex: &Exchange) -> ExchangeOutcome {
    store.exchange(ex).await.expect("exchange failed")
}

/// Connection `id` as stored (it must exist).
async fn stored(store: &dyn Store, id: &str) -> ConnectionRecord {
    store
        .connection(id)
        .await
        .expect("connection failed")
        .expect("connection missing")
}

/// Every activity entry, newest first.
async fn all_activity(store: &dyn Store) -> Vec<NewActivity> {
    store
        .list_activity(&ActivityQuery {
            limit: 1000,
            ..ActivityQuery::default()
        })
        .await
        .expect("list_activity failed")
        .items
        .into_iter()
        .map(|e| e.entry)
        .collect()
}

/// The record a fresh connection must read back as.
fn pending_record(new: &NewConnection, family: &NewFamily) -> ConnectionRecord {
    ConnectionRecord {
        connection_id: new.connection_id.clone(),
        client_id: new.client_id.clone(),
        name: new.name.clone(),
        role: new.role.clone(),
        tenants: new.tenants.clone(),
        created_at: new.created_at,
        last_used_at: None,
        live_family: Some(family.family_id.clone()),
        activated: false,
        refresh_expires_at: Some(family.bootstrap.expires_at),
        refresh_jti: Some(family.bootstrap.jti.clone()),
    }
}

/// Creates connection number `n` named `name` of `client` with family `n` (bootstrap issued
/// at `created`), without an activity entry; returns it and its bootstrap token.
async fn add_connection(
    store: &dyn Store,
    client: &str,
    n: u32,
    name: &str,
    created: OffsetDateTime,
) -> (ConnectionRecord, Held) {
    let new = new_connection(client, n, name, created);
    let family = new_family(n, created);
    let rec = store
        .create_connection(&new, &family, None)
        .await
        .expect("create_connection failed");
    assert_eq!(rec, pending_record(&new, &family));
    (rec, Held::bootstrap(client, &new.connection_id, &family))
}

/// Customer 1 with connection 1 ("cnx one"), created at `t0`.
async fn setup(store: &dyn Store) -> (ConnectionRecord, Held) {
    let c = add_customer(store, 1).await;
    add_connection(store, &c.client_id, 1, "cnx one", at(0)).await
}

/// `rec` as it must read after an exchange at `now` issued the successor numbered `n`.
fn activated(rec: &ConnectionRecord, n: u32, now: OffsetDateTime) -> ConnectionRecord {
    let successor = successor_record(n, now);
    ConnectionRecord {
        last_used_at: Some(now),
        activated: true,
        refresh_expires_at: Some(successor.expires_at),
        refresh_jti: Some(successor.jti),
        ..rec.clone()
    }
}

/// `rec` as it must read once its family is revoked (Revoke or reuse).
fn without_family(rec: &ConnectionRecord) -> ConnectionRecord {
    ConnectionRecord {
        live_family: None,
        activated: false,
        refresh_expires_at: None,
        refresh_jti: None,
        ..rec.clone()
    }
}

// ---------------------------------------------------------------------------------------------
// Customers and tenants.
// ---------------------------------------------------------------------------------------------

/// Customers read back as created, list oldest first with ties broken by id, and a duplicate
/// Client ID is a conflict that changes nothing.
pub async fn customers_round_trip_and_list_oldest_first(store: Arc<dyn Store>) {
    assert_eq!(store.list_customers().await, Ok(vec![]));
    let c3 = customer(3, at(1_000));
    let c1 = customer(1, at(2_000));
    let c2 = customer(2, at(1_000));
    for c in [&c3, &c1, &c2] {
        store.create_customer(c).await.expect("create_customer");
    }
    assert_eq!(store.customer(&c1.client_id).await, Ok(Some(c1.clone())));
    assert_eq!(store.customer(&client_id(9)).await, Ok(None));
    assert_eq!(
        store.list_customers().await,
        Ok(vec![c2.clone(), c3.clone(), c1.clone()])
    );

    let dup = CustomerRecord {
        name: "Impostor".into(),
        created_at: at(5_000),
        ..c1.clone()
    };
    assert_eq!(
        store.create_customer(&dup).await,
        Err(StoreError::Conflict("client_id".into()))
    );
    assert_eq!(store.customer(&c1.client_id).await, Ok(Some(c1.clone())));
    assert_eq!(store.list_customers().await, Ok(vec![c2, c3, c1]));
}

/// Tenants list by name per customer; a name is unique within a customer only; a missing
/// customer is `NotFound`; a duplicate tenant id is `Conflict("tenant_id")`.
pub async fn tenants_are_unique_per_customer_and_listed_by_name(store: Arc<dyn Store>) {
    let a = add_customer(&*store, 1).await;
    let b = add_customer(&*store, 2).await;
    assert_eq!(store.tenants(&a.client_id).await, Ok(vec![]));

    let zeta = tenant(&a.client_id, 1, "zeta");
    let alpha = tenant(&a.client_id, 2, "alpha");
    let mid = tenant(&a.client_id, 3, "mid");
    for t in [&zeta, &alpha, &mid] {
        store.create_tenant(t).await.expect("create_tenant");
    }
    assert_eq!(
        store.create_tenant(&tenant(&a.client_id, 4, "alpha")).await,
        Err(StoreError::Conflict("tenant_name".into())),
        "name taken in the customer"
    );
    let b_alpha = tenant(&b.client_id, 5, "alpha");
    assert_eq!(
        store.create_tenant(&b_alpha).await,
        Ok(()),
        "the same name in another customer is fine"
    );
    assert_eq!(
        store.create_tenant(&tenant(&client_id(9), 6, "nu")).await,
        Err(StoreError::NotFound),
        "no such customer"
    );
    assert_eq!(
        store.create_tenant(&tenant(&b.client_id, 1, "other")).await,
        Err(StoreError::Conflict("tenant_id".into()))
    );

    assert_eq!(
        store.tenants(&a.client_id).await,
        Ok(vec![alpha, mid, zeta])
    );
    assert_eq!(store.tenants(&b.client_id).await, Ok(vec![b_alpha]));
    assert_eq!(store.tenants(&client_id(9)).await, Ok(vec![]));
}

// ---------------------------------------------------------------------------------------------
// Connections.
// ---------------------------------------------------------------------------------------------

/// A new connection is Pending activation with its bootstrap token as the one unspent token;
/// it reads back identically, tenants in the order given, and its activity entry is written.
pub async fn create_connection_returns_the_pending_record(store: Arc<dyn Store>) {
    let c = add_customer(&*store, 1).await;
    let mut new = new_connection(&c.client_id, 1, "SIEM (prod) ✓", at(1_000));
    new.role = "Security Officer".into();
    new.tenants = vec!["zeta".into(), "Root without tenants".into(), "alpha".into()];
    let family = new_family(1, at(1_000));
    let entry = cnx_activity("create", &new.connection_id, at(1_000));
    let rec = store
        .create_connection(&new, &family, Some(entry.clone()))
        .await
        .expect("create_connection");
    let expected = pending_record(&new, &family);
    assert_eq!(rec, expected);
    assert_eq!(rec.live_family.as_deref(), Some(family.family_id.as_str()));
    assert!(!rec.activated);
    assert_eq!(rec.refresh_jti, Some(bootstrap_jti(1)));
    assert_eq!(
        rec.refresh_expires_at,
        Some(at(1_000) + Duration::hours(24))
    );
    assert_eq!(
        store.connection(&new.connection_id).await,
        Ok(Some(expected))
    );
    assert_eq!(all_activity(&*store).await, vec![entry]);

    // An empty scope (the whole customer) round-trips as empty.
    let mut whole = new_connection(&c.client_id, 2, "whole", at(2_000));
    whole.tenants = vec![];
    let family2 = new_family(2, at(2_000));
    let rec2 = store
        .create_connection(&whole, &family2, None)
        .await
        .expect("create_connection 2");
    assert_eq!(rec2, pending_record(&whole, &family2));
    assert_eq!(rec2.tenants, Vec::<String>::new());
    assert_eq!(all_activity(&*store).await.len(), 1);
}

/// A name taken in the customer is `Conflict("name")` and writes nothing (no connection, no
/// family, no activity); the same name in another customer is fine; a missing customer is
/// `NotFound`; a missing connection reads as `None`.
pub async fn create_connection_refuses_taken_names_and_missing_customers(store: Arc<dyn Store>) {
    let a = add_customer(&*store, 1).await;
    let b = add_customer(&*store, 2).await;
    let (first, first_held) = add_connection(&*store, &a.client_id, 1, "siem", at(0)).await;

    let dup = new_connection(&a.client_id, 2, "siem", at(1_000));
    assert_eq!(
        store
            .create_connection(
                &dup,
                &new_family(2, at(1_000)),
                Some(cnx_activity("create", &dup.connection_id, at(1_000)))
            )
            .await,
        Err(StoreError::Conflict("name".into()))
    );
    assert_eq!(store.connection(&dup.connection_id).await, Ok(None));
    assert_eq!(
        store.list_connections(&a.client_id).await,
        Ok(vec![first.clone()])
    );
    assert_eq!(all_activity(&*store).await, vec![]);
    // Nothing of the refused connection was kept: its bootstrap token is unknown.
    let refused = Held::bootstrap(&a.client_id, &dup.connection_id, &new_family(2, at(1_000)));
    assert_eq!(
        exchanged(&*store, &exchange(&refused, 1, at(2_000), 0)).await,
        ExchangeOutcome::Revoked
    );

    let (other, _) = add_connection(&*store, &b.client_id, 3, "siem", at(1_000)).await;
    assert_eq!(other.client_id, b.client_id);

    let orphan = new_connection(&client_id(9), 4, "lost", at(1_000));
    assert_eq!(
        store
            .create_connection(&orphan, &new_family(4, at(1_000)), None)
            .await,
        Err(StoreError::NotFound)
    );
    assert_eq!(store.connection(&orphan.connection_id).await, Ok(None));
    assert_eq!(store.connection(&connection_id(99)).await, Ok(None));
    // The first connection is untouched by all this.
    assert_eq!(stored(&*store, &first.connection_id).await, first);
    assert_eq!(
        exchanged(&*store, &exchange(&first_held, 1, at(3_000), 0)).await,
        ExchangeOutcome::Rotated
    );
}

/// A customer's connections list oldest first with ties broken by id, and only its own.
pub async fn list_connections_is_oldest_first_per_customer(store: Arc<dyn Store>) {
    let a = add_customer(&*store, 1).await;
    let b = add_customer(&*store, 2).await;
    let (c3, _) = add_connection(&*store, &a.client_id, 3, "three", at(1_000)).await;
    let (c1, _) = add_connection(&*store, &a.client_id, 1, "one", at(2_000)).await;
    let (c2, _) = add_connection(&*store, &a.client_id, 2, "two", at(1_000)).await;
    let (cb, _) = add_connection(&*store, &b.client_id, 4, "bee", at(500)).await;
    assert_eq!(
        store.list_connections(&a.client_id).await,
        Ok(vec![c2, c3, c1])
    );
    assert_eq!(store.list_connections(&b.client_id).await, Ok(vec![cb]));
    assert_eq!(store.list_connections(&client_id(9)).await, Ok(vec![]));
}

/// An Edit changes exactly the given fields and nothing about the family; a name taken in the
/// customer is `Conflict("name")` and changes nothing; `NotFound` for a missing connection.
/// Successful edits write their activity entry, refused ones none.
pub async fn update_connection_applies_the_patch(store: Arc<dyn Store>) {
    let a = add_customer(&*store, 1).await;
    let b = add_customer(&*store, 2).await;
    let (one, held) = add_connection(&*store, &a.client_id, 1, "one", at(0)).await;
    let (two, _) = add_connection(&*store, &a.client_id, 2, "two", at(0)).await;
    add_connection(&*store, &b.client_id, 3, "bee", at(0)).await;

    let e1 = cnx_activity("update", &one.connection_id, at(1_000));
    let renamed = store
        .update_connection(
            &one.connection_id,
            &ConnectionPatch {
                name: Some("uno".into()),
                ..ConnectionPatch::default()
            },
            Some(e1.clone()),
        )
        .await
        .expect("rename");
    let expected = ConnectionRecord {
        name: "uno".into(),
        ..one.clone()
    };
    assert_eq!(renamed, expected);
    assert_eq!(stored(&*store, &one.connection_id).await, expected);

    let e2 = cnx_activity("update", &one.connection_id, at(2_000));
    let scoped = store
        .update_connection(
            &one.connection_id,
            &ConnectionPatch {
                name: None,
                role: Some("Senior Security Officer".into()),
                tenants: Some(vec!["beta".into(), "alpha".into()]),
            },
            Some(e2.clone()),
        )
        .await
        .expect("role and tenants");
    let expected = ConnectionRecord {
        role: "Senior Security Officer".into(),
        tenants: vec!["beta".into(), "alpha".into()],
        ..expected
    };
    assert_eq!(scoped, expected);
    assert_eq!(stored(&*store, &one.connection_id).await, expected);

    let unchanged = store
        .update_connection(&one.connection_id, &ConnectionPatch::default(), None)
        .await
        .expect("empty patch");
    assert_eq!(unchanged, expected);

    assert_eq!(
        store
            .update_connection(
                &one.connection_id,
                &ConnectionPatch {
                    name: Some("two".into()),
                    role: Some("Security Officer".into()),
                    tenants: Some(vec![]),
                },
                Some(cnx_activity("update", &one.connection_id, at(3_000))),
            )
            .await,
        Err(StoreError::Conflict("name".into()))
    );
    assert_eq!(stored(&*store, &one.connection_id).await, expected);
    assert_eq!(stored(&*store, &two.connection_id).await, two);

    let bee = store
        .update_connection(
            &one.connection_id,
            &ConnectionPatch {
                name: Some("bee".into()),
                ..ConnectionPatch::default()
            },
            None,
        )
        .await
        .expect("a name of another customer is free here");
    assert_eq!(bee.name, "bee");

    assert_eq!(
        store
            .update_connection(
                &connection_id(99),
                &ConnectionPatch {
                    name: Some("ghost".into()),
                    ..ConnectionPatch::default()
                },
                Some(cnx_activity("update", &connection_id(99), at(4_000))),
            )
            .await,
        Err(StoreError::NotFound)
    );
    assert_eq!(all_activity(&*store).await, vec![e2, e1]);
    // The family is untouched: the bootstrap token still exchanges.
    assert_eq!(
        exchanged(&*store, &exchange(&held, 1, at(5_000), 0)).await,
        ExchangeOutcome::Rotated
    );
}

/// "Refresh" while Pending activation revokes the previous family and installs the new one;
/// once a token was exchanged it is refused (`WrongState`, nothing changed, no activity).
pub async fn refresh_connection_only_while_pending(store: Arc<dyn Store>) {
    let (rec, boot1) = setup(&*store).await;
    let id = rec.connection_id.clone();

    let fam2 = new_family(2, at(1_000));
    let e1 = cnx_activity("refresh", &id, at(1_000));
    let done = store
        .refresh_connection(&id, &fam2, at(1_000), Some(e1.clone()))
        .await
        .expect("refresh");
    let expected = ConnectionRecord {
        live_family: Some(fam2.family_id.clone()),
        activated: false,
        refresh_expires_at: Some(fam2.bootstrap.expires_at),
        refresh_jti: Some(fam2.bootstrap.jti.clone()),
        ..rec.clone()
    };
    assert_eq!(done, FamilyChange::Done(expected.clone()));
    assert_eq!(stored(&*store, &id).await, expected);

    // The previous family is dead for good: its bootstrap token is revoked.
    assert_eq!(
        exchanged(&*store, &exchange(&boot1, 1, at(2_000), GRACE_MS)).await,
        ExchangeOutcome::Revoked
    );
    assert_eq!(stored(&*store, &id).await, expected);

    let boot2 = Held::bootstrap(&rec.client_id, &id, &fam2);
    let now = at(3_000);
    assert_eq!(
        exchanged(&*store, &exchange(&boot2, 2, now, 0)).await,
        ExchangeOutcome::Rotated
    );
    let active = activated(&expected, 2, now);
    assert_eq!(stored(&*store, &id).await, active);

    // Activated: Refresh is refused and changes nothing.
    let fam3 = new_family(3, at(4_000));
    assert_eq!(
        store
            .refresh_connection(
                &id,
                &fam3,
                at(4_000),
                Some(cnx_activity("refresh", &id, at(4_000)))
            )
            .await,
        Ok(FamilyChange::WrongState(active.clone()))
    );
    assert_eq!(stored(&*store, &id).await, active);
    let boot3 = Held::bootstrap(&rec.client_id, &id, &fam3);
    assert_eq!(
        exchanged(&*store, &exchange(&boot3, 3, at(5_000), 0)).await,
        ExchangeOutcome::Revoked,
        "the refused family was not installed"
    );
    assert_eq!(
        exchanged(&*store, &exchange(&boot2.successor(2), 4, at(6_000), 0)).await,
        ExchangeOutcome::Rotated,
        "the live family is untouched"
    );

    assert_eq!(
        store
            .refresh_connection(
                &connection_id(99),
                &new_family(9, at(7_000)),
                at(7_000),
                None
            )
            .await,
        Err(StoreError::NotFound)
    );
    assert_eq!(all_activity(&*store).await, vec![e1]);
}

/// "Revoke" is refused while Pending activation; once activated it revokes the family: the
/// connection has no live family, is not activated, and every token of the family is revoked.
/// A Refresh afterwards installs a new family.
pub async fn revoke_connection_only_while_activated(store: Arc<dyn Store>) {
    let (rec, boot) = setup(&*store).await;
    let id = rec.connection_id.clone();

    assert_eq!(
        store
            .revoke_connection(&id, at(1_000), Some(cnx_activity("revoke", &id, at(1_000))))
            .await,
        Ok(FamilyChange::WrongState(rec.clone()))
    );
    assert_eq!(stored(&*store, &id).await, rec);
    assert_eq!(all_activity(&*store).await, vec![]);

    let now = at(2_000);
    assert_eq!(
        exchanged(&*store, &exchange(&boot, 1, now, 0)).await,
        ExchangeOutcome::Rotated
    );
    let active = activated(&rec, 1, now);
    let e1 = cnx_activity("revoke", &id, at(3_000));
    let revoked = without_family(&active);
    assert_eq!(
        store
            .revoke_connection(&id, at(3_000), Some(e1.clone()))
            .await,
        Ok(FamilyChange::Done(revoked.clone()))
    );
    assert_eq!(stored(&*store, &id).await, revoked);
    assert_eq!(revoked.last_used_at, Some(now), "last use is kept");
    assert_eq!(
        exchanged(
            &*store,
            &exchange(&boot.successor(1), 2, at(4_000), GRACE_MS)
        )
        .await,
        ExchangeOutcome::Revoked
    );
    assert_eq!(
        exchanged(&*store, &exchange(&boot, 3, at(4_000), GRACE_MS)).await,
        ExchangeOutcome::Revoked,
        "a spent token of a revoked family is revoked, not reuse"
    );
    assert_eq!(stored(&*store, &id).await, revoked);

    // Not activated any more: a second Revoke is refused.
    assert_eq!(
        store.revoke_connection(&id, at(5_000), None).await,
        Ok(FamilyChange::WrongState(revoked.clone()))
    );
    // Refresh re-keys it.
    let fam2 = new_family(2, at(6_000));
    let refreshed = ConnectionRecord {
        live_family: Some(fam2.family_id.clone()),
        refresh_expires_at: Some(fam2.bootstrap.expires_at),
        refresh_jti: Some(fam2.bootstrap.jti.clone()),
        ..revoked.clone()
    };
    assert_eq!(
        store.refresh_connection(&id, &fam2, at(6_000), None).await,
        Ok(FamilyChange::Done(refreshed.clone()))
    );
    let boot2 = Held::bootstrap(&rec.client_id, &id, &fam2);
    assert_eq!(
        exchanged(&*store, &exchange(&boot2, 4, at(7_000), 0)).await,
        ExchangeOutcome::Rotated
    );
    assert_eq!(
        stored(&*store, &id).await,
        activated(&refreshed, 4, at(7_000))
    );

    assert_eq!(
        store
            .revoke_connection(&connection_id(99), at(8_000), None)
            .await,
        Err(StoreError::NotFound)
    );
    assert_eq!(all_activity(&*store).await, vec![e1]);
}

/// "Delete" removes the connection with its records: its tokens are revoked (not reuse), its
/// name is free again, other connections are untouched; `NotFound` for a missing one.
pub async fn delete_connection_removes_it_and_its_tokens(store: Arc<dyn Store>) {
    let c = add_customer(&*store, 1).await;
    let (one, boot1) = add_connection(&*store, &c.client_id, 1, "one", at(0)).await;
    let (two, boot2) = add_connection(&*store, &c.client_id, 2, "two", at(0)).await;
    let (three, _) = add_connection(&*store, &c.client_id, 3, "three", at(0)).await;
    assert_eq!(
        exchanged(&*store, &exchange(&boot1, 1, at(1_000), GRACE_MS)).await,
        ExchangeOutcome::Rotated
    );

    let e1 = cnx_activity("delete", &one.connection_id, at(2_000));
    assert_eq!(
        store
            .delete_connection(&one.connection_id, at(2_000), Some(e1.clone()))
            .await,
        Ok(())
    );
    assert_eq!(store.connection(&one.connection_id).await, Ok(None));
    for (held, n) in [(boot1.successor(1), 2), (boot1.clone(), 3)] {
        assert_eq!(
            exchanged(&*store, &exchange(&held, n, at(3_000), GRACE_MS)).await,
            ExchangeOutcome::Revoked,
            "{} of a deleted connection",
            held.jti
        );
    }
    // A pending connection is deleted as well.
    let e2 = cnx_activity("delete", &three.connection_id, at(4_000));
    assert_eq!(
        store
            .delete_connection(&three.connection_id, at(4_000), Some(e2.clone()))
            .await,
        Ok(())
    );
    assert_eq!(
        store.list_connections(&c.client_id).await,
        Ok(vec![two.clone()])
    );
    assert_eq!(
        store
            .delete_connection(
                &one.connection_id,
                at(5_000),
                Some(cnx_activity("delete", &one.connection_id, at(5_000)))
            )
            .await,
        Err(StoreError::NotFound)
    );
    assert_eq!(all_activity(&*store).await, vec![e2, e1]);

    // The name is free again, and the other connection still works.
    add_connection(&*store, &c.client_id, 4, "one", at(6_000)).await;
    assert_eq!(
        exchanged(&*store, &exchange(&boot2, 4, at(7_000), 0)).await,
        ExchangeOutcome::Rotated
    );
}

// ---------------------------------------------------------------------------------------------
// The exchange.
// ---------------------------------------------------------------------------------------------

/// The bootstrap token exchanges once: the connection is activated, last used `now`, and its
/// one unspent token is the successor, which exchanges in turn. A normal rotation writes no
/// activity.
pub async fn exchange_of_the_bootstrap_token_rotates(store: Arc<dyn Store>) {
    let (rec, boot) = setup(&*store).await;
    let id = rec.connection_id.clone();

    let t1 = at(10_000);
    assert_eq!(
        exchanged(&*store, &exchange(&boot, 1, t1, 0)).await,
        ExchangeOutcome::Rotated
    );
    let after1 = activated(&rec, 1, t1);
    assert_eq!(stored(&*store, &id).await, after1);
    assert!(after1.activated);
    assert_eq!(after1.last_used_at, Some(t1));
    assert_eq!(after1.refresh_jti, Some(refresh_jti(1)));
    assert_eq!(
        after1.refresh_expires_at,
        Some(successor_record(1, t1).expires_at)
    );
    assert_eq!(after1.live_family, rec.live_family);

    let t2 = at(HOUR);
    assert_eq!(
        exchanged(&*store, &exchange(&boot.successor(1), 2, t2, 0)).await,
        ExchangeOutcome::Rotated
    );
    assert_eq!(stored(&*store, &id).await, activated(&rec, 2, t2));
    let t3 = at(2 * HOUR);
    assert_eq!(
        exchanged(&*store, &exchange(&boot.successor(2), 3, t3, GRACE_MS)).await,
        ExchangeOutcome::Rotated
    );
    assert_eq!(stored(&*store, &id).await, activated(&rec, 3, t3));
    assert_eq!(all_activity(&*store).await, vec![]);
}

/// A token presented with claims that do not match its record (another customer, connection
/// or family), or an unknown `jti`, is `Revoked` and nothing changes: the token still
/// exchanges afterwards.
pub async fn exchange_with_mismatched_claims_is_revoked(store: Arc<dyn Store>) {
    let a = add_customer(&*store, 1).await;
    let b = add_customer(&*store, 2).await;
    let (one, boot) = add_connection(&*store, &a.client_id, 1, "one", at(0)).await;
    let (two, other) = add_connection(&*store, &a.client_id, 2, "two", at(0)).await;
    let (bee, _) = add_connection(&*store, &b.client_id, 3, "bee", at(0)).await;

    let now = at(10_000);
    let wrong = [
        Held {
            client_id: b.client_id.clone(),
            ..boot.clone()
        },
        Held {
            client_id: client_id(9),
            ..boot.clone()
        },
        Held {
            connection_id: two.connection_id.clone(),
            ..boot.clone()
        },
        Held {
            connection_id: bee.connection_id.clone(),
            ..boot.clone()
        },
        Held {
            family_id: other.family_id.clone(),
            ..boot.clone()
        },
        Held {
            connection_id: two.connection_id.clone(),
            family_id: other.family_id.clone(),
            ..boot.clone()
        },
        Held {
            jti: jti("zz", 1),
            ..boot.clone()
        },
    ];
    for (n, held) in (1u32..).zip(wrong.iter()) {
        assert_eq!(
            exchanged(&*store, &exchange(held, n, now, GRACE_MS)).await,
            ExchangeOutcome::Revoked,
            "presented as {held:?}"
        );
    }
    assert_eq!(stored(&*store, &one.connection_id).await, one);
    assert_eq!(stored(&*store, &two.connection_id).await, two);
    assert_eq!(stored(&*store, &bee.connection_id).await, bee);
    // None of those refused exchanges stored its successor.
    for n in 1u32..=7 {
        assert_eq!(
            exchanged(&*store, &exchange(&boot.successor(n), 100 + n, now, 0)).await,
            ExchangeOutcome::Revoked
        );
    }
    assert_eq!(all_activity(&*store).await, vec![]);

    assert_eq!(
        exchanged(&*store, &exchange(&boot, 8, now, GRACE_MS)).await,
        ExchangeOutcome::Rotated,
        "the token was not spent by the refused attempts"
    );
    assert_eq!(
        exchanged(&*store, &exchange(&other, 9, now, GRACE_MS)).await,
        ExchangeOutcome::Rotated
    );
}

/// With a grace period, a spent token presented again while its successor is unspent gets the
/// stored successor pair back (even within the race tolerance: replay comes first) and nothing
/// is written. Once the successor is spent, presenting it again is reuse: the family is
/// revoked, the connection is back to Pending activation, and the reuse activity is written.
pub async fn grace_replays_the_pair_until_the_successor_is_spent(store: Arc<dyn Store>) {
    let (rec, boot) = setup(&*store).await;
    let id = rec.connection_id.clone();

    let spent = at(10_000);
    assert_eq!(
        exchanged(&*store, &exchange(&boot, 1, spent, GRACE_MS)).await,
        ExchangeOutcome::Rotated
    );
    let active = activated(&rec, 1, spent);

    for (n, delay) in [(2u32, 0), (3, 500), (4, 5_000), (5, 29_000)] {
        let now = spent + Duration::milliseconds(delay);
        assert_eq!(
            exchanged(&*store, &exchange(&boot, n, now, GRACE_MS)).await,
            ExchangeOutcome::Replayed(pair(1, spent)),
            "presented {delay} ms after it was spent"
        );
        assert_eq!(
            stored(&*store, &id).await,
            active,
            "a replay writes nothing"
        );
    }
    // No replay stored a successor of its own.
    for n in 2u32..=5 {
        assert_eq!(
            exchanged(
                &*store,
                &exchange(&boot.successor(n), 10 + n, at(40_000), 0)
            )
            .await,
            ExchangeOutcome::Revoked
        );
    }
    assert_eq!(all_activity(&*store).await, vec![]);

    // The client uses the successor…
    let t2 = spent + Duration::milliseconds(10_000);
    assert_eq!(
        exchanged(&*store, &exchange(&boot.successor(1), 6, t2, GRACE_MS)).await,
        ExchangeOutcome::Rotated
    );
    assert_eq!(stored(&*store, &id).await, activated(&rec, 6, t2));
    // …so a copy of the spent token presented within the grace period is reuse.
    let late = spent + Duration::milliseconds(12_000);
    let ex = exchange(&boot, 7, late, GRACE_MS);
    assert_eq!(exchanged(&*store, &ex).await, ExchangeOutcome::Reused);
    let back = without_family(&activated(&rec, 6, t2));
    assert_eq!(stored(&*store, &id).await, back);
    assert_eq!(all_activity(&*store).await, vec![ex.reuse_activity.clone()]);
    // Every token of the family is dead, and presenting them again is not reuse again.
    for (held, n) in [
        (boot.successor(6), 8),
        (boot.successor(1), 9),
        (boot.clone(), 10),
        (boot.successor(7), 11),
    ] {
        assert_eq!(
            exchanged(&*store, &exchange(&held, n, late, GRACE_MS)).await,
            ExchangeOutcome::Revoked,
            "{} after reuse",
            held.jti
        );
    }
    assert_eq!(stored(&*store, &id).await, back);
    assert_eq!(all_activity(&*store).await.len(), 1);
    // Pending activation again: Refresh is allowed, Revoke is not.
    assert_eq!(
        store.revoke_connection(&id, late, None).await,
        Ok(FamilyChange::WrongState(back))
    );
}

/// Outside the grace period a spent token is a concurrent loser while within the race
/// tolerance of its `spent_at` (here with a grace period shorter than the tolerance), and reuse
/// after that, even with its successor unspent.
pub async fn past_the_grace_period_a_spent_token_is_a_loser_or_reuse(store: Arc<dyn Store>) {
    let (rec, boot) = setup(&*store).await;
    let id = rec.connection_id.clone();
    let spent = at(10_000);
    assert_eq!(
        exchanged(&*store, &exchange(&boot, 1, spent, 500)).await,
        ExchangeOutcome::Rotated
    );
    let active = activated(&rec, 1, spent);

    assert_eq!(
        exchanged(
            &*store,
            &exchange(&boot, 2, spent + Duration::milliseconds(400), 500)
        )
        .await,
        ExchangeOutcome::Replayed(pair(1, spent)),
        "within the short grace period"
    );
    assert_eq!(
        exchanged(
            &*store,
            &exchange(&boot, 3, spent + Duration::milliseconds(800), 500)
        )
        .await,
        ExchangeOutcome::ConcurrentLoser,
        "past the grace period, within the tolerance"
    );
    assert_eq!(stored(&*store, &id).await, active);
    assert_eq!(all_activity(&*store).await, vec![]);

    // Long past both, with the default-sized grace period: reuse.
    let late = spent + Duration::milliseconds(GRACE_MS + 1);
    let ex = exchange(&boot, 4, late, GRACE_MS);
    assert_eq!(exchanged(&*store, &ex).await, ExchangeOutcome::Reused);
    assert_eq!(stored(&*store, &id).await, without_family(&active));
    assert_eq!(all_activity(&*store).await, vec![ex.reuse_activity.clone()]);
    assert_eq!(
        exchanged(&*store, &exchange(&boot.successor(1), 5, late, GRACE_MS)).await,
        ExchangeOutcome::Revoked,
        "the unspent successor died with its family"
    );
}

/// With the grace period off, a spent token presented within the race tolerance (inclusive)
/// is a concurrent loser and nothing changes; the successor still exchanges. Later it is
/// reuse, and then the successors are revoked.
pub async fn without_grace_a_spent_token_is_a_loser_then_reuse(store: Arc<dyn Store>) {
    let (rec, boot) = setup(&*store).await;
    let id = rec.connection_id.clone();
    let spent = at(10_000);
    assert_eq!(
        exchanged(&*store, &exchange(&boot, 1, spent, 0)).await,
        ExchangeOutcome::Rotated
    );
    let active = activated(&rec, 1, spent);

    for (n, delay) in [(2u32, 0), (3, 400), (4, TOLERANCE_MS)] {
        let now = spent + Duration::milliseconds(delay);
        assert_eq!(
            exchanged(&*store, &exchange(&boot, n, now, 0)).await,
            ExchangeOutcome::ConcurrentLoser,
            "presented {delay} ms after it was spent"
        );
        assert_eq!(stored(&*store, &id).await, active, "a loser writes nothing");
        assert_eq!(
            exchanged(&*store, &exchange(&boot.successor(n), 20 + n, now, 0)).await,
            ExchangeOutcome::Revoked,
            "the loser's successor was not stored"
        );
    }
    assert_eq!(all_activity(&*store).await, vec![]);

    let t2 = spent + Duration::milliseconds(900);
    assert_eq!(
        exchanged(&*store, &exchange(&boot.successor(1), 5, t2, 0)).await,
        ExchangeOutcome::Rotated,
        "the successor is unharmed by the losers"
    );
    let active = activated(&rec, 5, t2);
    assert_eq!(stored(&*store, &id).await, active);

    let late = spent + Duration::milliseconds(TOLERANCE_MS + 1);
    let ex = exchange(&boot, 6, late, 0);
    assert_eq!(exchanged(&*store, &ex).await, ExchangeOutcome::Reused);
    let back = without_family(&active);
    assert_eq!(stored(&*store, &id).await, back);
    assert_eq!(all_activity(&*store).await, vec![ex.reuse_activity.clone()]);
    for (held, n) in [(boot.successor(5), 7), (boot.successor(1), 8)] {
        assert_eq!(
            exchanged(&*store, &exchange(&held, n, late, 0)).await,
            ExchangeOutcome::Revoked
        );
    }
    assert_eq!(stored(&*store, &id).await, back);
}

/// Spawns one exchange of `held` per successor number in `numbers`, all at `now`.
async fn race(
    store: &Arc<dyn Store>,
    held: &Held,
    numbers: std::ops::Range<u32>,
    now: OffsetDateTime,
    grace_ms: i64,
) -> Vec<(u32, ExchangeOutcome)> {
    let mut tasks = Vec::new();
    for n in numbers {
        let store = Arc::clone(store);
        let ex = exchange(held, n, now, grace_ms);
        tasks.push(tokio::spawn(async move { (n, store.exchange(&ex).await) }));
    }
    let mut outcomes = Vec::new();
    for task in tasks {
        let (n, outcome) = task.await.expect("exchange task panicked");
        outcomes.push((n, outcome.expect("exchange failed under concurrency")));
    }
    outcomes
}

/// Of 50 concurrent exchanges of one token without a grace period exactly one rotates and 49
/// are concurrent losers; exactly one successor exists (the winner's), and the family is live.
pub async fn concurrent_exchanges_without_grace_have_one_winner(store: Arc<dyn Store>) {
    let (rec, boot) = setup(&*store).await;
    let now = at(10_000);
    let outcomes = race(&store, &boot, 100..150, now, 0).await;
    let winners: Vec<u32> = outcomes
        .iter()
        .filter(|(_, o)| *o == ExchangeOutcome::Rotated)
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one exchange wins: {outcomes:?}");
    let losers = outcomes
        .iter()
        .filter(|(_, o)| *o == ExchangeOutcome::ConcurrentLoser)
        .count();
    assert_eq!(losers, 49, "every other one is a concurrent loser");
    let winner = *winners.first().expect("a winner");
    assert_eq!(
        stored(&*store, &rec.connection_id).await,
        activated(&rec, winner, now)
    );

    let later = now + Duration::seconds(5);
    for n in (100..150).filter(|n| *n != winner) {
        assert_eq!(
            exchanged(&*store, &exchange(&boot.successor(n), 200 + n, later, 0)).await,
            ExchangeOutcome::Revoked,
            "loser {n}'s successor must not exist"
        );
    }
    assert_eq!(
        exchanged(&*store, &exchange(&boot.successor(winner), 300, later, 0)).await,
        ExchangeOutcome::Rotated
    );
    assert_eq!(
        stored(&*store, &rec.connection_id).await,
        activated(&rec, 300, later)
    );
    assert_eq!(all_activity(&*store).await, vec![]);
}

/// Of 50 concurrent exchanges of one token with a grace period exactly one rotates and the 49
/// others all receive the winner's pair; no other successor exists.
pub async fn concurrent_exchanges_with_grace_all_get_the_winners_pair(store: Arc<dyn Store>) {
    let (rec, boot) = setup(&*store).await;
    let now = at(10_000);
    let outcomes = race(&store, &boot, 100..150, now, GRACE_MS).await;
    let winners: Vec<u32> = outcomes
        .iter()
        .filter(|(_, o)| *o == ExchangeOutcome::Rotated)
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one exchange wins: {outcomes:?}");
    let winner = *winners.first().expect("a winner");
    let replayed = outcomes
        .iter()
        .filter(|(_, o)| *o == ExchangeOutcome::Replayed(pair(winner, now)))
        .count();
    assert_eq!(replayed, 49, "every other one gets the winner's pair");
    assert_eq!(
        stored(&*store, &rec.connection_id).await,
        activated(&rec, winner, now)
    );

    let later = now + Duration::seconds(5);
    for n in (100..150).filter(|n| *n != winner) {
        assert_eq!(
            exchanged(&*store, &exchange(&boot.successor(n), 200 + n, later, 0)).await,
            ExchangeOutcome::Revoked,
            "loser {n}'s successor must not exist"
        );
    }
    assert_eq!(
        exchanged(&*store, &exchange(&boot.successor(winner), 300, later, 0)).await,
        ExchangeOutcome::Rotated
    );
    assert_eq!(all_activity(&*store).await, vec![]);
}

// ---------------------------------------------------------------------------------------------
// Last use, audit, purge.
// ---------------------------------------------------------------------------------------------

/// `touch_connections` keeps the later of the stored and the given instant, collapses
/// duplicates, ignores unknown connections and changes nothing else.
pub async fn touch_connections_keeps_the_later_instant(store: Arc<dyn Store>) {
    let c = add_customer(&*store, 1).await;
    let (one, _) = add_connection(&*store, &c.client_id, 1, "one", at(0)).await;
    let (two, _) = add_connection(&*store, &c.client_id, 2, "two", at(0)).await;
    let (three, _) = add_connection(&*store, &c.client_id, 3, "three", at(0)).await;

    store.touch_connections(&[]).await.expect("empty touch");
    store
        .touch_connections(&[
            (one.connection_id.clone(), at(5_000)),
            (one.connection_id.clone(), at(3_000)),
            (two.connection_id.clone(), at(1_000)),
            (connection_id(99), at(9_000)),
        ])
        .await
        .expect("touch");
    let used = |rec: &ConnectionRecord, ms: i64| ConnectionRecord {
        last_used_at: Some(at(ms)),
        ..rec.clone()
    };
    assert_eq!(stored(&*store, &one.connection_id).await, used(&one, 5_000));
    assert_eq!(stored(&*store, &two.connection_id).await, used(&two, 1_000));
    assert_eq!(stored(&*store, &three.connection_id).await, three);

    store
        .touch_connections(&[
            (one.connection_id.clone(), at(2_000)),
            (two.connection_id.clone(), at(7_000)),
        ])
        .await
        .expect("second touch");
    assert_eq!(
        stored(&*store, &one.connection_id).await,
        used(&one, 5_000),
        "an older use never moves last_used_at back"
    );
    assert_eq!(stored(&*store, &two.connection_id).await, used(&two, 7_000));
    assert_eq!(store.connection(&connection_id(99)).await, Ok(None));
}

/// Audit records read back exactly, newest first (the later of two records with the same
/// instant first), limited, per customer; a Client ID that names no customer is recorded too.
pub async fn exchange_audit_is_newest_first_per_customer(store: Arc<dyn Store>) {
    let a = add_customer(&*store, 1).await.client_id;
    let b = add_customer(&*store, 2).await.client_id;
    let nobody = client_id(9);
    let audit = |client: &str, ms: i64, result: &str| ExchangeAudit {
        at: at(ms),
        client_id: client.to_owned(),
        connection_id: Some(connection_id(u32::try_from(ms).unwrap_or(0) % 7)),
        jti_prefix: Some(format!("{:0>8}", ms % 100_000_000)),
        result: result.to_owned(),
        source: "192.0.2.7".to_owned(),
    };
    let a1 = audit(&a, 1_000, "ok");
    let b1 = audit(&b, 1_500, "ok");
    let a2 = ExchangeAudit {
        connection_id: None,
        jti_prefix: None,
        source: "2001:db8::1".into(),
        ..audit(&a, 2_000, "invalid")
    };
    let n1 = audit(&nobody, 2_500, "invalid");
    store
        .record_exchanges(&[a1.clone(), b1.clone(), a2.clone(), n1.clone()])
        .await
        .expect("record_exchanges");
    store.record_exchanges(&[]).await.expect("empty batch");
    let a3 = audit(&a, 3_000, "replayed");
    let a4 = audit(&a, 3_000, "reuse");
    let a5 = audit(&a, 4_000, "revoked");
    store
        .record_exchanges(&[a3.clone(), a4.clone()])
        .await
        .expect("second batch");
    store
        .record_exchanges(std::slice::from_ref(&a5))
        .await
        .expect("third batch");

    assert_eq!(
        store.exchange_audit(&a, 10).await,
        Ok(vec![a5.clone(), a4.clone(), a3.clone(), a2, a1])
    );
    assert_eq!(store.exchange_audit(&a, 2).await, Ok(vec![a5, a4]));
    assert_eq!(store.exchange_audit(&a, 0).await, Ok(vec![]));
    assert_eq!(store.exchange_audit(&b, 10).await, Ok(vec![b1]));
    assert_eq!(store.exchange_audit(&nobody, 10).await, Ok(vec![n1]));
    assert_eq!(store.exchange_audit(&client_id(8), 10).await, Ok(vec![]));
}

/// The purge removes only spent or revoked records whose `expires_at` + `keep` is strictly
/// before `now`; unspent records stay whatever their age, and reuse of a spent record that
/// has not expired is still detected afterwards.
pub async fn purge_removes_only_dead_records_past_their_deadline(store: Arc<dyn Store>) {
    let c = add_customer(&*store, 1).await.client_id;
    let keep = Duration::minutes(1);
    let short = |n: u32| NewFamily {
        family_id: family_id(n),
        bootstrap: NewRefreshRecord {
            jti: bootstrap_jti(n),
            issued_at: at(0),
            expires_at: at(HOUR),
        },
    };
    let create = |n: u32, name: &'static str, family: NewFamily| {
        let store = Arc::clone(&store);
        let c = c.clone();
        async move {
            let new = new_connection(&c, n, name, at(0));
            store
                .create_connection(&new, &family, None)
                .await
                .expect("create_connection");
            Held::bootstrap(&c, &new.connection_id, &family)
        }
    };
    // x: bootstrap (1 h) spent at 1 min, successor unspent.
    let x = create(1, "x", short(1)).await;
    assert_eq!(
        exchanged(&*store, &exchange(&x, 1, at(MINUTE), 0)).await,
        ExchangeOutcome::Rotated
    );
    // y: bootstrap (1 h) revoked by a Refresh at 2 min; the new bootstrap unspent.
    let y = create(2, "y", short(2)).await;
    let fam_y2 = new_family(20, at(2 * MINUTE));
    store
        .refresh_connection(&y.connection_id, &fam_y2, at(2 * MINUTE), None)
        .await
        .expect("refresh y");
    let y2 = Held::bootstrap(&c, &y.connection_id, &fam_y2);
    // z: bootstrap (10 h) spent at 1 min, successor unspent.
    let z_family = NewFamily {
        family_id: family_id(3),
        bootstrap: NewRefreshRecord {
            jti: bootstrap_jti(3),
            issued_at: at(0),
            expires_at: at(10 * HOUR),
        },
    };
    let z = create(3, "z", z_family).await;
    assert_eq!(
        exchanged(&*store, &exchange(&z, 3, at(MINUTE), 0)).await,
        ExchangeOutcome::Rotated
    );
    // w: bootstrap (1 h) never exchanged.
    let w = create(4, "w", short(4)).await;

    assert_eq!(
        store.purge_refresh_records(at(HOUR) + keep, keep).await,
        Ok(0),
        "expires_at + keep equal to now is not before now"
    );
    let now = at(HOUR + MINUTE + 1);
    assert_eq!(store.purge_refresh_records(now, keep).await, Ok(2));
    assert_eq!(store.purge_refresh_records(now, keep).await, Ok(0));

    // The unspent, expired bootstrap of w is still its connection's token.
    assert_eq!(
        stored(&*store, &w.connection_id).await.refresh_jti,
        Some(w.jti.clone())
    );
    // x's purged bootstrap is unknown now; its successor is untouched.
    let later = at(2 * HOUR);
    assert_eq!(
        exchanged(&*store, &exchange(&x, 10, later, 0)).await,
        ExchangeOutcome::Revoked
    );
    assert_eq!(
        exchanged(&*store, &exchange(&x.successor(1), 11, later, 0)).await,
        ExchangeOutcome::Rotated
    );
    assert_eq!(
        exchanged(&*store, &exchange(&y2, 12, later, 0)).await,
        ExchangeOutcome::Rotated
    );
    // z's spent bootstrap has not expired: its reuse is still detected.
    let ex = exchange(&z, 13, later, 0);
    assert_eq!(exchanged(&*store, &ex).await, ExchangeOutcome::Reused);
    assert_eq!(stored(&*store, &z.connection_id).await.live_family, None);
    assert_eq!(all_activity(&*store).await, vec![ex.reuse_activity.clone()]);

    // Once it has expired too it goes (its revoked successor lives for 7 days).
    assert_eq!(
        store
            .purge_refresh_records(at(10 * HOUR + MINUTE), keep)
            .await,
        Ok(0)
    );
    assert_eq!(
        store
            .purge_refresh_records(at(10 * HOUR + MINUTE + 1), keep)
            .await,
        Ok(1)
    );
}

// ---------------------------------------------------------------------------------------------
// A full disk (not in `conformance_tests!`: the backend supplies the means to fill it).
// ---------------------------------------------------------------------------------------------

/// While the database cannot grow, writes (a token, an exchange) fail with `Unavailable` and
/// reads go on; once it can grow again the very next writes succeed, with no reconnect or
/// restart by the caller, and nothing failed half-way: the exchange refused while full rotates
/// when it is retried. `fill` makes further growth fail inside the engine (SQLite: a page cap
/// at the current size); it is called again before each write expected to fail, since the
/// store may have replaced the connection it was applied to. `free` gives the room back.
pub async fn writes_recover_once_the_disk_has_room(
    store: Arc<dyn Store>,
    fill: impl AsyncFn(),
    free: impl AsyncFn(),
) {
    use crate::NewAccessToken;
    use portcullis_core::token::TokenHash;

    let (rec, boot) = setup(&*store).await;
    let id = rec.connection_id.clone();
    let user = super::create(&*store, super::new_user("full-disk")).await;
    // A description that needs overflow pages: a token write that must grow the file.
    let token = |n: u32| NewAccessToken {
        hash: TokenHash::of(&format!("pcl_pat_full-disk-{n}")),
        user_id: user.id,
        application_id: None,
        scope: "write".to_owned(),
        description: "d".repeat(16 * 1024),
        created_at: at(0),
        expires_at: at(10 * HOUR),
        refresh: None,
        from_code: None,
    };
    assert!(store.create_token(token(0), None).await.is_ok());

    // Rotate along one chain until the database has no room for the next rotation.
    fill().await;
    let mut held = boot;
    let mut refused = None;
    for n in 1..=10_000 {
        let ex = exchange(&held, n, at(i64::from(n) * 1000), 0);
        match store.exchange(&ex).await {
            Ok(ExchangeOutcome::Rotated) => held = held.successor(n),
            Err(StoreError::Unavailable(_)) => {
                refused = Some((n, ex));
                break;
            }
            other => assert_eq!(
                other,
                Ok(ExchangeOutcome::Rotated),
                "exchange {n} while filling"
            ),
        }
    }
    let (n, refused) = refused.expect("the database never filled up");
    let before = stored(&*store, &id).await;
    assert_eq!(
        before.refresh_jti,
        Some(held.jti.clone()),
        "nothing half-done"
    );

    // Still full: every write is refused, every read answers.
    for round in 0..3 {
        fill().await;
        assert!(
            matches!(
                store.exchange(&refused).await,
                Err(StoreError::Unavailable(_))
            ),
            "round {round}: an exchange needs room"
        );
        fill().await;
        assert!(
            matches!(
                store.create_token(token(1), None).await,
                Err(StoreError::Unavailable(_))
            ),
            "round {round}: a token needs room"
        );
        assert_eq!(
            stored(&*store, &id).await,
            before,
            "round {round}: reads go on"
        );
    }

    free().await;
    assert_eq!(
        store.exchange(&refused).await,
        Ok(ExchangeOutcome::Rotated),
        "the refused exchange goes through once there is room"
    );
    assert_eq!(
        stored(&*store, &id).await.refresh_jti,
        Some(held.successor(n).jti)
    );
    let created = store
        .create_token(token(1), None)
        .await
        .expect("a token once there is room");
    assert_eq!(
        store
            .token_by_id(created.id)
            .await
            .expect("token_by_id")
            .map(|t| t.description.len()),
        Some(16 * 1024)
    );
}
