"""The pass back's tables: invoices' state in Xero, payments written back, attachments and links sent.

A mixin of `State` (it shares the one connection and the transaction helper), kept apart so the
store's own module stays about the one-way half. Every write-back row follows the ledger's rule:
marked `in_flight` before the outside write, settled after it, so a crash in between leaves a row
that the next pass reconciles against the job system instead of writing again.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from jobsync.core.follow_up import CANCELLED, InvoiceState, PaymentForJob
from jobsync.core.models import LedgerEntry
from jobsync.state.errors import guard_state_errors
from jobsync.state.rows import amount_text, chunks, from_iso, ledger_entry, to_iso
from jobsync.state.table_mixin import TableMixin
from jobsync.state.upsert import replace_row

FOLLOW_UP_COLUMNS = (
    "invoice_id",
    "source",
    "job_id",
    "stage",
    "status",
    "amount_paid",
    "amount_due",
    "fully_paid_on",
    "cancelled_at",
    "updated_at",
)
ATTACHMENT_COLUMNS = ("invoice_id", "file_name", "state", "detail", "updated_at")
PAYMENT_DONE = ("written", "reported")
REVERSAL_DONE = ("reversed", "reversal_reported")


@dataclass(frozen=True)
class CancelledInvoice:
    invoice_id: str
    source: str
    job_id: str
    stage: str
    status: str
    noticed_at: datetime
    invoice_number: str | None
    reference: str


@dataclass(frozen=True)
class PaymentRow:
    payment_id: str
    source: str
    job_id: str
    invoice_id: str
    amount: Decimal
    paid_on: date
    state: str


@guard_state_errors  # as State's own methods: sqlite3 and OS errors leave as StateError
class FollowUpTables(TableMixin):
    # -- invoices ----------------------------------------------------------------------------------

    def ledger_by_invoice(self, invoice_ids: Iterable[str]) -> dict[str, LedgerEntry]:
        """Confirmed ledger rows by (lower-case) InvoiceID: the invoices jobsync made."""
        found: dict[str, LedgerEntry] = {}
        for chunk in chunks(sorted({i.lower() for i in invoice_ids})):
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(
                f"SELECT * FROM ledger WHERE state = 'confirmed' AND lower(invoice_id) IN ({marks})", chunk
            )
            for row in rows:
                found[str(row["invoice_id"]).lower()] = ledger_entry(row)
        return found

    def record_invoice_state(self, entry: LedgerEntry, seen: InvoiceState) -> str | None:
        """Keep what Xero shows now; returns the status last recorded (None the first time)."""
        invoice_id = seen.invoice_id.lower()
        with self._tx() as db:
            row = db.execute("SELECT * FROM invoice_follow_up WHERE invoice_id = ?", (invoice_id,)).fetchone()
            before = str(row["status"]) if row else None
            cancelled_at = row["cancelled_at"] if row else None
            if seen.status in CANCELLED and not cancelled_at:
                cancelled_at = self._now()
            db.execute(
                replace_row("invoice_follow_up", FOLLOW_UP_COLUMNS, ("invoice_id",)),
                (
                    invoice_id,
                    entry.source,
                    entry.job_id,
                    entry.stage,
                    seen.status,
                    amount_text(seen.amount_paid),
                    amount_text(seen.amount_due),
                    seen.fully_paid_on.isoformat() if seen.fully_paid_on else None,
                    cancelled_at,
                    self._now(),
                ),
            )
        return before

    def invoice_status(self, invoice_id: str) -> tuple[str, Decimal | None, Decimal | None] | None:
        """(status, amount paid, amount due) as last read from Xero."""
        row = self._conn.execute(
            "SELECT status, amount_paid, amount_due FROM invoice_follow_up WHERE invoice_id = ?", (invoice_id.lower(),)
        ).fetchone()
        if row is None:
            return None
        paid, due = row["amount_paid"], row["amount_due"]
        return str(row["status"]), Decimal(paid) if paid else None, Decimal(due) if due else None

    def cancelled_invoices(self, source: str | None = None) -> list[CancelledInvoice]:
        """Voided or deleted invoices whose ledger row still stands: the jobs that will not bill again."""
        sql = (
            "SELECT f.*, l.invoice_number, l.reference FROM invoice_follow_up f JOIN ledger l"
            " ON lower(l.invoice_id) = f.invoice_id AND l.state = 'confirmed'"
            " WHERE f.cancelled_at IS NOT NULL AND f.status IN ('VOIDED', 'DELETED')"
        )
        args: tuple[str, ...] = ()
        if source is not None:
            sql, args = sql + " AND f.source = ?", (source,)
        rows = self._conn.execute(sql + " ORDER BY f.cancelled_at", args).fetchall()
        return [
            CancelledInvoice(
                invoice_id=str(r["invoice_id"]),
                source=str(r["source"]),
                job_id=str(r["job_id"]),
                stage=str(r["stage"]),
                status=str(r["status"]),
                noticed_at=datetime.fromisoformat(r["cancelled_at"]),  # the query keeps only noticed rows
                invoice_number=r["invoice_number"],
                reference=str(r["reference"]),
            )
            for r in rows
        ]

    # -- payments ----------------------------------------------------------------------------------

    def payment_row(self, payment_id: str) -> PaymentRow | None:
        row = self._conn.execute("SELECT * FROM payments_back WHERE payment_id = ?", (payment_id.lower(),)).fetchone()
        return _payment(row) if row else None

    def payments_unsettled(self) -> list[PaymentRow]:
        """Rows a crash left between the job-system write and its record: reconciled before anything new."""
        rows = self._conn.execute("SELECT * FROM payments_back WHERE state IN ('in_flight', 'reversing')")
        return [_payment(r) for r in rows]

    def payments_since(self, moment: datetime) -> list[PaymentRow]:
        """Payments recorded (or reversed) since `moment`, oldest first."""
        rows = self._conn.execute(
            "SELECT * FROM payments_back WHERE updated_at >= ? ORDER BY updated_at", (to_iso(moment),)
        )
        return [_payment(r) for r in rows]

    def payments_for_job(self, source: str, job_id: str) -> list[PaymentRow]:
        rows = self._conn.execute(
            "SELECT * FROM payments_back WHERE source = ? AND job_id = ? ORDER BY paid_on", (source, job_id)
        )
        return [_payment(r) for r in rows]

    def mark_payment(self, item: PaymentForJob, state: str) -> None:
        p = item.payment
        with self._tx() as db:
            db.execute(
                "INSERT INTO payments_back (payment_id, source, job_id, invoice_id, amount, paid_on, state, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (payment_id) DO UPDATE SET state = excluded.state,"
                " updated_at = excluded.updated_at",
                (
                    p.payment_id.lower(),
                    item.source,
                    item.job_id,
                    p.invoice_id.lower(),
                    str(p.amount),
                    p.paid_on.isoformat(),
                    state,
                    self._now(),
                ),
            )

    # -- attachments and links ---------------------------------------------------------------------

    def attachment_states(self, invoice_id: str) -> dict[str, str]:
        rows = self._conn.execute(
            "SELECT file_name, state FROM attachments_sent WHERE invoice_id = ?", (invoice_id.lower(),)
        )
        return {str(r["file_name"]): str(r["state"]) for r in rows}

    def mark_attachment(self, invoice_id: str, file_name: str, state: str, detail: str | None = None) -> None:
        with self._tx() as db:
            db.execute(
                replace_row("attachments_sent", ATTACHMENT_COLUMNS, ("invoice_id", "file_name")),
                (invoice_id.lower(), file_name, state, detail, self._now()),
            )

    def attachments_for(self, invoice_ids: Iterable[str]) -> Iterator[tuple[str, str, str, str | None]]:
        for chunk in chunks(sorted({i.lower() for i in invoice_ids})):
            marks = ",".join("?" * len(chunk))
            sql = f"SELECT * FROM attachments_sent WHERE invoice_id IN ({marks}) ORDER BY invoice_id, file_name"
            for r in self._conn.execute(sql, chunk):
                yield str(r["invoice_id"]), str(r["file_name"]), str(r["state"]), r["detail"]

    def link_sent(self, invoice_id: str, kind: str) -> bool:
        row = self._conn.execute(
            "SELECT 1 FROM links_sent WHERE invoice_id = ? AND kind = ?", (invoice_id.lower(), kind)
        ).fetchone()
        return row is not None

    def mark_link(self, invoice_id: str, kind: str) -> None:
        with self._tx() as db:
            db.execute(
                replace_row("links_sent", ("invoice_id", "kind", "updated_at"), ("invoice_id", "kind")),
                (invoice_id.lower(), kind, self._now()),
            )

    def first_confirmed_at(self, source: str) -> datetime | None:
        """When the oldest invoice jobsync made for `source` was recorded (None: none yet)."""
        row = self._conn.execute(
            "SELECT min(updated_at) AS first FROM ledger WHERE state = 'confirmed' AND source = ?", (source,)
        ).fetchone()
        return from_iso(row["first"]) if row and row["first"] else None

    def confirmed_since(self, since: datetime | None, source: str) -> list[LedgerEntry]:
        """Confirmed invoices of `source` updated after `since` (all when None): the ones to follow up."""
        sql = "SELECT * FROM ledger WHERE state = 'confirmed' AND source = ? AND invoice_id IS NOT NULL"
        args: tuple[str, ...] = (source,)
        if since is not None:
            sql, args = sql + " AND updated_at > ?", (source, to_iso(since))
        return [ledger_entry(r) for r in self._conn.execute(sql + " ORDER BY updated_at", args)]


def _payment(row: sqlite3.Row) -> PaymentRow:
    return PaymentRow(
        payment_id=str(row["payment_id"]),
        source=str(row["source"]),
        job_id=str(row["job_id"]),
        invoice_id=str(row["invoice_id"]),
        amount=Decimal(row["amount"]),
        paid_on=date.fromisoformat(row["paid_on"]),
        state=str(row["state"]),
    )
