//! Operations endpoints: Prometheus metrics (for a service key with the
//! `metrics` scope, or without one on the separate `metrics_listen`
//! address) and the OpenAPI document (public).

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult};
use crate::extract::Service;
use crate::state::AppState;

/// The finished OpenAPI document as JSON, added to requests by `routes::router`.
#[derive(Clone)]
pub struct Document(pub Arc<str>);

/// `/metrics` and `/openapi.json`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(metrics))
        .routes(routes!(openapi_json))
}

/// Prometheus text exposition: HTTP, ceremony, step-up, redeem, API-key and
/// throttling counters, latency histograms, database pool gauges. On the
/// public address it needs a service key with the `metrics` scope; a scraper
/// on a private network can use `metrics_listen` instead.
#[utoipa::path(get, path = "/metrics", tag = "operations", security(("service" = [])),
    responses(
        (status = 200, description = "Prometheus text format 0.0.4", body = String,
            content_type = "text/plain; version=0.0.4"),
        (status = 401, description = "invalid-service-key", body = keyward_api::Problem, content_type = "application/problem+json"),
        (status = 403, description = "insufficient-scope", body = keyward_api::Problem, content_type = "application/problem+json"),
    ))]
async fn metrics(State(app): State<AppState>, service: Service) -> ApiResult<Response> {
    service.require("metrics")?;
    Ok(crate::metrics::exposition(&app.db))
}

/// This API's OpenAPI 3.1 document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI document", body = Object)))]
async fn openapi_json(doc: Option<Extension<Document>>) -> ApiResult<Response> {
    let Extension(Document(json)) = doc.ok_or_else(|| {
        ApiError::Internal(anyhow::anyhow!("the OpenAPI document was not attached"))
    })?;
    let mut response = json.to_string().into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(response)
}
