//! The OpenAPI 3.1 document, generated from the code: every API route is
//! registered with its `#[utoipa::path]` through `utoipa_axum`'s
//! `OpenApiRouter` (see `routes`), and this module adds what is common to
//! all of them — the `Problem` schema with the catalogue of problem types,
//! the security schemes, and the problem responses implied by a route's
//! security, path parameters and request body.
//!
//! In `#[utoipa::path]`, a problem response names its problem slugs in the
//! description (`description = "last-key, not-found"`); [`finish`] turns
//! them into readable text and checks nothing else is needed.

use keyward_api::{PROBLEM_BASE, PROBLEM_JSON, Problem, ProblemKind};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, OpenApi as Document, Ref, RefOr, Response, ResponseBuilder, Schema,
};
use utoipa::{Modify, OpenApi};

mod config_schemas;

/// The top of the document: info, tags, the `Problem` schema, security schemes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Keyward",
        description = "Hardware-backed second factor (WebAuthn) for a cryptocurrency exchange: \
            sign-in, key management, step-up approvals of withdrawals and other sensitive actions, \
            user API keys. Every error is `application/problem+json` (RFC 9457). State-changing \
            browser requests must carry `Origin` equal to the configured origin; service requests \
            authenticate with `Authorization: Bearer kw_svc_…`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    components(schemas(Problem)),
    modifiers(&SecuritySchemes),
    tags(
        (name = "account", description = "Sign-up, sign-in, sign-out, password"),
        (name = "keys", description = "Security keys and re-authentication"),
        (name = "recovery", description = "Recovery codes, and the delayed, cancellable recovery of an account whose keys are lost"),
        (name = "sessions", description = "The user's sessions"),
        (name = "audit", description = "The user's security activity"),
        (name = "settings", description = "The anti-phishing phrase"),
        (name = "withdrawals", description = "Self-freeze, address allow-list, operator freeze"),
        (name = "step-ups", description = "Approvals of sensitive actions with a key"),
        (name = "api-keys", description = "User API keys and gateway verification"),
        (name = "operators", description = "Account locks, and the two-person rule: actions that loosen protection wait for a second operator"),
        (name = "operations", description = "Health, keys of approval tokens, metrics, this document"),
    )
)]
pub struct ApiDoc;

/// `session`: the `kw_session` cookie; `service`: bearer service key.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        let mut session = ApiKeyValue::new(keyward_access::session::COOKIE_NAME);
        session.description = Some(
            "Browser session (HttpOnly, SameSite=Strict). It advances password → key → signed in."
                .into(),
        );
        components.add_security_scheme("session", SecurityScheme::ApiKey(ApiKey::Cookie(session)));
        let service = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .bearer_format("kw_svc_…")
            .description(Some(
                "An exchange service's key, created by the operator with `keyward service-key create`.",
            ))
            .build();
        components.add_security_scheme("service", SecurityScheme::Http(service));
    }
}

/// Every problem type: (status, slug, title), from the one catalogue.
pub fn catalogue() -> Vec<(u16, &'static str, &'static str)> {
    let mut all: Vec<_> = ProblemKind::all()
        .map(|k| (k.status(), k.slug(), k.title()))
        .collect();
    all.sort_unstable();
    all
}

fn problem_description() -> String {
    let mut text = format!(
        "RFC 9457 problem details. `type` is `{PROBLEM_BASE}<slug>`; the slug is stable. \
         `field` names the offending field of a `validation` problem; `reason` is the stable \
         reason code of `ceremony-refused`, `policy-refused` and `api-key-refused`.\n\n\
         | type | status | title |\n|---|---|---|\n"
    );
    for (status, slug, title) in catalogue() {
        text.push_str(&format!(
            "| `{PROBLEM_BASE}{slug}` | {status} | {title} |\n"
        ));
    }
    text
}

/// The document as served: [`finish`]ed, then completed with what depends
/// on the configuration (assets, networks) and with the rules JSON Schema
/// can say but the generator cannot (see `config_schemas`).
pub fn served(doc: Document, config: &crate::config::Config) -> serde_json::Value {
    let mut json = serde_json::to_value(&doc).unwrap_or_default();
    config_schemas::apply(&mut json, config);
    json
}

