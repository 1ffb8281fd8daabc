"""Process-wide counts of things worth watching from outside (Xero calls, Xero's 429s), for the
service's `/metrics`. Kept here, not per run: a long-running service outlives every run it makes,
and Prometheus wants counters that only go up for the life of the process."""

from __future__ import annotations

import threading
from collections import Counter

XERO_CALLS = "xero_calls"
XERO_RATE_LIMITED = "xero_rate_limited"

_lock = threading.Lock()
_counts: Counter[str] = Counter()


def add(name: str, n: int = 1) -> None:
    with _lock:
        _counts[name] += n


def snapshot() -> dict[str, int]:
    with _lock:
        return dict(_counts)
