"""Where a run starts reading, beyond the watermark: the jobs a change time would hide.

A CSV export has no trustworthy change time (rows appear with old completion dates; edits keep them),
nor does a REST source without a change-time field. Such a source is read from its first start
(`start_from`, or the first run's start) on every run, and the ledger decides what is done. A source
with a change time keeps its watermark, and every `deep_reconcile` (24 h) it too reads everything
since its first start, to catch a change time that was late or missed. A billable job found before the
normal window is named in the report, so a backdated job never passes in silence.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from jobsync.core.models import Plan
from jobsync.sources.base import JobSource
from jobsync.state.store import State
from jobsync.sync.gather import Gathered


def trusts_change_time(source: JobSource) -> bool:
    return bool(getattr(source, "trusts_change_time", True))


def _first_key(source: JobSource) -> str:
    return f"reading:first-start:{source.name}"


def _deep_key(source: JobSource) -> str:
    return f"reading:deep-at:{source.name}"


def first_start(state: State, source: JobSource, configured: datetime | None) -> datetime | None:
    if configured is not None:
        return configured
    stored = state.cache_get(_first_key(source))
    return datetime.fromisoformat(stored) if stored else None


def start(
    state: State,
    source: JobSource,
    window: tuple[datetime | None, datetime | None, timedelta],
    stored: datetime | None,
    normal: datetime,
    now: datetime,
) -> datetime:
    """Where this run reads from: the normal window, or back to the first start when that is due.

    `window` is (--since, source.start_from, deep_reconcile) as the run was given them."""
    since, start_from, deep_reconcile = window
    if since is not None or stored is None:
        return normal  # an explicit --since, or the first run: its start is the first start
    first = first_start(state, source, start_from)
    if first is None or first >= normal:
        return normal
    if not trusts_change_time(source):
        return first
    last = state.cache_get(_deep_key(source))
    if last is None or now - datetime.fromisoformat(last) >= deep_reconcile:
        return first
    return normal


def record(state: State, source: JobSource, used: datetime, normal: datetime, now: datetime) -> None:
    """Remember the first start (once) and when everything was last read."""
    if state.cache_get(_first_key(source)) is None:
        state.cache_put(_first_key(source), used.isoformat())
    if used < normal or state.cache_get(_deep_key(source)) is None:
        state.cache_put(_deep_key(source), now.isoformat())


def outside(plan: Plan, gathered: Gathered, normal: datetime) -> list[str]:
    """Job numbers this run will invoice that the normal window would not have read."""
    fresh = {j.id: j for j in gathered.fresh_jobs}
    late = {d.job_number for d in plan.drafts if d.job_id in fresh and fresh[d.job_id].changed_at <= normal}
    return sorted(late)
