"""The protocol every job-system connector implements."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from jobsync.models import Job


class JobSource(Protocol):
    """A job system, read-only.

    `changed_since(mark)` returns the jobs in the configured billable statuses
    whose change timestamp is strictly after `mark` (UTC, aware), each carrying
    that timestamp in `Job.changed_at`. The runner already subtracted the
    overlap window from the stored watermark; a source de-duplicates by job id.

    `get_jobs(ids)` re-reads specific jobs (held jobs are re-planned every run
    even when their change time lies below the watermark). Jobs no longer in a
    billable status are left out.

    A job whose data is malformed is returned with `Job.problems` filled, never
    raised: one bad job must not stop the others. Transport failures raise
    `UnreachableError`.
    """

    name: str

    def changed_since(self, mark: datetime) -> list[Job]: ...

    def get_jobs(self, ids: Sequence[str]) -> list[Job]: ...

    @property
    def calls(self) -> dict[str, int]:
        """Requests made to the job system so far, by endpoint."""
        ...
