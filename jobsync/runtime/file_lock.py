"""An exclusive fcntl lock on a small file beside what it guards (a token store is replaced on every
save, so the lock cannot live on the store itself). The kernel drops it when the descriptor closes,
so a killed holder never leaves it stale."""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from jobsync.core.errors import LockedError


@contextmanager
def held(lock_path: Path, wait: float, busy: str) -> Iterator[None]:
    """Hold `lock_path`, waiting up to `wait` seconds; past that, LockedError(busy)."""
    lock_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockedError(busy) from None
                time.sleep(0.02)
        yield
    finally:
        os.close(fd)
