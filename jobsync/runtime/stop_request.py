"""SIGTERM (what systemd sends to stop a unit) and SIGINT stop a run between calls, not in the middle of one.

While a run is applying, the signal only raises a flag; the runner looks at it before each batch, so the
call in flight finishes and is recorded, and the run then stops with exit 5 and writes its report.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from jobsync.core.errors import StoppedError

_requested = threading.Event()
_signal_name = ""


class StopRequested(StoppedError):
    """A person or the service manager asked the run to stop; it stopped between calls."""


@contextmanager
def handled() -> Iterator[None]:
    """Turn SIGTERM and SIGINT into a stop request while the block runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _requested.clear()
    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    global _signal_name
    _signal_name = signal.Signals(signum).name
    _requested.set()


def check() -> None:
    """Raise StopRequested when a stop was asked for; called between calls to Xero."""
    if _requested.is_set():
        raise StopRequested(f"stopped on request ({_signal_name}); nothing lost; the next run continues")


def request(reason: str) -> None:
    """Ask every pass in this process to stop between calls, as a signal would (`jobsync serve` on SIGTERM)."""
    global _signal_name
    _signal_name = reason
    _requested.set()
