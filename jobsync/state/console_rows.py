"""The console's users and its audit log. A mixin of `State`.

A user has a name, a role (a bookkeeper acts; a viewer only reads) and an argon2 hash of the password:
the password itself is never stored. The audit log keeps who did what, when, to what, with the before
and the after as JSON, for every action taken in the console or by its CLI twins.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from jobsync.state.errors import guard_state_errors
from jobsync.state.table_mixin import TableMixin

ROLES = ("bookkeeper", "viewer")


@dataclass(frozen=True)
class UserRow:
    name: str
    role: str
    password_hash: str = field(repr=False)  # the hash stays out of any log line


@dataclass(frozen=True)
class AuditRow:
    at: datetime
    who: str
    action: str
    subject: str | None
    before: Any
    after: Any


@guard_state_errors
class ConsoleRows(TableMixin):
    def put_user(self, name: str, role: str, password_hash: str) -> None:
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}, got {role!r}")
        with self._tx() as db:
            db.execute(
                "INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET role = excluded.role, password_hash = excluded.password_hash",
                (name, role, password_hash, self._now()),
            )

    def remove_user(self, name: str) -> bool:
        with self._tx() as db:
            return bool(db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount == 1)

    def user(self, name: str) -> UserRow | None:
        r = self._conn.execute("SELECT name, role, password_hash FROM users WHERE name = ?", (name,)).fetchone()
        return UserRow(str(r["name"]), str(r["role"]), str(r["password_hash"])) if r else None

    def user_names(self) -> list[tuple[str, str]]:
        return [
            (str(r["name"]), str(r["role"])) for r in self._conn.execute("SELECT name, role FROM users ORDER BY name")
        ]

    def audit(self, who: str, action: str, subject: str | None, before: Any = None, after: Any = None) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO audit (at, who, action, subject, before, after) VALUES (?, ?, ?, ?, ?, ?)",
                (self._now(), who, action, subject, json.dumps(before, default=str), json.dumps(after, default=str)),
            )

    def audit_log(self, subject: str | None = None, limit: int = 200) -> list[AuditRow]:
        rows = self._conn.execute(
            "SELECT * FROM audit WHERE (? IS NULL OR subject = ?) ORDER BY id DESC LIMIT ?", (subject, subject, limit)
        )
        return [
            AuditRow(
                datetime.fromisoformat(r["at"]),
                str(r["who"]),
                str(r["action"]),
                r["subject"],
                json.loads(r["before"]) if r["before"] else None,
                json.loads(r["after"]) if r["after"] else None,
            )
            for r in rows
        ]
