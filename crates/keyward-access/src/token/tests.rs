//! Tests of secret-token generation, parsing and redaction.

use super::*;
use secrecy::ExposeSecret;

const KINDS: [TokenKind; 2] = [TokenKind::Service, TokenKind::ApiKey];

#[test]
fn round_trip_gives_the_stored_hash() {
    for kind in KINDS {
        let t = generate(kind);
        let plain = t.plaintext.expose_secret();
        assert!(plain.starts_with(kind.prefix()));
        assert_eq!(plain.len(), kind.prefix().len() + BODY_LEN + CHECKSUM_LEN);
        assert!(plain.starts_with(&t.prefix));
        assert_eq!(t.prefix.len(), kind.prefix().len() + DISPLAY_LEN);
        assert_eq!(parse(kind, plain).unwrap(), t.hash);
        assert_eq!(TokenKind::detect(plain), Some(kind));
    }
}

#[test]
fn tokens_differ() {
    let a = generate(TokenKind::ApiKey);
    let b = generate(TokenKind::ApiKey);
    assert_ne!(a.plaintext.expose_secret(), b.plaintext.expose_secret());
    assert_ne!(a.hash, b.hash);
}

/// Replaces each character of `token` with every other base62 character
/// and `_`/`-` (or, unless `exhaustive`, with just the next base62 one).
fn assert_single_changes_rejected(kind: TokenKind, token: &str, exhaustive: bool) {
    let p = kind.prefix().len();
    for (i, orig) in token.char_indices() {
        let next = BASE62[(BASE62
            .iter()
            .position(|&b| char::from(b) == orig)
            .unwrap_or(0)
            + 1)
            % 62];
        let candidates: Vec<u8> = if exhaustive {
            BASE62.iter().chain(b"_-").copied().collect()
        } else {
            vec![next]
        };
        for c in candidates {
            let c = char::from(c);
            if c == orig {
                continue;
            }
            let mut bad = token.to_owned();
            bad.replace_range(i..=i, c.encode_utf8(&mut [0; 4]));
            let err = parse(kind, &bad).unwrap_err();
            if i < p {
                assert_eq!(err, TokenError::WrongPrefix, "position {i}");
            } else if c.is_ascii_alphanumeric() {
                assert_eq!(err, TokenError::BadChecksum, "position {i}");
            } else {
                assert_eq!(err, TokenError::Malformed, "position {i}");
            }
        }
    }
}

#[test]
fn any_single_character_change_is_rejected_fixed_token() {
    // A fixed body makes this exhaustive check deterministic.
    let body = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg";
    for kind in KINDS {
        let token = assemble(kind, body);
        assert!(parse(kind, &token).is_ok());
        assert_single_changes_rejected(kind, &token, true);
    }
}

#[test]
fn any_single_character_change_is_rejected_generated_token() {
    // One change per position keeps the chance of a random 32-bit
    // checksum collision (and so a flaky test) below 1e-8.
    for kind in KINDS {
        let t = generate(kind);
        assert_single_changes_rejected(kind, t.plaintext.expose_secret(), false);
    }
}

#[test]
fn truncated_or_extended_is_rejected() {
    let t = generate(TokenKind::Service);
    let plain = t.plaintext.expose_secret();
    for n in 0..plain.len() {
        assert!(parse(TokenKind::Service, &plain[..n]).is_err(), "len {n}");
    }
    let longer = format!("{plain}0");
    assert_eq!(
        parse(TokenKind::Service, &longer),
        Err(TokenError::Malformed)
    );
    let padded = format!(" {plain}");
    assert_eq!(
        parse(TokenKind::Service, &padded),
        Err(TokenError::WrongPrefix)
    );
}

