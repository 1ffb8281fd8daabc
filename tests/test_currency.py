"""A contact whose Xero default currency is not the organisation's, and a job that states a currency,
are invoiced in that currency."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import requests

from jobsync.samples import csv_header, csv_source, sandbox_config
from jobsync.sandbox.xero.server import XeroSandbox
from tests.e2e import RULES, Workdir, xero_api

COLUMNS = [*csv_source()["columns"]]


def _put_contact(sandbox: XeroSandbox, name: str, email: str, currency: str) -> None:
    body = {"Contacts": [{"Name": name, "EmailAddress": email, "DefaultCurrency": currency}]}
    headers = {"Authorization": "Bearer sandbox", "Xero-tenant-id": sandbox.tenant_id}
    assert requests.put(f"{sandbox.api_url}/Contacts", json=body, headers=headers, timeout=10).status_code == 200


def _work(tmp_path: Path, sandbox: XeroSandbox, rows: list[str], with_currency: bool = False) -> Workdir:
    source = csv_source(keys=COLUMNS, timezone="Australia/Sydney", start_from="2026-11-01")
    if with_currency:
        source["columns"]["currency"] = "Currency"
    (tmp_path / "jobsync.yaml").write_text(
        sandbox_config(sandbox.api_url, sandbox.identity_url, sandbox.tenant_id, source, RULES)
    )
    header = csv_header(COLUMNS) + (",Currency" if with_currency else "")
    (tmp_path / "jobs.csv").write_text("\n".join([header, *rows]) + "\n")
    return Workdir(tmp_path)


def _currencies(sandbox: XeroSandbox) -> dict[str, tuple[str, Decimal]]:
    found = xero_api(sandbox).get_invoices(sandbox.tenant_id).invoices
    return {i.reference: (getattr(i.currency_code, "value", i.currency_code), i.total) for i in found}


def test_a_contact_with_a_foreign_default_currency_is_invoiced_in_it(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        _put_contact(sandbox, "Auckland Marine Ltd", "ap@aucklandmarine.example", "NZD")
        rows = [
            "J1,6001,Completed,20/11/2026 10:00,C1,Auckland Marine Ltd,ap@aucklandmarine.example,,labour,,"
            "Labour,1,100.00,,,",
            "J2,6002,Completed,20/11/2026 10:00,C2,Local Client,local@example.com,,labour,,Labour,1,100.00,,,",
        ]
        work = _work(tmp_path, sandbox, rows)
        assert work.cli("run").exit_code == 0
        assert _currencies(sandbox) == {"6001": ("NZD", Decimal("110.00")), "6002": ("AUD", Decimal("110.00"))}


def test_a_job_that_states_its_currency_is_invoiced_in_it(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        rows = ["J1,6101,Completed,20/11/2026 10:00,C1,US Visitor,us@example.com,,labour,,Labour,1,100.00,,,,usd"]
        work = _work(tmp_path, sandbox, rows, with_currency=True)
        result = work.cli("run")
        assert result.exit_code == 0, result.output
        assert _currencies(sandbox) == {"6101": ("USD", Decimal("110.00"))}
