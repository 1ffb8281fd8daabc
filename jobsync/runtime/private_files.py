"""The one way jobsync writes a file a person or another program reads: whole or not at all.

A temp file in the same directory (so the rename stays on one filesystem), created with its final mode
from the first byte, flushed to disk, then renamed over the target: readers see the old file or the
new one, never half of either, and a secret is never readable by others, even for an instant.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

PRIVATE = 0o600  # reports, env files, previews: they name clients or hold secrets
SHARED = 0o644  # systemd units: read by the service manager


def write_atomic(path: Path, text: str, mode: int = PRIVATE, check: Callable[[Path], object] | None = None) -> None:
    """Write `text` to `path` atomically with `mode`; `check(temp)` may refuse the content before it lands."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        if check is not None:
            check(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_private(path: Path, text: str) -> None:
    """`write_atomic` with mode 0600."""
    write_atomic(path, text, PRIVATE)
