"""Drafts waiting for a bookkeeper's approval (`xero.approval: required`). A mixin of `State`.

A row names the content the run planned (`planned`, a fingerprint of the draft) and, once approved,
the content the bookkeeper saw (`approved`). The apply admits a draft only when the two are the same,
so a job edited after its approval goes back to the queue. A row is dropped once its invoice exists.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from jobsync.state.errors import guard_state_errors
from jobsync.state.table_mixin import TableMixin


@dataclass(frozen=True)
class ApprovalRow:
    source: str
    job_id: str
    stage: str
    job_number: str
    planned: str  # fingerprint of the draft as last planned
    approved: str | None  # fingerprint of the draft the bookkeeper approved
    approved_by: str | None
    card: str  # JSON: reference, client, total, lines, as the bookkeeper reads them
    updated_at: datetime

    @property
    def admitted(self) -> bool:
        return self.approved is not None and self.approved == self.planned


@guard_state_errors
class ApprovalRows(TableMixin):
    def await_approval(self, source: str, job_id: str, stage: str, job_number: str, planned: str, card: str) -> None:
        """Keep (or refresh) a draft in the queue; an approval of other content stops admitting it."""
        with self._tx() as db:
            db.execute(
                "INSERT INTO approvals (source, job_id, stage, job_number, planned, card, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (source, job_id, stage) DO UPDATE SET"
                " job_number = excluded.job_number, planned = excluded.planned, card = excluded.card,"
                " updated_at = excluded.updated_at",
                (source, job_id, stage, job_number, planned, card, self._now()),
            )

    def approve_draft(self, source: str, job_id: str, stage: str, seen: str, by: str) -> bool:
        """Approve the content `seen`; False when the queue holds other content now (it changed)."""
        with self._tx() as db:
            cursor = db.execute(
                "UPDATE approvals SET approved = ?, approved_by = ?, updated_at = ?"
                " WHERE source = ? AND job_id = ? AND stage = ? AND planned = ?",
                (seen, by, self._now(), source, job_id, stage, seen),
            )
            return bool(cursor.rowcount == 1)

    def approvals(self, source: str | None = None, job_ids: Iterable[str] | None = None) -> list[ApprovalRow]:
        rows = self._conn.execute(
            "SELECT * FROM approvals WHERE (? IS NULL OR source = ?) ORDER BY job_number, stage", (source, source)
        )
        wanted = set(job_ids) if job_ids is not None else None
        found = [_row(r) for r in rows]
        return [r for r in found if wanted is None or r.job_id in wanted]

    def settle_approvals(self, source: str, done: Iterable[tuple[str, str]]) -> None:
        """The invoices now exist (or the jobs left the queue): their rows go."""
        with self._tx() as db:
            db.executemany(
                "DELETE FROM approvals WHERE source = ? AND job_id = ? AND stage = ?",
                [(source, job, stage) for job, stage in done],
            )


def _row(r: sqlite3.Row) -> ApprovalRow:
    return ApprovalRow(
        str(r["source"]),
        str(r["job_id"]),
        str(r["stage"]),
        str(r["job_number"]),
        str(r["planned"]),
        r["approved"],
        r["approved_by"],
        str(r["card"]),
        datetime.fromisoformat(r["updated_at"]),
    )
