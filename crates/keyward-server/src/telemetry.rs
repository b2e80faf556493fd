//! Per-request telemetry: a request id (the caller's `X-Request-Id` when it
//! is a sane short token, else a fresh one; echoed in the response), a
//! tracing span with method, route template, status and latency, and the
//! HTTP metrics. Only the method and the route *template* are recorded —
//! never the raw path, query, headers, cookies or bodies.

use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The request-id header.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The route label of requests that matched no route.
pub const UNMATCHED: &str = "unmatched";

/// A request's id, as handlers may read it from the request extensions.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Whether an incoming id is safe to adopt: 1–64 characters of
/// `[A-Za-z0-9._-]` (no spaces, no control characters, nothing to inject
/// into a log line).
pub fn is_sane_request_id(raw: &str) -> bool {
    (1..=64).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn request_id(req: &Request) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_sane_request_id(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string())
}

/// The method as a label from a fixed set: a client may send any token as
/// a method (`curl -X AAAA1`), and each distinct label would be a new
/// metrics series kept for good.
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method as M;
    match *method {
        M::GET => "GET",
        M::HEAD => "HEAD",
        M::POST => "POST",
        M::PUT => "PUT",
        M::PATCH => "PATCH",
        M::DELETE => "DELETE",
        M::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// Middleware: request id, span, access log line and HTTP metrics.
pub async fn observe(mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(&req);
    let method = method_label(req.method());
    let has_body = req
        .headers()
        .contains_key(axum::http::header::TRANSFER_ENCODING)
        || req
            .headers()
            .get(axum::http::header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0");
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| UNMATCHED.to_owned());
    if let Ok(v) = HeaderValue::from_str(&id) {
        req.headers_mut().insert(REQUEST_ID, v);
    }
    req.extensions_mut().insert(RequestId(id.clone()));
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %method,
        route = %route,
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    );
    let mut response = next.run(req).instrument(span.clone()).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    let latency_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    span.record("status", status);
    span.record("latency_ms", latency_ms);
    span.in_scope(|| {
        if status >= 500 {
            tracing::warn!("request failed");
        } else {
            tracing::info!("request");
        }
    });
    crate::metrics::http(method, &route, status, elapsed);
    // A refusal may be sent before the body was read (no session, wrong
    // content type, too large): its unread bytes would be taken for the
    // next request on this connection. Closing it is the safe answer.
    if has_body && status >= 400 {
        response.headers_mut().insert(
            axum::http::header::CONNECTION,
            HeaderValue::from_static("close"),
        );
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_short_plain_tokens_are_adopted() {
        assert!(is_sane_request_id("abc-123_X.y"));
        assert!(is_sane_request_id(&"a".repeat(64)));
        assert!(!is_sane_request_id(""));
        assert!(!is_sane_request_id(&"a".repeat(65)));
        assert!(!is_sane_request_id("a b"));
        assert!(!is_sane_request_id("a\nb"));
        assert!(!is_sane_request_id("ä"));
        assert!(!is_sane_request_id("a;b=c"));
    }
}
