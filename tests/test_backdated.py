"""Jobs that appear below the watermark are still invoiced, once, and said out loud.

A CSV export gains 500 jobs completed before the last run's watermark minus its overlap window. Every
one is invoiced by the next run, the run names them as found outside the normal read window, and a
rerun creates none.
"""

from __future__ import annotations

from pathlib import Path

from jobsync.sandbox.xero.server import XeroSandbox
from tests.e2e import make_workdir


def _row(n: int, day: int) -> str:
    return f"J{n},{n},Completed,{day:02d}/11/2026 10:00,C{n},Client {n},c{n}@example.com,,labour,,Labour,1,10.00,,,"


def test_500_backdated_rows_are_each_invoiced_once_and_reported(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        work.write_jobs([_row(1, 25)])
        assert work.cli("run").exit_code == 0  # the watermark is now 25/11; the overlap reaches 24/11
        late = [_row(n, 2 + n % 20) for n in range(1000, 1500)]  # completed 2–21 November
        work.write_jobs([_row(1, 25), *late])
        braked = work.cli("run")
        assert braked.exit_code == 5 and sandbox.invoices() != [] and len(sandbox.invoices()) == 1  # the brake first
        result = work.cli("run", "--force")
        assert result.exit_code == 0, result.output
        report = work.last_report()
        assert report["counts"]["created"] == 500
        assert len(report["extra"]["outside_window"]) == 500
        assert "found outside the normal read window" in result.output
        assert len(sandbox.invoices()) == 501
        again = work.cli("run")
        assert again.exit_code == 0 and work.last_report()["counts"]["created"] == 0
        references = [i["Reference"] for i in sandbox.invoices()]
        assert len(references) == len(set(references)) == 501
