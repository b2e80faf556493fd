"""Differential run: random and mutated inputs through the Python port and
through Keyward's own Rust checks (the driver in this directory), verdicts
compared one by one. Details (validation, canonical JSON, digest), approval
evidence (mutated shared vectors, and assertions signed here over fuzzed
clientDataJSON and authenticatorData), event tokens and approval tokens
(headers, claims and key sets mutated, signed here).

    python3 fuzz.py DRIVER TESTDATA [--seed N] [--cases N]

Prints the count per kind and each difference; exits 1 on any difference.
"""

import argparse
import copy
import hashlib
import json
import random
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # kit
sys.path.insert(0, str(HERE.parents[1] / "src"))

from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

import kit  # noqa: E402
from keyward_client import (  # noqa: E402
    ApprovalEvidence, ChainRestarted, TokenError, Unverified, ValidationError, _b64, canonical_of,
    digest_of, parse_jwks, step_up_challenge, verify_approval, verify_approval_token_with, verify_event_with,
)
from keyward_client.chain import Pin  # noqa: E402

# --- details --------------------------------------------------------------

BASE = {
    "withdrawal": {"asset": "BTC", "network": "bitcoin", "amount": "0.25",
                   "destination": "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh", "client_reference": "payout-1", "memo": "m"},
    "address.add": {"network": "xrp", "address": "rAbcdefgh1234", "memo": "42", "label": "cold wallet"},
    "api_key.create": {"label": "bot", "scopes": ["read", "withdraw"], "ip_allowlist": ["10.0.0.1/8"], "expires_in_days": 30},
}
AMOUNTS = ["1", "1.0", "01", "0", "0.0", "1.", ".1", "1e3", "-1", "+1", "1.000000000", "0.00000001", "9" * 39, "9" * 38,
           "0." + "0" * 37 + "1", "0." + "0" * 38 + "1", "0." + "1" * 40, "1,5", " 1", "١", "00.5", "0.50", "10.10"]
STRS = ["", " ", "a", "ab", "x" * 64, "x" * 65, "x" * 128, "x" * 129, "bitcoin", "Bitcoin", "bit-coin", "é", "e\u0301",
        " label ", "\u3000label\u3000", "\x1clabel\x1c", "la\nbel", "la\x7fbel", "la\u0085bel", "\u200blabel", "\ufefflabel",
        "~!@#$%^&*()", "a:b.c_d-e", "ab cd", "read", "trade", "withdraw", "READ", "\U0001F600" * 3, "\"quote\\"]
OTHER = [None, True, False, 0, 1, -1, 30, 30.0, 30.5, 1e20, 2**64, 3650, 3651, [], {}, ["read"], [1], "30"]


def ip():
    r = random.random()
    if r < 0.4:
        octets = [str(random.choice([0, 1, 9, 10, 99, 255, 256, "01", "00"])) for _ in range(random.choice([3, 4, 4, 5]))]
        return ".".join(octets) + random.choice(["", "", f"/{random.randint(0, 40)}", f"/0{random.randint(0, 9)}"])
    if r < 0.8:
        groups = [random.choice(["0", "0000", "1", "ffff", "FFFF", "abcd", "12345", "", "1.2.3.4"]) for _ in range(random.randint(1, 9))]
        s = ":".join(groups)
        if random.random() < 0.5:
            i = random.randint(0, len(s))
            s = s[:i] + "::" + s[i:]
        return s + random.choice(["", "", f"/{random.randint(0, 130)}"])
    return "".join(random.choice("0123456789abcdefABCDEF:./%") for _ in range(random.randint(0, 24)))


def pick(field):
    r = random.random()
    if field == "amount" and r < 0.6:
        return random.choice(AMOUNTS)
    if field == "ip_allowlist" and r < 0.7:
        return [ip() for _ in range(random.randint(0, 3))]
    if field == "scopes" and r < 0.7:
        return [random.choice(["read", "trade", "withdraw", "READ", "x", 1]) for _ in range(random.randint(0, 4))]
    if field == "expires_in_days" and r < 0.6:
        return random.choice(OTHER)
    return random.choice(STRS) if r < 0.8 else random.choice(OTHER)


