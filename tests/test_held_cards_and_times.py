"""A held job shows what it is (client, amount, lines) wherever it is listed; times read in the org's zone."""

from __future__ import annotations

import json
import re
from pathlib import Path

from jobsync.sandbox.xero.server import XeroSandbox
from tests.test_names_and_kinds import _workdir
from tests.test_names_and_kinds_data import LABOUR_ROW

BANK_RULES = {
    "lines": [{"name": "labour", "when": {"kind": "labour"}, "account_code": "090", "tax_type": "OUTPUT"}],
    "default": {"account_code": "200", "tax_type": "OUTPUT"},
}
PIPE_ROW = LABOUR_ROW.replace(",labour,,Labour,2,90.00", ",material,,Copper pipe 15mm,3,12.50")
OTHER_JOB = "J2,2,Completed,25/11/2026 10:00,C2,Marrickville Dental Care,md@example.com,,material,,Tap washer,4,2.50,,,"


def test_a_held_job_shows_its_client_amount_and_lines_in_preview_html_and_jobs_list(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = _workdir(tmp_path, sandbox, BANK_RULES)
        work.write_jobs([LABOUR_ROW, PIPE_ROW, OTHER_JOB])
        preview = work.cli("preview")
        assert preview.exit_code == 1  # something is held
        text = preview.output
        assert "1 HELD → Client One · about 217.50 · 2 lines" in text  # 2 × 90.00 + 3 × 12.50
        assert "Copper pipe 15mm" in text and "12.50" in text
        assert "Why: account 090 Business Bank Account is a bank account" in text
        page = tmp_path / "p.html"
        assert work.cli("preview", "--html", str(page)).exit_code == 1
        html = page.read_text()
        held = html[html.index('<section class="card held"') :]
        held = held[: held.index("</section>")]
        assert "Client One · Job 1" in held and "Copper pipe 15mm" in held and "About 217.50 ex tax" in held
        assert work.cli("run").exit_code == 1
        listed = work.cli("jobs", "list", "--held", "--json")
        [view] = json.loads(listed.output)
        assert (view["client"], view["amount"], view["line_count"]) == ("Client One", "217.50", 2)
        assert view["lines"][1] == ["Copper pipe 15mm", "3", "12.50"]
        table = " ".join(work.cli("jobs", "list", "--held").output.split())
        assert "Client One" in table and "217.50" in table


def test_times_a_person_reads_are_in_the_organisations_zone_and_json_stays_utc(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = _workdir(tmp_path, sandbox)
        work.write_jobs([LABOUR_ROW])
        assert work.cli("run").exit_code == 0
        report = work.last_report()
        assert report["timezone"] == "Australia/Sydney"
        assert report["started_at"].endswith("+00:00")  # JSON: ISO 8601 UTC
        markdown = next((tmp_path / "reports").glob("*.md")).read_text()
        local = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} AE[DS]T")
        assert local.search(markdown.split("Started:**")[1])
        for command in (["status"], ["history"], ["jobs", "list"]):
            shown = work.cli(*command).output
            assert local.search(shown), (command, shown)
            assert "+00:00" not in shown, command
        status = json.loads(work.cli("status", "--json").output)
        assert status["watermark"].endswith("+00:00")
