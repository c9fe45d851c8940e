//! Checks of the change log ([`crate::ChangeStore`]): what is announced, what is not, and
//! that the cursor never skips or rolls back.

use super::{create, hash, new_session, new_user, t0};
use crate::{Change, ChangeCursor, FeedEvent, NewAccessToken, Store, UserPatch};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration as StdDuration;
use time::Duration;

fn pat(user: portcullis_core::ids::UserId, n: u8) -> NewAccessToken {
    NewAccessToken {
        hash: hash(n),
        user_id: user,
        application_id: None,
        scope: "write".to_owned(),
        description: String::new(),
        created_at: t0(),
        expires_at: t0() + Duration::hours(10),
        refresh: None,
        from_code: None,
    }
}

/// Every change since `cursor` not in `seen` (a poll may repeat entries of transactions that
/// were still open at the previous one, as any reader must expect), and the new cursor.
async fn drain(
    store: &dyn Store,
    cursor: ChangeCursor,
    seen: &mut HashSet<i64>,
) -> (Vec<Change>, ChangeCursor) {
    let batch = store
        .changes_since(cursor)
        .await
        .expect("changes_since failed");
    let changes = batch
        .entries
        .into_iter()
        .filter(|e| seen.insert(e.seq))
        .map(|e| e.change)
        .collect();
    (changes, batch.cursor)
}

/// Creating things announces nothing; revoking, deleting and changing them announces exactly
/// what a cache must drop, read back by the next poll.
pub async fn revocations_and_changes_are_logged(store: Arc<dyn Store>) {
    let s = &*store;
    let start = s.change_cursor().await.expect("change_cursor failed");
    let seen = &mut HashSet::new();
    let alice = create(s, new_user("alice")).await;
    s.create_session(new_session(alice.id, hash(1), t0(), 0), None, None)
        .await
        .expect("create_session failed");
    let token = s
        .create_token(pat(alice.id, 2), None)
        .await
        .expect("create_token failed");
    s.stamp_last_used(&[(token.id, t0() + Duration::minutes(1))])
        .await
        .expect("stamp_last_used failed");
    let (changes, cursor) = drain(s, start, seen).await;
    assert_eq!(changes, vec![], "creation and use announce nothing");

    s.delete_session(&hash(1))
        .await
        .expect("delete_session failed");
    s.delete_token(token.id, None)
        .await
        .expect("delete_token failed");
    let (changes, cursor) = drain(s, cursor, seen).await;
    assert_eq!(
        changes,
        vec![Change::Session(hash(1)), Change::Token(hash(2))]
    );

    s.update_user(
        alice.id,
        UserPatch {
            is_active: Some(false),
            ..UserPatch::default()
        },
        None,
    )
    .await
    .expect("update_user failed");
    s.write_settings(
        vec![("AUTH_BASIC_ENABLED".to_owned(), serde_json::json!(false))],
        vec![],
        t0(),
        vec![],
    )
    .await
    .expect("write_settings failed");
    s.revoke_all_tokens(false, t0(), None)
        .await
        .expect("revoke_all_tokens failed");
    let (changes, cursor) = drain(s, cursor, seen).await;
    assert_eq!(
        changes,
        vec![Change::User(alice.id), Change::Settings, Change::AllTokens]
    );

    // Nothing new; and a reader that starts over from the first cursor sees all of it.
    let (changes, _) = drain(s, cursor, seen).await;
    assert_eq!(changes, vec![]);
    let (changes, _) = drain(s, start, &mut HashSet::new()).await;
    assert_eq!(changes.len(), 5, "{changes:?}");
}

/// The purge removes old entries only.
pub async fn the_purge_keeps_recent_entries(store: Arc<dyn Store>) {
    let s = &*store;
    let start = s.change_cursor().await.expect("change_cursor failed");
    let alice = create(s, new_user("alice")).await;
    s.create_session(new_session(alice.id, hash(1), t0(), 0), None, None)
        .await
        .expect("create_session failed");
    s.delete_session(&hash(1))
        .await
        .expect("delete_session failed");
    let batch = s.changes_since(start).await.expect("changes_since failed");
    let made = batch.entries.first().expect("one entry").at;
    assert_eq!(
        s.purge_changes(made - Duration::hours(1)).await,
        Ok(0),
        "an entry made after the cut-off stays"
    );
    assert_eq!(s.purge_changes(made + Duration::hours(1)).await, Ok(1));
    let (changes, _) = drain(s, start, &mut HashSet::new()).await;
    assert_eq!(changes, vec![]);
}

/// Where the backend pushes (PostgreSQL), a committed change arrives on the feed; SQLite has
/// no feed.
pub async fn the_feed_delivers_committed_changes(store: Arc<dyn Store>) {
    let s = &*store;
    let feed = s.change_feed().await.expect("change_feed failed");
    let Some(mut feed) = feed else {
        assert_eq!(s.backend(), "sqlite", "only SQLite goes without a feed");
        return;
    };
    let alice = create(s, new_user("alice")).await;
    s.create_session(new_session(alice.id, hash(1), t0(), 0), None, None)
        .await
        .expect("create_session failed");
    s.delete_session(&hash(1))
        .await
        .expect("delete_session failed");
    let event = tokio::time::timeout(StdDuration::from_secs(30), feed.next())
        .await
        .expect("no notification within 30 s")
        .expect("feed failed");
    assert!(
        matches!(&event, FeedEvent::Change(e) if e.change == Change::Session(hash(1))),
        "{event:?}"
    );
}
