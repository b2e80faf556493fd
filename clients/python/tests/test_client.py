"""The HTTP client against a stand-in Keyward (a local HTTP server): what it
sends, how answers and problems map, waiting, JWKS refetching, events."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kit import ORIGIN, RP_ID, Signer
from test_approval import CANONICAL, DETAILS, evidence
from keyward_client import (
    AlreadyRedeemed,
    ApiKeyRefused,
    ApprovalExpired,
    Ended,
    Forbidden,
    HttpError,
    KeywardClient,
    MemoryPins,
    NotApproved,
    NotFound,
    PolicyRefused,
    Timeout,
    TokenError,
    Unauthorized,
    Unverified,
    ValidationError,
    Verifier,
)
from keyward_client.errors import PROBLEM_BASE, PROBLEMS, from_response

SID = "6f1a1b9e-8a4c-4a55-9b51-1d2a7a1f0c3e"


class Stand:
    """Routes (method, path) to a function returning (status, body)."""

    def __init__(self):
        self.routes = {}
        self.requests = []
        stand = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path = self.path.split("?", 1)[0]
                stand.requests.append((self.command, self.path, dict(self.headers), body))
                route = stand.routes.get((self.command, path))
                status, payload = route(self.path, body) if route else (404, {"type": PROBLEM_BASE + "route-not-found", "title": "No such endpoint", "status": 404})
                raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                if status in (301, 302):
                    self.send_header("Location", "http://example.invalid/")
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def stand():
    s = Stand()
    yield s
    s.server.shutdown()


def step_up(status="pending", **over):
    body = {
        "id": SID, "user_id": "00000000-0000-0000-0000-000000000007", "action": "withdrawal",
        "details": json.loads(CANONICAL.json)["details"], "digest": CANONICAL.digest_hex, "status": status,
        "reason": None, "held_until": None, "reasons": [], "created_at": "2026-01-01T00:00:00Z",
        "expires_at": "2026-01-01T00:05:00Z", "approved_at": None, "approval_expires_at": None,
        "redeemed_at": None, "confirm_url": "http://localhost:8080/confirm/" + SID,
    }
    body.update(over)
    return body


def problem(slug, **extra):
    status, title = PROBLEMS[slug]
    return status, {"type": PROBLEM_BASE + slug, "title": title, "status": status, "detail": "", **extra}


def test_every_problem_kind_maps_to_its_error():
    typed = {
        "already-redeemed": AlreadyRedeemed, "approval-expired": ApprovalExpired, "not-approved": NotApproved,
        "policy-refused": PolicyRefused, "invalid-service-key": Unauthorized, "insufficient-scope": Forbidden,
        "forbidden": Forbidden, "not-found": NotFound, "validation": ValidationError, "api-key-refused": ApiKeyRefused,
    }
    for slug in PROBLEMS:
        status, body = problem(slug, reason="ip_not_allowed" if slug == "api-key-refused" else "key_added", field="details.amount")
        err = from_response(status, json.dumps(body).encode())
        assert type(err) is typed.get(slug, HttpError), slug
    status, body = problem("policy-refused", reason="a_new_rule")
    assert from_response(status, json.dumps(body).encode()).reason == "unknown"
    status, body = problem("validation", field="details.amount")
    assert from_response(status, json.dumps(body).encode()).field == "details.amount"
    err = from_response(502, b"<html>bad gateway</html>")
    assert isinstance(err, HttpError) and err.status == 502 and err.type == "about:blank"


def test_a_withdrawal_end_to_end(stand):
    state = {"status": "pending", "redeemed": False}
    ev = evidence(2)
    ev_json = {
        "details": ev.details, "nonce": ev.nonce, "assertion": ev.assertion.to_json(),
        "key_chain": [{"statement": e.statement.to_json(), "hash": e.hash,
                       **({"endorsement": e.endorsement.to_json()} if e.endorsement else {})} for e in ev.key_chain],
    }

    def create(path, body):
        assert json.loads(body) == {"user": "alice", "action": "withdrawal", "details": DETAILS}
        return 201, step_up()

    def get(path, body):
        state["polls"] = state.get("polls", 0) + 1
        if state["polls"] >= 2:
            state["status"] = "approved"
        return 200, step_up(state["status"])

    def redeem(path, body):
        if state["redeemed"]:
            return problem("already-redeemed")
        state["redeemed"] = True
        return 200, dict(step_up("redeemed"), user_verified=True, credential_key_id=None, evidence=ev_json)

    stand.routes = {
        ("POST", "/v1/step-ups"): create,
        ("GET", f"/v1/step-ups/{SID}"): get,
        ("POST", f"/v1/step-ups/{SID}/redeem"): redeem,
    }
    keyward = KeywardClient(stand.url + "/", "kw_svc_test")
    assert "kw_svc_test" not in repr(keyward)
    s = keyward.create_step_up("alice", "withdrawal", DETAILS)
    assert s.status == "pending" and s.id == SID
    assert stand.requests[0][2]["Authorization"] == "Bearer kw_svc_test"
    assert keyward.wait_for_approval(s.id, poll_interval=0.01, timeout=5).status == "approved"
    verifier = Verifier(RP_ID, ORIGIN, MemoryPins())
    redeemed, proof = keyward.redeem_verified(s.id, "alice", "withdrawal", DETAILS, verifier)
    assert redeemed.step_up.status == "redeemed" and proof.chain.seq == 1
    with pytest.raises(AlreadyRedeemed):
        keyward.redeem(s.id)


def test_waits_end_on_decline_and_time_out(stand):
    status = {"now": "pending"}
    stand.routes = {("GET", f"/v1/step-ups/{SID}"): lambda p, b: (200, step_up(status["now"]))}
    keyward = KeywardClient(stand.url, "kw_svc_test")
    with pytest.raises(Timeout):
        keyward.wait_for_approval(SID, poll_interval=0.01, timeout=0.05)
    status["now"] = "declined"
    with pytest.raises(Ended) as e:
        keyward.wait_for_approval(SID, poll_interval=0.01, timeout=1)
    assert e.value.status == "declined"


def test_unverified_and_missing_evidence_are_not_paid(stand):
    stand.routes = {("POST", f"/v1/step-ups/{SID}/redeem"): lambda p, b: (200, dict(step_up("redeemed"), user_verified=None, credential_key_id=None, evidence=None))}
    keyward = KeywardClient(stand.url, "kw_svc_test")
    with pytest.raises(Unverified) as e:
        keyward.redeem_verified(SID, "alice", "withdrawal", DETAILS, Verifier(RP_ID, ORIGIN, MemoryPins()))
    assert e.value.error == "missing_evidence"


def test_redirects_are_not_followed_with_the_key(stand):
    stand.routes = {("GET", f"/v1/step-ups/{SID}"): lambda p, b: (302, b"")}
    with pytest.raises(HttpError) as e:
        KeywardClient(stand.url, "kw_svc_test").step_up(SID)
    assert e.value.status == 302


def test_jwks_is_refetched_once_for_an_unknown_kid_and_events_wait(stand):
    old, new = Signer("old", 1), Signer("new", 2)
    published = {"keys": [old.jwk()]}
    fetches = []

    def jwks(path, body):
        fetches.append(1)
        return 200, published

    aud = "payouts"
    iss = stand.url
    def event(signer, seq, name="stepup.approved", sid=SID, aud=aud):
        return signer.sign({"iss": iss, "aud": aud, "iat": 1, "jti": f"e{seq}", "toe": 1,
                            "sub_id": {"format": "opaque", "id": "u"},
                            "events": {f"https://keyward.dev/secevent/{name}": {"step_up_id": sid}},
                            "keyward_seq": seq})

    page = {"events": [], "next": 10, "head": 10}
    status = {"now": "pending"}
    stand.routes = {
        ("GET", "/.well-known/jwks.json"): jwks,
        ("GET", "/v1/events"): lambda p, b: (200, page),
        ("GET", f"/v1/step-ups/{SID}"): lambda p, b: (200, step_up(status["now"])),
    }
    keyward = KeywardClient(stand.url, "kw_svc_test", jwks_refetch_interval=60)
    assert keyward.verify_event(event(old, 1), aud).keyward_seq == 1
    published["keys"].append(new.jwk())  # a rotation
    assert keyward.verify_event(event(new, 2), aud).keyward_seq == 2
    assert len(fetches) == 2
    with pytest.raises(TokenError) as e:
        keyward.verify_event(event(Signer("forged", 3), 3), aud)
    assert e.value.kind == "unknown_key" and len(fetches) == 2  # at most one refetch per interval

    assert keyward.event_cursor() == 10
    # An unrelated event, then the approval: the wait answers with the step-up.
    page.update(events=[{"seq": 11, "jti": "e11", "set": event(old, 11, sid="00000000-0000-0000-0000-000000000001")},
                        {"seq": 12, "jti": "e12", "set": event(old, 12)}], next=12)
    status["now"] = "approved"
    # (the first look at the step-up says pending: flip after it)
    calls = {"n": 0}
    def get(p, b):
        calls["n"] += 1
        return 200, step_up("pending" if calls["n"] == 1 else "approved")
    stand.routes[("GET", f"/v1/step-ups/{SID}")] = get
    assert keyward.wait_for_approval_by_events(SID, aud, 10, timeout=5).status == "approved"
    # An event that does not verify ends the wait.
    calls["n"] = 0
    page.update(events=[{"seq": 13, "jti": "e13", "set": event(old, 13, aud="someone-else")}], next=13)
    with pytest.raises(TokenError) as e:
        keyward.wait_for_approval_by_events(SID, aud, 12, timeout=5)
    assert e.value.kind == "wrong_audience"
