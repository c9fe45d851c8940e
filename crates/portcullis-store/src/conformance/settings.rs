//! Checks of [`SettingsStore`](crate::SettingsStore): overrides round trip as JSON, and install
//! secrets are first-writer-wins, also under a race.

use super::at;
use crate::Store;
use portcullis_core::settings::Stored;
use serde_json::json;
use std::sync::Arc;

/// Loads the stored overrides.
async fn load(store: &dyn Store) -> Stored {
    store.load_settings().await.expect("load_settings failed")
}

/// Upserts and removals round trip with every JSON shape a setting can hold.
pub async fn settings_round_trip_with_nested_json(store: Arc<dyn Store>) {
    assert_eq!(load(&*store).await, Stored::new());

    let nested = json!({
        "ACCESS_TOKEN_EXPIRE_SECONDS": 3600,
        "deep": {"list": [1, "two", {"three": null}], "flag": false, "ratio": 0.5},
        "unicode": "Grüße ✓ \"quoted\" \\ back"
    });
    let set = vec![
        ("SESSION_COOKIE_AGE".to_owned(), json!(1800)),
        ("OAUTH2_PROVIDER".to_owned(), nested.clone()),
        (
            "LOGIN_REDIRECT_OVERRIDE".to_owned(),
            json!("https://sso.example/"),
        ),
        ("AUTH_BASIC_ENABLED".to_owned(), json!(false)),
        (
            "CSRF_TRUSTED_ORIGINS".to_owned(),
            json!(["https://a", "https://b"]),
        ),
        ("SOCIAL_AUTH_TEAM_MAP".to_owned(), json!(null)),
        ("SESSIONS_PER_USER".to_owned(), json!(-1)),
    ];
    store
        .write_settings(set.clone(), vec![], at(0), vec![])
        .await
        .expect("write_settings");
    let expected: Stored = set.into_iter().collect();
    assert_eq!(load(&*store).await, expected);
    assert_eq!(
        load(&*store).await.get("OAUTH2_PROVIDER"),
        Some(&nested),
        "nested objects come back whole"
    );

    // Overwrite one, remove two (one of them unknown), add one: all in one write.
    store
        .write_settings(
            vec![
                ("SESSION_COOKIE_AGE".to_owned(), json!(600)),
                ("DISABLE_LOCAL_AUTH".to_owned(), json!(true)),
            ],
            vec!["LOGIN_REDIRECT_OVERRIDE".to_owned(), "NOT_A_KEY".to_owned()],
            at(1_000),
            vec![],
        )
        .await
        .expect("second write");
    let after = load(&*store).await;
    assert_eq!(after.get("SESSION_COOKIE_AGE"), Some(&json!(600)));
    assert_eq!(after.get("DISABLE_LOCAL_AUTH"), Some(&json!(true)));
    assert_eq!(after.get("LOGIN_REDIRECT_OVERRIDE"), None);
    assert_eq!(after.get("OAUTH2_PROVIDER"), Some(&nested));
    assert_eq!(after.get("SOCIAL_AUTH_TEAM_MAP"), Some(&json!(null)));
    assert_eq!(after.len(), 7);

    // Removing everything empties the store.
    let keys: Vec<String> = after.keys().cloned().collect();
    store
        .write_settings(vec![], keys, at(2_000), vec![])
        .await
        .expect("remove all");
    assert_eq!(load(&*store).await, Stored::new());
}

/// The first candidate is stored; later calls get it back whatever they offer. Names are
/// independent and values are arbitrary bytes.
pub async fn install_secret_first_writer_wins(store: Arc<dyn Store>) {
    let first: Vec<u8> = (0..=255u8).collect();
    let second = vec![0xAB; 32];
    assert_eq!(
        store.install_secret("csrf_mac_key", &first).await,
        Ok(first.clone())
    );
    assert_eq!(
        store.install_secret("csrf_mac_key", &second).await,
        Ok(first.clone())
    );
    assert_eq!(
        store.install_secret("other_key", &second).await,
        Ok(second.clone())
    );
    assert_eq!(
        store.install_secret("csrf_mac_key", &[]).await,
        Ok(first.clone())
    );
    assert_eq!(store.install_secret("other_key", &first).await, Ok(second));
}

/// Two nodes starting at once (two tasks, separate connections where the backend has them)
/// both get the same stored value, which is one of the two candidates.
pub async fn install_secret_race_has_one_winner(store: Arc<dyn Store>) {
    for round in 0..8u8 {
        let name = format!("race_{round}");
        let a = vec![round, 0xAA];
        let b = vec![round, 0xBB];
        let task = |candidate: Vec<u8>| {
            let store = Arc::clone(&store);
            let name = name.clone();
            tokio::spawn(async move { store.install_secret(&name, &candidate).await })
        };
        let (ra, rb) = tokio::join!(task(a.clone()), task(b.clone()));
        let ra = ra.expect("task a panicked").expect("install_secret a");
        let rb = rb.expect("task b panicked").expect("install_secret b");
        assert_eq!(ra, rb, "both racers must see the same secret");
        assert!(
            ra == a || ra == b,
            "the stored value is one of the candidates"
        );
        assert_eq!(store.install_secret(&name, &[9]).await, Ok(ra));
    }
}
