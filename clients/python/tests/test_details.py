"""Details: validation, canonical form and digest (keyward_proof::details)."""

import hashlib

import pytest

from keyward_client import ValidationError, canonical_json, canonical_of, canonicalise, digest_of
from keyward_client.amount import AmountError, parse
from keyward_client.details import field_name
from keyward_client.ip import ip_entry

ASSETS = {"BTC": 8, "ETH": 18, "USDT": 6, "USDC": 6}


def btc(amount, **extra):
    d = {
        "asset": "BTC",
        "network": "bitcoin",
        "amount": amount,
        "destination": "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh",
        "client_reference": "w-1",
    }
    d.update(extra)
    return d


def test_canonical_form_is_stable_and_sorted():
    c = canonicalise("withdrawal", btc("1.50"), ASSETS)
    assert c.json == (
        '{"action":"withdrawal","details":{"amount":"1.5","asset":"BTC","client_reference":"w-1",'
        '"destination":"bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh","network":"bitcoin"}}'
    )
    assert c.digest == hashlib.sha256(c.json.encode()).digest()
    assert canonicalise("withdrawal", btc("1.5"), ASSETS).digest == c.digest
    assert canonicalise("withdrawal", btc("1.51"), ASSETS).digest != c.digest


@pytest.mark.parametrize(
    "patch, field",
    [
        ({"amount": "1e3"}, "details.amount"),
        ({"amount": "-1"}, "details.amount"),
        ({"amount": "0.000000001"}, "details.amount"),
        ({"asset": "DOGE"}, "details.asset"),
        ({"destination": "short"}, "details.destination"),
        ({"destination": "bc1q xy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh"}, "details.destination"),
        ({"colour": "red"}, "details.colour"),
        ({"amount": 1.5}, "details.amount"),
        ({"amount": None}, "details.amount"),
        ({"memo": "é"}, "details.memo"),
        ({"client_reference": ""}, "details.client_reference"),
        ({"network": "Bitcoin"}, "details.network"),
    ],
)
def test_bad_withdrawals_name_the_field(patch, field):
    with pytest.raises(ValidationError) as e:
        raw = btc("1")
        raw.update(patch)
        canonicalise("withdrawal", raw, ASSETS)
    assert e.value.field == field


def test_missing_and_unknown_members_and_their_order():
    raw = btc("1")
    del raw["asset"]
    with pytest.raises(ValidationError) as e:
        digest_of("withdrawal", raw)
    assert e.value.field == "details.asset"
    # Members are read in key order (serde_json's map is sorted): "amount"
    # is refused before the unknown "zzz", and the unknown "aaa" before it.
    with pytest.raises(ValidationError) as e:
        digest_of("withdrawal", btc(5, zzz=1))
    assert e.value.field == "details.amount"
    with pytest.raises(ValidationError) as e:
        digest_of("withdrawal", btc(5, aaa=1))
    assert e.value.field == "details.aaa"
    with pytest.raises(ValidationError) as e:
        digest_of("withdrawal", "not an object")
    assert e.value.field == "details"


def test_api_key_details_are_normalised():
    raw = {"label": " bot ", "scopes": ["withdraw", "read", "read"], "ip_allowlist": ["10.0.0.7/8", "2001:db8::1"]}
    c = canonicalise("api_key.create", raw, ASSETS)
    assert c.details["scopes"] == ["read", "withdraw"]
    assert c.details["ip_allowlist"] == ["10.0.0.0/8", "2001:db8::1"]
    assert c.details["label"] == "bot"
    with pytest.raises(ValidationError) as e:
        canonicalise("api_key.create", {"label": "bot", "scopes": ["withdraw"]}, ASSETS)
    assert e.value.field == "details.ip_allowlist"
    with pytest.raises(ValidationError) as e:
        canonicalise("api_key.create", {"label": "bot", "scopes": ["read", 7]}, ASSETS)
    assert e.value.field == "details.scopes[1]"
    assert canonicalise("api_key.create", {"label": "bot", "scopes": ["read"], "expires_in_days": 30.0}, ASSETS).json.endswith(
        '"expires_in_days":30,"ip_allowlist":[],"label":"bot","scopes":["read"]}}'
    )
    for days in (0, 3651, 1.5, "30"):
        with pytest.raises(ValidationError) as e:
            canonicalise("api_key.create", {"label": "bot", "scopes": ["read"], "expires_in_days": days}, ASSETS)
        assert e.value.field == "details.expires_in_days"