def details_case():
    action = random.choice(list(BASE) + (["transfer"] if random.random() < 0.02 else []))
    d = dict(BASE.get(action, BASE["withdrawal"]))
    for _ in range(random.randint(0, 3)):
        op = random.random()
        if op < 0.6 and d:
            k = random.choice(list(d))
            d[k] = pick(k)
        elif op < 0.75 and d:
            del d[random.choice(list(d))]
        else:
            d[random.choice(["colour", "aaa", "zzz", "Asset", "memo", "label"])] = pick("x")
    if random.random() < 0.03:
        d = random.choice([list(d.values()), "str", 5, None, []])
    return {"check": "details", "action": action, "details": d}


def details_py(c):
    try:
        can = canonical_of(c["action"], c["details"])
        return {"canonical": can.json, "digest": can.digest_hex}
    except ValidationError as e:
        return {"field": e.field}


# --- approvals --------------------------------------------------------------

VALUES = [None, True, 0, -1, 2**63, 1.5, "", "AA", "AA==", "A", "xxxxx", [], {}, "genesis", "add", "ES256", "RS256"]


def walk(v, path=()):
    yield path, v
    if isinstance(v, dict):
        for k, x in v.items():
            yield from walk(x, path + (k,))
    elif isinstance(v, list):
        for i, x in enumerate(v):
            yield from walk(x, path + (i,))


def mutate_b64(s):
    try:
        raw = bytearray(_b64.decode(s))
    except ValueError:
        return s + "A"
    r = random.random()
    if r < 0.3 and raw:
        raw[random.randrange(len(raw))] ^= 1 << random.randrange(8)
    elif r < 0.45:
        raw = raw[: random.randrange(len(raw) + 1)]
    elif r < 0.55:
        raw += bytes([random.randrange(256)])
    elif r < 0.65:
        return s + "="
    else:
        return s[:-1] + random.choice("AQgw-_+/") if s else s
    return _b64.encode(bytes(raw))


def mutate_evidence(ev):
    ev = copy.deepcopy(ev)
    for _ in range(random.randint(1, 2)):
        path, v = random.choice(list(walk(ev))[1:])
        parent = ev
        for p in path[:-1]:
            parent = parent[p]
        r = random.random()
        if isinstance(v, str) and r < 0.5:
            parent[path[-1]] = mutate_b64(v)
        elif r < 0.65:
            parent[path[-1]] = random.choice(VALUES)
        elif r < 0.8:
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent[random.choice(["extra", "aaguid", "prev", "recovered", "endorsement", "attestation"])] = random.choice(VALUES + [v])
    return ev


INSERTS = [b'"', b"\\", b"\\u", b"\\ud800", b",", b":", b"{", b"}", b"[", b"]", b" ", b"\x00", b"\xc3", b"\xff", b"0", b"-",
           b"1e5", b"01", b"true", b"nul", b'"x":', b'"type":"webauthn.get",', b"\t", b"\x7f"]


