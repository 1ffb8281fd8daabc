"""What happens to an invoice after jobsync created it, as values: its state in Xero, its payments,
and what the pass back reports (payments written to the job, reversals, voids, attachments).

Pure: the Xero adapter builds these from its reads, the pass back decides with them, and the
report renders them.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

# A fixed namespace: the same Xero PaymentID always derives the same job-system record uuid, so a
# retried write names the record it already made instead of adding a second one.
PAYMENT_NAMESPACE = uuid.UUID("5d0b8f8e-8a53-4c1e-9f39-6a6f6b5e0a11")
CANCELLED = ("VOIDED", "DELETED")


@dataclass(frozen=True)
class InvoiceState:
    """One invoice as `GET /Invoices` shows it now."""

    invoice_id: str
    number: str | None
    reference: str
    status: str
    total: Decimal | None
    amount_paid: Decimal
    amount_due: Decimal
    fully_paid_on: date | None
    updated_at: datetime | None
    amount_credited: Decimal = Decimal("0")


@dataclass(frozen=True)
class XeroPayment:
    """One payment on a sales invoice, as `GET /Payments` shows it (Status DELETED once deleted)."""

    payment_id: str
    invoice_id: str
    amount: Decimal
    paid_on: date
    status: str
    method: str  # what the job system is told: the bank account's name or code
    reference: str = ""
    updated_at: datetime | None = None

    @property
    def deleted(self) -> bool:
        return self.status == "DELETED"


@dataclass(frozen=True)
class PaymentForJob:
    """A payment matched to the job its invoice was made for: what a write-back adapter receives."""

    payment: XeroPayment
    source: str
    job_id: str
    job_number: str
    invoice_number: str | None

    @property
    def record_uuid(self) -> str:
        return payment_record_uuid(self.payment.payment_id)

    def values(self) -> dict[str, str]:
        """The payment as text fields: for templates, files and reports alike."""
        p = self.payment
        return {
            "payment_id": p.payment_id,
            "record_uuid": self.record_uuid,
            "job_id": self.job_id,
            "job_number": self.job_number,
            "invoice_number": self.invoice_number or "",
            "amount": f"{p.amount:.2f}",
            "paid_on": p.paid_on.isoformat(),
            "method": p.method,
        }

    def note(self) -> str:
        """One line for a job's notes; it names the PaymentID so a rerun can find it there."""
        p = self.payment
        number = self.invoice_number or "the invoice"
        received = f"Payment of {p.amount:.2f} received in Xero on {p.paid_on.isoformat()} for {number}"
        return f"{received} [xero-payment {p.payment_id}]"

    def reversal_note(self) -> str:
        p = self.payment
        deleted = f"Payment of {p.amount:.2f} from {p.paid_on.isoformat()} was deleted in Xero"
        return f"{deleted} [xero-payment-deleted {p.payment_id}]"


def payment_record_uuid(payment_id: str) -> str:
    return str(uuid.uuid5(PAYMENT_NAMESPACE, payment_id.lower()))


def note_uuid(kind: str, key: str) -> str:
    """A job-system note's uuid, derived like a payment's so a retried note replaces itself."""
    return str(uuid.uuid5(PAYMENT_NAMESPACE, f"{kind}:{key.lower()}"))


@dataclass
class FollowUpSummary:
    """What one pass back saw and did; the run report and the alert show it."""

    ran: bool = False
    skipped_reason: str = ""  # why the pass did not run (not due yet, turned off)
    invoices_changed: int = 0
    payments_written: list[dict[str, Any]] = field(default_factory=list)
    payments_reported: list[dict[str, Any]] = field(default_factory=list)  # no write endpoint: shown only
    payments_reversed: list[dict[str, Any]] = field(default_factory=list)
    reversals_to_do_by_hand: list[dict[str, Any]] = field(default_factory=list)
    voids: list[dict[str, Any]] = field(default_factory=list)
    paid_in_full: list[dict[str, Any]] = field(default_factory=list)
    attachments_sent: list[dict[str, Any]] = field(default_factory=list)
    attachments_skipped: list[dict[str, Any]] = field(default_factory=list)
    links_sent: int = 0
    adjustments: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    calls: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def worth_telling(self) -> bool:
        return bool(
            self.payments_written
            or self.payments_reported
            or self.payments_reversed
            or self.reversals_to_do_by_hand
            or self.voids
            or self.adjustments
            or self.problems
        )


def void_message(invoice_number: str | None, job_number: str, status: str, on: date | None) -> str:
    """The flag a voided or deleted invoice raises, with the one command that lets the job bill again."""
    when = f" on {on.day} {on.strftime('%b %Y')}" if on else ""
    verb = "voided" if status == "VOIDED" else "deleted"
    number = invoice_number or "The invoice"
    return (
        f"{number} for {job_number} was {verb} in Xero{when}; it will not be invoiced again"
        f" unless you `jobsync jobs forget {job_number}`"
    )
