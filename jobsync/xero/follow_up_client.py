"""The Xero reads and writes of the pass back, on top of XeroClient's retry, limits and call counting.

Reads cost one call per 1,000 changed invoices plus one per 1,000 changed payments:
`GET /Invoices?createdByMyApp=true` with `If-Modified-Since` catches payments, voids and deletions of
jobsync's own invoices in one paged read, and `GET /Payments` with the same mark supplies each
payment's date, account and status (a deleted payment is listed with Status DELETED). Writes carry an
Idempotency-Key derived from what they write, so a retried request is answered, not repeated.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import partial
from typing import Any
from urllib.parse import quote

from jobsync.core.errors import RejectedError
from jobsync.core.follow_up import InvoiceState, XeroPayment
from jobsync.xero import wire
from jobsync.xero.client import ALL_STATUSES, PAGE_SIZE, XeroClient
from jobsync.xero.gateway import ElementResult
from jobsync.xero.refcache import modified_since_header, updated_at

ZERO = Decimal("0")


class FollowUpClient(XeroClient):
    """XeroClient plus what follows an invoice: changes, payments, history, attachments, credit notes."""

    # -- reads -------------------------------------------------------------------------------------

    def changed_invoices(self, since: datetime | None) -> list[InvoiceState]:
        """jobsync's own invoices changed since `since` (all of them when None), any status."""
        header = modified_since_header(since)
        fetch = partial(self._get_changed_invoices, header)
        return [parse_invoice_state(raw) for raw in self._paged("/Invoices", "Invoices", fetch)]

    def _get_changed_invoices(self, since: datetime | None, page: int) -> Any:
        extra = {"if_modified_since": since} if since is not None else {}
        return self.accounting.get_invoices(
            self.tenant_id,
            created_by_my_app=True,
            statuses=ALL_STATUSES,
            page=page,
            page_size=PAGE_SIZE,
            **extra,
            **self._opts(),
        )

    def changed_payments(self, since: datetime | None) -> list[XeroPayment]:
        """Payments on sales invoices changed since `since`, deleted ones included."""
        header = modified_since_header(since)
        fetch = partial(self._get_changed_payments, header)
        found = [parse_payment(raw) for raw in self._paged("/Payments", "Payments", fetch)]
        return [p for p in found if p is not None]

    def _get_changed_payments(self, since: datetime | None, page: int) -> Any:
        extra = {"if_modified_since": since} if since is not None else {}
        return self.accounting.get_payments(
            self.tenant_id,
            where='PaymentType=="ACCRECPAYMENT"',
            page=page,
            page_size=PAGE_SIZE,
            **extra,
            **self._opts(),
        )

    def attachment_names(self, invoice_id: str) -> set[str]:
        payload = self._send(
            "GET /Invoices/{InvoiceID}/Attachments",
            f"{self.api_url}/Invoices/{invoice_id}/Attachments",
            lambda: self.accounting.get_invoice_attachments(self.tenant_id, invoice_id, **self._opts()),
        )
        return {str(a.get("FileName") or "") for a in payload.get("Attachments") or []}

    def online_invoice_url(self, invoice_id: str) -> str | None:
        payload = self._send(
            "GET /Invoices/{InvoiceID}/OnlineInvoice",
            f"{self.api_url}/Invoices/{invoice_id}/OnlineInvoice",
            lambda: self.accounting.get_online_invoice(self.tenant_id, invoice_id, **self._opts()),
        )
        links = payload.get("OnlineInvoices") or []
        return str(links[0].get("OnlineInvoiceUrl") or "") or None if links else None

    def invoice(self, invoice_id: str) -> dict[str, Any]:
        """One invoice as Xero holds it now (contact, lines, AmountDue): what an adjustment is built from."""
        payload = self._send(
            "GET /Invoices/{InvoiceID}",
            f"{self.api_url}/Invoices/{invoice_id}",
            lambda: self.accounting.get_invoice(self.tenant_id, invoice_id, **self._opts()),
        )
        found = payload.get("Invoices") or []
        if not found:
            raise RejectedError(f"Xero has no invoice {invoice_id}")
        return dict(found[0])

    def credit_remaining(self, credit_note_id: str) -> Decimal:
        payload = self._send(
            "GET /CreditNotes/{CreditNoteID}",
            f"{self.api_url}/CreditNotes/{credit_note_id}",
            lambda: self.accounting.get_credit_note(self.tenant_id, credit_note_id, **self._opts()),
        )
        found = payload.get("CreditNotes") or [{}]
        return wire.to_decimal(found[0].get("RemainingCredit")) or ZERO

    def create_extra_invoice(self, body: dict[str, Any], idempotency_key: str) -> ElementResult:
        raw = wire.encode({"Invoices": [body]})
        payload = self._send(
            "PUT /Invoices",
            self.api_url + "/Invoices",
            lambda: self.accounting.create_invoices(
                self.tenant_id, raw, summarize_errors="false", idempotency_key=idempotency_key, **self._opts()
            ),
            create=True,
        )
        return wire.element_results(payload.get("Invoices") or [], 1, "InvoiceID")[0]

    # -- writes ------------------------------------------------------------------------------------

    def add_history(self, invoice_id: str, details: str) -> None:
        body = wire.encode({"HistoryRecords": [{"Details": details[:2500]}]})
        key = self.idempotency_key(b"history " + invoice_id.encode() + b" " + body)
        self._send(
            "PUT /Invoices/{InvoiceID}/History",
            f"{self.api_url}/Invoices/{invoice_id}/History",
            lambda: self.accounting.create_invoice_history(
                self.tenant_id, invoice_id, body, idempotency_key=key, **self._opts()
            ),
            create=True,
        )

    def attach(self, invoice_id: str, file_name: str, data: bytes, include_online: bool) -> None:
        key = self.idempotency_key(b"attach " + invoice_id.encode() + b" " + file_name.encode() + b" " + data)
        self._send(
            "PUT /Invoices/{InvoiceID}/Attachments/{FileName}",
            f"{self.api_url}/Invoices/{invoice_id}/Attachments/{quote(file_name)}",
            lambda: self.accounting.create_invoice_attachment_by_file_name(
                self.tenant_id,
                invoice_id,
                quote(file_name),
                data,
                include_online=include_online,
                idempotency_key=key,
                **self._opts(),
            ),
            create=True,
        )

    def create_credit_note(self, body: dict[str, Any], idempotency_key: str) -> ElementResult:
        raw = wire.encode({"CreditNotes": [body]})
        payload = self._send(
            "PUT /CreditNotes",
            self.api_url + "/CreditNotes",
            lambda: self.accounting.create_credit_notes(
                self.tenant_id, raw, summarize_errors="false", idempotency_key=idempotency_key, **self._opts()
            ),
            create=True,
        )
        return wire.element_results(payload.get("CreditNotes") or [], 1, "CreditNoteID")[0]

    def allocate_credit(self, credit_note_id: str, invoice_id: str, amount: Decimal, on: date) -> ElementResult:
        body = {"Allocations": [{"Invoice": {"InvoiceID": invoice_id}, "Amount": amount, "Date": on.isoformat()}]}
        raw = wire.encode(body)
        key = self.idempotency_key(b"allocate " + credit_note_id.encode() + b" " + raw)
        payload = self._send(
            "PUT /CreditNotes/{CreditNoteID}/Allocations",
            f"{self.api_url}/CreditNotes/{credit_note_id}/Allocations",
            lambda: self.accounting.create_credit_note_allocation(
                self.tenant_id, credit_note_id, raw, summarize_errors="false", idempotency_key=key, **self._opts()
            ),
            create=True,
        )
        return wire.element_results(payload.get("Allocations") or [], 1, "AllocationID")[0]

    def find_credit_notes_by_reference(self, references: Sequence[str]) -> dict[str, str]:
        """Reference → CreditNoteID of sales credit notes already in Xero (a crash's survivors)."""
        terms = [f"Reference=={wire.literal(r)}" for r in references if r]
        found: dict[str, str] = {}
        for where in wire.or_chunks(terms, wrap='Type=="ACCRECCREDIT" AND ({})'):
            fetch = partial(self._get_credit_notes, where)
            for raw in self._paged("/CreditNotes", "CreditNotes", fetch):
                if raw.get("Status") not in ("DELETED", "VOIDED"):
                    found[str(raw.get("Reference") or "")] = str(raw.get("CreditNoteID"))
        return found

    def _get_credit_notes(self, where: str, page: int) -> Any:
        return self.accounting.get_credit_notes(
            self.tenant_id, where=where, page=page, page_size=PAGE_SIZE, **self._opts()
        )


