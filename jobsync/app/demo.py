"""`make demo`: the main job end to end against the built-in Xero sandbox.

Starts the sandbox on a loopback port, writes a config pointing at it and at the
bundled sample export, runs the real `jobsync run` command twice, and checks that
the second run created nothing. The bad sample job is held on purpose, so each
run exits 1; the demo itself exits 0 when everything behaved as expected.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from jobsync.samples import SAMPLE_TAX_MAP, csv_source, sandbox_config
from jobsync.sandbox.servicem8 import ServiceM8Sandbox
from jobsync.sandbox.xero.server import XeroSandbox

WORKDIR = Path("demo-work")

# The demo org's chart: labour and materials on their own sales accounts, subcontractors recharged.
RULES = {
    "lines": [
        {"name": "labour", "when": {"kind": "labour"}, "account_code": "205", "tax_type": "OUTPUT"},
        {"name": "call-out fee", "when": {"description": "call[- ]?out"}, "account_code": "260", "tax_type": "OUTPUT"},
        {"name": "materials", "when": {"kind": "material"}, "account_code": "210", "tax_type": "OUTPUT"},
    ],
    "default": {"account_code": "200", "tax_type": "OUTPUT"},
    "subcontractors": {"mode": "passthrough", "account_code": "215", "tax_type": "OUTPUT", "markup_percent": 10},
    "tax_map": SAMPLE_TAX_MAP,  # the export's Tax Code column: "GST" is GST on Income
}


def _config(sandbox: XeroSandbox, name: str, source: dict[str, Any], **sections: Any) -> Path:
    path = WORKDIR / name
    text = sandbox_config(sandbox.api_url, sandbox.identity_url, sandbox.tenant_id, source, RULES, **sections)
    path.write_text(text)
    return path


def _servicem8_config(sandbox: XeroSandbox, sm8: ServiceM8Sandbox) -> Path:
    """The same rules, with the jobs read from the ServiceM8 emulator instead of a CSV."""
    source = {
        "type": "servicem8",
        "base_url": sm8.url,
        "api_key": sm8.api_key,
        "start_from": "2026-03-01",
        "timezone": "Australia/Sydney",
    }
    return _config(
        sandbox, "servicem8.yaml", source, state={"path": "servicem8-state.db"}, reports={"dir": "reports-servicem8"}
    )


def _prepare(sandbox: XeroSandbox) -> Path:
    if WORKDIR.exists():
        shutil.rmtree(WORKDIR)
    WORKDIR.mkdir()
    sample = resources.files("jobsync.samples").joinpath("jobs.csv").read_bytes()
    (WORKDIR / "jobs.csv").write_bytes(sample)
    return _config(
        sandbox,
        "jobsync.yaml",
        csv_source(start_from="2026-11-01", statuses=["Completed"], timezone="Australia/Sydney"),
    )


def _run(config: Path, title: str) -> tuple[int, dict[str, Any]]:
    print(f"\n=== {title}: jobsync run --config {config} ===", flush=True)
    shown = subprocess.run([sys.executable, "-m", "jobsync.cli.main", "run", "--config", str(config)], check=False)
    report_dir = "reports-servicem8" if config.name == "servicem8.yaml" else "reports"
    reports = sorted((config.parent / report_dir).glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
    return shown.returncode, json.loads(reports[-1].read_text())


def main() -> int:
    with XeroSandbox(port=0) as sandbox:
        config = _prepare(sandbox)
        print(f"Xero sandbox at {sandbox.url}; sample export {WORKDIR / 'jobs.csv'}")
        code1, first = _run(config, "First run")
        invoices_after_first = len(sandbox.invoices())
        contacts_after_first = len(sandbox.contacts())
        code2, second = _run(config, "Second run (nothing may be created twice)")
        problems = _check(
            code1,
            first,
            code2,
            second,
            invoices_after_first,
            len(sandbox.invoices()),
            contacts_after_first,
            len(sandbox.contacts()),
        )
        with ServiceM8Sandbox(port=0).load_seed() as sm8:
            code3, third = _run(_servicem8_config(sandbox, sm8), "The same sync from a ServiceM8 account (emulator)")
        if third["counts"].get("created", 0) < 1 or third["counts"].get("failed", 0):
            problems.append("the ServiceM8 path should create invoices without failures")
    print("\n=== Demo summary ===")
    print(f"first run:  exit {code1}, counts {first['counts']}")
    print(f"second run: exit {code2}, counts {second['counts']}")
    print(f"ServiceM8:  exit {code3}, counts {third['counts']}")
    print(
        f"invoices in the sandbox: {invoices_after_first} after the first run, still "
        f"{invoices_after_first if not problems else '?'} after the second"
    )
    if problems:
        for p in problems:
            print(f"UNEXPECTED: {p}")
        return 1
    print("As expected: the bad job is held with its reason (exit 1 is the hold), and nothing was created twice.")
    return 0


def _check(
    code1: int, first: dict[str, Any], code2: int, second: dict[str, Any], inv1: int, inv2: int, con1: int, con2: int
) -> list[str]:
    problems = []
    if code1 != 1 or first["counts"].get("held", 0) < 1:
        problems.append(f"first run should hold the bad job and exit 1 (exit {code1})")
    if first["counts"].get("created", 0) < 10:
        problems.append("first run should create at least 10 invoices")
    if first["counts"].get("failed", 0):
        problems.append("first run should have no failures")
    if second["counts"].get("created", 0) != 0 or inv2 != inv1 or con2 != con1:
        problems.append("second run created something again")
    if second["counts"].get("skipped", 0) < 1:
        problems.append("second run should list overlap jobs as already invoiced")
    if code2 != 1:
        problems.append(f"second run should still report the held job (exit {code2})")
    return problems


if __name__ == "__main__":
    sys.exit(main())
