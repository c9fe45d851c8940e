//! The password pool: Argon2id work runs on a fixed set of worker threads, never on the async
//! workers, behind a semaphore with one permit per worker. A caller that waits longer than the
//! configured limit for a permit gets 503 ("password pool saturated").
//!
//! Memory: each worker owns one [`Argon2Memory`] and reuses it for every hash, so the pool
//! holds workers × m KiB (19 MiB each at the floor) however many hashes it runs. Hashing on
//! tokio's blocking threads instead allocated m KiB per hash on whichever thread ran it, and the
//! allocator kept a block per thread: resident memory grew to hundreds of MiB under load.
//! A worker that has had no job for [`MEMORY_IDLE`] gives its memory back, so a node that only
//! sees tokens (a gateway) does not keep workers × m KiB for the one hash it ran at start
//! (`docs/gateway.md`, "Speed and memory").

use crate::service::error::{ServiceError, ServiceResult};
use portcullis_core::error::CoreError;
use portcullis_core::password::{self, Argon2Memory, Argon2Params, Verification};
use portcullis_core::rng::Rng;
use secrecy::{ExposeSecret, SecretString};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Semaphore, oneshot};

/// How long a worker keeps its Argon2 memory without a job. The next hash after that pays
/// for touching m KiB again (a few milliseconds at the floor), once.
pub const MEMORY_IDLE: Duration = Duration::from_secs(30);

/// Work for a password worker: runs in the worker's memory.
type Job = Box<dyn FnOnce(&mut Argon2Memory) + Send>;

/// Bounded Argon2id executor.
pub struct PasswordPool {
    permits: Arc<Semaphore>,
    /// Never holds more jobs than there are permits, so the queue is bounded too.
    jobs: mpsc::Sender<Job>,
    params: Argon2Params,
    dummy_hash: Arc<str>,
    rng: Arc<dyn Rng>,
    wait: Duration,
    workers: usize,
    /// Callers waiting for a worker (the hash queue, for metrics).
    waiting: Arc<std::sync::atomic::AtomicUsize>,
}

impl std::fmt::Debug for PasswordPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordPool")
            .field("params", &self.params)
            .field("workers", &self.permits.available_permits())
            .finish_non_exhaustive()
    }
}

/// The pool could not start.
#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    /// The parameters are invalid, or the dummy hash could not be made.
    #[error(transparent)]
    Password(#[from] CoreError),
    /// A worker thread could not be started.
    #[error("cannot start a password worker: {0}")]
    Thread(#[from] std::io::Error),
}

impl PasswordPool {
    /// A pool of `concurrency` workers (at least one). Computes the dummy hash used to
    /// equalise timing for unknown users (one hash at start, on a worker). The workers end
    /// when the pool is dropped.
    pub fn new(
        params: Argon2Params,
        concurrency: usize,
        wait: Duration,
        rng: Arc<dyn Rng>,
    ) -> Result<Self, PoolError> {
        params.validate()?;
        let workers = concurrency.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..workers {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("password-{n}"))
                .spawn(move || work(&queue))?;
        }
        let (done, dummy) = mpsc::sync_channel(1);
        let salt_rng = rng.clone();
        let job: Job = Box::new(move |memory| {
            let _ = done.send(password::hash_password_with(
                memory,
                &params,
                "portcullis-dummy-password",
                salt_rng.as_ref(),
            ));
        });
        jobs.send(job).map_err(|_| CoreError::HashFailed)?;
        // Blocks the caller for one hash, once, while the server starts.
        let dummy = dummy.recv().map_err(|_| CoreError::HashFailed)??;
        Ok(Self {
            permits: Arc::new(Semaphore::new(workers)),
            jobs,
            params,
            dummy_hash: Arc::from(dummy),
            rng,
            wait,
            workers,
            waiting: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
        })
    }

    /// The configured parameters.
    pub fn params(&self) -> Argon2Params {
        self.params
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Argon2Memory) -> T + Send + 'static,
    ) -> ServiceResult<T> {
        use std::sync::atomic::Ordering;
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let acquired = tokio::time::timeout(self.wait, self.permits.clone().acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        let permit = acquired
            .map_err(|_| ServiceError::Unavailable("password pool saturated".into()))?
            .map_err(|_| ServiceError::Unavailable("password pool closed".into()))?;
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move |memory| {
            let out = job(memory);
            // The permit goes back only when the worker is free again.
            drop(permit);
            let _ = answer.send(out);
        });
        self.jobs
            .send(job)
            .map_err(|_| ServiceError::Unavailable("password pool closed".into()))?;
        // A caller that goes away does not stop the hash: the worker finishes it, as a
        // blocking task would have, and its permit bounds the work in progress.
        answered
            .await
            .map_err(|_| ServiceError::Internal("password worker failed".into()))
    }

    /// Checks `password` against `stored`; `None` (unknown user, external user) burns the
    /// same time against the dummy hash and never matches.
    pub async fn verify(
        &self,
        stored: Option<String>,
        password: SecretString,
    ) -> ServiceResult<Verification> {
        let params = self.params;
        let dummy = self.dummy_hash.clone();
        self.run(move |memory| match stored {
            // Oversize or empty input never matches, but still costs a real hash so its
            // timing says nothing (`docs/security.md`, "Passwords").
            Some(_) if !password::length_ok(password.expose_secret()) => {
                password::dummy_verify_with(memory, &params, &dummy);
                Verification::Mismatch
            }
            Some(h) => {
                match password::verify_password_with(memory, &params, &h, password.expose_secret())
                {
                    Ok(v) => v,
                    // An unreadable stored hash is a failed check, never a pass.
                    Err(_) => Verification::Mismatch,
                }
            }
            None => {
                password::dummy_verify_with(memory, &params, &dummy);
                Verification::Mismatch
            }
        })
        .await
    }

    /// Workers busy and callers waiting for one, now.
    pub fn load(&self) -> (usize, usize) {
        let busy = self
            .workers
            .saturating_sub(self.permits.available_permits());
        (
            busy,
            self.waiting.load(std::sync::atomic::Ordering::Relaxed),
        )
    }

    /// Hashes a new password.
    pub async fn hash(&self, password: SecretString) -> ServiceResult<String> {
        let params = self.params;
        let rng = self.rng.clone();
        self.run(move |memory| {
            password::hash_password_with(memory, &params, password.expose_secret(), rng.as_ref())
        })
        .await?
        .map_err(|e| ServiceError::Internal(e.to_string()))
    }
}

