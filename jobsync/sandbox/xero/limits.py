"""Xero's per-tenant rate limits and its 6-minute Idempotency-Key store, on the sandbox clock."""

from __future__ import annotations

import hashlib
import math
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

MAX_KEY_LENGTH = 128


@dataclass(frozen=True)
class RateLimits:
    """Xero's published numbers; `window_seconds` scales the minute so tests run in seconds."""

    minute: int = 60
    day: int = 5000
    concurrent: int = 5
    app_minute: int = 10000
    window_seconds: float = 60.0
    day_seconds: float = 86400.0


GENEROUS = RateLimits(minute=1_000_000, day=10_000_000, concurrent=10_000, app_minute=10_000_000)


@dataclass
class _Window:
    started: float = -math.inf
    count: int = 0

    def roll(self, now: float, length: float) -> None:
        # Xero counts in fixed windows that start at a tenant's first call.
        if now - self.started >= length:
            self.started, self.count = now, 0

    def retry_after(self, now: float, length: float) -> int:
        return max(1, math.ceil(self.started + length - now))


@dataclass
class RateLimiter:
    limits: RateLimits = GENEROUS
    _minute: dict[str, _Window] = field(default_factory=dict)
    _day: dict[str, _Window] = field(default_factory=dict)
    _app: _Window = field(default_factory=_Window)
    _in_flight: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def acquire(self, tenant: str | None, now: datetime) -> tuple[dict[str, str], str | None, int]:
        """Count one call. Returns (headers, problem or None, retry-after seconds)."""
        stamp, lim = now.timestamp(), self.limits
        with self._lock:
            self._app.roll(stamp, lim.window_seconds)
            if tenant is None:
                self._app.count += 1
                return {"X-AppMinLimit-Remaining": str(max(0, lim.app_minute - self._app.count))}, None, 0
            minute = self._minute.setdefault(tenant, _Window())
            day = self._day.setdefault(tenant, _Window())
            minute.roll(stamp, lim.window_seconds)
            day.roll(stamp, lim.day_seconds)
            problem, retry = None, 0
            if self._in_flight.get(tenant, 0) >= lim.concurrent:
                problem, retry = "concurrent", 1
            elif day.count >= lim.day:
                problem, retry = "day", day.retry_after(stamp, lim.day_seconds)
            elif minute.count >= lim.minute:
                problem, retry = "minute", minute.retry_after(stamp, lim.window_seconds)
            elif self._app.count >= lim.app_minute:
                problem, retry = "appminute", self._app.retry_after(stamp, lim.window_seconds)
            else:
                minute.count += 1
                day.count += 1
                self._app.count += 1
                self._in_flight[tenant] = self._in_flight.get(tenant, 0) + 1
            headers = {
                "X-MinLimit-Remaining": str(max(0, lim.minute - minute.count)),
                "X-DayLimit-Remaining": str(max(0, lim.day - day.count)),
                "X-AppMinLimit-Remaining": str(max(0, lim.app_minute - self._app.count)),
            }
            return headers, problem, retry

    def release(self, tenant: str) -> None:
        with self._lock:
            self._in_flight[tenant] = max(0, self._in_flight.get(tenant, 0) - 1)


@dataclass(frozen=True)
class Cached:
    fingerprint: str
    status: int
    headers: dict[str, str]
    body: bytes
    at: float


class IdempotencyStore:
    """Remembers each key's first answer for `ttl` seconds; the same key with another request is refused."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[tuple[str, str], Cached] = {}
        self._lock = threading.Lock()
        self.key_locks: dict[tuple[str, str], threading.Lock] = {}

    def lock_for(self, scope: str, key: str) -> threading.Lock:
        """A duplicate arriving while the first is still running waits for its answer."""
        with self._lock:
            return self.key_locks.setdefault((scope, key), threading.Lock())

    def lookup(self, scope: str, key: str, fingerprint: str, now: datetime) -> Cached | str | None:
        with self._lock:
            entry = self._entries.get((scope, key))
            if entry is None or now.timestamp() - entry.at >= self.ttl:
                return None
            return entry if entry.fingerprint == fingerprint else "mismatch"

    def remember(self, scope: str, key: str, entry: Cached) -> None:
        with self._lock:
            self._entries[(scope, key)] = entry


def fingerprint(method: str, path: str, query: str, body: bytes) -> str:
    return hashlib.sha256(b"\0".join([method.encode(), path.encode(), query.encode(), body])).hexdigest()


def mismatch_body(key: str) -> dict[str, Any]:
    return {
        "ErrorNumber": 400,
        "Type": "IdempotencyException",
        "Message": f"Idempotency Key {key} is used with a different request.",
    }


def too_long_body() -> dict[str, Any]:
    return {
        "ErrorNumber": 400,
        "Type": "IdempotencyException",
        "Message": f"Idempotency Key must be {MAX_KEY_LENGTH} characters or fewer.",
    }
