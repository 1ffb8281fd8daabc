"""One test per fault kind the sandbox can script, each with its exact outcome.

Invoices in the sandbox, ledger rows, exit code and report lines are all checked. Runs whose
client would back off for seconds use a XeroClient with a recording `sleep`, so no test waits.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from jobsync.app.sync_run import SyncOutcome, sync
from jobsync.cli.main import app
from jobsync.config.settings import load_settings
from jobsync.core.errors import ExitCode
from jobsync.sandbox.xero.server import Exchange, XeroSandbox
from jobsync.state.store import State
from jobsync.xero.client import XeroClient
from tests.crash_harness import EXISTING, NEW, Job, Workdir

INVOICES = "/api.xro/2.0/Invoices"
JOBS = (
    Job("J1", "2001", 3, EXISTING[0], (("labour", "Labour", "2", "95.00"),)),
    Job("J2", "2002", 4, NEW[0], (("material", "Pipe", "3", "12.50"),)),
    Job("J3", "2003", 5, NEW[0], (("labour", "Labour", "1", "120.00"),)),
    Job("J4", "2004", 6, NEW[1], (("labour", "Labour", "1", "80.00"), ("material", "Tap", "1", "45.00"))),
)
REFS = {j.number for j in JOBS}


def _workdir(tmp_path: Path, sandbox: XeroSandbox) -> Workdir:
    work = Workdir(tmp_path, sandbox)
    work.write_jobs(JOBS)
    return work


def _cli(work: Workdir) -> Any:
    return CliRunner().invoke(app, ["run", "--config", str(work.path / "jobsync.yaml")])


def _sync(work: Workdir, sandbox: XeroSandbox, sleeps: list[float]) -> SyncOutcome:
    """`jobsync run` in process with a client whose backoff is recorded instead of slept."""
    settings = load_settings(work.path / "jobsync.yaml")
    gateway = XeroClient(sandbox.api_url, sandbox.tenant_id, lambda: "sandbox", sleep=sleeps.append)
    return sync(settings, apply=True, gateway=gateway)


def _references(sandbox: XeroSandbox) -> Counter[str]:
    return Counter(i["Reference"] for i in sandbox.invoices())


def _ledger(work: Workdir) -> dict[str, tuple[str | None, str]]:
    return {ref: (inv, st) for ref, inv, st in work.ledger()}


def _assert_ledger_equals_sandbox(work: Workdir, sandbox: XeroSandbox) -> None:
    assert _references(sandbox) == Counter(REFS)  # every job exactly once
    assert _ledger(work) == {i["Reference"]: (i["InvoiceID"], "confirmed") for i in sandbox.invoices()}
    names = Counter(c["Name"] for c in sandbox.contacts())
    assert names[NEW[0][1]] == 1 and names[NEW[1][1]] == 1


def _watermark(work: Workdir) -> object:
    with State.open(work.path / "state.db") as state:
        return state.get_watermark("csv")


def _report(work: Workdir) -> dict[str, Any]:
    reports = sorted((work.path / "reports").glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
    return json.loads(reports[-1].read_text())


def _outcomes(report: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {r["job_number"]: (r["outcome"], r["reason"] or "") for r in report["results"]}


def test_a_503_on_the_invoice_create_is_retried_with_the_same_key_and_creates_each_invoice_once(
    tmp_path: Path,
) -> None:
    seen: list[Exchange] = []
    with XeroSandbox(port=0, on_exchange=seen.append) as sandbox:
        work = _workdir(tmp_path, sandbox)
        sandbox.faults.fail_next("PUT", INVOICES, status=503, count=2)
        sleeps: list[float] = []
        assert _sync(work, sandbox, sleeps).result.exit_code is ExitCode.OK
        assert len(sleeps) == 2  # backed off before each retry
        puts = [e for e in seen if e.method == "PUT" and e.path == INVOICES]
        assert [e.status for e in puts] == [503, 503, 200]
        assert len({e.headers["idempotency-key"] for e in puts}) == 1
        assert len({e.body for e in puts}) == 1  # the retry resent the very same bytes
        _assert_ledger_equals_sandbox(work, sandbox)
        assert {o for o, _ in _outcomes(_report(work)).values()} == {"created"}


def test_a_lost_response_after_commit_is_reconciled_by_reference_not_created_again(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = _workdir(tmp_path, sandbox)
        # Xero commits the batch, then every answer (the first and each idempotent replay) is lost.
        sandbox.faults.fail_next("PUT", INVOICES, status="drop_after", count=5)
        sleeps: list[float] = []
        first = _sync(work, sandbox, sleeps)
        assert first.result.exit_code is ExitCode.HELD_OR_FAILED
        assert len(sleeps) == 4  # retried with the same key, then gave up: fate unknown
        assert _references(sandbox) == Counter(REFS)  # Xero did create them, once each
        assert {st for _, st in _ledger(work).values()} == {"in_flight"}
        lines = _outcomes(_report(work))
        assert {o for o, _ in lines.values()} == {"failed"}
        assert all(why.startswith("unconfirmed:") for _, why in lines.values())
        assert all("do not create it by hand" in why for _, why in lines.values())

        second = _cli(work)
        assert second.exit_code == 0, second.output
        _assert_ledger_equals_sandbox(work, sandbox)
        lines = _outcomes(_report(work))
        assert {n: o for n, (o, _) in lines.items()} == dict.fromkeys(REFS, "adopted")
        assert all(why.startswith("reconciled by Reference") for _, why in lines.values())
        markdown = sorted((work.path / "reports").glob("*.md"), key=lambda p: p.stat().st_mtime_ns)[-1]
        assert "reconciled by Reference" in markdown.read_text()


def test_a_short_429_storm_is_waited_out_and_a_long_one_stops_the_run_with_exit_5(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = _workdir(tmp_path, sandbox)
        # Longer than the client's retries: the run stops cleanly, nothing is created.
        sandbox.faults.fail_next("PUT", INVOICES, status=429, count=50, retry_after=0)
        stopped = _cli(work)
        assert stopped.exit_code == ExitCode.STOPPED, stopped.output
        assert "429" in stopped.output and "Traceback" not in stopped.output
        assert sandbox.invoices() == []
        assert _watermark(work) is None
        sandbox.faults.clear()
        # A storm on every Accounting call, shorter than the retries, only slows the next run.
        sandbox.faults.fail_next("*", "/api.xro/2.0/", status=429, count=3, retry_after=0)
        result = _cli(work)
        assert result.exit_code == 0, result.output
        statuses = [s for _, p, s in sandbox.request_log if p.startswith("/api.xro/2.0/")]
        assert statuses.count(429) == 5 + 3  # five attempts at the create, then the short storm
        _assert_ledger_equals_sandbox(work, sandbox)
        assert {o for o, _ in _outcomes(_report(work)).values()} == {"created"}


def test_unreachable_xero_exits_3_writes_nothing_and_the_next_run_bills_everything_once(tmp_path: Path) -> None:
    data = tmp_path / "org"
    with XeroSandbox(port=0, data_dir=str(data)) as sandbox:
        work = _workdir(tmp_path / "work", sandbox)
        port = sandbox.port
    sleeps: list[float] = []
    stopped = _sync(work, sandbox, sleeps).result
    assert stopped.exit_code == stopped.stop_code == ExitCode.UNREACHABLE == 3
    assert any("cannot reach Xero" in e for e in stopped.report.errors)
    assert len(sleeps) == 4
    assert work.ledger() == []
    assert _watermark(work) is None
    with XeroSandbox(port=port, data_dir=str(data)) as sandbox:
        result = _cli(work)
        assert result.exit_code == 0, result.output
        _assert_ledger_equals_sandbox(work, sandbox)
