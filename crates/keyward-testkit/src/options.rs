//! Reading the options JSON a server sends to the browser for `create()` / `get()`.

use serde_json::Value;

use crate::TestkitError;
use crate::encoding::b64_decode_lenient;

/// The parts of `PublicKeyCredentialCreationOptions` the key needs.
pub(crate) struct CreationOptions {
    /// Relying party id (`rp.id`, or the origin's host if absent).
    pub rp_id: String,
    /// The challenge bytes.
    pub challenge: Vec<u8>,
    /// `user.id`, if present.
    pub user_id: Option<Vec<u8>>,
    /// Ids in `excludeCredentials`.
    pub exclude: Vec<Vec<u8>>,
}

/// The parts of `PublicKeyCredentialRequestOptions` the key needs.
pub(crate) struct RequestOptions {
    /// Relying party id (`rpId`, or the origin's host if absent).
    pub rp_id: String,
    /// The challenge bytes.
    pub challenge: Vec<u8>,
    /// Ids in `allowCredentials`, in order.
    pub allow: Vec<Vec<u8>>,
}

/// The `publicKey` member if `options` is `{"publicKey": {...}}`, else `options` itself.
fn public_key(options: &Value) -> &Value {
    match options.get("publicKey") {
        Some(inner) if inner.is_object() => inner,
        _ => options,
    }
}

/// Binary data as WebAuthn JSON carries it: a base64(url) string or an array of bytes.
fn bytes(value: &Value, what: &str) -> Result<Vec<u8>, TestkitError> {
    match value {
        Value::String(s) => b64_decode_lenient(s),
        Value::Array(items) => items
            .iter()
            .map(|item| {
                item.as_u64()
                    .and_then(|n| u8::try_from(n).ok())
                    .ok_or_else(|| TestkitError::Options(format!("{what}: not a byte array")))
            })
            .collect(),
        _ => Err(TestkitError::Options(format!("{what}: not binary data"))),
    }
}

/// The `id`s of a list of credential descriptors (`allowCredentials`, `excludeCredentials`).
fn descriptor_ids(list: Option<&Value>, what: &str) -> Result<Vec<Vec<u8>>, TestkitError> {
    match list {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                let id = item
                    .get("id")
                    .ok_or_else(|| TestkitError::Options(format!("{what}: entry without id")))?;
                bytes(id, what)
            })
            .collect(),
        Some(_) => Err(TestkitError::Options(format!("{what}: not an array"))),
    }
}

/// The host of an origin such as `http://localhost:8080`: the browser's default rp id.
fn origin_host(origin: &str) -> Result<String, TestkitError> {
    let after_scheme = origin.split_once("://").map_or(origin, |(_, rest)| rest);
    let authority = after_scheme.split('/').next().unwrap_or_default();
    let host = if let Some(v6) = authority.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    if host.is_empty() {
        return Err(TestkitError::Options(format!(
            "no rp id and origin {origin:?} has no host"
        )));
    }
    Ok(host.to_owned())
}

/// The challenge member, decoded.
fn challenge(options: &Value) -> Result<Vec<u8>, TestkitError> {
    let value = options
        .get("challenge")
        .ok_or_else(|| TestkitError::Options("missing challenge".into()))?;
    bytes(value, "challenge")
}

/// Parse creation options (`CreationChallengeResponse` JSON or its `publicKey`).
pub(crate) fn creation(options: &Value, origin: &str) -> Result<CreationOptions, TestkitError> {
    let pk = public_key(options);
    let rp_id = match pk
        .get("rp")
        .and_then(|rp| rp.get("id"))
        .and_then(Value::as_str)
    {
        Some(id) => id.to_owned(),
        None => origin_host(origin)?,
    };
    let user_id = pk
        .get("user")
        .and_then(|user| user.get("id"))
        .map(|id| bytes(id, "user.id"))
        .transpose()?;
    if let Some(Value::Array(params)) = pk.get("pubKeyCredParams")
        && !params.is_empty()
        && !params
            .iter()
            .any(|p| p.get("alg").and_then(Value::as_i64) == Some(-7))
    {
        return Err(TestkitError::UnsupportedAlgorithm);
    }
    Ok(CreationOptions {
        rp_id,
        challenge: challenge(pk)?,
        user_id,
        exclude: descriptor_ids(pk.get("excludeCredentials"), "excludeCredentials")?,
    })
}

/// Parse request options (`RequestChallengeResponse` JSON or its `publicKey`).
pub(crate) fn request(options: &Value, origin: &str) -> Result<RequestOptions, TestkitError> {
    let pk = public_key(options);
    let rp_id = match pk.get("rpId").and_then(Value::as_str) {
        Some(id) => id.to_owned(),
        None => origin_host(origin)?,
    };
    Ok(RequestOptions {
        rp_id,
        challenge: challenge(pk)?,
        allow: descriptor_ids(pk.get("allowCredentials"), "allowCredentials")?,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepts_wrapped_and_inner_options_and_lenient_base64() {
        let inner = json!({"challenge": "+/8=", "rpId": "example.com",
            "allowCredentials": [{"type": "public-key", "id": "AQI"}]});
        let wrapped = json!({ "publicKey": inner.clone() });
        for options in [inner, wrapped] {
            let parsed = request(&options, "https://example.com").unwrap();
            assert_eq!(parsed.challenge, vec![0xfb, 0xff]);
            assert_eq!(parsed.rp_id, "example.com");
            assert_eq!(parsed.allow, vec![vec![1, 2]]);
        }
    }

    #[test]
    fn rp_id_defaults_to_origin_host() {
        let parsed = request(&json!({"challenge": "AA"}), "http://localhost:8080/x").unwrap();
        assert_eq!(parsed.rp_id, "localhost");
    }

    #[test]
    fn refuses_options_without_es256() {
        let options = json!({"challenge": "AA", "rp": {"id": "a"},
            "pubKeyCredParams": [{"type": "public-key", "alg": -257}]});
        assert!(matches!(
            creation(&options, "https://a"),
            Err(TestkitError::UnsupportedAlgorithm)
        ));
    }
}
