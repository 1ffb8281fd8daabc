"""`xero.update_drafts`: bring a still-DRAFT invoice in line with a job edited after it was invoiced.

The planner has already re-planned such a job's last invoice (Skip.update). Here, in a
`run` only, each one's status is read from Xero by Reference: a DRAFT is updated in place
(POST /Invoices/{InvoiceID}) and its new total recorded in the ledger, so the next run
sees no change; anything else (AUTHORISED, PAID, VOIDED) is never touched. The outcome is
added to the job's line in the run report.
"""

from __future__ import annotations

from dataclasses import replace

from jobsync.core.errors import RetriableError, UnreachableError
from jobsync.core.models import Outcome, Plan, RunReport, Skip
from jobsync.state.store import State
from jobsync.xero.gateway import XeroGateway, XeroInvoiceRef


def update_drafts(plan: Plan, gateway: XeroGateway, state: State, report: RunReport) -> None:
    wanted = [s for s in plan.skipped if s.update is not None]
    if not wanted:
        return
    try:
        found = {r.invoice_id: r for r in gateway.find_invoices_by_reference(sorted({s.reference for s in wanted}))}
    except (RetriableError, UnreachableError) as exc:
        for s in wanted:
            _note(report, s, f"not updated ({exc.message}); tried again next run")
        return
    for s in wanted:
        _note(report, s, _update_one(s, found.get(s.invoice_id or ""), gateway, state))


def _update_one(s: Skip, inv: XeroInvoiceRef | None, gateway: XeroGateway, state: State) -> str:
    assert s.update is not None
    if inv is None:
        return "its invoice was not found in Xero by Reference: not updated"
    if inv.status != "DRAFT":
        return f"{inv.invoice_number or inv.invoice_id} is {inv.status}: not touched"
    contact_id = inv.contact_id or s.update.contact.contact_id or ""
    try:
        outcome = gateway.update_invoice(inv.invoice_id, s.update, contact_id)
    except (RetriableError, UnreachableError) as exc:
        return f"not updated ({exc.message}); tried again next run"
    if not outcome.ok:
        return "Xero refused the update: " + ("; ".join(outcome.errors) or "no reason given")
    total = outcome.total if outcome.total is not None else s.update.total
    state.confirm(s.source, s.job_id, s.stage, s.reference, inv.invoice_id, inv.invoice_number, total)
    return f"draft {inv.invoice_number or inv.invoice_id} updated to match (total {total})"


def _note(report: RunReport, s: Skip, note: str) -> None:
    for i, r in enumerate(report.results):
        if r.outcome is Outcome.SKIPPED and (r.source, r.job_id, r.stage) == (s.source, s.job_id, s.stage):
            report.results[i] = replace(r, reason=f"{r.reason}; {note}")
