"""The routes of what follows an invoice: Payments, CreditNotes with Allocations, and an invoice's
Attachments, History and OnlineInvoice."""

from __future__ import annotations

from typing import Any

from jobsync.sandbox.xero import credit_notes as xero_credit_notes
from jobsync.sandbox.xero import invoice_extras as extras
from jobsync.sandbox.xero import payments as xero_payments
from jobsync.sandbox.xero.api_common import Answer, Request, batch, envelope, error, filtered, not_found, paged
from jobsync.sandbox.xero.fields import CREDIT_NOTE_FIELDS, PAYMENT_FIELDS
from jobsync.sandbox.xero.store import OrgState, snapshot


def payments(req: Request, state: OrgState) -> Answer:
    parts, method = req.parts, req.method
    if method == "GET" and len(parts) == 1:
        rows = [xero_payments.render(state, p) for p in xero_payments.payments(state).values()]
        rows = filtered(req, rows, PAYMENT_FIELDS)
        page, pagination = paged(req, rows)
        return 200, envelope("Payments", page, pagination)
    if method == "GET" and len(parts) == 2:
        found = xero_payments.payments(state).get(parts[1].lower())
        return (200, envelope("Payments", [xero_payments.render(state, found)])) if found else not_found()
    if method in ("PUT", "POST") and len(parts) == 1:  # createPayments (PUT) and createPayment (POST)

        def writer(element: Any) -> tuple[dict[str, Any], list[str]]:
            result, problems = xero_payments.write(state, element, req.now)
            return (result if problems else xero_payments.render(state, result)), problems

        return batch(req, "Payments", writer, "HasValidationErrors", req.flag("summarizeErrors", True))
    if method == "POST" and len(parts) == 2:
        if parts[1].lower() not in xero_payments.payments(state):
            return not_found()

        def deleter(element: Any) -> tuple[dict[str, Any], list[str]]:
            result, problems = xero_payments.delete(state, parts[1], element, req.now)
            return (snapshot(result) if problems else xero_payments.render(state, result)), problems

        return batch(req, "Payments", deleter, "HasValidationErrors", True)
    return not_found()


def credit_notes(req: Request, state: OrgState) -> Answer:
    parts, method = req.parts, req.method
    notes = xero_credit_notes.credit_notes(state)
    if method == "GET" and len(parts) == 1:
        rows = filtered(req, [snapshot(n) for n in notes.values()], CREDIT_NOTE_FIELDS)
        page, pagination = paged(req, rows)
        return 200, envelope("CreditNotes", page, pagination)
    if method == "PUT" and len(parts) == 1:
        return batch(
            req,
            "CreditNotes",
            lambda e: xero_credit_notes.write(state, e, req.now),
            "HasErrors",
            req.flag("summarizeErrors", True),
        )
    note = xero_credit_notes.find(state, parts[1]) if len(parts) >= 2 else None
    if note is None:
        return not_found()
    if method == "GET" and len(parts) == 2:
        return 200, envelope("CreditNotes", [snapshot(note)])
    if method == "PUT" and len(parts) == 3 and parts[2].lower() == "allocations":
        return batch(
            req,
            "Allocations",
            lambda e: xero_credit_notes.allocate(state, note, e, req.now),
            "HasValidationErrors",
            req.flag("summarizeErrors", True),
        )
    return not_found()


def invoice_part(req: Request, state: OrgState, invoice: dict[str, Any]) -> Answer:
    """/Invoices/{id}/Attachments[/{FileName}], /History and /OnlineInvoice."""
    part, method = req.parts[2].lower(), req.method
    if part == "attachments":
        return _attachments(req, state, invoice)
    if part == "history" and len(req.parts) == 3:
        if method == "GET":
            return 200, envelope("HistoryRecords", [snapshot(r) for r in extras.history(state, invoice["InvoiceID"])])
        if method in ("PUT", "POST"):
            status, added = extras.add_history(state, invoice, req.body, req.now)
            return (200, envelope("HistoryRecords", added)) if status == 200 else _refused(invoice, str(added))
    if part == "onlineinvoice" and method == "GET" and len(req.parts) == 3:
        status, found = extras.online_invoice(invoice)
        return (200, envelope("OnlineInvoices", found)) if status == 200 else _refused(invoice, str(found))
    return not_found()


def _attachments(req: Request, state: OrgState, invoice: dict[str, Any]) -> Answer:
    invoice_id = invoice["InvoiceID"]
    if req.method == "GET" and len(req.parts) == 3:
        listed = [extras.shown(a) for a in extras.attachments(state, invoice_id)]
        return 200, envelope("Attachments", listed)
    if len(req.parts) != 4:
        return not_found()
    if req.method == "GET":
        found = extras.attachment_named(state, invoice_id, req.parts[3])
        return (200, envelope("Attachments", [extras.shown(found)])) if found else not_found()
    if req.method in ("PUT", "POST"):
        status, result = extras.attach(state, invoice, req.parts[3], req.body, req.flag("IncludeOnline", False))
        if status == 200:
            return 200, envelope("Attachments", [result])
        if status == 413:
            return 413, error(413, "RequestEntityTooLarge", str(result))
        return _refused(invoice, str(result))
    return not_found()


def _refused(invoice: dict[str, Any], message: str) -> Answer:
    element = {"InvoiceID": invoice["InvoiceID"], "ValidationErrors": [{"Message": message}]}
    return 400, error(10, "ValidationException", "A validation exception occurred", [element])
