"""Past runs: list them, load one report, the dead-man freshness check, pruning, and report extras.

The freshness check is a pure function over run rows so monitoring logic is tested without a clock.
Pruning removes only files named like a run report, so a reports dir shared with anything else is safe.
"""

from __future__ import annotations

import getpass
import json
import re
import socket
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import Any

from jobsync.config.settings import Settings
from jobsync.core.errors import ConfigError, ExitCode, echo
from jobsync.core.models import Outcome, RunReport
from jobsync.state.store import RunRow, State

DEEP_LINK = "https://go.xero.com/AccountsReceivable/View.aspx?InvoiceID={}"
DEFAULT_MINUTES_PER_INVOICE = 10
# Run ids look like 20261125T070000Z-abc123 (runner._run_id); reports are <run id>.json/.md/.html.
_REPORT_NAME = re.compile(r"^\d{8}T\d{6}Z-[A-Za-z0-9_-]+\.(json|md|html)$")
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhd])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


# ---------------------------------------------------------------------------
# Dead-man check
# ---------------------------------------------------------------------------


# Ten years: far beyond any dead-man switch, far inside what date arithmetic holds.
MAX_AGE = timedelta(days=3660)


def parse_age(text: str) -> timedelta:
    """'26h', '90m', '2d' → timedelta; anything else is a usage error naming the form."""
    match = _AGE.match(text)
    if not match:
        raise ConfigError(f"--max-age {echo(text)} is not a duration", ["use a number and m, h or d, e.g. 26h"])
    try:
        age = timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
    except (OverflowError, ValueError):
        age = None
    if age is None or age > MAX_AGE:
        raise ConfigError(f"--max-age {echo(text)} is too long", [f"use at most {MAX_AGE.days} days, e.g. 26h"])
    return age


def succeeded(run: RunRow) -> bool:
    """A run that finished its pass: held jobs need a person but the sync itself is alive."""
    return (
        run.command == "run"
        and run.finished_at is not None
        and run.exit_code in (ExitCode.OK, ExitCode.HELD_OR_FAILED)
        and run.failed == 0
    )


def check_freshness(runs: Sequence[RunRow], now: datetime, max_age: timedelta) -> tuple[bool, str]:
    """(ok, one line for monitoring): ok when some run succeeded within `max_age` of `now`."""
    good = [r for r in runs if succeeded(r)]
    runs_only = [r for r in runs if r.command == "run"]
    latest = max(runs_only, key=lambda r: r.started_at, default=None)
    if latest is not None and latest.exit_code not in (ExitCode.OK, ExitCode.HELD_OR_FAILED):
        # A dead-man switch that says OK after a failed run hides the failure for a whole day.
        return False, (
            f"CRITICAL: the last run {latest.run_id} stopped early (exit {latest.exit_code});"
            f" see jobsync report {latest.run_id}"
        )
    if not good:
        return False, f"CRITICAL: no successful jobsync run recorded (checked {len(runs)} run(s)); see jobsync history"
    last = max(good, key=lambda r: r.finished_at or r.started_at)
    at = last.finished_at or last.started_at
    age = now - at
    hours = age.total_seconds() / 3600
    if age > max_age:
        return False, (
            f"CRITICAL: last successful run {last.run_id} finished {hours:.1f} h ago"
            f" (limit {max_age.total_seconds() / 3600:g} h); see jobsync history"
        )
    return True, f"OK: last successful run {last.run_id} finished {hours:.1f} h ago"


def check_state(state: State, now: datetime, max_age: timedelta) -> tuple[bool, str]:
    # Enough rows to look past a long streak of failed runs to the last good one.
    return check_freshness(state.recent_runs(1000), now, max_age)


# ---------------------------------------------------------------------------
# Listing and loading
# ---------------------------------------------------------------------------


def recent_runs(settings: Settings, limit: int = 20) -> list[RunRow]:
    """`jobsync history`: the newest runs first."""
    with State.open(settings.state.location) as state:
        return list_runs(state, limit)


def report_of(settings: Settings, run_id: str | None) -> Path:
    """`jobsync report [RUN]`: the report file of that run (a unique prefix will do), else the latest."""
    with State.open(settings.state.location) as state:
        return find_report(settings.reports.dir, run_id, state)


def list_runs(state: State, limit: int = 20) -> list[RunRow]:
    return state.recent_runs(limit)


def find_report(reports_dir: Path, run_id: str | None, state: State) -> Path:
    """The JSON report of `run_id` (a unique prefix will do), or of the latest run when None."""
    if run_id is None:
        runs = [r for r in state.recent_runs(50) if r.report_path]
        if not runs:
            raise ConfigError("no run reports yet", ["run `jobsync run` first, or see `jobsync history`"])
        path = Path(runs[0].report_path or "")
        if path.is_file():
            return path
        run_id = runs[0].run_id
    matches = sorted(Path(reports_dir).glob(f"{_glob_safe(run_id)}*.json"))
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise ConfigError(
            f"no report for run {run_id!r} in {reports_dir}",
            ["see `jobsync history` for run ids; reports older than reports.keep_days are removed"],
        )
    raise ConfigError(f"run id {run_id!r} is ambiguous", [p.stem for p in matches[:10]])


def _glob_safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)


def load_report(path: Path) -> dict[str, Any]:
    try:
        return dict(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read report {path}", [str(exc)]) from None


# ---------------------------------------------------------------------------
# Pruning
# ---------------------------------------------------------------------------


def prune_reports(directory: Path, keep_days: int, now: datetime) -> list[Path]:
    """Remove run reports older than `keep_days` (by modification time); returns what went."""
    directory = Path(directory)
    if keep_days <= 0 or not directory.is_dir():
        return []  # 0 means keep everything: deleting every report by accident is not recoverable
    cutoff = (now - timedelta(days=keep_days)).timestamp()
    removed = []
    for path in sorted(directory.iterdir()):
        if _REPORT_NAME.match(path.name) and path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


# ---------------------------------------------------------------------------
# Report extras
# ---------------------------------------------------------------------------


def _version() -> str:
    try:
        return metadata.version("jobsync")
    except metadata.PackageNotFoundError:
        return "unknown"


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def report_extras(report: RunReport, minutes_per_invoice: int = DEFAULT_MINUTES_PER_INVOICE) -> dict[str, Any]:
    """Who/where ran it, the version, Xero deep links per invoice and the admin time saved."""
    created = report.count(Outcome.CREATED) if report.command == "run" else 0
    links = {
        r.job_number: DEEP_LINK.format(r.invoice_id)
        for r in report.results
        if r.invoice_id and r.outcome in (Outcome.CREATED, Outcome.ADOPTED, Outcome.SKIPPED)
    }
    return {
        "ran_by": {"user": _user(), "host": socket.gethostname()},
        "jobsync_version": _version(),
        "invoice_links": links,
        "admin_minutes_saved": created * minutes_per_invoice,
        "minutes_per_invoice": minutes_per_invoice,
        "totals_created": str(
            sum((r.total or Decimal(0) for r in report.results if r.outcome is Outcome.CREATED), Decimal(0))
        ),
    }


def enrich(report: RunReport, minutes_per_invoice: int = DEFAULT_MINUTES_PER_INVOICE) -> RunReport:
    report.extra.update(report_extras(report, minutes_per_invoice))
    return report
