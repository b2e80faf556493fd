//! The service-key / API-key token parser and checksum: a string parses as
//! at most one kind, only with that kind's prefix and length, and yields the
//! SHA-256 of exactly the presented string. At start-up, freshly generated
//! tokens of both kinds must round-trip.
#![no_main]

use std::sync::LazyLock;

use keyward_access::token::{self, TokenKind};
use libfuzzer_sys::fuzz_target;
use secrecy::ExposeSecret as _;
use sha2::Digest as _;

const KINDS: [TokenKind; 2] = [TokenKind::Service, TokenKind::ApiKey];

static ROUND_TRIP: LazyLock<()> = LazyLock::new(|| {
    for _ in 0..200 {
        for kind in KINDS {
            let new = token::generate(kind);
            let text = new.plaintext.expose_secret();
            let hash = token::parse(kind, text).expect("a generated token parses");
            assert_eq!(hash.as_bytes(), new.hash.as_bytes());
            assert!(text.starts_with(&new.prefix));
            assert_eq!(TokenKind::detect(text), Some(kind));
        }
    }
});

fuzz_target!(|data: &[u8]| {
    LazyLock::force(&ROUND_TRIP);
    let Ok(presented) = std::str::from_utf8(data) else {
        return;
    };
    let parsed: Vec<_> = KINDS
        .iter()
        .filter_map(|&k| token::parse(k, presented).ok().map(|h| (k, h)))
        .collect();
    assert!(parsed.len() <= 1, "parses as both kinds: {presented:?}");
    if let Some((kind, hash)) = parsed.first() {
        assert!(presented.starts_with(kind.prefix()));
        assert_eq!(TokenKind::detect(presented), Some(*kind));
        assert_eq!(presented.len(), kind.prefix().len() + 49);
        let expected: [u8; 32] = sha2::Sha256::digest(presented.as_bytes()).into();
        assert_eq!(hash.as_bytes(), &expected);
        let hex = hash.to_hex();
        let back = keyward_access::TokenHash::from_hex(&hex).expect("hex round trip");
        assert_eq!(back.as_bytes(), hash.as_bytes());
    }
});
