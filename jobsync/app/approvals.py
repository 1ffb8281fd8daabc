"""Approving drafts (`xero.approval: required`) and held adjustments, from the console or `jobs approve`.

Approving admits a draft's exact content (the fingerprint the bookkeeper saw) to the next apply, and
the apply runs at once, the same way a webhook's jobs are applied: a handful of jobs each alone, more
as one incremental run (which re-reads every approved job by id). Exactly-once is the ledger's, as in
every run: approving twice, or approving while a cron run holds the lock, cannot make two invoices.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from jobsync.app import adjustment_commands, sync_run
from jobsync.config.settings import Settings
from jobsync.core.errors import JobsyncError
from jobsync.core.models import JobResult, Outcome
from jobsync.state.approval_rows import ApprovalRow
from jobsync.state.store import State


@dataclass(frozen=True)
class QueuedDraft:
    row: ApprovalRow
    card: dict[str, Any]

    @property
    def approved(self) -> bool:
        return self.row.admitted


@dataclass
class ApprovalOutcome:
    approved: list[str] = field(default_factory=list)  # "1001 (final)"
    changed: list[str] = field(default_factory=list)  # approved content is no longer what is planned
    results: list[JobResult] = field(default_factory=list)  # what the apply made of them
    adjustments: list[str] = field(default_factory=list)  # held adjustments approved (their References)
    problems: list[str] = field(default_factory=list)


def queue(settings: Settings) -> list[QueuedDraft]:
    with State.open(settings.state.location) as state:
        return [QueuedDraft(r, json.loads(r.card)) for r in state.approvals(settings.source.name)]


def approve_drafts(
    settings: Settings, picks: Sequence[tuple[str, str, str]] | None, by: str, wait: float
) -> ApprovalOutcome:
    """Approve (job id, stage, fingerprint seen) picks, or everything queued (None); then apply them."""
    done = ApprovalOutcome()
    admitted: set[str] = set()
    source = settings.source.name
    with State.open(settings.state.location) as state:
        rows = state.approvals(source)
        chosen = [(r.job_id, r.stage, r.planned) for r in rows] if picks is None else list(picks)
        by_key = {(r.job_id, r.stage): r for r in rows}
        for job_id, stage, seen in chosen:
            row = by_key.get((job_id, stage))
            label = f"{row.job_number if row else job_id} ({stage})"
            if row is None or not state.approve_draft(source, job_id, stage, seen, by):
                done.changed.append(label)
                continue
            state.audit(by, "approve draft", f"{source}:{job_id}", {"approved": row.approved}, {"approved": seen})
            done.approved.append(label)
            admitted.add(job_id)
    if admitted:
        done.results = _apply(settings, sorted(admitted), wait)
    return done


def _apply(settings: Settings, jobs: list[str], wait: float) -> list[JobResult]:
    shown = (Outcome.CREATED, Outcome.FAILED, Outcome.AWAITING, Outcome.HELD)
    passes = sync_run.sync_jobs(settings, jobs, wait)
    results = [r for job, report in passes for r in report.results if job is None or r.job_id == job]
    return [r for r in results if r.outcome in shown]


def approve(settings: Settings, job: str | None, every: bool, by: str, wait: float) -> ApprovalOutcome:
    """`jobs approve JOB|--all`: the job's queued drafts and its held adjustments, or all of both."""
    if not job and not every:
        raise JobsyncError("name a job to approve, or pass --all")
    picks = None
    if not every:
        mine = [q.row for q in queue(settings) if job in (q.row.job_number, q.row.job_id)]
        picks = [(r.job_id, r.stage, r.planned) for r in mine]
    done = approve_drafts(settings, picks, by, wait) if picks is None or picks else ApprovalOutcome()
    try:
        held = adjustment_commands.approve(settings, job, every, wait)
        done.adjustments, done.problems = held.references, list(held.summary.problems)
    except JobsyncError as exc:
        if not (done.approved or done.changed):
            what = f"for {job!r}" if job else "at all"
            raise JobsyncError(f"nothing waits for approval {what}: {exc.message}") from exc
    return done
