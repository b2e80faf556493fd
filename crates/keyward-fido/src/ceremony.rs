//! Security-key ceremonies: registration and authentication.
//!
//! The caller must store the returned state server-side, delete it
//! atomically before acting on a result (webauthn-rs would accept the same
//! assertion twice against the same state), and persist counter updates
//! with a compare-and-set.

use serde::{Deserialize, Serialize};
use uuid::Uuid;
use webauthn_rs::Webauthn;
use webauthn_rs::prelude::{
    AuthenticationResult, CreationChallengeResponse, DiscoverableAuthentication,
    PublicKeyCredential, RegisterPublicKeyCredential, RequestChallengeResponse, SecurityKey,
    SecurityKeyAuthentication, SecurityKeyRegistration,
};
use webauthn_rs_proto::{
    AttestationConveyancePreference, COSEAlgorithm, ResidentKeyRequirement, UserVerificationPolicy,
};

use crate::credential::{EnrolledKey, MAX_CREDENTIAL_ID_LEN, attestation_facts};
use crate::error::from_webauthn;
use crate::{AttestationPolicy, FidoError, RelyingParty};

/// How much user verification (PIN / biometric) an action demands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserVerification {
    /// The assertion is refused unless the UV flag is set.
    Required,
    /// Ask for UV, accept without.
    Preferred,
    /// Do not ask for UV.
    Discouraged,
}

/// Server-side state of a registration; store it, never send it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RegistrationState(SecurityKeyRegistration);

/// Server-side state of an authentication; store it, never send it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuthenticationState(SecurityKeyAuthentication);

/// Server-side state of a passkey sign-in (a discoverable credential,
/// user not yet known); keep it server-side or integrity-protected.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PasskeyState(DiscoverableAuthentication);

/// The options sent to the browser for an assertion.
pub type RequestOptions = RequestChallengeResponse;

/// A verified assertion.
#[derive(Debug, Clone)]
pub struct AssertionOutcome {
    /// The credential that signed.
    pub credential_id: Vec<u8>,
    /// The authenticator's new signature counter.
    pub counter: u32,
    /// Whether the authenticator verified the user (UV flag).
    pub user_verified: bool,
    /// The raw webauthn-rs result, to update the stored key with.
    pub result: AuthenticationResult,
}

/// The WebAuthn relying party with its attestation policy.
#[derive(Debug, Clone)]
pub struct Fido {
    webauthn: std::sync::Arc<Webauthn>,
    /// Replaced whole when new metadata arrives (every clone sees it).
    policy: std::sync::Arc<std::sync::RwLock<std::sync::Arc<AttestationPolicy>>>,
}

impl Fido {
    /// Builds the relying party; fails with a message naming what to fix.
    pub fn new(rp: &RelyingParty, policy: AttestationPolicy) -> Result<Self, FidoError> {
        Ok(Self {
            webauthn: std::sync::Arc::new(rp.build()?),
            policy: std::sync::Arc::new(std::sync::RwLock::new(std::sync::Arc::new(policy))),
        })
    }

