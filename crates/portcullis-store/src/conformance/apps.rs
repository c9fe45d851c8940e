//! Checks of [`AppStore`](crate::AppStore): applications (unique names per organization,
//! listing, patches, the cascade on delete) and one-time authorization codes.

use super::{activity, at, create, create_app, hash, new_app, new_user, t0};
use crate::{
    ActivityQuery, ApplicationField, ApplicationPatch, ApplicationQuery, ApplicationRecord,
    AuthCodeRecord, NewAccessToken, NewActivity, NewAuthCode, NewRefreshToken, RotateOutcome,
    Rotation, Store, StoreError,
};
use portcullis_core::ids::{ApplicationId, UserId};
use portcullis_core::token::TokenHash;
use serde_json::json;
use std::sync::Arc;
use time::Duration;
use time::format_description::well_known::Rfc3339;

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

/// A query with `filters`, id order and a page large enough for every check.
fn query(filters: &[(ApplicationField, &str)]) -> ApplicationQuery {
    ApplicationQuery {
        filters: filters.iter().map(|(f, v)| (*f, (*v).to_owned())).collect(),
        order: None,
        limit: 100,
        offset: 0,
    }
}

/// Ids of a listing, in order, with its total.
async fn listed(store: &dyn Store, q: &ApplicationQuery) -> (i64, Vec<ApplicationId>) {
    let page = store
        .list_applications(q)
        .await
        .expect("list_applications failed");
    (page.total, page.items.into_iter().map(|a| a.id).collect())
}

/// An authorization code `n` of `app` for `user`, valid until `expires_ms`.
fn code(n: u8, app: ApplicationId, user: UserId, expires_ms: i64) -> NewAuthCode {
    NewAuthCode {
        hash: hash(n),
        application_id: app,
        user_id: user,
        redirect_uri: format!("https://app.example.com/cb?n={n}"),
        scope: "read write".into(),
        code_challenge: Some(format!(
            "challenge-{n}-E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw"
        )),
        code_challenge_method: Some("S256".into()),
        created_at: t0(),
        expires_at: at(expires_ms),
    }
}

/// Consumes code `n` as `client` at `now_ms`.
async fn consume(
    store: &dyn Store,
    n: u8,
    client: ApplicationId,
    now_ms: i64,
) -> Option<AuthCodeRecord> {
    store
        .consume_auth_code(&hash(n), client, at(now_ms))
        .await
        .expect("consume_auth_code failed")
}

/// Every field of an application reads back as given, by id and by exact client id; the
/// create entry gets the new id; public clients have no secret.
pub async fn create_application_round_trips_and_looks_up(store: Arc<dyn Store>) {
    let admin = create(&*store, new_user("admin")).await;
    let mut new = new_app("web", Some(1));
    new.created_at = at(1_000);
    new.skip_authorization = true;
    new.authorization_grant_type = "authorization-code".into();
    new.redirect_uris = "https://a.example.com/cb https://b.example.com/cb".into();
    let entry = activity(
        "create",
        "o_auth2_application",
        None,
        Some(admin.id),
        json!({"name": "web"}),
    );
    let web = store
        .create_application(new.clone(), Some(entry.clone()))
        .await
        .expect("create_application");
    assert!(web.id.0 > 0);
    assert_eq!(
        web,
        ApplicationRecord {
            id: web.id,
            name: "web".into(),
            description: "about web".into(),
            client_id: new.client_id.clone(),
            secret_hash: new.secret_hash,
            client_type: "confidential".into(),
            redirect_uris: "https://a.example.com/cb https://b.example.com/cb".into(),
            authorization_grant_type: "authorization-code".into(),
            skip_authorization: true,
            organization: Some(1),
            created_at: at(1_000),
            modified_at: at(1_000),
        }
    );

    let mut public = new_app("spa", None);
    public.client_type = "public".into();
    public.secret_hash = None;
    let spa = store
        .create_application(public, None)
        .await
        .expect("create public");
    assert_ne!(spa.id, web.id);
    assert_eq!(spa.secret_hash, None);
    assert_eq!(spa.client_type, "public");
    assert_eq!(spa.organization, None);

    assert_eq!(store.application_by_id(web.id).await, Ok(Some(web.clone())));
    assert_eq!(store.application_by_id(spa.id).await, Ok(Some(spa.clone())));
    assert_eq!(
        store
            .application_by_id(ApplicationId(spa.id.0 + 1000))
            .await,
        Ok(None)
    );
    assert_eq!(
        store.application_by_client_id(&web.client_id).await,
        Ok(Some(web.clone()))
    );
    assert_eq!(
        store.application_by_client_id(&spa.client_id).await,
        Ok(Some(spa))
    );
    // Exact match only.
    let upper = web.client_id.to_uppercase();
    assert_eq!(store.application_by_client_id(&upper).await, Ok(None));
    let prefix = web.client_id.get(..10).expect("prefix").to_owned();
    assert_eq!(store.application_by_client_id(&prefix).await, Ok(None));
    assert_eq!(store.application_by_client_id("").await, Ok(None));

    assert_eq!(
        all_activity(&*store).await,
        vec![NewActivity {
            object1_id: Some(web.id.0),
            ..entry
        }]
    );
}

