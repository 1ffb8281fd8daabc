"""`/readyz`: the service can do its work. Checked without calling Xero: the state takes a write, and
a Xero login is stored and has not lapsed (a static token or client credentials need no store)."""

from __future__ import annotations

from datetime import UTC, datetime

from jobsync.app.wiring import xero_login
from jobsync.config.settings import Settings
from jobsync.core.errors import JobsyncError
from jobsync.state.store import State
from jobsync.xero.token_store import token_status


def check(settings: Settings) -> tuple[bool, str]:
    now = datetime.now(UTC)
    try:
        with State.open(settings.state.location) as state:
            state.cache_put("serve:ready_check", now.isoformat())
    except JobsyncError as exc:
        return False, f"state not writable: {exc.message}"
    if settings.xero.auth.mode != "oauth":
        return True, "ready"
    status = token_status(xero_login(settings), now)
    if status is None:
        return False, "no Xero login stored: run `jobsync auth login`"
    if status.refresh_lapses_at is not None and status.refresh_lapses_at <= now:
        return False, "the Xero login has lapsed: run `jobsync auth login`"
    return True, "ready"
