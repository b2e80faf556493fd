//! Helpers for handling secrets: constant-time comparison.
//! Secrets themselves travel as `secrecy::SecretString`, whose `Debug` is redacted.

use subtle::ConstantTimeEq;

/// Compares two byte strings in time that depends only on their lengths, so a
/// caller cannot learn how many leading bytes of a guessed secret were right.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_and_unequal() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
