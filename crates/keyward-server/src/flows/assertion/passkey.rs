//! Passkey sign-in's assertion: the answer names the account (its user
//! handle), the MAC'd handle carries the ceremony state and is spent before
//! the assertion is verified, and only a device-bound, attested key may
//! stand in for the username. The verified assertion ends as every other
//! one does ([`super::conclude`]).

use keyward_fido::wire::PublicKeyCredential;
use keyward_fido::{Fido, FidoError, PasskeyState};
use serde_json::Value;
use uuid::Uuid;

use super::{Answerer, Asserted, assertion_response, conclude, user_keys};
use crate::caller::Client;
use crate::error::{ApiError, ApiResult};
use crate::flows::throttle::{self, Via};
use crate::passkey_token::{Opened, Refused};
use crate::state::AppState;
use crate::store::ceremonies::{self, Purpose};
use crate::store::users;

/// A passkey sign-in whose answer names an account: the ceremony state,
/// the account, and the response, not yet verified.
pub struct PasskeyAnswer {
    state: PasskeyState,
    handle: Opened,
    response: PublicKeyCredential,
    /// The account the credential's user handle names.
    pub user_id: Uuid,
    /// Its username.
    pub username: String,
}

/// Opens a passkey sign-in's handle and finds the account the answer names
/// (its user handle, unsigned until [`finish_passkey`] verifies it).
/// Refused while that account or the address is throttled. An answer that
/// names no account is counted against the address.
pub async fn identify_passkey(
    app: &AppState,
    client: &Client,
    handle: &str,
    credential: Value,
) -> ApiResult<PasskeyAnswer> {
    let opened = app
        .passkeys
        .open(handle, app.clock.now())
        .map_err(|refused| match refused {
            Refused::Unknown => ApiError::CeremonyUnknown,
            Refused::Expired => ApiError::CeremonyExpired,
        })?;
    let state: PasskeyState =
        serde_json::from_str(&opened.state).map_err(|_| ApiError::CeremonyUnknown)?;
    let response = assertion_response(credential)?;
    let named = match Fido::passkey_user(&response) {
        Ok(user_id) => users::by_id(&app.db, user_id).await?,
        Err(_) => None,
    };
    let Some(user) = named else {
        // A stranger's guess: it costs the address, as a wrong username does.
        let guess = throttle::reserve_guess(app, &client.ip).await?;
        // An address scope never locks: nothing to audit.
        let _unlockable = guess.failed(app).await?;
        return Err(ApiError::CeremonyRefused {
            reason: "credential_not_allowed",
        });
    };
    let via = Via::browser(app, client, &user.username);
    throttle::check(app, &user.username, via, Some(&client.ip)).await?;
    Ok(PasskeyAnswer {
        state,
        handle: opened,
        response,
        user_id: user.id,
        username: user.username,
    })
}

/// Finishes a passkey sign-in: spends its handle (once only), then
/// verifies the assertion by the named account's key, which must be
/// device-bound and attested, and moves its counter as [`finish`] does.
pub async fn finish_passkey(
    app: &AppState,
    client: &Client,
    answer: PasskeyAnswer,
) -> ApiResult<Asserted> {
    let PasskeyAnswer {
        state,
        handle,
        response,
        user_id,
        username,
    } = answer;
    if !ceremonies::spend_passkey(&app.db, &handle.digest, handle.expires_at).await? {
        return Err(ApiError::CeremonyUnknown);
    }
    let who = &Answerer {
        user_id,
        client,
        ip: Some(client.ip.as_str()),
        username: &username,
        via: Via::browser(app, client, &username),
    };
    let keys = user_keys(app, user_id).await?;
    let verified = match keys
        .iter()
        .find(|(r, _)| r.credential_id == response.raw_id)
    {
        None => Err(FidoError::Refused {
            reason: "credential_not_allowed",
        }),
        // A passkey stands in for the username (and, standalone, the
        // password): only a key that cannot be copied, and that says what
        // it is, may do that.
        Some((_, key)) if !keyward_fido::credential::is_device_bound(key) => {
            Err(FidoError::Refused {
                reason: "key_not_device_bound",
            })
        }
        Some((row, _)) if row.attestation_format == "none" => Err(FidoError::Refused {
            reason: "key_not_attested",
        }),
        Some((_, key)) => app.fido.finish_passkey(&response, &state, key),
    };
    conclude(app, who, Purpose::SignIn.into(), response, keys, verified).await
}
