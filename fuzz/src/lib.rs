//! Shared set-up of the fuzz targets: the relying party, the fixed ceremony
//! states and the fixed approval-signing key the seeds were made against.
//! States are read from `fuzz/fixtures/` (written once by `seedgen`), so a
//! seed stays a valid answer across builds and runs.

use std::path::PathBuf;

use keyward_fido::{AttestationPolicy, Fido, RelyingParty, TrustedCa};

/// The origin every fixture ceremony used.
pub const ORIGIN: &str = "http://localhost:8080";

/// The approval-token issuer (the origin, as the server defaults it).
pub const ISSUER: &str = "http://localhost:8080";

/// `exp` of the seed approval tokens: 2100-01-01, so they stay unexpired.
pub const FAR_FUTURE: i64 = 4_102_444_800;

/// The account every fixture key was enrolled for (its userHandle).
pub const FUZZ_USER: uuid::Uuid = uuid::Uuid::from_bytes(*b"fuzz-user-000001");

/// The AAGUID of the test CA's attestation certificate.
pub const TEST_AAGUID: [u8; 16] = *b"keyward-fuzz-key";

/// `fuzz/fixtures/<name>`.
pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// Reads a fixture; the targets cannot run without them.
pub fn fixture(name: &str) -> String {
    let path = fixture_path(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run `seedgen` first)", path.display()))
}

/// Reads a JSON fixture into `T`.
pub fn json_fixture<T: serde::de::DeserializeOwned>(name: &str) -> T {
    serde_json::from_str(&fixture(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The relying party of a default Keyward (`localhost`, port 8080).
pub fn relying_party() -> RelyingParty {
    RelyingParty {
        id: "localhost".into(),
        origin: url::Url::parse(ORIGIN).expect("origin"),
        name: "Keyward".into(),
    }
}

/// The development policy (`any`).
pub fn fido_any() -> Fido {
    Fido::new(&relying_party(), AttestationPolicy::Any).expect("fido any")
}

/// The production-style policy: only the test CA, only its AAGUID.
pub fn fido_trusted(ca_pem: &str) -> Fido {
    let ca = TrustedCa {
        name: "fuzz-ca.pem".into(),
        pem: ca_pem.as_bytes().to_vec(),
        aaguids: vec![uuid::Uuid::from_bytes(TEST_AAGUID)],
    };
    let policy = AttestationPolicy::trusted(false, &[ca], &[]).expect("trusted policy");
    Fido::new(&relying_party(), policy).expect("fido trusted")
}

/// The fixed Ed25519 approval-signing key (PKCS#8 DER of a constant seed).
pub fn approval_key() -> keyward_access::SigningKey {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(b"keyward fuzz approval key seed!!");
    keyward_access::SigningKey::from_pkcs8_der("fuzz-key-1", &der).expect("approval key")
}

/// The approval tokens the seeds hold: the fixed key signing a few real
/// shapes of claims (Ed25519 is deterministic, so these are the same bytes
/// every time). A fuzzed token may verify only if it is one of these.
pub fn approval_tokens() -> Vec<String> {
    let key = approval_key();
    let claims = |n: u8, action: &str, aaguid: Option<uuid::Uuid>, uv: bool| {
        keyward_access::ApprovalClaims {
            step_up_id: uuid::Uuid::from_bytes([n; 16]),
            sub: uuid::Uuid::from_bytes([n ^ 0x55; 16]).to_string(),
            action: action.into(),
            details_digest: format!("{:064x}", u128::from(n) * 0x1234_5678_9abc_def1),
            credential_id: "AAECAwQFBgcICQoLDA0ODw".into(),
            aaguid,
            uv,
            iat: 1_700_000_000,
            exp: FAR_FUTURE,
            jti: uuid::Uuid::from_bytes([n ^ 0xaa; 16]),
            iss: ISSUER.into(),
            aud: keyward_client::AUDIENCE.into(),
            chain_head: None,
        }
    };
    [
        claims(
            1,
            "withdrawal",
            Some(uuid::Uuid::from_bytes(TEST_AAGUID)),
            true,
        ),
        claims(2, "address.add", None, true),
        claims(3, "api_key.create", None, false),
    ]
    .iter()
    .map(|c| keyward_access::sign(&key, c).expect("sign"))
    .collect()
}

/// The JWKS publishing [`approval_key`] (as `/.well-known/jwks.json` does).
pub fn approval_jwks() -> serde_json::Value {
    keyward_access::jwks([&approval_key()])
}

/// Checks what must hold for every details object the canonicaliser accepts:
/// the canonical JSON is canonical (re-serialising it changes nothing), the
/// digest is its SHA-256, and canonicalising the canonical details again
/// gives the same bytes — one approval, one spelling.
pub fn check_canonical(
    c: &keyward_server::domain::details::Canonical,
    assets: &std::collections::BTreeMap<String, keyward_server::config::AssetConfig>,
) {
    use keyward_server::domain::details::{canonical_json, canonicalise, stored_details};
    use sha2::Digest as _;
    let v: serde_json::Value = serde_json::from_str(&c.json).expect("canonical JSON parses");
    assert_eq!(
        canonical_json(&v),
        c.json,
        "canonical JSON is not canonical"
    );
    let digest: [u8; 32] = sha2::Sha256::digest(c.json.as_bytes()).into();
    assert_eq!(digest, c.digest, "digest is not SHA-256 of the JSON");
    assert_eq!(v["action"].as_str(), Some(c.action.as_str()));
    let details = stored_details(&c.json);
    assert_eq!(details, v["details"]);
    let again = canonicalise(c.action.as_str(), &details, assets)
        .unwrap_or_else(|e| panic!("canonical details refused: {e:?}\n{}", c.json));
    assert_eq!(again.json, c.json, "re-canonicalising changed the JSON");
    assert_eq!(again.details, c.details);
}

/// A problem the server would send for bad input must never be a 5xx
/// (architecture §6, invariant 9).
pub fn check_problem(e: keyward_server::error::ApiError, input: &[u8]) {
    let status = keyward_server::fuzzing::problem_status(e);
    assert!(
        status < 500,
        "bad input gave {status}: {:?}",
        String::from_utf8_lossy(input)
    );
}