def parse_invoice_state(raw: dict[str, Any]) -> InvoiceState:
    return InvoiceState(
        invoice_id=str(raw.get("InvoiceID") or ""),
        number=raw.get("InvoiceNumber"),
        reference=str(raw.get("Reference") or ""),
        status=str(raw.get("Status") or ""),
        total=wire.to_decimal(raw.get("Total")),
        amount_paid=wire.to_decimal(raw.get("AmountPaid")) or ZERO,
        amount_due=wire.to_decimal(raw.get("AmountDue")) or ZERO,
        fully_paid_on=wire.parse_date(raw.get("FullyPaidOnDate")),
        updated_at=updated_at(raw),
        amount_credited=wire.to_decimal(raw.get("AmountCredited")) or ZERO,
    )


def parse_payment(raw: dict[str, Any]) -> XeroPayment | None:
    """None for a payment on no invoice (a credit note's or a prepayment's refund)."""
    invoice = raw.get("Invoice") or {}
    amount = wire.to_decimal(raw.get("Amount"))
    paid_on = wire.parse_date(raw.get("Date"))
    if not invoice.get("InvoiceID") or amount is None or paid_on is None:
        return None
    account = raw.get("Account") or {}
    return XeroPayment(
        payment_id=str(raw.get("PaymentID") or ""),
        invoice_id=str(invoice["InvoiceID"]).lower(),
        amount=amount,
        paid_on=paid_on,
        status=str(raw.get("Status") or ""),
        method=str(account.get("Name") or account.get("Code") or "Xero"),
        reference=str(raw.get("Reference") or ""),
        updated_at=updated_at(raw),
    )
