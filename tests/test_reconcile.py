"""`jobsync reconcile --month`: every billable job of the month, its invoice, or why it has none."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import requests

from jobsync.core.reconcile import MISSING
from jobsync.sandbox.xero.server import XeroSandbox
from tests.test_names_and_kinds import _workdir


def _row(n: int, day: str = "25/11/2026", quantity: str = "2") -> str:
    return f"J{n},{n},Completed,{day} 10:00,C{n},Client {n},c{n}@example.com,,labour,,Labour,{quantity},90.00,,,"


def _rows(path: Path) -> dict[str, dict[str, str]]:
    return {r["job"]: r for r in csv.DictReader(io.StringIO(path.read_text()))}


def test_a_month_with_invoiced_held_ignored_and_never_seen_jobs(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = _workdir(tmp_path, sandbox)
        first = [_row(1), _row(2, quantity="lots"), _row(3, quantity="lots"), _row(5, day="20/10/2026")]
        work.write_jobs(first)
        assert work.cli("run").exit_code == 1  # jobs 2 and 3 held
        assert work.cli("jobs", "ignore", "3", "--reason", "billed by hand").exit_code == 0
        work.write_jobs([*first, _row(4)])  # job 4 arrives after the last run: never seen
        out = tmp_path / "nov.csv"
        result = work.cli("reconcile", "--month", "2026-11", "--csv", str(out))
        assert result.exit_code == 1, result.output  # job 4 has no invoice and no reason
        rows = _rows(out)
        assert set(rows) == {"1", "2", "3", "4"}  # job 5 was completed in October
        assert rows["1"]["invoice"].startswith("INV-") and rows["1"]["status"] == "DRAFT"
        assert rows["1"]["jobsync total"] == rows["1"]["Xero total"] == "198.00" and rows["1"]["note"] == ""
        assert "lots" in rows["2"]["note"] and rows["2"]["invoice"] == ""
        assert rows["3"]["note"] == "ignored: billed by hand"
        assert rows["4"]["note"] == MISSING
        # Xero and the ledger disagree once the bookkeeper deletes job 1's invoice in Xero
        invoice = next(i for i in sandbox.invoices() if i["Reference"] == "1")
        deleted = requests.post(
            f"{sandbox.api_url}/Invoices/{invoice['InvoiceID']}",
            json={"Invoices": [{"InvoiceID": invoice["InvoiceID"], "Status": "DELETED"}]},
            headers={"Authorization": "Bearer sandbox", "xero-tenant-id": sandbox.tenant_id},
            timeout=5,
        )
        assert deleted.status_code == 200
        page = tmp_path / "nov.html"
        assert work.cli("reconcile", "--month", "2026-11", "--html", str(page)).exit_code == 1
        assert "Xero&#x27;s invoice is DELETED" in page.read_text()
        table = " ".join(work.cli("reconcile", "--month", "2026-11").output.split())
        assert "Xero holds" in table and "198.00" in table


def test_a_month_that_is_not_a_month_is_a_usage_error(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = _workdir(tmp_path, sandbox)
        work.write_jobs([_row(1)])
        result = work.cli("reconcile", "--month", "November")
        assert result.exit_code == 2 and "YYYY-MM" in result.output and "Traceback" not in result.output