#[test]
fn other_kind_is_rejected() {
    let svc = generate(TokenKind::Service);
    let api = generate(TokenKind::ApiKey);
    let svc_plain = svc.plaintext.expose_secret();
    let api_plain = api.plaintext.expose_secret();
    assert_eq!(
        parse(TokenKind::ApiKey, svc_plain),
        Err(TokenError::WrongPrefix)
    );
    assert_eq!(
        parse(TokenKind::Service, api_plain),
        Err(TokenError::WrongPrefix)
    );
    // Re-labelling a real token as the other kind fails the checksum,
    // because the checksum covers the kind prefix.
    let relabelled = svc_plain.replacen("kw_svc_", "kw_api_", 1);
    assert_eq!(
        parse(TokenKind::ApiKey, &relabelled),
        Err(TokenError::BadChecksum)
    );
    assert!(
        !TokenKind::Service
            .prefix()
            .starts_with(TokenKind::ApiKey.prefix())
    );
    assert!(
        !TokenKind::ApiKey
            .prefix()
            .starts_with(TokenKind::Service.prefix())
    );
    assert_eq!(TokenKind::detect("kw_other"), None);
}

#[test]
fn debug_and_errors_do_not_leak_the_secret() {
    let t = generate(TokenKind::ApiKey);
    let plain = t.plaintext.expose_secret();
    let body_and_check = &plain[TokenKind::ApiKey.prefix().len() + DISPLAY_LEN..];
    let dbg = format!("{t:?}");
    assert!(!dbg.contains(plain), "{dbg}");
    assert!(!dbg.contains(body_and_check), "{dbg}");
    assert!(!dbg.contains(&t.hash.to_hex()), "{dbg}");
    assert!(dbg.contains("REDACTED"), "{dbg}");
    let mut broken = plain.to_owned();
    broken.pop();
    let err = parse(TokenKind::ApiKey, &broken).unwrap_err();
    assert!(!format!("{err} {err:?}").contains(&broken[7..15]));
}

#[test]
fn hash_helpers_round_trip() {
    let t = generate(TokenKind::Service);
    let hex = t.hash.to_hex();
    assert_eq!(hex.len(), 64);
    assert_eq!(TokenHash::from_hex(&hex).unwrap(), t.hash);
    assert_eq!(TokenHash::from_bytes(*t.hash.as_bytes()), t.hash);
    assert_eq!(
        TokenHash::try_from_slice(t.hash.as_bytes()).unwrap(),
        t.hash
    );
    assert_eq!(
        TokenHash::try_from_slice(&[0; 31]),
        Err(TokenError::Malformed)
    );
    assert_eq!(TokenHash::from_hex("zz"), Err(TokenError::Malformed));
    // The stored hash is SHA-256 of the whole token.
    let expected: [u8; 32] = Sha256::digest(t.plaintext.expose_secret().as_bytes()).into();
    assert_eq!(t.hash.as_bytes(), &expected);
}

#[test]
fn checksum_encoding_covers_u32() {
    for v in [0, 1, 61, 62, 123_456_789, u32::MAX] {
        let s = encode_checksum(v);
        assert_eq!(s.len(), CHECKSUM_LEN);
        assert_eq!(decode_checksum(&s), Some(v));
    }
    assert_eq!(decode_checksum("zzzzzz"), None);
}

#[test]
fn documented_example_parses() {
    let example = "kw_svc_q0Zf3rK8LmN2pX7vB1cD9eG4hJ6kT5wY0aS3uI8oP2r1LeVHR";
    assert_eq!(example.len(), 56);
    assert!(parse(TokenKind::Service, example).is_ok());
    assert_eq!(
        parse(
            TokenKind::ApiKey,
            "kw_api_q0Zf3rK8LmN2pX7vB1cD9eG4hJ6kT5wY0aS3uI8oP2r1fiCxa"
        ),
        Ok(TokenHash::of(
            "kw_api_q0Zf3rK8LmN2pX7vB1cD9eG4hJ6kT5wY0aS3uI8oP2r1fiCxa"
        ))
    );
}
