"""Row values read from the state file, and the conversions between Python and SQLite text."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from jobsync.core.models import LedgerEntry, LedgerState

# SQLite's default limit on bound variables is 999 on older builds; stay well below it.
_CHUNK = 500


@dataclass(frozen=True)
class HoldRow:
    source: str
    job_id: str
    job_number: str
    kind: str  # one of HOLD_KINDS
    reason: str
    since: datetime
    updated_at: datetime
    client_key: str | None = None  # the client the hold is about, when the job has one
    card: str | None = None  # JSON from core.held_card: client, amount and lines as last read


@dataclass(frozen=True)
class RunRow:
    run_id: str
    command: str
    started_at: datetime
    finished_at: datetime | None
    created: int
    adopted: int
    skipped: int
    held: int
    failed: int
    exit_code: int
    report_path: str | None


@dataclass(frozen=True)
class ActionRow:
    id: int
    at: datetime
    who: str
    action: str
    source: str | None
    job_id: str | None
    detail: str | None


def to_iso(moment: datetime) -> str:
    """Aware datetime → ISO 8601 in UTC; naive times are refused because their zone is a guess."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: state stores aware times only")
    return moment.astimezone(UTC).isoformat()


def from_iso(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).astimezone(UTC)


def amount_text(amount: Decimal | None) -> str | None:
    # Money is TEXT in SQLite: a REAL column would round cents.
    return None if amount is None else str(amount)


def utc_now() -> datetime:
    return datetime.now(UTC)


def chunks(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def ledger_entry(row: sqlite3.Row) -> LedgerEntry:
    return LedgerEntry(
        source=row["source"],
        job_id=row["job_id"],
        stage=row["stage"],
        reference=row["reference"],
        state=LedgerState(row["state"]),
        invoice_id=row["invoice_id"],
        invoice_number=row["invoice_number"],
        total=None if row["total"] is None else Decimal(row["total"]),
        idempotency_key=row["idempotency_key"],
    )
