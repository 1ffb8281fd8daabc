"""Xero's limits kept in the practice's PostgreSQL, so every worker on every host paces against the same
counts: per organisation 60 calls a minute, 5 at once and the day's calls, and for the whole app 10,000
calls a minute (or the lower ceiling the practice configures).

Each call reserves its start time in one short transaction under an advisory lock, on the database's
clock (hosts' clocks may disagree; the database's is the one every worker reads). A start is placed no
earlier than the limit-th newest reserved start plus a window, so no window anywhere holds more than the
limit, whichever worker reserved the others. An in-flight lease per call keeps the concurrency limit
across workers, and lapses by itself if its worker dies, so a killed host cannot hold a slot for ever.

A practice database that stops answering stops the run cleanly (`StoppedError`): nothing is lost, and
the next run continues.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from jobsync.core.errors import StoppedError
from jobsync.runtime import progress
from jobsync.state.postgres import server_said
from jobsync.xero.limiter import MIN_HEADER, CallLimiter, Limits, header_seconds
from jobsync.xero.refcache import KeyValueCache

XERO_APP_PER_MINUTE = 10_000
XERO_DAY_LIMIT = 5_000
# A call starts a little after its reserved time and reaches Xero a little after that (a busy host, the
# network): spacing the limit-th call by a window plus this keeps the spread from bunching two windows.
ARRIVAL_SPREAD_SECONDS = 0.25
LEASE_SECONDS = 90.0  # longer than any one call (30 s timeouts; a retry reserves again); a dead host's lapse
RECONNECT_SECONDS = 30.0  # how long a run waits for the practice database to come back
# The database's clock, read the same way everywhere (hosts' clocks may disagree; this one they share).
_DB_NOW = "extract(epoch FROM clock_timestamp())"
_DB_DAY = (
    "to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD')"  # the UTC date, as a run's own limiter counts days
)
_LOCK_KEY = 7417011  # the advisory lock every reservation takes; one number for the whole practice
_SCHEMA_LOCK_KEY = 7417012
_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobsync_xero_calls (tenant TEXT NOT NULL, at DOUBLE PRECISION NOT NULL);
CREATE INDEX IF NOT EXISTS jobsync_xero_calls_at ON jobsync_xero_calls (at);
CREATE INDEX IF NOT EXISTS jobsync_xero_calls_tenant_at ON jobsync_xero_calls (tenant, at);
CREATE TABLE IF NOT EXISTS jobsync_xero_leases (
    id BIGSERIAL PRIMARY KEY, tenant TEXT NOT NULL, until DOUBLE PRECISION NOT NULL
);
CREATE TABLE IF NOT EXISTS jobsync_xero_days (
    tenant TEXT NOT NULL, day TEXT NOT NULL, used INTEGER NOT NULL DEFAULT 0,
    blocked_until DOUBLE PRECISION NOT NULL DEFAULT 0, PRIMARY KEY (tenant, day)
);
CREATE TABLE IF NOT EXISTS jobsync_practice_limits (
    id INTEGER PRIMARY KEY CHECK (id = 1), app_per_minute INTEGER NOT NULL, minute_seconds DOUBLE PRECISION NOT NULL
);
"""


@dataclass(frozen=True)
class PracticeLimits:
    """The app-wide ceiling, and the length of a 'minute' (60 s; shorter only to rehearse at a scaled clock)."""

    app_per_minute: int = XERO_APP_PER_MINUTE
    minute_seconds: float = 60.0


def ensure_tables(conn: Any) -> None:
    """The limiter's tables, made once under a lock (two workers creating them at once would collide)."""
    conn.execute("SELECT pg_advisory_lock(%s)", (_SCHEMA_LOCK_KEY,))
    try:
        conn.execute(_SCHEMA)
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_SCHEMA_LOCK_KEY,))


def read_limits(conn: Any) -> PracticeLimits:
    found = conn.execute("SELECT app_per_minute, minute_seconds FROM jobsync_practice_limits").fetchone()
    return PracticeLimits(int(found[0]), float(found[1])) if found else PracticeLimits()


