"""The practice at a glance, and the alert that fires when an org needs a person.

For each org: its last run, held and failed jobs, runs failed in a row, when its Xero login lapses,
the calls it made today (counted across every worker) against its budget, and its next run. Reading it
calls neither Xero nor a job system.

The practice-wide alert fires once per condition (an org's login near lapse; an org failed twice in a
row): the conditions already raised are kept in `jobsync_practice_alerts`, a condition that clears is
forgotten, so it fires again if it comes back.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from jobsync.app import practice
from jobsync.app.shared_limits import XERO_DAY_LIMIT, ensure_tables, used_today
from jobsync.app.wiring import tenant_id, xero_login
from jobsync.config.sections import NotifySettings
from jobsync.config.settings import Settings, load_settings
from jobsync.core.errors import JobsyncError, UnreachableError
from jobsync.output import notify
from jobsync.state.postgres import server_said
from jobsync.state.store import State
from jobsync.xero.token_store import token_status

log = logging.getLogger("jobsync.app.practice_view")
ALERT_WEBHOOK_ENV = "JOBSYNC_PRACTICE_ALERT_WEBHOOK"
FAILED_IN_A_ROW = 2
_ALERTS = "CREATE TABLE IF NOT EXISTS jobsync_practice_alerts (condition TEXT PRIMARY KEY, raised_at TEXT NOT NULL)"


@dataclass(frozen=True)
class OrgStatus:
    org: practice.Org
    last_run: str  # "20261202T… exit 0", or why it is unknown
    held: int
    failed: int
    failed_in_a_row: int
    login_lapses: datetime | None = None  # the refresh token's 60-day lapse (None: no refreshable login)
    lapse_warning: timedelta = timedelta(days=14)  # the org's notify.token_expiry_days
    calls_today: int | None = None
    call_budget: int = XERO_DAY_LIMIT

    def alerts(self, now: datetime) -> dict[str, str]:
        """Condition (stable while it holds, so it fires once) -> what to tell a person."""
        found = {}
        if self.failed_in_a_row >= FAILED_IN_A_ROW:
            said = f"{self.org.name}: failed {self.failed_in_a_row} runs in a row (last {self.last_run})"
            found[f"failing:{self.org.name}"] = said
        if self.login_lapses is not None and self.login_lapses - now <= self.lapse_warning:
            when = "lapsed" if self.login_lapses <= now else "lapses"
            said = f"{self.org.name}: its Xero login {when} {self.login_lapses:%Y-%m-%d %H:%M %Z}"
            said += f"; run `jobsync auth login -c {self.org.config}`"
            found[f"login:{self.org.name}"] = said
        return found


def alerts_of(shown: list[OrgStatus], now: datetime) -> list[str]:
    """What every org's alerts say, in org order: for `orgs status` and the console's practice page."""
    return [text for s in shown for text in s.alerts(now).values()]


def status(url: str, now: datetime) -> list[OrgStatus]:
    import psycopg

    try:
        with practice.connect(url) as conn:
            ensure_tables(conn)
            return [_one(conn, org, now) for org in practice.orgs(url)]
    except psycopg.Error as exc:
        raise UnreachableError(f"the practice database stopped answering: {server_said(exc)}") from None


def _one(conn: object, org: practice.Org, now: datetime) -> OrgStatus:
    try:
        settings = load_settings(org.config)
        with State.open(settings.state.location) as state:
            runs, holds = state.recent_runs(5), state.holds(settings.source.name)
    except JobsyncError as exc:
        return OrgStatus(org, f"unreadable: {exc.message}", 0, 0, 0)
    last = f"{runs[0].run_id} exit {runs[0].exit_code}" if runs else "never run"
    streak = next((i for i, r in enumerate(runs) if r.exit_code in (0, 1)), len(runs))
    kinds = [h.kind for h in holds]
    budget = min(settings.xero.daily_call_budget or XERO_DAY_LIMIT, XERO_DAY_LIMIT)
    lapses, tenant = _login(settings, now)
    calls = used_today(conn, tenant) if tenant else None
    warn = timedelta(days=settings.notify.token_expiry_days if settings.notify else 14)
    return OrgStatus(org, last, kinds.count("held"), kinds.count("failed"), streak, lapses, warn, calls, budget)


def _login(settings: Settings, now: datetime) -> tuple[datetime | None, str | None]:
    """When the org's refresh token lapses, and its tenant; unreadable logins show as unknown."""
    try:
        tenant = tenant_id(settings)
        if settings.xero.auth.mode != "oauth":
            return None, tenant
        shown = token_status(xero_login(settings), now)
    except JobsyncError:
        return None, None
    return (shown.refresh_lapses_at if shown else None), tenant


def raise_alerts(url: str, now: datetime) -> list[str]:
    """The conditions that newly hold, sent once (a log line, and `JOBSYNC_PRACTICE_ALERT_WEBHOOK` if set)."""
    import psycopg

    current = {key: text for s in status(url, now) for key, text in s.alerts(now).items()}
    try:
        fresh = _record(url, current, now)
    except psycopg.Error as exc:
        raise UnreachableError(f"the practice database stopped answering: {server_said(exc)}") from None
    said = [current[key] for key in fresh]
    if said:
        _send(said)
    return said


def _record(url: str, current: dict[str, str], now: datetime) -> list[str]:
    """Keep the conditions that hold now; returns those not raised before."""
    with practice.connect(url) as conn:
        conn.execute(_ALERTS)
        with conn.transaction():
            conn.execute("LOCK TABLE jobsync_practice_alerts")  # two workers checking at once send one alert
            known = {str(r[0]) for r in conn.execute("SELECT condition FROM jobsync_practice_alerts").fetchall()}
            fresh = [key for key in current if key not in known]
            conn.execute("DELETE FROM jobsync_practice_alerts WHERE NOT (condition = ANY(%s))", (list(current),))
            for key in fresh:
                conn.execute("INSERT INTO jobsync_practice_alerts VALUES (%s, %s)", (key, now.isoformat()))
    return fresh


def _send(conditions: list[str]) -> None:
    text = "jobsync practice: " + "; ".join(conditions)
    log.warning(text)
    url = os.environ.get(ALERT_WEBHOOK_ENV, "")
    if not url:
        return
    payload = {"kind": "practice_alert", "conditions": conditions}
    message = notify.Message("alert", "failure", "jobsync practice alert", text, payload)
    sent, problems = notify.deliver(NotifySettings(webhook_url=url), message)
    for problem in problems:
        log.warning(problem)
