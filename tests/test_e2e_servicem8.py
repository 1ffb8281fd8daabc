"""End to end through the ServiceM8 path: emulator → ServiceM8Source → plan → sandbox Xero."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from jobsync.samples import sandbox_config
from jobsync.sandbox.servicem8 import ServiceM8Sandbox
from jobsync.sandbox.xero.server import XeroSandbox
from tests.e2e import Workdir, xero_api

RULES = {
    "lines": [
        {"name": "labour", "when": {"kind": "labour"}, "account_code": "205", "tax_type": "OUTPUT"},
        {"name": "call-out", "when": {"description": "call[- ]?out"}, "account_code": "260", "tax_type": "OUTPUT"},
        {"name": "materials", "when": {"kind": "material"}, "account_code": "210", "tax_type": "OUTPUT"},
    ],
    "default": {"account_code": "200", "tax_type": "OUTPUT"},
}


def _workdir(tmp_path: Path, xero: XeroSandbox, sm8: ServiceM8Sandbox) -> Workdir:
    source = {
        "type": "servicem8",
        "base_url": sm8.url,
        "api_key": "sm8-sandbox-key",
        "start_from": "2026-03-01",
        "timezone": "Australia/Sydney",
    }
    (tmp_path / "jobsync.yaml").write_text(
        sandbox_config(xero.api_url, xero.identity_url, xero.tenant_id, source, RULES)
    )
    return Workdir(tmp_path)


def test_servicem8_job_becomes_a_draft_invoice_with_the_right_client_lines_and_totals(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as xero, ServiceM8Sandbox(port=0).load_seed() as sm8:
        work = _workdir(tmp_path, xero, sm8)
        result = work.cli("run")
        assert result.exit_code in (0, 1), result.output
        api = xero_api(xero)
        found = api.get_invoices(xero.tenant_id, where='Reference=="1001 / PO PO-7781"').invoices
        assert len(found) == 1
        inv = api.get_invoice(xero.tenant_id, found[0].invoice_id).invoices[0]
        assert inv.contact.name == "Bondi Beach Cafe Pty Ltd"
        contact = next(c for c in xero.contacts() if c["Name"] == "Bondi Beach Cafe Pty Ltd")
        assert contact["EmailAddress"] == "accounts@bondicafe.example"  # the BILLING contact's email
        codes = [(li.account_code, li.line_amount) for li in inv.line_items]
        # labour 2.5 × 95.00; pipe 3 × 12.50; call-out 80.00 (its own rule) — all GST 10 % per line
        assert codes == [("205", Decimal("237.50")), ("210", Decimal("37.50")), ("260", Decimal("80.00"))]
        assert (inv.sub_total, inv.total_tax, inv.total) == (Decimal("355.00"), Decimal("35.50"), Decimal("390.50"))
        # completed 23:30 Sydney time on 2 March: invoiced on that Sydney date, not the UTC one
        assert str(inv.date) == "2026-03-02"
        references = [i.get("Reference") for i in xero.invoices()]
        assert "1004" not in references  # a Quote is not billable
        assert "1006" not in references  # already exported to accounting by ServiceM8


def test_a_job_edited_after_it_was_invoiced_is_not_invoiced_again(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as xero, ServiceM8Sandbox(port=0).load_seed() as sm8:
        work = _workdir(tmp_path, xero, sm8)
        work.cli("run")
        count = len(xero.invoices())
        job = next(j for j in sm8.records["job"].values() if j["generated_job_id"] == "1001")
        sm8.put("job", uuid=job["uuid"], job_description="Edited after invoicing")  # bumps edit_date to now
        work.cli("run")
        assert len(xero.invoices()) == count
        by_job = {r["job_number"]: r["outcome"] for r in work.last_report()["results"]}
        assert by_job["1001"] == "skipped"
