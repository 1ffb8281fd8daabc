"""What a quiet day costs: a run with nothing new or changed asks Xero nothing, held jobs are re-planned
at most every `held_recheck_minutes` (at once after `jobs retry` or a config change), and anything that
could change a settled job's plan (an edit, `jobs forget`) brings it back into the plan."""

from __future__ import annotations

import re
from pathlib import Path

from jobsync.sandbox.xero.server import XeroSandbox
from tests.e2e import Workdir, make_workdir


def _row(n: int, quantity: str = "1", price: str = "10.00") -> str:
    return f"J{n},{n},Completed,25/11/2026 10:00,C{n},Client {n},c{n}@example.com,,labour,,Labour,{quantity},{price},,,"


def _api_calls(sandbox: XeroSandbox, since: int) -> list[str]:
    return [f"{m} {p}" for m, p, _ in sandbox.request_log[since:] if p.startswith("/api.xro/2.0/")]


def _run(work: Workdir, sandbox: XeroSandbox, *args: str) -> tuple[int, list[str]]:
    mark = len(sandbox.request_log)
    result = work.cli("run", *args)
    return result.exit_code, _api_calls(sandbox, mark)


def test_an_idle_run_makes_no_accounting_api_call(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        work.write_jobs([_row(1), _row(2)])
        code, calls = _run(work, sandbox)
        assert code == 0 and len(sandbox.invoices()) == 2 and calls
        for _ in range(3):
            code, calls = _run(work, sandbox)
            assert (code, calls) == (0, [])
        report = work.last_report()
        assert report["counts"]["skipped"] == 2 and report["counts"]["created"] == 0  # still accounted for
        assert len(sandbox.invoices()) == 2


def test_held_jobs_are_rechecked_hourly_or_at_once_on_retry(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        work.write_jobs([_row(1), _row(2, quantity="lots")])
        code, _ = _run(work, sandbox)
        assert code == 1 and len(sandbox.invoices()) == 1  # job 2 is held
        code, calls = _run(work, sandbox)
        assert (code, calls) == (1, [])  # within the hour the unchanged held job is not re-planned...
        held = [r for r in work.last_report()["results"] if r["outcome"] == "held"]
        assert [r["job_number"] for r in held] == ["2"] and "lots" in held[0]["reason"]  # ...but still reported
        retried = work.cli("jobs", "retry", "2")  # a person asks for it now: re-planned at once
        assert retried.exit_code == 1 and "Job 2 (final): held: " in retried.output and "lots" in retried.output
        assert work.last_report()["api_calls"].get("GET /Contacts") == 1  # re-planned: its contact was read
        assert len(sandbox.invoices()) == 1
        work.write_jobs([_row(1), _row(2, quantity="3")])  # fixed in the job system
        retried = work.cli("jobs", "retry", "2")
        assert retried.exit_code == 0 and re.search(r"Job 2 \(final\): created INV-\d+", retried.output)
        assert len(sandbox.invoices()) == 2
        work.write_jobs([_row(1), _row(2), _row(3)])  # a new job: planned at once, no retry needed
        code, calls = _run(work, sandbox)
        assert code == 0 and "PUT /api.xro/2.0/Invoices" in calls and len(sandbox.invoices()) == 3


def test_an_edited_or_forgotten_job_is_planned_again(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        work.write_jobs([_row(1), _row(2)])
        assert _run(work, sandbox)[0] == 0
        work.write_jobs([_row(1), _row(2, price="12.00")])  # edited after it was invoiced
        code, calls = _run(work, sandbox)
        assert calls and len(sandbox.invoices()) == 2  # planned again, and never invoiced twice
        changed = [r for r in work.last_report()["results"] if r["job_number"] == "2"]
        assert changed and changed[0]["outcome"] == "skipped"
        invoice = next(i for i in sandbox.invoices() if i["Reference"].startswith("1"))
        sandbox_delete = work.cli("jobs", "forget", "1", "--force")
        assert sandbox_delete.exit_code == 0, sandbox_delete.output
        code, calls = _run(work, sandbox)
        assert "PUT /api.xro/2.0/Invoices" in calls and len(sandbox.invoices()) == 3 and invoice
