"""Making approved adjustments in Xero exactly once: a credit note allocated to its invoice, or an extra invoice.

The same discipline as invoices: the row is marked `in_flight` before the request (whose
Idempotency-Key is a hash of its exact body), and a row found in flight is first looked for in Xero by
its Reference, so a crash between the create and its record never makes a second document. A credit
note is then allocated up to the invoice's AmountDue; the allocation is sized from the credit note's
RemainingCredit as Xero shows it now, so one already made (before a crash) is never made twice, and any
remainder is reported for the bookkeeper to refund or keep as credit.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from jobsync.core.adjustments import CREDIT_NOTE, Adjustment
from jobsync.core.errors import JobsyncError
from jobsync.core.follow_up import CANCELLED, FollowUpSummary
from jobsync.runtime import crashpoints
from jobsync.state.store import State
from jobsync.xero import keys, wire
from jobsync.xero.follow_up_client import FollowUpClient


def apply_approved(xero: FollowUpClient, state: State, summary: FollowUpSummary, today: date) -> None:
    for adjustment, status, document_id in state.adjustments(("approved", "in_flight", "created")):
        shown = {"reference": adjustment.reference, "kind": adjustment.kind, "amount": f"{adjustment.amount:.2f}"}
        try:
            document_id = document_id or _create(xero, state, adjustment, status == "in_flight", today)
            if document_id is None:
                continue
            detail = _allocate(xero, state, adjustment, document_id, today)
            summary.adjustments.append({**shown, "state": "made", "detail": detail})
        except JobsyncError as exc:
            summary.problems.append(f"adjustment {adjustment.reference}: {exc.message}")


def _create(xero: FollowUpClient, state: State, adjustment: Adjustment, in_flight: bool, today: date) -> str | None:
    if in_flight:
        found = _already_made(xero, adjustment)
        if found:
            state.set_adjustment(adjustment.reference, "created", document_id=found)
            return found
    invoice = xero.invoice(adjustment.invoice_id)
    body, refusal = _body(adjustment, invoice, today)
    if refusal:
        state.set_adjustment(adjustment.reference, "approved", detail=refusal)
        raise _Refused(refusal)
    key = keys.idempotency_key(xero.tenant_id, wire.encode(body))
    state.set_adjustment(adjustment.reference, "in_flight")
    if adjustment.kind == CREDIT_NOTE:
        result = xero.create_credit_note(body, key)
    else:
        result = xero.create_extra_invoice(body, key)
    crashpoints.reach(crashpoints.AFTER_CREDIT_NOTE)
    if not result.ok or not result.id:
        state.set_adjustment(adjustment.reference, "approved", detail="; ".join(result.errors))
        raise _Refused("Xero refused it: " + "; ".join(result.errors))
    state.set_adjustment(adjustment.reference, "created", document_id=result.id)
    return result.id


def _already_made(xero: FollowUpClient, adjustment: Adjustment) -> str | None:
    if adjustment.kind == CREDIT_NOTE:
        return xero.find_credit_notes_by_reference([adjustment.reference]).get(adjustment.reference)
    found = [r for r in xero.find_invoices_by_reference([adjustment.reference]) if r.status not in CANCELLED]
    return found[0].invoice_id if found else None


def _body(adjustment: Adjustment, invoice: dict[str, Any], today: date) -> tuple[dict[str, Any], str | None]:
    """One tax-inclusive line at the invoice's own account and tax rate; several rates are left to a person."""
    lines = invoice.get("LineItems") or []
    rates = {str(line.get("TaxType")) for line in lines}
    if len(rates) != 1:
        return {}, "the invoice has lines at several tax rates: make this adjustment in Xero by hand"
    first = lines[0]
    line = {
        "Description": adjustment.describe()[:4000],
        "Quantity": Decimal("1"),
        "UnitAmount": adjustment.amount,
        "AccountCode": first.get("AccountCode"),
        "TaxType": first.get("TaxType"),
    }
    body: dict[str, Any] = {
        "Type": "ACCRECCREDIT" if adjustment.kind == CREDIT_NOTE else "ACCREC",
        "Contact": {"ContactID": (invoice.get("Contact") or {}).get("ContactID")},
        "Date": today.isoformat(),
        "Status": "AUTHORISED",
        "Reference": adjustment.reference,
        "LineAmountTypes": "Inclusive",
        "LineItems": [line],
    }
    if adjustment.kind != CREDIT_NOTE:
        due = wire.parse_date(invoice.get("DueDate")) or today
        body["DueDate"] = max(due, today).isoformat()
    return body, None


def _allocate(xero: FollowUpClient, state: State, adjustment: Adjustment, document_id: str, today: date) -> str:
    if adjustment.kind != CREDIT_NOTE:
        state.set_adjustment(adjustment.reference, "allocated")
        return "extra invoice created"
    invoice = xero.invoice(adjustment.invoice_id)
    due = wire.to_decimal(invoice.get("AmountDue")) or Decimal("0")
    remaining = xero.credit_remaining(document_id)  # as Xero shows it now: an allocation made before a crash counts
    amount = max(min(remaining, due), Decimal("0")) if invoice.get("Status") == "AUTHORISED" else Decimal("0")
    if amount > 0:
        result = xero.allocate_credit(document_id, adjustment.invoice_id, amount, today)
        if not result.ok:
            raise _Refused("the allocation was refused: " + "; ".join(result.errors))
    left = remaining - amount
    detail = f"allocated {adjustment.amount - left:.2f} to {adjustment.invoice_number or adjustment.invoice_id}"
    if left > 0:
        detail += f"; {left:.2f} left as credit for the bookkeeper to refund or keep"
    state.set_adjustment(adjustment.reference, "allocated", detail=detail)
    return detail


class _Refused(JobsyncError):
    """An adjustment Xero (or its shape) will not take: recorded, shown, and tried again next run."""
