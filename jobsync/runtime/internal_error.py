"""The last resort: an error nobody foresaw becomes one line on stderr, its traceback goes to a log file.

A traceback in a cron mail helps nobody at 3 a.m.; the file keeps it for the bug report.
"""

from __future__ import annotations

import os
import tempfile
import traceback
from datetime import UTC, datetime
from pathlib import Path

LOG_ENV = "JOBSYNC_ERROR_LOG"


def error_log_path(env: dict[str, str] | None = None) -> Path:
    """$JOBSYNC_ERROR_LOG, else $XDG_STATE_HOME/jobsync/errors.log, else ~/.local/state/jobsync/errors.log."""
    env = dict(os.environ) if env is None else env
    if env.get(LOG_ENV):
        return Path(env[LOG_ENV])
    state_home = env.get("XDG_STATE_HOME") or str(Path(env.get("HOME") or tempfile.gettempdir()) / ".local" / "state")
    return Path(state_home) / "jobsync" / "errors.log"


def record_internal_error(exc: BaseException) -> Path:
    """Append the traceback to the error log (or a temp file if that cannot be written); return where it went."""
    entry = f"--- {datetime.now(UTC).isoformat()} pid {os.getpid()}\n" + "".join(
        traceback.format_exception(type(exc), exc, exc.__traceback__)
    )
    for path in (error_log_path(), Path(tempfile.gettempdir()) / "jobsync-errors.log"):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as log:
                log.write(entry)
            return path
        except OSError:
            continue
    return Path("(no writable log)")


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:159] + "…"
