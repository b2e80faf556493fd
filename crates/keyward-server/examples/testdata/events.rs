//! testdata/events.json: Security Event Tokens as Keyward sends them, made
//! by the server's own code (an audit entry, `domain::audit::AuditEvent`,
//! turned into a token by `flows::events::token_for` with a sealed signing
//! key), then forged and tampered with; and the verdict of
//! `keyward_client`'s event check (`offline::verify_event_with_set`, the
//! steps `KeywardClient::verify_event` takes once it has the JWKS).

use keyward_access::approval::{self as signing, SigningKey};
use keyward_client::offline::{JwkSet, verify_event_with_set};
use keyward_server::custody::Signer;
use keyward_server::domain::audit::AuditEvent;
use keyward_server::flows::events::token_for;
use keyward_server::store::audit::{AuditRow, entry_hash};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::event_kinds::{events, key_id};
use crate::fixture::{b64, fixed, sha256};
use crate::json::{J, obj, v};

/// The issuer events carry: Keyward's origin.
pub const ISSUER: &str = "https://auth.exchange.example";
/// The audience: the polling service key's name.
pub const AUDIENCE: &str = "payouts";
/// A named edit of a token's claims.
type ClaimsEdit = (&'static str, fn(&mut Value));

/// When the events are made (ms): 2026-02-10T09:00:00Z.
pub const NOW: i64 = 1_770_714_000_000;

/// An Ed25519 signing key from fixed key material (PKCS#8 DER: the RFC
/// 8410 framing around the 32-byte seed), with the `kid` Keyward gives a
/// key it generates: base64url of the first 16 bytes of SHA-256(public).
fn signing_key(label: &str) -> SigningKey {
    let mut der = hex::decode("302e020100300506032b657004220420").expect("constant hex");
    der.extend_from_slice(&fixed(label));
    let public = SigningKey::from_pkcs8_der("-", &der)
        .expect("fixed key")
        .public_jwk();
    let x = public["x"].as_str().expect("x");
    let raw = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, x)
        .expect("base64url");
    SigningKey::from_pkcs8_der(b64(&sha256(&raw)[..16]), &der).expect("fixed key")
}

/// The server's token for audit entry `seq` (`event` about `user`, at
/// `at_ms`), for `audience`, from `issuer`.
fn server_token(
    signer: &Signer,
    seq: i64,
    user: Option<Uuid>,
    event: &AuditEvent,
    issuer: &str,
    audience: &str,
) -> String {
    let at = NOW - 60_000 + seq * 1_000;
    let detail = event.detail().to_string();
    let prev = hex::encode(fixed(&format!("audit entry {}", seq - 1)));
    let hash = entry_hash(seq, at, user, event.name(), &detail, None, &prev);
    let row = AuditRow {
        seq,
        at,
        user_id: user,
        event: event.name().to_owned(),
        detail,
        ip: None,
        prev_hash: prev,
        hash,
    };
    token_for(&row, issuer, audience, signer, NOW)
        .expect("signs")
        .expect("a security event")
        .set
}

