"""Payments on sales invoices as Xero applies them: amount checks, PAID status, deletion that reverses.

A payment moves its invoice's AmountPaid and AmountDue and stamps the invoice's UpdatedDateUTC, so an
`If-Modified-Since` read of /Invoices sees every payment and every deletion. An invoice whose
AmountDue reaches zero becomes PAID with a FullyPaidOnDate; deleting a payment takes it back to
AUTHORISED. Payments themselves are listed (also after deletion, with Status DELETED) by /Payments.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from jobsync.sandbox.xero.encoding import day_date, ms_date, parse_date, round2, to_decimal
from jobsync.sandbox.xero.store import OrgState, snapshot

ZERO = Decimal("0.00")
PAYABLE = ("AUTHORISED",)  # Xero takes payments on approved invoices only


def payments(state: OrgState) -> dict[str, dict[str, Any]]:
    return state.extra.setdefault("payments", {})  # type: ignore[no-any-return]


def _invoice_for(state: OrgState, given: Any) -> dict[str, Any] | None:
    if not isinstance(given, dict):
        return None
    key = str(given.get("InvoiceID") or given.get("InvoiceNumber") or "")
    return state.invoices.get(key.lower()) or (state.invoice_numbered(key) if key else None)


def _account_for(state: OrgState, given: Any) -> dict[str, Any] | None:
    if not isinstance(given, dict):
        return None
    if given.get("AccountID"):
        return next((a for a in state.accounts if a["AccountID"] == str(given["AccountID"]).lower()), None)
    return state.account(str(given.get("Code") or ""))


def write(state: OrgState, element: Any, now: datetime) -> tuple[dict[str, Any], list[str]]:
    """PUT /Payments: one element; returns (payment, problems)."""
    if not isinstance(element, dict):
        return {}, ["A payment must be a JSON object."]
    problems: list[str] = []
    invoice = _invoice_for(state, element.get("Invoice"))
    account = _account_for(state, element.get("Account"))
    amount = to_decimal(element.get("Amount"))
    day = parse_date(element.get("Date"))
    if invoice is None:
        problems.append("Invoice could not be found")
    elif invoice["Status"] not in PAYABLE:
        problems.append("Payments can only be made against Authorised documents")
    if account is None:
        problems.append("Account could not be found")
    elif account.get("Type") != "BANK" and not account.get("EnablePaymentsToAccount"):
        problems.append("Account type is invalid for making a payment to/from")
    if amount is None or amount <= 0:
        problems.append("Payment amount must be greater than zero")
    elif invoice is not None and round2(amount) > invoice["AmountDue"]:
        problems.append("Payment amount exceeds the amount outstanding on this document")
    if day is None:
        problems.append("Date must be a valid date")
    if problems or invoice is None or account is None or amount is None or day is None:
        return element, problems
    payment: dict[str, Any] = {
        "PaymentID": str(uuid.uuid4()),
        "Date": day_date(day.date()),
        "Amount": round2(amount),
        "BankAmount": round2(amount),
        "CurrencyRate": Decimal("1.0"),
        "Reference": str(element.get("Reference") or ""),
        "Status": "AUTHORISED",
        "PaymentType": "ACCRECPAYMENT",
        "IsReconciled": False,
        "HasAccount": True,
        "Account": {"AccountID": account["AccountID"], "Code": account["Code"]},
        "Invoice": {"InvoiceID": invoice["InvoiceID"]},
        "UpdatedDateUTC": ms_date(now),
    }
    payments(state)[payment["PaymentID"]] = payment
    _apply(invoice, payment, now, sign=1)
    return payment, []


def delete(state: OrgState, payment_id: str, element: Any, now: datetime) -> tuple[dict[str, Any], list[str]]:
    """POST /Payments/{PaymentID} with {"Status": "DELETED"}: the only change Xero allows."""
    payment = payments(state).get(payment_id.lower())
    if payment is None:
        return {}, ["Payment could not be found"]
    if not isinstance(element, dict) or str(element.get("Status", "")).upper() != "DELETED":
        return payment, ["Only the status of a payment may be changed, and only to DELETED"]
    if payment["Status"] == "DELETED":
        return payment, ["This payment has already been deleted"]
    payment["Status"] = "DELETED"
    payment["UpdatedDateUTC"] = ms_date(now)
    invoice = state.invoices.get(payment["Invoice"]["InvoiceID"])
    if invoice is not None:
        _apply(invoice, payment, now, sign=-1)
    return payment, []


def _apply(invoice: dict[str, Any], payment: dict[str, Any], now: datetime, sign: int) -> None:
    amount = payment["Amount"] * sign
    invoice["AmountPaid"] = invoice.get("AmountPaid", ZERO) + amount
    invoice["AmountDue"] = invoice["AmountDue"] - amount
    listed = [p for p in invoice.get("Payments", []) if p["PaymentID"] != payment["PaymentID"]]
    if sign > 0:
        listed.append({k: payment[k] for k in ("PaymentID", "Date", "Amount", "Reference", "CurrencyRate")})
    invoice["Payments"] = listed
    settle(invoice, now, payment["Date"])


def settle(invoice: dict[str, Any], now: datetime, on: str | None) -> None:
    """PAID at zero due (dated by the settling payment or allocation); back to AUTHORISED when it reopens."""
    if invoice["AmountDue"] <= 0 and invoice["Status"] == "AUTHORISED":
        invoice["Status"] = "PAID"
        invoice["FullyPaidOnDate"] = on
    elif invoice["AmountDue"] > 0 and invoice["Status"] == "PAID":
        invoice["Status"] = "AUTHORISED"
        invoice.pop("FullyPaidOnDate", None)
    invoice["UpdatedDateUTC"] = ms_date(now)


def render(state: OrgState, payment: dict[str, Any]) -> dict[str, Any]:
    """A payment as GET /Payments answers it: the invoice summarised with its number and contact."""
    out: dict[str, Any] = snapshot(payment)
    invoice = state.invoices.get(payment["Invoice"]["InvoiceID"])
    if invoice is not None:
        out["Invoice"] = {
            "InvoiceID": invoice["InvoiceID"],
            "InvoiceNumber": invoice.get("InvoiceNumber"),
            "Type": invoice["Type"],
            "Reference": invoice.get("Reference", ""),
            "AmountDue": invoice["AmountDue"],
            "AmountPaid": invoice.get("AmountPaid", ZERO),
            "Contact": {"ContactID": invoice["Contact"]["ContactID"]},
        }
    return out
