//! argon2id off the async runtime, on a fixed set of hashing threads.
//!
//! Why not `spawn_blocking`: each argon2id run allocates its memory cost
//! (19 MiB by default), and the blocking pool hands jobs to whichever of up
//! to 512 threads is idle; the allocator keeps a memory arena per thread, so
//! resident memory grew with every thread that had ever hashed (measured:
//! ~250 MiB after a sign-in benchmark). A fixed set of threads bounds it at
//! threads × memory cost, each thread reuses its own block, and a flood of
//! sign-ins queues instead of exhausting memory. Each thread keeps its
//! argon2 working memory between verifications ([`HashMemory`]).
//!
//! The queue is bounded: when it is full the request is refused at once
//! (503 with Retry-After) rather than waiting behind minutes of work, and a
//! queued job whose client has gone is skipped instead of hashed.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};

use keyward_access::{HashMemory, PasswordError, PasswordHasher};
use secrecy::SecretString;

use crate::error::{ApiError, ApiResult};

type Job = Box<dyn FnOnce(&mut HashMemory) + Send>;

/// Password hashing and verification on `threads` dedicated threads.
#[derive(Clone)]
pub struct Passwords {
    hasher: PasswordHasher,
    jobs: mpsc::SyncSender<Job>,
}

impl Passwords {
    /// Starts `threads` hashing threads (at least one) behind a queue of
    /// `queue` jobs (at least one). They stop when the last clone of this is
    /// dropped.
    pub fn new(hasher: PasswordHasher, threads: usize, queue: usize) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::sync_channel::<Job>(queue.max(1));
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..threads.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("keyward-hash-{n}"))
                .spawn(move || hashing_thread(&queue))?;
        }
        Ok(Self { hasher, jobs })
    }

    /// Hashes a new password for `username` (checking the policy: length,
    /// and not common or built on the username). The strength check runs
    /// here, on a hashing thread, because it is CPU work too.
    pub async fn hash(&self, password: SecretString, username: &str) -> ApiResult<String> {
        let hasher = self.hasher.clone();
        let username = username.to_owned();
        let result = self
            .run(move |_| hasher.hash(&password, &[&username]))
            .await?;
        result.map_err(|e| match e {
            PasswordError::TooShort | PasswordError::TooLong | PasswordError::TooGuessable => {
                ApiError::invalid("password", e.to_string())
            }
            other => ApiError::Internal(other.into()),
        })
    }

    /// Verifies a password; `stored == None` burns the same time and fails.
    pub async fn verify(&self, stored: Option<String>, password: SecretString) -> ApiResult<bool> {
        let hasher = self.hasher.clone();
        self.run(move |memory| hasher.verify_with(stored.as_deref(), &password, memory))
            .await
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut HashMemory) -> T + Send + 'static,
    ) -> ApiResult<T> {
        let (done, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move |memory| {
            // The caller went away (client disconnected, request dropped):
            // nobody would read the answer, so spend no time on it.
            if done.is_closed() {
                crate::metrics::throttled("hash_abandoned");
                return;
            }
            let _ = done.send(f(memory));
        });
        self.jobs.try_send(job).map_err(|e| match e {
            mpsc::TrySendError::Full(_) => {
                crate::metrics::throttled("hash_queue_full");
                ApiError::Busy { retry_after: 1 }
            }
            mpsc::TrySendError::Disconnected(_) => {
                ApiError::Internal(anyhow::anyhow!("hashing threads stopped"))
            }
        })?;
        result
            .await
            .map_err(|_| ApiError::Internal(anyhow::anyhow!("hashing job failed")))
    }
}