    /// The attestation policy in force.
    pub fn policy(&self) -> std::sync::Arc<AttestationPolicy> {
        // A poisoned lock still holds a whole policy: the write is one
        // pointer swap.
        match self.policy.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the attestation policy (new metadata): registrations that
    /// start from now on use it.
    pub fn set_policy(&self, policy: AttestationPolicy) {
        let policy = std::sync::Arc::new(policy);
        match self.policy.write() {
            Ok(mut p) => *p = policy,
            Err(poisoned) => *poisoned.into_inner() = policy,
        }
    }

    /// Starts enrolling a security key for `user_id`. `existing` are the
    /// user's current credential ids, excluded so a key is not enrolled twice.
    /// With `discoverable`, the key is asked to store the credential
    /// (`residentKey: "preferred"`) so it can later sign in without a
    /// username (a passkey); keys without room still enrol.
    pub fn start_registration(
        &self,
        user_id: Uuid,
        username: &str,
        existing: Vec<Vec<u8>>,
        discoverable: bool,
    ) -> Result<(CreationChallengeResponse, RegistrationState), FidoError> {
        let exclude = (!existing.is_empty()).then_some(existing);
        let (mut ccr, state) = self
            .webauthn
            .start_securitykey_registration(
                user_id,
                username,
                username,
                exclude,
                self.policy().ca_list(),
                None,
            )
            .map_err(from_webauthn)?;
        // Always ask for `direct` attestation, even under the `any` policy, so
        // the key's model (AAGUID) and attestation are recorded. Conveyance is
        // only a request to the client; verification follows the policy.
        ccr.public_key.attestation = Some(AttestationConveyancePreference::Direct);
        // webauthn-rs asks for credProtect "userVerificationRequired" but only
        // "preferred" UV, a pair Chromium refuses (NotSupportedError). Ask for
        // UV at enrolment too: withdrawals require it anyway. Only the request
        // changes; the stored state still accepts what webauthn-rs accepts.
        if let Some(selection) = ccr.public_key.authenticator_selection.as_mut() {
            selection.user_verification = UserVerificationPolicy::Required;
            if discoverable {
                selection.resident_key = Some(ResidentKeyRequirement::Preferred);
            }
        }
        // Only ES256: an approval's evidence must be checkable by anyone
        // (`evidence.rs` handles ES256), so a key that could sign in but
        // never approve is not enrolled. Every FIDO2 key offers ES256.
        ccr.public_key
            .pub_key_cred_params
            .retain(|p| p.alg == COSEAlgorithm::ES256 as i64);
        Ok((ccr, RegistrationState(state)))
    }

    /// Verifies the browser's registration response against the stored state
    /// and the attestation policy.
    pub fn finish_registration(
        &self,
        response: &RegisterPublicKeyCredential,
        state: &RegistrationState,
    ) -> Result<EnrolledKey, FidoError> {
        if response.raw_id.len() > MAX_CREDENTIAL_ID_LEN {
            return Err(FidoError::refused("credential_id_too_long"));
        }
        if response.type_ != PUBLIC_KEY {
            return Err(FidoError::refused("malformed_response"));
        }
        refuse_cross_origin(&response.response.client_data_json)?;
        let facts = attestation_facts(&response.response.attestation_object)?;
        if !self.policy().is_any() && facts.format == "none" {
            return Err(FidoError::refused("untrusted_attestation"));
        }
        // §8.7: `none` carries an empty statement; anything else in it is a
        // statement nobody verified, dressed as none.
        if facts.format == "none" && !facts.empty_statement {
            return Err(FidoError::refused("malformed_attestation"));
        }
        // The options required UV (see `start_registration`); webauthn-rs's
        // security-key state would store a key enrolled without it, and that
        // key would then sign in without UV (§7.1 step 15).
        if !facts.user_verified {
            return Err(FidoError::refused("user_not_verified"));
        }
        let key = self
            .webauthn
            .finish_securitykey_registration(response, &state.0)
            .map_err(from_webauthn)?;
        // The id that is stored and looked up is the attested one (in the
        // signed authenticator data); the response's `rawId` is unsigned
        // client JSON, which webauthn-rs does not compare. Check the length
        // on the attested id, and refuse a `rawId` that names another one.
        if key.cred_id().len() > MAX_CREDENTIAL_ID_LEN {
            return Err(FidoError::refused("credential_id_too_long"));
        }
        if key.cred_id().as_slice() != response.raw_id.as_slice() {
            return Err(FidoError::refused("malformed_response"));
        }
        if *key.cred_algorithm() != COSEAlgorithm::ES256 {
            return Err(FidoError::refused("unsupported_algorithm"));
        }
        Ok(EnrolledKey {
            credential_id: key.cred_id().clone(),
            key,
            aaguid: facts.aaguid,
            attestation_format: facts.format,
            counter: facts.counter,
            attestation_object: response.response.attestation_object.to_vec(),
        })
    }

    /// Starts an assertion against the user's keys, asking for the given UV.
    pub fn start_authentication(
        &self,
        keys: &[SecurityKey],
        uv: UserVerification,
    ) -> Result<(RequestChallengeResponse, AuthenticationState), FidoError> {
        let (mut rcr, state) = self
            .webauthn
            .start_securitykey_authentication(keys)
            .map_err(from_webauthn)?;
        rcr.public_key.user_verification = match uv {
            UserVerification::Required => UserVerificationPolicy::Required,
            UserVerification::Preferred => UserVerificationPolicy::Preferred,
            UserVerification::Discouraged => UserVerificationPolicy::Discouraged_DO_NOT_USE,
        };
        Ok((rcr, AuthenticationState(state)))
    }

    /// Starts an assertion whose WebAuthn challenge is `challenge` instead of
    /// a random one, for step-up approval of one transaction; derive it with
    /// [`crate::step_up_challenge`] from a fresh random nonce and the
    /// withdrawal's details digest.
    ///
    /// Security: the authenticator signs the challenge, so a successful
    /// [`Fido::finish_authentication`] against this state proves the user
    /// approved exactly the committed details. Both the options and the state
    /// carry the chosen challenge; if webauthn-rs's state cannot be rewritten
    /// exactly, this fails with `CorruptState` rather than fall back to an
    /// unbound random challenge. Never keep two live states bound to the same
    /// challenge: one assertion would then satisfy both.
    pub fn start_bound_authentication(
        &self,
        keys: &[SecurityKey],
        uv: UserVerification,
        challenge: [u8; 32],
    ) -> Result<(RequestChallengeResponse, AuthenticationState), FidoError> {
        let (mut options, state) = self.start_authentication(keys, uv)?;
        let bound = crate::binding::bind_state(&mut options, &state, &challenge)?;
        Ok((options, bound))
    }

    /// Verifies an assertion by one of `user_id`'s keys against the stored
    /// state. Keyward enforces the UV requirement itself: webauthn-rs's
    /// security-key flow only prefers it. A `userHandle`, if the
    /// authenticator sent one, must be this user's (§7.2 step 6), and the
    /// ceremony must not have run in a cross-origin frame.
    pub fn finish_authentication(
        &self,
        response: &PublicKeyCredential,
        state: &AuthenticationState,
        uv: UserVerification,
        user_id: Uuid,
    ) -> Result<AssertionOutcome, FidoError> {
        if response.type_ != PUBLIC_KEY {
            return Err(FidoError::refused("malformed_response"));
        }
        refuse_cross_origin(&response.response.client_data_json)?;
        let result = self
            .webauthn
            .finish_securitykey_authentication(response, &state.0)
            .map_err(from_webauthn)?;
        // After the credential was found among the user's (§7.2 step 5).
        if let Some(handle) = &response.response.user_handle
            && handle.as_slice() != user_id.as_bytes()
        {
            return Err(FidoError::refused("user_handle_mismatch"));
        }
        if uv == UserVerification::Required && !result.user_verified() {
            return Err(FidoError::refused("user_not_verified"));
        }
        Ok(AssertionOutcome {
            credential_id: result.cred_id().clone(),
            counter: result.counter(),
            user_verified: result.user_verified(),
            result,
        })
    }
}

impl Fido {
    /// Starts a passkey sign-in: options with an empty allow-list (the
    /// authenticator offers its discoverable credentials for this relying
    /// party) and user verification required.
    pub fn start_passkey(&self) -> Result<(RequestChallengeResponse, PasskeyState), FidoError> {
        let (rcr, state) = self
            .webauthn
            .start_discoverable_authentication()
            .map_err(from_webauthn)?;
        Ok((rcr, PasskeyState(state)))
    }

