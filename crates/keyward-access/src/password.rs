//! Password hashing with argon2id. Hashing is CPU-bound: callers run it on a
//! blocking pool, never on the async runtime.

use argon2::password_hash::{PasswordHash, PasswordVerifier, SaltString, rand_core::OsRng};
use argon2::{Algorithm, Argon2, Params, Version};
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

/// Hashes and verifies passwords with fixed argon2id parameters.
#[derive(Clone)]
pub struct PasswordHasher {
    argon: Argon2<'static>,
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
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, p);
        let mut hasher = Self {
            argon,
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
    /// Comparison of the digests is constant-time inside `argon2`.
    pub fn verify(&self, stored: Option<&str>, password: &SecretString) -> bool {
        let candidate = password.expose_secret();
        if candidate.len() > MAX_PASSWORD_LEN * 4 {
            return false;
        }
        let phc = stored.unwrap_or(&self.dummy_hash);
        let Ok(parsed) = PasswordHash::new(phc) else {
            return false;
        };
        let ok = self
            .argon
            .verify_password(candidate.as_bytes(), &parsed)
            .is_ok();
        ok && stored.is_some()
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
