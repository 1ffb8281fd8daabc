"""How often held jobs are re-read and re-planned by a cron run (failed ones are retried every run).

A held job waits for a person (a contact to choose, a rule to fix), so re-planning it every 15 minutes
costs Xero calls and changes nothing. A `run` re-plans held and failed jobs at most every
`held_recheck_minutes`; `preview` always does, because someone is looking; `jobs retry` asks for the
next pass to do so at once, and so does a changed config (a fixed rule may release a held job).
Jobs in flight are not held: they are reconciled on every pass.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from jobsync.state.rows import from_iso, to_iso
from jobsync.state.store import State


def _key(source: str) -> str:
    return f"held_recheck_at:{source}"


def due(state: State, source: str, every: timedelta, now: datetime, config: str) -> bool:
    """Whether this pass re-plans held and failed jobs; `config` is the config's fingerprint."""
    when, _, seen_config = (state.cache_get(_key(source)) or "").partition(" ")
    last = from_iso(when or None)
    return last is None or now - last >= every or seen_config != config


def record(state: State, source: str, at: datetime, config: str) -> None:
    state.cache_put(_key(source), f"{to_iso(at)} {config}")


def request_now(state: State, source: str) -> None:
    """The next pass re-plans every held and failed job, whenever the last re-check was."""
    state.cache_put(_key(source), "")
