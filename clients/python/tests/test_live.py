"""Against a real running Keyward, with a user enrolled through the softkey
CLI (``tests/live.sh`` sets all of it up and runs this): a withdrawal asked
for, approved by the user's key (``tests/approve.sh``), waited for by polling
and by events, redeemed once, verified end to end with pins; an invalid API
key refused; the security events read and verified.

Runs only when these are set, and is otherwise SKIPPED:
``KEYWARD_URL`` (Keyward's origin), ``KEYWARD_SERVICE_KEY`` (scopes
stepup:create, stepup:read, stepup:redeem, apikeys:verify, events:read),
``KEYWARD_USER_JAR`` (the user's session cookie jar), ``KEYWARD_USER_KEY``
(their softkey file), ``KEYWARD_SOFTKEY`` (the softkey binary). Optional:
``KEYWARD_USER`` (alice), ``KEYWARD_AUDIENCE`` (the service key's name,
payouts), ``KEYWARD_RP_ID`` (localhost), ``KEYWARD_ORIGIN`` (KEYWARD_URL),
``KEYWARD_DESTINATION`` (an address on the user's allow-list).
"""

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from keyward_client import (
    AlreadyRedeemed,
    ApiKeyRefused,
    EventOrder,
    FilePins,
    KeywardClient,
    Unauthorized,
    Unverified,
    Verifier,
    approval_matches,
    about_step_up,
    digest_of,
)

NEEDED = ["KEYWARD_URL", "KEYWARD_SERVICE_KEY", "KEYWARD_USER_JAR", "KEYWARD_USER_KEY", "KEYWARD_SOFTKEY"]
MISSING = [n for n in NEEDED if not os.environ.get(n)]
pytestmark = pytest.mark.skipif(bool(MISSING), reason=f"live test: set {', '.join(MISSING)} (tests/live.sh does)")

ENV = os.environ
URL = ENV.get("KEYWARD_URL", "")
ORIGIN = ENV.get("KEYWARD_ORIGIN", URL)
USER = ENV.get("KEYWARD_USER", "alice")
AUDIENCE = ENV.get("KEYWARD_AUDIENCE", "payouts")
APPROVE = Path(__file__).resolve().parent / "approve.sh"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "check_approval.py"


@pytest.fixture(scope="module")
def keyward():
    return KeywardClient(URL, ENV["KEYWARD_SERVICE_KEY"])


@pytest.fixture(scope="module")
def verifier(tmp_path_factory):
    pins = FilePins(tmp_path_factory.mktemp("pins") / "pins.json")
    return Verifier(ENV.get("KEYWARD_RP_ID", "localhost"), ORIGIN, pins)


def details():
    return {
        "asset": "BTC",
        "network": "bitcoin",
        "amount": "0.0125",
        "destination": ENV.get("KEYWARD_DESTINATION", "bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh"),
        "client_reference": f"py-{uuid.uuid4().hex[:12]}",
    }


def approve_later(step_up_id, delay=1.0):
    """The user touches their key after ``delay`` seconds, while the
    exchange is already waiting; the answer lands in the returned dict."""
    out = {}

    def run():
        time.sleep(delay)
        r = subprocess.run([str(APPROVE), step_up_id], capture_output=True, text=True, timeout=60)
        out["rc"], out["stdout"], out["stderr"] = r.returncode, r.stdout, r.stderr

    t = threading.Thread(target=run)
    t.start()
    out["thread"] = t
    return out


def finish(approval):
    approval["thread"].join(90)
    assert approval.get("rc") == 0, approval.get("stderr")
    return json.loads(approval["stdout"])


