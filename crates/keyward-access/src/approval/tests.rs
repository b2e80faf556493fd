//! Tests of approval-token signing and verification, including forgeries.

use super::*;
use jsonwebtoken::{EncodingKey, Header};
use secrecy::ExposeSecret;
use serde::Serialize;
use uuid::Uuid;

const ISS: &str = "https://keyward.example";
const AUD: &str = "withdrawals";
const NOW: i64 = 1_700_000_000;

fn claims() -> ApprovalClaims {
    ApprovalClaims {
        step_up_id: Uuid::new_v4(),
        sub: "user-42".into(),
        action: "withdrawal.create".into(),
        details_digest: "ab".repeat(32),
        credential_id: "Y3JlZC1pZA".into(),
        aaguid: Some(Uuid::new_v4()),
        uv: true,
        iat: NOW,
        exp: NOW + 120,
        jti: Uuid::new_v4(),
        iss: ISS.into(),
        aud: AUD.into(),
        chain_head: None,
    }
}

fn b64(v: &impl Serialize) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

fn parts(token: &str) -> Vec<String> {
    token.split('.').map(str::to_owned).collect()
}

#[test]
fn sign_then_verify() {
    let key = SigningKey::generate();
    let c = claims();
    let token = sign(&key, &c).unwrap();
    let set = jwks([&key]);
    assert_eq!(verify(&token, &set, ISS, AUD, NOW).unwrap(), c);
    assert_eq!(verify(&token, &set, ISS, AUD, NOW + 119).unwrap(), c);

    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts(&token)[0]).unwrap()).unwrap();
    assert_eq!(
        header,
        json!({"typ": "JWT", "alg": "EdDSA", "kid": key.kid})
    );
    let body: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts(&token)[1]).unwrap()).unwrap();
    for name in [
        "sid",
        "sub",
        "action",
        "details_digest",
        "cred_id",
        "aaguid",
        "uv",
        "iat",
        "exp",
        "jti",
        "iss",
        "aud",
    ] {
        assert!(body.get(name).is_some(), "claim {name}");
    }
}

#[test]
fn missing_aaguid_is_omitted_and_round_trips() {
    let key = SigningKey::generate();
    let c = ApprovalClaims {
        aaguid: None,
        ..claims()
    };
    let token = sign(&key, &c).unwrap();
    assert!(
        !String::from_utf8(URL_SAFE_NO_PAD.decode(&parts(&token)[1]).unwrap())
            .unwrap()
            .contains("aaguid")
    );
    assert_eq!(verify(&token, &jwks([&key]), ISS, AUD, NOW).unwrap(), c);
}

#[test]
fn tampered_payload_is_rejected() {
    let key = SigningKey::generate();
    let token = sign(&key, &claims()).unwrap();
    let mut p = parts(&token);
    let forged = ApprovalClaims {
        action: "withdrawal.create.unlimited".into(),
        ..claims()
    };
    p[1] = b64(&forged);
    let forged = p.join(".");
    assert_eq!(
        verify(&forged, &jwks([&key]), ISS, AUD, NOW),
        Err(ApprovalError::BadSignature)
    );
}

#[test]
fn tampered_signature_is_rejected() {
    let key = SigningKey::generate();
    let token = sign(&key, &claims()).unwrap();
    let mut p = parts(&token);
    let mut sig = URL_SAFE_NO_PAD.decode(&p[2]).unwrap();
    sig[0] ^= 1;
    p[2] = URL_SAFE_NO_PAD.encode(sig);
    assert_eq!(
        verify(&p.join("."), &jwks([&key]), ISS, AUD, NOW),
        Err(ApprovalError::BadSignature)
    );
}

#[test]
fn wrong_kid_is_rejected() {
    // Signed by `a` but naming `b`, which is in the set.
    let a = SigningKey::generate();
    let b = SigningKey::generate();
    let lying =
        SigningKey::from_pkcs8_der(b.kid.clone(), a.to_pkcs8_der().unwrap().expose_secret())
            .unwrap();
    let token = sign(&lying, &claims()).unwrap();
    assert_eq!(
        verify(&token, &jwks([&a, &b]), ISS, AUD, NOW),
        Err(ApprovalError::BadSignature)
    );
}

