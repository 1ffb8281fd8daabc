"""`xero.approval: required`: nothing is created until a bookkeeper approves the draft's exact content."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import yaml

from jobsync.sandbox.xero.server import XeroSandbox
from tests.e2e import Workdir, make_workdir


def _row(n: int, price: str = "10.00") -> str:
    return f"J{n},{n},Completed,25/11/2026 10:00,C{n},Client {n},c{n}@example.com,,labour,,Labour,1,{price},,,"


def _approval_mode(work: Workdir) -> None:
    data = yaml.safe_load(work.config.read_text())
    data["xero"]["approval"] = "required"
    work.config.write_text(yaml.safe_dump(data))


def _queue(work: Workdir) -> list[tuple[str, str | None]]:
    with sqlite3.connect(work.path / "state.db") as db:
        return list(db.execute("SELECT job_number, approved FROM approvals ORDER BY job_number"))


def test_drafts_wait_for_approval_and_approving_one_makes_just_that_invoice_at_once(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        _approval_mode(work)
        work.write_jobs([_row(1), _row(2), _row(3)])
        first = work.cli("run")
        assert first.exit_code == 0, first.output  # waiting for a person is normal, not an alert
        assert sandbox.invoices() == []
        assert work.last_report()["counts"]["awaiting approval"] == 3
        assert [n for n, _ in _queue(work)] == ["1", "2", "3"]
        approved = work.cli("jobs", "approve", "2")
        assert approved.exit_code == 0, approved.output
        assert "2 (final): approved" in approved.output and "created" in approved.output
        assert [i["Reference"] for i in sandbox.invoices()] == ["2"]
        assert [n for n, _ in _queue(work)] == ["1", "3"]  # made: out of the queue
        assert work.cli("run").exit_code == 0
        assert len(sandbox.invoices()) == 1  # still only the approved one
        everything = work.cli("jobs", "approve", "--all")
        assert everything.exit_code == 0, everything.output
        assert sorted(i["Reference"] for i in sandbox.invoices()) == ["1", "2", "3"]
        assert _queue(work) == [] and work.cli("run").exit_code == 0 and len(sandbox.invoices()) == 3


def test_a_job_changed_after_its_approval_goes_back_to_the_queue(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        _approval_mode(work)
        work.write_jobs([_row(1)])
        assert work.cli("run").exit_code == 0
        with sqlite3.connect(work.path / "state.db") as db:  # approved as it was, not yet applied
            db.execute("UPDATE approvals SET approved = planned, approved_by = 'sam'")
        work.write_jobs([_row(1, "12.00")])  # the price changes before the next apply
        again = work.cli("run")
        assert again.exit_code == 0
        assert sandbox.invoices() == []
        result = next(r for r in work.last_report()["results"] if r["job_number"] == "1")
        assert result["outcome"] == "awaiting approval" and "changed after it was approved" in result["reason"]
        assert _queue(work)[0][1] is not None  # the old approval is kept but no longer admits
        stale = work.cli("jobs", "approve", "1")
        assert stale.exit_code == 0 and [i["Total"] for i in sandbox.invoices()] != []
        assert str(sandbox.invoices()[0]["SubTotal"]) in ("12.00", "12.0", "12")


def test_without_approval_mode_nothing_waits(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        work.write_jobs([_row(1)])
        assert work.cli("run").exit_code == 0
        assert len(sandbox.invoices()) == 1 and _queue(work) == []
        refused = work.cli("jobs", "approve", "1")
        assert refused.exit_code != 0 and "nothing waits for approval" in refused.output
