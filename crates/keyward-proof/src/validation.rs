//! Why an input was refused: the field (a JSON path, as the client sent it)
//! and what is wrong with it. The HTTP layer turns it into a `validation`
//! problem (`From<ValidationError> for ApiError`), in one place.

use std::borrow::Cow;

/// A field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {detail}")]
pub struct ValidationError {
    /// The offending field, e.g. `details.amount`.
    pub field: Cow<'static, str>,
    /// What is wrong with it.
    pub detail: Cow<'static, str>,
}

impl ValidationError {
    /// `field` is wrong: `detail`.
    pub fn new(field: impl Into<Cow<'static, str>>, detail: impl Into<Cow<'static, str>>) -> Self {
        Self {
            field: field.into(),
            detail: detail.into(),
        }
    }
}

/// The field a serde error is about: its path, or for a missing or unknown
/// member of the top-level object, the member named in the message.
pub fn field_name(path: &str, message: &str) -> String {
    let inner = path != "." && !path.is_empty();
    let named = ["missing field `", "unknown field `"].iter().find_map(|p| {
        message
            .split_once(p)
            .and_then(|(_, rest)| rest.split_once('`'))
            .map(|(name, _)| name)
    });
    match (inner, named) {
        (true, Some(name)) => format!("{path}.{name}"),
        (true, None) => path.to_owned(),
        (false, Some(name)) => name.to_owned(),
        (false, None) => "body".to_owned(),
    }
}
