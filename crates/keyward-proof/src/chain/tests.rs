//! Chains built with real P-256 assertions (made by `crate::testing` the
//! way an authenticator makes them), and each way a chain must not be
//! followed.

use super::*;
use crate::testing::{change, genesis, key, rp, user};

#[test]
fn endorsed_additions_and_removals_are_followed() {
    let (a, b, c) = (key(1), key(2), key(3));
    let mut chain = vec![genesis(&a)];
    chain.push(change(&chain, ChainAction::Add, &b, &a));
    chain.push(change(&chain, ChainAction::Add, &c, &b));
    chain.push(change(&chain, ChainAction::Remove, &a, &c));
    let state = follow(&chain, &rp(), None).unwrap();
    assert_eq!(state.keys, vec![b.record.clone(), c.record.clone()]);
    assert_eq!(state.seq, 3);
    assert_eq!(state.genesis, chain[0].hash);
    // Pinned at any earlier head, the chain extends from it.
    for (i, entry) in chain.iter().enumerate() {
        let pin = Pin {
            user: user(),
            genesis: chain[0].hash.clone(),
            head: entry.hash.clone(),
            seq: i as u64,
        };
        assert_eq!(follow(&chain, &rp(), Some(&pin)).unwrap(), state);
    }
}

#[test]
fn a_key_not_in_the_chain_cannot_endorse() {
    let (a, b, mallory) = (key(1), key(2), key(9));
    let chain = vec![
        genesis(&a),
        change(&[genesis(&a)], ChainAction::Add, &b, &mallory),
    ];
    assert!(matches!(
        follow(&chain, &rp(), None),
        Err(ChainError::Unendorsed { seq: 1, .. })
    ));
    // A removed key endorses nothing after its removal.
    let mut chain = vec![genesis(&a)];
    chain.push(change(&chain, ChainAction::Add, &b, &a));
    chain.push(change(&chain, ChainAction::Remove, &a, &b));
    chain.push(change(&chain, ChainAction::Add, &mallory, &a));
    assert!(matches!(
        follow(&chain, &rp(), None),
        Err(ChainError::Unendorsed { seq: 3, .. })
    ));
}

#[test]
fn an_endorsement_over_another_statement_or_for_another_site_is_refused() {
    let (a, b) = (key(1), key(2));
    let chain = vec![genesis(&a)];
    let mut added = change(&chain, ChainAction::Add, &b, &a);
    // The statement is changed after it was signed (another key slipped in,
    // its hash recomputed so the entry still hashes).
    added.statement.key = key(9).record;
    added.hash = hex::encode(added.statement.hash());
    let tampered = [chain[0].clone(), added];
    assert!(matches!(
        follow(&tampered, &rp(), None),
        Err(ChainError::Unendorsed { .. })
    ));
    let elsewhere = RelyingParty {
        rp_id: "evil.example".into(),
        origin: "https://evil.example".into(),
    };
    let honest = [chain[0].clone(), change(&chain, ChainAction::Add, &b, &a)];
    assert!(follow(&honest, &elsewhere, None).is_err());
}

#[test]
fn rewritten_entries_and_broken_links_are_refused() {
    let (a, b) = (key(1), key(2));
    let mut chain = vec![genesis(&a)];
    chain.push(change(&chain, ChainAction::Add, &b, &a));
    let mut stale_hash = chain.clone();
    stale_hash[0].statement.at = 99;
    assert_eq!(
        follow(&stale_hash, &rp(), None),
        Err(ChainError::BrokenLink { seq: 0 })
    );
    let mut rehashed = chain.clone();
    rehashed[0].statement.at = 99;
    rehashed[0].hash = hex::encode(rehashed[0].statement.hash());
    assert_eq!(
        follow(&rehashed, &rp(), None),
        Err(ChainError::BrokenLink { seq: 1 })
    );
    let mut other_user = chain.clone();
    other_user[1].statement.user = Uuid::from_u128(8);
    assert!(matches!(
        follow(&other_user, &rp(), None),
        Err(ChainError::Malformed { seq: 1, .. })
    ));
    assert_eq!(follow(&[], &rp(), None), Err(ChainError::Length));
}

