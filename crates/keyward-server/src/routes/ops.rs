//! Operations endpoints (public): Prometheus metrics and the OpenAPI document.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::{ApiError, ApiResult};
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
/// throttling counters, latency histograms, database pool gauges.
#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format 0.0.4", body = String,
        content_type = "text/plain; version=0.0.4")))]
async fn metrics(State(app): State<AppState>) -> Response {
    let mut response = crate::metrics::render(&app.db).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
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
