"""At 80 columns, narrower, and piped, the preview and the run summary fold text and never cut an
amount; `--html FILE` writes the page and names it on stderr instead of filling the terminal too."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from jobsync.sandbox.xero.server import XeroSandbox
from tests.e2e import make_workdir

ROOT = Path(__file__).resolve().parents[1]
LONG = "Hot water system replacement 250 L including removal of the old unit and disposal"


def _row(n: int, qty: str, price: str) -> str:
    client = f"A Rather Long Client Name Pty Ltd {n}"
    return f"J{n},{n},Completed,25/11/2026 10:00,C{n},{client},,,labour,,{LONG},{qty},{price},,,"


def _cli(work: Path, columns: int, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": str(columns), "PYTHONPATH": str(ROOT)}
    env.pop("FORCE_COLOR", None)
    return subprocess.run(
        [sys.executable, "-m", "jobsync", *args, "--config", str(work / "jobsync.yaml")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def _amounts(price: str, qty: str) -> list[str]:
    net = Decimal(price) * Decimal(qty)
    tax = (net / 10).quantize(Decimal("0.01"))
    return [f"{net:,.2f}", f"{tax:,.2f}", f"{net + tax:,.2f}"]


@pytest.mark.parametrize("columns", [80, 60])
def test_preview_and_run_keep_every_amount_whole(tmp_path: Path, columns: int) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        work.write_jobs([_row(1, "3", "1092.50"), _row(2, "1", "4353.20")])
        preview = _cli(tmp_path, columns, "preview")
        assert preview.returncode == 0, preview.stderr
        text = preview.stdout
        assert max(len(line) for line in text.splitlines()) <= columns
        assert "…" not in text and text.count("(labour)") == 2  # the rule of each line, whole
        for amount in _amounts("1092.50", "3") + _amounts("4353.20", "1"):
            assert amount in text, (amount, text)
        run = _cli(tmp_path, columns, "run")
        assert run.returncode == 0, run.stderr
        totals = [_amounts("1092.50", "3")[2], _amounts("4353.20", "1")[2]]
        assert all(total in run.stdout for total in totals), run.stdout
        assert "…" not in run.stdout


def test_html_preview_writes_the_page_and_names_it_on_stderr_only(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        work.write_jobs([_row(1, "3", "1092.50")])
        page = tmp_path / "preview.html"
        result = _cli(tmp_path, 80, "preview", "--html", str(page))
        assert result.returncode == 0, result.stderr
        assert page.is_file() and "3,277.50" in page.read_text(encoding="utf-8")
        assert result.stdout == ""
        assert str(page) in result.stderr
