//! Errors of the FIDO core, named by what went wrong for the relying party.

use webauthn_rs::prelude::WebauthnError;

/// Why a ceremony could not start or was refused.
#[derive(Debug, thiserror::Error)]
pub enum FidoError {
    /// The relying-party configuration is unusable; the message says what to fix.
    #[error("relying party configuration: {0}")]
    Config(String),
    /// The client's response failed a WebAuthn check. `reason` is a stable
    /// machine-readable code (e.g. `origin_mismatch`) safe to show a client.
    #[error("ceremony refused: {reason}")]
    Refused {
        /// Stable reason code.
        reason: &'static str,
    },
    /// The assertion's signature counter did not increase: the key may be cloned.
    #[error("signature counter did not increase: possible cloned authenticator")]
    CounterRegression,
    /// Stored ceremony state or credential could not be decoded.
    #[error("stored state is corrupt: {0}")]
    CorruptState(String),
}

impl FidoError {
    pub(crate) fn refused(reason: &'static str) -> Self {
        Self::Refused { reason }
    }
}

/// Maps a webauthn-rs error to a stable reason. Details stay in the log.
pub(crate) fn from_webauthn(err: WebauthnError) -> FidoError {
    use WebauthnError as W;
    tracing::debug!(?err, "webauthn-rs refused the response");
    let reason = match err {
        W::CredentialPossibleCompromise => return FidoError::CounterRegression,
        W::InvalidRPOrigin | W::CredentialCrossOrigin => "origin_mismatch",
        W::InvalidRPIDHash => "rp_id_mismatch",
        W::InvalidClientDataType => "wrong_client_data_type",
        W::MismatchedChallenge => "challenge_mismatch",
        W::UserNotPresent => "user_not_present",
        W::UserNotVerified => "user_not_verified",
        W::CredentialNotFound => "credential_not_allowed",
        W::AuthenticationFailure | W::SignatureInvalid | W::AttestationStatementSigInvalid => {
            "bad_signature"
        }
        W::AttestationNotVerifiable
        | W::AttestationTrustFailure
        | W::AttestationUntrustedAaguid
        | W::AttestationChainNotTrusted(_)
        | W::AttestationCertificateTrustStoreEmpty
        | W::AttestationFormatMissingAaguid
        | W::AttestationLeafCertMissing
        | W::AttestationCertificateRequirementsNotMet
        | W::AttestationCertificateAAGUIDMismatch
        | W::TrustFailure => "untrusted_attestation",
        W::CredentialExcludedFromRequest | W::CredentialAlreadyExists => "credential_exists",
        W::CredentialInsecureCryptography | W::COSEKeyInvalidAlgorithm => "insecure_algorithm",
        _ => "malformed_response",
    };
    FidoError::refused(reason)
}
