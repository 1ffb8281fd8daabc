"""`jobsync jobs approve`: admit held adjustments (credit notes, extra invoices) and make them at once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from jobsync.app import follow_up
from jobsync.app.controls import who
from jobsync.app.wiring import build_gateway
from jobsync.config.settings import Settings
from jobsync.core.errors import JobsyncError
from jobsync.core.follow_up import FollowUpSummary
from jobsync.state.store import State


@dataclass(frozen=True)
class Approved:
    references: list[str]
    summary: FollowUpSummary


def approve(settings: Settings, job: str | None, every: bool, wait: float) -> Approved:
    """Approve the held adjustments of `job` (its number or the adjustment's Reference), or all of them."""
    if not job and not every:
        raise JobsyncError("name a job to approve, or pass --all")
    with State.open(settings.state.location) as state, state.lock(wait):
        held = [a for a, _, _ in state.adjustments(("held",))]
        chosen = [a for a in held if every or job in (a.job_number, a.reference, a.job_id)]
        if not chosen:
            waiting = ", ".join(f"{a.job_number} ({a.reference})" for a in held) or "none"
            raise JobsyncError(f"no held adjustment for {job!r}; waiting for approval: {waiting}")
        for adjustment in chosen:
            state.set_adjustment(adjustment.reference, "approved")
            state.record_action(who(), "approve", adjustment.source, adjustment.job_id, adjustment.describe())
        summary = follow_up.follow_up(settings, state, build_gateway(settings), lambda: datetime.now(UTC), force=True)
    return Approved([a.reference for a in chosen], summary)