#[test]
fn unknown_or_missing_kid_is_rejected() {
    let key = SigningKey::generate();
    let other = SigningKey::generate();
    let token = sign(&key, &claims()).unwrap();
    assert_eq!(
        verify(&token, &jwks([&other]), ISS, AUD, NOW),
        Err(ApprovalError::UnknownKey)
    );
    assert_eq!(
        verify(&token, &json!({"keys": []}), ISS, AUD, NOW),
        Err(ApprovalError::UnknownKey)
    );
    let mut p = parts(&token);
    p[0] = b64(&json!({"typ": "JWT", "alg": "EdDSA"}));
    assert_eq!(
        verify(&p.join("."), &jwks([&key]), ISS, AUD, NOW),
        Err(ApprovalError::UnknownKey)
    );
}

#[test]
fn another_key_with_the_same_kid_is_rejected() {
    let real = SigningKey::generate();
    let mut attacker = SigningKey::generate();
    attacker.kid = real.kid.clone();
    let token = sign(&attacker, &claims()).unwrap();
    assert_eq!(
        verify(&token, &jwks([&real]), ISS, AUD, NOW),
        Err(ApprovalError::BadSignature)
    );
}

#[test]
fn expiry_and_issue_time_use_now_with_no_leeway() {
    let key = SigningKey::generate();
    let c = claims();
    let token = sign(&key, &c).unwrap();
    let set = jwks([&key]);
    assert_eq!(
        verify(&token, &set, ISS, AUD, c.exp),
        Err(ApprovalError::Expired)
    );
    assert_eq!(
        verify(&token, &set, ISS, AUD, c.exp + 3600),
        Err(ApprovalError::Expired)
    );
    assert_eq!(
        verify(&token, &set, ISS, AUD, c.iat - 1),
        Err(ApprovalError::NotYetValid)
    );
}

#[test]
fn wrong_audience_or_issuer_is_rejected() {
    let key = SigningKey::generate();
    let token = sign(&key, &claims()).unwrap();
    let set = jwks([&key]);
    assert_eq!(
        verify(&token, &set, ISS, "transfers", NOW),
        Err(ApprovalError::WrongAudience)
    );
    assert_eq!(
        verify(&token, &set, "https://evil.example", AUD, NOW),
        Err(ApprovalError::WrongIssuer)
    );
}

#[test]
fn alg_none_is_rejected() {
    let key = SigningKey::generate();
    let header = b64(&json!({"typ": "JWT", "alg": "none", "kid": key.kid}));
    let body = b64(&claims());
    for token in [format!("{header}.{body}."), format!("{header}.{body}")] {
        assert!(verify(&token, &jwks([&key]), ISS, AUD, NOW).is_err());
    }
    assert_eq!(
        verify(&format!("{header}.{body}."), &jwks([&key]), ISS, AUD, NOW),
        Err(ApprovalError::UnsupportedAlgorithm)
    );
}

#[test]
fn hs256_with_the_public_key_as_secret_is_rejected() {
    let key = SigningKey::generate();
    let jwk = key.public_jwk();
    let x = jwk["x"].as_str().unwrap();
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(key.kid.clone());
    for secret in [x.as_bytes().to_vec(), URL_SAFE_NO_PAD.decode(x).unwrap()] {
        let forged =
            jsonwebtoken::encode(&header, &claims(), &EncodingKey::from_secret(&secret)).unwrap();
        assert_eq!(
            verify(&forged, &jwks([&key]), ISS, AUD, NOW),
            Err(ApprovalError::UnsupportedAlgorithm)
        );
    }
}

