"""The service API over HTTP with a bearer service key: the Python
counterpart of ``keyward_client::KeywardClient``. Synchronous, on the
standard library's urllib (one dependency less to trust); thread-safe, so
one client per process is enough."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Optional

from . import jws, tokens
from ._json import loads
from .approval import VerifiedApproval
from .errors import (
    InvalidUrl,
    KeywardError,
    ProblemError,
    Timeout,
    TokenError,
    TransportError,
    HttpError,
    Unverified,
    from_response,
)
from .events import EventOrder, about_step_up, settled
from .wire import EventPage, PolledEvent, Redeemed, StepUp, VerifiedKey
from .verify import Verifier

DEFAULT_TIMEOUT = 30.0
DEFAULT_REFETCH_INTERVAL = 10.0
DEFAULT_JWKS_MAX_AGE = 600.0
# Waiting by events: sleep this long when everything is read (an approval is
# what a user is looking at, but never a hot loop); read this many per page;
# look at the step-up itself this often, as expiry writes no event.
IDLE_INTERVAL = 0.25
PAGE = 500
RECHECK = 30.0

_SEGMENT_SAFE = "!$&'()*+,;=:@-._~"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect would carry the service key elsewhere: refuse to follow.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class _JwksCache:
    """The JWKS, refetched when older than its maximum age (so a key Keyward
    stopped publishing stops verifying) and, at most once per interval,
    when a token names a key not in it (as after a rotation)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: Optional[list[dict[str, Any]]] = None
        self._fetched_at = 0.0
        self._last_refetch: Optional[float] = None

    def get(self, max_age: float) -> Optional[list[dict[str, Any]]]:
        with self._lock:
            if self._keys is not None and time.monotonic() - self._fetched_at < max_age:
                return self._keys
            return None

    def put(self, keys: list[dict[str, Any]]) -> None:
        with self._lock:
            self._keys = keys
            self._fetched_at = time.monotonic()

    def may_refetch(self, interval: float) -> bool:
        with self._lock:
            now = time.monotonic()
            if self._last_refetch is not None and now - self._last_refetch < interval:
                return False
            self._last_refetch = now
            return True


def _origin(parsed: urllib.parse.SplitResult) -> str:
    host = parsed.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = parsed.port
    default = {"http": 80, "https": 443}[parsed.scheme]
    return f"{parsed.scheme}://{host}" + (f":{port}" if port and port != default else "")


