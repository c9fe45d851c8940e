//! Group commit of MDR exchanges (`docs/mdr-api.md`, "Rotation and reuse detection"). SQLite makes
//! one durable commit at a time, and its cost (an fsync of the WAL) dwarfs the statements, so
//! concurrent exchanges are decided in one `BEGIN IMMEDIATE` transaction and made durable by one
//! commit.
//!
//! Policy: each exchange runs under its own savepoint, in arrival order, so it sees exactly
//! what the exchanges before it wrote — the same decisions serial transactions would make — and
//! a failing one is rolled back alone. Nobody gets an answer before the commit; if the commit
//! fails, every exchange of the batch fails with `Unavailable` and none of them happened.

use crate::SqliteStore;
use crate::error::map_db_error;
use portcullis_store::{Exchange, ExchangeOutcome, StoreError, StoreResult};
use std::sync::Mutex;
use tokio::sync::oneshot;

type Waiter = (Exchange, oneshot::Sender<StoreResult<ExchangeOutcome>>);

/// Exchanges waiting for the next batch, and the turn of the batch leader.
#[derive(Debug, Default)]
pub(crate) struct ExchangeBatcher {
    queue: Mutex<Vec<Waiter>>,
    leader: tokio::sync::Mutex<()>,
}

/// Most exchanges decided in one transaction (bounds the time a batch holds the writer).
const MAX_BATCH: usize = 256;

impl ExchangeBatcher {
    fn take(&self) -> Vec<Waiter> {
        let mut q = match self.queue.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let n = q.len().min(MAX_BATCH);
        q.drain(..n).collect()
    }

    fn push(&self, w: Waiter) {
        match self.queue.lock() {
            Ok(mut g) => g.push(w),
            Err(p) => p.into_inner().push(w),
        }
    }
}

impl SqliteStore {
    /// Queues `ex`; the first waiter to get the leader's turn decides and commits everything
    /// queued by then, including the exchanges of those still waiting for the turn.
    pub(crate) async fn exchange_batched(&self, ex: &Exchange) -> StoreResult<ExchangeOutcome> {
        let (sender, mut receiver) = oneshot::channel();
        self.batch.push((ex.clone(), sender));
        loop {
            let turn = self.batch.leader.lock().await;
            match receiver.try_recv() {
                Ok(result) => return result,
                Err(oneshot::error::TryRecvError::Closed) => {
                    // The leader that took this exchange was cancelled before it answered:
                    // before its commit nothing happened; after it, the exchange stands and
                    // the client's retry within the grace period gets the same pair back.
                    return Err(StoreError::Unavailable(
                        "sqlite: exchange batch abandoned".into(),
                    ));
                }
                Err(oneshot::error::TryRecvError::Empty) => {}
            }
            let batch = self.batch.take();
            if batch.is_empty() {
                // Taken by a batch that is answering right now.
                drop(turn);
                return receiver.await.unwrap_or_else(|_| {
                    Err(StoreError::Unavailable(
                        "sqlite: exchange batch abandoned".into(),
                    ))
                });
            }
            let results = self.run_batch(&batch).await;
            for ((_, sender), result) in batch.into_iter().zip(results) {
                // A waiter that went away needs no answer; its exchange stands, as a lost
                // response does (the grace period covers its retry).
                let _ = sender.send(result);
            }
            drop(turn);
        }
    }

    async fn run_batch(&self, batch: &[Waiter]) -> Vec<StoreResult<ExchangeOutcome>> {
        let all = |e: StoreError| batch.iter().map(|_| Err(e.clone())).collect();
        let mut tx = match self.write().await {
            Ok(tx) => tx,
            Err(e) => return all(map_db_error(e)),
        };
        let mut out = Vec::with_capacity(batch.len());
        for (ex, _) in batch {
            if let Err(e) = sqlx::query("SAVEPOINT exchange").execute(&mut *tx).await {
                return all(map_db_error(e));
            }
            match Self::decide_exchange(&mut tx, ex).await {
                Ok(outcome) => {
                    if let Err(e) = sqlx::query("RELEASE exchange").execute(&mut *tx).await {
                        return all(map_db_error(e));
                    }
                    out.push(Ok(outcome));
                }
                Err(failure) => {
                    let undo = sqlx::query("ROLLBACK TO exchange")
                        .execute(&mut *tx)
                        .await
                        .and(Ok(()));
                    let release = sqlx::query("RELEASE exchange").execute(&mut *tx).await;
                    if let Err(e) = undo.and(release.map(|_| ())) {
                        return all(map_db_error(e));
                    }
                    out.push(Err(failure.into()));
                }
            }
        }
        match tx.commit().await {
            Ok(()) => out,
            Err(e) => all(map_db_error(e)),
        }
    }
}
