"""Every created invoice carries its Xero deep link, opening the right organisation by its ShortCode."""

from __future__ import annotations

import io
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from rich.console import Console

from jobsync.core.deep_links import invoice_link
from jobsync.core.models import JobResult, Outcome, RunReport
from jobsync.output import render
from jobsync.sandbox.xero.server import XeroSandbox
from tests.test_names_and_kinds import _workdir
from tests.test_names_and_kinds_data import LABOUR_ROW, NOW


def test_the_link_names_the_organisation_and_the_invoice() -> None:
    link = invoice_link("!dTc0s", "3fe1c739-0870-4be7-8f4c-57511b5fc41e")
    assert link is not None
    parts = urlsplit(link)
    query = parse_qs(parts.query)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "go.xero.com", "/organisationlogin/default.aspx")
    assert query["shortcode"] == ["!dTc0s"]
    assert query["redirecturl"] == ["/AccountsReceivable/View.aspx?InvoiceID=3fe1c739-0870-4be7-8f4c-57511b5fc41e"]
    assert invoice_link("", "x") is None and invoice_link("!a", None) is None


def test_a_run_links_its_invoices_in_the_report_the_summary_and_jobs_list(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = _workdir(tmp_path, sandbox)
        work.write_jobs([LABOUR_ROW])
        assert work.cli("run").exit_code == 0
        [created] = work.last_report()["results"]
        expected = invoice_link("!dTc0s", created["invoice_id"])
        assert created["link"] == expected
        markdown = next((tmp_path / "reports").glob("*.md")).read_text()
        assert f"[{created['invoice_number']}]({expected})" in markdown
        [listed] = json.loads(work.cli("jobs", "list", "--invoiced", "--json").output)
        assert listed["link"] == expected
        # on a terminal the invoice number is an OSC 8 hyperlink; piped, plain text with no escapes
        report = RunReport(run_id="r", command="run", started_at=NOW)
        report.results.append(
            JobResult("csv", "J1", "1", Outcome.CREATED, invoice_number="INV-0001", link=expected, invoice_id="x")
        )
        tty, pipe = io.StringIO(), io.StringIO()
        render.run_summary(Console(file=tty, force_terminal=True, width=100), report, None)
        render.run_summary(Console(file=pipe, width=100), report, None)
        assert "\x1b]8;id=" in tty.getvalue() and expected in tty.getvalue()
        assert "\x1b" not in pipe.getvalue() and "INV-0001" in pipe.getvalue()