def test_address_label_defaults_to_the_address_and_memo_only_when_present():
    c = canonical_of("address.add", {"network": "xrp", "address": "rAbcdefgh1"})
    assert c.json == '{"action":"address.add","details":{"address":"rAbcdefgh1","label":"rAbcdefgh1","network":"xrp"}}'
    c = canonical_of("address.add", {"network": "xrp", "address": "rAbcdefgh1", "memo": "42", "label": "cold\u3000"})
    assert c.details == {"network": "xrp", "address": "rAbcdefgh1", "label": "cold", "memo": "42"}
    with pytest.raises(ValidationError) as e:
        canonical_of("address.add", {"network": "xrp", "address": "rAbcdefgh1", "label": "a\nb"})
    assert e.value.field == "details.label"


def test_a_verifier_without_the_asset_table_gets_the_same_digest():
    for amount in ["1.50", "0.00000001", "21000000", "3"]:
        assert digest_of("withdrawal", btc(amount)) == canonicalise("withdrawal", btc(amount), ASSETS).digest
    with pytest.raises(ValidationError):
        digest_of("withdrawal", btc("1e3"))


def test_unknown_action_is_refused():
    with pytest.raises(ValidationError) as e:
        digest_of("transfer", {})
    assert e.value.field == "action"


def test_amounts_parse_exactly_and_refuse_the_rest():
    assert parse("1.5", 8).units == 150_000_000
    assert parse("1.50000000", 8).text == "1.5"
    assert parse("0.00000001", 8).units == 1
    assert parse("21000000", 8).units == 2_100_000_000_000_000
    for bad in ["", "1e3", "-1", "+1", " 1", "1 ", "1.", ".5", "01", "0x10", "1,5", "NaN", "1.2.3", "١"]:
        with pytest.raises(AmountError) as e:
            parse(bad, 8)
        assert e.value.kind == "syntax", bad
    for bad, kind in [("0", "zero"), ("0.000", "zero"), ("0.000000001", "too_precise"), ("9" * 40, "too_large")]:
        with pytest.raises(AmountError) as e:
            parse(bad, 18 if kind == "too_large" else 8)
        assert e.value.kind == kind


def test_canonical_strings_escape_as_serde_json():
    assert canonical_json({"b": 1, "a": [None, True, "é\u2028\x7f"], "c": None}) == '{"a":[null,true,"é\u2028\x7f"],"b":1}'
    assert canonical_json("\"\\\b\f\n\r\t\x01\x1f") == '"\\"\\\\\\b\\f\\n\\r\\t\\u0001\\u001f"'


@pytest.mark.parametrize(
    "entry, canonical",
    [
        ("203.0.113.7", "203.0.113.7"),
        ("10.0.0.7/8", "10.0.0.0/8"),
        ("010.0.0.1", None),  # leading zeros refused in an address...
        ("010.0.0.1/8", None),  # ...and in a range's (ipnet 2.12.3)
        ("2001:DB8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("::ffff:1.2.3.4", "::ffff:1.2.3.4"),
        ("fe80::1%eth0", None),
        ("1:2:3:4::5:6:7:8", None),
        ("1:2:3:4::5:6:7:8/64", None),  # `::` stands for at least one group
        ("2001:db8::/33", "2001:db8::/33"),
        ("10.0.0.0/33", None),
        ("1.2.3.4/08", "1.0.0.0/8"),
        ("", None),
        ("١.2.3.4", None),
    ],
)
def test_ip_entries(entry, canonical):
    assert ip_entry(entry) == canonical


def test_field_names_follow_serde_messages():
    assert field_name(".", "missing field `asset`") == "asset"
    assert field_name(".", "unknown field `colour`, expected one of `a`, `b`") == "colour"
    assert field_name("amount", "invalid type: integer `1`, expected a string") == "amount"
    assert field_name(".", "invalid type: sequence, expected struct X") == "body"
