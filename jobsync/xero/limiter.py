"""Client-side pacing for one Xero tenant: calls a minute, calls in flight, and a daily budget.

Xero counts per tenant (60 a minute, 5 at once, 5,000 a day; 1,000 a day on the Starter tier)
and answers 429 past a limit. Pacing here keeps a run under the limits instead of bouncing off
them, and stops it cleanly (`StoppedError`, exit 5) before a daily limit is spent: a run stopped
between two calls loses nothing, because the ledger and the next run's reconcile pick up.

Each call reserves a start time under a lock and then sleeps until it, so threads sharing one
client are paced too. The clock (epoch seconds) and sleep are injected, so tests move time on
instead of waiting.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from jobsync.core.errors import StoppedError
from jobsync.runtime import progress
from jobsync.xero.refcache import KeyValueCache

MIN_HEADER = "x-minlimit-remaining"
DAY_HEADER = "x-daylimit-remaining"
LIMIT_HEADERS = (MIN_HEADER, DAY_HEADER, "x-appminlimit-remaining")


@dataclass(frozen=True)
class Limits:
    per_minute: int = 60
    concurrent: int = 5
    window_seconds: float = 60.0
    daily_budget: int | None = None  # xero.daily_call_budget; None: only Xero's own day limit stops a run


def parse_limits(headers: Mapping[str, str]) -> dict[str, int]:
    """The X-*Limit-Remaining headers present in `headers` (any case), as ints."""
    lowered = {k.lower(): v for k, v in headers.items()}
    found: dict[str, int] = {}
    for name in LIMIT_HEADERS:
        try:
            found[name] = int(lowered[name])
        except (KeyError, ValueError):
            continue
    return found


class CallLimiter:
    """Paces the calls of one tenant; `slot()` wraps every attempt, `observe()` every answer."""

    def __init__(
        self,
        limits: Limits = Limits(),
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.limits = limits
        self._clock, self._sleep = clock, sleep
        self._starts: deque[float] = deque()  # reserved start times still inside the window
        self._slots = threading.BoundedSemaphore(limits.concurrent)
        self._lock = threading.Lock()
        self._blocked_until = 0.0  # Xero said the minute is used up: no call before this
        self._min_left: int | None = None
        self._day_left: int | None = None
        self._day = ""  # the UTC date `used_today` counts for
        self.used_today = 0
        self.waited = 0.0  # seconds spent pacing, for the report and tests
        self._cache: tuple[KeyValueCache, str] | None = None

    def use_cache(self, cache: KeyValueCache, tenant_id: str) -> None:
        """Count the day's calls across runs (cron runs hourly; the budget is per day)."""
        self._cache = (cache, f"xero:calls:{tenant_id}")
        raw = cache.cache_get(self._cache[1])
        try:
            saved = json.loads(raw) if raw else {}
            day, count = str(saved["day"]), int(saved["count"])
        except (ValueError, KeyError, TypeError):
            return  # a damaged counter only forgets earlier runs' calls
        with self._lock:
            if day == self._today():
                self._day, self.used_today = day, max(self.used_today, count)

    @contextmanager
    def slot(self, label: str) -> Iterator[None]:
        """Wait for a free slot and a start time inside the limits; raise StoppedError past the budget."""
        with self._slots:
            with self._lock:
                self._check_budget(label)
                wait = self._reserve(self._clock())
                self._count()
            if wait > 0:
                self.waited += wait
                progress.waiting(wait, "Xero's rate limit (60 calls a minute, 5 at once)")
                self._sleep(wait)
            yield

    def observe(self, headers: Mapping[str, str]) -> dict[str, int]:
        """Note Xero's remaining counts from one answer (a 429 too); returns the ones present."""
        found = parse_limits(headers)
        lowered = {k.lower(): v for k, v in headers.items()}
        with self._lock:
            if MIN_HEADER in found:
                self._min_left = found[MIN_HEADER]
                if self._min_left <= 0:
                    # Xero's minute is a fixed window of unknown phase: wait what it asks, else a whole window.
                    self._blocked_until = self._clock() + header_seconds(
                        lowered.get("retry-after"), self.limits.window_seconds
                    )
            if DAY_HEADER in found:
                self._day_left = found[DAY_HEADER]
        return found

    def budget_left(self) -> int | None:
        """Calls left today by the tighter of our budget and Xero's own day count; None if neither is known."""
        with self._lock:
            return self._left()

    def _left(self) -> int | None:
        known = [] if self._day_left is None else [self._day_left]
        if self.limits.daily_budget is not None:
            used = self.used_today if self._day == self._today() else 0
            known.append(self.limits.daily_budget - used)
        return min(known) if known else None

    def _check_budget(self, label: str) -> None:
        left = self._left()
        if left is None or left > 0:
            return
        if self._day_left is not None and self._day_left <= 0:
            raise StoppedError(
                f"Xero's daily call limit for this organisation is used up (X-DayLimit-Remaining 0) before "
                f"{label}. Nothing is lost: the next run continues once Xero's day resets"
            )
        raise StoppedError(
            f"the daily Xero call budget is spent ({self.used_today} of xero.daily_call_budget "
            f"{self.limits.daily_budget}) before {label}. Nothing is lost: the next run continues tomorrow, "
            "or raise xero.daily_call_budget"
        )

    def _reserve(self, now: float) -> float:
        """Reserve the earliest start allowed; returns how long to wait for it."""
        lim = self.limits
        while self._starts and self._starts[0] <= now - lim.window_seconds:
            self._starts.popleft()
        start = max(now, self._blocked_until)
        if len(self._starts) >= lim.per_minute:
            start = max(start, self._starts[-lim.per_minute] + lim.window_seconds)
        if self._starts:
            start = max(start, self._starts[-1])  # keep reservations in order
            ours_left = lim.per_minute - len(self._starts)
            if self._min_left is not None and self._min_left < min(lim.concurrent, ours_left):
                # Xero has fewer left than we spent: someone else shares this tenant's minute, so spread out.
                start = max(start, self._starts[-1] + lim.window_seconds / lim.per_minute)
        self._starts.append(start)
        return start - now

    def _count(self) -> None:
        today = self._today()
        if self._day != today:
            self._day, self.used_today = today, 0
        self.used_today += 1
        if self._cache is not None and self.limits.daily_budget is not None:
            cache, key = self._cache
            cache.cache_put(key, json.dumps({"day": self._day, "count": self.used_today}))

    def _today(self) -> str:
        # Xero's day resets at a per-tenant moment it does not publish; the UTC date is our stand-in.
        return datetime.fromtimestamp(self._clock(), UTC).date().isoformat()


def header_seconds(value: str | None, default: float) -> float:
    try:
        return max(0.0, float(value)) if value is not None else default
    except ValueError:
        return default
