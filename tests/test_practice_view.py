"""The practice view: each org's last run, failures in a row, calls today across workers against its
budget; the practice-wide alert fires once per condition, and again only after it cleared."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jobsync.app import practice_view, queue
from jobsync.app.practice import Org
from jobsync.app.practice_view import ALERT_WEBHOOK_ENV, OrgStatus
from tests.practice_rig import practice, row
from tests.receivers import http_receiver

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def test_an_org_failing_twice_alerts_once_and_status_counts_the_calls_of_the_others(
    tmp_path: Path, postgres_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with practice(tmp_path, postgres_server, orgs=2, jobs=2) as p, http_receiver() as hook:
        monkeypatch.setenv(ALERT_WEBHOOK_ENV, hook.url + "/practice")
        assert queue.run_org(p.url, "org0") == 0  # as a worker runs it: paced by the shared limits
        work, org1 = p.orgs["org1"]
        org1.sandbox.faults.fail_next("*", "/api.xro/2.0", status=401, count=50)
        assert [work.cli("run").exit_code for _ in range(2)] == [3, 3]
        shown = {s.org.name: s for s in practice_view.status(p.url, datetime.now(UTC))}
        assert shown["org0"].last_run.endswith("exit 0") and shown["org0"].failed_in_a_row == 0
        assert shown["org0"].calls_today is not None and shown["org0"].calls_today > 0
        assert shown["org1"].failed_in_a_row == 2

        first = practice_view.raise_alerts(p.url, datetime.now(UTC))
        assert len(first) == 1 and first[0].startswith("org1: failed 2 runs in a row")
        assert practice_view.raise_alerts(p.url, datetime.now(UTC)) == []  # once per condition
        assert [body["conditions"] for _, body in hook.posts] == [first]

        listed = p.cli("orgs", "status")
        assert listed.exit_code == 1 and "ALERT org1: failed 2 runs in a row" in listed.output
        assert f"calls today {shown['org0'].calls_today}/5000" in listed.output

        org1.sandbox.faults.clear()
        assert work.cli("run").exit_code == 0  # Xero answers again: the condition clears ...
        assert practice_view.raise_alerts(p.url, datetime.now(UTC)) == []
        work.write_jobs([row(n) for n in range(1, 4)])  # new work: a quiet run would not call Xero at all
        org1.sandbox.faults.fail_next("*", "/api.xro/2.0", status=401, count=50)
        assert [work.cli("run").exit_code for _ in range(2)] == [3, 3]
        org1.sandbox.faults.clear()
        assert len(practice_view.raise_alerts(p.url, datetime.now(UTC))) == 1  # ... and fires again on return


def test_a_login_near_its_lapse_alerts_by_the_orgs_own_warning() -> None:
    org = Org("acme", Path("acme.yaml"), 15, None)
    near = OrgStatus(org, "never run", 0, 0, 0, login_lapses=NOW + timedelta(days=3), lapse_warning=timedelta(days=7))
    far = OrgStatus(org, "never run", 0, 0, 0, login_lapses=NOW + timedelta(days=30), lapse_warning=timedelta(days=7))
    assert list(near.alerts(NOW)) == ["login:acme"] and "lapses 2026-12-06" in near.alerts(NOW)["login:acme"]
    assert far.alerts(NOW) == {}


def test_a_practice_database_that_does_not_answer_is_one_line_naming_the_variable() -> None:
    from typer.testing import CliRunner

    from jobsync.cli.main import app

    dead = "postgresql://nobody@127.0.0.1:9/none?connect_timeout=2"
    for command in (["orgs", "status"], ["orgs", "run", "acme"], ["orgs", "rotate-keys"]):
        shown = CliRunner().invoke(app, command, env={"JOBSYNC_PRACTICE_URL": dead, "JOBSYNC_TOKEN_KEYS": ""})
        assert shown.exit_code not in (0, 1) and "Traceback" not in shown.output, (command, shown.output)
        assert "JOBSYNC_PRACTICE_URL" in shown.output or "JOBSYNC_TOKEN_KEYS" in shown.output, shown.output
