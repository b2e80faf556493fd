//! OpenAPI descriptions of values whose Rust type is a plain `String` or a
//! `serde_json::Value` but whose form is fixed elsewhere: IP addresses and
//! networks, and the WebAuthn `PublicKeyCredential` JSON the browser sends
//! (parsed by webauthn-rs, so it has no wire type of Keyward's own).
//! Documentation only: nothing constructs these types.

#![allow(dead_code)]

use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type};
use utoipa::{PartialSchema, ToSchema};

/// Canonical unpadded base64url: whole quads, then an optional tail of 2
/// or 3 characters whose unused low bits are zero (as webauthn-rs decodes).
const B64URL: &str =
    "^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-][AQgw]|[A-Za-z0-9_-]{2}[AEIMQUYcgkosw048])?$";

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

/// Canonical unpadded base64url.
pub struct Base64Url;

impl PartialSchema for Base64Url {
    fn schema() -> RefOr<Schema> {
        string()
            .pattern(Some(B64URL))
            .description(Some("Unpadded base64url."))
            .into()
    }
}
impl ToSchema for Base64Url {}

/// An IPv4 or IPv6 address.
pub struct IpAddress;

/// A string of the JSON Schema format `ipv4` or `ipv6`.
fn ip_formats() -> OneOfBuilder {
    let format = |name: &str| string().format(Some(SchemaFormat::Custom(name.into())));
    OneOfBuilder::new()
        .item(format("ipv4"))
        .item(format("ipv6"))
}

impl PartialSchema for IpAddress {
    fn schema() -> RefOr<Schema> {
        ip_formats()
            .description(Some("An IPv4 or IPv6 address."))
            .into()
    }
}
impl ToSchema for IpAddress {}

/// An IPv4 or IPv6 address, or a network in CIDR notation.
pub struct IpNetwork;

impl PartialSchema for IpNetwork {
    fn schema() -> RefOr<Schema> {
        ip_formats()
            .item(string().pattern(Some(
                r"^(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])){3}/(2[4-9]|3[0-2])$",
            )))
            .description(Some(
                "An address (IPv4 or IPv6) or a network in CIDR notation, no wider than the \
                 server allows (by default /24 for IPv4, /48 for IPv6).",
            ))
            .into()
    }
}
impl ToSchema for IpNetwork {}

/// `PublicKeyCredential.toJSON()` of a registration (WebAuthn L3).
#[derive(ToSchema)]
pub struct RegistrationCredential {
    /// The credential id, base64url.
    #[schema(value_type = Base64Url)]
    id: String,
    /// The credential id, base64url.
    #[schema(rename = "rawId", value_type = Base64Url)]
    raw_id: String,
    /// Always `public-key`.
    #[schema(rename = "type", pattern = "^public-key$")]
    type_: String,
    /// The authenticator's attestation.
    response: AttestationResponse,
}

/// `AuthenticatorAttestationResponse` as JSON.
#[derive(ToSchema)]
pub struct AttestationResponse {
    /// base64url.
    #[schema(rename = "clientDataJSON", value_type = Base64Url)]
    client_data_json: String,
    /// base64url CBOR.
    #[schema(rename = "attestationObject", value_type = Base64Url)]
    attestation_object: String,
}

/// `PublicKeyCredential.toJSON()` of an assertion (WebAuthn L3).
#[derive(ToSchema)]
pub struct AssertionCredential {
    /// The credential id, base64url.
    #[schema(value_type = Base64Url)]
    id: String,
    /// The credential id, base64url.
    #[schema(rename = "rawId", value_type = Base64Url)]
    raw_id: String,
    /// Always `public-key`.
    #[schema(rename = "type", pattern = "^public-key$")]
    type_: String,
    /// The authenticator's signature over the challenge.
    response: AssertionResponse,
}

/// `AuthenticatorAssertionResponse` as JSON.
#[derive(ToSchema)]
pub struct AssertionResponse {
    /// base64url.
    #[schema(rename = "clientDataJSON", value_type = Base64Url)]
    client_data_json: String,
    /// base64url.
    #[schema(rename = "authenticatorData", value_type = Base64Url)]
    authenticator_data: String,
    /// base64url.
    #[schema(value_type = Base64Url)]
    signature: String,
    /// base64url; the user's id, when the key sends it.
    #[schema(rename = "userHandle", value_type = Base64Url)]
    user_handle: Option<String>,
}

/// The details of a withdrawal (`details` of `POST /v1/step-ups`).
/// `asset` lists the configured assets in the served document.
#[derive(ToSchema)]
pub struct WithdrawalDetails {
    /// Asset code, e.g. `BTC`.
    #[schema(example = "BTC")]
    asset: String,
    /// Network, e.g. `bitcoin`.
    #[schema(example = "bitcoin", pattern = "^[a-z0-9-]{2,32}$")]
    network: String,
    /// A positive decimal amount within the asset's precision (no
    /// exponent, no sign).
    #[schema(
        example = "0.25",
        pattern = r"^([1-9][0-9]{0,11}(\.[0-9]{1,6})?|0\.(?=[0-9]*[1-9])[0-9]{1,6})$"
    )]
    amount: String,
    /// The destination address; a withdrawal is approved only to an
    /// allow-listed address.
    #[schema(
        example = "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh",
        pattern = "^[A-Za-z0-9:._-]{8,128}$"
    )]
    destination: String,
    /// Memo or destination tag, for networks that use one.
    #[schema(pattern = "^[ -~]{1,64}$")]
    memo: Option<String>,
    /// The exchange's reference: a repeat with the same details returns
    /// the same step-up.
    #[schema(example = "payout-1", pattern = "^[A-Za-z0-9._:-]{1,64}$")]
    client_reference: String,
}
