//! The web pages: the files of `web/public`, embedded in the binary (one file
//! deploys), served with their content type, ETag revalidation and — on HTML —
//! a strict Content-Security-Policy (no inline script or style anywhere).
//!
//! `/` and the app's pages serve `index.html` (the app routes in the
//! browser); `/confirm/{id}` serves the hosted confirmation page for any id;
//! `/assets/...` serves static files. An unknown asset is a problem+json 404.
//! A browser asking for a page that does not exist gets a page saying so
//! ([`not_found`]); an app page with a trailing slash is redirected.

use std::collections::HashMap;
use std::sync::OnceLock;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use include_dir::{Dir, include_dir};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::state::AppState;

/// The served tree. Editing a file rebuilds the crate; after adding or
/// removing one, touch this file so the macro runs again.
static PUBLIC: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/../../web/public");

/// The app's pages (routed in the browser by `assets/js/app.js`; keep the two
/// lists in step).
pub const APP_PAGES: &[&str] = &[
    "/",
    "/signin",
    "/signup",
    "/enrol",
    "/keys",
    "/sessions",
    "/activity",
    "/addresses",
    "/api-keys",
    "/settings",
    "/recover",
    "/freeze",
];

/// The policy on every HTML page: only this origin's files, nothing inline,
/// never framed.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; \
    base-uri 'none'; form-action 'self'";

/// Routes for the embedded web pages.
pub fn router() -> Router<AppState> {
    let mut router = Router::new();
    for page in APP_PAGES {
        router = router.route(page, get(app_page));
    }
    router
        .route("/confirm/{id}", get(confirm_page))
        .route("/assets/{*path}", get(asset))
}

/// What an unknown path answers: for a browser asking for a page (a GET
/// that accepts HTML, outside the API), the app page it meant without a
/// trailing slash (308), or a plain "page not found" page (404); for
/// everything else the `not-found` problem, as the API documents.
pub async fn not_found(
    method: axum::http::Method,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    let path = uri.path();
    let wants_page = matches!(method, axum::http::Method::GET | axum::http::Method::HEAD)
        && !path.starts_with("/v1/")
        && headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|accept| accept.contains("text/html"));
    if !wants_page {
        return ApiError::RouteNotFound.into_response();
    }
    let trimmed = path.trim_end_matches('/');
    if trimmed != path && APP_PAGES.contains(&trimmed) {
        let mut response = StatusCode::PERMANENT_REDIRECT.into_response();
        if let Ok(location) = HeaderValue::from_str(trimmed) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        return response;
    }
    let mut response = serve("404.html", &HeaderMap::new());
    *response.status_mut() = StatusCode::NOT_FOUND;
    response.headers_mut().remove(header::ETAG);
    response
}

async fn app_page(headers: HeaderMap) -> Response {
    serve("index.html", &headers)
}

async fn confirm_page(headers: HeaderMap) -> Response {
    serve("confirm.html", &headers)
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    serve(&format!("assets/{path}"), &headers)
}

/// Content type by file extension (the files are ours; the list is short).
fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("json") => "application/json",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// A strong ETag per file: the first 16 bytes of its SHA-256, computed once.
fn etag(path: &str, contents: &[u8]) -> Option<HeaderValue> {
    static TAGS: OnceLock<HashMap<String, String>> = OnceLock::new();
    let tags = TAGS.get_or_init(|| {
        let mut tags = HashMap::new();
        collect_tags(&PUBLIC, &mut tags);
        tags
    });
    let tag = match tags.get(path) {
        Some(tag) => tag.clone(),
        None => tag_of(contents),
    };
    HeaderValue::from_str(&tag).ok()
}

fn collect_tags(dir: &Dir<'static>, tags: &mut HashMap<String, String>) {
    for file in dir.files() {
        let path = file.path().to_string_lossy().replace('\\', "/");
        tags.insert(path, tag_of(file.contents()));
    }
    for sub in dir.dirs() {
        collect_tags(sub, tags);
    }
}

fn tag_of(contents: &[u8]) -> String {
    let digest = Sha256::digest(contents);
    format!("\"{}\"", hex::encode(&digest[..16]))
}

/// Whether `If-None-Match` names this ETag (weak comparison, as RFC 9110 asks).
fn not_modified(request: &HeaderMap, tag: &HeaderValue) -> bool {
    let Ok(tag) = tag.to_str() else { return false };
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .any(|candidate| candidate == "*" || candidate.trim_start_matches("W/") == tag)
}