/// A name is unique per organization value: two applications without an organization
/// conflict, the same name in another organization does not. Refusals change nothing and
/// write no activity.
pub async fn application_name_is_unique_per_organization(store: Arc<dyn Store>) {
    let first = store
        .create_application(new_app("web", None), None)
        .await
        .expect("first");
    let entry = || {
        Some(activity(
            "create",
            "o_auth2_application",
            None,
            None,
            json!({}),
        ))
    };

    let mut again = new_app("web", None);
    again.client_id = "another-client-id-000000000000000000000".into();
    assert_eq!(
        store.create_application(again, entry()).await.map(|a| a.id),
        Err(StoreError::Conflict("name".into())),
        "two applications without organization"
    );
    let in_one = store
        .create_application(new_app("web", Some(1)), None)
        .await
        .expect("same name, organization 1");
    let mut dup = new_app("web", Some(1));
    dup.client_id = "yet-another-client-id-00000000000000000".into();
    assert_eq!(
        store.create_application(dup, entry()).await.map(|a| a.id),
        Err(StoreError::Conflict("name".into())),
        "same name, same organization"
    );
    let in_two = store
        .create_application(new_app("web", Some(2)), None)
        .await
        .expect("same name, organization 2");
    // Names are compared exactly.
    store
        .create_application(new_app("Web", None), None)
        .await
        .expect("different case is a different name");

    assert_eq!(
        listed(&*store, &query(&[(ApplicationField::Name, "web")])).await,
        (3, vec![first.id, in_one.id, in_two.id])
    );
    assert_eq!(store.application_by_id(first.id).await, Ok(Some(first)));
    assert_eq!(all_activity(&*store).await, vec![]);
}

/// A fixture row: name, client type, skip authorization, organization, grant, created ms.
type AppRow = (
    &'static str,
    &'static str,
    bool,
    Option<i64>,
    &'static str,
    i64,
);