/// `(name, token, audience to check against)`, and the JWKS.
fn cases() -> (Vec<(String, String, String)>, Value) {
    let (current, previous, stranger) = (
        signing_key("event key 2026-02"),
        signing_key("event key 2026-01"),
        signing_key("stranger"),
    );
    let jwks_value = {
        let mut set = signing::jwks([&current, &previous]);
        // A key of another type under its own kid: a token naming it is
        // refused as a JWKS problem, never verified with it.
        let keyward_proof::PublicKeyBytes::Es256(point) =
            keyward_proof::testing::key(5).record.public_key;
        set["keys"].as_array_mut().expect("keys").push(json!({
            "kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..]),
            "kid": "ec-2026", "alg": "ES256", "use": "sig" }));
        set
    };
    let (kid, prev_kid) = (current.kid.clone(), previous.kid.clone());
    let (signer, old_signer, other) = (
        Signer::Sealed(current),
        Signer::Sealed(previous),
        Signer::Sealed(stranger),
    );
    let mut out = Vec::new();
    let mut push = |name: &str, token: String, audience: &str| {
        out.push((name.to_owned(), token, audience.to_owned()))
    };
    let mut seq = 4100;
    for (name, user, event) in events() {
        seq += 1;
        push(
            name,
            server_token(&signer, seq, user, &event, ISSUER, AUDIENCE),
            AUDIENCE,
        );
    }
    let (_, user, approved) = events().remove(0);
    let base = server_token(&signer, 4200, user, &approved, ISSUER, AUDIENCE);
    push(
        "ok/signed-by-previous-key",
        server_token(&old_signer, 4201, user, &approved, ISSUER, AUDIENCE),
        AUDIENCE,
    );
    let big = AuditEvent::KeyRenamed {
        key_id: key_id(),
        label: "k".repeat(6200),
    };
    push(
        "shape/too-long",
        server_token(&signer, 4202, user, &big, ISSUER, AUDIENCE),
        AUDIENCE,
    );
    push(
        "kid/unknown-key",
        server_token(&other, 4203, user, &approved, ISSUER, AUDIENCE),
        AUDIENCE,
    );
    push(
        "iss/wrong-issuer",
        server_token(
            &signer,
            4204,
            user,
            &approved,
            "https://evil.example",
            AUDIENCE,
        ),
        AUDIENCE,
    );
    push(
        "aud/addressed-to-another-audience",
        server_token(&signer, 4205, user, &approved, ISSUER, "webhook-risk"),
        AUDIENCE,
    );
    push(
        "aud/checked-against-another-audience",
        base.clone(),
        "treasury",
    );

    let parts: Vec<&str> = base.split('.').collect();
    let (header, payload, signature) = (parts[0], parts[1], parts[2]);
    let claims: Value = serde_json::from_slice(&decode(payload)).expect("claims");
    let mut changed = claims.clone();
    changed["events"]["https://keyward.dev/secevent/stepup.approved"]["step_up_id"] =
        json!(Uuid::from_u128(0x1043).to_string());
    push(
        "tampered/payload",
        format!("{header}.{}.{signature}", enc(&changed)),
        AUDIENCE,
    );
    let mut sig = decode(signature);
    sig[10] ^= 0x01;
    push(
        "tampered/signature",
        format!("{header}.{payload}.{}", b64(&sig)),
        AUDIENCE,
    );
    let forged = |h: Value| format!("{}.{payload}.{signature}", enc(&h));
    push(
        "tampered/header-kid-of-other-key",
        forged(json!({"typ": "secevent+jwt", "alg": "EdDSA", "kid": prev_kid})),
        AUDIENCE,
    );
    push(
        "alg/none",
        format!(
            "{}.{payload}.",
            enc(&json!({"typ": "secevent+jwt", "alg": "none", "kid": kid}))
        ),
        AUDIENCE,
    );
    push(
        "alg/es256",
        forged(json!({"typ": "secevent+jwt", "alg": "ES256", "kid": kid})),
        AUDIENCE,
    );
    let hs_header = enc(&json!({"typ": "secevent+jwt", "alg": "HS256", "kid": kid}));
    let public = decode(jwks_value["keys"][0]["x"].as_str().expect("x"));
    let mac = hmac_sha256(&public, format!("{hs_header}.{payload}").as_bytes());
    push(
        "alg/hs256-public-key-as-secret",
        format!("{hs_header}.{payload}.{}", b64(&mac)),
        AUDIENCE,
    );
    push(
        "typ/jwt",
        forged(json!({"typ": "JWT", "alg": "EdDSA", "kid": kid})),
        AUDIENCE,
    );
    push(
        "typ/missing",
        forged(json!({"alg": "EdDSA", "kid": kid})),
        AUDIENCE,
    );
    let Signer::Sealed(key) = &signer else {
        unreachable!()
    };
    push(
        "typ/jwt-signed",
        signing::sign_payload_with(key, &claims).expect("signs"),
        AUDIENCE,
    );
    push(
        "kid/missing",
        forged(json!({"typ": "secevent+jwt", "alg": "EdDSA"})),
        AUDIENCE,
    );
    push(
        "kid/empty",
        forged(json!({"typ": "secevent+jwt", "alg": "EdDSA", "kid": ""})),
        AUDIENCE,
    );
    push(
        "kid/names-a-non-ed25519-key",
        forged(json!({"typ": "secevent+jwt", "alg": "EdDSA", "kid": "ec-2026"})),
        AUDIENCE,
    );
    let embedded = jwks_value["keys"][0].clone();
    push(
        "header/jwk-embedded",
        forged(json!({"typ": "secevent+jwt", "alg": "EdDSA", "kid": kid, "jwk": embedded})),
        AUDIENCE,
    );
    push(
        "header/jku",
        forged(
            json!({"typ": "secevent+jwt", "alg": "EdDSA", "kid": kid, "jku": "https://evil.example/jwks.json"}),
        ),
        AUDIENCE,
    );
    push(
        "header/x5u",
        forged(
            json!({"typ": "secevent+jwt", "alg": "EdDSA", "kid": kid, "x5u": "https://evil.example/cert.pem"}),
        ),
        AUDIENCE,
    );
    // RFC 7515 §4.1.11: a `crit` extension the verifier does not know
    // makes the token invalid.
    push(
        "header/crit",
        forged(
            json!({"typ": "secevent+jwt", "alg": "EdDSA", "kid": kid, "crit": ["exp"], "exp": 1}),
        ),
        AUDIENCE,
    );
    // Claims signed properly that do not make an event.
    let claim_edits: [ClaimsEdit; 4] = [
        ("events/empty", |c| c["events"] = json!({})),
        ("claims/missing-jti", |c| {
            c.as_object_mut().expect("object").remove("jti");
        }),
        ("claims/missing-iss", |c| {
            c.as_object_mut().expect("object").remove("iss");
        }),
        ("claims/aud-array", |c| c["aud"] = json!([AUDIENCE])),
    ];
    for (name, edit) in claim_edits {
        let mut c = claims.clone();
        edit(&mut c);
        push(
            name,
            signing::sign_event_with(key, &c).expect("signs"),
            AUDIENCE,
        );
    }
    push("shape/two-parts", format!("{header}.{payload}"), AUDIENCE);
    push("shape/four-parts", format!("{base}.{signature}"), AUDIENCE);
    push(
        "shape/header-not-base64url",
        format!("{}.{payload}.{signature}", header.replace('e', "+")),
        AUDIENCE,
    );
    push("shape/empty", String::new(), AUDIENCE);
    (out, jwks_value)
}

