"""A bookkeeping practice: many organisations, each a jobsync config of its own (its source, rules,
state and schedule), listed in the practice's PostgreSQL database beside the task queue.

The practice database is named by `JOBSYNC_PRACTICE_URL` (or `--practice`). It holds the list of orgs
(`jobsync_orgs`) and procrastinate's tables; each org's own state lives wherever its config says
(`state.url` or `state.path`), so one org's state never mixes with another's.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from jobsync.config.settings import load_settings
from jobsync.core.errors import ConfigError
from jobsync.state.postgres import server_said

PRACTICE_ENV = "JOBSYNC_PRACTICE_URL"
_TABLE = """
CREATE TABLE IF NOT EXISTS jobsync_orgs (
    name TEXT PRIMARY KEY,
    config TEXT NOT NULL,
    every_minutes INTEGER NOT NULL,
    added_at TEXT NOT NULL,
    last_queued TEXT
)
"""


@dataclass(frozen=True)
class Org:
    name: str
    config: Path
    every_minutes: int
    last_queued: datetime | None

    def due(self, now: datetime) -> bool:
        return self.last_queued is None or now - self.last_queued >= timedelta(minutes=self.every_minutes)

    @property
    def next_run(self) -> datetime | None:
        return self.last_queued + timedelta(minutes=self.every_minutes) if self.last_queued else None


def practice_url(given: str | None) -> str:
    url = given or os.environ.get(PRACTICE_ENV, "")
    if not url.startswith(("postgresql://", "postgres://")):
        raise ConfigError("no practice database", [f"set {PRACTICE_ENV} (or --practice) to a postgresql:// URL"])
    return url


def connect(url: str) -> Any:
    """The practice database, with its org list made if new; a refusal names the variable to check."""
    import psycopg

    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        raise ConfigError(
            f"cannot reach the practice database: {server_said(exc)}", [f"check {PRACTICE_ENV}"]
        ) from None
    conn.execute(_TABLE)
    return conn


def entry_problems(name: object, every_minutes: object) -> list[str]:
    """What is wrong with an org's name and interval, given on the command line or in a practice file."""
    problems = []
    if not isinstance(name, str) or not name.strip() or len(name) > 64:
        problems.append("an org's name is 1 to 64 characters")
    if not isinstance(every_minutes, int) or isinstance(every_minutes, bool) or not 1 <= every_minutes <= 1440:
        problems.append("every is 1 to 1440 minutes")
    return problems


def add(url: str, name: str, config: Path, every_minutes: int) -> Org:
    """Register an org; its config is loaded first, so a broken one is refused with its problems."""
    problems = entry_problems(name, every_minutes)
    if problems:
        raise ConfigError(problems[0], problems[1:])
    config = config.resolve()
    load_settings(config)
    return register(url, name, config, every_minutes)


def register(url: str, name: str, config: Path, every_minutes: int) -> Org:
    """Add or update an org already checked (`add` checks; a practice file checks every entry first)."""
    with connect(url) as conn:
        conn.execute(
            "INSERT INTO jobsync_orgs (name, config, every_minutes, added_at) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (name) DO UPDATE SET config = excluded.config, every_minutes = excluded.every_minutes",
            (name, str(config), every_minutes, datetime.now(UTC).isoformat()),
        )
    return Org(name, config, every_minutes, None)


def orgs(url: str) -> list[Org]:
    with connect(url) as conn:
        rows = conn.execute("SELECT name, config, every_minutes, last_queued FROM jobsync_orgs ORDER BY name")
        return [
            Org(str(n), Path(c), int(m), datetime.fromisoformat(q) if q else None) for n, c, m, q in rows.fetchall()
        ]


def config_of(url: str, name: str) -> Path:
    found = next((o for o in orgs(url) if o.name == name), None)
    if found is None:
        raise ConfigError(f"no org {name!r} in the practice", ["see `jobsync orgs list`"])
    return found.config


def mark_queued(url: str, name: str, at: datetime) -> None:
    with connect(url) as conn:
        conn.execute("UPDATE jobsync_orgs SET last_queued = %s WHERE name = %s", (at.isoformat(), name))