fn hashing_thread(queue: &Mutex<mpsc::Receiver<Job>>) {
    let mut memory = HashMemory::default();
    loop {
        // Holding the lock only while taking a job: the others wait for theirs.
        let next = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(job) = next else {
            return; // every sender dropped
        };
        // A panicking job drops its result sender (the caller gets an
        // error); the thread stays.
        let _ = std::panic::catch_unwind(AssertUnwindSafe(|| job(&mut memory)));
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use keyward_access::PasswordParams;

    use super::*;

    fn cheap() -> PasswordHasher {
        PasswordHasher::new(PasswordParams {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap()
    }

    #[tokio::test]
    async fn hashes_run_on_the_fixed_threads_only() {
        let passwords = Passwords::new(cheap(), 2, 64).unwrap();
        let names: Vec<_> = (0..16)
            .map(|_| {
                let p = passwords.clone();
                tokio::spawn(async move {
                    p.run(|_| std::thread::current().name().map(str::to_owned))
                        .await
                        .unwrap()
                })
            })
            .collect();
        let mut seen = HashSet::new();
        for n in names {
            seen.insert(n.await.unwrap().unwrap());
        }
        assert!(!seen.is_empty() && seen.len() <= 2, "{seen:?}");
        assert!(
            seen.iter().all(|n| n.starts_with("keyward-hash-")),
            "{seen:?}"
        );
    }

    /// A full queue refuses at once, and a job whose caller has gone is
    /// skipped by the thread.
    #[tokio::test]
    async fn a_full_queue_refuses_and_abandoned_jobs_are_skipped() {
        let passwords = Passwords::new(cheap(), 1, 2).unwrap();
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(gate));
        // Occupy the one thread until released.
        let busy = {
            let (p, gate) = (passwords.clone(), gate.clone());
            tokio::spawn(async move {
                p.run(move |_| {
                    let _ = gate.lock().map(|g| g.recv());
                })
                .await
            })
        };
        let ran = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        // Wait until the thread has taken the blocking job off the queue.
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let mut queued = Vec::new();
        for _ in 0..2 {
            let (p, ran) = (passwords.clone(), ran.clone());
            queued.push(tokio::spawn(async move {
                p.run(move |_| {
                    ran.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                })
                .await
            }));
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let refused = passwords.run(|_| ()).await;
        assert!(
            matches!(refused, Err(ApiError::Busy { retry_after: 1 })),
            "{refused:?}"
        );
        // Both queued callers give up; the thread must not run their jobs.
        for q in &queued {
            q.abort();
        }
        for q in queued {
            let _ = q.await;
        }
        release.send(()).unwrap();
        busy.await.unwrap().unwrap();
        // A later job runs once the thread has taken the abandoned ones
        // off the queue (without running them).
        let mut later = passwords.run(|_| ()).await;
        for _ in 0..100 {
            if !matches!(later, Err(ApiError::Busy { .. })) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            later = passwords.run(|_| ()).await;
        }
        later.unwrap();
        assert_eq!(ran.load(std::sync::atomic::Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn hash_and_verify_round_trip_and_a_panic_keeps_the_thread() {
        let passwords = Passwords::new(cheap(), 1, 64).unwrap();
        let pw = || SecretString::from("correct horse battery staple");
        let stored = passwords.hash(pw(), "alice").await.unwrap();
        assert!(passwords.verify(Some(stored.clone()), pw()).await.unwrap());
        let wrong = SecretString::from("wrong horse battery staple");
        assert!(!passwords.verify(Some(stored.clone()), wrong).await.unwrap());
        assert!(!passwords.verify(None, pw()).await.unwrap(), "no account");
        let short = passwords.hash(SecretString::from("short"), "alice").await;
        assert!(
            matches!(short, Err(ApiError::Validation { .. })),
            "{short:?}"
        );
        let panicked = passwords.run(|_| -> bool { panic!("boom") }).await;
        assert!(matches!(panicked, Err(ApiError::Internal(_))));
        assert!(
            passwords.verify(Some(stored), pw()).await.unwrap(),
            "the one thread still works"
        );
        let kept = passwords.run(|memory| memory.bytes()).await.unwrap();
        assert_eq!(kept, 1024 * 1024, "the thread keeps its argon2 memory");
    }
}
