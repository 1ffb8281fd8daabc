"""The bookkeeper's month-end check: every job billable in the month, with its invoices or why it has none.

Pure. The app reads the jobs, the ledger, the holds and what Xero holds for the ledger's References;
this module sets them against each other. A billable job with no invoice and no recorded reason is
the row this report exists to surface: it is marked MISSING and fails the check.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from jobsync.core.models import Job, LedgerEntry, LedgerState

MISSING = "no invoice and no reason recorded"


@dataclass(frozen=True)
class InvoiceRow:
    stage: str
    reference: str
    invoice_number: str | None
    recorded_total: Decimal | None  # what the ledger says was invoiced
    xero_status: str | None  # None: Xero has no invoice with this Reference
    xero_total: Decimal | None
    paid: Decimal | None

    @property
    def agrees(self) -> bool:
        live = self.xero_status not in (None, "DELETED", "VOIDED")
        return live and (self.recorded_total is None or self.recorded_total == self.xero_total)


@dataclass(frozen=True)
class MonthRow:
    job_number: str
    job_id: str
    client: str
    completed: dt.date | None
    invoices: tuple[InvoiceRow, ...]
    why_none: str  # "" when invoiced; the hold's reason, "ignored: …", or MISSING

    @property
    def ok(self) -> bool:
        return all(i.agrees for i in self.invoices) if self.invoices else self.why_none != MISSING


@dataclass(frozen=True)
class XeroView:
    status: str
    total: Decimal | None
    paid: Decimal | None


def month_bounds(month: str) -> tuple[dt.date, dt.date]:
    """ "2026-11" → (1 Nov, 1 Dec): the first day in, the first day out. ValueError for anything else."""
    first = dt.datetime.strptime(month, "%Y-%m").date()
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first, following


def completed_in(job: Job, month: tuple[dt.date, dt.date], zone: ZoneInfo) -> bool:
    if job.completed_at is None:
        return False
    day = job.completed_at.astimezone(zone).date()
    return month[0] <= day < month[1]


def month_rows(
    jobs: Iterable[Job],
    ledger: Mapping[tuple[str, str, str], LedgerEntry],
    reasons: Mapping[str, str],
    xero: Mapping[str, XeroView],
    zone: ZoneInfo,
) -> list[MonthRow]:
    """One row per job (already chosen as billable in the month), in job-number order."""
    rows = []
    for job in jobs:
        entries = sorted((e for e in ledger.values() if e.job_id == job.id), key=lambda e: e.stage)
        invoices = tuple(_invoice_row(e, xero.get(e.reference)) for e in entries)
        why = "" if invoices else reasons.get(job.id, MISSING)
        completed = job.completed_at.astimezone(zone).date() if job.completed_at else None
        client = job.client.name if job.client else ""
        rows.append(MonthRow(job.number, job.id, client, completed, invoices, why))
    return sorted(rows, key=lambda r: (len(r.job_number), r.job_number))


def _invoice_row(entry: LedgerEntry, seen: XeroView | None) -> InvoiceRow:
    number = entry.invoice_number or ("(in flight: not confirmed)" if entry.state is LedgerState.IN_FLIGHT else None)
    return InvoiceRow(
        entry.stage,
        entry.reference,
        number,
        entry.total,
        seen.status if seen else None,
        seen.total if seen else None,
        seen.paid if seen else None,
    )


def totals(rows: Iterable[MonthRow]) -> tuple[Decimal, Decimal, Decimal]:
    """(recorded by jobsync, held by Xero, paid) over every invoice in the rows."""
    invoices = [i for r in rows for i in r.invoices]
    recorded = sum((i.recorded_total or Decimal(0) for i in invoices), Decimal(0))
    held = sum((i.xero_total or Decimal(0) for i in invoices if i.xero_status not in ("DELETED", "VOIDED")), Decimal(0))
    paid = sum((i.paid or Decimal(0) for i in invoices), Decimal(0))
    return recorded, held, paid
