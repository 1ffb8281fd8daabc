"""Adjustments to an approved invoice: a credit note for a job that shrank, an extra invoice for one that grew.

An AUTHORISED (or PAID) invoice cannot be edited, so when its job changes jobsync plans the difference
as a document of its own, with its own Reference (`<reference> CN1`, `<reference> +1`), and holds it
for approval by default. The amount is the change in the job's total less the adjustments already
planned for it, so a job edited twice is adjusted by what is still outstanding, never twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from jobsync.core.models import Skip

ADJUSTABLE = ("AUTHORISED", "PAID")  # a DRAFT is updated in place (xero.update_drafts) instead
CREDIT_NOTE = "credit_note"
EXTRA_INVOICE = "extra_invoice"


@dataclass(frozen=True)
class Adjustment:
    reference: str  # the adjustment's own Reference
    source: str
    job_id: str
    job_number: str
    stage: str
    invoice_id: str  # the invoice it adjusts
    invoice_number: str | None
    kind: str  # CREDIT_NOTE or EXTRA_INVOICE
    amount: Decimal  # positive, tax inclusive
    before: Decimal  # the job's total as invoiced (with earlier adjustments)
    after: Decimal  # the job's total now

    @property
    def signed(self) -> Decimal:
        return -self.amount if self.kind == CREDIT_NOTE else self.amount

    def describe(self) -> str:
        what = "credit note" if self.kind == CREDIT_NOTE else "extra invoice"
        return (
            f"{what} {self.reference} for {self.amount:.2f}: job {self.job_number} went from"
            f" {self.before:.2f} to {self.after:.2f} after {self.invoice_number or 'its invoice'} was approved"
        )


def reference_for(base: str, kind: str, n: int) -> str:
    return f"{base} CN{n}" if kind == CREDIT_NOTE else f"{base} +{n}"


def propose(
    skips: Iterable[Skip],
    statuses: Mapping[str, str],
    planned: Mapping[str, tuple[Decimal, int]],
) -> list[Adjustment]:
    """Adjustments for jobs changed since their approved invoice.

    `statuses`: InvoiceID (lower case) → Xero status as last read. `planned`: the adjusted invoice's
    InvoiceID (lower case) → (the signed sum of the adjustments already approved or made, how many).
    """
    found = []
    for skip in skips:
        if skip.changed_total is None or not skip.invoice_id:
            continue
        if statuses.get(skip.invoice_id.lower()) not in ADJUSTABLE:
            continue
        invoiced, now = skip.changed_total
        done, count = planned.get(skip.invoice_id.lower(), (Decimal("0"), 0))
        before = invoiced + done
        delta = now - before
        if delta == 0:
            continue
        kind = CREDIT_NOTE if delta < 0 else EXTRA_INVOICE
        found.append(
            Adjustment(
                reference=reference_for(skip.reference, kind, count + 1),
                source=skip.source,
                job_id=skip.job_id,
                job_number=skip.job_number,
                stage=skip.stage,
                invoice_id=skip.invoice_id,
                invoice_number=skip.invoice_number,
                kind=kind,
                amount=abs(delta),
                before=before,
                after=now,
            )
        )
    return found
