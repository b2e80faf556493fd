#!/usr/bin/env python3
"""The exchange's own check of a redeemed approval, as a back end runs it
before paying: reads Keyward's redeem response on stdin and verifies its
evidence against the details the exchange asked for and the user's key
chain pinned in a file. Trusts nothing Keyward says about itself. The same
flags as keyward-client's ``examples/check_approval.rs``::

    curl … /v1/step-ups/$W/redeem | python3 clients/python/examples/check_approval.py \\
        --rp-id localhost --origin http://localhost:8080 --pins pins.json \\
        --user alice --action withdrawal --details '{"asset":"BTC",…}'

Exit 0 and "PAY: …" when it verifies; exit 1 and "DO NOT PAY: …" otherwise.
"""

import json
import sys
from pathlib import Path

try:
    import keyward_client  # noqa: F401
except ImportError:  # run from a checkout, without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from keyward_client import ChainRestarted, FilePins, KeywardError, Redeemed, Verifier

FLAGS = {"--rp-id": "rp_id", "--origin": "origin", "--pins": "pins", "--user": "user", "--action": "action", "--details": "details"}


def run(argv: list[str]) -> str:
    args = {"action": "withdrawal"}
    it = iter(argv)
    for flag in it:
        value = next(it, None)
        if value is None:
            raise ValueError(f"{flag} needs a value")
        if flag not in FLAGS:
            raise ValueError(f"unknown flag {flag}")
        args[FLAGS[flag]] = value
    for name in ("rp_id", "origin", "pins", "user", "action", "details"):
        if name not in args:
            raise ValueError(f"--{name.replace('_', '-')} is required")
    try:
        details = json.loads(args["details"])
    except ValueError as e:
        raise ValueError(f"--details is not JSON: {e}") from None
    try:
        redeemed = Redeemed.from_json(json.loads(sys.stdin.buffer.read().decode("utf-8")))
    except (ValueError, KeywardError) as e:
        raise ValueError(f"not a redeem response: {e}") from None
    if redeemed.evidence_json is None:
        raise ValueError("the redeem response carries no evidence")
    verifier = Verifier(args["rp_id"], args["origin"], FilePins(args["pins"]))
    user = args["user"]
    try:
        v = verifier.verify(user, args["action"], details, redeemed.evidence_json)
    except ChainRestarted:
        raise ValueError("the user's key chain started again: confirm with the user before accepting it") from None
    except KeywardError as e:
        raise ValueError(str(e)) from None
    return (
        f"{user}'s key {v.key.credential_id[:8].hex()} signed exactly these details; "
        f"key chain followed to entry {v.chain.seq} (head {v.chain.head[:16]})"
    )


def main() -> int:
    try:
        print(f"PAY: {run(sys.argv[1:])}")
        return 0
    except ValueError as e:
        print(f"DO NOT PAY: {e}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