class KeywardClient:
    """A client for Keyward's service API, for an exchange's back end.

    It holds one service key (``kw_svc_…``, sent as ``Authorization:
    Bearer``; never in ``repr``) and a cache of Keyward's JWKS. Tokens are
    expected from ``issuer``, by default ``base_url``'s origin.
    """

    def __init__(
        self,
        base_url: str,
        service_key: str,
        *,
        issuer: Optional[str] = None,
        timeout: float = DEFAULT_TIMEOUT,
        clock_leeway: int = 0,
        jwks_refetch_interval: float = DEFAULT_REFETCH_INTERVAL,
        jwks_max_age: float = DEFAULT_JWKS_MAX_AGE,
    ):
        try:
            parsed = urllib.parse.urlsplit(base_url)
            parsed.port  # raises on a bad port
        except ValueError as e:
            raise InvalidUrl(f"invalid base URL: {e}") from None
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise InvalidUrl("invalid base URL: must be an http(s) URL")
        if any(c in service_key for c in "\r\n\0"):
            raise InvalidUrl("service key is not a valid header value")
        self._base = parsed
        self._auth = f"Bearer {service_key}"
        self.issuer = issuer if issuer is not None else _origin(parsed)
        self.timeout = timeout
        self.clock_leeway = clock_leeway
        self.jwks_refetch_interval = jwks_refetch_interval
        self.jwks_max_age = jwks_max_age
        self._jwks = _JwksCache()
        self._opener = urllib.request.build_opener(_NoRedirect)

    def __repr__(self) -> str:
        return f"KeywardClient(base={urllib.parse.urlunsplit(self._base)!r}, issuer={self.issuer!r})"

    # --- HTTP -----------------------------------------------------------

    def _url(self, segments: list[str], query: Optional[dict[str, Any]] = None) -> str:
        path = self._base.path
        if path.endswith("/"):
            path = path[:-1]
        path += "/" + "/".join(urllib.parse.quote(s, safe=_SEGMENT_SAFE) for s in segments)
        q = urllib.parse.urlencode(query) if query else ""
        return urllib.parse.urlunsplit((self._base.scheme, self._base.netloc, path, q, ""))

    def _send(self, method: str, url: str, body: Any = None, auth: bool = True) -> tuple[int, bytes]:
        headers = {"Accept": "application/json"}
        data = None
        if auth:
            headers["Authorization"] = self._auth
        if body is not None:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with self._opener.open(req, timeout=self.timeout) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as e:
            try:
                payload = e.read()
            except OSError:
                payload = b""
            return e.code, payload
        except (urllib.error.URLError, OSError) as e:
            raise TransportError(f"transport error: {e}") from None

    def _call(self, method: str, segments: list[str], body: Any = None) -> Any:
        status, payload = self._send(method, self._url(segments), body)
        if not 200 <= status < 300:
            raise from_response(status, payload)
        try:
            # As strictly as the Rust client reads it (no NaN, no lone
            # surrogates): a body it could not read is not paid on here.
            return loads(payload)
        except ValueError:
            raise TransportError("transport error: unreadable response body") from None

    # --- step-ups -------------------------------------------------------

    def create_step_up(self, user: str, action: str, details: Any) -> StepUp:
        """Asks ``user`` (id or username) to approve ``action`` (e.g.
        ``withdrawal``) with these ``details``. Decided at once: ``pending``
        (send the user to ``confirm_url``), ``held`` or ``denied`` (see
        ``reason``). A repeated ``client_reference`` returns the same step-up."""
        body = {"user": user, "action": action, "details": details}
        return StepUp.from_json(self._call("POST", ["v1", "step-ups"], body))

    def step_up(self, step_up_id: str) -> StepUp:
        """The step-up's current state."""
        return StepUp.from_json(self._call("GET", ["v1", "step-ups", str(step_up_id)]))

    def wait_for_approval(
        self, step_up_id: str, poll_interval: float = 2.0, timeout: float = 300.0
    ) -> StepUp:
        """Polls the step-up every ``poll_interval`` seconds until it is
        approved (returned), leaves ``pending`` otherwise (:class:`Ended`) or
        ``timeout`` passes (:class:`Timeout`). The approval still has to be
        redeemed before paying."""
        deadline = time.monotonic() + timeout
        poll_interval = max(poll_interval, 0.01)
        while True:
            done = settled(self.step_up(step_up_id))
            if done is not None:
                return done
            now = time.monotonic()
            if now >= deadline:
                raise Timeout("timed out waiting for the approval")
            time.sleep(min(poll_interval, deadline - now))

    def redeem(self, step_up_id: str) -> Redeemed:
        """Redeems the approval once, atomically, after Keyward's policy
        agrees again. A second call raises :class:`AlreadyRedeemed`. Verify
        before paying: :meth:`redeem_verified`."""
        return Redeemed.from_json(self._call("POST", ["v1", "step-ups", str(step_up_id), "redeem"]))

    def redeem_verified(
        self, step_up_id: str, user: str, action: str, details: Any, verifier: Verifier
    ) -> tuple[Redeemed, VerifiedApproval]:
        """Redeems once and verifies without trusting Keyward: ``user``'s own
        key, one in the chain the exchange pinned, signed exactly ``action``
        with ``details`` — the ones you asked for, hashed here — and the pin
        moves forward. Pay only when this returns; :class:`Unverified` (or
        :class:`ChainRestarted`) means a redeemed approval not to be paid."""
        redeemed = self.redeem(step_up_id)
        if redeemed.evidence_json is None:
            raise Unverified(
                "missing_evidence", None, "the redeemed approval carries no evidence"
            )
        verified = verifier.verify(user, action, details, redeemed.evidence_json)
        return redeemed, verified

    # --- API keys -------------------------------------------------------

    def verify_api_key(self, key: str, scope: str, client_ip: str) -> VerifiedKey:
        """Checks a user API key for ``scope`` (``read``, ``trade``,
        ``withdraw``) from ``client_ip``. A refusal is
        :class:`ApiKeyRefused` with the reason."""
        body = {"key": key, "scope": scope, "client_ip": client_ip}
        return VerifiedKey.from_json(self._call("POST", ["v1", "api-keys", "verify"], body))

    # --- tokens and events ----------------------------------------------

    def _fetch_jwks(self) -> list[dict[str, Any]]:
        status, payload = self._send("GET", self._url([".well-known", "jwks.json"]), auth=False)
        if not 200 <= status < 300:
            raise from_response(status, payload)
        keys = jws.parse_jwks(payload)
        self._jwks.put(keys)
        return keys

    def _keys_for(self, kid: str) -> list[dict[str, Any]]:
        """A key set holding ``kid``, fetched or refetched as needed."""
        keys = self._jwks.get(self.jwks_max_age)
        fresh = keys is None
        if keys is None:
            keys = self._fetch_jwks()
        try:
            jws.find_key(keys, kid)
        except TokenError as e:
            if e.kind == "unknown_key" and not fresh and self._jwks.may_refetch(self.jwks_refetch_interval):
                keys = self._fetch_jwks()
                jws.find_key(keys, kid)
            else:
                raise
        return keys

    def verify_approval(self, token: str) -> tokens.ApprovalClaims:
        """Verifies an approval token offline (EdDSA by a key of Keyward's
        JWKS, issuer, audience ``keyward-step-up``, expiry); then check it
        with :func:`approval_matches`."""
        keys = self._keys_for(jws.approval_kid(token))
        return tokens.verify_approval_token_with(token, keys, self.issuer, self.clock_leeway)

    def verify_event(self, set_: str, audience: str) -> tokens.SecurityEvent:
        """Verifies a Security Event Token (pushed to your webhook, or from
        :meth:`events`): ``typ`` ``secevent+jwt``, EdDSA by a key of
        Keyward's JWKS, this Keyward's issuer, and ``audience`` — your
        webhook's audience, or your service key's name when polling."""
        keys = self._keys_for(jws.event_kid(set_))
        return tokens.verify_event_with(set_, keys, self.issuer, audience)

    def events(self, after: int = 0, limit: int = 100) -> EventPage:
        """Security events after position ``after`` (0: the start), as signed
        tokens addressed to this service key (scope ``events:read``); read on
        from the page's ``next``. Verify each with :meth:`verify_event`."""
        url = self._url(["v1", "events"], {"after": after, "limit": limit})
        status, payload = self._send("GET", url)
        if not 200 <= status < 300:
            raise from_response(status, payload)
        try:
            body = loads(payload)
            events = [
                PolledEvent(seq=int(e["seq"]), jti=str(e["jti"]), set=str(e["set"]))
                for e in body["events"]
            ]
            return EventPage(events=events, next=int(body["next"]), head=int(body.get("head", 0)))
        except (ValueError, UnicodeDecodeError, KeyError, TypeError):
            raise HttpError(
                f"HTTP {status} (about:blank)", status, detail="unreadable event page"
            ) from None

    def event_cursor(self) -> int:
        """The position of the newest entry in Keyward's event log. Take it
        *before* creating a step-up and pass it to
        :meth:`wait_for_approval_by_events`, so nothing slips between."""
        page = self.events(0, 1)
        return max(page.head, page.next)

    def wait_for_approval_by_events(
        self, step_up_id: str, audience: str, after: int, timeout: float = 300.0
    ) -> StepUp:
        """Waits for the step-up to be approved by reading Keyward's security
        events from ``after`` rather than polling the step-up. ``audience``
        is the events' ``aud``: the service key's name.

        Returns as :meth:`wait_for_approval` does. Whatever an event says,
        the answer is the step-up fetched afterwards. Every event read is
        verified: one that does not verify ends the wait with
        :class:`TokenError`, as it means the stream is not Keyward's.
        Repeats are dropped; the step-up is also looked at every 30 s and at
        the deadline, as expiry writes no event."""
        deadline = time.monotonic() + timeout
        done = settled(self.step_up(step_up_id))
        if done is not None:
            return done
        order = EventOrder(after)
        cursor = after
        checked = time.monotonic()
        while True:
            page = self.events(cursor, PAGE)
            seen = False
            for polled in page.events:
                event = self.verify_event(polled.set, audience)
                if order.accept(event) and about_step_up(event, step_up_id):
                    seen = True
            moved = page.next > cursor  # a page never moves the cursor back
            cursor = max(cursor, page.next)
            now = time.monotonic()
            if seen or now >= deadline or now - checked >= RECHECK:
                checked = now
                done = settled(self.step_up(step_up_id))
                if done is not None:
                    return done
                if now >= deadline:
                    raise Timeout("timed out waiting for the approval")
            if not moved:
                time.sleep(min(IDLE_INTERVAL, max(deadline - now, 0.0)))


__all__ = ["KeywardClient", "KeywardError", "ProblemError"]
