//! Password hashing with argon2id. Hashing is CPU-bound: callers run it off
//! the async runtime (the server: on its hashing threads, each with a
//! [`HashMemory`]).

use argon2::password_hash::{Output, PasswordHash, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

/// Shortest password accepted (NIST SP 800-63B asks for at least 8; an
/// exchange asks for more).
pub const MIN_PASSWORD_LEN: usize = 12;
/// Longest password accepted: bounds the work an attacker can make us do.
pub const MAX_PASSWORD_LEN: usize = 256;

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PasswordParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for PasswordParams {
    /// OWASP's recommended argon2id setting: 19 MiB, 2 iterations, 1 lane.
    fn default() -> Self {
        Self {
            memory_kib: 19_456,
            iterations: 2,
            parallelism: 1,
        }
    }
}

/// Why a password could not be hashed or checked.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// The password is shorter than [`MIN_PASSWORD_LEN`] characters.
    #[error("password must be at least {MIN_PASSWORD_LEN} characters")]
    TooShort,
    /// The password is longer than [`MAX_PASSWORD_LEN`] characters.
    #[error("password must be at most {MAX_PASSWORD_LEN} characters")]
    TooLong,
    /// The argon2 parameters are out of range.
    #[error("invalid argon2 parameters: {0}")]
    Params(String),
    /// Hashing failed (should not happen with valid parameters).
    #[error("password hashing failed")]
    Hash,
}

/// argon2 working memory (19 MiB at the default cost), kept by a thread that
/// verifies many passwords.
///
/// Why: allocating it afresh for every verification makes the kernel hand
/// out and zero ~4 900 new pages each time (measured: a third of a busy
/// server core was system time during sign-ins). Reused, the pages stay
/// mapped. argon2 writes every block before it reads it, so the result does
/// not depend on what the memory held (tested below).
#[derive(Default)]
pub struct HashMemory(Vec<Block>);

impl HashMemory {
    /// Bytes held.
    pub fn bytes(&self) -> usize {
        self.0.len() * Block::SIZE
    }
}

