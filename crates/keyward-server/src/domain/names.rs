//! Parsed, validated names and short texts: usernames, key labels, the
//! anti-phishing phrase, the operator's freeze reason.

use crate::domain::validation::ValidationError;

/// A normalised username: 3–32 of `a-z 0-9 . _ -`, starting with a letter
/// or digit. ASCII only, so look-alike (homoglyph) names cannot be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Username(String);

impl Username {
    /// Trims and lower-cases, then checks the rules.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let name = raw.trim().to_ascii_lowercase();
        let len = name.chars().count();
        if !(3..=32).contains(&len) {
            return Err(ValidationError::new(
                "username",
                "must be 3 to 32 characters",
            ));
        }
        let allowed =
            |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-');
        if !name.chars().all(allowed) {
            return Err(ValidationError::new(
                "username",
                "may contain only a-z, 0-9, '.', '_' and '-'",
            ));
        }
        if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(ValidationError::new(
                "username",
                "must start with a letter or digit",
            ));
        }
        Ok(Self(name))
    }

    /// The normalised name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A security key's label: 1–64 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLabel(String);

impl KeyLabel {
    /// Trims and checks.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let label = raw.trim();
        let len = label.chars().count();
        if !(1..=64).contains(&len) {
            return Err(ValidationError::new("label", "must be 1 to 64 characters"));
        }
        if label.chars().any(char::is_control) {
            return Err(ValidationError::new(
                "label",
                "must not contain control characters",
            ));
        }
        Ok(Self(label.to_owned()))
    }

    /// The label.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The anti-phishing phrase: 4–64 characters, no control characters,
/// trimmed.
pub fn phrase(raw: &str) -> Result<&str, ValidationError> {
    let phrase = raw.trim();
    let len = phrase.chars().count();
    if !(4..=64).contains(&len) || phrase.chars().any(char::is_control) {
        return Err(ValidationError::new(
            "anti_phishing_phrase",
            "must be 4-64 characters without control characters",
        ));
    }
    Ok(phrase)
}

/// The operator's reason for a freeze: 1–200 characters, trimmed.
pub fn freeze_reason(raw: &str) -> Result<&str, ValidationError> {
    let reason = raw.trim();
    if reason.is_empty() || reason.len() > 200 {
        return Err(ValidationError::new("reason", "must be 1-200 characters"));
    }
    Ok(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_normalised() {
        assert_eq!(Username::parse("  Alice.B ").unwrap().as_str(), "alice.b");
    }

    #[test]
    fn bad_usernames_are_refused() {
        for bad in [
            "ab",
            "a b c",
            "ålice",
            "-alice",
            "x".repeat(33).as_str(),
            "аlice",
        ] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn labels() {
        assert_eq!(
            KeyLabel::parse(" YubiKey 5C ").unwrap().as_str(),
            "YubiKey 5C"
        );
        assert!(KeyLabel::parse("").is_err());
        assert!(KeyLabel::parse("a\u{0007}").is_err());
        assert!(KeyLabel::parse(&"x".repeat(65)).is_err());
    }
}
