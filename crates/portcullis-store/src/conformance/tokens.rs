//! Checks of [`TokenStore`](crate::TokenStore): creation, the bearer lookup and its boundaries,
//! listing, updates, last-used stamps, refresh rotation (race, reuse, expiry, wrong client),
//! RFC 7009 revocation, bulk revocations, purges and the cascade from users.

use super::{activity, at, create, create_app, hash, new_user, t0};
use crate::{
    AccessTokenRecord, ActivityQuery, NewAccessToken, NewActivity, NewAuthCode, NewRefreshToken,
    RevokeOutcome, RotateOutcome, Rotation, Store, StoreError, TokenField, TokenKindFilter,
    TokenQuery, UserPatch,
};
use portcullis_core::ids::{ApplicationId, TokenId, UserId};
use portcullis_core::token::TokenHash;
use portcullis_core::user::User;
use serde_json::json;
use std::sync::Arc;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

/// One hour in milliseconds, for [`at`].
const HOUR: i64 = 3_600_000;

/// The race tolerance every rotation in these checks uses.
const TOLERANCE_MS: i64 = 1_000;

/// The hash of refresh token number `n` (kept apart from access token hashes).
fn refresh_hash(n: u8) -> TokenHash {
    hash(n.wrapping_add(100))
}

/// A personal access token of `user` with hash number `n`, created at `created`, valid 10 h.
fn pat(user: UserId, n: u8, created: OffsetDateTime) -> NewAccessToken {
    NewAccessToken {
        hash: hash(n),
        user_id: user,
        application_id: None,
        scope: "write".to_owned(),
        description: format!("token {n}"),
        created_at: created,
        expires_at: created + Duration::hours(10),
        refresh: None,
        from_code: None,
    }
}

/// An application token of `user` for `app` with access hash `n` and refresh hash
/// `refresh_hash(n)`, created at `created`: access valid 10 h, refresh 30 days.
fn app_token(user: UserId, app: ApplicationId, n: u8, created: OffsetDateTime) -> NewAccessToken {
    NewAccessToken {
        hash: hash(n),
        user_id: user,
        application_id: Some(app),
        scope: "read".to_owned(),
        description: format!("token {n}"),
        created_at: created,
        expires_at: created + Duration::hours(10),
        refresh: Some(NewRefreshToken {
            hash: refresh_hash(n),
            expires_at: created + Duration::days(30),
        }),
        from_code: None,
    }
}

/// Inserts `new` without an activity entry.
async fn issue(store: &dyn Store, new: NewAccessToken) -> AccessTokenRecord {
    store
        .create_token(new, None)
        .await
        .expect("create_token failed")
}

/// The bearer lookup of access hash number `n` at `now`.
async fn bearer(
    store: &dyn Store,
    n: u8,
    now: OffsetDateTime,
) -> Option<(AccessTokenRecord, User)> {
    store
        .token_for_bearer(&hash(n), now)
        .await
        .expect("token_for_bearer failed")
}

/// Whether access hash number `n` passes the bearer lookup at `now`.
async fn live(store: &dyn Store, n: u8, now: OffsetDateTime) -> bool {
    bearer(store, n, now).await.is_some()
}

/// A rotation of refresh hash `refresh_hash(presented)` by `client` at `now`, whose successor
/// has access hash `next` and refresh hash `refresh_hash(next)`. The successor's owner fields
/// are deliberately wrong: the store must take them from the presented token's family.
fn rotation(presented: u8, client: ApplicationId, next: u8, now: OffsetDateTime) -> Rotation {
    Rotation {
        presented: refresh_hash(presented),
        client,
        successor: NewAccessToken {
            hash: hash(next),
            user_id: UserId(0),
            application_id: None,
            scope: String::new(),
            description: format!("successor {next}"),
            created_at: now,
            expires_at: now + Duration::hours(10),
            refresh: Some(NewRefreshToken {
                hash: refresh_hash(next),
                expires_at: now + Duration::days(30),
            }),
            from_code: None,
        },
        now,
        race_tolerance: Duration::milliseconds(TOLERANCE_MS),
        family_max_lifetime: Duration::ZERO,
    }
}

/// Runs `rotation` without an activity entry.
async fn rotate(store: &dyn Store, rotation: Rotation) -> RotateOutcome {
    store
        .rotate_refresh(rotation, None)
        .await
        .expect("rotate_refresh failed")
}

/// The successor record of a `Rotated` outcome; fails the check on any other outcome.
fn expect_rotated(outcome: RotateOutcome) -> AccessTokenRecord {
    assert!(
        matches!(outcome, RotateOutcome::Rotated(_)),
        "expected Rotated, got {outcome:?}"
    );
    let RotateOutcome::Rotated(rec) = outcome else {
        unreachable!("checked above")
    };
    *rec
}

/// Runs `rotation` and returns the successor record, failing unless it was `Rotated`.
async fn rotated(store: &dyn Store, rotation: Rotation) -> AccessTokenRecord {
    expect_rotated(rotate(store, rotation).await)
}

/// Every live token, id ascending.
fn everything() -> TokenQuery {
    TokenQuery {
        user: None,
        application: None,
        kind: TokenKindFilter::All,
        filters: vec![],
        order: None,
        limit: 100,
        offset: 0,
    }
}

