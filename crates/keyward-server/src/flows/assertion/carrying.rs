//! Ceremonies that carry the flow's own data beside webauthn-rs's state
//! (a key-chain change waiting for its endorsement).

use keyward_api::keys::{CeremonyAnswer, CeremonyOptions};
use keyward_fido::{AuthenticationState, UserVerification};
use uuid::Uuid;

use super::{
    Asserted, Bound, Sender, ceremony_options, eligible, finish_as, save_ceremony, user_keys,
};
use crate::caller::Client;
use crate::error::ApiResult;
use crate::state::AppState;

/// Ceremony state that carries what the finishing flow needs besides the
/// assertion (a key-chain change waiting for its endorsement).
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Carrying<T> {
    /// webauthn-rs's state.
    pub auth: AuthenticationState,
    /// The flow's data.
    pub carry: T,
}

/// Starts an assertion bound as `bound` whose challenge is `challenge`,
/// storing `carry` with the ceremony.
pub async fn start_carrying<T: serde::Serialize>(
    app: &AppState,
    user_id: Uuid,
    bound: Bound,
    uv: UserVerification,
    challenge: [u8; 32],
    carry: T,
) -> ApiResult<CeremonyOptions> {
    let all = user_keys(app, user_id).await?;
    let keys = eligible(app, &all, bound).await?;
    let (options, auth) = app.fido.start_bound_authentication(&keys, uv, challenge)?;
    let ceremony = save_ceremony(app, user_id, bound, &Carrying { auth, carry }).await?;
    ceremony_options(ceremony, &options.public_key)
}

/// Finishes a ceremony started with [`start_carrying`] from the user's
/// browser: the assertion (as [`finish`]) and what the ceremony carried.
pub async fn finish_carrying<T: serde::de::DeserializeOwned>(
    app: &AppState,
    user_id: Uuid,
    client: &Client,
    bound: Bound,
    answer: CeremonyAnswer,
    uv: UserVerification,
) -> ApiResult<(Asserted, T)> {
    let answer = (answer.ceremony, answer.credential);
    let keys = user_keys(app, user_id).await?;
    let split = |state: Carrying<T>| (state.auth, state.carry);
    finish_as(
        app,
        user_id,
        client,
        Sender::Browser,
        bound,
        answer,
        (uv, keys),
        split,
    )
    .await
}
