"""Live progress on long work: the phase, N of M, and any wait with its reason.

The sync calls `phase`, `advance` and `waiting` as it goes; nothing is shown unless a front end
listens (`jobsync run` and `preview` on a terminal). So cron, pipes and tests see no progress
noise, and the core stays free of any terminal code.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol


class Listener(Protocol):
    def phase(self, name: str, total: int | None) -> None: ...

    def advance(self, done: int) -> None: ...

    def waiting(self, seconds: float, reason: str) -> None: ...


_listeners: list[Listener] = []


@contextmanager
def listening(listener: Listener) -> Iterator[None]:
    _listeners.append(listener)
    try:
        yield
    finally:
        _listeners.remove(listener)


def phase(name: str, total: int | None = None) -> None:
    """A new step begins: "reading the job system", "creating invoices" (of `total`, when known)."""
    for listener in _listeners:
        listener.phase(name, total)


def advance(done: int = 1) -> None:
    for listener in _listeners:
        listener.advance(done)


def waiting(seconds: float, reason: str) -> None:
    """A pause the user would otherwise take for a hang: a rate limit or a server's Retry-After."""
    if seconds >= 0.5:  # a pacing gap of a few milliseconds is not worth a line
        for listener in _listeners:
            listener.waiting(seconds, reason)


def announced(sleep: Callable[[float], None], reason: str) -> Callable[[float], None]:
    """`sleep`, saying first why it waits."""

    def wait(seconds: float) -> None:
        waiting(seconds, reason)
        sleep(seconds)

    return wait
