//! Group commit of the hot writes: MDR exchanges (`docs/mdr-api.md`, "Rotation and reuse
//! detection") and token creation (`POST /api/v2/tokens/`, the password grant). SQLite makes one
//! durable commit at a time, and its cost (an fsync of the WAL) dwarfs the statements, so
//! concurrent writes are made in one `BEGIN IMMEDIATE` transaction and made durable by one
//! commit.
//!
//! Policy: each write runs under its own savepoint, in arrival order, so it sees exactly what
//! the writes before it did — the same decisions serial transactions would make — and a failing
//! one is rolled back alone. Nobody gets an answer before the commit; if the commit fails,
//! every write of the batch fails with `Unavailable` and none of them happened.

use crate::SqliteStore;
use crate::error::map_db_error;
use portcullis_store::{
    AccessTokenRecord, Exchange, ExchangeOutcome, NewAccessToken, NewActivity, StoreError,
    StoreResult,
};
use std::sync::Mutex;
use tokio::sync::oneshot;

/// One write of a batch.
#[derive(Debug, Clone)]
pub(crate) enum Job {
    /// An MDR refresh-token exchange.
    Exchange(Box<Exchange>),
    /// A new access token and its activity entry.
    Token(Box<(NewAccessToken, Option<NewActivity>)>),
}

/// What a write produced.
#[derive(Debug)]
pub(crate) enum Done {
    Exchange(ExchangeOutcome),
    Token(Box<AccessTokenRecord>),
}

type Waiter = (Job, oneshot::Sender<StoreResult<Done>>);

/// Writes waiting for the next batch, and the turn of the batch leader.
#[derive(Debug, Default)]
pub(crate) struct Batcher {
    queue: Mutex<Vec<Waiter>>,
    leader: tokio::sync::Mutex<()>,
}

/// Most writes made in one transaction (bounds the time a batch holds the writer).
const MAX_BATCH: usize = 256;

fn abandoned() -> StoreError {
    StoreError::Unavailable("sqlite: write batch abandoned".into())
}

fn mismatch() -> StoreError {
    StoreError::Unavailable("sqlite: write batch answered another kind of write".into())
}

impl Batcher {
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
    /// An exchange, decided in the next batch.
    pub(crate) async fn exchange_batched(&self, ex: &Exchange) -> StoreResult<ExchangeOutcome> {
        match self.batched(Job::Exchange(Box::new(ex.clone()))).await? {
            Done::Exchange(outcome) => Ok(outcome),
            Done::Token(_) => Err(mismatch()),
        }
    }

    /// A token creation, written in the next batch.
    pub(crate) async fn create_token_batched(
        &self,
        new: NewAccessToken,
        activity: Option<NewActivity>,
    ) -> StoreResult<AccessTokenRecord> {
        match self.batched(Job::Token(Box::new((new, activity)))).await? {
            Done::Token(record) => Ok(*record),
            Done::Exchange(_) => Err(mismatch()),
        }
    }

    /// Queues `job`; the first waiter to get the leader's turn makes and commits everything
    /// queued by then, including the writes of those still waiting for the turn.
    async fn batched(&self, job: Job) -> StoreResult<Done> {
        let (sender, mut receiver) = oneshot::channel();
        self.batch.push((job, sender));
        loop {
            let turn = self.batch.leader.lock().await;
            match receiver.try_recv() {
                Ok(result) => return result,
                Err(oneshot::error::TryRecvError::Closed) => {
                    // The leader that took this write was cancelled before it answered:
                    // before its commit nothing happened; after it, the write stands (an
                    // exchange's retry within the grace period gets the same pair back).
                    return Err(abandoned());
                }
                Err(oneshot::error::TryRecvError::Empty) => {}
            }
            let batch = self.batch.take();
            if batch.is_empty() {
                // Taken by a batch that is answering right now.
                drop(turn);
                return receiver.await.unwrap_or_else(|_| Err(abandoned()));
            }
            let results = self.run_batch(&batch).await;
            for ((_, sender), result) in batch.into_iter().zip(results) {
                // A waiter that went away needs no answer; its write stands, as a lost
                // response does (an exchange's grace period covers its retry).
                let _ = sender.send(result);
            }
            drop(turn);
        }
    }

    async fn run_batch(&self, batch: &[Waiter]) -> Vec<StoreResult<Done>> {
        let all = |e: StoreError| batch.iter().map(|_| Err(e.clone())).collect();
        let mut tx = match self.write().await {
            Ok(tx) => tx,
            Err(e) => return all(map_db_error(e)),
        };
        let mut out = Vec::with_capacity(batch.len());
        for (job, _) in batch {
            if let Err(e) = sqlx::query("SAVEPOINT write").execute(&mut *tx).await {
                return all(map_db_error(e));
            }
            let done = match job {
                Job::Exchange(ex) => Self::decide_exchange(&mut tx, ex).await.map(Done::Exchange),
                Job::Token(token) => Self::write_token(&mut tx, &token.0, token.1.as_ref())
                    .await
                    .map(|r| Done::Token(Box::new(r))),
            };
            match done {
                Ok(outcome) => {
                    if let Err(e) = sqlx::query("RELEASE write").execute(&mut *tx).await {
                        return all(map_db_error(e));
                    }
                    out.push(Ok(outcome));
                }
                Err(failure) => {
                    let undo = sqlx::query("ROLLBACK TO write")
                        .execute(&mut *tx)
                        .await
                        .and(Ok(()));
                    let release = sqlx::query("RELEASE write").execute(&mut *tx).await;
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