/// Filters match exactly (booleans in Django's spellings, `organization=null` matches none),
/// unparseable values match nothing, order ties break by id, `total` ignores the page.
pub async fn list_applications_filters_orders_and_pages(store: Arc<dyn Store>) {
    // (name, client type, skip, organization, grant, created ms) in id order.
    let rows: [AppRow; 5] = [
        ("delta", "confidential", false, Some(1), "password", 500),
        ("alpha", "public", true, None, "authorization-code", 100),
        (
            "charlie",
            "confidential",
            false,
            Some(1),
            "authorization-code",
            300,
        ),
        ("bravo", "public", false, Some(2), "password", 200),
        ("alpha", "confidential", true, Some(1), "password", 100),
    ];
    let mut apps: Vec<ApplicationRecord> = Vec::new();
    for (name, client_type, skip, org, grant, created) in rows {
        let mut new = new_app(name, org);
        new.client_type = client_type.into();
        if client_type == "public" {
            new.secret_hash = None;
        }
        new.skip_authorization = skip;
        new.authorization_grant_type = grant.into();
        new.created_at = at(created);
        apps.push(
            store
                .create_application(new, None)
                .await
                .expect("create_application"),
        );
    }
    let id = |n: usize| {
        apps.get(n.wrapping_sub(1))
            .map(|a| a.id)
            .expect("fixture application")
    };
    let ids = |total: i64, ns: &[usize]| (total, ns.iter().map(|&n| id(n)).collect::<Vec<_>>());
    let s = &*store;
    use ApplicationField as F;

    assert_eq!(listed(s, &query(&[])).await, ids(5, &[1, 2, 3, 4, 5]));
    let page = store.list_applications(&query(&[])).await.expect("list");
    assert_eq!(page.items, apps, "listed records equal the created ones");

    assert_eq!(
        listed(s, &query(&[(F::Name, "alpha")])).await,
        ids(2, &[2, 5])
    );
    assert_eq!(listed(s, &query(&[(F::Name, "ALPHA")])).await, ids(0, &[]));
    assert_eq!(
        listed(s, &query(&[(F::Description, "about bravo")])).await,
        ids(1, &[4])
    );
    assert_eq!(
        listed(s, &query(&[(F::ClientType, "public")])).await,
        ids(2, &[2, 4])
    );
    assert_eq!(
        listed(s, &query(&[(F::AuthorizationGrantType, "password")])).await,
        ids(3, &[1, 4, 5])
    );
    for yes in ["true", "True", "1"] {
        assert_eq!(
            listed(s, &query(&[(F::SkipAuthorization, yes)])).await,
            ids(2, &[2, 5]),
            "skip_authorization={yes}"
        );
    }
    for no in ["false", "False", "0"] {
        assert_eq!(
            listed(s, &query(&[(F::SkipAuthorization, no)])).await,
            ids(3, &[1, 3, 4]),
            "skip_authorization={no}"
        );
    }
    assert_eq!(
        listed(s, &query(&[(F::SkipAuthorization, "yes")])).await,
        ids(0, &[])
    );
    assert_eq!(
        listed(s, &query(&[(F::Organization, "1")])).await,
        ids(3, &[1, 3, 5])
    );
    assert_eq!(
        listed(s, &query(&[(F::Organization, "null")])).await,
        ids(1, &[2])
    );
    assert_eq!(
        listed(s, &query(&[(F::Organization, "abc")])).await,
        ids(0, &[])
    );
    let third = id(3).0.to_string();
    assert_eq!(listed(s, &query(&[(F::Id, &third)])).await, ids(1, &[3]));
    assert_eq!(listed(s, &query(&[(F::Id, "x")])).await, ids(0, &[]));
    let fourth = apps.get(3).expect("bravo");
    assert_eq!(
        listed(s, &query(&[(F::ClientId, &fourth.client_id)])).await,
        ids(1, &[4])
    );
    assert_eq!(
        listed(s, &query(&[(F::RedirectUris, &fourth.redirect_uris)])).await,
        ids(1, &[4])
    );
    let created = at(100).format(&Rfc3339).expect("format");
    assert_eq!(
        listed(s, &query(&[(F::Created, &created)])).await,
        ids(2, &[2, 5])
    );
    assert_eq!(
        listed(s, &query(&[(F::Modified, &created)])).await,
        ids(2, &[2, 5])
    );
    assert_eq!(
        listed(s, &query(&[(F::Name, "alpha"), (F::Organization, "null")])).await,
        ids(1, &[2])
    );
    assert_eq!(
        listed(
            s,
            &query(&[
                (F::Name, "alpha"),
                (F::ClientType, "public"),
                (F::Organization, "1")
            ])
        )
        .await,
        ids(0, &[])
    );

    let ordered = |field: ApplicationField, descending: bool| ApplicationQuery {
        order: Some((field, descending)),
        ..query(&[])
    };
    let cases: [(ApplicationField, bool, [usize; 5]); 5] = [
        (F::Id, true, [5, 4, 3, 2, 1]),
        (F::Name, false, [2, 5, 4, 3, 1]),
        (F::Name, true, [1, 3, 4, 2, 5]),
        (F::Created, false, [2, 5, 4, 3, 1]),
        (F::Created, true, [1, 3, 4, 2, 5]),
    ];
    for (field, descending, expected) in cases {
        assert_eq!(
            listed(s, &ordered(field, descending)).await,
            ids(5, &expected),
            "order by {field:?} descending={descending}"
        );
    }
    let mut page = ordered(F::Name, true);
    page.limit = 2;
    page.offset = 1;
    assert_eq!(listed(s, &page).await, ids(5, &[3, 4]));
    page.offset = 5;
    assert_eq!(listed(s, &page).await, ids(5, &[]));
    let mut filtered = ordered(F::Name, true);
    filtered.filters = vec![(F::Organization, "1".into())];
    filtered.limit = 1;
    filtered.offset = 1;
    assert_eq!(listed(s, &filtered).await, ids(3, &[3]));
}

