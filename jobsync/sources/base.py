"""The protocol every job-system connector implements."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Protocol

from jobsync.core.models import Job


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


# What a connector's record-to-Job code can raise on a value the platform should never have sent.
ODD_VALUE_ERRORS = (ArithmeticError, ValueError, TypeError, KeyError, IndexError, AttributeError)
# A job that could not be read sorts first and never moves a watermark.
UNREADABLE_CHANGED_AT = datetime(1970, 1, 1, tzinfo=UTC)


def read_or_hold(source: str, job_id: object, number: object, build: Callable[[], Job]) -> Job:
    """`build()`, or a Job carrying the reason it could not be read, which the planner holds.

    One record with a value no parser foresaw (a date in year 1, a price of 1e400) costs only that job:
    the rest of its batch is read and invoiced, and the held job is read again next run.
    """
    try:
        return build()
    except ODD_VALUE_ERRORS as exc:
        detail = " ".join(str(exc).split())[:120] or type(exc).__name__
        return Job(
            source=source,
            id=str(job_id),
            number=str(number or job_id),
            status="",
            changed_at=UNREADABLE_CHANGED_AT,
            completed_at=None,
            client=None,
            problems=(f"the job's record could not be read ({type(exc).__name__}: {detail})",),
        )


def unreadable(job: Job) -> bool:
    """A placeholder from `read_or_hold`: always handed to the planner, which holds it with its reason."""
    return job.changed_at == UNREADABLE_CHANGED_AT and bool(job.problems) and not job.status
