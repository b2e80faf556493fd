//! Keyward's WebAuthn/FIDO2 core on webauthn-rs: relying-party configuration,
//! attestation policy, security-key ceremonies, the credential model,
//! transaction-bound step-up challenges and offline assertion evidence.
//! It must not know about HTTP or SQL: callers persist the ceremony state and
//! credentials it hands them.

pub mod attestation;
pub mod binding;
pub mod ceremony;
pub mod credential;
pub mod error;
pub mod evidence;
pub mod metadata;
pub mod rp;
mod yubico;

pub use attestation::{AttestationPolicy, TrustedCa};
pub use ceremony::{
    AssertionOutcome, AuthenticationState, Fido, PasskeyState, RegistrationState, RequestOptions,
    UserVerification,
};
pub use credential::{EnrolledKey, MAX_CREDENTIAL_ID_LEN};
pub use error::FidoError;
pub use evidence::{capture, public_key_of, verify_evidence};
pub use keyward_proof::{AssertionEvidence, EvidenceFacts, PublicKeyBytes};
pub use keyward_proof::{STEP_UP_TAG, step_up_challenge};
pub use metadata::{CertificationLevel, MetadataBlob, MetadataError, ModelMetadata};
pub use rp::RelyingParty;
pub use yubico::BuiltinCa;

/// Re-exports of the webauthn-rs wire types callers deserialise from clients.
pub mod wire {
    pub use webauthn_rs::prelude::{
        CreationChallengeResponse, PublicKeyCredential, RegisterPublicKeyCredential,
        RequestChallengeResponse, SecurityKey,
    };
}