/// A patch changes the given fields only and stamps `modified_at`; switching to public clears
/// the secret, switching to confidential stores the new one; names stay unique per
/// organization; a missing application is `NotFound`.
pub async fn update_application_applies_the_patch(store: Arc<dyn Store>) {
    let before = store
        .create_application(new_app("web", None), None)
        .await
        .expect("web");
    let other = store
        .create_application(new_app("cli", Some(1)), None)
        .await
        .expect("cli");

    let after = store
        .update_application(
            before.id,
            ApplicationPatch {
                name: Some("portal".into()),
                description: Some("the portal".into()),
                redirect_uris: Some("https://portal.example.com/cb".into()),
                skip_authorization: Some(true),
                organization: Some(Some(2)),
                ..ApplicationPatch::default()
            },
            at(5_000),
            None,
        )
        .await
        .expect("update");
    assert_eq!(
        after,
        ApplicationRecord {
            name: "portal".into(),
            description: "the portal".into(),
            redirect_uris: "https://portal.example.com/cb".into(),
            skip_authorization: true,
            organization: Some(2),
            modified_at: at(5_000),
            ..before.clone()
        }
    );
    assert_eq!(
        store.application_by_id(before.id).await,
        Ok(Some(after.clone()))
    );

    let public = store
        .update_application(
            before.id,
            ApplicationPatch {
                client_type: Some("public".into()),
                organization: Some(None),
                ..ApplicationPatch::default()
            },
            at(6_000),
            None,
        )
        .await
        .expect("to public");
    assert_eq!(
        public,
        ApplicationRecord {
            client_type: "public".into(),
            secret_hash: None,
            organization: None,
            modified_at: at(6_000),
            ..after.clone()
        }
    );

    let secret = TokenHash::of("pcl_cs_new-secret");
    let confidential = store
        .update_application(
            before.id,
            ApplicationPatch {
                client_type: Some("confidential".into()),
                secret_hash: Some(secret),
                ..ApplicationPatch::default()
            },
            at(7_000),
            None,
        )
        .await
        .expect("to confidential");
    assert_eq!(confidential.client_type, "confidential");
    assert_eq!(confidential.secret_hash, Some(secret));
    assert_eq!(confidential.modified_at, at(7_000));
    assert_eq!(
        confidential.client_id, before.client_id,
        "the client id never changes"
    );
    assert_eq!(confidential.created_at, before.created_at);
    assert_eq!(
        store.application_by_client_id(&before.client_id).await,
        Ok(Some(confidential.clone()))
    );

    // Keeping one's own name is not a conflict.
    let same = store
        .update_application(
            before.id,
            ApplicationPatch {
                name: Some("portal".into()),
                ..ApplicationPatch::default()
            },
            at(8_000),
            None,
        )
        .await
        .expect("same name");
    assert_eq!(same.name, "portal");

    // "cli" lives in organization 1: renaming "portal" (no organization) to it is fine ...
    let renamed = store
        .update_application(
            before.id,
            ApplicationPatch {
                name: Some("cli".into()),
                ..ApplicationPatch::default()
            },
            at(9_000),
            None,
        )
        .await
        .expect("same name, other organization");
    // ... but moving it into organization 1 collides.
    assert_eq!(
        store
            .update_application(
                before.id,
                ApplicationPatch {
                    organization: Some(Some(1)),
                    description: Some("x".into()),
                    ..ApplicationPatch::default()
                },
                at(10_000),
                None,
            )
            .await,
        Err(StoreError::Conflict("name".into()))
    );
    assert_eq!(
        store
            .update_application(
                other.id,
                ApplicationPatch {
                    organization: Some(None),
                    ..ApplicationPatch::default()
                },
                at(10_000),
                None,
            )
            .await,
        Err(StoreError::Conflict("name".into()))
    );
    assert_eq!(store.application_by_id(before.id).await, Ok(Some(renamed)));
    assert_eq!(
        store.application_by_id(other.id).await,
        Ok(Some(other.clone()))
    );
    assert_eq!(
        store
            .update_application(
                ApplicationId(other.id.0 + 1000),
                ApplicationPatch::default(),
                at(10_000),
                None
            )
            .await,
        Err(StoreError::NotFound)
    );

    let entry = activity(
        "update",
        "o_auth2_application",
        Some(other.id.0),
        None,
        json!({"description": ["about cli", "new"]}),
    );
    store
        .update_application(
            other.id,
            ApplicationPatch {
                description: Some("new".into()),
                ..ApplicationPatch::default()
            },
            at(11_000),
            Some(entry.clone()),
        )
        .await
        .expect("update with activity");
    assert_eq!(all_activity(&*store).await, vec![entry]);
}

