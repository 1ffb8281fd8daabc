"""The state file's schema: ordered migrations. Append only, never edit a released one."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from jobsync.state.errors import newer

# Ordered: index i brings the schema from version i to i + 1. Only ever append.
MIGRATIONS: list[str] = [
    """
    CREATE TABLE watermarks (
        source TEXT PRIMARY KEY,
        mark TEXT NOT NULL
    );
    CREATE TABLE ledger (
        source TEXT NOT NULL,
        job_id TEXT NOT NULL,
        stage TEXT NOT NULL,
        reference TEXT NOT NULL,
        invoice_id TEXT,
        invoice_number TEXT,
        total TEXT,
        idempotency_key TEXT,
        state TEXT NOT NULL CHECK (state IN ('in_flight', 'confirmed')),
        updated_at TEXT NOT NULL,
        PRIMARY KEY (source, job_id, stage)
    );
    CREATE INDEX ledger_reference ON ledger (reference);
    CREATE INDEX ledger_state ON ledger (source, state);
    CREATE TABLE client_map (
        client_key TEXT PRIMARY KEY,
        contact_id TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE holds (
        source TEXT NOT NULL,
        job_id TEXT NOT NULL,
        job_number TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('held', 'failed', 'ignored')),
        reason TEXT NOT NULL,
        since TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (source, job_id)
    );
    CREATE TABLE runs (
        run_id TEXT PRIMARY KEY,
        command TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        created INTEGER NOT NULL,
        adopted INTEGER NOT NULL,
        skipped INTEGER NOT NULL,
        held INTEGER NOT NULL,
        failed INTEGER NOT NULL,
        exit_code INTEGER NOT NULL,
        report_path TEXT
    );
    CREATE INDEX runs_started ON runs (started_at);
    CREATE TABLE actions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        who TEXT NOT NULL,
        action TEXT NOT NULL,
        source TEXT,
        job_id TEXT,
        detail TEXT
    );
    CREATE TABLE cache (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    """,
    # 1 -> 2: the name a bookkeeper chose for a client's new contact (`contacts map --new-name`), and
    # the client each hold is about, so `contacts map JOB` finds it.
    """
    CREATE TABLE client_names (
        client_key TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    ALTER TABLE holds ADD COLUMN client_key TEXT
    """,
    # 2 -> 3: the card a held job shows (client, amount, lines as read), as JSON.
    """
    ALTER TABLE holds ADD COLUMN card TEXT
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(db: sqlite3.Connection, path: Path) -> None:
    """Bring the schema to SCHEMA_VERSION inside the caller's transaction; refuse a newer file."""
    db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    row = db.execute("SELECT version FROM schema_version").fetchone()
    if row is None:
        db.execute("INSERT INTO schema_version (version) VALUES (0)")
        current = 0
    else:
        current = int(row[0])
    if current > SCHEMA_VERSION:
        raise newer(path, current, SCHEMA_VERSION)
    for version in range(current, SCHEMA_VERSION):
        # executescript would COMMIT the caller's transaction; run statement by statement instead.
        for statement in MIGRATIONS[version].split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute("UPDATE schema_version SET version = ?", (version + 1,))
