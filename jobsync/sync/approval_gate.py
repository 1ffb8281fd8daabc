"""`xero.approval: required`: only drafts a bookkeeper approved, as they are now, reach the apply.

The gate sits between the plan and the apply and changes nothing about exactly-once: it only chooses
which of the plan's drafts go on to the same ledger-guarded apply. Every other draft is kept in the
approval queue (the state's `approvals` table) with the content it was planned with, and reported as
awaiting approval. An approved job is re-read by id every pass until its invoice exists.
"""

from __future__ import annotations

from dataclasses import replace

from jobsync.core import approval
from jobsync.core.models import InvoiceDraft, JobResult, Outcome, Plan, RunReport
from jobsync.state.store import State

SETTLES = frozenset({Outcome.CREATED, Outcome.ADOPTED, Outcome.SKIPPED})


def admit(plan: Plan, state: State) -> tuple[Plan, list[JobResult]]:
    """The plan with only the approved drafts, and a result for each draft left waiting."""
    rows = {(r.source, r.job_id, r.stage): r for r in state.approvals(job_ids={d.job_id for d in plan.drafts})}
    admitted: list[InvoiceDraft] = []
    waiting: list[JobResult] = []
    for d in plan.drafts:
        seen = approval.fingerprint(d)
        row = rows.get((d.source, d.job_id, d.stage))
        if row is not None and row.approved == seen:
            admitted.append(d)
            continue
        state.await_approval(d.source, d.job_id, d.stage, d.job_number, seen, approval.card(d))
        changed = row is not None and row.approved is not None
        why = approval.AWAITING_REASON.format(job=d.job_number)
        if changed:
            why = "the job changed after it was approved; " + why
        waiting.append(_awaiting(d, why))
    return replace(plan, drafts=tuple(admitted)), waiting


def _awaiting(d: InvoiceDraft, why: str) -> JobResult:
    return JobResult(
        d.source, d.job_id, d.job_number, Outcome.AWAITING, d.stage, why, total=d.total, contact_name=d.contact.name
    )


def settle(state: State, report: RunReport) -> None:
    """Drafts whose invoice now exists (made, found, or already there) leave the queue."""
    done: dict[str, list[tuple[str, str]]] = {}
    for r in report.results:
        if r.outcome in SETTLES:
            done.setdefault(r.source, []).append((r.job_id, r.stage))
    for source, pairs in done.items():
        state.settle_approvals(source, pairs)
