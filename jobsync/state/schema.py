"""The state file's schema: ordered migrations. Append only, never edit a released one."""

from __future__ import annotations

from pathlib import Path

from jobsync.state.errors import newer
from jobsync.state.table_mixin import Connection

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
    # 3 -> 4: the pass back. Each invoice's state in Xero as last read; each Xero payment and what was
    # written for it to the job system; attachments and links sent; adjustments (credit notes, extra
    # invoices) planned after an invoice was authorised.
    """
    CREATE TABLE invoice_follow_up (
        invoice_id TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        job_id TEXT NOT NULL,
        stage TEXT NOT NULL,
        status TEXT NOT NULL,
        amount_paid TEXT,
        amount_due TEXT,
        fully_paid_on TEXT,
        cancelled_at TEXT,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE payments_back (
        payment_id TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        job_id TEXT NOT NULL,
        invoice_id TEXT NOT NULL,
        amount TEXT NOT NULL,
        paid_on TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('in_flight', 'written', 'reported', 'reversing', 'reversed',
            'reversal_reported')),
        updated_at TEXT NOT NULL
    );
    CREATE INDEX payments_back_job ON payments_back (source, job_id);
    CREATE TABLE attachments_sent (
        invoice_id TEXT NOT NULL,
        file_name TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('in_flight', 'sent', 'skipped')),
        detail TEXT,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (invoice_id, file_name)
    );
    CREATE TABLE links_sent (
        invoice_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (invoice_id, kind)
    );
    CREATE TABLE adjustments (
        reference TEXT PRIMARY KEY,
        source TEXT NOT NULL,
        job_id TEXT NOT NULL,
        stage TEXT NOT NULL,
        invoice_id TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('credit_note', 'extra_invoice')),
        amount TEXT NOT NULL,
        body TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('held', 'approved', 'in_flight', 'created', 'allocated')),
        document_id TEXT,
        detail TEXT,
        updated_at TEXT NOT NULL
    )
    """,
    # 4 -> 5: the webhook inbox. Each accepted event is written here before its sender gets a 200, and
    # the service's worker takes them from here: an event survives a restart, and a replay is one row.
    """
    CREATE TABLE inbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        source TEXT NOT NULL,
        event_key TEXT NOT NULL UNIQUE,
        kind TEXT NOT NULL,
        subject TEXT NOT NULL,
        received_at TEXT NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('new', 'done', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        detail TEXT
    );
    CREATE INDEX inbox_state ON inbox (state, id)
    """,
    # 5 -> 6: the console. Drafts waiting for a bookkeeper under `xero.approval: required` (an approval
    # names the exact content approved), the console's users, and the before/after of each action.
    """
    CREATE TABLE approvals (
        source TEXT NOT NULL,
        job_id TEXT NOT NULL,
        stage TEXT NOT NULL,
        job_number TEXT NOT NULL,
        planned TEXT NOT NULL,
        approved TEXT,
        approved_by TEXT,
        card TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (source, job_id, stage)
    );
    CREATE TABLE users (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL CHECK (role IN ('bookkeeper', 'viewer')),
        password_hash TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        who TEXT NOT NULL,
        action TEXT NOT NULL,
        subject TEXT,
        before TEXT,
        after TEXT
    )
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(db: Connection, path: Path) -> None:
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
