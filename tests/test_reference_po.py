"""The default Reference carries the PO, and no job invoiced under the old default is invoiced again."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import yaml

from jobsync.sandbox.xero.server import XeroSandbox
from tests.e2e import Workdir
from tests.test_names_and_kinds import _workdir

ROW = "J1,1001,Completed,25/11/2026 10:00,C1,Client One,c1@example.com,,labour,,Labour,2,90.00,,,PO-77"


def _pin_old_default(work_config: Path, pinned: bool) -> None:
    doc = yaml.safe_load(work_config.read_text())
    if pinned:
        doc["xero"]["reference_template"] = "{job.number}"  # how 0.1.0 wrote every Reference
    else:
        doc["xero"].pop("reference_template", None)
    work_config.write_text(yaml.safe_dump(doc))


def _invoiced_under_the_old_default(work: Workdir, config: Path) -> None:
    work.write_jobs([ROW])
    _pin_old_default(config, True)
    assert work.cli("run").exit_code == 0


def test_a_new_job_with_a_po_gets_number_then_po(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = _workdir(tmp_path, sandbox)
        work.write_jobs([ROW, ROW.replace("J1,1001", "J2,1002").replace("PO-77", "")])
        assert work.cli("run").exit_code == 0
        assert sorted(i["Reference"] for i in sandbox.invoices()) == ["1001 / PO PO-77", "1002"]


def test_an_in_flight_row_from_before_the_upgrade_keeps_its_reference_and_is_adopted(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = _workdir(tmp_path, sandbox)
        _invoiced_under_the_old_default(work, work.config)
        # The create reached Xero but the confirmation never reached the ledger (a crash, a lost answer).
        with sqlite3.connect(tmp_path / "state.db") as db:
            assert db.execute("UPDATE ledger SET state = 'in_flight', invoice_id = NULL").rowcount == 1
        _pin_old_default(work.config, False)  # the upgrade: the default Reference now carries the PO
        assert work.cli("run").exit_code == 0
        [invoice] = sandbox.invoices()
        assert invoice["Reference"] == "1001"
        [result] = work.last_report()["results"]
        assert result["outcome"] == "adopted" and result["invoice_id"] == invoice["InvoiceID"]


def test_an_invoice_made_under_the_old_default_is_found_when_the_ledger_is_lost(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = _workdir(tmp_path, sandbox)
        _invoiced_under_the_old_default(work, work.config)
        (tmp_path / "state.db").unlink()
        _pin_old_default(work.config, False)
        assert work.cli("run").exit_code == 0
        assert [i["Reference"] for i in sandbox.invoices()] == ["1001"]  # adopted, not made again
        assert work.last_report()["results"][0]["outcome"] == "adopted"
        assert work.cli("jobs", "forget", "1001", "--force").exit_code == 0  # found by its job number
