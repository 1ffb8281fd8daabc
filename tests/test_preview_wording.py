"""The preview says what the run will do: `--job X` counts X alone, and a plan over
`max_invoices_per_run` is flagged before `run` would stop at it."""

from __future__ import annotations

import re
from pathlib import Path

from jobsync.samples import csv_source, sandbox_config
from jobsync.sandbox.xero.server import XeroSandbox
from tests.e2e import RULES, Workdir


def _row(n: int) -> str:
    return f"J{n},{n},Completed,25/11/2026 10:00,C{n},Client {n},c{n}@example.com,,labour,,Labour,1,10.00,,,"


def _workdir(tmp_path: Path, sandbox: XeroSandbox, limit: int) -> Workdir:
    source = csv_source(timezone="Australia/Sydney", start_from="2026-11-01")
    text = sandbox_config(
        sandbox.api_url, sandbox.identity_url, sandbox.tenant_id, source, RULES, xero={"max_invoices_per_run": limit}
    )
    (tmp_path / "jobsync.yaml").write_text(text)
    return Workdir(tmp_path)


def _counts(output: str) -> dict[str, int]:
    line = next(line for line in output.splitlines() if line.startswith("Jobs found:"))
    return {k.strip(): int(v) for k, v in re.findall(r"([a-z ]+): (\d+)", line.replace("Jobs found", "found"))}


def test_preview_job_counts_only_that_job(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = _workdir(tmp_path, sandbox, 10)
        work.write_jobs([_row(1), _row(2), _row(3)])
        assert work.cli("run").exit_code == 0
        work.write_jobs([_row(1), _row(2), _row(3), _row(4)])
        everything = _counts(work.cli("preview").output)
        assert everything == {"found": 4, "to create": 1, "already invoiced": 3, "held": 0}
        one = _counts(work.cli("preview", "--job", "2").output)
        assert one == {"found": 1, "to create": 0, "already invoiced": 1, "held": 0}


def test_preview_warns_when_the_run_would_stop_at_the_brake(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = _workdir(tmp_path, sandbox, 2)
        work.write_jobs([_row(1), _row(2), _row(3)])
        preview = work.cli("preview")
        assert preview.exit_code == 0
        assert "would stop here: 3 invoices is more than xero.max_invoices_per_run (2)" in " ".join(
            preview.output.split()
        )
        assert work.cli("run").exit_code == 5 and sandbox.invoices() == []
        work.write_jobs([_row(1), _row(2)])
        assert "would stop" not in work.cli("preview").output
