"""The webhook inbox: events accepted by `jobsync serve`, kept until the worker has synced them.

A mixin of `State`. The event key is unique, so a replayed event (the same id, or the same resource
and time) is one row however often it arrives; `add_event` says whether it was new.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from jobsync.state.errors import guard_state_errors
from jobsync.state.table_mixin import TableMixin


@dataclass(frozen=True)
class InboxEvent:
    id: int
    source: str
    kind: str  # "job" (a job changed in the job system) or "invoice" (an invoice changed in Xero)
    subject: str  # the job id, or the InvoiceID
    received_at: datetime
    attempts: int


@guard_state_errors
class InboxRows(TableMixin):
    def add_event(self, source: str, event_key: str, kind: str, subject: str) -> bool:
        """Keep an accepted event; False when its key was seen before (a replay)."""
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO inbox (source, event_key, kind, subject, received_at, state)"
                " VALUES (?, ?, ?, ?, ?, 'new') ON CONFLICT DO NOTHING",
                (source, event_key, kind, subject, self._now()),
            )
            return bool(cursor.rowcount == 1)

    def pending_events(self, limit: int = 500) -> list[InboxEvent]:
        rows = self._conn.execute("SELECT * FROM inbox WHERE state = 'new' ORDER BY id LIMIT ?", (limit,))
        return [
            InboxEvent(
                id=int(r["id"]),
                source=str(r["source"]),
                kind=str(r["kind"]),
                subject=str(r["subject"]),
                received_at=datetime.fromisoformat(r["received_at"]),
                attempts=int(r["attempts"]),
            )
            for r in rows
        ]

    def settle_events(self, ids: Iterable[int], state: str, detail: str | None = None) -> None:
        """`done`, `failed`, or back to `new` with one more attempt counted (a retry later)."""
        with self._tx() as db:
            for event_id in ids:
                db.execute(
                    "UPDATE inbox SET state = ?, detail = ?, attempts = attempts + 1 WHERE id = ?",
                    (state, detail, event_id),
                )

    def inbox_counts(self) -> dict[str, int]:
        rows = self._conn.execute("SELECT state, count(*) AS n FROM inbox GROUP BY state")
        return {str(r["state"]): int(r["n"]) for r in rows}
