"""The pass back, as a use case: after a run's invoices exist, bring Xero's side back to the job.

It runs inside `jobsync run` (under the run lock) and as `jobsync follow-up` on its own. Payments,
voids and deletions are read at most every `follow_up.payments_poll_minutes`; documents and links for
invoices made by this run go out at once. A quiet run between polls costs no Xero call.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from jobsync.app import org_facts
from jobsync.app.wiring import build_gateway
from jobsync.app.write_back_wiring import build_write_back
from jobsync.config.settings import Settings
from jobsync.core import adjustments
from jobsync.core.adjustments import Adjustment
from jobsync.core.deep_links import invoice_link
from jobsync.core.errors import JobsyncError
from jobsync.core.follow_up import FollowUpSummary
from jobsync.core.models import InvoiceDraft, Job, Outcome, Skip
from jobsync.output import job_sheet
from jobsync.sources.write_back import JobWriteBack
from jobsync.state.store import State
from jobsync.sync import adjust, documents, payments_back
from jobsync.sync.run_values import RunResult
from jobsync.xero.follow_up_client import FollowUpClient

log = logging.getLogger("jobsync.app.follow_up")
LAST_PASS_KEY = "follow_up:last_pass"
DOCUMENTS_FROM_KEY = "follow_up:documents_from"
SHEET_KEY = "job_sheet:"


def now_pass(
    settings: Settings, wait: float, gateway_for: Callable[[], FollowUpClient] | None = None
) -> FollowUpSummary:
    """`jobsync follow-up`: the pass back at once, whatever payments_poll_minutes says (under the run lock).
    `gateway_for` makes the Xero client (a practice's worker paces it by the shared limits)."""
    with State.open(settings.state.location) as state, state.lock(wait):
        gateway = gateway_for() if gateway_for is not None else build_gateway(settings)
        return follow_up(settings, state, gateway, lambda: datetime.now(UTC), force=True)


def after_run(
    settings: Settings,
    state: State,
    gateway: FollowUpClient,
    result: RunResult,
    now: Callable[[], datetime],
    back: JobWriteBack | None = None,
) -> FollowUpSummary:
    """The pass back at the end of a run: job sheets for its new invoices, then `follow_up`."""
    if not settings.follow_up.enabled:
        return FollowUpSummary(skipped_reason="follow_up.enabled is false")
    made = keep_job_sheets(state, result) if settings.follow_up.attach_job_sheet else 0
    keep_adjustments(settings, state, result.plan.skipped)
    return follow_up(settings, state, gateway, now, back=back, documents_now=made > 0, since=result.report.started_at)


def proposed_adjustments(state: State, skipped: Sequence[Skip]) -> list[Adjustment]:
    """What a run would plan for jobs changed after their invoice was approved (preview shows these)."""
    changed = [s for s in skipped if s.changed_total is not None and s.invoice_id]
    if not changed:
        return []
    ids = [str(s.invoice_id) for s in changed]
    statuses = {i.lower(): known[0] for i in ids if (known := state.invoice_status(i))}
    return adjustments.propose(changed, statuses, state.adjustments_made(ids))


def keep_adjustments(settings: Settings, state: State, skipped: Sequence[Skip]) -> None:
    """Record them: held for approval (`changes.authorised: hold`), or approved at once (`adjust`)."""
    start = "approved" if settings.changes.authorised == "adjust" else "held"
    for adjustment in proposed_adjustments(state, skipped):
        state.hold_adjustment(adjustment, start)


def keep_job_sheets(state: State, result: RunResult) -> int:
    """Render each new invoice's job sheet now, while its job is in hand; kept until it is attached."""
    jobs = {(j.source, j.id): j for j in (result.gathered.jobs if result.gathered else [])}
    drafts = {(d.source, d.job_id, d.stage): d for d in result.plan.drafts}
    made = 0
    for r in result.report.results:
        job, draft = jobs.get((r.source, r.job_id)), drafts.get((r.source, r.job_id, r.stage))
        if r.outcome is not Outcome.CREATED or not r.invoice_id or job is None or draft is None:
            continue
        state.cache_put(SHEET_KEY + r.invoice_id.lower(), _sheet_text(job, draft, r.invoice_number))
        made += 1
    return made


def _sheet_text(job: Job, draft: InvoiceDraft, number: str | None) -> str:
    pdf = job_sheet.render(job, draft, number)
    return job_sheet.file_name(draft) + "\n" + base64.b64encode(pdf).decode("ascii")


def follow_up(
    settings: Settings,
    state: State,
    gateway: FollowUpClient,
    now: Callable[[], datetime],
    *,
    back: JobWriteBack | None = None,
    force: bool = False,
    documents_now: bool = False,
    since: datetime | None = None,
) -> FollowUpSummary:
    """One pass back; every failure is a recorded problem, retried next pass, never a traceback."""
    summary = FollowUpSummary()
    source = settings.source.name
    before = dict(gateway.calls)
    try:
        back = back or build_write_back(settings)
        due = force or _due(state, settings, now())
        if not due and not documents_now:
            summary.skipped_reason = "payments are read at most every follow_up.payments_poll_minutes"
            return summary
        if state.first_confirmed_at(source) is None:
            summary.skipped_reason = "no invoice made yet"
            return summary
        summary.ran = True
        if due:
            _read_back(gateway, state, back, summary, source)
            state.cache_put(LAST_PASS_KEY, now().isoformat())
        org_today = now().astimezone(ZoneInfo(org_facts.display_zone(settings, state))).date()
        adjust.apply_approved(gateway, state, summary, org_today)
        summary.adjustments += [_held(a) for a, _, _ in state.adjustments(("held",))]
        _documents(settings, gateway, state, back, summary, since or now())
    except JobsyncError as exc:
        summary.problems.append(exc.message)
    summary.calls = {k: v - before.get(k, 0) for k, v in gateway.calls.items() if v - before.get(k, 0)}
    if back is not None:
        summary.calls.update(back.calls)
    log.info(
        "pass back: %d payments written, %d voids, %d problems",
        len(summary.payments_written),
        len(summary.voids),
        len(summary.problems),
    )
    return summary


def _held(adjustment: Adjustment) -> dict[str, str]:
    return {
        "reference": adjustment.reference,
        "kind": adjustment.kind,
        "amount": f"{adjustment.amount:.2f}",
        "state": "held for approval: jobsync jobs approve " + adjustment.job_number,
        "detail": adjustment.describe(),
    }


def _due(state: State, settings: Settings, at: datetime) -> bool:
    last = state.cache_get(LAST_PASS_KEY)
    if not last:
        return True
    return at - datetime.fromisoformat(last) >= timedelta(minutes=settings.follow_up.payments_poll_minutes)


def _read_back(
    gateway: FollowUpClient, state: State, back: JobWriteBack, summary: FollowUpSummary, source: str
) -> None:
    key = payments_back.mark_key(gateway.tenant_id)
    # The first pass reads from the first invoice jobsync made: older payments are not its business.
    since = state.get_watermark(key) or state.first_confirmed_at(source)
    changes = payments_back.read_changes(gateway, state, since)
    payments_back.note_invoices(changes, state, summary)
    payments = gateway.changed_payments(since) if changes.ours else []
    settled = payments_back.send_payments(payments, changes, state, back, summary)
    stamps = [s for s in [changes.newest, *(p.updated_at for p in payments)] if s is not None]
    if settled and stamps:
        state.set_watermark(key, max(stamps))  # last: a crash before here rereads, and the ledger decides


def _documents(
    settings: Settings,
    gateway: FollowUpClient,
    state: State,
    back: JobWriteBack,
    summary: FollowUpSummary,
    started: datetime,
) -> None:
    f = settings.follow_up
    start_text = state.cache_get(DOCUMENTS_FROM_KEY)
    if not start_text:
        # Documents go with invoices made from the first pass on, never onto an upgrade's old invoices.
        start_text = (started - timedelta(seconds=1)).isoformat()
        state.cache_put(DOCUMENTS_FROM_KEY, start_text)
    made = state.confirmed_since(datetime.fromisoformat(start_text), settings.source.name)
    entries = documents.pending(state, settings.source.name, made, f.documents_per_run)
    if not entries:
        return
    code = org_facts.short_code(state)
    options = documents.DocumentOptions(
        attach_job_sheet=f.attach_job_sheet,
        attach_job_files=f.attach_job_files,
        include_online=f.include_online,
        history_note=f.history_note,
        job_note=f.job_note,
    )
    ctx = documents.DocumentContext(
        xero=gateway,
        state=state,
        back=back,
        options=options,
        summary=summary,
        sheet_for=lambda invoice_id: _kept_sheet(state, invoice_id),
        link_for=lambda invoice_id: invoice_link(code, invoice_id),
    )
    documents.send_documents(ctx, entries)
    for entry in entries:
        if entry.invoice_id and state.link_sent(entry.invoice_id, documents.DONE):
            state.cache_put(SHEET_KEY + entry.invoice_id.lower(), "")  # attached: no need to keep it


def _kept_sheet(state: State, invoice_id: str) -> tuple[str, bytes] | None:
    text = state.cache_get(SHEET_KEY + invoice_id.lower())
    if not text or "\n" not in text:
        return None
    name, _, data = text.partition("\n")
    return name, base64.b64decode(data)
