//! Checks of the composed [`Store`] itself.

use crate::Store;
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
