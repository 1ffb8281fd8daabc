"""The job system's tax decides the Xero tax type, and its own total is checked, on every connector.

Each job here has a 10 % GST line (2 × 50.00) and a GST-free line (1 × 30.00). Worked out here, not by
jobsync: subtotal 130.00, tax 10.00 (only the GST line's 100.00 carries 10 %), total 140.00.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from jobsync.samples import csv_header, csv_source, sandbox_config
from jobsync.sandbox import rest_jobs
from jobsync.sandbox.servicem8 import ServiceM8Sandbox
from jobsync.sandbox.simpro import SimproSandbox
from jobsync.sandbox.xero.server import XeroSandbox
from tests.e2e import Workdir, xero_api

RULES: dict[str, Any] = {
    "lines": [{"name": "labour", "when": {"kind": "labour"}, "account_code": "205", "tax_type": "OUTPUT"}],
    "default": {"account_code": "200", "tax_type": "OUTPUT"},
}
MIXED = (Decimal("130.00"), Decimal("10.00"), Decimal("140.00"))


def _run(tmp_path: Path, sandbox: XeroSandbox, source: dict[str, Any], rules: dict[str, Any] = RULES, **extra: Any):  # type: ignore[no-untyped-def]
    (tmp_path / "jobsync.yaml").write_text(
        sandbox_config(sandbox.api_url, sandbox.identity_url, sandbox.tenant_id, source, rules, **extra)
    )
    work = Workdir(tmp_path)
    return work, work.cli("run")


def _invoice(xero: XeroSandbox, reference: str):  # type: ignore[no-untyped-def]
    api = xero_api(xero)
    found = api.get_invoices(xero.tenant_id, where=f'Reference=="{reference}"').invoices
    assert len(found) == 1, f"{len(found)} invoices with Reference {reference}"
    return api.get_invoice(xero.tenant_id, found[0].invoice_id).invoices[0]


def _taxes_and_totals(invoice: Any) -> tuple[list[tuple[str, Decimal, Decimal]], tuple[Decimal, ...]]:
    lines = sorted((li.tax_type, li.line_amount, li.tax_amount) for li in invoice.line_items)
    return lines, (invoice.sub_total, invoice.total_tax, invoice.total)


EXPECTED_LINES = [("EXEMPTOUTPUT", Decimal("30.00"), Decimal("0.00")), ("OUTPUT", Decimal("100.00"), Decimal("10.00"))]


# -- ServiceM8 ------------------------------------------------------------------------------------


def _servicem8_job(sm8: ServiceM8Sandbox, number: str, **job: Any) -> str:
    sm8.set_vendor(name="Tax Test Plumbing", timezone_name="Australia/Sydney")
    gst = sm8.add_taxrate(name="GST", amount="10", is_default_tax_rate=1)
    free = sm8.add_taxrate(name="GST Free", amount="0")
    company = sm8.add_company(name=f"Client {number}", is_individual=0)
    sm8.add_contact(company, type="BILLING", first="Pat", last="Lee", email=f"c{number}@example.com")
    fields = {
        "status": "Completed",
        "company_uuid": company,
        "generated_job_id": number,
        "completion_date": "2026-11-20 10:00:00",
        **job,
    }
    uid = sm8.add_job(**fields)
    sm8.add_material(uid, name="Copper pipe", quantity="2", price="50.00", tax_rate_uuid=gst)
    sm8.add_material(uid, name="Water tank rebate item", quantity="1", price="30.00", tax_rate_uuid=free)
    return uid


def _servicem8_source(sm8: ServiceM8Sandbox) -> dict[str, Any]:
    return {
        "type": "servicem8",
        "base_url": sm8.url,
        "api_key": sm8.api_key,
        "start_from": "2026-11-01",
        "timezone": "Australia/Sydney",
    }


def test_a_servicem8_gst_free_line_is_gst_free_in_xero(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as xero, ServiceM8Sandbox(port=0) as sm8:
        _servicem8_job(sm8, "7001")
        _, result = _run(tmp_path, xero, _servicem8_source(sm8))
        assert result.exit_code == 0, result.output
        assert _taxes_and_totals(_invoice(xero, "7001")) == (EXPECTED_LINES, MIXED)


def test_a_servicem8_total_that_disagrees_holds_the_job_with_both_figures(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as xero, ServiceM8Sandbox(port=0) as sm8:
        _servicem8_job(sm8, "7002", total_invoice_amount="150.00")  # ServiceM8 showed the client 150.00
        work, result = _run(tmp_path, xero, _servicem8_source(sm8))
        assert result.exit_code == 1, result.output
        assert xero.invoices() == []
        held = work.last_report()["results"]
        reason = next(r["reason"] for r in held if r["job_number"] == "7002")
        assert "150.00" in reason and "140.00" in reason


def test_total_tolerance_off_switches_the_check_off(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as xero, ServiceM8Sandbox(port=0) as sm8:
        _servicem8_job(sm8, "7003", total_invoice_amount="150.00")
        _, result = _run(tmp_path, xero, _servicem8_source(sm8), xero={"total_tolerance": "off"})
        assert result.exit_code == 0, result.output
        assert _invoice(xero, "7003").total == Decimal("140.00")


# -- simPRO ---------------------------------------------------------------------------------------


def test_a_simpro_gst_free_item_is_gst_free_in_xero(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as xero, SimproSandbox(port=0) as simpro:
        customer = simpro.add_company("Client 7101")
        job = simpro.add_job(customer, CompletedDate="2026-11-20")
        section = simpro.add_section(job)
        cc = simpro.add_cost_center(job, section)
        simpro.add_item(job, section, cc, "catalogs", price=50, qty=2, Catalog={"ID": 1, "PartNo": "P", "Name": "Pipe"})
        simpro.add_item(
            job,
            section,
            cc,
            "catalogs",
            price=30,
            qty=1,
            Catalog={"ID": 2, "PartNo": "T", "Name": "Tank"},
            tax={"ID": 2, "Code": "FRE", "Type": "Single", "Rate": 0},
        )
        source = {
            "type": "simpro",
            "base_url": simpro.url,
            "api_key": simpro.token,
            "start_from": "2026-11-01",
            "timezone": "Australia/Sydney",
        }
        _, result = _run(tmp_path, xero, source)
        assert result.exit_code == 0, result.output
        assert _taxes_and_totals(_invoice(xero, str(job))) == (EXPECTED_LINES, MIXED)


# -- CSV ------------------------------------------------------------------------------------------


def _csv(tmp_path: Path, *taxes: str) -> None:
    job = "J7201,7201,Completed,20/11/2026 10:00,C1,Client 7201,c7201@example.com,,material,"
    rows = [f"{job},Copper pipe,2,50.00,,{taxes[0]},", f"{job},Tank,1,30.00,,{taxes[1]},"]
    (tmp_path / "jobs.csv").write_text("\n".join([csv_header(), *rows]) + "\n")


def _csv_source() -> dict[str, Any]:
    return csv_source(timezone="Australia/Sydney", start_from="2026-11-01")


def test_a_csv_tax_column_by_name_through_tax_map(tmp_path: Path) -> None:
    _csv(tmp_path, "GST", "GST Free")
    rules = {**RULES, "tax_map": {"GST": "OUTPUT", "gst free": "EXEMPTOUTPUT"}}  # keys compare case-insensitively
    with XeroSandbox(port=0) as xero:
        _, result = _run(tmp_path, xero, _csv_source(), rules)
        assert result.exit_code == 0, result.output
        assert _taxes_and_totals(_invoice(xero, "7201")) == (EXPECTED_LINES, MIXED)


def test_a_csv_tax_column_by_rate_needs_no_map(tmp_path: Path) -> None:
    _csv(tmp_path, "10%", "0")
    with XeroSandbox(port=0) as xero:
        _, result = _run(tmp_path, xero, _csv_source())
        assert result.exit_code == 0, result.output
        assert _taxes_and_totals(_invoice(xero, "7201")) == (EXPECTED_LINES, MIXED)


def test_a_tax_no_sales_type_matches_holds_naming_the_tax_map_key(tmp_path: Path) -> None:
    _csv(tmp_path, "GST", "VAT 15%")
    with XeroSandbox(port=0) as xero:
        work, result = _run(tmp_path, xero, _csv_source())
        assert result.exit_code == 1, result.output
        assert xero.invoices() == []
        reason = work.last_report()["results"][0]["reason"]
        assert "rules.tax_map" in reason and "'GST'" in reason


def test_a_rule_matches_on_the_source_tax_and_tax_override_wins_over_it(tmp_path: Path) -> None:
    _csv(tmp_path, "10", "GST Free")
    rules = {
        "lines": [
            {"name": "exempt", "when": {"tax": "gst free"}, "account_code": "260"},
            {
                "name": "forced",
                "when": {"tax": "10%"},
                "account_code": "200",
                "tax_type": "EXEMPTOUTPUT",
                "tax_override": True,
            },
        ],
        "default": {"account_code": "200", "tax_type": "OUTPUT"},
        "tax_map": {"GST Free": "EXEMPTOUTPUT"},
    }
    with XeroSandbox(port=0) as xero:
        _, result = _run(tmp_path, xero, _csv_source(), rules)
        assert result.exit_code == 0, result.output
        invoice = _invoice(xero, "7201")
        lines = sorted((li.account_code, li.tax_type, li.line_amount) for li in invoice.line_items)
        assert lines == [("200", "EXEMPTOUTPUT", Decimal("100.00")), ("260", "EXEMPTOUTPUT", Decimal("30.00"))]
        assert invoice.total == Decimal("130.00")  # the override made the 10 % line GST-free too


# -- REST -----------------------------------------------------------------------------------------


def test_a_rest_dotted_tax_path_decides_the_tax_type(tmp_path: Path) -> None:
    job = {
        "id": "r1",
        "number": "7301",
        "status": "completed",
        "updated_at": "2026-11-20T10:00:00Z",
        "completed_at": "2026-11-20T10:00:00Z",
        "customer": {"id": "k1", "name": "Client 7301"},
        "line_items": [
            {"description": "Pipe", "quantity": 2, "unit_price": 50, "tax": {"name": "GST", "rate": 10}},
            {"description": "Tank", "quantity": 1, "unit_price": 30, "tax": {"name": "GST Free", "rate": 0}},
        ],
    }
    with XeroSandbox(port=0) as xero, rest_jobs.RestJobsApi([job]) as api:
        fields = {
            "job_id": "id",
            "job_number": "number",
            "status": "status",
            "updated_at": "updated_at",
            "completed_at": "completed_at",
            "client_id": "customer.id",
            "client_name": "customer.name",
            "description": "description",
            "quantity": "quantity",
            "unit_price": "unit_price",
            "tax_code": "tax.name",
            "tax_rate": "tax.rate",
        }
        paging = {"style": "cursor_body", "records_path": "data", "cursor_path": "meta.next_cursor"}
        rest = {"fields": fields, "auth": "bearer", "list_path": "/jobs", "lines_path": "line_items", "paging": paging}
        source = {
            "type": "rest",
            "base_url": api.url,
            "api_key": rest_jobs.TOKEN,
            "start_from": "2026-11-01",
            "statuses": ["completed"],
            "rest": rest,
        }
        _, result = _run(tmp_path, xero, source)
        assert result.exit_code == 0, result.output
        assert _taxes_and_totals(_invoice(xero, "7301")) == (EXPECTED_LINES, MIXED)