def selfsigned(rp):
    """An assertion by a key of ours, its genesis chain, over fuzzed client
    data and authenticator data: reaches the checks after the signature."""
    key = kit.Key(9)
    details = dict(BASE["withdrawal"])
    can = canonical_of("withdrawal", details)
    nonce = bytes(32)
    ch = _b64.encode(step_up_challenge(nonce, can.digest))
    client = {"type": "webauthn.get", "challenge": ch, "origin": rp["origin"]}
    r = random.random()
    if r < 0.1:
        client["crossOrigin"] = random.choice([True, False, None, "true", 1])
    elif r < 0.2:
        client[random.choice(["type", "challenge", "origin"])] = random.choice(VALUES)
    elif r < 0.3:
        del client[random.choice(list(client))]
    elif r < 0.35:
        client["challenge"] = ch + random.choice(["=", "==", "===", "A"])
    elif r < 0.4:
        client["origin"] = rp["origin"] + random.choice(["/", ":443", " "])
    text = json.dumps(client)
    r = random.random()
    if r < 0.1:
        text = text[:-1] + ', "type": "webauthn.get"}'
    elif r < 0.2:
        text = json.dumps(list(client.values()))
    elif r < 0.3:
        text = text[:-1] + random.choice([', "n": 1e999}', ', "s": "\\ud800"}', ', "n": NaN}'])
    cdj = text.encode()
    if random.random() < 0.3:
        for _ in range(random.randint(1, 3)):
            i = random.randrange(len(cdj) + 1)
            cdj = cdj[:i] + random.choice(INSERTS) + cdj[i + random.randint(0, 2):]
    flags = random.choice([0x05, 0x05, 0x01, 0x04, 0x00, 0x45, 0x85])
    rp_id = rp["rp_id"] if random.random() < 0.9 else "evil.example"
    auth = hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + (7).to_bytes(4, "big")
    if random.random() < 0.05:
        auth = auth[: random.randrange(38)]
    sig = key.signing.sign(auth + hashlib.sha256(cdj).digest(), ec.ECDSA(hashes.SHA256()))
    g = kit.genesis(key)
    evidence = {
        "details": can.json, "nonce": _b64.encode(nonce),
        "assertion": {"credential_id": _b64.encode(key.record.credential_id), "authenticator_data": _b64.encode(auth),
                      "client_data_json": _b64.encode(cdj), "signature": _b64.encode(sig), "public_key": key.record.public_key.to_json()},
        "key_chain": [{"statement": g.statement.to_json(), "hash": g.hash}],
    }
    return {"check": "approval", "evidence": evidence, "digest": can.digest_hex, "pin": None,
            "require_uv": random.random() < 0.5, **rp}


def approval_case(doc):
    if random.random() < 0.5:
        c = random.choice(doc["cases"])
        try:
            digest = digest_of(c["action"], c["details"]).hex()
        except ValidationError:
            return None
        return {"check": "approval", "evidence": mutate_evidence(c["evidence"]), "digest": digest, "pin": c["pin"],
                "require_uv": c["require_uv"], **doc["rp"]}
    return selfsigned(doc["rp"])


def approval_py(c):
    try:
        ev = ApprovalEvidence.from_json(c["evidence"])
        pin = Pin.from_json(c["pin"]) if c["pin"] else None
        v = verify_approval(ev, c["rp_id"], c["origin"], bytes.fromhex(c["digest"]), c["require_uv"], pin)
        return {"ok": True, "head": v.chain.head, "seq": v.chain.seq, "counter": v.facts.counter, "uv": v.facts.user_verified}
    except ChainRestarted as e:
        return {"error": e.error, "reason": None}
    except Unverified as e:
        return {"error": e.error} if e.error == "malformed_evidence" else {"error": e.error, "reason": e.reason}


# --- tokens -------------------------------------------------------------------

SIGNERS = [kit.Signer("a1", 3), kit.Signer("a2", 4)]
MYJWKS = {"keys": [s.jwk() for s in SIGNERS]}
TVALS = [None, True, 1, -1, 1.5, "", "x", "EdDSA", "none", "HS256", "JWT", "secevent+jwt", "a1", [], {}, ["x"], {"kty": "OKP"}]
HEADER_KEYS = ["alg", "typ", "kid", "jwk", "jku", "x5u", "x5c", "crit", "cty", "enc", "zip", "url", "nonce", "extra"]
NOW = int(time.time())


