//! Entry points for the coverage-guided fuzz targets in `fuzz/`: each runs
//! the server's own parsing and validation of one kind of untrusted input —
//! the same functions the handlers call, in the same order — with no
//! database, no network and no clock. Not part of the supported API. It must
//! not add checks of its own, or a finding here would not be one in the
//! server (and a pass here would prove nothing about it).

use std::collections::BTreeMap;

use serde_json::Value;

use crate::config::AssetConfig;
use crate::domain::details::{Canonical, canonicalise};
use crate::domain::names::{KeyLabel, Username};
use crate::error::{ApiError, ApiResult};
use crate::extract::parse_json;
use crate::flows::api_keys::verify::checked_ip;
use crate::flows::withdrawal_controls::address_details;
use crate::flows::{assertion, keys};

/// The JSON request bodies the API accepts, one per request type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    /// `POST /v1/signup`, `POST /v1/signin/password`.
    Credentials,
    /// `POST /v1/signin/key/verify`, `/v1/keys/reauth/verify`, `/v1/step-ups/{id}/verify`.
    CeremonyAnswer,
    /// `POST /v1/keys/registration/verify`.
    Registration,
    /// `PATCH /v1/keys/{id}`.
    Rename,
    /// `POST /v1/password`.
    PasswordChange,
    /// `PUT /v1/settings`.
    Settings,
    /// `POST /v1/step-ups` (service).
    CreateStepUp,
    /// `POST /v1/addresses`.
    NewAddress,
    /// `POST /v1/admin/withdrawals/freeze` (service).
    FreezeBody,
    /// `POST /v1/api-keys/verify` (service).
    VerifyRequest,
    /// `POST /v1/api-keys/step-up`: the API-key details.
    ApiKeyRequest,
    /// `POST /v1/api-keys`: `step_up_id` plus the API-key details.
    ApiKeyCreate,
}

impl Body {
    /// Every body, in selector order.
    pub const ALL: [Body; 12] = [
        Body::Credentials,
        Body::CeremonyAnswer,
        Body::Registration,
        Body::Rename,
        Body::PasswordChange,
        Body::Settings,
        Body::CreateStepUp,
        Body::NewAddress,
        Body::FreezeBody,
        Body::VerifyRequest,
        Body::ApiKeyRequest,
        Body::ApiKeyCreate,
    ];

    /// The body a selector byte picks.
    pub fn from_selector(selector: u8) -> Body {
        Self::ALL[usize::from(selector) % Self::ALL.len()]
    }
}

/// What the server does with `bytes` as the body `kind` before it touches
/// the database: `ApiJson`'s parse, then the checks and domain parsers the
/// handler and its flow apply. `Ok` carries the canonical details where the
/// body has them. Errors are what the client would get (as problems).
pub fn api_body(
    kind: Body,
    bytes: &[u8],
    assets: &BTreeMap<String, AssetConfig>,
) -> ApiResult<Option<Canonical>> {
    use keyward_api::{account, api_keys, keys as key_bodies, step_ups, withdrawals};
    match kind {
        Body::Credentials => {
            let body: account::Credentials = parse_json(bytes)?;
            let username = Username::parse(&body.username)?;
            password_policy("password", &body.password, username.as_str())?;
        }
        Body::CeremonyAnswer => {
            let body: key_bodies::CeremonyAnswer = parse_json(bytes)?;
            assertion::assertion_response(body.credential)?;
        }
        Body::Registration => {
            let body: key_bodies::Registration = parse_json(bytes)?;
            KeyLabel::parse(&body.label)?;
            keys::registration_response(body.credential)?;
        }
        Body::Rename => {
            let body: key_bodies::Rename = parse_json(bytes)?;
            KeyLabel::parse(&body.label)?;
        }
        Body::PasswordChange => {
            let body: account::PasswordChange = parse_json(bytes)?;
            // The handler knows the username (from the session); any does.
            password_policy("new_password", &body.new_password, "")?;
        }
        Body::Settings => {
            let body: account::Settings = parse_json(bytes)?;
            crate::domain::names::phrase(&body.anti_phishing_phrase)?;
        }
        Body::CreateStepUp => {
            let body: step_ups::CreateStepUp = parse_json(bytes)?;
            return Ok(Some(canonicalise(&body.action, &body.details, assets)?));
        }
        Body::NewAddress => {
            let body: withdrawals::NewAddress = parse_json(bytes)?;
            return Ok(Some(canonicalise(
                "address.add",
                &address_details(&body),
                assets,
            )?));
        }
        Body::FreezeBody => {
            let body: withdrawals::FreezeRequest = parse_json(bytes)?;
            crate::domain::names::freeze_reason(&body.reason)?;
        }
        Body::VerifyRequest => {
            let body: api_keys::VerifyApiKey = parse_json(bytes)?;
            checked_ip(&body)?;
        }
        Body::ApiKeyRequest => {
            let details: Value = parse_json(bytes)?;
            return Ok(Some(canonicalise("api_key.create", &details, assets)?));
        }
        Body::ApiKeyCreate => {
            let mut body: Value = parse_json(bytes)?;
            crate::flows::api_keys::take_step_up_id(&mut body)?;
            return Ok(Some(canonicalise("api_key.create", &body, assets)?));
        }
    }
    Ok(None)
}

/// The new-password policy (length, then zxcvbn's strength estimate on any
/// text), as `Passwords::hash` reports it, without hashing: argon2id is the
/// expensive, not the parsing, part.
fn password_policy(field: &str, password: &secrecy::SecretString, username: &str) -> ApiResult<()> {
    keyward_access::PasswordHasher::check_policy(password, &[username])
        .map_err(|e| ApiError::invalid(field, e.to_string()))
}

/// The step-up details canonicaliser on raw details JSON (`action` picks the
/// kind); `None` when `bytes` is not JSON at all.
pub fn stepup_details(
    action: &str,
    bytes: &[u8],
    assets: &BTreeMap<String, AssetConfig>,
) -> Option<ApiResult<Canonical>> {
    let raw: Value = serde_json::from_slice(bytes).ok()?;
    Some(canonicalise(action, &raw, assets).map_err(ApiError::from))
}

/// The HTTP status of the problem response `err` becomes.
pub fn problem_status(err: ApiError) -> u16 {
    use axum::response::IntoResponse as _;
    err.into_response().status().as_u16()
}