fn enc(value: &Value) -> String {
    b64(value.to_string().as_bytes())
}

fn decode(part: &str) -> Vec<u8> {
    base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, part)
        .expect("base64url")
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    use hmac::{Hmac, Mac};
    let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(key).expect("any key length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

/// The verdict of keyward-client's check, in the vectors' form.
pub fn expect(token: &str, audience: &str, jwks: &JwkSet) -> J {
    match verify_event_with_set(token, jwks, ISSUER, audience) {
        Ok(claims) => obj([
            ("ok", v(true)),
            ("claims", v(serde_json::to_value(claims).expect("claims"))),
        ]),
        Err(e) => obj([("ok", v(false)), ("error", v(e.slug()))]),
    }
}

/// The file, as JSON.
pub fn file() -> J {
    let (cases, jwks) = cases();
    let set: JwkSet = serde_json::from_value(jwks.clone()).expect("a JWKS");
    let cases = cases
        .into_iter()
        .map(|(name, token, audience)| {
            let expect = expect(&token, &audience, &set);
            obj([
                ("name", v(name)),
                ("token", v(token)),
                ("audience", v(audience)),
                ("expect", expect),
            ])
        })
        .collect();
    obj([
        ("version", v(1)),
        ("issuer", v(ISSUER)),
        ("audience", v(AUDIENCE)),
        ("jwks", v(jwks)),
        ("cases", J::Arr(cases)),
    ])
}