#[test]
fn embedded_keys_and_crit_are_rejected() {
    let key = SigningKey::generate();
    let token = sign(&key, &claims()).unwrap();
    let mut p = parts(&token);
    for extra in ["jwk", "jku", "x5u", "x5c", "crit"] {
        let mut header = json!({"typ": "JWT", "alg": "EdDSA", "kid": key.kid});
        header[extra] = json!("x");
        p[0] = b64(&header);
        assert_eq!(
            verify(&p.join("."), &jwks([&key]), ISS, AUD, NOW),
            Err(ApprovalError::Malformed),
            "{extra}"
        );
    }
}

#[test]
fn garbage_and_bad_jwks_are_rejected() {
    let key = SigningKey::generate();
    let token = sign(&key, &claims()).unwrap();
    for bad in [
        "",
        "a.b",
        "a.b.c.d",
        "!!.!!.!!",
        &"a".repeat(MAX_TOKEN_LEN + 1),
    ] {
        assert_eq!(
            verify(bad, &jwks([&key]), ISS, AUD, NOW),
            Err(ApprovalError::Malformed)
        );
    }
    let mut short = key.public_jwk();
    short["x"] = json!("AAAA");
    let mut hmac = key.public_jwk();
    hmac["kty"] = json!("oct");
    for set in [
        json!({}),
        json!({"keys": [short]}),
        json!({"keys": [hmac]}),
        json!({"keys": [key.public_jwk(), key.public_jwk()]}),
    ] {
        assert_eq!(
            verify(&token, &set, ISS, AUD, NOW),
            Err(ApprovalError::Jwks)
        );
    }
}

#[test]
fn pkcs8_store_then_load_signs_verifiably() {
    let key = SigningKey::generate();
    let der = key.to_pkcs8_der().unwrap();
    let loaded = SigningKey::from_pkcs8_der(key.kid.clone(), der.expose_secret()).unwrap();
    assert_eq!(loaded.public_jwk(), key.public_jwk());
    let token = sign(&loaded, &claims()).unwrap();
    assert!(verify(&token, &jwks([&key]), ISS, AUD, NOW).is_ok());
    assert_eq!(
        SigningKey::from_pkcs8_der("", der.expose_secret()).unwrap_err(),
        ApprovalError::Key
    );
    assert_eq!(
        SigningKey::from_pkcs8_der("k", b"not der").unwrap_err(),
        ApprovalError::Key
    );
}

#[test]
fn jwks_holds_only_public_material() {
    let a = SigningKey::generate();
    let b = SigningKey::generate();
    assert_ne!(a.kid, b.kid);
    assert_eq!(a.kid.len(), 22);
    let set = jwks([&a, &b]);
    let keys = set["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    for (k, key) in keys.iter().zip([&a, &b]) {
        let obj = k.as_object().unwrap();
        let mut names: Vec<&str> = obj.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["alg", "crv", "kid", "kty", "use", "x"]);
        assert_eq!(k["kty"], "OKP");
        assert_eq!(k["crv"], "Ed25519");
        assert_eq!(k["alg"], "EdDSA");
        assert_eq!(k["use"], "sig");
        assert_eq!(k["kid"], key.kid.as_str());
        assert_eq!(
            URL_SAFE_NO_PAD
                .decode(k["x"].as_str().unwrap())
                .unwrap()
                .len(),
            32
        );
        let seed = URL_SAFE_NO_PAD.encode(key.secret.to_bytes());
        assert!(!set.to_string().contains(&seed));
    }
}

#[test]
fn debug_is_redacted() {
    let key = SigningKey::generate();
    let dbg = format!("{key:?}");
    assert!(dbg.contains(&key.kid));
    let seed = key.secret.to_bytes();
    assert!(!dbg.contains(&URL_SAFE_NO_PAD.encode(seed)));
    assert!(!dbg.contains(&format!("{seed:?}")));
    assert!(!dbg.contains(&hex::encode(seed)));
    let der = key.to_pkcs8_der().unwrap();
    let der_dbg = format!("{der:?}");
    assert!(!der_dbg.contains(&format!("{:?}", der.expose_secret())));
}

#[test]
fn invalid_claims_are_not_signed() {
    let key = SigningKey::generate();
    let c = ApprovalClaims {
        exp: NOW,
        ..claims()
    };
    assert_eq!(sign(&key, &c), Err(ApprovalError::InvalidClaims));
}

