"""The adjustments table: credit notes and extra invoices planned for approved invoices, and their fate.

A mixin of `State`. A held adjustment is replaced when its job changes again (the newest change is the
one to approve); one approved or made is never touched, and later adjustments are counted after it.
States: held → approved → in_flight → created → allocated (credit notes; an extra invoice stops at
created).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict
from decimal import Decimal

from jobsync.core.adjustments import Adjustment
from jobsync.state.errors import guard_state_errors
from jobsync.state.table_mixin import TableMixin
from jobsync.state.upsert import replace_row

WAITING = ("held", "approved", "in_flight")

ADJUSTMENT_COLUMNS = (
    "reference",
    "source",
    "job_id",
    "stage",
    "invoice_id",
    "kind",
    "amount",
    "body",
    "state",
    "updated_at",
)


@guard_state_errors
class AdjustmentRows(TableMixin):
    def adjustments_made(self, invoice_ids: Iterable[str]) -> dict[str, tuple[Decimal, int]]:
        """InvoiceID → (signed sum, count) of its adjustments past `held`."""
        out: dict[str, tuple[Decimal, int]] = {}
        wanted = {i.lower() for i in invoice_ids}
        for row in self._conn.execute("SELECT invoice_id, kind, amount FROM adjustments WHERE state != 'held'"):
            key = str(row["invoice_id"]).lower()
            if key not in wanted:
                continue
            amount = Decimal(row["amount"]) * (-1 if row["kind"] == "credit_note" else 1)
            total, count = out.get(key, (Decimal("0"), 0))
            out[key] = (total + amount, count + 1)
        return out

    def hold_adjustment(self, adjustment: Adjustment, state: str = "held") -> None:
        """Keep a proposal, replacing any still-held one for the same invoice."""
        body = json.dumps({k: str(v) for k, v in asdict(adjustment).items()})
        with self._tx() as db:
            db.execute(
                "DELETE FROM adjustments WHERE lower(invoice_id) = ? AND state = 'held'",
                (adjustment.invoice_id.lower(),),
            )
            db.execute(
                replace_row("adjustments", ADJUSTMENT_COLUMNS, ("reference",), reset=("document_id", "detail")),
                (
                    adjustment.reference,
                    adjustment.source,
                    adjustment.job_id,
                    adjustment.stage,
                    adjustment.invoice_id.lower(),
                    adjustment.kind,
                    str(adjustment.amount),
                    body,
                    state,
                    self._now(),
                ),
            )

    def adjustments(self, states: Iterable[str] = WAITING) -> list[tuple[Adjustment, str, str | None]]:
        """(adjustment, state, document id), oldest first."""
        wanted = tuple(states)
        marks = ",".join("?" * len(wanted))
        rows = self._conn.execute(
            f"SELECT body, state, document_id FROM adjustments WHERE state IN ({marks}) ORDER BY updated_at", wanted
        )
        return [(_adjustment(r["body"]), str(r["state"]), r["document_id"]) for r in rows]

    def set_adjustment(
        self, reference: str, state: str, document_id: str | None = None, detail: str | None = None
    ) -> None:
        with self._tx() as db:
            db.execute(
                "UPDATE adjustments SET state = ?, document_id = coalesce(?, document_id),"
                " detail = coalesce(?, detail), updated_at = ? WHERE reference = ?",
                (state, document_id, detail, self._now(), reference),
            )


def _adjustment(body: str) -> Adjustment:
    raw = json.loads(body)
    number = raw.get("invoice_number")
    return Adjustment(
        reference=raw["reference"],
        source=raw["source"],
        job_id=raw["job_id"],
        job_number=raw["job_number"],
        stage=raw["stage"],
        invoice_id=raw["invoice_id"],
        invoice_number=None if number in (None, "None") else number,
        kind=raw["kind"],
        amount=Decimal(raw["amount"]),
        before=Decimal(raw["before"]),
        after=Decimal(raw["after"]),
    )
