"""The bookkeeper's controls, end to end: real runs against the sandbox, then `jobs …` through the CLI."""

from __future__ import annotations

import getpass
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import typer
from typer.testing import CliRunner

from jobsync.app.controls import list_jobs, resolve
from jobsync.cli.jobs import jobs_app
from jobsync.sandbox.xero.server import XeroSandbox
from jobsync.state.store import State
from tests.e2e import Workdir, make_workdir
from tests.test_e2e_run import ROWS

app = typer.Typer()
app.add_typer(jobs_app, name="jobs")


def jobs(work: Workdir, *args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["jobs", *args, "--config", str(work.config)])


@pytest.fixture
def ran(tmp_path: Path) -> Iterator[tuple[Workdir, XeroSandbox]]:
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        work.write_jobs(ROWS)
        assert work.cli("run").exit_code == 1  # 1004 and 1005 held
        yield work, sandbox


def _state(work: Workdir) -> State:
    return State.open(work.path / "state.db")


def _listed(work: Workdir, *flags: str) -> dict[str, dict[str, str]]:
    result = jobs(work, "list", "--json", *flags)
    assert result.exit_code == 0, result.output
    return {row["job_number"]: row for row in json.loads(result.stdout)}


def test_list_shows_held_jobs_with_reasons_and_invoiced_jobs_with_numbers(ran: tuple[Workdir, XeroSandbox]) -> None:
    work, sandbox = ran
    held = _listed(work, "--held")
    assert set(held) == {"1004", "1005"} and "two" in held["1005"]["reason"]
    invoiced = _listed(work, "--invoiced")
    # job number -> invoice number; the Reference is the number, then the PO when the job has one
    numbers = {i["Reference"].split(" / PO ")[0]: i["InvoiceNumber"] for i in sandbox.invoices()}
    assert {k: v["invoice_number"] for k, v in invoiced.items()} == numbers
    table = jobs(work, "list").output
    assert "1004" in table and "held" in table and numbers["1001"] in table
    assert jobs(work, "list", "--held", "--failed").exit_code == 2


def test_ignore_needs_a_reason_is_recorded_and_survives_until_retry(ran: tuple[Workdir, XeroSandbox]) -> None:
    work, _ = ran
    assert jobs(work, "ignore", "1005", "--reason", "  ").exit_code == 2
    result = jobs(work, "ignore", "1005", "--reason", "billed in the old system")
    assert result.exit_code == 0, result.output
    assert _listed(work, "--ignored")["1005"]["reason"] == "billed in the old system"
    assert "1005" not in _listed(work, "--held")
    with _state(work) as state:
        action = state.actions(job_id="J5")[0]
        assert (action.action, action.who) == ("ignore", getpass.getuser())
        assert json.loads(action.detail or "")["reason"] == "billed in the old system"
    retried = jobs(work, "retry", "1005")  # re-planned now: still held, and it says why
    assert retried.exit_code == 1 and "Job 1005 (final): held: " in retried.output
    assert "1005" in _listed(work, "--held")
    with _state(work) as state:
        assert [a.action for a in state.actions(job_id="J5")] == ["retry", "ignore"]


def test_unknown_job_is_a_usage_error_naming_the_fix(ran: tuple[Workdir, XeroSandbox]) -> None:
    work, _ = ran
    result = jobs(work, "retry", "9999")
    assert result.exit_code == 2 and "jobsync jobs list" in result.output


def test_forget_refuses_while_xero_has_the_invoice_then_the_next_run_invoices_again(
    ran: tuple[Workdir, XeroSandbox],
) -> None:
    work, sandbox = ran
    first = next(i for i in sandbox.invoices() if i["Reference"] == "1001 / PO PO-77")
    refused = jobs(work, "forget", "1001")
    assert refused.exit_code == 1 and first["InvoiceNumber"] in refused.output and "--force" in refused.output
    # The bookkeeper deletes the draft in Xero.
    deleted = requests.post(
        f"{sandbox.api_url}/Invoices/{first['InvoiceID']}",
        json={"Invoices": [{"InvoiceID": first["InvoiceID"], "Status": "DELETED"}]},
        headers={"Authorization": "Bearer sandbox", "xero-tenant-id": sandbox.tenant_id, "Accept": "application/json"},
        timeout=5,
    )
    assert deleted.status_code == 200, deleted.text
    result = jobs(work, "forget", "1001")
    assert result.exit_code == 0, result.output
    with _state(work) as state:
        assert state.ledger_for("csv", ["J1"]) == {}
        assert state.actions(job_id="J1")[0].action == "forget"
    assert work.cli("run").exit_code == 1
    again = [i for i in sandbox.invoices() if i["Reference"] == "1001 / PO PO-77"]
    assert sorted(i["Status"] for i in again) == ["DELETED", "DRAFT"]


def test_forget_with_force_goes_ahead_and_says_so(ran: tuple[Workdir, XeroSandbox]) -> None:
    work, _ = ran
    result = jobs(work, "forget", "1002", "--force")
    assert result.exit_code == 0 and "Forced" in result.output
    with _state(work) as state:
        assert json.loads(state.actions(job_id="J2")[0].detail or "")["force"] == "true"


def test_mark_invoiced_stops_the_hold_and_the_next_run_skips_it(ran: tuple[Workdir, XeroSandbox]) -> None:
    work, sandbox = ran
    count = len(sandbox.invoices())
    result = jobs(work, "mark-invoiced", "1004", "--invoice", "INV-0042")
    assert result.exit_code == 0, result.output
    assert _listed(work, "--invoiced")["1004"]["invoice_number"] == "INV-0042"
    work.cli("run")
    by_job = {r["job_number"]: r for r in work.last_report()["results"]}
    assert "1004" not in by_job or by_job["1004"]["outcome"] == "skipped"
    assert len(sandbox.invoices()) == count
    with _state(work) as state:
        assert [h.job_number for h in state.holds("csv")] == ["1005"]
        assert resolve(state, "csv", "1004") is not None
        assert {v.job_number for v in list_jobs(state, "csv", "held")} == {"1005"}
