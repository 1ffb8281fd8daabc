"""End to end through the simPRO and AroFlo paths: emulator job → connector → plan → sandbox Xero invoice."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from jobsync.samples import sandbox_config
from jobsync.sandbox.aroflo import ArofloSandbox
from jobsync.sandbox.simpro import SimproSandbox
from jobsync.sandbox.xero.server import XeroSandbox
from tests.e2e import Workdir, xero_api

RULES = {
    "lines": [
        {"name": "labour", "when": {"kind": "labour"}, "account_code": "205", "tax_type": "OUTPUT"},
        {"name": "call-out", "when": {"description": "call[- ]?out"}, "account_code": "260", "tax_type": "OUTPUT"},
    ],
    "default": {"account_code": "210", "tax_type": "OUTPUT"},
}


def _workdir(tmp_path: Path, xero: XeroSandbox, source: dict[str, object]) -> Workdir:
    (tmp_path / "jobsync.yaml").write_text(
        sandbox_config(xero.api_url, xero.identity_url, xero.tenant_id, source, RULES)
    )
    return Workdir(tmp_path)


def _invoice(xero: XeroSandbox, reference: str):  # type: ignore[no-untyped-def]
    api = xero_api(xero)
    found = api.get_invoices(xero.tenant_id, where=f'Reference=="{reference}"').invoices
    assert len(found) == 1
    return api.get_invoice(xero.tenant_id, found[0].invoice_id).invoices[0]


def test_simpro_job_becomes_a_draft_invoice(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as xero, SimproSandbox(port=0).load_seed() as simpro:
        source = {
            "type": "simpro",
            "base_url": simpro.url,
            "api_key": simpro.token,
            "start_from": "2026-03-01",
            "timezone": "Australia/Sydney",
        }
        result = _workdir(tmp_path, xero, source).cli("run")
        assert result.exit_code in (0, 1), result.output
        inv = _invoice(xero, "2001 / PO PO-7781")
        assert inv.contact.name == "Bondi Cafe Pty Ltd"
        lines = [(li.account_code, li.line_amount) for li in inv.line_items]
        # labour 2.5 × 95; cable 12 × 3.40; GPO 4 × 18.50 less 10 %; call-out 80; the NonBillable one-off is left out
        assert sorted(lines) == sorted(
            [
                ("205", Decimal("237.50")),
                ("210", Decimal("40.80")),
                ("210", Decimal("66.60")),
                ("260", Decimal("80.00")),
            ]
        )
        assert (inv.sub_total, inv.total_tax, inv.total) == (Decimal("424.90"), Decimal("42.49"), Decimal("467.39"))


def test_aroflo_task_becomes_a_draft_invoice(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as xero, ArofloSandbox(port=0).load_seed() as aroflo:
        credentials = {
            "uencoded": aroflo.uencoded,
            "pencoded": aroflo.pencoded,
            "org_encoded": aroflo.org_encoded,
            "secret_key": aroflo.secret_key,
        }
        source = {
            "type": "aroflo",
            "base_url": aroflo.url,
            "start_from": "2026-03-01",
            "timezone": "Australia/Melbourne",
            "aroflo": credentials,
        }
        result = _workdir(tmp_path, xero, source).cli("run")
        assert result.exit_code in (0, 1), result.output
        inv = _invoice(xero, "1036 / PO W0151304/3")
        assert inv.contact.name == "Ringwood Bakery"
        lines = [(li.account_code, li.line_amount) for li in inv.line_items]
        # labour 1.5 h × 110.00; 2 × 14.50 elbows; camera inspection 120.00
        assert sorted(lines) == sorted(
            [("205", Decimal("165.00")), ("210", Decimal("29.00")), ("210", Decimal("120.00"))]
        )
        assert (inv.sub_total, inv.total_tax, inv.total) == (Decimal("314.00"), Decimal("31.40"), Decimal("345.40"))
        assert str(inv.date) == "2026-03-05"