    /// Whose credential answered a passkey sign-in: the `userHandle`, which
    /// Keyward set to the user's id at enrolment. Unsigned until
    /// [`Fido::finish_passkey`] verifies the assertion.
    pub fn passkey_user(response: &PublicKeyCredential) -> Result<Uuid, FidoError> {
        response
            .response
            .user_handle
            .as_ref()
            .and_then(|h| Uuid::from_slice(h.as_slice()).ok())
            .ok_or(FidoError::refused("user_handle_missing"))
    }

    /// Verifies a passkey sign-in's assertion by `key` (the enrolled key
    /// whose credential id the response names) against the state.
    pub fn finish_passkey(
        &self,
        response: &PublicKeyCredential,
        state: &PasskeyState,
        key: &SecurityKey,
    ) -> Result<AssertionOutcome, FidoError> {
        if response.type_ != PUBLIC_KEY {
            return Err(FidoError::refused("malformed_response"));
        }
        refuse_cross_origin(&response.response.client_data_json)?;
        if response.raw_id.as_slice() != key.cred_id().as_slice() {
            return Err(FidoError::refused("credential_not_allowed"));
        }
        let result = self
            .webauthn
            .finish_discoverable_authentication_v2(response, state.0.clone(), key)
            .map_err(from_webauthn)?;
        // The state requires UV; say so here too, should that ever change.
        if !result.user_verified() {
            return Err(FidoError::refused("user_not_verified"));
        }
        Ok(AssertionOutcome {
            credential_id: result.cred_id().clone(),
            counter: result.counter(),
            user_verified: true,
            result,
        })
    }
}

/// The only credential type (§5.1).
const PUBLIC_KEY: &str = "public-key";

/// Refuses a ceremony the browser ran in a cross-origin frame (`crossOrigin:
/// true` in clientDataJSON): Keyward's pages never embed the ceremony, so a
/// frame doing it is someone else's page borrowing the user's key.
fn refuse_cross_origin(client_data_json: &[u8]) -> Result<(), FidoError> {
    #[derive(Deserialize)]
    struct ClientData {
        #[serde(rename = "crossOrigin", default)]
        cross_origin: Option<bool>,
    }
    let data: ClientData = serde_json::from_slice(client_data_json)
        .map_err(|_| FidoError::refused("malformed_response"))?;
    if data.cross_origin == Some(true) {
        return Err(FidoError::refused("cross_origin"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use keyward_testkit::{Forge, SoftKey};

    const ORIGIN: &str = "http://localhost:8080";

    fn fido() -> Fido {
        let rp = RelyingParty {
            id: "localhost".into(),
            origin: url::Url::parse(ORIGIN).unwrap(),
            name: "t".into(),
        };
        Fido::new(&rp, AttestationPolicy::Any).unwrap()
    }

    /// A registration answered by `forge`, with `rawId` (and `id`) replaced.
    fn register_with_raw_id(forge: &Forge, raw_id: &[u8]) -> Result<EnrolledKey, FidoError> {
        let fido = fido();
        let (ccr, state) = fido
            .start_registration(Uuid::new_v4(), "alice", vec![], false)
            .unwrap();
        let options = serde_json::to_value(&ccr).unwrap();
        let mut json = SoftKey::new().register_with(&options, ORIGIN, forge);
        json["rawId"] = URL_SAFE_NO_PAD.encode(raw_id).into();
        json["id"] = URL_SAFE_NO_PAD.encode(raw_id).into();
        let response: RegisterPublicKeyCredential = serde_json::from_value(json).unwrap();
        fido.finish_registration(&response, &state)
    }

    /// Fuzz finding (webauthn_registration): a `rawId` other than the attested
    /// credential id was accepted, so the length limit (checked on `rawId`)
    /// could be bypassed and the response named a credential it did not enrol.
    #[test]
    fn registration_raw_id_must_be_the_attested_credential_id() {
        let attested = vec![7u8; 32];
        let forge = Forge {
            credential_id: Some(attested.clone()),
            ..Forge::default()
        };
        let ok = register_with_raw_id(&forge, &attested).unwrap();
        assert_eq!(ok.credential_id, attested);
        let err = register_with_raw_id(&forge, &[8u8; 32]).unwrap_err();
        assert_eq!(
            err.to_string(),
            FidoError::refused("malformed_response").to_string()
        );
    }

    #[test]
    fn oversized_attested_credential_id_is_refused_whatever_raw_id_says() {
        let forge = Forge {
            credential_id: Some(vec![1u8; MAX_CREDENTIAL_ID_LEN + 1]),
            ..Forge::default()
        };
        let err = register_with_raw_id(&forge, &[1u8; 16]).unwrap_err();
        assert_eq!(
            err.to_string(),
            FidoError::refused("credential_id_too_long").to_string()
        );
    }

    /// Browsers refuse credProtect "userVerificationRequired" unless the
    /// request also requires UV; the options must be consistent as sent.
    #[test]
    fn registration_options_ask_for_uv_consistently_with_cred_protect() {
        let rp = RelyingParty {
            id: "localhost".into(),
            origin: url::Url::parse("http://localhost:8080").unwrap(),
            name: "t".into(),
        };
        let fido = Fido::new(&rp, AttestationPolicy::Any).unwrap();
        let (ccr, _) = fido
            .start_registration(Uuid::new_v4(), "alice", vec![], false)
            .unwrap();
        let json = serde_json::to_value(&ccr).unwrap();
        let options = &json["publicKey"];
        assert_eq!(
            options["authenticatorSelection"]["userVerification"],
            "required"
        );
        assert_eq!(options["attestation"], "direct");
        // Only ES256 is offered: every enrolled key can also approve.
        assert_eq!(
            options["pubKeyCredParams"],
            serde_json::json!([{ "type": "public-key", "alg": -7 }])
        );
        let protect = &options["extensions"]["credentialProtectionPolicy"];
        assert!(
            protect.is_null() || protect == "userVerificationRequired",
            "{options}"
        );
    }
}