/// Deleting an application deletes its tokens, refresh tokens and codes (and only its); a
/// second delete is `NotFound`.
pub async fn delete_application_cascades_to_tokens_and_codes(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let doomed = create_app(&*store, "doomed").await;
    let kept = create_app(&*store, "kept").await;
    let token = |n: u8, app: ApplicationId| NewAccessToken {
        hash: hash(n),
        user_id: alice.id,
        application_id: Some(app),
        scope: "read".into(),
        description: String::new(),
        created_at: t0(),
        expires_at: at(36_000_000),
        refresh: Some(NewRefreshToken {
            hash: hash(n.wrapping_add(100)),
            expires_at: at(360_000_000),
        }),
        from_code: None,
    };
    let t = store
        .create_token(token(1, doomed.id), None)
        .await
        .expect("token of doomed");
    let k = store
        .create_token(token(2, kept.id), None)
        .await
        .expect("token of kept");
    store
        .create_auth_code(code(10, doomed.id, alice.id, 60_000))
        .await
        .expect("code of doomed");
    store
        .create_auth_code(code(11, kept.id, alice.id, 60_000))
        .await
        .expect("code of kept");
    let now = at(1_000);

    let entry = activity(
        "delete",
        "o_auth2_application",
        Some(doomed.id.0),
        Some(alice.id),
        json!({"name": "doomed"}),
    );
    assert_eq!(
        store
            .delete_application(doomed.id, Some(entry.clone()))
            .await,
        Ok(())
    );
    assert_eq!(store.application_by_id(doomed.id).await, Ok(None));
    assert_eq!(
        store.application_by_client_id(&doomed.client_id).await,
        Ok(None)
    );
    assert_eq!(store.token_for_bearer(&hash(1), now).await, Ok(None));
    assert_eq!(store.token_by_id(t.id).await, Ok(None));
    let rotation = Rotation {
        presented: hash(101),
        client: doomed.id,
        successor: token(3, doomed.id),
        now,
        race_tolerance: Duration::seconds(1),
        family_max_lifetime: Duration::ZERO,
    };
    assert_eq!(
        store.rotate_refresh(rotation, None).await,
        Ok(RotateOutcome::Unknown)
    );
    assert_eq!(store.token_for_bearer(&hash(3), now).await, Ok(None));
    assert_eq!(consume(&*store, 10, doomed.id, 1_000).await, None);

    let (rec, _) = store
        .token_for_bearer(&hash(2), now)
        .await
        .expect("lookup")
        .expect("the other application's token lives");
    assert_eq!(rec, k);
    assert!(consume(&*store, 11, kept.id, 1_000).await.is_some());
    assert_eq!(
        store.delete_application(doomed.id, None).await,
        Err(StoreError::NotFound)
    );
    assert_eq!(all_activity(&*store).await, vec![entry]);
    assert_eq!(listed(&*store, &query(&[])).await, (1, vec![kept.id]));
}

