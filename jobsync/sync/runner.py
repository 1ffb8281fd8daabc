"""One sync pass: gather what is needed, build the plan, and (for `run`) apply it.

`preview` and `run` build the very same plan; only `run` goes on to `apply.apply_plan`,
whose order is what makes the sync exactly-once (see there). The watermark moves last.
"""

from __future__ import annotations

__all__ = ["RunOptions", "RunResult", "execute"]

import uuid
from collections.abc import Callable
from datetime import datetime

from jobsync.core import watermark
from jobsync.core.errors import (
    ExitCode,
    RetriableError,
    StoppedError,
    UnreachableError,
)
from jobsync.core.held_card import card_json
from jobsync.core.models import (
    JobResult,
    Outcome,
    Plan,
    RunReport,
)
from jobsync.runtime import progress
from jobsync.sources.base import JobSource
from jobsync.state.store import State
from jobsync.sync import adoption, approval_gate, held_recheck, reading_window, settled_jobs
from jobsync.sync.apply import apply_plan
from jobsync.sync.drafts_update import update_drafts
from jobsync.sync.gather import Gathered, find_existing, gather
from jobsync.sync.run_values import RunOptions, RunResult
from jobsync.xero.gateway import XeroGateway


def execute(
    source: JobSource,
    gateway: XeroGateway,
    state: State,
    plan_inputs: Callable[[Gathered], Plan],
    options: RunOptions,
    now: Callable[[], datetime],
    command: str,
) -> RunResult:
    """Run (or preview) one pass and return its plan and report; never raises for one bad job."""
    report = RunReport(run_id=_run_id(now()), command=command, started_at=now(), source=source.name)
    stored = state.get_watermark(source.name)
    report.watermark_before = stored
    normal_start = watermark.read_from(stored, options.since, options.start_from, options.overlap)
    result = RunResult(plan=Plan((), (), ()), report=report)
    try:
        _pass(source, gateway, state, plan_inputs, options, result, stored, normal_start)
    except (UnreachableError, StoppedError, RetriableError) as exc:
        # Stopped part-way (Xero or the job system gone, a brake, SIGTERM): the run still records what it
        # did. Its watermark stays put, so the next run re-reads everything and the ledger decides.
        report.errors.append(exc.message)
        result.stop_code = exc.exit_code
        if options.apply:
            ignored = {j.id for j, _ in result.gathered.ignored} if result.gathered else set()
            _record_holds(state, result.plan, report, ignored)
    report.api_calls = _merge_calls(gateway.calls, source.calls)
    # Headroom left in Xero's per-tenant limits, from the last answer's X-*Limit-Remaining headers.
    report.extra["rate_limits"] = dict(getattr(gateway, "limits", None) or {})
    report.finished_at = now()
    result.exit_code = result.stop_code or _exit_code(report)
    return result


def _pass(
    source: JobSource,
    gateway: XeroGateway,
    state: State,
    plan_inputs: Callable[[Gathered], Plan],
    options: RunOptions,
    result: RunResult,
    stored: datetime | None,
    normal_start: datetime,
) -> None:
    report = result.report
    window = (options.since, options.start_from, options.deep_reconcile)
    start = reading_window.start(state, source, window, stored, normal_start, report.started_at)
    recheck = not options.apply or held_recheck.due(
        state, source.name, options.held_recheck, report.started_at, options.config_fingerprint
    )
    # Preview, and a retry of one job, plan every job they read: nothing is left out as settled.
    settled_under = options.config_fingerprint if options.apply and options.only_job is None else None
    progress.phase(f"reading {source.name}")
    gathered = gather(
        source, gateway, state, start, revisit_held=recheck, settled_under=settled_under, only=options.only_job
    )
    result.gathered = gathered
    progress.phase("planning", len(gathered.jobs))
    plan = plan_inputs(gathered)
    progress.advance(len(gathered.jobs))
    progress.phase("checking Xero for invoices already made")
    find_existing(gateway, plan, gathered, everything=stored is None or options.since is not None)
    plan, adopted = adoption.split_adopted(plan, gathered, options.adopt_tolerance)
    result.plan = plan
    report.results.extend(
        _skip_results(plan) + gathered.unchanged + adopted + _hold_results(plan) + _ignored_results(gathered)
    )
    late = reading_window.outside(plan, gathered, normal_start)
    if late:
        report.extra["outside_window"] = late
    if not options.apply:
        report.results.extend(_planned_results(plan))
        return
    if options.approval_required:
        plan, waiting = approval_gate.admit(plan, state)
        result.plan = plan
        report.results.extend(waiting)
    _guard_volume(plan, options)
    _record_adopted(state, adopted, gathered)
    apply_plan(plan, gateway, state, result, options)
    approval_gate.settle(state, report)
    update_drafts(plan, gateway, state, report)  # only jobs re-planned under xero.update_drafts
    _record_holds(state, plan, report, {j.id for j, _ in gathered.ignored})
    settled_jobs.record(state, gathered.jobs, report.results, options.config_fingerprint)
    if options.only_job is not None:  # one job re-read by id says nothing of the others: no mark moves
        report.watermark_after = stored
        return
    report.watermark_after = _advance_mark(state, source.name, stored, gathered, report)
    reading_window.record(state, source, start, normal_start, report.started_at)
    if recheck:
        held_recheck.record(state, source.name, report.started_at, options.config_fingerprint)


