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
    // serde_path_to_error fails an unknown member while reading its key, so
    // the path already ends with it; a missing member is not in the path.
    let unknown = message.contains("unknown field `");
    match (inner, named) {
        (true, Some(_)) if unknown => path.to_owned(),
        (true, Some(name)) => format!("{path}.{name}"),
        (true, None) => path.to_owned(),
        (false, Some(name)) => name.to_owned(),
        (false, None) => "body".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        id: String,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        inner: Option<Inner>,
    }

    fn field_of(json: &str) -> String {
        let mut de = serde_json::Deserializer::from_str(json);
        let e = serde_path_to_error::deserialize::<_, Outer>(&mut de).unwrap_err();
        let path = e.path().to_string();
        field_name(&path, &e.into_inner().to_string())
    }

    #[test]
    fn names_each_member_once() {
        assert_eq!(field_of(r#"{"name":"a","colour":"red"}"#), "colour");
        assert_eq!(field_of(r#"{"colour":"red"}"#), "colour");
        assert_eq!(field_of(r#"{}"#), "name");
        assert_eq!(field_of(r#"{"name":1}"#), "name");
        assert_eq!(field_of(r#"{"name":"a","inner":{}}"#), "inner.id");
        assert_eq!(
            field_of(r#"{"name":"a","inner":{"id":"x","x":1}}"#),
            "inner.x"
        );
        assert_eq!(field_of(r#"[]"#), "body");
    }
}