/// A code is consumed once and hands back exactly what was stored; unknown codes are `None`.
pub async fn auth_code_is_consumed_once_with_its_fields(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let app = create_app(&*store, "web").await;
    store
        .create_auth_code(code(1, app.id, alice.id, 60_000))
        .await
        .expect("code 1");
    let mut plain = code(2, app.id, alice.id, 60_000);
    plain.code_challenge = None;
    plain.code_challenge_method = None;
    plain.scope = "read".into();
    plain.redirect_uri = "http://127.0.0.1:8400/".into();
    store.create_auth_code(plain).await.expect("code 2");

    assert_eq!(
        consume(&*store, 1, app.id, 1_000).await,
        Some(AuthCodeRecord {
            user_id: alice.id,
            redirect_uri: "https://app.example.com/cb?n=1".into(),
            scope: "read write".into(),
            code_challenge: Some("challenge-1-E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw".into()),
            code_challenge_method: Some("S256".into()),
        })
    );
    assert_eq!(consume(&*store, 1, app.id, 1_001).await, None, "second use");
    assert_eq!(
        consume(&*store, 1, app.id, 1_000).await,
        None,
        "same instant"
    );
    assert_eq!(
        consume(&*store, 2, app.id, 2_000).await,
        Some(AuthCodeRecord {
            user_id: alice.id,
            redirect_uri: "http://127.0.0.1:8400/".into(),
            scope: "read".into(),
            code_challenge: None,
            code_challenge_method: None,
        })
    );
    assert_eq!(consume(&*store, 2, app.id, 2_000).await, None);
    assert_eq!(
        consume(&*store, 3, app.id, 2_000).await,
        None,
        "unknown code"
    );
}

/// A code is valid strictly before its deadline, and only for its own client; a refused
/// attempt does not consume it.
pub async fn auth_code_checks_expiry_and_client(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let app = create_app(&*store, "web").await;
    let other = create_app(&*store, "other").await;
    for n in 1..=3 {
        store
            .create_auth_code(code(n, app.id, alice.id, 60_000))
            .await
            .expect("code");
    }

    assert_eq!(
        consume(&*store, 1, app.id, 60_000).await,
        None,
        "now == expires_at"
    );
    assert_eq!(
        consume(&*store, 1, app.id, 60_001).await,
        None,
        "after the deadline"
    );
    assert_eq!(consume(&*store, 1, app.id, 120_000).await, None);
    assert!(
        consume(&*store, 2, app.id, 59_999).await.is_some(),
        "one millisecond before the deadline"
    );

    assert_eq!(
        consume(&*store, 3, other.id, 1_000).await,
        None,
        "another client"
    );
    assert_eq!(
        consume(&*store, 3, ApplicationId(other.id.0 + 1000), 1_000).await,
        None,
        "a client that does not exist"
    );
    let rec = consume(&*store, 3, app.id, 1_000)
        .await
        .expect("the wrong client did not consume the code");
    assert_eq!(rec.user_id, alice.id);
    assert_eq!(consume(&*store, 3, app.id, 1_000).await, None);
}