def _run_id(at: datetime) -> str:
    return at.strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]


def _skip_results(plan: Plan) -> list[JobResult]:
    return [
        JobResult(
            s.source,
            s.job_id,
            s.job_number,
            Outcome.SKIPPED,
            s.stage,
            reason=s.reason,
            invoice_id=s.invoice_id,
            invoice_number=s.invoice_number,
        )
        for s in plan.skipped
    ]


def _hold_results(plan: Plan) -> list[JobResult]:
    return [
        JobResult(
            h.source, h.job_id, h.job_number, Outcome.HELD, reason=h.reason + (f" (fix: {h.fix})" if h.fix else "")
        )
        for h in plan.held
    ]


def _ignored_results(gathered: Gathered) -> list[JobResult]:
    return [
        JobResult(j.source, j.id, j.number, Outcome.SKIPPED, reason=f"ignored by a bookkeeper: {why}")
        for j, why in gathered.ignored
    ]


def _planned_results(plan: Plan) -> list[JobResult]:
    """Preview: what run would create, reported without an invoice number."""
    return [
        JobResult(
            d.source,
            d.job_id,
            d.job_number,
            Outcome.CREATED,
            d.stage,
            reason="would be created",
            total=d.total,
            contact_name=d.contact.name,
        )
        for d in plan.drafts
    ]


def _guard_volume(plan: Plan, options: RunOptions) -> None:
    if len(plan.drafts) > options.max_invoices and not options.force:
        raise StoppedError(
            f"this run would create {len(plan.drafts)} invoices, more than xero.max_invoices_per_run "
            f"({options.max_invoices}); nothing was sent",
            ["check with `jobsync preview`, then rerun with --force or raise xero.max_invoices_per_run"],
        )


def _record_adopted(state: State, adopted: list[JobResult], gathered: Gathered) -> None:
    for r in adopted:
        ref = next(k for k, v in gathered.existing_invoices.items() if v.invoice_id == r.invoice_id)
        state.confirm(r.source, r.job_id, r.stage, ref, r.invoice_id, r.invoice_number, r.total)
        state.clear_hold(r.source, r.job_id)


def _record_holds(state: State, plan: Plan, report: RunReport, keep: set[str]) -> None:
    """Holds follow this run's outcomes, except the ones a bookkeeper set (`keep`: ignored jobs)."""
    for h in plan.held:
        state.set_hold(h.source, h.job_id, h.job_number, "held", h.reason, h.client_key, card_json(h))
    for r in report.results:
        if r.outcome is Outcome.FAILED:
            state.set_hold(r.source, r.job_id, r.job_number, "failed", r.reason)
        elif r.outcome is Outcome.SKIPPED and r.job_id not in keep:
            state.clear_hold(r.source, r.job_id)


def _advance_mark(
    state: State, source_name: str, stored: datetime | None, gathered: Gathered, report: RunReport
) -> datetime | None:
    changed = {j.id: j.changed_at for j in gathered.jobs}
    failed = [changed[r.job_id] for r in report.results if r.outcome is Outcome.FAILED and r.job_id in changed]
    seen = [j.changed_at for j in gathered.fresh_jobs]
    mark = watermark.next_mark(stored, seen, failed, report.started_at)
    if mark is not None and mark != stored:
        state.set_watermark(source_name, mark)
    return mark


def _merge_calls(*counters: dict[str, int]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for counter in counters:
        for k, v in counter.items():
            merged[k] = merged.get(k, 0) + v
    return merged


def _exit_code(report: RunReport) -> ExitCode:
    if report.count(Outcome.HELD) or report.count(Outcome.FAILED) or report.errors:
        return ExitCode.HELD_OR_FAILED
    return ExitCode.OK