/// Ids of a listing, in order, with its total.
async fn listed(store: &dyn Store, q: &TokenQuery) -> (i64, Vec<TokenId>) {
    let page = store.list_tokens(q).await.expect("list_tokens failed");
    (page.total, page.items.into_iter().map(|t| t.id).collect())
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

/// A user patch that enables or disables.
fn active(on: bool) -> UserPatch {
    UserPatch {
        is_active: Some(on),
        ..UserPatch::default()
    }
}

/// A PAT and an application token read back exactly as inserted, with the owner's names and
/// the application's name joined in, by id and through the bearer lookup.
pub async fn create_token_round_trips_for_both_kinds(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let app = create_app(&*store, "cli").await;

    let mut new = pat(alice.id, 1, at(1_000));
    new.scope = "read write".into();
    new.description = "my laptop".into();
    new.expires_at = at(1_000) + Duration::days(365);
    let p = issue(&*store, new).await;
    assert!(p.id.0 > 0);
    assert_eq!(p.user_id, alice.id);
    assert_eq!(p.username, "alice");
    assert_eq!(p.first_name, "First alice");
    assert_eq!(p.last_name, "Last alice");
    assert_eq!(p.application_id, None);
    assert_eq!(p.application_name, None);
    assert_eq!(p.description, "my laptop");
    assert_eq!(p.scope, "read write");
    assert_eq!(p.created_at, at(1_000));
    assert_eq!(p.modified_at, at(1_000), "modified starts at creation");
    assert_eq!(p.expires_at, at(1_000) + Duration::days(365));
    assert!(!p.has_refresh, "a PAT never has a refresh token");
    assert_eq!(p.last_used, None);

    let a = issue(&*store, app_token(alice.id, app.id, 2, at(2_000))).await;
    assert_ne!(a.id, p.id);
    assert_eq!(a.user_id, alice.id);
    assert_eq!(a.username, "alice");
    assert_eq!(a.application_id, Some(app.id));
    assert_eq!(a.application_name.as_deref(), Some("cli"));
    assert_eq!(a.description, "token 2");
    assert_eq!(a.scope, "read");
    assert_eq!(a.created_at, at(2_000));
    assert_eq!(a.modified_at, at(2_000));
    assert_eq!(a.expires_at, at(2_000) + Duration::hours(10));
    assert!(a.has_refresh);
    assert_eq!(a.last_used, None);

    assert_eq!(store.token_by_id(p.id).await, Ok(Some(p.clone())));
    assert_eq!(store.token_by_id(a.id).await, Ok(Some(a.clone())));
    assert_eq!(store.token_by_id(TokenId(a.id.0 + 1000)).await, Ok(None));

    let now = at(3_000);
    let alice_id = alice.id;
    assert_eq!(
        store.token_for_bearer(&hash(1), now).await,
        Ok(Some((p, alice.clone())))
    );
    assert_eq!(
        store.token_for_bearer(&hash(2), now).await,
        Ok(Some((a, alice)))
    );
    assert_eq!(store.token_for_bearer(&hash(3), now).await, Ok(None));
    // The refresh token is not an access token.
    assert_eq!(
        store.token_for_bearer(&refresh_hash(2), now).await,
        Ok(None)
    );
    // A duplicate hash is refused.
    assert!(
        store
            .create_token(pat(alice_id, 1, at(4_000)), None)
            .await
            .is_err(),
        "a duplicate access token hash must be refused"
    );
    assert_eq!(listed(&*store, &everything()).await.0, 2);
}

/// A token for a missing user or application is `NotFound`, stores nothing and writes no
/// activity.
pub async fn create_token_for_a_missing_owner_is_not_found(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let app = create_app(&*store, "cli").await;
    let entry = || {
        Some(activity(
            "create",
            "o_auth2_access_token",
            None,
            None,
            json!({}),
        ))
    };

    let missing_user = UserId(alice.id.0 + 1000);
    assert_eq!(
        store
            .create_token(pat(missing_user, 1, t0()), entry())
            .await
            .map(|t| t.id),
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store
            .create_token(app_token(missing_user, app.id, 2, t0()), entry())
            .await
            .map(|t| t.id),
        Err(StoreError::NotFound)
    );
    let missing_app = ApplicationId(app.id.0 + 1000);
    assert_eq!(
        store
            .create_token(app_token(alice.id, missing_app, 3, t0()), entry())
            .await
            .map(|t| t.id),
        Err(StoreError::NotFound)
    );
    assert_eq!(listed(&*store, &everything()).await, (0, vec![]));
    for n in 1..=3 {
        assert!(!live(&*store, n, at(1)).await);
    }
    assert_eq!(all_activity(&*store).await, vec![]);
}

/// A token is valid strictly before its deadline: `now == expires_at` is already invalid. An
/// expired token is still shown by id until purged.
pub async fn bearer_lookup_ends_at_the_deadline(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let mut new = pat(alice.id, 1, t0());
    new.expires_at = at(60_000);
    let t = issue(&*store, new).await;

    assert!(live(&*store, 1, t0()).await);
    assert!(live(&*store, 1, at(59_999)).await, "one millisecond before");
    assert!(!live(&*store, 1, at(60_000)).await, "now == expires_at");
    assert!(!live(&*store, 1, at(60_001)).await, "after the deadline");
    assert!(!live(&*store, 1, at(10 * HOUR)).await);
    assert_eq!(store.token_by_id(t.id).await, Ok(Some(t.clone())));
    assert_eq!(listed(&*store, &everything()).await, (1, vec![t.id]));
    // The lookup never writes: a failed lookup leaves the token as it was.
    assert!(live(&*store, 1, at(1)).await);
    assert_eq!(store.token_by_id(t.id).await, Ok(Some(t)));
    // An unknown hash, and one differing only in its last byte, find nothing.
    assert!(!live(&*store, 2, at(1)).await);
    let mut near = *hash(1).as_bytes();
    if let Some(last) = near.last_mut() {
        *last = last.wrapping_add(1);
    }
    assert_eq!(
        store
            .token_for_bearer(&TokenHash::from_bytes(near), at(1))
            .await,
        Ok(None)
    );
}

/// A disabled user's tokens fail the lookup (they are not revoked: enabling the user again
/// makes them valid again); other users are unaffected.
pub async fn bearer_lookup_requires_an_active_user(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let bob = create(&*store, new_user("bob")).await;
    let app = create_app(&*store, "cli").await;
    issue(&*store, pat(alice.id, 1, t0())).await;
    issue(&*store, app_token(alice.id, app.id, 2, t0())).await;
    issue(&*store, pat(bob.id, 3, t0())).await;
    let now = at(1_000);

    store
        .update_user(alice.id, active(false), None)
        .await
        .expect("disable");
    assert!(!live(&*store, 1, now).await, "PAT of a disabled user");
    assert!(!live(&*store, 2, now).await, "app token of a disabled user");
    let (_, user) = bearer(&*store, 3, now).await.expect("bob's token lives");
    assert_eq!(user, bob);

    let enabled = store
        .update_user(alice.id, active(true), None)
        .await
        .expect("enable");
    let (rec, user) = bearer(&*store, 1, now).await.expect("valid again");
    assert_eq!(rec.user_id, alice.id);
    assert_eq!(user, enabled, "the joined user is the current row");
    assert!(live(&*store, 2, now).await);
}

/// Deleting a token removes it and revokes the refresh token issued with it; a second delete
/// (or a missing id) is `NotFound`; other tokens are untouched.
pub async fn delete_token_also_kills_its_refresh_token(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let app = create_app(&*store, "cli").await;
    let doomed = issue(&*store, app_token(alice.id, app.id, 1, t0())).await;
    let kept = issue(&*store, app_token(alice.id, app.id, 2, t0())).await;
    let p = issue(&*store, pat(alice.id, 3, t0())).await;
    let now = at(1_000);

    assert_eq!(store.delete_token(doomed.id, None).await, Ok(()));
    assert!(!live(&*store, 1, now).await);
    assert_eq!(store.token_by_id(doomed.id).await, Ok(None));
    assert_eq!(
        rotate(&*store, rotation(1, app.id, 11, now)).await,
        RotateOutcome::Unknown,
        "the refresh token of a deleted token must not rotate"
    );
    assert!(!live(&*store, 11, now).await, "no successor was inserted");
    assert_eq!(
        store.delete_token(doomed.id, None).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store.delete_token(TokenId(p.id.0 + 1000), None).await,
        Err(StoreError::NotFound)
    );

    assert_eq!(store.delete_token(p.id, None).await, Ok(()));
    assert!(!live(&*store, 3, now).await);
    assert_eq!(listed(&*store, &everything()).await, (1, vec![kept.id]));
    assert!(live(&*store, 2, now).await);
    rotated(&*store, rotation(2, app.id, 12, now)).await;
}

/// The tokens of [`list_fixture`], in creation order, and who owns what.
struct ListFixture {
    tokens: Vec<AccessTokenRecord>,
    alice: UserId,
    bob: UserId,
    carol: UserId,
    app1: ApplicationId,
    app2: ApplicationId,
}

impl ListFixture {
    /// The id of the `n`-th token (1-based).
    fn id(&self, n: usize) -> TokenId {
        self.tokens
            .get(n.wrapping_sub(1))
            .map(|t| t.id)
            .expect("fixture token")
    }

    /// Ids of the tokens numbered `ns`, with `total`.
    fn ids(&self, total: i64, ns: &[usize]) -> (i64, Vec<TokenId>) {
        (total, ns.iter().map(|&n| self.id(n)).collect())
    }
}

/// A fixture row: owner, application, description, scope, created ms, expires ms if not 10 h.
type TokenRow = (
    UserId,
    Option<ApplicationId>,
    &'static str,
    &'static str,
    i64,
    Option<i64>,
);

/// Five live tokens (one already expired, which listings still show) and a deleted one:
///
/// | # | owner | application | description | scope        | created | expires        |
/// |---|-------|-------------|-------------|--------------|---------|----------------|
/// | 1 | alice | —           | one         | read         | 100     | 100 + 10 h     |
/// | 2 | alice | app1        | two         | write        | 300     | 300 + 10 h     |
/// | 3 | bob   | —           | three       | read write   | 200     | 1000           |
/// | 4 | bob   | app2        | same        | read         | 300     | 300 + 10 h     |
/// | 5 | alice | app2        | same        | write        | 100     | 100 + 10 h     |
async fn list_fixture(store: &dyn Store) -> ListFixture {
    let alice = create(store, new_user("alice")).await.id;
    let bob = create(store, new_user("bob")).await.id;
    let carol = create(store, new_user("carol")).await.id;
    let app1 = create_app(store, "app1").await.id;
    let app2 = create_app(store, "app2").await.id;
    let rows: [TokenRow; 5] = [
        (alice, None, "one", "read", 100, None),
        (alice, Some(app1), "two", "write", 300, None),
        (bob, None, "three", "read write", 200, Some(1_000)),
        (bob, Some(app2), "same", "read", 300, None),
        (alice, Some(app2), "same", "write", 100, None),
    ];
    let mut tokens = Vec::new();
    for (n, (user, app, description, scope, created, expires)) in (1u8..).zip(rows) {
        let mut new = match app {
            Some(app) => app_token(user, app, n, at(created)),
            None => pat(user, n, at(created)),
        };
        new.description = description.to_owned();
        new.scope = scope.to_owned();
        if let Some(expires) = expires {
            new.expires_at = at(expires);
        }
        tokens.push(issue(store, new).await);
    }
    let gone = issue(store, pat(carol, 9, at(100))).await;
    store.delete_token(gone.id, None).await.expect("delete");
    ListFixture {
        tokens,
        alice,
        bob,
        carol,
        app1,
        app2,
    }
}

/// The owner, application and kind restrictions combine; listed records carry the joined
/// names; deleted tokens are never listed, expired ones are.
pub async fn list_tokens_filters_by_owner_application_and_kind(store: Arc<dyn Store>) {
    use TokenKindFilter::{All, Application, Personal};
    let f = list_fixture(&*store).await;
    let s = &*store;
    let q = |user: Option<UserId>, application: Option<ApplicationId>, kind| TokenQuery {
        user,
        application,
        kind,
        ..everything()
    };

    assert_eq!(listed(s, &everything()).await, f.ids(5, &[1, 2, 3, 4, 5]));
    let page = store.list_tokens(&everything()).await.expect("list");
    assert_eq!(
        page.items, f.tokens,
        "listed records equal the created ones"
    );

    assert_eq!(
        listed(s, &q(Some(f.alice), None, All)).await,
        f.ids(3, &[1, 2, 5])
    );
    assert_eq!(
        listed(s, &q(Some(f.bob), None, All)).await,
        f.ids(2, &[3, 4])
    );
    assert_eq!(listed(s, &q(Some(f.carol), None, All)).await, f.ids(0, &[]));
    assert_eq!(listed(s, &q(None, Some(f.app1), All)).await, f.ids(1, &[2]));
    assert_eq!(
        listed(s, &q(None, Some(f.app2), All)).await,
        f.ids(2, &[4, 5])
    );
    assert_eq!(listed(s, &q(None, None, Personal)).await, f.ids(2, &[1, 3]));
    assert_eq!(
        listed(s, &q(None, None, Application)).await,
        f.ids(3, &[2, 4, 5])
    );
    assert_eq!(
        listed(s, &q(Some(f.alice), None, Personal)).await,
        f.ids(1, &[1])
    );
    assert_eq!(
        listed(s, &q(Some(f.alice), None, Application)).await,
        f.ids(2, &[2, 5])
    );
    assert_eq!(
        listed(s, &q(Some(f.alice), Some(f.app2), All)).await,
        f.ids(1, &[5])
    );
    assert_eq!(
        listed(s, &q(Some(f.bob), Some(f.app1), All)).await,
        f.ids(0, &[])
    );
    assert_eq!(
        listed(s, &q(None, Some(f.app1), Personal)).await,
        f.ids(0, &[])
    );
    assert_eq!(
        listed(s, &q(None, Some(ApplicationId(f.app2.0 + 1000)), All)).await,
        f.ids(0, &[])
    );
}

/// Exact-match filters on text, id and instant columns; `application=null` matches PATs; a
/// value that cannot match the column's type matches nothing; filters combine with AND.
pub async fn list_tokens_applies_exact_match_filters(store: Arc<dyn Store>) {
    let f = list_fixture(&*store).await;
    let s = &*store;
    let q = |filters: &[(TokenField, String)]| TokenQuery {
        filters: filters.to_vec(),
        ..everything()
    };
    let one = |field: TokenField, value: &str| q(&[(field, value.to_owned())]);

    assert_eq!(
        listed(s, &one(TokenField::Scope, "read")).await,
        f.ids(2, &[1, 4])
    );
    assert_eq!(
        listed(s, &one(TokenField::Scope, "read write")).await,
        f.ids(1, &[3])
    );
    assert_eq!(
        listed(s, &one(TokenField::Scope, "READ")).await,
        f.ids(0, &[])
    );
    assert_eq!(
        listed(s, &one(TokenField::Scope, "rea")).await,
        f.ids(0, &[])
    );
    assert_eq!(
        listed(s, &one(TokenField::Description, "same")).await,
        f.ids(2, &[4, 5])
    );
    assert_eq!(
        listed(s, &one(TokenField::Description, "")).await,
        f.ids(0, &[])
    );
    assert_eq!(
        listed(s, &one(TokenField::Application, "null")).await,
        f.ids(2, &[1, 3])
    );
    let app1 = f.app1.0.to_string();
    assert_eq!(
        listed(s, &one(TokenField::Application, &app1)).await,
        f.ids(1, &[2])
    );
    assert_eq!(
        listed(s, &one(TokenField::Application, "abc")).await,
        f.ids(0, &[])
    );
    let bob = f.bob.0.to_string();
    assert_eq!(
        listed(s, &one(TokenField::User, &bob)).await,
        f.ids(2, &[3, 4])
    );
    assert_eq!(listed(s, &one(TokenField::User, "x")).await, f.ids(0, &[]));
    let second = f.id(2).0.to_string();
    assert_eq!(
        listed(s, &one(TokenField::Id, &second)).await,
        f.ids(1, &[2])
    );
    for bad in ["1.5", "", "abc"] {
        assert_eq!(
            listed(s, &one(TokenField::Id, bad)).await,
            f.ids(0, &[]),
            "id={bad:?}"
        );
    }
    // Instants as RFC 3339, like the users listing.
    let created = at(300).format(&Rfc3339).expect("format");
    assert_eq!(
        listed(s, &one(TokenField::Created, &created)).await,
        f.ids(2, &[2, 4])
    );
    let expires = at(1_000).format(&Rfc3339).expect("format");
    assert_eq!(
        listed(s, &one(TokenField::Expires, &expires)).await,
        f.ids(1, &[3])
    );
    assert_eq!(
        listed(s, &one(TokenField::Modified, &created)).await,
        f.ids(2, &[2, 4])
    );
    assert_eq!(
        listed(s, &one(TokenField::Created, "yesterday")).await,
        f.ids(0, &[])
    );

    let alice = f.alice.0.to_string();
    assert_eq!(
        listed(
            s,
            &q(&[
                (TokenField::Scope, "write".to_owned()),
                (TokenField::User, alice.clone())
            ])
        )
        .await,
        f.ids(2, &[2, 5])
    );
    assert_eq!(
        listed(
            s,
            &q(&[
                (TokenField::Application, "null".to_owned()),
                (TokenField::User, alice)
            ])
        )
        .await,
        f.ids(1, &[1])
    );
    // Filters and the kind restriction combine.
    let mut personal_same = one(TokenField::Description, "same");
    personal_same.kind = TokenKindFilter::Personal;
    assert_eq!(listed(s, &personal_same).await, f.ids(0, &[]));
    let mut mine = one(TokenField::Description, "same");
    mine.user = Some(f.alice);
    assert_eq!(listed(s, &mine).await, f.ids(1, &[5]));
}

/// Ordering by each kind of column, descending too, ties broken by id ascending; `total`
/// counts every match whatever the page.
pub async fn list_tokens_orders_with_id_tiebreak_and_pages(store: Arc<dyn Store>) {
    let f = list_fixture(&*store).await;
    let s = &*store;
    let ordered = |field: TokenField, descending: bool| TokenQuery {
        order: Some((field, descending)),
        ..everything()
    };
    let cases: [(TokenField, bool, [usize; 5]); 12] = [
        (TokenField::Id, false, [1, 2, 3, 4, 5]),
        (TokenField::Id, true, [5, 4, 3, 2, 1]),
        (TokenField::Created, false, [1, 5, 3, 2, 4]),
        (TokenField::Created, true, [2, 4, 3, 1, 5]),
        (TokenField::Description, false, [1, 4, 5, 3, 2]),
        (TokenField::Description, true, [2, 3, 4, 5, 1]),
        (TokenField::Scope, false, [1, 4, 3, 2, 5]),
        (TokenField::Scope, true, [2, 5, 3, 1, 4]),
        (TokenField::User, false, [1, 2, 5, 3, 4]),
        (TokenField::User, true, [3, 4, 1, 2, 5]),
        (TokenField::Expires, false, [3, 1, 5, 2, 4]),
        (TokenField::Modified, true, [2, 4, 3, 1, 5]),
    ];
    for (field, descending, expected) in cases {
        assert_eq!(
            listed(s, &ordered(field, descending)).await,
            f.ids(5, &expected),
            "order by {field:?} descending={descending}"
        );
    }

    let mut page = ordered(TokenField::Created, true);
    page.limit = 2;
    page.offset = 1;
    assert_eq!(listed(s, &page).await, f.ids(5, &[4, 3]));
    page.offset = 4;
    assert_eq!(listed(s, &page).await, f.ids(5, &[5]));
    page.offset = 10;
    assert_eq!(listed(s, &page).await, f.ids(5, &[]));
    page.offset = 0;
    page.limit = 0;
    assert_eq!(listed(s, &page).await, f.ids(5, &[]));

    let mine = TokenQuery {
        user: Some(f.alice),
        order: Some((TokenField::Id, true)),
        limit: 1,
        offset: 1,
        ..everything()
    };
    assert_eq!(listed(s, &mine).await, f.ids(3, &[2]));
    let apps = TokenQuery {
        kind: TokenKindFilter::Application,
        filters: vec![(TokenField::Description, "same".to_owned())],
        order: Some((TokenField::Created, false)),
        limit: 1,
        offset: 0,
        ..everything()
    };
    assert_eq!(listed(s, &apps).await, f.ids(2, &[5]));
}

/// An update changes the given description and/or scope and stamps `modified_at`, nothing
/// else; the token keeps working; a missing token is `NotFound`.
pub async fn update_token_changes_only_description_and_scope(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let app = create_app(&*store, "cli").await;
    let before = issue(&*store, app_token(alice.id, app.id, 1, at(1_000))).await;
    let other = issue(&*store, pat(alice.id, 2, at(1_000))).await;

    let after = store
        .update_token(before.id, Some("renamed".into()), None, at(5_000), None)
        .await
        .expect("update description");
    assert_eq!(
        after,
        AccessTokenRecord {
            description: "renamed".into(),
            modified_at: at(5_000),
            ..before.clone()
        }
    );
    assert_eq!(store.token_by_id(before.id).await, Ok(Some(after.clone())));

    let after = store
        .update_token(before.id, None, Some("read write".into()), at(6_000), None)
        .await
        .expect("update scope");
    assert_eq!(
        after,
        AccessTokenRecord {
            description: "renamed".into(),
            scope: "read write".into(),
            modified_at: at(6_000),
            ..before.clone()
        }
    );

    let after = store
        .update_token(
            before.id,
            Some(String::new()),
            Some("read".into()),
            at(7_000),
            None,
        )
        .await
        .expect("update both");
    assert_eq!(
        after,
        AccessTokenRecord {
            description: String::new(),
            scope: "read".into(),
            modified_at: at(7_000),
            ..before.clone()
        }
    );
    let (rec, _) = bearer(&*store, 1, at(8_000)).await.expect("still valid");
    assert_eq!(rec, after);
    assert_eq!(store.token_by_id(other.id).await, Ok(Some(other.clone())));
    assert!(after.has_refresh, "an update keeps the refresh token");
    rotated(&*store, rotation(1, app.id, 11, at(8_000))).await;

    assert_eq!(
        store
            .update_token(
                TokenId(other.id.0 + 1000),
                Some("x".into()),
                None,
                at(9_000),
                None
            )
            .await,
        Err(StoreError::NotFound)
    );
    store.delete_token(other.id, None).await.expect("delete");
    assert_eq!(
        store
            .update_token(other.id, Some("x".into()), None, at(9_000), None)
            .await,
        Err(StoreError::NotFound)
    );
}

/// `last_used` only ever moves forward: each stamp is `max(last_used, at)`, duplicates in a
/// batch collapse to the latest, missing ids are skipped, and nothing else changes.
pub async fn stamp_last_used_keeps_the_latest_instant(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let a = issue(&*store, pat(alice.id, 1, t0())).await;
    let b = issue(&*store, pat(alice.id, 2, t0())).await;
    let last_used = |id: TokenId| {
        let store = Arc::clone(&store);
        async move {
            store
                .token_by_id(id)
                .await
                .expect("token_by_id")
                .expect("token present")
                .last_used
        }
    };

    assert_eq!(store.stamp_last_used(&[]).await, Ok(()));
    assert_eq!(last_used(a.id).await, None);
    assert_eq!(store.stamp_last_used(&[(a.id, at(5_000))]).await, Ok(()));
    assert_eq!(last_used(a.id).await, Some(at(5_000)));
    assert_eq!(last_used(b.id).await, None, "other tokens untouched");

    assert_eq!(store.stamp_last_used(&[(a.id, at(3_000))]).await, Ok(()));
    assert_eq!(
        last_used(a.id).await,
        Some(at(5_000)),
        "an older stamp never moves last_used backwards"
    );

    let missing = TokenId(b.id.0 + 1000);
    let batch = [
        (a.id, at(9_000)),
        (missing, at(9_500)),
        (b.id, at(7_001)),
        (a.id, at(8_000)),
    ];
    assert_eq!(store.stamp_last_used(&batch).await, Ok(()));
    assert_eq!(last_used(a.id).await, Some(at(9_000)));
    assert_eq!(last_used(b.id).await, Some(at(7_001)));
    assert_eq!(store.token_by_id(missing).await, Ok(None));

    let stamped = store.token_by_id(a.id).await.expect("lookup").expect("a");
    assert_eq!(
        stamped,
        AccessTokenRecord {
            last_used: Some(at(9_000)),
            ..a
        },
        "a stamp changes last_used only (not modified_at)"
    );
    let (rec, _) = bearer(&*store, 1, at(10_000)).await.expect("live");
    assert_eq!(rec.last_used, Some(at(9_000)));
}

/// Create, update, delete and rotation write their entry in the same call (a create entry
/// without an id gets the new token's id); outcomes that change nothing write none.
pub async fn token_changes_write_activity(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let app = create_app(&*store, "cli").await;
    let other = create_app(&*store, "other").await;
    let actor = Some(alice.id);
    let kind = "o_auth2_access_token";

    let created_entry = activity("create", kind, None, actor, json!({"scope": "read"}));
    let t = store
        .create_token(
            app_token(alice.id, app.id, 1, t0()),
            Some(created_entry.clone()),
        )
        .await
        .expect("create_token");

    let mut updated_entry = activity(
        "update",
        kind,
        Some(t.id.0),
        actor,
        json!({"description": ["token 1", "new"]}),
    );
    updated_entry.timestamp = at(1_000);
    store
        .update_token(
            t.id,
            Some("new".into()),
            None,
            at(1_000),
            Some(updated_entry.clone()),
        )
        .await
        .expect("update_token");

    // Refused rotations write nothing.
    let refused = activity("create", kind, None, actor, json!({"refused": true}));
    assert_eq!(
        store
            .rotate_refresh(rotation(1, other.id, 2, at(2_000)), Some(refused.clone()))
            .await,
        Ok(RotateOutcome::WrongClient)
    );
    assert_eq!(
        store
            .rotate_refresh(rotation(50, app.id, 2, at(2_000)), Some(refused))
            .await,
        Ok(RotateOutcome::Unknown)
    );

    let mut rotated_entry = activity("create", kind, None, actor, json!({"grant": "refresh"}));
    rotated_entry.timestamp = at(3_000);
    let successor = expect_rotated(
        store
            .rotate_refresh(
                rotation(1, app.id, 2, at(3_000)),
                Some(rotated_entry.clone()),
            )
            .await
            .expect("rotate_refresh"),
    );

    let mut deleted_entry = activity("delete", kind, Some(successor.id.0), actor, json!({}));
    deleted_entry.timestamp = at(4_000);
    store
        .delete_token(successor.id, Some(deleted_entry.clone()))
        .await
        .expect("delete_token");

    assert_eq!(
        all_activity(&*store).await,
        vec![
            deleted_entry,
            NewActivity {
                object1_id: Some(successor.id.0),
                ..rotated_entry
            },
            updated_entry,
            NewActivity {
                object1_id: Some(t.id.0),
                ..created_entry
            },
        ]
    );

    // A refused change writes no entry.
    let entry = || Some(activity("delete", kind, None, actor, json!({"x": 1})));
    assert_eq!(
        store.delete_token(successor.id, entry()).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(
        store
            .update_token(successor.id, Some("y".into()), None, at(5_000), entry())
            .await
            .map(|t| t.id),
        Err(StoreError::NotFound)
    );
    assert_eq!(all_activity(&*store).await.len(), 4);
}

/// A rotation consumes the refresh token, deletes its access token and inserts the successor
/// pair in the same family: same owner and application (whatever the successor claimed), the
/// given scope (or the old one when empty), and the successor rotates in turn.
pub async fn rotate_refresh_issues_a_successor_in_the_family(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let bob = create(&*store, new_user("bob")).await;
    let app = create_app(&*store, "cli").await;
    let other = create_app(&*store, "other").await;
    let mut new = app_token(alice.id, app.id, 1, t0());
    new.scope = "read write".into();
    let old = issue(&*store, new).await;
    let bystander = issue(&*store, app_token(alice.id, app.id, 9, t0())).await;

    // The successor claims bob and another application: both are ignored.
    let now = at(10_000);
    let mut r = rotation(1, app.id, 2, now);
    r.successor.user_id = bob.id;
    r.successor.application_id = Some(other.id);
    r.successor.scope = "read".into();
    r.successor.description = "rotated".into();
    r.successor.expires_at = now + Duration::hours(2);
    let next = rotated(&*store, r).await;
    assert_ne!(next.id, old.id);
    assert_eq!(
        next,
        AccessTokenRecord {
            id: next.id,
            user_id: alice.id,
            username: "alice".into(),
            first_name: "First alice".into(),
            last_name: "Last alice".into(),
            application_id: Some(app.id),
            application_name: Some("cli".into()),
            description: "rotated".into(),
            scope: "read".into(),
            created_at: now,
            modified_at: now,
            expires_at: now + Duration::hours(2),
            has_refresh: true,
            last_used: None,
        }
    );

    let later = now + Duration::milliseconds(1);
    assert!(
        !live(&*store, 1, later).await,
        "the old access token is gone"
    );
    assert_eq!(store.token_by_id(old.id).await, Ok(None));
    let (rec, user) = bearer(&*store, 2, later).await.expect("successor is live");
    assert_eq!(rec, next);
    assert_eq!(user, alice);
    assert_eq!(store.token_by_id(next.id).await, Ok(Some(next.clone())));
    assert_eq!(
        listed(&*store, &everything()).await,
        (2, vec![bystander.id, next.id])
    );

    // An empty successor scope keeps the presented token's scope.
    let third = rotated(&*store, rotation(2, app.id, 3, at(20_000))).await;
    assert_eq!(third.scope, "read");
    assert_eq!(third.application_id, Some(app.id));
    assert_eq!(third.user_id, alice.id);
    assert_eq!(third.description, "successor 3");
    assert!(!live(&*store, 2, at(20_001)).await);
    assert!(live(&*store, 3, at(20_001)).await);

    let mut wide = app_token(alice.id, app.id, 4, t0());
    wide.scope = "read write".into();
    issue(&*store, wide).await;
    let kept = rotated(&*store, rotation(4, app.id, 5, at(30_000))).await;
    assert_eq!(
        kept.scope, "read write",
        "empty successor scope keeps the old one"
    );
    // The other family is untouched by all of this.
    assert!(live(&*store, 9, at(30_001)).await);
}

/// A refresh token presented with another client's credentials changes nothing: the access
/// token still works and the right client can still rotate it.
pub async fn rotate_refresh_with_another_client_changes_nothing(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let app = create_app(&*store, "cli").await;
    let other = create_app(&*store, "other").await;
    let t = issue(&*store, app_token(alice.id, app.id, 1, t0())).await;
    let now = at(10_000);

    assert_eq!(
        rotate(&*store, rotation(1, other.id, 2, now)).await,
        RotateOutcome::WrongClient
    );
    assert!(!live(&*store, 2, now).await, "no successor was inserted");
    let (rec, _) = bearer(&*store, 1, now).await.expect("still valid");
    assert_eq!(rec, t);
    assert_eq!(
        rotate(
            &*store,
            rotation(1, ApplicationId(other.id.0 + 1000), 3, now)
        )
        .await,
        RotateOutcome::WrongClient,
        "a client id that does not exist is just another client"
    );
    // Not consumed: the right client rotates it now, and much later than the race tolerance.
    let later = now + Duration::minutes(5);
    let next = rotated(&*store, rotation(1, app.id, 4, later)).await;
    assert_eq!(next.application_id, Some(app.id));
    assert!(live(&*store, 4, later).await);
    assert!(!live(&*store, 1, later).await);
}

/// A refresh token is refused as `Expired` from its deadline on (`now == expires_at`
/// included); nothing changes, nothing is revoked, so it still rotates before the deadline.
pub async fn expired_refresh_token_is_refused_without_revoking(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let app = create_app(&*store, "cli").await;
    let mut new = app_token(alice.id, app.id, 1, t0());
    new.expires_at = at(10 * HOUR);
    new.refresh = Some(NewRefreshToken {
        hash: refresh_hash(1),
        expires_at: at(HOUR),
    });
    issue(&*store, new).await;

    assert_eq!(
        rotate(&*store, rotation(1, app.id, 2, at(HOUR))).await,
        RotateOutcome::Expired,
        "now == expires_at is expired"
    );
    assert_eq!(
        rotate(&*store, rotation(1, app.id, 3, at(HOUR + 1))).await,
        RotateOutcome::Expired
    );
    assert!(!live(&*store, 2, at(HOUR)).await);
    assert!(!live(&*store, 3, at(HOUR)).await);
    assert!(live(&*store, 1, at(HOUR + 1)).await, "nothing was revoked");
    // One millisecond before the deadline it rotates (the store takes `now` as given).
    let next = rotated(&*store, rotation(1, app.id, 4, at(HOUR - 1))).await;
    assert!(live(&*store, 4, at(HOUR)).await);
    assert_eq!(next.user_id, alice.id);
}

/// A consumed refresh token presented again within the tolerance (boundary included) is a
/// lost race: nothing changes and the winner's successor keeps working.
pub async fn refresh_presented_within_tolerance_is_a_lost_race(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let app = create_app(&*store, "cli").await;
    issue(&*store, app_token(alice.id, app.id, 1, t0())).await;
    let consumed = at(10_000);
    let winner = rotated(&*store, rotation(1, app.id, 2, consumed)).await;

    for (next, delay) in [(3u8, 0), (4, 400), (5, TOLERANCE_MS)] {
        let now = consumed + Duration::milliseconds(delay);
        assert_eq!(
            rotate(&*store, rotation(1, app.id, next, now)).await,
            RotateOutcome::RaceLost,
            "presented {delay} ms after consumption"
        );
        assert!(
            !live(&*store, next, now).await,
            "the loser's successor is not stored"
        );
        let (rec, _) = bearer(&*store, 2, now).await.expect("winner still valid");
        assert_eq!(rec, winner);
    }
    assert_eq!(
        listed(&*store, &everything()).await,
        (1, vec![winner.id]),
        "exactly the winner's token exists"
    );
    // The winner's refresh token was not touched either.
    let after = consumed + Duration::milliseconds(TOLERANCE_MS);
    rotated(&*store, rotation(2, app.id, 6, after)).await;
    assert!(live(&*store, 6, after).await);
    // One millisecond past the tolerance it is reuse, which revokes the family.
    let late = after + Duration::milliseconds(1);
    assert_eq!(
        rotate(&*store, rotation(1, app.id, 7, late)).await,
        RotateOutcome::Reused { user_id: alice.id }
    );
    assert!(!live(&*store, 6, late).await);
    assert!(!live(&*store, 7, late).await);
}

/// A consumed refresh token presented later than the tolerance is reuse: the whole family is
/// revoked (the successor access and refresh tokens, down the chain), the owner is reported,
/// and the user's other families survive.
pub async fn reused_refresh_token_revokes_family(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let app = create_app(&*store, "cli").await;
    issue(&*store, app_token(alice.id, app.id, 1, t0())).await;
    let other_family = issue(&*store, app_token(alice.id, app.id, 9, t0())).await;
    let t1 = at(10_000);
    rotated(&*store, rotation(1, app.id, 2, t1)).await;
    let t2 = at(20_000);
    let grandchild = rotated(&*store, rotation(2, app.id, 3, t2)).await;
    assert!(live(&*store, 3, t2).await);

    // Token 1 was consumed at t1, long before: presenting it again is reuse.
    let now = t2 + Duration::seconds(5);
    assert_eq!(
        rotate(&*store, rotation(1, app.id, 4, now)).await,
        RotateOutcome::Reused { user_id: alice.id }
    );
    assert!(!live(&*store, 4, now).await, "reuse inserts no successor");
    let later = now + Duration::seconds(1);
    assert!(
        !live(&*store, 3, later).await,
        "the family's access token is revoked"
    );
    assert_eq!(store.token_by_id(grandchild.id).await, Ok(None));
    assert_eq!(
        rotate(&*store, rotation(3, app.id, 5, later)).await,
        RotateOutcome::Unknown,
        "the family's live refresh token is revoked"
    );
    assert!(!live(&*store, 5, later).await);
    assert_eq!(
        rotate(&*store, rotation(1, app.id, 6, later)).await,
        RotateOutcome::Unknown,
        "a revoked family answers Unknown"
    );

    let (rec, _) = bearer(&*store, 9, later).await.expect("other family lives");
    assert_eq!(rec, other_family);
    assert_eq!(
        listed(&*store, &everything()).await,
        (1, vec![other_family.id])
    );
    rotated(&*store, rotation(9, app.id, 10, later)).await;
}

/// Twenty concurrent rotations of one refresh token at the same instant: exactly one wins,
/// every other one is a lost race, and only the winner's successor exists.
pub async fn concurrent_rotations_have_one_winner(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let app = create_app(&*store, "cli").await;
    let old = issue(&*store, app_token(alice.id, app.id, 1, t0())).await;
    let now = at(10_000);

    let mut tasks = Vec::new();
    for next in 30u8..50 {
        let store = Arc::clone(&store);
        let r = rotation(1, app.id, next, now);
        tasks.push(tokio::spawn(async move {
            (next, store.rotate_refresh(r, None).await)
        }));
    }
    let mut winners = Vec::new();
    let mut lost = 0;
    for task in tasks {
        let (next, outcome) = task.await.expect("rotation task panicked");
        match outcome.expect("rotate_refresh failed under concurrency") {
            RotateOutcome::Rotated(rec) => winners.push((next, *rec)),
            other => {
                assert_eq!(other, RotateOutcome::RaceLost, "every loser lost a race");
                lost += 1;
            }
        }
    }
    assert_eq!(winners.len(), 1, "exactly one rotation wins");
    assert_eq!(lost, 19);
    let (next, rec) = winners.pop().expect("winner");
    let (found, _) = bearer(&*store, next, now).await.expect("winner is live");
    assert_eq!(found, rec);
    for n in 30u8..50 {
        if n != next {
            assert!(!live(&*store, n, now).await, "loser {n} was stored");
        }
    }
    assert!(!live(&*store, 1, now).await);
    assert_eq!(store.token_by_id(old.id).await, Ok(None));
    assert_eq!(listed(&*store, &everything()).await, (1, vec![rec.id]));
    // The family was not revoked by the race.
    rotated(
        &*store,
        rotation(next, app.id, 60, now + Duration::seconds(5)),
    )
    .await;
}

/// The refresh token of a disabled user does not rotate (and is not consumed by trying).
pub async fn rotate_refresh_for_an_inactive_user_is_unknown(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let app = create_app(&*store, "cli").await;
    issue(&*store, app_token(alice.id, app.id, 1, t0())).await;
    store
        .update_user(alice.id, active(false), None)
        .await
        .expect("disable");
    let now = at(10_000);
    assert_eq!(
        rotate(&*store, rotation(1, app.id, 2, now)).await,
        RotateOutcome::Unknown
    );
    assert!(!live(&*store, 2, now).await);
    assert_eq!(
        rotate(&*store, rotation(99, app.id, 3, now)).await,
        RotateOutcome::Unknown,
        "no such refresh token"
    );
    // Refused, not consumed: once the user is enabled again it rotates.
    store
        .update_user(alice.id, active(true), None)
        .await
        .expect("enable");
    let later = now + Duration::minutes(5);
    let next = rotated(&*store, rotation(1, app.id, 4, later)).await;
    assert!(live(&*store, 4, later).await);
    assert_eq!(next.user_id, alice.id);
}

/// Revoking an application access token deletes it; its refresh token still rotates; the
/// same hash presented again is `Unknown`.
pub async fn revoke_access_token_by_hash_spares_its_refresh_token(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let app = create_app(&*store, "cli").await;
    let t = issue(&*store, app_token(alice.id, app.id, 1, t0())).await;
    let kept = issue(&*store, app_token(alice.id, app.id, 2, t0())).await;
    let now = at(10_000);

    assert_eq!(
        store
            .revoke_token_by_hash(&hash(1), app.id, now, None)
            .await,
        Ok(RevokeOutcome::Revoked { user_id: alice.id })
    );
    assert!(!live(&*store, 1, now).await);
    assert_eq!(store.token_by_id(t.id).await, Ok(None));
    assert_eq!(
        store
            .revoke_token_by_hash(&hash(1), app.id, now, None)
            .await,
        Ok(RevokeOutcome::Unknown)
    );
    assert!(live(&*store, 2, now).await, "other tokens untouched");
    let next = rotated(&*store, rotation(1, app.id, 3, now)).await;
    assert!(live(&*store, 3, now).await);
    assert_eq!(
        listed(&*store, &everything()).await,
        (2, vec![kept.id, next.id])
    );
}

/// Revoking a refresh token revokes it with its family's access tokens; presenting it again
/// is `Unknown`, and it no longer rotates.
pub async fn revoke_refresh_token_by_hash_kills_the_family(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let app = create_app(&*store, "cli").await;
    issue(&*store, app_token(alice.id, app.id, 1, t0())).await;
    let kept = issue(&*store, app_token(alice.id, app.id, 5, t0())).await;
    // A family with a rotated member: revoke its current refresh token.
    let now = at(10_000);
    let child = rotated(&*store, rotation(1, app.id, 2, now)).await;

    assert_eq!(
        store
            .revoke_token_by_hash(&refresh_hash(2), app.id, now, None)
            .await,
        Ok(RevokeOutcome::Revoked { user_id: alice.id })
    );
    assert!(
        !live(&*store, 2, now).await,
        "the family's access token dies"
    );
    assert_eq!(store.token_by_id(child.id).await, Ok(None));
    assert_eq!(
        rotate(&*store, rotation(2, app.id, 3, now)).await,
        RotateOutcome::Unknown
    );
    assert!(!live(&*store, 3, now).await);
    assert_eq!(
        store
            .revoke_token_by_hash(&refresh_hash(2), app.id, now, None)
            .await,
        Ok(RevokeOutcome::Unknown)
    );
    assert!(live(&*store, 5, now).await, "another family survives");
    assert_eq!(listed(&*store, &everything()).await, (1, vec![kept.id]));
}

/// A PAT, or another client's access or refresh token, is `WrongClient` and keeps working;
/// an unknown hash is `Unknown`.
pub async fn revoke_by_hash_refuses_pats_and_other_clients(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let app = create_app(&*store, "cli").await;
    let other = create_app(&*store, "other").await;
    issue(&*store, pat(alice.id, 1, t0())).await;
    issue(&*store, app_token(alice.id, other.id, 2, t0())).await;
    let now = at(10_000);

    assert_eq!(
        store
            .revoke_token_by_hash(&hash(1), app.id, now, None)
            .await,
        Ok(RevokeOutcome::WrongClient)
    );
    assert_eq!(
        store
            .revoke_token_by_hash(&hash(2), app.id, now, None)
            .await,
        Ok(RevokeOutcome::WrongClient)
    );
    assert_eq!(
        store
            .revoke_token_by_hash(&refresh_hash(2), app.id, now, None)
            .await,
        Ok(RevokeOutcome::WrongClient)
    );
    assert_eq!(
        store
            .revoke_token_by_hash(&hash(77), app.id, now, None)
            .await,
        Ok(RevokeOutcome::Unknown)
    );
    assert!(live(&*store, 1, now).await, "the PAT survives");
    assert!(
        live(&*store, 2, now).await,
        "the other client's token survives"
    );
    rotated(&*store, rotation(2, other.id, 3, now)).await;
    assert_eq!(listed(&*store, &everything()).await.0, 2);
}

/// Revoking a user's tokens counts the access tokens revoked and spares other users; without
/// `include_refresh` the refresh tokens still rotate, with it they are revoked too.
pub async fn revoke_user_tokens_counts_and_spares_other_users(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let bob = create(&*store, new_user("bob")).await;
    let app = create_app(&*store, "cli").await;
    issue(&*store, pat(alice.id, 1, t0())).await;
    let a2 = issue(&*store, app_token(alice.id, app.id, 2, t0())).await;
    let b = issue(&*store, pat(bob.id, 3, t0())).await;
    let b4 = issue(&*store, app_token(bob.id, app.id, 4, t0())).await;
    let now = at(10_000);

    assert_eq!(
        store.revoke_user_tokens(alice.id, false, now, None).await,
        Ok(2)
    );
    assert!(!live(&*store, 1, now).await);
    assert!(!live(&*store, 2, now).await);
    assert_eq!(store.token_by_id(a2.id).await, Ok(None));
    assert!(live(&*store, 3, now).await, "bob's tokens survive");
    assert!(live(&*store, 4, now).await);
    assert_eq!(
        store.revoke_user_tokens(alice.id, false, now, None).await,
        Ok(0)
    );

    // Without include_refresh, alice's refresh token still rotates; its successor is new and
    // valid (revocation is not a mark).
    let later = at(20_000);
    let s = rotated(&*store, rotation(2, app.id, 5, later)).await;
    assert!(live(&*store, 5, later).await);
    assert_eq!(
        listed(&*store, &everything()).await,
        (3, vec![b.id, b4.id, s.id])
    );

    assert_eq!(
        store.revoke_user_tokens(alice.id, true, later, None).await,
        Ok(1)
    );
    assert!(!live(&*store, 5, later).await);
    assert_eq!(
        rotate(&*store, rotation(5, app.id, 6, later)).await,
        RotateOutcome::Unknown,
        "include_refresh revokes the refresh tokens too"
    );
    assert!(!live(&*store, 6, later).await);
    assert!(live(&*store, 3, later).await);
    rotated(&*store, rotation(4, app.id, 7, later)).await;
    assert_eq!(
        store
            .revoke_user_tokens(UserId(bob.id.0 + 1000), true, later, None)
            .await,
        Ok(0),
        "a missing user has nothing to revoke"
    );
}

/// A system-wide revocation invalidates every access token that exists (and counts the live
/// ones), but not tokens created later; without `include_refresh` existing refresh tokens
/// still rotate, and their successors are valid.
pub async fn revoke_all_tokens_covers_only_existing_tokens(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let bob = create(&*store, new_user("bob")).await;
    let app = create_app(&*store, "cli").await;
    let first = issue(&*store, pat(alice.id, 1, t0())).await;
    issue(&*store, app_token(alice.id, app.id, 2, t0())).await;
    issue(&*store, pat(bob.id, 3, t0())).await;
    let gone = issue(&*store, pat(bob.id, 4, t0())).await;
    store.delete_token(gone.id, None).await.expect("delete");
    // Revoked already: not live, so not counted.
    issue(&*store, app_token(bob.id, app.id, 8, t0())).await;
    assert_eq!(
        store
            .revoke_token_by_hash(&hash(8), app.id, at(5_000), None)
            .await,
        Ok(RevokeOutcome::Revoked { user_id: bob.id })
    );
    let now = at(10_000);

    assert_eq!(store.revoke_all_tokens(false, now, None).await, Ok(3));
    for n in 1..=4 {
        assert!(!live(&*store, n, now).await, "token {n} after the mark");
    }
    // Revoked system-wide is revoked: no longer shown either.
    assert_eq!(listed(&*store, &everything()).await, (0, vec![]));
    assert_eq!(store.token_by_id(first.id).await, Ok(None));
    let later = at(20_000);
    let fresh = issue(&*store, pat(alice.id, 5, later)).await;
    let (rec, _) = bearer(&*store, 5, later)
        .await
        .expect("a later token is valid");
    assert_eq!(rec, fresh);
    let fresh_app = issue(&*store, app_token(bob.id, app.id, 6, later)).await;
    assert!(live(&*store, 6, later).await);
    assert_eq!(
        listed(&*store, &everything()).await,
        (2, vec![fresh.id, fresh_app.id])
    );
    assert!(fresh_app.has_refresh);

    assert_eq!(
        refresh_owner(&*store, 2).await,
        Some((app.id, alice.id, "read".to_owned())),
        "without include_refresh the refresh tokens are not covered"
    );
    let rotated_rec = rotated(&*store, rotation(2, app.id, 7, later)).await;
    let (rec, _) = bearer(&*store, 7, later)
        .await
        .expect("successor after the mark");
    assert_eq!(rec, rotated_rec);
    assert!(!live(&*store, 1, later).await, "the mark does not wear off");
    assert_ne!(fresh_app.id, rotated_rec.id);
}

/// With `include_refresh`, the refresh tokens that exist are covered too; those created later
/// are not.
pub async fn revoke_all_tokens_with_refresh_covers_refresh_tokens(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let app = create_app(&*store, "cli").await;
    issue(&*store, app_token(alice.id, app.id, 1, t0())).await;
    issue(&*store, app_token(alice.id, app.id, 2, t0())).await;
    let now = at(10_000);

    assert_eq!(store.revoke_all_tokens(true, now, None).await, Ok(2));
    let later = at(20_000);
    assert!(!live(&*store, 1, later).await);
    assert!(!live(&*store, 2, later).await);
    assert_eq!(refresh_owner(&*store, 2).await, None, "covered by the mark");
    assert_eq!(
        rotate(&*store, rotation(1, app.id, 3, later)).await,
        RotateOutcome::Unknown
    );
    assert!(!live(&*store, 3, later).await);

    issue(&*store, app_token(alice.id, app.id, 4, later)).await;
    assert!(live(&*store, 4, later).await);
    assert_eq!(
        refresh_owner(&*store, 4).await,
        Some((app.id, alice.id, "read".to_owned()))
    );
    let next = rotated(&*store, rotation(4, app.id, 5, at(30_000))).await;
    let (rec, _) = bearer(&*store, 5, at(30_000)).await.expect("live");
    assert_eq!(rec, next);
}

/// Only users with an external account lose their access tokens; the count says how many.
pub async fn revoke_external_users_tokens_hits_only_external_users(store: Arc<dyn Store>) {
    let mut ext = new_user("ext");
    ext.external_account = Some("ldap".into());
    ext.password_hash = None;
    let ext = create(&*store, ext).await;
    let local = create(&*store, new_user("local")).await;
    let app = create_app(&*store, "cli").await;
    issue(&*store, pat(ext.id, 1, t0())).await;
    issue(&*store, app_token(ext.id, app.id, 2, t0())).await;
    let l3 = issue(&*store, pat(local.id, 3, t0())).await;
    let l4 = issue(&*store, app_token(local.id, app.id, 4, t0())).await;
    let now = at(10_000);

    assert_eq!(store.revoke_external_users_tokens(now).await, Ok(2));
    assert!(!live(&*store, 1, now).await);
    assert!(!live(&*store, 2, now).await);
    assert!(live(&*store, 3, now).await);
    assert!(live(&*store, 4, now).await);
    assert_eq!(
        listed(&*store, &everything()).await,
        (2, vec![l3.id, l4.id])
    );
    assert_eq!(store.revoke_external_users_tokens(now).await, Ok(0));
    // Tokens issued afterwards are not affected (this is not a mark).
    issue(&*store, pat(ext.id, 5, at(20_000))).await;
    assert!(live(&*store, 5, at(20_000)).await);
}

/// The purge removes expired access tokens, expired refresh tokens and used or expired codes,
/// and counts them; a refresh token outliving its purged access token still rotates, and a
/// consumed (not expired) refresh token is kept, so its reuse is still detected.
pub async fn purge_removes_expired_rows_and_keeps_reuse_detection(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let bob = create(&*store, new_user("bob")).await;
    let app = create_app(&*store, "cli").await;
    let now = at(2 * HOUR);

    let mut old = pat(alice.id, 1, t0());
    old.expires_at = at(HOUR);
    issue(&*store, old).await; // 1 row
    let kept = issue(&*store, pat(alice.id, 2, t0())).await;
    let mut short = app_token(alice.id, app.id, 3, t0());
    short.expires_at = at(HOUR); // access row goes, refresh (30 days) stays: 1 row
    issue(&*store, short).await;
    let mut both = app_token(alice.id, app.id, 4, t0());
    both.expires_at = at(HOUR);
    both.refresh = Some(NewRefreshToken {
        hash: refresh_hash(4),
        expires_at: at(HOUR + HOUR / 2),
    }); // 2 rows
    issue(&*store, both).await;
    let code = |n: u8, expires: i64| NewAuthCode {
        hash: hash(n),
        application_id: app.id,
        user_id: alice.id,
        redirect_uri: "https://cli.example.com/cb".into(),
        scope: "read".into(),
        code_challenge: None,
        code_challenge_method: None,
        created_at: t0(),
        expires_at: at(expires),
    };
    store
        .create_auth_code(code(50, HOUR))
        .await
        .expect("expired code"); // 1 row
    store
        .create_auth_code(code(51, 10 * HOUR))
        .await
        .expect("used code"); // 1 row
    store
        .create_auth_code(code(52, 10 * HOUR))
        .await
        .expect("live code");
    assert!(
        store
            .consume_auth_code(&hash(51), app.id, at(1_000))
            .await
            .expect("consume")
            .is_some()
    );
    let b = issue(&*store, pat(bob.id, 6, t0())).await;

    assert_eq!(store.purge_expired_tokens(now).await, Ok(6));
    assert_eq!(store.purge_expired_tokens(now).await, Ok(0));
    assert_eq!(
        listed(&*store, &everything()).await,
        (2, vec![kept.id, b.id]),
        "expired access tokens are gone from the listing too"
    );
    assert!(
        store
            .consume_auth_code(&hash(52), app.id, now)
            .await
            .expect("consume")
            .is_some(),
        "a live code survives the purge"
    );
    assert_eq!(
        store.purge_expired_tokens(now).await,
        Ok(1),
        "a used code goes at the next purge"
    );
    assert_eq!(
        rotate(&*store, rotation(4, app.id, 7, now)).await,
        RotateOutcome::Unknown,
        "the expired refresh token was purged"
    );

    // The refresh token outlived its access token and the purge: it still rotates.
    let next = rotated(&*store, rotation(3, app.id, 8, now)).await;
    assert!(live(&*store, 8, now).await);
    // Consumed but not expired: the purge keeps it, so a late replay is still reuse.
    let replay = now + Duration::minutes(2);
    assert_eq!(
        store.purge_expired_tokens(now + Duration::minutes(1)).await,
        Ok(0),
        "a consumed refresh token is kept until its deadline"
    );
    assert_eq!(
        rotate(&*store, rotation(3, app.id, 9, replay)).await,
        RotateOutcome::Reused { user_id: alice.id }
    );
    assert!(!live(&*store, 8, replay).await);
    assert_eq!(store.token_by_id(next.id).await, Ok(None));

    // Revoked rows go as well (how many rows a revocation left behind is the backend's
    // business, so only the end state is checked).
    store
        .revoke_user_tokens(bob.id, true, replay, None)
        .await
        .expect("revoke bob");
    store
        .purge_expired_tokens(replay)
        .await
        .expect("purge revoked");
    assert_eq!(store.purge_expired_tokens(replay).await, Ok(0));
    assert!(!live(&*store, 6, replay).await);
    assert!(live(&*store, 2, replay).await);
    assert_eq!(listed(&*store, &everything()).await, (1, vec![kept.id]));
}

/// The owner of refresh token number `n`, if it is unconsumed and unrevoked.
async fn refresh_owner(store: &dyn Store, n: u8) -> Option<(ApplicationId, UserId, String)> {
    store
        .refresh_token_owner(&refresh_hash(n))
        .await
        .expect("refresh_token_owner failed")
}

/// The owner lookup answers for an unconsumed, unrevoked refresh token whatever its expiry,
/// with its client, owner and current scope; consumed, revoked (directly, with its token, by
/// the user's revocation or by reuse) and unknown ones are `None`.
pub async fn refresh_token_owner_sees_only_usable_refresh_tokens(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let bob = create(&*store, new_user("bob")).await;
    let app = create_app(&*store, "cli").await;
    let other = create_app(&*store, "other").await;
    let s = &*store;
    let owner = |app: ApplicationId, user: UserId, scope: &str| Some((app, user, scope.to_owned()));

    let mut wide = app_token(alice.id, app.id, 1, t0());
    wide.scope = "read write".into();
    issue(s, wide).await;
    assert_eq!(
        refresh_owner(s, 1).await,
        owner(app.id, alice.id, "read write")
    );
    let mut short = app_token(bob.id, other.id, 2, t0());
    short.refresh = Some(NewRefreshToken {
        hash: refresh_hash(2),
        expires_at: at(HOUR),
    });
    issue(s, short).await;
    assert_eq!(
        refresh_owner(s, 2).await,
        owner(other.id, bob.id, "read"),
        "expiry does not matter"
    );
    issue(s, pat(alice.id, 10, t0())).await;
    assert_eq!(
        store.refresh_token_owner(&hash(1)).await,
        Ok(None),
        "an access token hash is not a refresh token"
    );
    assert_eq!(
        store.refresh_token_owner(&hash(10)).await,
        Ok(None),
        "a PAT"
    );
    assert_eq!(refresh_owner(s, 99).await, None, "unknown");

    // Rotation consumes the presented token; the successor carries the narrowed scope, and
    // an empty successor scope keeps it.
    let mut r = rotation(1, app.id, 3, at(10_000));
    r.successor.scope = "read".into();
    rotated(s, r).await;
    assert_eq!(refresh_owner(s, 1).await, None, "consumed");
    assert_eq!(refresh_owner(s, 3).await, owner(app.id, alice.id, "read"));
    let fourth = rotated(s, rotation(3, app.id, 4, at(20_000))).await;
    assert_eq!(refresh_owner(s, 4).await, owner(app.id, alice.id, "read"));
    // Deleting the access token revokes the refresh token issued with it.
    store.delete_token(fourth.id, None).await.expect("delete");
    assert_eq!(refresh_owner(s, 4).await, None);

    // Revoking the refresh token by hash hides it; revoking only the access token does not.
    issue(s, app_token(alice.id, app.id, 5, t0())).await;
    issue(s, app_token(alice.id, app.id, 6, t0())).await;
    let now = at(30_000);
    assert_eq!(
        store
            .revoke_token_by_hash(&refresh_hash(5), app.id, now, None)
            .await,
        Ok(RevokeOutcome::Revoked { user_id: alice.id })
    );
    assert_eq!(refresh_owner(s, 5).await, None);
    assert_eq!(
        store
            .revoke_token_by_hash(&hash(6), app.id, now, None)
            .await,
        Ok(RevokeOutcome::Revoked { user_id: alice.id })
    );
    assert_eq!(refresh_owner(s, 6).await, owner(app.id, alice.id, "read"));

    // Reuse revokes the family, its live refresh token included.
    issue(s, app_token(alice.id, app.id, 7, t0())).await;
    rotated(s, rotation(7, app.id, 8, now)).await;
    assert_eq!(
        rotate(s, rotation(7, app.id, 9, now + Duration::minutes(1))).await,
        RotateOutcome::Reused { user_id: alice.id }
    );
    assert_eq!(refresh_owner(s, 8).await, None);

    // A user's revocation hides the refresh tokens only with include_refresh.
    assert_eq!(
        store
            .revoke_user_tokens(alice.id, false, now, None)
            .await
            .map(|_| ()),
        Ok(())
    );
    assert_eq!(refresh_owner(s, 6).await, owner(app.id, alice.id, "read"));
    assert_eq!(
        store
            .revoke_user_tokens(alice.id, true, now, None)
            .await
            .map(|_| ()),
        Ok(())
    );
    assert_eq!(refresh_owner(s, 6).await, None);
    assert_eq!(
        refresh_owner(s, 2).await,
        owner(other.id, bob.id, "read"),
        "other users untouched"
    );
}

/// Deleting a user deletes its tokens (access and refresh) and only its.
pub async fn delete_user_cascades_to_tokens(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let bob = create(&*store, new_user("bob")).await;
    let app = create_app(&*store, "cli").await;
    let a1 = issue(&*store, pat(alice.id, 1, t0())).await;
    let a2 = issue(&*store, app_token(alice.id, app.id, 2, t0())).await;
    let b = issue(&*store, app_token(bob.id, app.id, 3, t0())).await;
    let now = at(10_000);

    assert_eq!(store.delete_user(alice.id, None).await, Ok(()));
    assert!(!live(&*store, 1, now).await);
    assert!(!live(&*store, 2, now).await);
    assert_eq!(store.token_by_id(a1.id).await, Ok(None));
    assert_eq!(store.token_by_id(a2.id).await, Ok(None));
    assert_eq!(
        rotate(&*store, rotation(2, app.id, 4, now)).await,
        RotateOutcome::Unknown
    );
    assert!(!live(&*store, 4, now).await);
    assert_eq!(listed(&*store, &everything()).await, (1, vec![b.id]));
    let (rec, user) = bearer(&*store, 3, now).await.expect("bob's token");
    assert_eq!(rec, b);
    assert_eq!(user, bob);
    rotated(&*store, rotation(3, app.id, 5, now)).await;
    // The hashes are free again for a new user.
    let again = create(&*store, new_user("alice")).await;
    let t = issue(&*store, pat(again.id, 1, now)).await;
    assert_ne!(t.id, a1.id);
    assert!(live(&*store, 1, now).await);
}

/// Expiry is checked before consumption: a spent refresh token presented at or after its own
/// deadline is only `Expired` and revokes nothing (`docs/security.md`, "Refresh rotation",
/// retention), so the successor keeps working; before its deadline the same replay is reuse.
pub async fn a_spent_token_past_its_deadline_is_expired_not_reuse(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let app = create_app(&*store, "cli").await;
    let mut new = app_token(alice.id, app.id, 1, t0());
    new.refresh = Some(NewRefreshToken {
        hash: refresh_hash(1),
        expires_at: at(HOUR),
    });
    issue(&*store, new).await;
    let next = rotated(&*store, rotation(1, app.id, 2, at(10_000))).await;

    for now in [at(HOUR), at(HOUR + 1), at(2 * HOUR)] {
        assert_eq!(
            rotate(&*store, rotation(1, app.id, 3, now)).await,
            RotateOutcome::Expired,
            "spent and expired at {now}"
        );
    }
    let later = at(2 * HOUR);
    let (rec, _) = bearer(&*store, 2, later)
        .await
        .expect("the successor survives");
    assert_eq!(rec, next);
    assert!(!live(&*store, 3, later).await);
    assert_eq!(
        refresh_owner(&*store, 2).await,
        Some((app.id, alice.id, "read".to_owned())),
        "the successor's refresh token survives too"
    );
    // One millisecond before its deadline the same replay is reuse.
    assert_eq!(
        rotate(&*store, rotation(1, app.id, 4, at(HOUR - 1))).await,
        RotateOutcome::Reused { user_id: alice.id }
    );
    assert!(!live(&*store, 2, later).await);
}

/// The family cap (`docs/security.md`, "Lifetime") bounds every successor's stored deadline by the
/// family's creation (its first token's) plus the cap; an earlier nominal deadline is kept; a zero
/// cap caps nothing.
pub async fn the_family_cap_bounds_successors(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let app = create_app(&*store, "cli").await;
    let capped = |presented: u8, next: u8, now: OffsetDateTime| Rotation {
        family_max_lifetime: Duration::hours(24),
        ..rotation(presented, app.id, next, now)
    };
    let cap = t0() + Duration::hours(24);
    // The family starts with its first token, at t0.
    issue(&*store, app_token(alice.id, app.id, 1, t0())).await;
    rotated(&*store, capped(1, 2, at(10 * HOUR))).await;
    // Successor 2 asked for 30 days but was stored with t0 + 24 h: even a rotation that
    // passes no cap finds it expired there.
    assert_eq!(
        rotate(&*store, rotation(2, app.id, 3, cap)).await,
        RotateOutcome::Expired
    );
    assert_eq!(
        rotate(&*store, capped(2, 3, cap)).await,
        RotateOutcome::Expired
    );
    assert!(
        refresh_owner(&*store, 2).await.is_some(),
        "Expired revokes nothing"
    );
    // Before the cap it rotates, and the cap still holds one generation later.
    let early = cap - Duration::hours(1);
    rotated(&*store, capped(2, 4, early)).await;
    assert_eq!(
        rotate(&*store, rotation(4, app.id, 5, cap)).await,
        RotateOutcome::Expired,
        "the cap counts from the family's creation, not from the rotation"
    );
    assert!(live(&*store, 4, cap).await);
    assert!(refresh_owner(&*store, 4).await.is_some());

    // A nominal deadline before the cap is kept.
    issue(&*store, app_token(alice.id, app.id, 10, t0())).await;
    let soon = at(HOUR) + Duration::minutes(10);
    let mut r = capped(10, 11, at(HOUR));
    if let Some(refresh) = r.successor.refresh.as_mut() {
        refresh.expires_at = soon;
    }
    rotated(&*store, r).await;
    assert_eq!(
        rotate(&*store, capped(11, 12, soon)).await,
        RotateOutcome::Expired
    );
    rotated(&*store, capped(11, 12, soon - Duration::milliseconds(1))).await;

    // Without a cap the successor keeps its 30 days.
    issue(&*store, app_token(alice.id, app.id, 20, t0())).await;
    rotated(&*store, rotation(20, app.id, 21, at(HOUR))).await;
    rotated(&*store, rotation(21, app.id, 22, cap + Duration::days(1))).await;
    assert!(live(&*store, 22, cap + Duration::days(1)).await);
}

/// A bulk revocation writes its activity entry in its own transaction, with the number of
/// tokens it covered; one that fails writes none.
pub async fn bulk_revocations_write_activity(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let bob = create(&*store, new_user("bob")).await;
    issue(&*store, pat(alice.id, 1, t0())).await;
    issue(&*store, pat(alice.id, 2, t0())).await;
    issue(&*store, pat(bob.id, 3, t0())).await;
    let kind = "o_auth2_access_token";

    let mut by_user = activity(
        "delete",
        kind,
        None,
        Some(bob.id),
        json!({"revoked": 0, "user": "alice", "include_refresh": false}),
    );
    by_user.timestamp = at(1_000);
    assert_eq!(
        store
            .revoke_user_tokens(alice.id, false, at(1_000), Some(by_user.clone()))
            .await,
        Ok(2)
    );

    let mut everything = activity(
        "delete",
        kind,
        None,
        None,
        json!({"revoked": 0, "user": "all", "include_refresh": true}),
    );
    everything.timestamp = at(2_000);
    assert_eq!(
        store
            .revoke_all_tokens(true, at(2_000), Some(everything.clone()))
            .await,
        Ok(1)
    );

    assert_eq!(
        all_activity(&*store).await,
        vec![everything.with_revoked(1), by_user.with_revoked(2)]
    );
}
