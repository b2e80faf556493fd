//! Knobs that make the soft key lie in one ceremony response.

/// Knobs that forge one ceremony response; `Forge::default()` is an honest response.
///
/// Every knob left at its default leaves the corresponding part of the response honest.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Forge {
    /// Put this origin into clientDataJSON instead of the real one.
    pub origin: Option<String>,
    /// Put this `type` into clientDataJSON (e.g. `"webauthn.get"` in a registration).
    pub client_data_type: Option<String>,
    /// Answer this challenge instead of the one in the options.
    pub challenge: Option<Vec<u8>>,
    /// Hash this rp id into authenticatorData instead of the one in the options.
    pub rp_id: Option<String>,
    /// User-present flag (default `true`).
    pub user_present: Option<bool>,
    /// User-verified flag (default `true`).
    pub user_verified: Option<bool>,
    /// Put this signCount into authenticatorData.
    ///
    /// Registration: the new credential starts at this count (later assertions continue
    /// from it). Assertion: a one-off lie, the key's stored counter is left unchanged.
    pub counter: Option<u32>,
    /// Registration: create the credential under this id (e.g. 1024 bytes, or an id already
    /// registered). The `excludeCredentials` check is skipped; if the key already holds this
    /// id, its existing credential is kept and the new key pair is thrown away.
    ///
    /// Assertion: claim this id in `id`/`rawId`. If the key holds a credential with this id it
    /// signs with it, even if `allowCredentials` or the rp id would not select it; otherwise it
    /// signs with the credential it would have chosen (or a throwaway key if none) while
    /// claiming this id.
    pub credential_id: Option<Vec<u8>>,
    /// Flip one byte of clientDataJSON after signing (keeping it valid JSON with the same
    /// type/challenge/origin, so only the signature check can notice). In a registration
    /// with `none` attestation nothing signs the client data, so nothing can notice.
    pub tamper_client_data: bool,
    /// Flip a bit of the signCount in authenticatorData after signing (assertion) or in the
    /// attestationObject's authData (registration; undetectable with `none` attestation,
    /// where the counter the server stores is then off by one).
    pub tamper_authenticator_data: bool,
    /// Flip a byte of the assertion signature, or of the attestation statement `sig`
    /// (no effect with `none` attestation, which has no signature).
    pub tamper_signature: bool,
    /// Say `"crossOrigin": true` in clientDataJSON (signed as such), as a
    /// browser does for a ceremony run in a cross-origin iframe.
    pub cross_origin: bool,
}

impl Forge {
    /// The authenticatorData flags byte (without AT) these knobs ask for.
    pub(crate) fn flags(&self) -> u8 {
        let mut flags = 0;
        if self.user_present.unwrap_or(true) {
            flags |= crate::encoding::FLAG_UP;
        }
        if self.user_verified.unwrap_or(true) {
            flags |= crate::encoding::FLAG_UV;
        }
        flags
    }
}
