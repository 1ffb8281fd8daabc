"""History: the dead-man check, pruning, finding and showing reports, and the report extras."""

from __future__ import annotations

import json
import os
import socket
import stat
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from jobsync.app.history import (
    DEEP_LINK,
    check_freshness,
    enrich,
    find_report,
    parse_age,
    prune_reports,
)
from jobsync.cli.history import history_cmd, report_cmd
from jobsync.core.errors import ConfigError
from jobsync.core.models import JobResult, Outcome, RunReport
from jobsync.output.report import write_report
from jobsync.sandbox.xero.server import XeroSandbox
from jobsync.state.store import RunRow, State
from tests.e2e import make_workdir
from tests.test_e2e_run import ROWS

NOW = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)


def _run(run_id: str, hours_ago: float, exit_code: int = 0, failed: int = 0, command: str = "run") -> RunRow:
    at = NOW - timedelta(hours=hours_ago)
    return RunRow(run_id, command, at, at + timedelta(seconds=5), 1, 0, 0, 0, failed, exit_code, None)


def test_parse_age_accepts_minutes_hours_days_and_names_the_form_otherwise() -> None:
    assert parse_age("26h") == timedelta(hours=26)
    assert parse_age("90m") == timedelta(minutes=90) and parse_age("2d") == timedelta(days=2)
    with pytest.raises(ConfigError, match="not a duration"):
        parse_age("26 hours")


def test_freshness_ok_only_with_a_recent_successful_run() -> None:
    day = timedelta(hours=26)
    ok, message = check_freshness([_run("a", 2)], NOW, day)
    assert ok and message.startswith("OK: last successful run a")
    # Held jobs (exit 1, none failed) still count as a live sync.
    assert check_freshness([_run("h", 2, exit_code=1)], NOW, day)[0]
    ok, message = check_freshness([_run("old", 30)], NOW, day)
    assert not ok and "old" in message and "30.0 h ago" in message and message.startswith("CRITICAL")
    # Failures, unreachable exits and previews are not successes.
    recent_bad = [_run("f", 1, exit_code=1, failed=2), _run("u", 1, exit_code=3), _run("p", 1, command="preview")]
    assert not check_freshness(recent_bad, NOW, day)[0]
    assert check_freshness([*recent_bad, _run("good", 20)], NOW, day) == (
        True,
        "OK: last successful run good finished 20.0 h ago",
    )
    assert not check_freshness([], NOW, day)[0]


def test_prune_removes_only_old_report_files(tmp_path: Path) -> None:
    old = [tmp_path / "20261001T070000Z-aaaaaa.json", tmp_path / "20261001T070000Z-aaaaaa.md"]
    new = tmp_path / "20261124T070000Z-bbbbbb.json"
    mine = tmp_path / "notes.json"  # not a report: never touched, however old
    for path in [*old, new, mine]:
        path.write_text("{}")
    ancient = (NOW - timedelta(days=40)).timestamp()
    for path in [*old, mine]:
        os.utime(path, (ancient, ancient))
    os.utime(new, (NOW.timestamp(), NOW.timestamp()))
    assert prune_reports(tmp_path, 30, NOW) == sorted(old)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([new.name, mine.name])
    assert prune_reports(tmp_path, 0, NOW + timedelta(days=999)) == []


def test_extras_name_who_ran_it_deep_links_and_time_saved() -> None:
    report = RunReport(run_id="r", command="run", started_at=NOW)
    report.results += [
        JobResult(
            "csv", "J1", "1001", Outcome.CREATED, invoice_id="abc-1", invoice_number="INV-1", total=Decimal("10.50")
        ),
        JobResult("csv", "J2", "1002", Outcome.CREATED, invoice_id="abc-2", total=Decimal("4.50")),
        JobResult("csv", "J3", "1003", Outcome.HELD, reason="no lines"),
    ]
    extra = enrich(report, minutes_per_invoice=12).extra
    assert extra["admin_minutes_saved"] == 24 and extra["totals_created"] == "15.00"
    assert extra["invoice_links"] == {"1001": DEEP_LINK.format("abc-1"), "1002": DEEP_LINK.format("abc-2")}
    assert extra["ran_by"]["host"] == socket.gethostname() and extra["ran_by"]["user"]


def test_find_report_by_prefix_latest_and_missing(tmp_path: Path) -> None:
    with State.open(tmp_path / "state.db") as state:
        with pytest.raises(ConfigError, match="no run reports yet"):
            find_report(tmp_path / "reports", None, state)
        for run_id in ("20261124T070000Z-aaaaaa", "20261125T070000Z-bbbbbb"):
            started = datetime.strptime(run_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
            report = RunReport(run_id=run_id, command="run", started_at=started, finished_at=started)
            json_path, _ = write_report(report, tmp_path / "reports")
            state.record_run(report, 0, str(json_path))
        assert find_report(tmp_path / "reports", None, state).name == "20261125T070000Z-bbbbbb.json"
        assert find_report(tmp_path / "reports", "20261124", state).name == "20261124T070000Z-aaaaaa.json"
        with pytest.raises(ConfigError, match="ambiguous"):
            find_report(tmp_path / "reports", "2026112", state)
        with pytest.raises(ConfigError, match="no report for run"):
            find_report(tmp_path / "reports", "1999", state)


app = typer.Typer()
app.command("history")(history_cmd)
app.command("report")(report_cmd)


def test_history_and_report_commands_after_a_real_run(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        work.write_jobs(ROWS)
        assert work.cli("run").exit_code == 1
    cfg = ["--config", str(work.config)]
    listed = CliRunner().invoke(app, ["history", "--json", *cfg])
    assert listed.exit_code == 0, listed.output
    runs = json.loads(listed.stdout)
    assert len(runs) == 1 and runs[0]["created"] == 3 and runs[0]["held"] == 2
    run_id = runs[0]["run_id"]
    shown = CliRunner().invoke(app, ["report", *cfg])
    assert shown.exit_code == 0 and f"# jobsync run {run_id}" in shown.output and "Needs attention" in shown.output
    page = tmp_path / "out" / "report.html"
    page.parent.mkdir()
    as_json = CliRunner().invoke(app, ["report", run_id[:18], "--json", "--html", str(page), *cfg])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.stdout)["run_id"] == run_id
    html = page.read_text()
    assert html.count('data-role="invoice-total"') == 5 and "1004" in html
    assert stat.S_IMODE(page.stat().st_mode) == 0o600
    missing = CliRunner().invoke(app, ["report", "nope", *cfg])
    assert missing.exit_code == 2 and "jobsync history" in missing.output
