"""One sync pass: gather what is needed, build the plan, and (for `run`) apply it.

`preview` and `run` both call `prepare()` and therefore see the very same plan;
only `run` goes on to `apply()`. The order inside `apply()` is what makes the
sync exactly-once: a ledger row is marked in flight (with its idempotency key)
before the create is sent, confirmed only when Xero confirms the invoice, and
the watermark moves last.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from jobsync.core import watermark
from jobsync.core.errors import (
    ExitCode,
    JobsyncError,
    RetriableError,
    StoppedError,
    UnconfirmedError,
    UnreachableError,
)
from jobsync.core.models import (
    DecisionKind,
    InvoiceDraft,
    JobResult,
    LedgerEntry,
    LedgerState,
    Outcome,
    Plan,
    RunReport,
)
from jobsync.runtime import crashpoints, stop_request
from jobsync.sources.base import JobSource
from jobsync.state.store import State
from jobsync.sync import adoption, reading_window
from jobsync.sync.drafts_update import update_drafts
from jobsync.sync.gather import Gathered, find_existing, gather
from jobsync.xero.gateway import ElementResult, NewContact, XeroGateway
from jobsync.xero.keys import idempotency_key

BATCH_SIZE = 50  # Xero's practical ceiling per request (notes/xero-api.md §2)


@dataclass
class RunOptions:
    """What the command line decided for this pass."""

    apply: bool  # False for preview
    since: datetime | None = None
    force: bool = False  # overrides the max_invoices_per_run brake
    max_invoices: int = 200
    email_invoices: bool = False
    overlap: timedelta = timedelta(minutes=1440)
    start_from: datetime | None = None
    # How far an invoice found by Reference may differ from the plan and still be this job's.
    adopt_tolerance: Decimal = Decimal("0.01")
    # How often a source with a change time also reads every billable job since start_from.
    deep_reconcile: timedelta = timedelta(hours=24)


@dataclass
class RunResult:
    plan: Plan
    report: RunReport
    gathered: Gathered | None = None
    exit_code: ExitCode = ExitCode.OK
    contact_ids: dict[str, str] = field(default_factory=dict)
    stop_code: ExitCode | None = None  # set when the run stopped part-way (3, 5): its exit code
    in_flight: set[tuple[str, str]] = field(default_factory=set)  # (job id, stage) of the batch being sent


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
    gathered = gather(source, gateway, state, start)
    result.gathered = gathered
    plan = plan_inputs(gathered)
    find_existing(gateway, plan, gathered, everything=stored is None or options.since is not None)
    plan, adopted = adoption.split_adopted(plan, gathered, options.adopt_tolerance)
    result.plan = plan
    report.results.extend(_skip_results(plan) + adopted + _hold_results(plan) + _ignored_results(gathered))
    late = reading_window.outside(plan, gathered, normal_start)
    if late:
        report.extra["outside_window"] = late
    if not options.apply:
        report.results.extend(_planned_results(plan))
        return
    _guard_volume(plan, options)
    _record_adopted(state, adopted, gathered)
    _apply(plan, gateway, state, result, options)
    update_drafts(plan, gateway, state, report)  # only jobs re-planned under xero.update_drafts
    _record_holds(state, plan, report, {j.id for j, _ in gathered.ignored})
    report.watermark_after = _advance_mark(state, source.name, stored, gathered, report)
    reading_window.record(state, source, start, normal_start, report.started_at)


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


def _apply(plan: Plan, gateway: XeroGateway, state: State, result: RunResult, options: RunOptions) -> None:
    drafts = list(plan.drafts)
    try:
        stop_request.check()
        contact_ids = _create_contacts(drafts, gateway, state, result)
        ready = [d for d in drafts if d.contact.client_key in contact_ids]
        for start in range(0, len(ready), BATCH_SIZE):
            stop_request.check()  # between calls: the batch before this one is finished and recorded
            _create_batch(ready[start : start + BATCH_SIZE], contact_ids, gateway, state, result, options)
    except (UnreachableError, StoppedError, RetriableError) as exc:
        _unfinished(drafts, result, exc)
        raise


def _unfinished(drafts: list[InvoiceDraft], result: RunResult, exc: JobsyncError) -> None:
    """Every draft without an outcome gets one that tells a bookkeeper the truth about it.

    Only a create that provably never left is "not sent"; one that may have reached Xero is
    "unconfirmed", because typing it in by hand would make a duplicate.
    """
    done = {(r.job_id, r.stage) for r in result.report.results}
    for d in drafts:
        if (d.job_id, d.stage) in done:
            continue
        if (d.job_id, d.stage) in result.in_flight:
            why = (
                f"unconfirmed: Xero may have created it ({exc.message}); jobsync reconciles it by Reference"
                " on the next run; do not create it by hand"
            )
        else:
            why = f"not sent: {exc.message}; the next run sends it"
        result.report.results.append(_failed(d, why))
    result.in_flight = set()


def _create_contacts(
    drafts: list[InvoiceDraft], gateway: XeroGateway, state: State, result: RunResult
) -> dict[str, str]:
    """ContactID per client key: existing ones, then the new ones created once each."""
    ids = {d.contact.client_key: d.contact.contact_id for d in drafts if d.contact.contact_id}
    for key, cid in ids.items():
        state.map_client(key, cid)
    wanted: dict[str, NewContact] = {}
    for d in drafts:
        c = d.contact
        if c.kind is DecisionKind.NEW and c.client_key not in wanted:
            wanted[c.client_key] = NewContact(name=c.name, contact_number=c.client_key, email=c.email, phone=c.phone)
    new = list(wanted.values())
    outcomes: list[ElementResult] = []
    for start in range(0, len(new), BATCH_SIZE):
        stop_request.check()
        outcomes += gateway.create_contacts(new[start : start + BATCH_SIZE])
        crashpoints.reach(crashpoints.AFTER_CONTACT_BATCH)
    for contact, outcome in zip(new, outcomes, strict=True):
        if outcome.ok and outcome.id:
            ids[contact.contact_number] = outcome.id
            state.map_client(contact.contact_number, outcome.id)
            continue
        why = "; ".join(outcome.errors) or "no ContactID returned"
        for d in drafts:
            if d.contact.client_key == contact.contact_number:
                result.report.results.append(_failed(d, f"Xero refused the new contact {contact.name!r}: {why}"))
    result.contact_ids = ids
    return ids


def _create_batch(
    batch: list[InvoiceDraft],
    contact_ids: dict[str, str],
    gateway: XeroGateway,
    state: State,
    result: RunResult,
    options: RunOptions,
) -> None:
    cids = [contact_ids[d.contact.client_key] for d in batch]
    body = gateway.invoice_body(batch, cids)
    key = idempotency_key(gateway.tenant_id, body)
    state.mark_in_flight(
        LedgerEntry(d.source, d.job_id, d.stage, d.reference, LedgerState.IN_FLIGHT, idempotency_key=key) for d in batch
    )
    crashpoints.reach(crashpoints.BEFORE_INVOICE_BATCH)
    result.in_flight = {(d.job_id, d.stage) for d in batch}
    try:
        outcomes = gateway.create_invoices(batch, cids, key)
    except UnconfirmedError:
        raise  # Xero went away with this batch in flight: `_unfinished` words it as unconfirmed
    except UnreachableError:
        result.in_flight = set()  # refused before anything left: provably not sent
        raise
    except RetriableError as exc:
        # Fate unknown: the rows stay in flight and the next run reconciles them by Reference.
        for d in batch:
            result.report.results.append(_failed(d, f"unconfirmed: {exc.message}"))
        result.in_flight = set()
        return
    result.in_flight = set()
    crashpoints.reach(crashpoints.AFTER_INVOICE_RESPONSE)
    for draft, outcome in zip(batch, outcomes, strict=True):
        if outcome.ok and outcome.id:
            state.confirm(
                draft.source, draft.job_id, draft.stage, draft.reference, outcome.id, outcome.number, outcome.total
            )
            crashpoints.reach(crashpoints.AFTER_INVOICE_CONFIRM)
            state.clear_hold(draft.source, draft.job_id)
            result.report.results.append(_created(draft, outcome.id, outcome.number, outcome.total))
            if options.email_invoices and draft.status == "AUTHORISED":
                _email(gateway, state, draft, outcome.id, result)
        else:
            state.drop_in_flight(draft.source, draft.job_id, draft.stage)
            why = "; ".join(outcome.errors) or "Xero returned no InvoiceID"
            result.report.results.append(_failed(draft, f"Xero refused the invoice: {why}"))
    crashpoints.reach(crashpoints.AFTER_INVOICE_BATCH)


def _email(gateway: XeroGateway, state: State, d: InvoiceDraft, invoice_id: str, result: RunResult) -> None:
    """At most once per invoice: recorded before it is sent, so no rerun or crash sends it twice."""
    if any(a.action == "emailed" and a.detail == invoice_id for a in state.actions(d.source, d.job_id)):
        return
    state.record_action("jobsync", "emailed", d.source, d.job_id, invoice_id)
    try:
        gateway.email_invoice(invoice_id)
    except (RetriableError, UnreachableError) as exc:
        result.report.errors.append(f"invoice {invoice_id} created but not emailed: {exc.message}")
        return
    result.report.extra.setdefault("emailed", []).append(invoice_id)


def _created(d: InvoiceDraft, invoice_id: str, number: str | None, total: object) -> JobResult:
    return JobResult(
        d.source,
        d.job_id,
        d.job_number,
        Outcome.CREATED,
        d.stage,
        invoice_id=invoice_id,
        invoice_number=number,
        total=total if total is not None else d.total,  # type: ignore[arg-type]
        contact_name=d.contact.name,
    )


def _failed(d: InvoiceDraft, reason: str) -> JobResult:
    return JobResult(
        d.source,
        d.job_id,
        d.job_number,
        Outcome.FAILED,
        d.stage,
        reason=reason,
        total=d.total,
        contact_name=d.contact.name,
    )


def _record_holds(state: State, plan: Plan, report: RunReport, keep: set[str]) -> None:
    """Holds follow this run's outcomes, except the ones a bookkeeper set (`keep`: ignored jobs)."""
    for h in plan.held:
        state.set_hold(h.source, h.job_id, h.job_number, "held", h.reason, h.client_key)
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