/// Ten concurrent exchanges of one code: exactly one gets it.
pub async fn concurrent_code_consumption_has_one_winner(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let app = create_app(&*store, "web").await;
    store
        .create_auth_code(code(1, app.id, alice.id, 60_000))
        .await
        .expect("code");
    let mut tasks = Vec::new();
    for _ in 0..10 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            store.consume_auth_code(&hash(1), app.id, at(1_000)).await
        }));
    }
    let mut winners = 0;
    for task in tasks {
        let outcome = task
            .await
            .expect("task panicked")
            .expect("consume_auth_code failed under concurrency");
        if let Some(rec) = outcome {
            assert_eq!(rec.user_id, alice.id);
            winners += 1;
        }
    }
    assert_eq!(winners, 1, "a code is exchanged exactly once");
}

/// A token exchanged for a code records its family on the code; presenting the spent code
/// again revokes that family (access and refresh tokens, successors included) in one step.
/// Unknown, unspent and other clients' codes revoke nothing.
pub async fn a_replayed_code_revokes_its_family(store: Arc<dyn Store>) {
    let alice = create(&*store, new_user("alice")).await;
    let app = create_app(&*store, "web").await;
    let other = create_app(&*store, "other").await;
    store
        .create_auth_code(code(1, app.id, alice.id, 60_000))
        .await
        .expect("code");
    store
        .create_auth_code(code(2, app.id, alice.id, 60_000))
        .await
        .expect("code 2");
    assert!(consume(&*store, 1, app.id, 1_000).await.is_some());
    let s = &*store;
    assert_eq!(
        s.revoke_code_grant(&hash(1), app.id, at(1_000)).await,
        Ok(false),
        "spent, but nothing issued for it yet"
    );
    let token = |n: u8, from_code| NewAccessToken {
        hash: hash(n.wrapping_add(40)),
        user_id: alice.id,
        application_id: Some(app.id),
        scope: "read".into(),
        description: String::new(),
        created_at: at(1_000),
        expires_at: at(36_000_000),
        refresh: Some(NewRefreshToken {
            hash: hash(n.wrapping_add(140)),
            expires_at: at(360_000_000),
        }),
        from_code,
    };
    s.create_token(token(1, Some(hash(1))), None)
        .await
        .expect("token for code 1");
    let bystander = s
        .create_token(token(2, None), None)
        .await
        .expect("another grant");
    let live = |n: u8| async move {
        s.token_for_bearer(&hash(n.wrapping_add(40)), at(2_000))
            .await
            .expect("bearer")
            .is_some()
    };
    assert!(live(1).await);
    assert_eq!(
        s.revoke_code_grant(&hash(1), other.id, at(2_000)).await,
        Ok(false),
        "another client's code"
    );
    assert_eq!(
        s.revoke_code_grant(&hash(2), app.id, at(2_000)).await,
        Ok(false),
        "an unspent code"
    );
    assert_eq!(
        s.revoke_code_grant(&hash(9), app.id, at(2_000)).await,
        Ok(false),
        "an unknown code"
    );
    assert!(live(1).await);
    assert_eq!(
        s.revoke_code_grant(&hash(1), app.id, at(2_000)).await,
        Ok(true)
    );
    assert!(!live(1).await, "the code's access token is revoked");
    assert_eq!(
        s.refresh_token_owner(&hash(141)).await.expect("owner"),
        None,
        "and its refresh token"
    );
    assert!(live(2).await, "another grant is untouched");
    assert_eq!(bystander.user_id, alice.id);
}