def mut_obj(o, keys, vals):
    o = copy.deepcopy(o)
    for _ in range(random.randint(1, 2)):
        r = random.random()
        if r < 0.5:
            o[random.choice(keys)] = random.choice(vals)
        elif r < 0.75 and o:
            del o[random.choice(list(o))]
        elif o:
            o[random.choice(list(o))] = copy.deepcopy(random.choice(list(o.values())))
    return o


def raw_json(v, extras):
    t = json.dumps(v).encode()
    if isinstance(v, dict) and random.random() < 0.3:
        t = t[:-1] + random.choice(extras) + b"}"
    return t


def sign(claims_bytes, header):
    s = random.choice(SIGNERS)
    head = _b64.encode(raw_json(header, [b', "alg": "EdDSA"', b', "zz": "\\ud800"', b', "zz": 1e999']))
    body = _b64.encode(claims_bytes)
    return f"{head}.{body}.{_b64.encode(s.key.sign(f'{head}.{body}'.encode()))}"


CLAIM_EXTRAS = [b', "iss": "https://kw.example"', b', "zz": "\\ud800"', b', "zz": 1e999', b', "sub": [1]', b', "sub": []',
                b', "exp": "x"', b', "exp": []', b', "nbf": {"a": 1}', b', "zz": "\xff"']


def event_case(doc):
    if random.random() < 0.4:
        c = random.choice(doc["cases"])
        token, jwks = c["token"], doc["jwks"]
        r = random.random()
        parts = token.split(".")
        if r < 0.5 and len(parts) == 3:
            try:
                h = json.loads(_b64.decode(parts[0]))
            except ValueError:
                h = {"alg": "EdDSA"}
            if isinstance(h, dict):
                h = mut_obj(h, HEADER_KEYS, TVALS)
            parts[0] = _b64.encode(json.dumps(h).encode())
            token = ".".join(parts)
        elif r < 0.7:
            i = random.randrange(len(token) + 1)
            token = token[:i] + random.choice("A_-.=+/ é") + token[i + 1:]
        elif r < 0.8:
            jwks = {"keys": [mut_obj(k, ["kty", "crv", "x", "kid", "alg", "use"], TVALS) if random.random() < 0.5 else k for k in jwks["keys"]]}
        return {"check": "event", "token": token, "jwks": jwks, "issuer": doc["issuer"], "audience": c["audience"]}
    claims = {"iss": "https://kw.example", "aud": "payouts", "iat": 1, "jti": "j", "toe": 2,
              "sub_id": {"format": "opaque", "id": "u"}, "events": {"https://keyward.dev/secevent/x": {"a": 1}}, "keyward_seq": 3}
    if random.random() < 0.6:
        claims = mut_obj(claims, list(claims) + ["sub", "exp", "nbf", "extra"], TVALS)
    header = {"alg": "EdDSA", "typ": "secevent+jwt", "kid": random.choice(["a1", "a2", "a3"])}
    if random.random() < 0.2:
        header = mut_obj(header, HEADER_KEYS, TVALS)
    jwks = MYJWKS if random.random() < 0.9 else {"keys": [mut_obj(k, ["kty", "crv", "x", "kid", "alg"], TVALS) for k in MYJWKS["keys"]]}
    return {"check": "event", "token": sign(raw_json(claims, CLAIM_EXTRAS), header), "jwks": jwks,
            "issuer": random.choice(["https://kw.example"] * 5 + ["https://x"]), "audience": random.choice(["payouts", "payouts", "other"])}


def event_py(c):
    try:
        keys = parse_jwks(c["jwks"])
    except TokenError:
        return {"ok": False, "error": "jwks"}
    try:
        ev = verify_event_with(c["token"], keys, c["issuer"], c["audience"])
    except TokenError as e:
        return {"ok": False, "error": e.kind}
    return {"ok": True, "claims": {"iss": ev.iss, "aud": ev.aud, "iat": ev.iat, "jti": ev.jti, "toe": ev.toe,
                                   "sub_id": ev.sub_id, "events": ev.events, "keyward_seq": ev.keyward_seq}}


