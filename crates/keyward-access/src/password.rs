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
/// The lowest zxcvbn score a new password must reach. Three is zxcvbn's
/// "moderate protection from an offline slow-hash attack" (about 10^8
/// guesses or more): the attack argon2id is there to slow if the database
/// leaks. It refuses dictionary passwords, keyboard runs, repeats and the
/// username with a few digits; passphrases of three or four ordinary words
/// pass. Four would also refuse e.g. "Summer2026!!!!", but then some
/// reasonable phrases too.
pub const MIN_STRENGTH: zxcvbn::Score = zxcvbn::Score::Three;
/// Words about this site that make a password easy to guess here, given to
/// zxcvbn with the username.
const SITE_WORDS: [&str; 1] = ["keyward"];

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
    /// The password is common or easy to guess (zxcvbn's score is below
    /// [`MIN_STRENGTH`]). Said in words for the person choosing it.
    #[error(
        "This password is too common or easy to guess. Try a longer phrase of unrelated words."
    )]
    TooGuessable,
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

    /// Checks the rules a new password must meet: its length, then that it
    /// is not easy to guess. `user_inputs` are words the person is known by
    /// (the username): a password built on them is easy to guess too.
    ///
    /// The strength estimate takes from a fraction of a millisecond to ~25
    /// ms (at the longest length allowed, optimised; the first call also
    /// builds zxcvbn's dictionaries): CPU work, so the server runs it on its
    /// hashing threads with the hash.
    pub fn check_policy(
        password: &SecretString,
        user_inputs: &[&str],
    ) -> Result<(), PasswordError> {
        let password = password.expose_secret();
        let len = password.chars().count();
        if len < MIN_PASSWORD_LEN {
            return Err(PasswordError::TooShort);
        }
        if len > MAX_PASSWORD_LEN {
            return Err(PasswordError::TooLong);
        }
        let words: Vec<&str> = user_inputs.iter().chain(&SITE_WORDS).copied().collect();
        if zxcvbn::zxcvbn(password, &words).score() < MIN_STRENGTH {
            return Err(PasswordError::TooGuessable);
        }
        Ok(())
    }

    /// Hashes a new password (after checking the policy, with `user_inputs`
    /// as [`Self::check_policy`] takes them) into a PHC string.
    pub fn hash(
        &self,
        password: &SecretString,
        user_inputs: &[&str],
    ) -> Result<String, PasswordError> {
        Self::check_policy(password, user_inputs)?;
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
        let phc = h.hash(&pw, &[]).unwrap();
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
                .hash(&pw, &[])
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

    fn policy(password: &str, user_inputs: &[&str]) -> Result<(), PasswordError> {
        PasswordHasher::check_policy(&SecretString::from(password), user_inputs)
    }

    #[test]
    fn policy_rejects_short_and_long() {
        assert!(matches!(policy("short", &[]), Err(PasswordError::TooShort)));
        let long = "x".repeat(MAX_PASSWORD_LEN + 1);
        assert!(matches!(policy(&long, &[]), Err(PasswordError::TooLong)));
    }

    #[test]
    fn policy_rejects_the_common_and_the_username_with_digits() {
        for common in [
            "password1234",
            "qwertyuiop123",
            "iloveyou1234",
            "passwordpassword",
            "aaaaaaaaaaaaaaaa",
            "keyward12345",
        ] {
            assert!(
                matches!(policy(common, &[]), Err(PasswordError::TooGuessable)),
                "{common}"
            );
        }
        // Built on the username: refused for that user only.
        assert!(matches!(
            policy("qhzvrt12345678", &["qhzvrt"]),
            Err(PasswordError::TooGuessable)
        ));
        policy("qhzvrt12345678", &["alice"]).unwrap();
    }

    /// Every password the tests, the README and the load generator sign up
    /// with passes, so none of them has to change with the policy.
    #[test]
    fn policy_accepts_ordinary_passphrases() {
        for good in [
            "correct horse battery staple",
            "alice-correct-horse-battery",
            "long enough password",
            "another long password",
            "a brand new passphrase",
            "a whole new passphrase",
            "load generator password",
            "imported account password",
        ] {
            policy(good, &["alice"]).unwrap_or_else(|e| panic!("{good}: {e}"));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]
        /// zxcvbn gets any text a client sends (of an allowed length): it
        /// must answer, not panic (a panic would be a 500 at sign-up).
        #[test]
        fn policy_never_panics(password in "\\PC{12,80}", name in "[a-z0-9._-]{3,32}") {
            let _ = policy(&password, &[&name]);
        }
    }

    #[test]
    fn default_params_are_owasp() {
        let p = PasswordParams::default();
        assert_eq!((p.memory_kib, p.iterations, p.parallelism), (19_456, 2, 1));
    }
}