#[test]
fn against_a_pin_restarts_truncations_and_forks_are_reported() {
    let (a, b, mallory) = (key(1), key(2), key(9));
    let mut chain = vec![genesis(&a)];
    chain.push(change(&chain, ChainAction::Add, &b, &a));
    let pin = follow(&chain, &rp(), None).unwrap().pin();
    // A new genesis (the attacker's key), naming the old head.
    let mut restarted = genesis(&mallory);
    restarted.statement.prev = Some(pin.head.clone());
    restarted.hash = hex::encode(restarted.statement.hash());
    match follow(&[restarted], &rp(), Some(&pin)) {
        Err(ChainError::Restarted {
            pinned,
            restarted_from,
            recovered,
            ..
        }) => {
            assert!(!recovered);
            assert_eq!(pinned, pin.genesis);
            assert_eq!(restarted_from.as_deref(), Some(pin.head.as_str()));
        }
        other => panic!("{other:?}"),
    }
    // The chain cut back to before the pinned head.
    assert_eq!(
        follow(&chain[..1], &rp(), Some(&pin)),
        Err(ChainError::Diverged { seq: 1 })
    );
    // Another entry at the pinned position.
    let mut fork = vec![chain[0].clone()];
    fork.push(change(&fork, ChainAction::Add, &mallory, &a));
    assert_eq!(
        follow(&fork, &rp(), Some(&pin)),
        Err(ChainError::Diverged { seq: 1 })
    );
    let stranger = Pin {
        user: Uuid::from_u128(8),
        ..pin
    };
    assert_eq!(
        follow(&chain, &rp(), Some(&stranger)),
        Err(ChainError::WrongUser)
    );
}

#[test]
fn several_genesis_keys_start_a_chain_but_none_after_a_change() {
    let (a, b, c) = (key(1), key(2), key(3));
    let first = genesis(&a);
    let mut second = genesis(&b);
    second.statement.seq = 1;
    second.statement.prev = Some(first.hash.clone());
    second.hash = hex::encode(second.statement.hash());
    let mut chain = vec![first, second];
    assert_eq!(follow(&chain, &rp(), None).unwrap().keys.len(), 2);
    chain.push(change(&chain, ChainAction::Add, &c, &a));
    let mut late = genesis(&key(9));
    late.statement.seq = 3;
    late.statement.prev = Some(chain[2].hash.clone());
    late.hash = hex::encode(late.statement.hash());
    chain.push(late);
    assert!(matches!(
        follow(&chain, &rp(), None),
        Err(ChainError::Malformed { seq: 3, .. })
    ));
}

#[test]
fn an_attestation_must_match_its_digest() {
    let a = key(1);
    let mut entry = genesis(&a);
    entry.attestation = Some(b"not the attested object".to_vec());
    assert!(matches!(
        follow(&[entry], &rp(), None),
        Err(ChainError::Malformed { seq: 0, .. })
    ));
}

#[test]
fn with_a_pin_only_later_changes_are_checked_and_still_must_be_endorsed() {
    let (a, b, mallory) = (key(1), key(2), key(9));
    let mut chain = vec![genesis(&a)];
    chain.push(change(&chain, ChainAction::Add, &b, &a));
    let pin = follow(&chain, &rp(), None).unwrap().pin();
    // Past the pin: an entry the attacker endorsed is refused.
    let mut forged = chain.clone();
    forged.push(change(&forged, ChainAction::Add, &mallory, &mallory));
    assert!(matches!(
        follow(&forged, &rp(), Some(&pin)),
        Err(ChainError::Unendorsed { seq: 2, .. })
    ));
    // Up to the pin the statements must be the pinned ones: a rewritten
    // prefix (rehashed) no longer reaches the pinned head.
    let mut rewritten = chain.clone();
    rewritten[1].statement.key = mallory.record.clone();
    rewritten[1].hash = hex::encode(rewritten[1].statement.hash());
    assert_eq!(
        follow(&rewritten, &rp(), Some(&pin)),
        Err(ChainError::Diverged { seq: 1 })
    );
    // An honest later change, endorsed by a key in the chain, extends it.
    let c = key(3);
    chain.push(change(&chain, ChainAction::Add, &c, &b));
    assert_eq!(follow(&chain, &rp(), Some(&pin)).unwrap().seq, 2);
}
