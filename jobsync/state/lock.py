"""The run lock: one process at a time writes a state file, across processes and hosts sharing a disk.

It lives in `<state>.lock`, not in the database, so it can be taken without opening the database:
`state restore` replaces a file too damaged to open while holding it.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from jobsync.core.errors import LockedError
from jobsync.state.errors import translate


@contextmanager
def run_lock(state_path: Path, wait: float = 0) -> Iterator[None]:
    """The exclusive run lock on a state file, held in `<state>.lock`, so it can be taken without opening
    the database (restore replaces a damaged file under it). The OS drops it if the process dies.

    `wait`: seconds to keep trying while another process holds it (a bookkeeper's control waits for
    a run to finish; a run itself does not wait)."""
    lock_path = state_path.with_name(state_path.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_CREAT | os.O_RDWR, 0o600)
    except OSError as exc:
        raise translate(state_path, exc) from None
    with os.fdopen(fd, "r+b") as handle:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    waited = f" after waiting {wait:g} s" if wait else ""
                    raise LockedError(
                        f"another jobsync run holds the lock on {state_path}{waited}; wait for it to finish"
                        " (or check for a stuck process)"
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