/// Adds `403 origin-mismatch` to the state-changing operations of a router
/// behind the browser `Origin` check.
pub fn origin_checked(doc: &mut Document) {
    for item in doc.paths.paths.values_mut() {
        for op in [
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            add_problem(&mut op.responses.responses, "origin-mismatch");
        }
    }
}

/// Completes the document: the problems every route can answer with, the
/// readable problem descriptions, and the `Problem` schema's catalogue.
pub fn finish(mut doc: Document) -> Document {
    for (path, item) in doc.paths.paths.iter_mut() {
        let ops = [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ];
        for op in ops.into_iter().flatten() {
            // Handler names repeat across modules (`list`, `verify`): qualify
            // them with the tag so operation ids are unique.
            if let (Some(tag), Some(id)) =
                (op.tags.as_ref().and_then(|t| t.first()), &op.operation_id)
            {
                op.operation_id = Some(format!("{}_{id}", tag.replace('-', "_")));
            }
            let security = serde_json::to_string(&op.security).unwrap_or_default();
            let mut implied = vec!["internal"];
            if security.contains("\"session\"") {
                implied.push("unauthenticated");
            }
            if security.contains("\"service\"") {
                implied.extend(["invalid-service-key", "insufficient-scope"]);
            }
            if op.request_body.is_some() {
                implied.extend([
                    "malformed-body",
                    "payload-too-large",
                    "unsupported-media-type",
                    "validation",
                ]);
            }
            if path.contains('{') {
                implied.push("not-found");
            }
            let responses = &mut op.responses.responses;
            for slug in implied {
                add_problem(responses, slug);
            }
            for response in responses.values_mut() {
                if let RefOr::T(r) = response
                    && r.content.contains_key(PROBLEM_JSON)
                {
                    r.description = describe(&r.description);
                }
            }
        }
    }
    if let Some(RefOr::T(Schema::Object(problem))) = doc
        .components
        .as_mut()
        .and_then(|c| c.schemas.get_mut("Problem"))
    {
        problem.description = Some(problem_description());
    }
    doc
}

/// A problem response for `slug`, or `slug` added to the existing response
/// of its status.
fn add_problem(
    responses: &mut std::collections::BTreeMap<String, RefOr<Response>>,
    slug: &'static str,
) {
    let Some((status, _, _)) = catalogue().into_iter().find(|(_, s, _)| *s == slug) else {
        return;
    };
    let entry = responses
        .entry(status.to_string())
        .or_insert_with(|| RefOr::T(problem_response(slug)));
    if let RefOr::T(r) = entry {
        if !slugs_of(&r.description).contains(&slug) {
            r.description = format!("{}, {slug}", r.description);
        }
        r.content.entry(PROBLEM_JSON.into()).or_insert_with(|| {
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build()
        });
    }
}

fn problem_response(slug: &str) -> Response {
    ResponseBuilder::new()
        .description(slug)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

/// The slugs a problem response's description names (comma-separated).
fn slugs_of(description: &str) -> Vec<&str> {
    description
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect()
}

/// `"last-key, not-found"` → `` "Problem `last-key` (Last key); `not-found` (Not found)" ``.
fn describe(description: &str) -> String {
    let known = catalogue();
    let parts: Vec<String> = slugs_of(description)
        .into_iter()
        .map(|slug| match known.iter().find(|(_, s, _)| *s == slug) {
            Some((_, _, title)) => format!("`{slug}` ({title})"),
            None => slug.to_owned(),
        })
        .collect();
    format!("Problem {}", parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_has_every_error_once() {
        let all = catalogue();
        assert_eq!(all.len(), ProblemKind::all().count());
        let mut slugs: Vec<_> = all.iter().map(|(_, s, _)| *s).collect();
        slugs.dedup();
        assert_eq!(slugs.len(), all.len());
        assert!(problem_description().contains("https://keyward.dev/problems/last-key"));
    }

    #[test]
    fn problem_descriptions_are_expanded() {
        assert_eq!(
            describe("last-key, not-found"),
            "Problem `last-key` (Last key); `not-found` (Not found)"
        );
        let mut responses = std::collections::BTreeMap::new();
        add_problem(&mut responses, "unauthenticated");
        add_problem(&mut responses, "invalid-credentials");
        add_problem(&mut responses, "invalid-credentials");
        let RefOr::T(r) = &responses["401"] else {
            unreachable!()
        };
        assert_eq!(r.description, "unauthenticated, invalid-credentials");
    }
}