fn serve(path: &str, request: &HeaderMap) -> Response {
    let Some(file) = PUBLIC.get_file(path) else {
        return ApiError::NotFound("asset").into_response();
    };
    let contents: &'static [u8] = file.contents();
    let tag = etag(path, contents);
    let kind = content_type(path);
    let unchanged = tag.as_ref().is_some_and(|t| not_modified(request, t));
    let mut response = if unchanged {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        contents.into_response()
    };
    let headers = response.headers_mut();
    if !unchanged {
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    }
    if let Some(tag) = tag {
        headers.insert(header::ETAG, tag);
    }
    // The files change with each release and their names do not: always
    // revalidate (a 304 costs a round trip, never a stale page).
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if kind.starts_with("text/html") {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CONTENT_SECURITY_POLICY),
        );
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(
            "cross-origin-opener-policy",
            HeaderValue::from_static("same-origin"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_and_asset_is_embedded() {
        assert!(PUBLIC.get_file("index.html").is_some());
        assert!(PUBLIC.get_file("confirm.html").is_some());
        assert!(PUBLIC.get_file("assets/keyward.css").is_some());
        assert!(PUBLIC.get_file("assets/js/app.js").is_some());
        assert!(PUBLIC.get_file("assets/js/confirm.js").is_some());
    }

    #[test]
    fn pages_never_collide_with_the_api() {
        for page in APP_PAGES {
            for reserved in [
                "/v1",
                "/healthz",
                "/readyz",
                "/.well-known",
                "/metrics",
                "/openapi.json",
            ] {
                assert!(!page.starts_with(reserved), "{page}");
            }
        }
    }

    #[test]
    fn content_types_by_extension() {
        assert_eq!(
            content_type("assets/js/app.js"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
        assert_eq!(
            content_type("assets/keyward.css"),
            "text/css; charset=utf-8"
        );
        assert_eq!(content_type("assets/x"), "application/octet-stream");
    }

    #[test]
    fn html_gets_the_strict_policy_and_assets_revalidate() {
        let response = serve("index.html", &HeaderMap::new());
        assert_eq!(response.status(), StatusCode::OK);
        let h = response.headers();
        assert_eq!(h[header::CONTENT_SECURITY_POLICY], CONTENT_SECURITY_POLICY);
        assert_eq!(h[header::X_FRAME_OPTIONS], "DENY");
        assert_eq!(h[header::CACHE_CONTROL], "no-cache");
        let tag = h[header::ETAG].clone();
        let mut again = HeaderMap::new();
        again.insert(header::IF_NONE_MATCH, tag);
        let response = serve("index.html", &again);
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
        let css = serve("assets/keyward.css", &HeaderMap::new());
        assert!(css.headers().get(header::CONTENT_SECURITY_POLICY).is_none());
        assert_eq!(css.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    }

    #[test]
    fn unknown_or_escaping_asset_is_not_found() {
        for path in ["assets/nope.js", "assets/../index.html", "../Cargo.toml"] {
            assert_eq!(
                serve(path, &HeaderMap::new()).status(),
                StatusCode::NOT_FOUND
            );
        }
    }

    /// The pages' messages are keyed by the shared catalogues: every
    /// problem slug the messages handle and every policy reason they
    /// explain exists, and every policy reason has its explanation. A kind
    /// renamed or added on the server fails here, not in front of a user.
    #[test]
    fn the_pages_messages_follow_the_catalogues() {
        use keyward_api::{PolicyReason, ProblemKind};
        let messages = PUBLIC
            .get_file("assets/js/messages.js")
            .and_then(|f| f.contents_utf8())
            .unwrap_or_default();
        let quoted = |text: &str, before: &str, after: &str| -> Vec<String> {
            text.split(before)
                .skip(1)
                .filter_map(|rest| rest.split_once(after).map(|(name, _)| name.to_owned()))
                .collect()
        };
        let from_problem = messages
            .split_once("function fromProblem(")
            .and_then(|(_, rest)| rest.split_once("\n}\n"))
            .map(|(body, _)| body)
            .unwrap_or_default();
        let slugs = quoted(from_problem, "case '", "':");
        assert!(slugs.len() > 20, "no problem cases found");
        for slug in slugs.iter().filter(|s| *s != "network") {
            assert!(
                ProblemKind::from_type(slug).is_some(),
                "messages.js handles `{slug}`, which is no problem kind"
            );
        }
        let policy = messages
            .split_once("export const POLICY = {")
            .and_then(|(_, rest)| rest.split_once("};"))
            .map(|(body, _)| body)
            .unwrap_or_default();
        let explained: Vec<String> = policy
            .lines()
            .filter_map(|l| l.trim().split_once(':').map(|(k, _)| k.to_owned()))
            .collect();
        for key in &explained {
            assert_ne!(
                PolicyReason::parse(key),
                PolicyReason::Unknown,
                "POLICY explains `{key}`, which is no policy reason"
            );
        }
        for reason in PolicyReason::all() {
            assert!(
                explained.iter().any(|k| k == reason.as_str()),
                "POLICY does not explain `{reason}`"
            );
        }
    }
}
