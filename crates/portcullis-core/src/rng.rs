//! Randomness source. Production draws from the OS CSPRNG; tests may inject a seeded
//! generator so token values are reproducible.

#[cfg(any(test, feature = "testing"))]
use rand::{Rng as _, SeedableRng, rngs::StdRng};
#[cfg(any(test, feature = "testing"))]
use std::sync::Mutex;

/// A source of random bytes for credentials, salts and nonces.
pub trait Rng: Send + Sync + 'static {
    /// Fills `buf` with random bytes.
    fn fill(&self, buf: &mut [u8]);
}

/// Draws `N` random bytes from `rng`.
pub fn bytes<const N: usize>(rng: &dyn Rng) -> [u8; N] {
    let mut b = [0u8; N];
    rng.fill(&mut b);
    b
}

/// The operating system's CSPRNG (`getrandom`).
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRng;

impl Rng for OsRng {
    fn fill(&self, buf: &mut [u8]) {
        // getrandom only fails when the kernel has no entropy source at all; there is no
        // safe way to continue minting credentials then, so abort the process loudly.
        if getrandom::fill(buf).is_err() {
            std::process::abort();
        }
    }
}

/// A deterministic generator for tests (feature `testing`). NEVER used by the server binary.
#[cfg(any(test, feature = "testing"))]
#[derive(Debug)]
pub struct SeededRng {
    inner: Mutex<StdRng>,
}

#[cfg(any(test, feature = "testing"))]
impl SeededRng {
    /// A generator whose output depends only on `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            inner: Mutex::new(StdRng::seed_from_u64(seed)),
        }
    }
}

#[cfg(any(test, feature = "testing"))]
impl Rng for SeededRng {
    fn fill(&self, buf: &mut [u8]) {
        let mut g = match self.inner.lock() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        g.fill_bytes(buf);
    }
}
