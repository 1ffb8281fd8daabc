"""The state file: one SQLite database holding everything jobsync must remember between runs.

Watermarks per source, the invoice ledger (the exactly-once record), the client → ContactID map,
held/failed/ignored jobs, run history, the bookkeeper's action log and a small cache. The file is
mode 0600 (it holds client names and invoice ids) and carries a schema version with ordered
migrations, so later releases can add tables without losing anyone's ledger.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from jobsync.core.models import LedgerEntry
from jobsync.runtime import crashpoints
from jobsync.state import by_reference, postgres
from jobsync.state.adjustment_rows import AdjustmentRows
from jobsync.state.approval_rows import ApprovalRows
from jobsync.state.console_rows import ConsoleRows
from jobsync.state.errors import StateError, guard_state_errors
from jobsync.state.follow_up_tables import FollowUpTables
from jobsync.state.inbox_rows import InboxRows
from jobsync.state.lock import run_lock
from jobsync.state.rows import (
    ActionRow,
    HoldRow,
    RunRow,
    amount_text,
    chunks,
    from_iso,
    ledger_entry,
    to_iso,
    utc_now,
)
from jobsync.state.run_rows import RunRows
from jobsync.state.schema import MIGRATIONS, SCHEMA_VERSION, migrate
from jobsync.state.table_mixin import Connection

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "State", "StateError", "HoldRow", "RunRow", "ActionRow", "run_lock"]

HOLD_KINDS = ("held", "failed", "ignored")


@guard_state_errors
class State(
    FollowUpTables, AdjustmentRows, InboxRows, ApprovalRows, ConsoleRows, RunRows, by_reference.ReferenceLookups
):
    """An open state file. Build with `State.open(path)`; close with `close()`."""

    def __init__(self, path: Path, conn: Connection, clock: Callable[[], datetime]) -> None:
        self.path = path
        self._conn = conn
        self._clock = clock

    # -- lifecycle ---------------------------------------------------------

    @classmethod
    def open(cls, path: Path | str, clock: Callable[[], datetime] | None = None) -> State:
        """A state file (SQLite, the default), or a PostgreSQL database when `path` is a postgresql:// URL."""
        if postgres.is_url(path):
            state = cls(Path(postgres.display(str(path))), postgres.PgConnection(str(path)), clock or utc_now)
            state._migrate()
            return state
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Create the file ourselves so it is never world-readable, even for an instant.
        fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
        os.close(fd)
        os.chmod(path, 0o600)
        # isolation_level=None: we issue BEGIN/COMMIT ourselves, so each call is one transaction.
        conn = sqlite3.connect(str(path), isolation_level=None, timeout=10)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        state = cls(path, conn, clock or utc_now)
        state._migrate()
        return state

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> State:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[Connection]:
        # Inside `transaction()`, each write joins the one open transaction instead of committing alone.
        if self._conn.in_transaction:
            yield self._conn
            return
        # IMMEDIATE takes the write lock up front, so a read-then-write never races another writer.
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Several writes as one: all of them are kept, or (on any error or a crash) none."""
        with self._tx():
            yield

    def _now(self) -> str:
        return to_iso(self._clock())

    def schema_version(self) -> int:
        row = self._conn.execute("SELECT version FROM schema_version").fetchone()
        return int(row["version"]) if row else 0

    def _migrate(self) -> None:
        with self._tx() as db:
            migrate(db, self.path)

    # -- run lock ----------------------------------------------------------

    @contextmanager
    def lock(self, wait: float = 0) -> Iterator[None]:
        """Hold the exclusive run lock; the OS (or PostgreSQL) drops it if the process dies, so no stale
        lock remains."""
        if isinstance(self._conn, postgres.PgConnection):
            with self._conn.run_lock(str(self.path), wait):
                yield
            return
        with run_lock(self.path, wait):
            yield

    # -- watermarks --------------------------------------------------------

    def get_watermark(self, source: str) -> datetime | None:
        row = self._conn.execute("SELECT mark FROM watermarks WHERE source = ?", (source,)).fetchone()
        return from_iso(row["mark"]) if row else None

    def set_watermark(self, source: str, mark: datetime) -> None:
        """Advance the mark; an earlier mark is ignored, because moving back would re-bill history."""
        new = to_iso(mark)
        with self._tx() as db:
            row = db.execute("SELECT mark FROM watermarks WHERE source = ?", (source,)).fetchone()
            if row is not None and from_iso(row["mark"]) >= mark:  # type: ignore[operator]
                return
            db.execute(
                "INSERT INTO watermarks (source, mark) VALUES (?, ?)"
                " ON CONFLICT(source) DO UPDATE SET mark = excluded.mark",
                (source, new),
            )
            crashpoints.reach(crashpoints.DURING_WATERMARK_WRITE)  # written but not yet committed

    def clear_watermark(self, source: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM watermarks WHERE source = ?", (source,))

    # -- ledger ------------------------------------------------------------

    def ledger_for(self, source: str, job_ids: Iterable[str]) -> dict[tuple[str, str, str], LedgerEntry]:
        """Ledger rows for these jobs only, so memory follows the batch, not the whole history."""
        found: dict[tuple[str, str, str], LedgerEntry] = {}
        for chunk in chunks(sorted(set(job_ids))):
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(
                f"SELECT * FROM ledger WHERE source = ? AND job_id IN ({marks})", (source, *chunk)
            )
            for row in rows:
                entry = ledger_entry(row)
                found[(entry.source, entry.job_id, entry.stage)] = entry
        return found

    def in_flight(self, source: str) -> list[LedgerEntry]:
        rows = self._conn.execute(
            "SELECT * FROM ledger WHERE source = ? AND state = 'in_flight' ORDER BY job_id, stage", (source,)
        )
        return [ledger_entry(row) for row in rows]

    def mark_in_flight(self, entries: Iterable[LedgerEntry]) -> None:
        """Record a create about to be sent; a confirmed row is never downgraded."""
        now = self._now()
        with self._tx() as db:
            for e in entries:
                db.execute(
                    "INSERT INTO ledger (source, job_id, stage, reference, invoice_id, invoice_number, total,"
                    " idempotency_key, state, updated_at)"
                    " VALUES (?, ?, ?, ?, NULL, NULL, ?, ?, 'in_flight', ?)"
                    " ON CONFLICT(source, job_id, stage) DO UPDATE SET reference = excluded.reference,"
                    " total = excluded.total, idempotency_key = excluded.idempotency_key,"
                    " state = 'in_flight', updated_at = excluded.updated_at"
                    " WHERE ledger.state != 'confirmed'",
                    (e.source, e.job_id, e.stage, e.reference, amount_text(e.total), e.idempotency_key, now),
                )

    def confirm(
        self,
        source: str,
        job_id: str,
        stage: str,
        reference: str,
        invoice_id: str | None,
        invoice_number: str | None,
        total: Decimal | None,
    ) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO ledger (source, job_id, stage, reference, invoice_id, invoice_number, total,"
                " idempotency_key, state, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, 'confirmed', ?)"
                " ON CONFLICT(source, job_id, stage) DO UPDATE SET reference = excluded.reference,"
                " invoice_id = excluded.invoice_id, invoice_number = excluded.invoice_number,"
                " total = excluded.total, state = 'confirmed', updated_at = excluded.updated_at",
                (source, job_id, stage, reference, invoice_id, invoice_number, amount_text(total), self._now()),
            )

    def drop_in_flight(self, source: str, job_id: str, stage: str) -> None:
        """Forget an in-flight marker after a definitive rejection, so the next run sends a fresh body."""
        with self._tx() as db:
            db.execute(
                "DELETE FROM ledger WHERE source = ? AND job_id = ? AND stage = ? AND state = 'in_flight'",
                (source, job_id, stage),
            )

    def forget(self, source: str, job_id: str, stage: str | None = None) -> int:
        """Remove ledger rows (any state) so the job is invoiced again; returns how many went."""
        with self._tx() as db:
            if stage is None:
                cur = db.execute("DELETE FROM ledger WHERE source = ? AND job_id = ?", (source, job_id))
            else:
                cur = db.execute(
                    "DELETE FROM ledger WHERE source = ? AND job_id = ? AND stage = ?",
                    (source, job_id, stage),
                )
            return int(cur.rowcount)

    def confirmed_ledger(self, source: str, limit: int = 500) -> list[tuple[LedgerEntry, datetime | None]]:
        """The newest confirmed invoices for a source, with when each was recorded (for `jobs list`)."""
        rows = self._conn.execute(
            "SELECT * FROM ledger WHERE source = ? AND state = 'confirmed' ORDER BY updated_at DESC LIMIT ?",
            (source, limit),
        ).fetchall()
        return [(ledger_entry(row), from_iso(row["updated_at"])) for row in rows]

    # -- client map --------------------------------------------------------

    def whole_client_map(self) -> dict[str, str]:
        """Every client key with its contact: dedupe needs each key that points at a duplicate."""
        rows = self._conn.execute("SELECT client_key, contact_id FROM client_map")
        return {row["client_key"]: row["contact_id"] for row in rows}

    def client_map(self, keys: Iterable[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for chunk in chunks(sorted(set(keys))):
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(
                f"SELECT client_key, contact_id FROM client_map WHERE client_key IN ({marks})", chunk
            )
            found.update({row["client_key"]: row["contact_id"] for row in rows})
        return found

    def map_client(self, key: str, contact_id: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO client_map (client_key, contact_id, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT(client_key) DO UPDATE SET contact_id = excluded.contact_id,"
                " updated_at = excluded.updated_at",
                (key, contact_id, self._now()),
            )
            db.execute("DELETE FROM client_names WHERE client_key = ?", (key,))

    def client_names(self, keys: Iterable[str]) -> dict[str, str]:
        """The names bookkeepers chose for these clients' new contacts."""
        found: dict[str, str] = {}
        for chunk in chunks(sorted(set(keys))):
            marks = ",".join("?" * len(chunk))
            rows = self._conn.execute(f"SELECT client_key, name FROM client_names WHERE client_key IN ({marks})", chunk)
            found.update({row["client_key"]: row["name"] for row in rows})
        return found

    def map_client_by_person(
        self, key: str, who: str, *, contact_id: str | None = None, new_name: str | None = None
    ) -> None:
        """`contacts map`: one Xero contact, or a new contact's name, for this client; one transaction
        with its action row, so the choice and its record never part."""
        if (contact_id is None) == (new_name is None):
            raise ValueError("give exactly one of contact_id and new_name")
        with self.transaction():
            if contact_id is not None:
                self.map_client(key, contact_id)
                detail = f"client {key} -> contact {contact_id}"
            else:
                with self._tx() as db:
                    db.execute("DELETE FROM client_map WHERE client_key = ?", (key,))
                    db.execute(
                        "INSERT INTO client_names (client_key, name, updated_at) VALUES (?, ?, ?)"
                        " ON CONFLICT(client_key) DO UPDATE SET name = excluded.name,"
                        " updated_at = excluded.updated_at",
                        (key, new_name, self._now()),
                    )
                detail = f"client {key} -> new contact named {new_name!r}"
            self.record_action(who, "contacts map", key.split(":", 1)[0], None, detail)

    def hold_client_key(self, job: str) -> str | None:
        """The client key of the held job with this number or id, if any."""
        row = self._conn.execute(
            "SELECT client_key FROM holds WHERE (job_number = ? OR job_id = ?) AND client_key IS NOT NULL"
            " ORDER BY updated_at DESC LIMIT 1",
            (job, job),
        ).fetchone()
        return None if row is None else str(row["client_key"])

    # -- holds -------------------------------------------------------------

    def set_hold(
        self,
        source: str,
        job_id: str,
        job_number: str,
        kind: str,
        reason: str,
        client_key: str | None = None,
        card: str | None = None,
    ) -> None:
        if kind not in HOLD_KINDS:
            raise ValueError(f"hold kind must be one of {HOLD_KINDS}, got {kind!r}")
        now = self._now()
        with self._tx() as db:
            # `since` survives re-holding for the same kind, so "held for 12 days" stays true.
            db.execute(
                "INSERT INTO holds (source, job_id, job_number, kind, reason, since, updated_at, client_key, card)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT(source, job_id) DO UPDATE SET job_number = excluded.job_number,"
                " since = CASE WHEN holds.kind = excluded.kind THEN holds.since ELSE excluded.since END,"
                " kind = excluded.kind, reason = excluded.reason, updated_at = excluded.updated_at,"
                " client_key = COALESCE(excluded.client_key, holds.client_key),"
                " card = COALESCE(excluded.card, holds.card)",
                (source, job_id, job_number, kind, reason, now, now, client_key, card),
            )

    def clear_hold(self, source: str, job_id: str) -> None:
        with self._tx() as db:
            db.execute("DELETE FROM holds WHERE source = ? AND job_id = ?", (source, job_id))

    def holds(self, source: str | None = None, kind: str | None = None) -> list[HoldRow]:
        sql, args = "SELECT * FROM holds WHERE 1 = 1", list[object]()
        if source is not None:
            sql, args = sql + " AND source = ?", [*args, source]
        if kind is not None:
            sql, args = sql + " AND kind = ?", [*args, kind]
        rows = self._conn.execute(sql + " ORDER BY source, since, job_number", args)
        return [
            HoldRow(**{**dict(r), "since": from_iso(r["since"]), "updated_at": from_iso(r["updated_at"])}) for r in rows
        ]

    # -- cache -------------------------------------------------------------

    def cache_get(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM cache WHERE key = ?", (key,)).fetchone()
        return row["value"] if row else None

    def cache_put(self, key: str, value: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO cache (key, value, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (key, value, self._now()),
            )
