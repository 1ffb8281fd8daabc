"""Names beside codes, accounts checked against their purpose, and line types mapped by `source.kind_map`.

Each is seen through the real CLI against the sandbox: what the bookkeeper reads in preview and doctor.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jobsync.app import doctor
from jobsync.core import line_kinds
from jobsync.core.models import Job, JobLine
from jobsync.samples import csv_source, sandbox_config
from jobsync.sandbox.xero.server import XeroSandbox
from tests.e2e import RULES, Workdir
from tests.test_names_and_kinds_data import LABOUR_ROW, NOW, SUB_ROW


def _workdir(tmp_path: Path, sandbox: XeroSandbox, rules: dict[str, Any] = RULES, **source: Any) -> Workdir:
    section = csv_source(timezone="Australia/Sydney", start_from="2026-11-01", **source)
    text = sandbox_config(sandbox.api_url, sandbox.identity_url, sandbox.tenant_id, section, rules)
    (tmp_path / "jobsync.yaml").write_text(text)
    return Workdir(tmp_path)


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_preview_names_each_account_and_tax_type(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = _workdir(tmp_path, sandbox)
        work.write_jobs([LABOUR_ROW])
        out = work.cli("preview")
        assert out.exit_code == 0, out.output
        # at 80 columns the name folds inside its cell ("205 Sales -" over "Labour"); no amount does
        assert "205 Sales -" in out.output and "GST on Income" in out.output and "180.00" in out.output
        explained = _flat(work.cli("preview", "--explain", "1").output)
        assert "kind labour → account 205 Sales - Labour" in explained


def test_an_unmapped_line_type_is_named_with_the_key_to_add(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = _workdir(tmp_path, sandbox)
        work.write_jobs([SUB_ROW])
        assert work.cli("preview").exit_code == 0
        check = {c.name: c for c in doctor.run_checks(work.config, {}).checks}["every line type maps to a kind"]
        assert check.status == doctor.WARN
        assert "'Sub-contractor' (1 lines)" in check.detail
        assert 'source.kind_map: {"Sub-contractor": <' in check.fix
        # the preview itself says so, and its line went to the default rule, not the subcontractor one
        out = _flat(work.cli("preview").output)
        assert "Sub-contractor" in out and "source.kind_map" in out
        [line] = _lines(work)
        assert (line["account_code"], line["rule"]) == ("200", "default")


def test_kind_map_sends_the_platform_type_to_its_kind(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = _workdir(tmp_path, sandbox, kind_map={"sub-CONTRACTOR": "subcontractor"})
        work.write_jobs([SUB_ROW])
        [line] = _lines(work)
        assert (line["account_code"], line["account_name"]) == ("215", "Subcontractor Recharges")
        check = {c.name: c for c in doctor.run_checks(work.config, {}).checks}["every line type maps to a kind"]
        assert check.status == doctor.OK


def test_kind_map_refuses_a_kind_jobsync_does_not_have(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = _workdir(tmp_path, sandbox, kind_map={"Sub-contractor": "subbie"})
        work.write_jobs([SUB_ROW])
        out = work.cli("preview")
        assert out.exit_code == 2
        assert "source.kind_map" in _flat(out.output) and "Traceback" not in out.output


def test_remap_makes_a_labour_line_carry_its_hours_and_rate() -> None:
    line = JobLine(
        "other", "Plumber", quantity=_d("2.5"), unit_price=_d("110"), source_kind="Labour – Plumber (per hour)"
    )
    job = Job("csv", "1", "1", "Completed", NOW, NOW, None, lines=(line,))
    [mapped] = line_kinds.remap(job, {"labour - plumber (PER HOUR)": "labour"}).lines
    assert (mapped.kind, mapped.hours, mapped.rate) == ("labour", _d("2.5"), _d("110"))
    assert line_kinds.unmapped([job]) == {"Labour – Plumber (per hour)": 1}


def test_doctor_fails_a_bank_account_and_warns_on_an_expense_account(tmp_path: Path) -> None:
    rules = {
        "lines": [
            {"name": "labour", "when": {"kind": "labour"}, "account_code": "090", "tax_type": "OUTPUT"},
            {"name": "materials", "when": {"kind": "material"}, "account_code": "429", "tax_type": "OUTPUT"},
        ],
        "default": {"account_code": "610", "tax_type": "OUTPUT"},
    }
    with XeroSandbox(port=0) as sandbox:
        work = _workdir(tmp_path, sandbox, rules)
        work.write_jobs([LABOUR_ROW])
        checks = {c.name: c for c in doctor.run_checks(work.config, {}).checks}
        refs = checks["rule accounts and tax types active"]
        assert refs.status == doctor.FAIL
        assert "account 090 Business Bank Account is a bank account" in refs.detail
        assert "account 610 Accounts Receivable is Xero's system account DEBTORS" in refs.detail
        purpose = checks["rule accounts are sales accounts"]
        assert purpose.status == doctor.WARN and "429 General Expenses is an expense account" in purpose.detail
        # and a run holds the job rather than sending Xero a line it refuses
        [held] = json.loads(work.cli("preview", "--json").output)["plan"]["held"]
        assert "a bank account; a sales line cannot be coded to it" in held["reason"]


def _lines(work: Workdir) -> list[dict[str, Any]]:
    out = work.cli("preview", "--json")
    [draft] = json.loads(out.output)["plan"]["drafts"]
    return list(draft["lines"])


def _d(text: str) -> Any:
    from decimal import Decimal

    return Decimal(text)
