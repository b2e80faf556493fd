//! Request extractors and middleware: JSON bodies that fail as problems,
//! client information, and the `Origin` check for browser requests.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request, State};
use axum::http::{Method, header, request::Parts};
use axum::middleware::Next;
use axum::response::Response;
use serde::de::DeserializeOwned;

use crate::domain::validation::field_name;
use crate::error::ApiError;
use crate::state::AppState;

/// A JSON body. Wrong content type → 415, bad syntax → 400, wrong shape or
/// types → 422 naming the field, too large → 413; always problem+json.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::MalformedBody("could not read the body".into())
            }
        })?;
        parse_json(&bytes).map(ApiJson)
    }
}

/// Deserialises JSON, naming the path of the first offending field.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut *de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => {
                let message = inner.to_string();
                ApiError::invalid(field_name(&path, &message), message)
            }
            _ => ApiError::MalformedBody(inner.to_string()),
        }
    })?;
    // One JSON value and nothing after it but whitespace: `{...}garbage`
    // is malformed, not a body with an ignorable tail.
    de.end()
        .map_err(|e| ApiError::MalformedBody(e.to_string()))?;
    Ok(value)
}

pub use crate::caller::Client;

/// The client's address: the peer, or — when the peer is a configured
/// trusted proxy — the right-most `X-Forwarded-For` entry that is not itself
/// a trusted proxy. Entries further left are written by the client and could
/// be forged, so they are never believed. A trusted proxy passing a hop that
/// is not an address is an error (the request is refused); `None` when the
/// peer is unknown.
pub fn client_ip(
    parts: &Parts,
    trusted: &[ipnet::IpNet],
) -> Result<Option<std::net::IpAddr>, ApiError> {
    let Some(peer) = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(a)| a.ip())
    else {
        return Ok(None);
    };
    let is_trusted = |ip: &std::net::IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Ok(Some(peer));
    }
    // Walk from the right (the hop our proxy added) to the first address
    // that is not one of our proxies. A hop on that walk that does not parse
    // fails closed: the client is unknown, not whoever is further left.
    let bad_hop = || ApiError::invalid("X-Forwarded-For", "a hop is not an IP address");
    let mut hops = Vec::new();
    for value in parts.headers.get_all("x-forwarded-for") {
        let value = value.to_str().map_err(|_| bad_hop())?;
        hops.extend(value.split(',').map(str::trim));
    }
    for hop in hops.into_iter().rev() {
        let ip: std::net::IpAddr = hop.parse().map_err(|_| bad_hop())?;
        if !is_trusted(&ip) {
            return Ok(Some(ip));
        }
    }
    Ok(Some(peer))
}

impl FromRequestParts<AppState> for Client {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let ip = client_ip(parts, &app.config.trusted_proxies)?
            .map(|ip| ip.to_string())
            .unwrap_or_else(|| "unknown".into());
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .chars()
            .take(256)
            .collect();
        let device_cookie = app.devices.from_headers(&parts.headers);
        Ok(Self {
            ip,
            user_agent,
            device_cookie,
        })
    }
}

/// Refuses state-changing browser requests whose `Origin` is not Keyward's
/// own (cross-site request forgery defence, on top of `SameSite=Strict`).
/// A service request — an `Authorization` header and no cookie — carries no
/// ambient credential and is not checked. A request with a cookie is a
/// browser's whatever else it sends: an `Authorization` header beside the
/// cookie never switches the check off.
pub async fn require_origin(
    State(app): State<AppState>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    let service = req.headers().contains_key(header::AUTHORIZATION)
        && !req.headers().contains_key(header::COOKIE);
    if !safe && !service {
        let origin = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok());
        if origin != Some(app.config.origin_header().as_str()) {
            return Err(ApiError::OriginMismatch);
        }
    }
    Ok(next.run(req).await)
}

/// An authenticated exchange service (`Authorization: Bearer kw_svc_…`).
#[derive(Debug, Clone)]
pub struct Service(pub std::sync::Arc<crate::store::service_keys::ServiceKeyRow>);

impl Service {
    /// Fails with 403 unless the key carries `scope`.
    pub fn require(&self, scope: &'static str) -> Result<(), ApiError> {
        if self.0.has_scope(scope) {
            Ok(())
        } else {
            Err(ApiError::InsufficientScope(scope))
        }
    }
}

/// The bearer token of a request, if it has one.
pub fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

impl FromRequestParts<AppState> for Service {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or(ApiError::InvalidServiceKey)?;
        // The checksum rejects typos and truncations without a database query.
        let hash = keyward_access::token::parse(keyward_access::token::TokenKind::Service, token)
            .map_err(|_| ApiError::InvalidServiceKey)?;
        let row = crate::flows::api_keys::verify::service_key(app, &hash)
            .await?
            .ok_or(ApiError::InvalidServiceKey)?;
        Ok(Self(row))
    }
}
