"""Evidence, key chains and approvals end to end (keyward_proof's tests,
ported), and the Verifier with its pins."""

import hashlib
from dataclasses import replace

import pytest

from kit import ORIGIN, RP_ID, USER, Key, assert_over, change, entry, genesis
from keyward_client import (
    ApprovalEvidence,
    ChainRestarted,
    FilePins,
    MemoryPins,
    Unverified,
    Verifier,
    _b64,
    step_up_challenge,
    verify_approval,
)
from keyward_client.chain import ChainError, Pin, follow
from keyward_client.details import canonical_of

DETAILS = {
    "asset": "BTC",
    "network": "bitcoin",
    "amount": "0.25",
    "destination": "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh",
    "client_reference": "payout-1",
}
CANONICAL = canonical_of("withdrawal", DETAILS)
NONCE = bytes([5]) * 32


def chain_ab():
    a, b = Key(1), Key(2)
    chain = [genesis(a)]
    chain.append(change(chain, "add", b, a))
    return chain


def evidence(signer=2, chain=None, **kw):
    return ApprovalEvidence(
        details=CANONICAL.json,
        nonce=_b64.encode(NONCE),
        assertion=assert_over(Key(signer), step_up_challenge(NONCE, CANONICAL.digest), **kw),
        key_chain=tuple(chain if chain is not None else chain_ab()),
    )


def check(ev, digest=CANONICAL.digest, pin=None, require_uv=True):
    return verify_approval(ev, RP_ID, ORIGIN, digest, require_uv, pin)


def verdict(ev, **kw):
    with pytest.raises(Unverified) as e:
        check(ev, **kw)
    return e.value.error, e.value.reason


def test_an_approval_by_a_key_in_the_chain_verifies():
    v = check(evidence(2))
    assert v.key == Key(2).record
    assert v.facts.user_verified and v.facts.counter == 1
    assert v.chain.seq == 1


def test_each_broken_part_is_refused():
    assert verdict(evidence(2), digest=bytes(32)) == ("details_differ", None)
    assert verdict(evidence(9)) == ("key_not_in_chain", None)
    assert verdict(replace(evidence(2), nonce=_b64.encode(bytes([6]) * 32))) == ("assertion_invalid", "challenge_mismatch")
    assert verdict(replace(evidence(2), nonce="AAAA")) == ("malformed_nonce", None)
    assert verdict(replace(evidence(2), key_chain=())) == ("chain_invalid", "length")
    assert verdict(evidence(2, flags=0x01)) == ("user_not_verified", None)
    assert check(evidence(2, flags=0x01), require_uv=False).facts.user_verified is False
    assert verdict(evidence(2, flags=0x04)) == ("assertion_invalid", "user_not_present")
    assert verdict(evidence(2, rp_id="evil.example")) == ("assertion_invalid", "rp_id_mismatch")
    challenge = _b64.encode(step_up_challenge(NONCE, CANONICAL.digest))
    for client, reason in [
        ({"type": "webauthn.create", "challenge": challenge, "origin": ORIGIN}, "wrong_client_data_type"),
        ({"type": "webauthn.get", "challenge": challenge, "origin": "https://evil.example"}, "origin_mismatch"),
        ({"type": "webauthn.get", "challenge": challenge, "origin": ORIGIN, "crossOrigin": True}, "origin_mismatch"),
        ({"type": "webauthn.get", "challenge": challenge + "==", "origin": ORIGIN}, "challenge_mismatch"),
        ({"type": "webauthn.get", "origin": ORIGIN}, "malformed_response"),
    ]:
        assert verdict(evidence(2, client=client)) == ("assertion_invalid", reason), client
    # Padding on the challenge is tolerated (browsers differ), as in Rust.
    padded = {"type": "webauthn.get", "challenge": challenge + "=", "origin": ORIGIN, "crossOrigin": False}
    check(evidence(2, client=padded))
    ev = evidence(2)
    tampered = replace(ev.assertion, signature=ev.assertion.signature[:-1] + bytes([ev.assertion.signature[-1] ^ 1]))
    assert verdict(replace(ev, assertion=tampered)) == ("assertion_invalid", "bad_signature")
    other_key = replace(ev.assertion, public_key=Key(3).record.public_key)
    assert verdict(replace(ev, assertion=other_key)) == ("assertion_invalid", "bad_signature")