/// Hashes and verifies passwords with fixed argon2id parameters.
#[derive(Clone)]
pub struct PasswordHasher {
    argon: Argon2<'static>,
    /// Blocks the configured cost needs: the most a [`HashMemory`] keeps.
    blocks: usize,
    /// A hash of a random password, verified against when the account does
    /// not exist so that sign-in takes as long either way.
    dummy_hash: String,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher").finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// Builds a hasher; fails if the parameters are out of argon2's range.
    pub fn new(params: PasswordParams) -> Result<Self, PasswordError> {
        let p = Params::new(
            params.memory_kib,
            params.iterations,
            params.parallelism,
            None,
        )
        .map_err(|e| PasswordError::Params(e.to_string()))?;
        let blocks = p.block_count();
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, p);
        let mut hasher = Self {
            argon,
            blocks,
            dummy_hash: String::new(),
        };
        let random = SaltString::generate(&mut OsRng);
        hasher.dummy_hash = hasher.hash_unchecked(random.as_str())?;
        Ok(hasher)
    }

    /// Checks the length rules a new password must meet.
    pub fn check_policy(password: &SecretString) -> Result<(), PasswordError> {
        let len = password.expose_secret().chars().count();
        if len < MIN_PASSWORD_LEN {
            return Err(PasswordError::TooShort);
        }
        if len > MAX_PASSWORD_LEN {
            return Err(PasswordError::TooLong);
        }
        Ok(())
    }

    /// Hashes a new password (after checking the policy) into a PHC string.
    pub fn hash(&self, password: &SecretString) -> Result<String, PasswordError> {
        Self::check_policy(password)?;
        self.hash_unchecked(password.expose_secret())
    }

    fn hash_unchecked(&self, password: &str) -> Result<String, PasswordError> {
        use argon2::PasswordHasher as _;
        let salt = SaltString::generate(&mut OsRng);
        self.argon
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|_| PasswordError::Hash)
    }

    /// Verifies `password` against a stored PHC hash, or against a dummy hash
    /// when there is no account (`stored == None`), so both take the same time.
    /// Allocates its working memory; see [`Self::verify_with`].
    pub fn verify(&self, stored: Option<&str>, password: &SecretString) -> bool {
        self.verify_with(stored, password, &mut HashMemory::default())
    }

    /// [`Self::verify`] in `memory`, which keeps its blocks for the next call
    /// (up to the configured cost: a stored hash with a larger memory cost,
    /// e.g. an imported one, gets a one-off allocation).
    /// The digests are compared in constant time ([`Output`]'s `PartialEq`).
    pub fn verify_with(
        &self,
        stored: Option<&str>,
        password: &SecretString,
        memory: &mut HashMemory,
    ) -> bool {
        let candidate = password.expose_secret();
        if candidate.len() > MAX_PASSWORD_LEN * 4 {
            return false;
        }
        let phc = stored.unwrap_or(&self.dummy_hash);
        let ok = self.recompute(phc, candidate.as_bytes(), memory) == Some(true);
        ok && stored.is_some()
    }

    /// Hashes `candidate` with the salt and parameters of `phc` and compares;
    /// `None` when `phc` is not a usable argon2 hash.
    fn recompute(&self, phc: &str, candidate: &[u8], memory: &mut HashMemory) -> Option<bool> {
        let parsed = PasswordHash::new(phc).ok()?;
        let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
        let version = parsed
            .version
            .map_or(Ok(Version::default()), Version::try_from);
        let params = Params::try_from(&parsed).ok()?;
        let (salt, expected) = (parsed.salt?, parsed.hash?);
        let mut salt_bytes = [0_u8; 64];
        let salt_bytes = salt.decode_b64(&mut salt_bytes).ok()?;
        let needed = params.block_count();
        let argon = Argon2::new(algorithm, version.ok()?, params);
        let mut out = vec![0_u8; expected.len()];
        let hashed = if needed <= self.blocks.max(memory.0.len()) {
            if memory.0.len() < needed {
                memory.0.resize(needed, Block::default());
            }
            argon.hash_password_into_with_memory(candidate, salt_bytes, &mut out, &mut memory.0)
        } else {
            argon.hash_password_into(candidate, salt_bytes, &mut out)
        };
        hashed.ok()?;
        Some(Output::new(&out).ok()? == expected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> PasswordHasher {
        PasswordHasher::new(PasswordParams {
            memory_kib: 1024,
            iterations: 1,
            parallelism: 1,
        })
        .unwrap()
    }

    #[test]
    fn hash_then_verify() {
        let h = cheap();
        let pw = SecretString::from("correct horse battery staple");
        let phc = h.hash(&pw).unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(h.verify(Some(&phc), &pw));
        assert!(!h.verify(Some(&phc), &SecretString::from("wrong password here")));
    }

    #[test]
    fn reused_memory_gives_the_same_answers_for_any_stored_cost() {
        let h = cheap();
        let pw = SecretString::from("correct horse battery staple");
        let wrong = SecretString::from("wrong horse battery staple");
        // Stored under three costs: smaller, equal and larger than h's.
        let costs = [(256, 1, 1), (1024, 1, 1), (4096, 2, 2)];
        let stored: Vec<String> = costs
            .iter()
            .map(|&(memory_kib, iterations, parallelism)| {
                PasswordHasher::new(PasswordParams {
                    memory_kib,
                    iterations,
                    parallelism,
                })
                .unwrap()
                .hash(&pw)
                .unwrap()
            })
            .collect();
        let mut memory = HashMemory::default();
        for round in 0..2 {
            for phc in &stored {
                assert!(h.verify_with(Some(phc), &pw, &mut memory), "{round} {phc}");
                assert!(!h.verify_with(Some(phc), &wrong, &mut memory), "{round}");
                assert!(h.verify(Some(phc), &pw), "fresh memory agrees");
            }
        }
        // Kept up to h's own cost (1 MiB); the 4 MiB hash got its own.
        assert_eq!(memory.bytes(), 1024 * 1024);
        assert!(!h.verify_with(None, &pw, &mut memory), "no account");
        for bad in [
            "",
            "$argon2id$v=19$m=1024,t=1,p=1$c2FsdA",
            "$pbkdf2$x",
            "plain",
        ] {
            assert!(!h.verify_with(Some(bad), &pw, &mut memory), "{bad}");
        }
    }

    #[test]
    fn missing_account_never_verifies() {
        let h = cheap();
        assert!(!h.verify(None, &SecretString::from("anything at all 123")));
    }

    #[test]
    fn policy_rejects_short_and_long() {
        assert!(matches!(
            PasswordHasher::check_policy(&SecretString::from("short")),
            Err(PasswordError::TooShort)
        ));
        let long = "x".repeat(MAX_PASSWORD_LEN + 1);
        assert!(matches!(
            PasswordHasher::check_policy(&SecretString::from(long)),
            Err(PasswordError::TooLong)
        ));
    }

    #[test]
    fn default_params_are_owasp() {
        let p = PasswordParams::default();
        assert_eq!((p.memory_kib, p.iterations, p.parallelism), (19_456, 2, 1));
    }
}
