"""Where an exchange keeps the key chains it pinned: one :class:`Pin` per
user. The exchange owns this store — it is what makes Keyward's database
untrusted — so it lives on the exchange's side: in memory for tests, in a
file, or in the exchange's own database (anything with ``get``/``put``)."""

from __future__ import annotations

import json
import os
import threading
from typing import Optional, Protocol

from .chain import Pin
from .errors import PinStoreError


class PinStore(Protocol):
    """A store of pinned chains, keyed by the username the exchange asks
    Keyward about. ``put`` must be durable before it returns: a pin lost
    after an approval was paid lets a rewritten chain be taken on first use
    again."""

    def get(self, user: str) -> Optional[Pin]: ...

    def put(self, user: str, pin: Pin) -> None: ...


class MemoryPins:
    """Pins in memory (tests, or a process that re-pins on start)."""

    def __init__(self) -> None:
        self._pins: dict[str, Pin] = {}
        self._lock = threading.Lock()

    def get(self, user: str) -> Optional[Pin]:
        with self._lock:
            return self._pins.get(user)

    def put(self, user: str, pin: Pin) -> None:
        with self._lock:
            self._pins[user] = pin


class FilePins:
    """Pins in one JSON file, in the Rust client's format (``{"<user>":
    {"user", "genesis", "head", "seq"}}``), rewritten whole through a
    temporary file, synced and renamed: a crash leaves the old file or the
    new one."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = os.fspath(path)
        self._lock = threading.Lock()

    def _read(self) -> dict[str, Pin]:
        try:
            with open(self.path, "rb") as f:
                raw = json.loads(f.read().decode("utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as e:
            raise PinStoreError(f"pin store: {self.path}: {e}") from None
        if not isinstance(raw, dict):
            raise PinStoreError(f"pin store: {self.path}: not a JSON object")
        try:
            return {user: Pin.from_json(p) for user, p in raw.items()}
        except ValueError as e:
            raise PinStoreError(f"pin store: {self.path}: {e}") from None

    def get(self, user: str) -> Optional[Pin]:
        with self._lock:
            return self._read().get(user)

    def put(self, user: str, pin: Pin) -> None:
        with self._lock:
            pins = self._read()
            pins[user] = pin
            body = json.dumps({u: p.to_json() for u, p in sorted(pins.items())}, indent=2)
            temp = self.path + ".tmp"
            try:
                with open(temp, "wb") as f:
                    f.write(body.encode("utf-8"))
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(temp, self.path)
            except OSError as e:
                raise PinStoreError(f"pin store: {self.path}: {e}") from None