def write_limits(conn: Any, limits: PracticeLimits) -> None:
    conn.execute(
        "INSERT INTO jobsync_practice_limits (id, app_per_minute, minute_seconds) VALUES (1, %s, %s)"
        " ON CONFLICT (id) DO UPDATE SET app_per_minute = excluded.app_per_minute,"
        " minute_seconds = excluded.minute_seconds",
        (limits.app_per_minute, limits.minute_seconds),
    )


def used_today(conn: Any, tenant: str) -> int:
    """Calls the tenant has made today (UTC date on the database's clock), across every worker."""
    found = conn.execute(
        f"SELECT used FROM jobsync_xero_days WHERE tenant = %s AND day = {_DB_DAY}", (tenant.lower(),)
    ).fetchone()
    return int(found[0]) if found else 0


class SharedCallLimiter(CallLimiter):
    """`CallLimiter` whose counts live in the practice database; one per run, like the one it replaces."""

    def __init__(self, url: str, tenant: str, limits: Limits) -> None:
        import psycopg

        self._url = url
        try:
            self._conn: Any = psycopg.connect(url, autocommit=True, connect_timeout=10)
            ensure_tables(self._conn)
            practice = read_limits(self._conn)
        except psycopg.Error as exc:
            raise _unreachable(exc, "before the run's first call") from None
        super().__init__(replace(limits, window_seconds=practice.minute_seconds))
        self.tenant = tenant.lower()
        self.app_per_minute = practice.app_per_minute
        self._db_lock = threading.Lock()  # one connection, shared by the client's threads

    def use_cache(self, cache: KeyValueCache, tenant_id: str) -> None:
        return  # the day's count is the database's, across every run and worker

    @contextmanager
    def slot(self, label: str) -> Iterator[None]:
        with self._lock:
            self._check_budget(label)  # Xero's own day count, from the last answer's headers
        lease, wait = self._take(label)
        try:
            if wait > 0:
                self.waited += wait
                progress.waiting(wait, "Xero's rate limits, shared by every worker")
                self._sleep(wait)
            yield
        finally:
            self._release(lease)

    def observe(self, headers: Mapping[str, str]) -> dict[str, int]:
        found = super().observe(headers)
        if found.get(MIN_HEADER, 1) <= 0:
            # Xero says this tenant's minute is spent: hold every worker's next call, not only ours.
            retry = header_seconds(
                {k.lower(): v for k, v in headers.items()}.get("retry-after"), self.limits.window_seconds
            )
            self._execute(
                f"INSERT INTO jobsync_xero_days (tenant, day, blocked_until) VALUES (%s, {_DB_DAY}, {_DB_NOW} + %s)"
                " ON CONFLICT (tenant, day) DO UPDATE SET blocked_until = excluded.blocked_until",
                (self.tenant, retry),
            )
        return found

    def close(self) -> None:
        self._conn.close()

    # -- the database's side ------------------------------------------------

    def _take(self, label: str) -> tuple[int, float]:
        """A lease and the wait before the call may start; polls while the tenant's in-flight slots are full."""
        while True:
            taken: tuple[int, float] | None = self._with_db(lambda: self._reserve_start(label))
            if taken is not None:
                return taken
            self._sleep(min(0.05, self.limits.window_seconds / max(1, self.limits.per_minute)))

    def _reserve_start(self, label: str) -> tuple[int, float] | None:
        lim, conn = self.limits, self._conn
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
            clock, day = conn.execute(f"SELECT {_DB_NOW}, {_DB_DAY}").fetchone()
            now = float(clock)
            row = conn.execute(
                "SELECT used, blocked_until FROM jobsync_xero_days WHERE tenant = %s AND day = %s", (self.tenant, day)
            ).fetchone()
            used, blocked = (int(row[0]), float(row[1])) if row else (0, 0.0)
            self._refuse_past_budget(used, label)
            busy = conn.execute(
                "SELECT count(*) FROM jobsync_xero_leases WHERE tenant = %s AND until > %s", (self.tenant, now)
            ).fetchone()[0]
            if busy >= lim.concurrent:
                return None
            window = lim.window_seconds
            conn.execute("DELETE FROM jobsync_xero_calls WHERE at < %s", (now - window,))
            start = max(now, blocked)
            spaced = window + max(0.02 * window, ARRIVAL_SPREAD_SECONDS)
            start = max(start, self._after_nth(conn, lim.per_minute, self.tenant) + spaced)
            start = max(start, self._after_nth(conn, self.app_per_minute, None) + spaced)
            conn.execute("INSERT INTO jobsync_xero_calls (tenant, at) VALUES (%s, %s)", (self.tenant, start))
            lease = conn.execute(
                "INSERT INTO jobsync_xero_leases (tenant, until) VALUES (%s, %s) RETURNING id",
                (self.tenant, start + LEASE_SECONDS),
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO jobsync_xero_days (tenant, day, used) VALUES (%s, %s, 1)"
                " ON CONFLICT (tenant, day) DO UPDATE SET used = jobsync_xero_days.used + 1",
                (self.tenant, day),
            )
        self._day, self.used_today = day, used + 1
        return int(lease), start - now

    @staticmethod
    def _after_nth(conn: Any, limit: int, tenant: str | None) -> float:
        """The limit-th newest reserved start (of the tenant, or of the app), or -inf while fewer are kept."""
        where, args = ("WHERE tenant = %s", [tenant]) if tenant is not None else ("", [])
        found = conn.execute(
            f"SELECT at FROM jobsync_xero_calls {where} ORDER BY at DESC OFFSET %s LIMIT 1",  # noqa: S608 - fixed text
            (*args, limit - 1),
        ).fetchone()
        return float(found[0]) if found else float("-inf")

    def _refuse_past_budget(self, used: int, label: str) -> None:
        budget = min(self.limits.daily_budget or XERO_DAY_LIMIT, XERO_DAY_LIMIT)
        if used >= budget:
            self.used_today = used
            raise StoppedError(
                f"this organisation's Xero calls for today are spent ({used} of {budget}, counted across every "
                f"worker) before {label}. Nothing is lost: the next run continues tomorrow"
            )

    def _release(self, lease: int) -> None:
        import psycopg

        try:
            self._execute("DELETE FROM jobsync_xero_leases WHERE id = %s", (lease,))
        except (StoppedError, psycopg.Error):
            pass  # the lease lapses by itself after LEASE_SECONDS

    def _execute(self, sql: str, args: tuple[Any, ...]) -> None:
        self._with_db(lambda: self._conn.execute(sql, args))

    def _with_db(self, work: Any) -> Any:
        """`work()` on the connection; a connection lost (a restart, a failover) is made again and the
        work tried once more, so a brief outage costs a pause, not the run."""
        import psycopg

        with self._db_lock:
            try:
                return work()
            except psycopg.OperationalError:
                self._reconnect()
            except psycopg.Error as exc:
                raise _unreachable(exc, "mid-run") from None
            try:
                return work()
            except psycopg.Error as exc:
                raise _unreachable(exc, "mid-run") from None

    def _reconnect(self) -> None:
        import psycopg

        self._conn.close()
        deadline = time.monotonic() + RECONNECT_SECONDS
        while True:
            try:
                self._conn = psycopg.connect(self._url, autocommit=True, connect_timeout=5)
                return
            except psycopg.Error as exc:
                if time.monotonic() >= deadline:
                    raise _unreachable(exc, "mid-run, after trying again") from None
                time.sleep(0.5)


def _unreachable(exc: Exception, when: str) -> StoppedError:
    return StoppedError(
        f"the practice database that shares Xero's limits did not answer {when}: {server_said(exc)}. "
        "Nothing is lost: the next run continues"
    )
