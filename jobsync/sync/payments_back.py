"""The pass back's first half: what changed in Xero on jobsync's invoices, and payments to the job.

One read of changed invoices (`If-Modified-Since` the Xero mark, `createdByMyApp=true`) finds paid,
voided and deleted invoices; only when one of ours changed is a second read made, of changed payments.
Each payment then goes to the job system exactly once:

1. its row is marked `in_flight` before the job system is written;
2. the write names the record by the PaymentID (a uuid derived from it, or a marker in a note);
3. the row is marked `written`.

A crash between 2 and 3 leaves the row in flight and the Xero mark unmoved, so the next pass reads the
payment again, asks the job system whether it is already there, and records it without writing it
twice. The mark moves last, and only when every payment was settled: a job system that is down costs
a retry next pass, never a payment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from jobsync.core.errors import JobsyncError
from jobsync.core.follow_up import CANCELLED, FollowUpSummary, InvoiceState, PaymentForJob, XeroPayment, void_message
from jobsync.core.models import LedgerEntry
from jobsync.runtime import crashpoints
from jobsync.sources.write_back import JobWriteBack
from jobsync.state.follow_up_tables import PAYMENT_DONE, REVERSAL_DONE
from jobsync.state.store import State
from jobsync.xero.follow_up_client import FollowUpClient

MARK_PREFIX = "xero-changes:"


@dataclass(frozen=True)
class Changes:
    invoices: list[InvoiceState]
    ours: dict[str, LedgerEntry]  # InvoiceID (lower case) -> the ledger row that made it
    newest: datetime | None


def mark_key(tenant_id: str) -> str:
    return MARK_PREFIX + tenant_id


def read_changes(xero: FollowUpClient, state: State, since: datetime | None) -> Changes:
    invoices = xero.changed_invoices(since)
    ours = state.ledger_by_invoice(i.invoice_id for i in invoices)
    stamps = [i.updated_at for i in invoices if i.updated_at is not None]
    return Changes(invoices, ours, max(stamps) if stamps else None)


def note_invoices(changes: Changes, state: State, summary: FollowUpSummary) -> None:
    """Record each of our invoices' state; a newly voided or deleted one is flagged, a newly paid one noted."""
    for invoice in changes.invoices:
        entry = changes.ours.get(invoice.invoice_id.lower())
        if entry is None:
            continue
        summary.invoices_changed += 1
        before = state.record_invoice_state(entry, invoice)
        seen = {"invoice": invoice.number, "reference": entry.reference, "job_id": entry.job_id}
        if invoice.status in CANCELLED and before not in CANCELLED:
            on = invoice.updated_at.date() if invoice.updated_at else None
            message = void_message(invoice.number, entry.reference, invoice.status, on)
            summary.voids.append({**seen, "status": invoice.status, "message": message})
        elif invoice.status == "PAID" and before != "PAID":
            paid_on = invoice.fully_paid_on.isoformat() if invoice.fully_paid_on else None
            summary.paid_in_full.append({**seen, "paid_on": paid_on, "amount_paid": str(invoice.amount_paid)})


def send_payments(
    payments: list[XeroPayment],
    changes: Changes,
    state: State,
    back: JobWriteBack,
    summary: FollowUpSummary,
) -> bool:
    """Write each payment (or its deletion) to the job once; False when any is left for the next pass."""
    settled = True
    # A payment may land on an invoice the invoices read did not show (paid between the two reads).
    unseen = {p.invoice_id for p in payments} - changes.ours.keys()
    ours = {**changes.ours, **state.ledger_by_invoice(unseen)} if unseen else changes.ours
    numbers = {i.invoice_id.lower(): i.number for i in changes.invoices}
    for payment in payments:
        entry = ours.get(payment.invoice_id)
        if entry is None:
            continue  # a payment on an invoice jobsync did not make
        number = numbers.get(payment.invoice_id) or entry.invoice_number
        item = PaymentForJob(payment, entry.source, entry.job_id, entry.reference, number)
        try:
            _settle(item, state, back, summary)
        except JobsyncError as exc:
            settled = False
            summary.problems.append(f"payment {payment.payment_id} for {entry.reference}: {exc.message}")
    return settled


def _settle(item: PaymentForJob, state: State, back: JobWriteBack, summary: FollowUpSummary) -> None:
    row = state.payment_row(item.payment.payment_id)
    shown = _shown(item)
    if not item.payment.deleted:
        if row is not None and row.state in PAYMENT_DONE + REVERSAL_DONE:
            return
        if not back.writes_payments:
            state.mark_payment(item, "reported")
            summary.payments_reported.append(shown)
            return
        _write_once(item, state, back, back.write_payment, "in_flight", "written", row is not None)
        summary.payments_written.append(shown)
        return
    if row is None or row.state in REVERSAL_DONE:
        return  # never written (made and deleted between passes), or already undone
    if row.state == "reported" or not back.can_reverse:
        state.mark_payment(item, "reversal_reported")
        summary.reversals_to_do_by_hand.append({**shown, "platform": back.name})
        return
    _write_once(item, state, back, back.reverse_payment, "reversing", "reversed", False)
    summary.payments_reversed.append(shown)


def _write_once(
    item: PaymentForJob,
    state: State,
    back: JobWriteBack,
    write: Callable[[PaymentForJob], None],
    before: str,
    after: str,
    maybe_written: bool,
) -> None:
    """Mark, write, mark: a row found in flight is asked about first, so it is never written twice."""
    if maybe_written and before == "in_flight" and back.payment_present(item):
        state.mark_payment(item, after)
        return
    state.mark_payment(item, before)
    write(item)
    crashpoints.reach(crashpoints.AFTER_PAYMENT_WRITE)
    state.mark_payment(item, after)


def _shown(item: PaymentForJob) -> dict[str, str]:
    """What the report shows: the payment's fields, under the names the report's tables read."""
    values = item.values()
    return {**values, "reference": values["job_number"], "invoice": values["invoice_number"]}
