"""Keeping security events in order. Delivery is at least once: the same
event may come twice (same ``jti``, same ``keyward_seq``)."""

from __future__ import annotations

from typing import Optional

from .chain import parse_uuid
from .errors import Ended, KeywardError
from .tokens import KEYWARD_EVENT, SecurityEvent
from .wire import StepUp


class EventOrder:
    """A receiver's place in Keyward's event order. Keyward sends each
    endpoint its events in order, so an event at or before the last one
    accepted was seen already: a repeat. Keep ``last`` durably, as you keep
    pins."""

    def __init__(self, last: int = 0):
        self.last = last

    def accept(self, event: SecurityEvent) -> bool:
        """Whether ``event`` is new (act on it); ``False`` for a repeat."""
        if event.keyward_seq <= self.last:
            return False
        self.last = event.keyward_seq
        return True


def about_step_up(event: SecurityEvent, step_up_id: str) -> bool:
    """Whether ``event`` is one of Keyward's ``stepup.*`` events about this
    step-up (asked for, held, denied, approved, declined, redeemed, refused)."""
    try:
        wanted = parse_uuid(step_up_id)
    except ValueError:
        return False
    for uri, detail in event.events.items():
        if not uri.startswith(KEYWARD_EVENT) or not uri[len(KEYWARD_EVENT) :].startswith("stepup."):
            continue
        sid = detail.get("step_up_id") if isinstance(detail, dict) else None
        if isinstance(sid, str):
            try:
                if parse_uuid(sid) == wanted:
                    return True
            except ValueError:
                pass
    return False


def settled(step_up: StepUp) -> Optional[StepUp]:
    """What both waits make of a step-up's state: approved is done
    (returned), pending goes on waiting (``None``), anything else ended it
    (:class:`Ended`)."""
    if step_up.status == "approved":
        return step_up
    if step_up.status == "pending":
        return None
    raise Ended(step_up.status, step_up.reason)


__all__ = ["EventOrder", "about_step_up", "settled", "KeywardError"]