/// A key held elsewhere signs through `sign_by`; the token verifies like
/// one from `sign`, and a signer that fails or answers wrongly signs nothing.
#[test]
fn an_external_signer_makes_the_same_tokens() {
    use ed25519_dalek::Signer as _;
    let key = SigningKey::generate();
    let jwks = jwks([&key]);
    let claims = claims();
    let token = sign_by(&key.kid, &claims, |input| {
        Ok::<_, ()>(key.secret.sign(input).to_bytes().to_vec())
    })
    .unwrap();
    assert_eq!(verify(&token, &jwks, ISS, AUD, NOW).unwrap(), claims);
    assert_eq!(token, sign(&key, &claims).unwrap(), "one format");
    let failed = sign_by(&key.kid, &claims, |_| Err::<Vec<u8>, ()>(()));
    assert_eq!(failed.unwrap_err(), ApprovalError::Sign);
    let short = sign_by(&key.kid, &claims, |_| Ok::<_, ()>(vec![0; 10]));
    assert_eq!(short.unwrap_err(), ApprovalError::Sign);
}

/// Any payload signs and verifies the same way; another key's or an
/// altered payload does not verify.
#[test]
fn payloads_sign_and_verify_like_approvals() {
    use ed25519_dalek::Signer as _;
    let key = SigningKey::generate();
    let payload = serde_json::json!({ "seq": 7, "hash": "ab" });
    let signer = |input: &[u8]| Ok::<_, ()>(key.secret.sign(input).to_bytes().to_vec());
    let token = sign_payload(&key.kid, &payload, signer).unwrap();
    assert_eq!(verify_payload(&token, &jwks([&key])).unwrap(), payload);
    let other = SigningKey::generate();
    assert_eq!(
        verify_payload(&token, &jwks([&other])).unwrap_err(),
        ApprovalError::UnknownKey
    );
    let parts: Vec<&str> = token.split('.').collect();
    let altered = URL_SAFE_NO_PAD.encode(br#"{"seq":8,"hash":"ab"}"#);
    let forged = format!("{}.{altered}.{}", parts[0], parts[2]);
    assert_eq!(
        verify_payload(&forged, &jwks([&key])).unwrap_err(),
        ApprovalError::BadSignature
    );
}

/// Tokens are byte-identical to what jsonwebtoken makes for the same key and
/// claims (the format exchanges already verify did not change).
#[test]
fn tokens_match_jsonwebtoken_byte_for_byte() {
    let key = SigningKey::generate();
    let claims = claims();
    let der = key.to_pkcs8_der().unwrap();
    let mut header = Header::new(Algorithm::EdDSA);
    header.typ = Some("JWT".to_owned());
    header.kid = Some(key.kid.clone());
    let theirs = jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_ed_der(der.expose_secret()),
    )
    .unwrap();
    assert_eq!(sign(&key, &claims).unwrap(), theirs);
}

#[test]
fn an_event_token_and_an_approval_token_never_pass_for_each_other() {
    let key = SigningKey::generate();
    let set = jwks([&key]);
    let event = json!({ "iss": ISS, "aud": "mailer", "jti": "1", "events": { "x": {} } });
    let signed = sign_event_with(&key, &event).unwrap();
    assert_eq!(verify_event(&signed, &set).unwrap(), event);
    let header: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&parts(&signed)[0]).unwrap()).unwrap();
    assert_eq!(header["typ"], SET_TYP);
    assert!(verify(&signed, &set, ISS, AUD, NOW).is_err());
    assert!(verify_payload(&signed, &set).is_err());
    let approval = sign(&key, &claims()).unwrap();
    assert_eq!(verify_event(&approval, &set), Err(ApprovalError::Malformed));
    let other = SigningKey::generate();
    let forged = sign_event_with(
        &SigningKey {
            kid: key.kid.clone(),
            ..other
        },
        &event,
    )
    .unwrap();
    assert!(verify_event(&forged, &set).is_err());
}