def test_a_withdrawal_waited_for_by_polling(keyward, verifier):
    d = details()
    cursor = keyward.event_cursor()
    s = keyward.create_step_up(USER, "withdrawal", d)
    assert s.status == "pending", s
    assert s.digest == digest_of("withdrawal", d).hex()  # Keyward hashed what we hash
    approval = approve_later(s.id)
    approved = keyward.wait_for_approval(s.id, poll_interval=0.2, timeout=60)
    assert approved.status == "approved"
    answer = finish(approval)

    # The approval token, for services that trust Keyward's signature.
    claims = keyward.verify_approval(answer["approval"])
    assert approval_matches(claims, s.digest, s.id)

    redeemed, proof = keyward.redeem_verified(s.id, USER, "withdrawal", d, verifier)
    assert redeemed.step_up.status == "redeemed"
    assert proof.facts.user_verified
    assert proof.chain.pin() == verifier.pins.get(USER)  # pinned on first use
    with pytest.raises(AlreadyRedeemed):
        keyward.redeem(s.id)

    # The example an exchange runs on the redeem response says PAY for these
    # details only.
    body = dict(redeemed.step_up.raw, user_verified=redeemed.user_verified,
                credential_key_id=redeemed.credential_key_id, evidence=redeemed.evidence_json)
    pins = Path(verifier.pins.path).with_name("example-pins.json")
    for asked, rc, word in [(d, 0, "PAY: "), (dict(d, destination="bc1qattacker0000000000000000000000000000"), 1, "DO NOT PAY: ")]:
        r = subprocess.run(
            [sys.executable, str(EXAMPLE), "--rp-id", ENV.get("KEYWARD_RP_ID", "localhost"), "--origin", ORIGIN,
             "--pins", str(pins), "--user", USER, "--details", json.dumps(asked)],
            input=json.dumps(body), capture_output=True, text=True, timeout=60,
        )
        assert r.returncode == rc and r.stdout.startswith(word), (r.stdout, r.stderr)

    # The same evidence does not approve other details, nor another action.
    with pytest.raises(Unverified) as e:
        verifier.check("withdrawal", dict(d, amount="0.0126"), redeemed.evidence_json, verifier.pins.get(USER))
    assert e.value.error == "details_differ"

    # The security events about it, each verified; in order, no repeats.
    order = EventOrder(cursor)
    names = []
    page = keyward.events(cursor, 500)
    for polled in page.events:
        event = keyward.verify_event(polled.set, AUDIENCE)
        assert event.keyward_seq == polled.seq and event.jti == polled.jti
        if order.accept(event) and about_step_up(event, s.id):
            names.append(event.keyward_event()[0])
    assert "stepup.approved" in names and "stepup.redeemed" in names, names
    assert not order.accept(keyward.verify_event(page.events[-1].set, AUDIENCE))  # a repeat


def test_a_withdrawal_waited_for_by_events(keyward, verifier):
    d = details()
    cursor = keyward.event_cursor()
    s = keyward.create_step_up(USER, "withdrawal", d)
    assert s.status == "pending", s
    approval = approve_later(s.id)
    started = time.monotonic()
    approved = keyward.wait_for_approval_by_events(s.id, AUDIENCE, cursor, timeout=60)
    assert approved.status == "approved" and time.monotonic() - started < 30
    finish(approval)
    pin_before = verifier.pins.get(USER)
    redeemed, proof = keyward.redeem_verified(s.id, USER, "withdrawal", d, verifier)
    assert redeemed.step_up.status == "redeemed"
    # The chain did not change: the pin stays where it was (or is made now,
    # if this test runs alone).
    assert pin_before is None or verifier.pins.get(USER) == pin_before
    with pytest.raises(AlreadyRedeemed):
        keyward.redeem(s.id)


def test_an_invalid_api_key_and_service_key_are_refused(keyward):
    with pytest.raises(ApiKeyRefused) as e:
        keyward.verify_api_key("kw_api_not-a-real-key", "read", "203.0.113.7")
    assert e.value.reason in ("malformed", "unknown")
    assert e.value.status == 403
    with pytest.raises(Unauthorized):
        KeywardClient(URL, "kw_svc_not-a-real-key").step_up(str(uuid.uuid4()))
