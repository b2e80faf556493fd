"""JSON read as serde_json reads it, where that differs from ``json``
(found by differential runs against the Rust code)."""

import pytest

from kit import Signer
from keyward_client import TokenError, parse_jwks, verify_event_with
from keyward_client._json import DeError, loads
from keyward_client._jsonbytes import struct_from_bytes

CLIENT = [("type", "str"), ("challenge", "str"), ("origin", "str"), ("crossOrigin", "opt_bool")]


def test_a_struct_read_from_bytes_skips_unknown_members_unchecked():
    ok = [
        b'{"type":"t","challenge":"c","origin":"o","x":"\\ud800"}',
        b'{"type":"t","challenge":"c","origin":"o","x":1e999}',
        b'{"type":"t","challenge":"c","origin":"o","x":"\xff","x":2}',
        b'["t","c","o"]',
        b' ["t","c","o",null] ',
        b'{"type":"t","challenge":"c","origin":"o","crossOrigin":null}',
    ]
    for data in ok:
        assert struct_from_bytes(data, CLIENT)["type"] == "t", data
    bad = [
        b'{"type":"t","type":"t","challenge":"c","origin":"o"}',  # duplicate member
        b'{"type":"\\ud800","challenge":"c","origin":"o"}',  # a member's own string
        b'{"type":"\xff","challenge":"c","origin":"o"}',
        b'{"type":"t","challenge":"c","origin":"o","x":"\x01"}',  # control character
        b'{"type":"t","challenge":"c","origin":"o","x":01}',
        b'{"type":"t","challenge":"c","origin":"o",}',
        b'{"type":"t","challenge":"c"}',
        b'["t","c","o",true,1]',
        b'\xef\xbb\xbf{"type":"t","challenge":"c","origin":"o"}',
        b'{"type":"t","challenge":"c","origin":"o"} x',
        b'{"type":"t","challenge":"c","origin":"o","crossOrigin":"true"}',
    ]
    for data in bad:
        with pytest.raises(DeError):
            struct_from_bytes(data, CLIENT)


def test_strict_documents():
    for text in ["NaN", '{"a": Infinity}', '"\\udc00"', "1e400", "[1,]"]:
        with pytest.raises(ValueError):
            loads(text)
    assert loads("-0") == 0.0 and isinstance(loads("-0"), float)
    assert isinstance(loads(str(2**64)), float)
    assert loads('{"a":1,"a":2}').dups == frozenset({"a"})


def test_event_claims_get_jsonwebtokens_second_read():
    s = Signer("k", 5)
    keys = parse_jwks({"keys": [s.jwk()]})
    base = (
        b'{"iss":"i","aud":"a","iat":1,"jti":"j","toe":1,"sub_id":{"format":"opaque","id":"u"},'
        b'"events":{"https://keyward.dev/secevent/x":{}},"keyward_seq":1'
    )
    for extra, verdict in [
        (b"", None),
        (b',"exp":[]', None),
        (b',"exp":[1]', "malformed"),
        (b',"nbf":{"a":1}', "malformed"),
        (b',"sub":[]', "malformed"),
        (b',"sub":5', None),
        (b',"sub":"a","sub":"b"', "malformed"),
        (b',"zz":"\xff"', None),
    ]:
        token = s.sign(base + extra + b"}", {"alg": "EdDSA", "typ": "secevent+jwt", "kid": "k"})
        try:
            verify_event_with(token, keys, "i", "a")
            got = None
        except TokenError as e:
            got = e.kind
        assert got == verdict, extra
