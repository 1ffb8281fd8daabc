"""Where the next run starts reading: pure rules for moving the watermark.

The mark moves only forward, only over work that is confirmed, never past the
run's start, and stays below the earliest job that failed so the next run
re-reads that job (held jobs are re-planned by id, so they do not hold it).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from jobsync.core.errors import ConfigError

# Sources return jobs changed strictly after the mark, so a mark one microsecond
# below a failed job's change time makes the next run read that job again.
_JUST_BELOW = timedelta(microseconds=1)


def read_from(
    stored: datetime | None, since: datetime | None, start_from: datetime | None, overlap: timedelta
) -> datetime:
    """The change time after which this run asks the source for jobs."""
    if since is not None:
        return since
    if stored is not None:
        return stored - overlap
    if start_from is not None:
        return start_from
    raise ConfigError(
        "this is the first run and there is no start date: jobsync will not bill years of history",
        ["set source.start_from in the config (e.g. 2026-11-01), or pass --since YYYY-MM-DD"],
    )


def next_mark(
    stored: datetime | None,
    seen: Iterable[datetime],
    failed: Iterable[datetime],
    run_started: datetime,
) -> datetime | None:
    """The watermark after this run, or None when there is nothing to record."""
    seen = list(seen)
    failed = list(failed)
    if not seen:
        return stored
    candidate = min(max(seen), run_started)
    if failed:
        candidate = min(candidate, min(failed) - _JUST_BELOW)
    if stored is not None and candidate <= stored:
        return stored
    return candidate
