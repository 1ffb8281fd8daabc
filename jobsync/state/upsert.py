"""`INSERT … ON CONFLICT (key) DO UPDATE`: the upsert SQLite (3.24+) and PostgreSQL both speak, so one
statement serves both state backends. It writes the row whole, as SQLite's `INSERT OR REPLACE` did:
columns the statement does not name (`reset`) go back to NULL."""

from __future__ import annotations

from collections.abc import Sequence


def replace_row(table: str, columns: Sequence[str], key: Sequence[str], reset: Sequence[str] = ()) -> str:
    updates = [f"{c} = excluded.{c}" for c in columns if c not in key] + [f"{c} = NULL" for c in reset]
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {', '.join(updates)}"
    )
