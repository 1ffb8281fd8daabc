"""The HTML preview: built from the real plan against the sandbox, then opened in headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from jobsync.app.sync_run import sync
from jobsync.config.settings import load_settings
from jobsync.core.models import Plan, RunReport
from jobsync.output.preview_html import render_plan_html
from jobsync.sandbox.xero.server import XeroSandbox
from tests.e2e import make_workdir
from tests.test_e2e_run import ROWS

ARTIFACTS = Path(__file__).resolve().parents[1] / "build" / "test-artifacts"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]


@pytest.fixture(scope="module")
def previewed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Plan, RunReport, Path]:
    tmp = tmp_path_factory.mktemp("preview")
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp, sandbox)
        work.write_jobs([*ROWS, ROWS[0].replace("J1,1001", "J9,1009").replace("leak repair", "leak <b>&</b> repair")])
        result = sync(load_settings(work.config), apply=False).result
    return result.plan, result.report, tmp


def _chromium(*args: str, timeout: float = 60) -> str:
    binary = shutil.which("chromium")
    assert binary, "chromium is missing: run scripts/ensure-chromium.sh (make test does)"
    done = subprocess.run([binary, *CHROMIUM_FLAGS, *args], capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_page_is_self_contained_and_shows_every_decision(previewed: tuple[Plan, RunReport, Path]) -> None:
    plan, report, _ = previewed
    html = render_plan_html(plan, report)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "no external assets"
    assert html.count('class="card invoice"') == len(plan.drafts) == 4
    j1 = next(d for d in plan.drafts if d.job_number == "1001")
    assert f'data-total="{j1.total}"' in html and "297.91" in html
    assert f"Existing contact {j1.contact.contact_id} (matched by {j1.contact.matched_by})" in html
    assert "New contact, ContactNumber CSV-C2" in html
    for line in j1.lines:
        assert f"<td>{line.rule}</td>" in html and f"<td>{line.account_code} {line.account_name}</td>" in html
        assert line.account_name and line.tax_name and f"<td>{line.tax_name}</td>" in html
    held = {h.job_number: h for h in plan.held}
    assert set(held) == {"1004", "1005"} and 'data-status="held"' in html
    assert all(h.reason.split("'")[0] in html for h in held.values())
    # Job text is escaped: a client name cannot inject markup into the page.
    assert "leak &lt;b&gt;&amp;&lt;/b&gt; repair" in html and "leak <b>&</b> repair" not in html
    assert "@media print" in html


def test_chromium_loads_it_counts_invoices_and_totals_and_takes_a_screenshot(
    previewed: tuple[Plan, RunReport, Path],
) -> None:
    plan, report, tmp = previewed
    page = tmp / "preview.html"
    page.write_text(render_plan_html(plan, report), encoding="utf-8")
    dom = _chromium("--virtual-time-budget=2000", "--dump-dom", page.as_uri())
    # The inline script ran: with no filter every card shows, and the shown total is the plan's own sum.
    cards = len(plan.drafts) + len(plan.held)
    assert re.search(rf'id="shown">{cards}<', dom), dom[:500]
    total = sum((d.total for d in plan.drafts), Decimal(0))
    assert f'id="shown-total">{total:.2f}<' in dom
    assert dom.count('data-role="invoice-total"') == len(plan.drafts)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "preview.png"
    shot.unlink(missing_ok=True)
    _chromium(f"--screenshot={shot}", "--window-size=1100,1800", page.as_uri())
    assert shot.stat().st_size > 10_000 and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