/// A worker: takes jobs until the pool is dropped, always in the same memory. A job that
/// panics loses only its own answer (its caller gets an internal error); the worker goes on
/// with fresh memory.
fn work(queue: &Mutex<mpsc::Receiver<Job>>) {
    /// How often the worker holding the queue lets go of it when no job comes, so every worker
    /// gets to look at its own idle time (the others wait for the lock, not for a job).
    const WAKE: Duration = Duration::from_secs(5);
    enum Next {
        Job(Job),
        Idle,
        Closed,
    }
    let mut memory = Argon2Memory::new();
    let mut last_job = std::time::Instant::now();
    loop {
        let next = {
            let q = match queue.lock() {
                Ok(q) => q,
                Err(poisoned) => poisoned.into_inner(),
            };
            match q.recv_timeout(WAKE) {
                Ok(job) => Next::Job(job),
                Err(mpsc::RecvTimeoutError::Timeout) => Next::Idle,
                Err(mpsc::RecvTimeoutError::Disconnected) => Next::Closed,
            }
        };
        match next {
            Next::Closed => return,
            Next::Idle => {
                if memory.kib() > 0 && last_job.elapsed() >= MEMORY_IDLE {
                    // A buffer this large is its own mapping: dropping it returns it to the
                    // system, and the next job allocates it again.
                    memory = Argon2Memory::new();
                }
                std::thread::yield_now();
            }
            Next::Job(job) => {
                let ran =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&mut memory)));
                if ran.is_err() {
                    memory = Argon2Memory::new();
                }
                last_job = std::time::Instant::now();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_core::rng::SeededRng;

    fn pool(workers: usize, wait: Duration) -> PasswordPool {
        PasswordPool::new(
            Argon2Params::FLOOR,
            workers,
            wait,
            Arc::new(SeededRng::new(11)),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn hashes_and_verifies_on_the_workers() {
        let p = pool(2, Duration::from_secs(30));
        let h = p.hash(SecretString::from("pool password")).await.unwrap();
        assert_eq!(
            p.verify(Some(h.clone()), SecretString::from("pool password"))
                .await
                .unwrap(),
            Verification::Match {
                needs_rehash: false
            }
        );
        assert_eq!(
            p.verify(Some(h), SecretString::from("pool passwor"))
                .await
                .unwrap(),
            Verification::Mismatch
        );
        assert_eq!(
            p.verify(None, SecretString::from("pool password"))
                .await
                .unwrap(),
            Verification::Mismatch
        );
        // A legacy Django hash still verifies and asks for the upgrade.
        let django = password::DjangoPbkdf2::encode("pool password", "saltsalt", 1000);
        assert_eq!(
            p.verify(Some(django), SecretString::from("pool password"))
                .await
                .unwrap(),
            Verification::Match { needs_rehash: true }
        );
    }

    #[tokio::test]
    async fn many_concurrent_checks_all_get_their_answer() {
        let p = Arc::new(pool(2, Duration::from_secs(60)));
        let h = p.hash(SecretString::from("right one")).await.unwrap();
        let mut tasks = Vec::new();
        for n in 0..8 {
            let p = p.clone();
            let h = h.clone();
            let pw = if n % 2 == 0 { "right one" } else { "wrong one" };
            tasks.push(tokio::spawn(async move {
                p.verify(Some(h), SecretString::from(pw)).await.unwrap()
            }));
        }
        for (n, t) in tasks.into_iter().enumerate() {
            let expected = if n % 2 == 0 {
                Verification::Match {
                    needs_rehash: false,
                }
            } else {
                Verification::Mismatch
            };
            assert_eq!(t.await.unwrap(), expected);
        }
    }

    #[tokio::test]
    async fn a_caller_that_cannot_get_a_worker_in_time_is_told_the_pool_is_saturated() {
        let p = Arc::new(pool(1, Duration::from_millis(1)));
        let h = p.hash(SecretString::from("busy worker")).await.unwrap();
        // Hold the only permit as a running check does.
        let held = p.permits.clone().acquire_owned().await.unwrap();
        assert_eq!(
            p.verify(Some(h.clone()), SecretString::from("busy worker"))
                .await,
            Err(ServiceError::Unavailable("password pool saturated".into()))
        );
        drop(held);
        assert!(matches!(
            p.verify(Some(h), SecretString::from("busy worker")).await,
            Ok(Verification::Match { .. })
        ));
    }
}
