"""What can go wrong with the state file itself, as one message naming the fix (exit 6).

SQLite and the OS describe these faults in their own words ("file is not a database", errno 28,
"attempt to write a readonly database"); a bookkeeper needs to know what to do. Every method of
`State` goes through `guard_state_errors`, so a fault anywhere in the state layer, at start or
mid-run, is translated here and nowhere else. Nothing unconfirmed is written when this happens:
the ledger's transactions roll back, and the next run reconciles by Reference.
"""

from __future__ import annotations

import errno
import functools
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from jobsync.core.errors import ExitCode, JobsyncError

T = TypeVar("T")


class StateError(JobsyncError):
    """The state file cannot be used: damaged, newer, read-only, or its disk is full."""

    exit_code = ExitCode.STATE


def damaged(path: Path) -> StateError:
    return StateError(
        f"the state file {path} is damaged; put back a backup with `jobsync state restore BACKUP`"
        " (runs since that backup are reconciled with Xero by Reference, so nothing is invoiced twice)"
    )


def newer(path: Path, found: int, supported: int) -> StateError:
    return StateError(
        f"the state file {path} was written by a newer jobsync (schema {found}, this one reads up to"
        f" {supported}); upgrade jobsync, or restore a backup made by this version"
    )


def translate(path: Path, exc: BaseException) -> StateError:
    """The StateError a bookkeeper or sysadmin can act on, for a sqlite3 or OS error on `path`."""
    text = str(exc).lower()
    code = getattr(exc, "errno", None)
    if code == errno.ENOSPC or code == errno.EFBIG or "disk is full" in text or "disk i/o error" in text:
        return StateError(
            f"cannot write the state file {path}: the disk is full (or failing); free space and run again"
            " (nothing confirmed in Xero is lost or sent twice)"
        )
    if isinstance(exc, PermissionError) or code in (errno.EACCES, errno.EROFS, errno.EPERM):
        return StateError(
            f"cannot write the state file {path}: permission denied; make it and its directory writable"
            " by the user that runs jobsync"
        )
    if "readonly" in text or "read-only" in text or "unable to open database" in text:
        return StateError(
            f"cannot write the state file {path}: it or its directory is read-only; make both writable"
            " by the user that runs jobsync"
        )
    if isinstance(exc, IsADirectoryError):
        return StateError(f"the state file {path} is a directory; set state.path to a file")
    if "locked" in text or "busy" in text:
        return StateError(f"the state file {path} is busy in another process; try again in a moment")
    if isinstance(exc, sqlite3.DatabaseError):
        return damaged(path)
    return StateError(f"cannot use the state file {path}: {exc}")


def guard_state_errors(cls: type[T]) -> type[T]:
    """Wrap every method of a state class so sqlite3 and OS errors leave it as a StateError."""
    for name, member in list(vars(cls).items()):
        if name.startswith("__") and name not in ("__enter__", "__exit__"):
            continue
        if isinstance(member, classmethod):
            setattr(cls, name, classmethod(_guarded(member.__func__, from_class=True)))
        elif callable(member) and not isinstance(member, staticmethod | type):
            setattr(cls, name, _guarded(member))
    return cls


def _guarded(fn: Callable[..., Any], from_class: bool = False) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(first: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(first, *args, **kwargs)
        except (sqlite3.Error, OSError) as exc:
            path = Path(args[0]) if from_class and args else getattr(first, "path", Path("state"))
            raise translate(path, exc) from None

    return wrapper
