"""An invoice found by Reference is adopted only when it is this job's: same contact, same total.

Two job systems in one organisation each have a job J-8000. The first source's invoice (110.00, another
client) must not swallow the second source's job (550.00): that job is held, naming both invoices and
the fix, and invoiced once the References are kept apart.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import requests

from jobsync.samples import csv_source, sandbox_config
from jobsync.sandbox.xero.server import XeroSandbox
from tests.e2e import RULES, Workdir, xero_api

ROW = "J8000,J-8000,Completed,20/11/2026 10:00,C-80,Second Client,second@example.com,,labour,,Labour,5,100.00,,,"


def _other_source_invoice(sandbox: XeroSandbox) -> None:
    body = {
        "Invoices": [
            {
                "Type": "ACCREC",
                "Contact": {"Name": "First Client"},
                "Reference": "J-8000",
                "Status": "DRAFT",
                "LineItems": [
                    {
                        "Description": "Labour",
                        "Quantity": 1,
                        "UnitAmount": 100,
                        "AccountCode": "205",
                        "TaxType": "OUTPUT",
                    }
                ],
            }
        ]
    }
    headers = {"Authorization": "Bearer sandbox", "Xero-tenant-id": sandbox.tenant_id}
    assert requests.put(f"{sandbox.api_url}/Invoices", json=body, headers=headers, timeout=10).status_code == 200


def _work(tmp_path: Path, sandbox: XeroSandbox, **xero: str) -> Workdir:
    source = csv_source(timezone="Australia/Sydney", start_from="2026-11-01")
    (tmp_path / "jobsync.yaml").write_text(
        sandbox_config(sandbox.api_url, sandbox.identity_url, sandbox.tenant_id, source, RULES, xero=xero)
    )
    work = Workdir(tmp_path)
    work.write_jobs([ROW])
    return work


def test_another_sources_invoice_with_the_same_reference_is_not_adopted(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        _other_source_invoice(sandbox)
        work = _work(tmp_path, sandbox)
        result = work.cli("run")
        assert result.exit_code == 1, result.output
        outcome = next(r for r in work.last_report()["results"] if r["job_number"] == "J-8000")
        assert outcome["outcome"] == "held"
        reason = outcome["reason"]
        assert "INV-" in reason and "First Client, 110.00" in reason and "Second Client, 550.00" in reason
        assert "reference_template" in reason and "{job.source}-{job.number}" in reason
        assert len(xero_api(sandbox).get_invoices(sandbox.tenant_id).invoices) == 1  # nothing adopted, nothing sent


def test_with_the_source_in_the_reference_the_job_is_invoiced_once(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        _other_source_invoice(sandbox)
        work = _work(tmp_path, sandbox, reference_template="{job.source}-{job.number}")
        assert work.cli("run").exit_code == 0
        assert work.cli("run").exit_code == 0
        found = {
            i.reference: (i.contact.name, i.total) for i in xero_api(sandbox).get_invoices(sandbox.tenant_id).invoices
        }
        assert found == {
            "J-8000": ("First Client", Decimal("110.00")),
            "csv-J-8000": ("Second Client", Decimal("550.00")),
        }


def test_this_jobs_own_invoice_is_still_adopted_after_a_lost_state_file(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = _work(tmp_path, sandbox)
        assert work.cli("run").exit_code == 0
        (tmp_path / "state.db").unlink()
        again = work.cli("run")
        assert again.exit_code == 0, again.output
        assert [r["outcome"] for r in work.last_report()["results"]] == ["adopted"]
        assert len(xero_api(sandbox).get_invoices(sandbox.tenant_id).invoices) == 1
