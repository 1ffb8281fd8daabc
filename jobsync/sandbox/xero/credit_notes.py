"""Sales credit notes (ACCRECCREDIT) and their allocation to invoices, as Xero validates them.

An allocation may not exceed the credit note's RemainingCredit nor the invoice's AmountDue; it moves
the invoice's AmountCredited and AmountDue (an invoice credited to zero is PAID) and the credit
note's RemainingCredit (a credit note used up is PAID too).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from jobsync.sandbox.xero.encoding import day_date, ms_date, parse_date, round2, to_decimal
from jobsync.sandbox.xero.lines import LINE_AMOUNT_TYPES, compute_line, totals
from jobsync.sandbox.xero.payments import settle
from jobsync.sandbox.xero.store import OrgState, snapshot

ZERO = Decimal("0.00")
ORG_UTC_OFFSET = timedelta(hours=10)


def credit_notes(state: OrgState) -> dict[str, dict[str, Any]]:
    return state.extra.setdefault("credit_notes", {})  # type: ignore[no-any-return]


def find(state: OrgState, key: str) -> dict[str, Any] | None:
    notes = credit_notes(state)
    wanted = key.lower()
    return notes.get(wanted) or next(
        (n for n in notes.values() if str(n.get("CreditNoteNumber", "")).lower() == wanted), None
    )


def write(state: OrgState, element: Any, now: datetime) -> tuple[dict[str, Any], list[str]]:
    """PUT /CreditNotes: one element; returns (credit note, problems)."""
    if not isinstance(element, dict):
        return {}, ["A credit note must be a JSON object."]
    problems: list[str] = []
    if element.get("Type") != "ACCRECCREDIT":
        problems.append("Credit note Type must be ACCRECCREDIT in this sandbox (sales credit notes).")
    contact_id = str((element.get("Contact") or {}).get("ContactID") or "").lower()
    if contact_id not in state.contacts:
        problems.append("A Contact must be specified for this type of transaction")
    status = str(element.get("Status") or "DRAFT")
    if status not in ("DRAFT", "SUBMITTED", "AUTHORISED"):
        problems.append(f"Invalid status '{status}'.")
    kind = str(element.get("LineAmountTypes") or "Exclusive")
    if kind not in LINE_AMOUNT_TYPES:
        problems.append(f"LineAmountTypes '{kind}' is not valid.")
        kind = "Exclusive"
    given_lines = element.get("LineItems")
    given: list[Any] = given_lines if isinstance(given_lines, list) else []
    if not given:
        problems.append("A credit note must have at least one line item.")
    lines = [compute_line(state, line, kind, 2, True, problems) for line in given]
    if problems:
        return element, problems
    day = parse_date(element.get("Date"))
    note: dict[str, Any] = {
        "CreditNoteID": str(uuid.uuid4()),
        "CreditNoteNumber": _next_number(state),
        "Type": "ACCRECCREDIT",
        "Status": status,
        "Reference": str(element.get("Reference") or ""),
        "Contact": {"ContactID": contact_id},
        "Date": day_date(day.date() if day else (now + ORG_UTC_OFFSET).date()),
        "LineAmountTypes": kind,
        "LineItems": lines,
        "CurrencyCode": state.organisation["BaseCurrency"],
        "CurrencyRate": Decimal("1.0"),
        "Allocations": [],
        "UpdatedDateUTC": ms_date(now),
    }
    note.update(totals(note["LineItems"], kind))
    note.pop("TotalDiscount", None)
    note["RemainingCredit"] = note["Total"]
    credit_notes(state)[note["CreditNoteID"]] = note
    return note, []


def _next_number(state: OrgState) -> str:
    taken = {n.get("CreditNoteNumber") for n in credit_notes(state).values()}
    number = len(taken) + 1
    while f"CN-{number:04d}" in taken:
        number += 1
    return f"CN-{number:04d}"


def allocate(state: OrgState, note: dict[str, Any], element: Any, now: datetime) -> tuple[dict[str, Any], list[str]]:
    """PUT /CreditNotes/{id}/Allocations: one allocation element."""
    if not isinstance(element, dict):
        return {}, ["An allocation must be a JSON object."]
    problems: list[str] = []
    invoice_id = str((element.get("Invoice") or {}).get("InvoiceID") or "").lower()
    invoice = state.invoices.get(invoice_id)
    amount = to_decimal(element.get("Amount"))
    if note["Status"] != "AUTHORISED":
        problems.append("Only authorised credit notes can be allocated")
    if invoice is None:
        problems.append("Invoice could not be found")
    elif invoice["Status"] != "AUTHORISED":
        problems.append("Credit notes can only be allocated to authorised invoices")
    if amount is None or amount <= 0:
        problems.append("Allocation amount must be greater than zero")
    elif round2(amount) > note["RemainingCredit"]:
        problems.append("The amount being allocated exceeds the remaining credit on this credit note")
    elif invoice is not None and round2(amount) > invoice["AmountDue"]:
        problems.append("The amount being allocated exceeds the amount outstanding on this invoice")
    if problems or invoice is None or amount is None:
        return element, problems
    amount = round2(amount)
    day = parse_date(element.get("Date"))
    allocation: dict[str, Any] = {
        "AllocationID": str(uuid.uuid4()),
        "Amount": amount,
        "Date": day_date(day.date() if day else (now + ORG_UTC_OFFSET).date()),
        "Invoice": {"InvoiceID": invoice["InvoiceID"]},
        "CreditNote": {"CreditNoteID": note["CreditNoteID"]},
        "IsDeleted": False,
    }
    note["Allocations"].append(snapshot(allocation))
    note["RemainingCredit"] -= amount
    if note["RemainingCredit"] <= 0:
        note["Status"] = "PAID"
    note["UpdatedDateUTC"] = ms_date(now)
    invoice["AmountCredited"] = invoice.get("AmountCredited", ZERO) + amount
    invoice["AmountDue"] -= amount
    invoice.setdefault("CreditNotes", []).append(
        {"CreditNoteID": note["CreditNoteID"], "CreditNoteNumber": note["CreditNoteNumber"], "AppliedAmount": amount}
    )
    settle(invoice, now, allocation["Date"])
    return allocation, []
