//! Security headers on every response: no sniffing, no referrer, no framing,
//! HSTS when the origin is https, `no-store` unless the handler chose its own
//! caching, and a deny-all Content-Security-Policy on anything that is not an
//! HTML page (the web pages set their own policy; it is never overridden).
//! Every `Set-Cookie` of the session cookie carries `HttpOnly`,
//! `SameSite=Strict` and (over https) `Secure` — including the removal cookie
//! tower-sessions sends for a stale or ended session, which it builds bare.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;

/// The policy on non-HTML responses: load nothing, never be framed.
pub const API_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; frame-ancestors 'none'";

/// HSTS for an https origin: two years, subdomains included.
pub const STRICT_TRANSPORT_SECURITY: &str = "max-age=63072000; includeSubDomains";

/// Middleware; the state says whether the configured origin is https.
pub async fn security_headers(State(https): State<bool>, req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    apply(response.headers_mut(), https);
    response
}

/// Adds the headers to `headers`, keeping any the handler set itself.
pub fn apply(headers: &mut HeaderMap, https: bool) {
    let keep = |headers: &mut HeaderMap, name: header::HeaderName, value: &'static str| {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    };
    keep(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    keep(headers, header::REFERRER_POLICY, "no-referrer");
    keep(headers, header::X_FRAME_OPTIONS, "DENY");
    if https {
        keep(
            headers,
            header::STRICT_TRANSPORT_SECURITY,
            STRICT_TRANSPORT_SECURITY,
        );
    }
    keep(headers, header::CACHE_CONTROL, "no-store");
    let html = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("text/html"));
    if !html {
        keep(
            headers,
            header::CONTENT_SECURITY_POLICY,
            API_CONTENT_SECURITY_POLICY,
        );
    }
    harden_session_cookies(headers, https);
}

/// Gives every `Set-Cookie` of the session cookie the attributes it is
/// issued with. A removal cookie without them is harmless to a browser, but
/// one rule with no exception is what scanners and reviewers can check.
fn harden_session_cookies(headers: &mut HeaderMap, https: bool) {
    let name = if https {
        keyward_access::session::SECURE_COOKIE_NAME
    } else {
        keyward_access::session::COOKIE_NAME
    };
    let prefix = format!("{name}=");
    let is_session = |v: &HeaderValue| v.as_bytes().starts_with(prefix.as_bytes());
    if !headers.get_all(header::SET_COOKIE).iter().any(is_session) {
        return;
    }
    let cookies: Vec<HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .cloned()
        .collect();
    headers.remove(header::SET_COOKIE);
    for cookie in cookies {
        let hardened = match cookie.to_str() {
            Ok(text) if is_session(&cookie) => {
                HeaderValue::from_str(&with_session_attributes(text, https)).ok()
            }
            _ => None,
        };
        headers.append(header::SET_COOKIE, hardened.unwrap_or(cookie));
    }
}

/// `cookie` with `HttpOnly`, `SameSite=Strict` and (over https) `Secure`
/// added where missing; attributes already there are kept as they are.
fn with_session_attributes(cookie: &str, https: bool) -> String {
    let present: Vec<String> = cookie
        .split(';')
        .skip(1)
        .filter_map(|a| a.split('=').next())
        .map(|name| name.trim().to_ascii_lowercase())
        .collect();
    let has = |name: &str| present.iter().any(|p| p == name);
    let mut out = cookie.to_owned();
    if !has("httponly") {
        out.push_str("; HttpOnly");
    }
    if !has("samesite") {
        out.push_str("; SameSite=Strict");
    }
    if https && !has("secure") {
        out.push_str("; Secure");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_responses_get_everything() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        apply(&mut h, true);
        assert_eq!(h[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(h[header::REFERRER_POLICY], "no-referrer");
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(
            h[header::STRICT_TRANSPORT_SECURITY],
            STRICT_TRANSPORT_SECURITY
        );
        assert_eq!(h[header::CACHE_CONTROL], "no-store");
        assert_eq!(
            h[header::CONTENT_SECURITY_POLICY],
            API_CONTENT_SECURITY_POLICY
        );
    }

    #[test]
    fn handler_choices_are_kept_and_html_gets_no_api_policy() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        apply(&mut h, false);
        assert_eq!(h[header::CACHE_CONTROL], "no-cache");
        assert!(h.get(header::CONTENT_SECURITY_POLICY).is_none());
        assert!(h.get(header::STRICT_TRANSPORT_SECURITY).is_none());
        let mut h = HeaderMap::new();
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'self'"),
        );
        apply(&mut h, false);
        assert_eq!(h[header::CONTENT_SECURITY_POLICY], "default-src 'self'");
    }

    #[test]
    fn session_cookies_get_their_attributes_and_others_are_left_alone() {
        let removal = "kw_session=; Path=/; Max-Age=0; Expires=Mon, 24 Nov 2025 05:44:09 GMT";
        let secure_removal =
            "__Host-kw_session=; Path=/; Max-Age=0; Expires=Mon, 24 Nov 2025 05:44:09 GMT";
        let issued = "__Host-kw_session=abc; HttpOnly; SameSite=Strict; Secure; Path=/";
        let mut h = HeaderMap::new();
        h.append(header::SET_COOKIE, HeaderValue::from_static(secure_removal));
        h.append(header::SET_COOKIE, HeaderValue::from_static("other=1"));
        h.append(header::SET_COOKIE, HeaderValue::from_static(issued));
        apply(&mut h, true);
        let got: Vec<_> = h.get_all(header::SET_COOKIE).iter().collect();
        assert_eq!(
            got,
            [
                format!("{secure_removal}; HttpOnly; SameSite=Strict; Secure").as_str(),
                "other=1",
                issued,
            ]
        );
        let mut h = HeaderMap::new();
        h.append(header::SET_COOKIE, HeaderValue::from_static(removal));
        apply(&mut h, false);
        assert_eq!(
            h[header::SET_COOKIE],
            format!("{removal}; HttpOnly; SameSite=Strict").as_str()
        );
    }
}
