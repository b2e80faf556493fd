"""examples/check_approval.py: PAY for the approved details only, exit 0/1."""

import json
import subprocess
import sys
from pathlib import Path

from kit import ORIGIN, RP_ID
from test_approval import DETAILS, evidence
from test_client import step_up

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "check_approval.py"


def run(stdin, *args):
    return subprocess.run([sys.executable, str(EXAMPLE), *args], input=stdin, capture_output=True, text=True, timeout=60)


def test_pay_only_for_what_was_approved(tmp_path):
    ev = evidence(2)
    body = dict(step_up("redeemed"), user_verified=True, credential_key_id=None, evidence={
        "details": ev.details, "nonce": ev.nonce, "assertion": ev.assertion.to_json(),
        "key_chain": [{"statement": e.statement.to_json(), "hash": e.hash,
                       **({"endorsement": e.endorsement.to_json()} if e.endorsement else {})} for e in ev.key_chain],
    })
    flags = ["--rp-id", RP_ID, "--origin", ORIGIN, "--pins", str(tmp_path / "pins.json"), "--user", "alice"]
    ok = run(json.dumps(body), *flags, "--details", json.dumps(DETAILS))
    assert ok.returncode == 0 and ok.stdout.startswith("PAY: alice's key 0202020202020202 signed exactly these details"), ok
    bad = run(json.dumps(body), *flags, "--details", json.dumps(dict(DETAILS, amount="25")))
    assert bad.returncode == 1 and bad.stdout.startswith("DO NOT PAY: approval not verified (details_differ)"), bad
    assert run("{}", *flags, "--details", "{}").stdout.startswith("DO NOT PAY: not a redeem response")
    assert run("", "--rp-id").stdout == "DO NOT PAY: --rp-id needs a value\n"
