//! Checks of the composed [`Store`] itself.

use crate::{Store, StoreError};
use std::sync::Arc;

/// `ping` answers on a healthy store and the backend names itself.
pub async fn ping_answers_and_names_the_backend(store: Arc<dyn Store>) {
    assert_eq!(store.ping().await, Ok(()));
    assert!(
        ["sqlite", "postgres"].contains(&store.backend()),
        "unexpected backend name {:?}",
        store.backend()
    );
}

/// A NUL character in a string is bad input, never an outage. PostgreSQL refuses it in `text`
/// (SQLSTATE 22021) and as `\u0000` in `jsonb` (22P05), and that must come back as
/// [`StoreError::InvalidInput`] — answered 400 — not as [`StoreError::Unavailable`], which the
/// server answers with 503 and operators read as "the database is down". SQLite stores and
/// compares such strings like any other; either way nothing is written on refusal and the store
/// keeps working.
pub async fn a_nul_in_a_string_is_invalid_input_never_unavailable(store: Arc<dyn Store>) {
    let postgres = store.backend() == "postgres";
    super::create(&*store, super::new_user("alice")).await;

    let lookup = store.user_by_username("a\0b").await;
    if postgres {
        assert!(
            matches!(lookup, Err(StoreError::InvalidInput(_))),
            "{lookup:?}"
        );
    } else {
        assert_eq!(lookup, Ok(None));
    }

    let created = store.create_user(super::new_user("bob\0"), None).await;
    if postgres {
        assert!(
            matches!(created, Err(StoreError::InvalidInput(_))),
            "{created:?}"
        );
        assert_eq!(store.user_by_username("bob").await, Ok(None));
    } else {
        assert!(created.is_ok(), "{created:?}");
    }

    let written = store
        .write_settings(
            vec![(
                "CUSTOM_LOGIN_INFO".to_owned(),
                serde_json::json!({"nested": ["x\u{0}y"]}),
            )],
            vec![],
            super::at(0),
            vec![],
        )
        .await;
    if postgres {
        assert!(
            matches!(written, Err(StoreError::InvalidInput(_))),
            "{written:?}"
        );
        assert_eq!(
            store
                .load_settings()
                .await
                .expect("load_settings")
                .get("CUSTOM_LOGIN_INFO"),
            None,
            "a refused write leaves nothing behind"
        );
    } else {
        assert_eq!(written, Ok(()));
    }

    // The refusal did not poison a connection: the next calls answer normally.
    assert_eq!(store.ping().await, Ok(()));
    let alice = store
        .user_by_username("alice")
        .await
        .expect("lookup after a refusal");
    assert_eq!(alice.map(|u| u.username).as_deref(), Some("alice"));
}
