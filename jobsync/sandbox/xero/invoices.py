"""Invoice writes as Xero validates them: contact resolution, numbering, status rules, totals."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from jobsync.sandbox.xero import contacts as xero_contacts
from jobsync.sandbox.xero.encoding import day_date, ms_date, parse_date, round_dp
from jobsync.sandbox.xero.lines import LINE_AMOUNT_TYPES, compute_line, totals
from jobsync.sandbox.xero.store import OrgState, snapshot

NEW_STATUSES = ("DRAFT", "SUBMITTED", "AUTHORISED")
TRANSITIONS = {
    "DRAFT": ("DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"),
    "SUBMITTED": ("DRAFT", "SUBMITTED", "AUTHORISED", "DELETED"),
    "AUTHORISED": ("AUTHORISED", "VOIDED"),
    "PAID": ("PAID",),
    "DELETED": (),
    "VOIDED": (),
}
ORG_UTC_OFFSET = timedelta(hours=10)
# Kept on invoices written through the API, never shown: what `createdByMyApp=true` filters on.
BY_APP = "_CreatedByApp"  # the demo org is in AUSEASTERNSTANDARDTIME
COPIED = (
    "Reference",
    "Url",
    "BrandingThemeID",
    "SentToContact",
    "ExpectedPaymentDate",
    "PlannedPaymentDate",
    "InvoiceAddresses",
)


class _Context:
    """One element being written: the stored invoice so far and the problems found."""

    def __init__(self, state: OrgState, now: datetime, unitdp: int) -> None:
        self.state, self.now, self.unitdp = state, now, unitdp
        self.problems: list[str] = []
        self.new_contact: dict[str, Any] | None = None


def _resolve_contact(ctx: _Context, given: Any) -> dict[str, Any] | None:
    """By ContactID; else by ContactNumber or exact active name; else a new contact by Name."""
    if not isinstance(given, dict) or not any(given.get(k) for k in ("ContactID", "Name", "ContactNumber")):
        ctx.problems.append("A Contact must be specified for this type of transaction")
        return None
    state = ctx.state
    if given.get("ContactID"):
        contact = state.contacts.get(str(given["ContactID"]).lower())
        if contact is None:
            ctx.problems.append(f"The contact with ContactID {given['ContactID']} could not be found.")
        return contact
    if given.get("ContactNumber"):
        wanted = str(given["ContactNumber"]).casefold()
        for contact in state.contacts.values():
            if str(contact.get("ContactNumber", "")).casefold() == wanted:
                return contact
    if given.get("Name"):
        found = state.active_contact_named(str(given["Name"]))
        if found is not None:
            return found
        ctx.new_contact = {k: v for k, v in given.items() if k in xero_contacts.WRITABLE}
        return {"ContactID": "", "Name": given["Name"], "ContactStatus": "ACTIVE"}
    ctx.problems.append("A Contact must be specified for this type of transaction")
    return None


def _dates(ctx: _Context, element: dict[str, Any], status: str, stored: dict[str, Any]) -> None:
    for key in ("Date", "DueDate"):
        if element.get(key) is None:
            continue
        parsed = parse_date(element[key])
        if parsed is None:
            ctx.problems.append(f"{key} '{element[key]}' is not a valid date.")
        else:
            stored[key] = day_date((parsed + timedelta(0)).date())
    if "Date" not in stored:
        stored["Date"] = day_date((ctx.now + ORG_UTC_OFFSET).date())
    if status in ("SUBMITTED", "AUTHORISED") and "DueDate" not in stored:
        ctx.problems.append("Due Date is required for approved invoices.")


def _header(ctx: _Context, element: dict[str, Any], stored: dict[str, Any], old_status: str | None) -> None:
    if element.get("Type", stored.get("Type")) != "ACCREC":
        ctx.problems.append("Invoice Type must be ACCREC in this sandbox (sales invoices).")
    status = str(element.get("Status") or stored.get("Status") or "DRAFT")
    allowed = TRANSITIONS.get(old_status, ()) if old_status else NEW_STATUSES
    if status not in allowed:
        ctx.problems.append(
            "Invoice not of valid status for modification" if old_status else f"Invalid status '{status}'."
        )
    kind = str(element.get("LineAmountTypes") or stored.get("LineAmountTypes") or "Exclusive")
    if kind not in LINE_AMOUNT_TYPES:
        ctx.problems.append(f"LineAmountTypes '{kind}' is not valid.")
        kind = "Exclusive"
    currency = element.get("CurrencyCode") or ctx.state.organisation["BaseCurrency"]
    if currency != ctx.state.organisation["BaseCurrency"] and currency not in ctx.state.currencies:
        ctx.problems.append(f"Organisation is not subscribed to currency {currency}")
    stored.update({"Type": "ACCREC", "Status": status, "LineAmountTypes": kind, "CurrencyCode": currency})
    stored.update({k: element[k] for k in COPIED if element.get(k) is not None})
    _dates(ctx, element, status, stored)


def _number(ctx: _Context, element: dict[str, Any], stored: dict[str, Any]) -> None:
    number = element.get("InvoiceNumber")
    if number:
        other = ctx.state.invoice_numbered(str(number))
        if other is not None and other["InvoiceID"] != stored.get("InvoiceID"):
            ctx.problems.append("Invoice # must be unique.")
        stored["InvoiceNumber"] = str(number)


def _lines(ctx: _Context, element: dict[str, Any], stored: dict[str, Any]) -> None:
    given = element.get("LineItems")
    unitdp = ctx.unitdp
    if given is None:
        # Keep the stored lines; they were rounded once already, so recompute at full precision.
        given, unitdp = stored.get("LineItems", []), 4
    if not isinstance(given, list):
        ctx.problems.append("LineItems must be a list.")
        given = []
    required = stored["Status"] != "DRAFT"
    if required and not given:
        ctx.problems.append("An approved invoice must have at least one line item.")
    kind = stored["LineAmountTypes"]
    lines = [compute_line(ctx.state, line, kind, unitdp, required, ctx.problems) for line in given]
    stored["LineItems"] = [line for line in lines if line]
    stored.update(totals(stored["LineItems"], kind))


def _finish(ctx: _Context, stored: dict[str, Any], contact: dict[str, Any]) -> dict[str, Any]:
    """Commit: create the by-name contact, number the invoice, store it."""
    state = ctx.state
    if ctx.new_contact is not None:
        contact, _ = xero_contacts.create(state, ctx.new_contact, ctx.now)
    contact["IsCustomer"] = True
    stored["Contact"] = {"ContactID": contact["ContactID"]}
    if not stored.get("InvoiceNumber"):
        while state.invoice_numbered(f"INV-{state.next_invoice_number:04d}"):
            state.next_invoice_number += 1
        stored["InvoiceNumber"] = f"INV-{state.next_invoice_number:04d}"
        state.next_invoice_number += 1
    paid = stored.get("AmountPaid", Decimal("0.00"))
    credited = stored.get("AmountCredited", Decimal("0.00"))
    stored.update({"AmountPaid": paid, "AmountCredited": credited, "CurrencyRate": Decimal("1.0")})
    cancelled = stored["Status"] in ("DELETED", "VOIDED")
    stored["AmountDue"] = Decimal("0.00") if cancelled else stored["Total"] - paid - credited
    stored.setdefault(BY_APP, True)
    stored.setdefault("HasAttachments", False)
    stored.update({"IsDiscounted": stored["TotalDiscount"] > 0, "HasErrors": False})
    stored["UpdatedDateUTC"] = ms_date(ctx.now)
    state.invoices[stored["InvoiceID"]] = stored
    return stored


def write(
    state: OrgState, element: Any, now: datetime, unitdp: int, upsert: bool, target_id: str | None = None
) -> tuple[dict[str, Any], list[str]]:
    """PUT creates; POST updates by InvoiceID/InvoiceNumber or creates. Returns (invoice, problems)."""
    if not isinstance(element, dict):
        return {}, ["An invoice must be a JSON object."]
    ctx = _Context(state, now, unitdp)
    existing = _existing(state, element, target_id)
    if existing is None and (target_id or element.get("InvoiceID")):
        return element, [f"Invoice {target_id or element.get('InvoiceID')} could not be found."]
    if existing is not None and not upsert:
        return element, ["This invoice already exists; use POST to update it."]
    stored = snapshot(existing) if existing else {"InvoiceID": str(uuid.uuid4())}
    _header(ctx, element, stored, existing["Status"] if existing else None)
    if existing and stored["Status"] == "VOIDED" and (existing.get("AmountPaid") or existing.get("AmountCredited")):
        ctx.problems.append("This document cannot be edited as it has a payment or credit note allocated to it.")
    contact = _resolve_contact(ctx, element.get("Contact") or (existing or {}).get("Contact"))
    if (
        contact is not None
        and contact.get("ContactStatus") == "ARCHIVED"
        and (existing is None or contact["ContactID"] != existing["Contact"]["ContactID"])
    ):
        name = contact.get("Name")
        ctx.problems.append(f"The contact {name} is archived and cannot be used on transactions.")
    _number(ctx, element, stored)
    _lines(ctx, element, stored)
    if ctx.problems or contact is None:
        return element, ctx.problems
    return _finish(ctx, stored, contact), []


def _existing(state: OrgState, element: dict[str, Any], target_id: str | None) -> dict[str, Any] | None:
    key = target_id or element.get("InvoiceID")
    if key:
        return state.invoices.get(str(key).lower()) or state.invoice_numbered(str(key))
    if element.get("InvoiceNumber"):
        return state.invoice_numbered(str(element["InvoiceNumber"]))
    return None


def render(state: OrgState, invoice: dict[str, Any], unitdp: int, with_lines: bool) -> dict[str, Any]:
    """The invoice as a GET answers it: contact summary embedded, unit prices at the asked precision."""
    out: dict[str, Any] = snapshot(invoice)
    out.pop(BY_APP, None)
    contact = state.contacts.get(invoice["Contact"]["ContactID"])
    out["Contact"] = xero_contacts.summary(contact) if contact else invoice["Contact"]
    if not with_lines:
        out.pop("LineItems", None)
        return out
    for line in out.get("LineItems", []):
        line["UnitAmount"] = round_dp(line["UnitAmount"], 4 if unitdp == 4 else 2)
    return out