def test_chains_are_followed_from_the_pin():
    chain = chain_ab()
    state = follow(chain, RP_ID, ORIGIN, None)
    pin0 = Pin(user=USER, genesis=chain[0].hash, head=chain[0].hash, seq=0)
    assert follow(chain, RP_ID, ORIGIN, pin0).pin() == state.pin()
    # The pin moves forward through a valid endorsement only.
    unendorsed = list(chain)
    unendorsed[1] = entry(chain[1].statement, None)
    with pytest.raises(ChainError) as e:
        follow(unendorsed, RP_ID, ORIGIN, pin0)
    assert e.value.kind == "unendorsed"
    by_stranger = [chain[0], change([chain[0]], "add", Key(2), Key(3))]
    with pytest.raises(ChainError) as e:
        follow(by_stranger, RP_ID, ORIGIN, None)
    assert e.value.kind == "unendorsed"
    # ...but below the pin the endorsement was checked when the pin was made.
    pin1 = state.pin()
    assert follow(unendorsed, RP_ID, ORIGIN, pin1).seq == 1
    with pytest.raises(ChainError) as e:
        follow(chain[:1], RP_ID, ORIGIN, pin1)
    assert e.value.kind == "diverged"
    with pytest.raises(ChainError) as e:
        follow(chain, RP_ID, ORIGIN, replace(pin1, user="00000000-0000-0000-0000-000000000008"))
    assert e.value.kind == "wrong_user"
    rewritten = list(chain)
    rewritten[1] = replace(chain[1], hash="00" * 32)
    with pytest.raises(ChainError) as e:
        follow(rewritten, RP_ID, ORIGIN, None)
    assert e.value.kind == "broken_link"
    removed = chain + [change(chain, "remove", Key(1), Key(2))]
    assert [k.credential_id[0] for k in follow(removed, RP_ID, ORIGIN, pin1).keys] == [2]


def test_a_restarted_chain_is_reported_not_followed():
    old = chain_ab()
    pin = follow(old, RP_ID, ORIGIN, None).pin()
    new = [genesis(Key(4), prev=old[-1].hash, recovered=True)]
    ev = evidence(4, chain=new)
    with pytest.raises(ChainRestarted) as e:
        check(ev, pin=pin)
    assert (e.value.error, e.value.reason) == ("chain_restarted", None)
    assert e.value.recovered and e.value.restarted_from == old[-1].hash
    assert e.value.pinned == old[0].hash and e.value.genesis == new[0].hash


@pytest.mark.parametrize("store", ["memory", "file"])
def test_the_verifier_pins_on_first_use_moves_forward_and_needs_accept_restart(store, tmp_path):
    pins = MemoryPins() if store == "memory" else FilePins(tmp_path / "pins.json")
    verifier = Verifier(RP_ID, ORIGIN + "/", pins)
    one = [genesis(Key(1))]
    verifier.verify("alice", "withdrawal", DETAILS, evidence(1, chain=one))
    assert pins.get("alice").seq == 0
    verifier.verify("alice", "withdrawal", DETAILS, evidence(2))
    assert pins.get("alice").seq == 1
    restarted = [genesis(Key(4), prev=pins.get("alice").head)]
    with pytest.raises(ChainRestarted):
        verifier.verify("alice", "withdrawal", DETAILS, evidence(4, chain=restarted))
    assert pins.get("alice").genesis == one[0].hash
    verifier.accept_restart("alice", "withdrawal", DETAILS, evidence(4, chain=restarted))
    assert pins.get("alice").genesis == restarted[0].hash
    with pytest.raises(Unverified) as e:
        verifier.verify("alice", "withdrawal", dict(DETAILS, amount="0.26"), evidence(4, chain=restarted))
    assert e.value.error == "details_differ"


def test_evidence_json_round_trips_and_malformed_is_refused():
    ev = evidence(2)
    body = {
        "details": ev.details,
        "nonce": ev.nonce,
        "assertion": ev.assertion.to_json(),
        "key_chain": [
            {"statement": e.statement.to_json(), "hash": e.hash, **({"endorsement": e.endorsement.to_json()} if e.endorsement else {})}
            for e in ev.key_chain
        ],
        "ignored": "outer unknown members are ignored, as serde does",
    }
    assert ApprovalEvidence.from_json(body) == ev
    for path, value in [
        (("assertion", "extra"), 1),
        (("assertion", "signature"), "not base64!"),
        (("assertion", "public_key"), {"alg": "RS256", "key": "AAAA"}),
        (("nonce",), 5),
    ]:
        bad = {**body, path[0]: dict(body[path[0]]) if isinstance(body[path[0]], dict) else body[path[0]]}
        if len(path) == 2:
            bad[path[0]][path[1]] = value
        else:
            bad[path[0]] = value
        with pytest.raises(Unverified) as e:
            ApprovalEvidence.from_json(bad)
        assert e.value.error == "malformed_evidence", path
    with pytest.raises(Unverified) as e:
        ApprovalEvidence.from_bytes(b'{"details": "x", "details": "y", "nonce": "", "assertion": {}}')
    assert e.value.error == "malformed_evidence"


def test_statement_hash_is_over_its_canonical_json():
    s = genesis(Key(1)).statement
    assert s.hash() == hashlib.sha256(
        ('{"action":"genesis","at":1,"key":{"attestation_digest":"' + _b64.encode(hashlib.sha256(b"").digest())
         + '","credential_id":"' + _b64.encode(bytes([1]) * 16) + '","public_key":{"alg":"ES256","key":"'
         + _b64.encode(Key(1).record.public_key.key) + '"}},"nonce":"' + _b64.encode(bytes(32))
         + '","seq":0,"user":"' + USER + '"}').encode()
    ).digest()
