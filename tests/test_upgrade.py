"""A state file and config written by jobsync 0.1.0 keep working: nothing lost, nothing invoiced twice.

`tests/data/v0_1_0/state.db` was written by 0.1.0's own code (see make_state.py there), and
`config.example.yaml` there is 0.1.0's example config, unchanged.
"""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import requests

from jobsync.config.settings import load_settings
from jobsync.samples import csv_source, sandbox_config
from jobsync.sandbox.xero.server import XeroSandbox
from jobsync.state.store import SCHEMA_VERSION, State
from tests.e2e import RULES, Workdir, xero_api

FIXTURE = Path(__file__).parent / "data" / "v0_1_0"


def _row(n: int, client: str | None = None, day: int = 20) -> str:
    name = f"Client {n}" if client is None else client
    return f"J{n},{n},Completed,{day}/11/2026 10:00,C{n},{name},c{n}@example.com,,labour,,Labour,2,50.00,,,"


def test_a_0_1_0_config_still_loads() -> None:
    env = {"XERO_TENANT_ID": "t", "XERO_ACCESS_TOKEN": "x"}
    settings = load_settings(FIXTURE / "config.example.yaml", env)
    assert settings.source.type == "csv" and settings.xero.reference_template == "{job.number}"


def test_a_0_1_0_state_file_is_migrated_and_nothing_is_lost_or_invoiced_twice(tmp_path: Path) -> None:
    shutil.copy(FIXTURE / "state.db", tmp_path / "state.db")
    with XeroSandbox(port=0) as sandbox:
        api = xero_api(sandbox)
        # Job 1002's create reached Xero before 0.1.0 lost the response: the invoice is there.
        lost = {
            "Type": "ACCREC",
            "Contact": {"Name": "Client 1002"},
            "Reference": "1002",
            "Status": "DRAFT",
            "LineItems": [
                {"Description": "Labour", "Quantity": 2, "UnitAmount": 50, "AccountCode": "205", "TaxType": "OUTPUT"}
            ],
        }
        headers = {"Authorization": "Bearer sandbox", "Xero-tenant-id": sandbox.tenant_id}
        put = requests.put(f"{sandbox.api_url}/Invoices", json={"Invoices": [lost]}, headers=headers, timeout=10)
        assert put.status_code == 200, put.text
        source = csv_source(timezone="Australia/Sydney", start_from="2026-11-01")
        config = sandbox_config(sandbox.api_url, sandbox.identity_url, sandbox.tenant_id, source, RULES)
        (tmp_path / "jobsync.yaml").write_text(config)
        work = Workdir(tmp_path)
        work.write_jobs([_row(1001), _row(1002), _row(1003), _row(1004, day=22), _row(1005)])
        result = work.cli("run")
        assert result.exit_code == 0, result.output
        by_reference: dict[str, list[Decimal]] = {}
        for invoice in api.get_invoices(sandbox.tenant_id).invoices:
            by_reference.setdefault(invoice.reference, []).append(invoice.total)
    # 1001 was confirmed by 0.1.0 (its invoice lives in another org's history here): never sent again.
    # 1002 is adopted, not created twice; 1003 (held then) and 1004 are invoiced; 1005 stays ignored.
    assert by_reference == {"1002": [Decimal("110.00")], "1003": [Decimal("110.00")], "1004": [Decimal("110.00")]}
    with State.open(tmp_path / "state.db") as state:
        assert state.schema_version() == SCHEMA_VERSION
        ledger = state.ledger_for("csv", ["J1001", "J1002", "J1003", "J1004", "J1005"])
        assert {key[1]: entry.state.value for key, entry in ledger.items()} == {
            "J1001": "confirmed",
            "J1002": "confirmed",
            "J1003": "confirmed",
            "J1004": "confirmed",
        }
        assert ledger[("csv", "J1001", "final")].invoice_number == "INV-0001"
        assert [h.job_id for h in state.holds("csv", "ignored")] == ["J1005"]
        assert any(a.action == "ignore" for a in state.actions())
