//! The public keys that verify approval tokens (public, cacheable).

use axum::Json;
use axum::extract::State;
use axum::http::header;
use keyward_api::operations::Jwks;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiResult;
use crate::signing;
use crate::state::AppState;

/// `/.well-known/jwks.json`.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(jwks))
}

/// The public keys of the approval tokens (shared by all instances).
#[utoipa::path(get, path = "/.well-known/jwks.json", tag = "operations",
    responses((status = 200, description = "JSON Web Key Set", body = Jwks)))]
async fn jwks(
    State(app): State<AppState>,
) -> ApiResult<([(header::HeaderName, &'static str); 1], Json<Jwks>)> {
    // Cacheable briefly. After a rotation the new key signs at once, so a
    // verifier that meets an unknown `kid` must refetch rather than refuse.
    Ok((
        [(header::CACHE_CONTROL, "public, max-age=60")],
        Json(signing::jwks(&app).await?),
    ))
}
