"""Security Event Tokens and approval tokens, verified offline."""

import hashlib
import time

import pytest

from kit import Signer
from keyward_client import TokenError, _b64, approval_matches, parse_jwks, verify_approval_token_with, verify_event_with

ISS = "http://localhost:8080"
AUD = "payouts"
SIGNER = Signer("k1")
KEYS = parse_jwks({"keys": [SIGNER.jwk()]})


def claims(**over):
    c = {
        "iss": ISS,
        "aud": AUD,
        "iat": 1767225600,
        "jti": "e-1",
        "toe": 1767225600,
        "sub_id": {"format": "opaque", "id": "u"},
        "events": {"https://keyward.dev/secevent/stepup.approved": {"step_up_id": "s"}},
        "keyward_seq": 7,
    }
    c.update(over)
    return c


def kind(token, audience=AUD, keys=KEYS):
    with pytest.raises(TokenError) as e:
        verify_event_with(token, keys, ISS, audience)
    return e.value.kind


def test_an_event_verifies():
    ev = verify_event_with(SIGNER.sign(claims()), KEYS, ISS, AUD)
    assert ev.keyward_seq == 7 and ev.keyward_event() == ("stepup.approved", {"step_up_id": "s"})


def test_events_are_refused_with_the_rust_verdicts():
    good = SIGNER.sign(claims())
    h, p, s = good.split(".")
    other = _b64.encode(b'{"iss":"http://localhost:8080","aud":"payouts"}')
    assert kind(f"{h}.{other}.{s}") == "bad_signature"
    assert kind(f"{h}.{p}.{s[:-2]}AA") == "bad_signature"
    assert kind(f"{h}.{p}.{s}=") == "malformed"
    assert kind(SIGNER.sign(claims(), {"alg": "none", "typ": "secevent+jwt", "kid": "k1"})) == "malformed"
    assert kind(SIGNER.sign(claims(), {"alg": "HS256", "typ": "secevent+jwt", "kid": "k1"})) == "algorithm"
    assert kind(SIGNER.sign(claims(), {"alg": "EdDSA", "typ": "JWT", "kid": "k1"})) == "malformed"
    assert kind(SIGNER.sign(claims(), {"alg": "EdDSA", "kid": "k1"})) == "malformed"
    assert kind(SIGNER.sign(claims(), {"alg": "EdDSA", "typ": "secevent+jwt", "kid": "k1", "jwk": SIGNER.jwk()})) == "malformed"
    assert kind(SIGNER.sign(claims(), {"alg": "EdDSA", "typ": "secevent+jwt", "kid": "k1", "jku": "https://x"})) == "malformed"
    # `"jwk": null` is no key: serde reads it as absent.
    verify_event_with(SIGNER.sign(claims(), {"alg": "EdDSA", "typ": "secevent+jwt", "kid": "k1", "jwk": None}), KEYS, ISS, AUD)
    assert kind(SIGNER.sign(claims(), {"alg": "EdDSA", "typ": "secevent+jwt", "kid": "k2"})) == "unknown_key"
    assert kind(SIGNER.sign(claims(), {"alg": "EdDSA", "typ": "secevent+jwt"})) == "unknown_key"
    assert kind(Signer("k1", seed=2).sign(claims())) == "bad_signature"
    assert kind(SIGNER.sign(claims(iss="https://evil.example"))) == "wrong_issuer"
    assert kind(SIGNER.sign(claims()), audience="other") == "wrong_audience"
    assert kind(SIGNER.sign(claims(iss="x", aud="y"))) == "wrong_issuer"
    assert kind(SIGNER.sign(claims(events={}))) == "malformed"
    assert kind(SIGNER.sign(claims(keyward_seq=1.0))) == "malformed"
    assert kind(SIGNER.sign(claims(sub={"a": 1}))) == "malformed"
    assert kind(SIGNER.sign(b'{"iss":"a","iss":"b"}')) == "malformed"
    assert kind("a.b") == "malformed"
    assert kind("a.b.c.d") == "malformed"
    assert kind(good + "A" * 9000) == "malformed"
    assert kind(good, keys=parse_jwks({"keys": [SIGNER.jwk(), SIGNER.jwk()]})) == "jwks"
    assert kind(good, keys=parse_jwks({"keys": [dict(SIGNER.jwk(), alg="ES256")]})) == "jwks"
    assert kind(good, keys=parse_jwks({"keys": [dict(SIGNER.jwk(), x="AAAA")]})) == "jwks"
    with pytest.raises(TokenError) as e:
        parse_jwks(b"[]")
    assert e.value.kind == "jwks"


def approval(**over):
    now = int(time.time())
    c = {
        "sid": "6f1a1b9e-8a4c-4a55-9b51-1d2a7a1f0c3e",
        "sub": "u",
        "action": "withdrawal",
        "details_digest": "AB" * 32,
        "cred_id": "c",
        "uv": True,
        "iat": now - 10,
        "exp": now + 300,
        "jti": "00000000-0000-0000-0000-000000000001",
        "iss": ISS,
        "aud": "keyward-step-up",
    }
    c.update(over)
    return SIGNER.sign(c, {"alg": "EdDSA", "typ": "JWT", "kid": "k1"})


def approval_kind(token):
    with pytest.raises(TokenError) as e:
        verify_approval_token_with(token, KEYS, ISS)
    return e.value.kind


def test_approval_tokens():
    c = verify_approval_token_with(approval(), KEYS, ISS)
    assert approval_matches(c, "ab" * 32, "6F1A1B9E-8A4C-4A55-9B51-1D2A7A1F0C3E")
    assert not approval_matches(c, "ab" * 31 + "ac", c.step_up_id)
    assert not approval_matches(c, "", c.step_up_id)
    now = int(time.time())
    assert approval_kind(approval(iat=now - 400, exp=now - 100)) == "expired"
    assert approval_kind(approval(exp=now)) == "expired"
    assert approval_kind(approval(iat=now + 100, exp=now + 400)) == "not_yet_valid"
    assert approval_kind(approval(aud="someone-else")) == "wrong_audience"
    assert approval_kind(approval(iss="https://evil.example")) == "wrong_issuer"
    assert approval_kind(approval(exp=-1)) == "malformed"
    event = SIGNER.sign(claims())
    assert approval_kind(event) == "malformed"  # an event is not an approval
    assert approval_kind(SIGNER.sign({}, {"alg": "HS256", "kid": "k1"})) == "algorithm"
