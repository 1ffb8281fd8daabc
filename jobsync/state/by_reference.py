"""Finding a ledger row by the invoice Reference a person or Xero knows it by."""

from __future__ import annotations

from jobsync.core.models import LedgerEntry
from jobsync.state.errors import guard_state_errors
from jobsync.state.rows import ledger_entry
from jobsync.state.table_mixin import Connection

# Prefer a confirmed row: it is the one that names a real invoice.
_PREFERRED = " ORDER BY state = 'confirmed' DESC, updated_at DESC LIMIT 1"


def exact(conn: Connection, reference: str) -> LedgerEntry | None:
    row = conn.execute("SELECT * FROM ledger WHERE reference = ?" + _PREFERRED, (reference,)).fetchone()
    return ledger_entry(row) if row else None


def job_number(conn: Connection, number: str) -> LedgerEntry | None:
    """ "1042" finds "1042" (the 0.1.0 default) and "1042 / PO 7781" (today's); never "10421"."""
    tail = f"{number} / PO "
    row = conn.execute(
        "SELECT * FROM ledger WHERE reference = ? OR substr(reference, 1, length(?)) = ?" + _PREFERRED,
        (number, tail, tail),
    ).fetchone()
    return ledger_entry(row) if row else None


@guard_state_errors
class ReferenceLookups:
    """`State`'s lookups by Reference (a mixin: it shares the store's connection)."""

    _conn: Connection

    def find_by_reference(self, reference: str) -> LedgerEntry | None:
        return exact(self._conn, reference)

    def find_by_job_number(self, number: str) -> LedgerEntry | None:
        """The row whose Reference is the job number, alone or followed by its PO (the default form)."""
        return job_number(self._conn, number)