UUIDS = ["6f1a1b9e-8a4c-4a55-9b51-1d2a7a1f0c3e", "6F1A1B9E8A4C4A559B511D2A7A1F0C3E", "{6f1a1b9e-8a4c-4a55-9b51-1d2a7a1f0c3e}",
         "urn:uuid:6f1a1b9e-8a4c-4a55-9b51-1d2a7a1f0c3e", "6f1a1b9e-8a4c-4a55-9b51-1d2a7a1f0c3", "6f1a-1b9e8a4c4a559b511d2a7a1f0c3e"]


def approval_token_case():
    c = {"sid": UUIDS[0], "sub": "u", "action": "withdrawal", "details_digest": "ab", "cred_id": "c", "uv": True,
         "iat": NOW - 10, "exp": NOW + 3000, "jti": "00000000-0000-0000-0000-000000000001", "iss": "https://kw.example", "aud": "keyward-step-up"}
    vals = TVALS + UUIDS + [NOW + 1000, NOW - 1000, 2**63, "keyward-step-up"]
    if random.random() < 0.7:
        c = mut_obj(c, list(c) + ["aaguid", "chain_head", "nbf", "extra"], vals)
    header = random.choice([{"alg": "EdDSA", "kid": "a1"}, {"alg": "EdDSA", "typ": "JWT", "kid": "a2"}, {"alg": "EdDSA", "typ": "secevent+jwt", "kid": "a1"},
                            {"alg": "HS256", "kid": "a1"}, {"alg": "none", "kid": "a1"}, {"alg": "EdDSA", "kid": "a1", "jku": "x"}, {"alg": "EdDSA"}])
    return {"check": "approval_token", "token": sign(raw_json(c, CLAIM_EXTRAS), header), "jwks": MYJWKS, "issuer": "https://kw.example"}


def approval_token_py(c):
    try:
        cl = verify_approval_token_with(c["token"], parse_jwks(c["jwks"]), c["issuer"])
    except TokenError as e:
        return {"ok": False, "error": e.kind}
    return {"ok": True, "sid": cl.step_up_id, "jti": cl.jti, "aaguid": cl.aaguid}


# --- the run ------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("driver")
    ap.add_argument("testdata")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cases", type=int, default=5000, help="per kind")
    args = ap.parse_args()
    random.seed(args.seed)
    approvals = json.loads(Path(args.testdata, "approvals.json").read_text("utf-8"))
    events = json.loads(Path(args.testdata, "events.json").read_text("utf-8"))
    kinds = {
        "details": (details_case, details_py),
        "approval": (lambda: approval_case(approvals), approval_py),
        "event": (lambda: event_case(events), event_py),
        "approval_token": (approval_token_case, approval_token_py),
    }
    cases = []
    for make, _ in kinds.values():
        cases += [c for c in (make() for _ in range(args.cases)) if c is not None]
    feed = ("\n".join(json.dumps(c, ensure_ascii=False) for c in cases) + "\n").encode()
    # split on "\n" only: the canonical strings hold U+2028, U+0085, … raw.
    out = subprocess.run([args.driver], input=feed, capture_output=True, check=True).stdout.decode().split("\n")[:-1]
    assert len(out) == len(cases)
    differ = {k: 0 for k in kinds}
    for c, line in zip(cases, out):
        rust = json.loads(line)
        py = kinds[c["check"]][1](c)
        if py != rust:
            differ[c["check"]] += 1
            print(f"DIFF {c['check']}: rust {rust} python {py}\n  {json.dumps(c, ensure_ascii=False)[:600]}")
    for k in kinds:
        print(f"{k}: {sum(1 for c in cases if c['check'] == k)} cases, {differ[k]} differ")
    sys.exit(1 if any(differ.values()) else 0)


if __name__ == "__main__":
    main()
