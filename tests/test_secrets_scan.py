"""No report, page, log or notification ever carries a credential.

One run is made with distinctive secrets in every credential slot of the config (source API key, Slack
webhook path, SMTP password) and with notification channels that fail, so their error text lands in
the report. Then every report-like file written so far in this pytest session (all tests' tmp dirs and
the test artifacts) is scanned for those secrets and the suite's other known test secrets.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from jobsync.app.history import enrich
from jobsync.app.sync_run import sync
from jobsync.config.settings import load_settings
from jobsync.output.notify import notify_run
from jobsync.output.preview_html import render_plan_html
from jobsync.output.report import report_to_dict, write_report
from jobsync.sandbox.xero.server import XeroSandbox
from jobsync.state.store import State
from tests.e2e import make_workdir
from tests.receivers import free_port, http_receiver
from tests.test_e2e_run import ROWS

SOURCE_KEY = "srcKEY-9f8e7d6c5b4a"
SLACK_PATH = "T0SLACK/B0HOOK/xoxSECRETabc123"
SMTP_PASSWORD = "smtpPASS-0a1b2c3d4e"
# Secrets other tests in the suite configure (tests/test_config.py, tests/test_rest_source.py).
SUITE_SECRETS = ("s3cret-token", "k3y", "t0ken")
SECRETS = (SOURCE_KEY, SLACK_PATH, SMTP_PASSWORD, *SUITE_SECRETS)
SCANNED = (".json", ".md", ".html", ".log", ".txt", ".eml")
ARTIFACTS = Path(__file__).resolve().parents[1] / "build" / "test-artifacts"

NOTIFY = """
notify:
  slack_webhook_url: "{slack}"
  email: {{ smtp_host: 127.0.0.1, smtp_port: {port}, from: a@example.com, to: b@example.com,
           username: jobsync, password: "${{SMTP_PASSWORD}}" }}
  on: [failure, hold]
"""


def _secret_run(tmp_path: Path) -> list[Path]:
    """A real run with secrets everywhere and failing channels; returns the files it wrote."""
    with XeroSandbox(port=0) as sandbox, http_receiver() as http:
        http.status = 500  # Slack is down: its error goes into the report
        work = make_workdir(tmp_path, sandbox)
        work.write_jobs(ROWS)
        text = work.config.read_text().replace("  type: csv\n", f"  type: csv\n  api_key: {SOURCE_KEY}\n")
        text += NOTIFY.format(slack=f"{http.url}/services/{SLACK_PATH}", port=free_port())
        work.config.write_text(text)
        settings = load_settings(work.config, env={"SMTP_PASSWORD": SMTP_PASSWORD})
        outcome = sync(settings, apply=True)
        report = enrich(outcome.result.report)
        assert outcome.report_paths is not None
        with State.open(settings.state.path) as state:
            problems = notify_run(settings.notify, report, outcome.report_paths[0], state, datetime.now(UTC))
        assert len(problems) == 2  # slack HTTP 500 and the dead SMTP port: both reported, neither raised
        report.errors.extend(problems)
        paths = list(write_report(report, settings.reports.dir))
        assert any("slack not delivered" in e for e in report_to_dict(report)["errors"])
        for _, body in http.posts:
            assert not [s for s in SECRETS if s in str(body)], "a notification carried a secret"
        preview = sync(settings, apply=False).result
        page = tmp_path / "preview.html"
        page.write_text(render_plan_html(preview.plan, preview.report), encoding="utf-8")
        return [*paths, page]


def _scan(roots: list[Path]) -> tuple[int, list[str]]:
    scanned, leaks = 0, []
    for root in roots:
        if not root.is_dir():
            continue
        for path in root.rglob("*"):
            if path.is_file() and path.suffix in SCANNED:
                scanned += 1
                text = path.read_text(encoding="utf-8", errors="replace")
                leaks += [f"{path}: contains {s!r}" for s in SECRETS if s in text]
    return scanned, leaks


def test_no_report_page_or_log_contains_a_secret(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    written = _secret_run(tmp_path)
    base = tmp_path_factory.getbasetemp()
    scanned, leaks = _scan([base, ARTIFACTS])
    assert all(p.is_relative_to(base) for p in written)
    assert scanned >= len(written), "the scan must see at least this test's own reports"
    assert leaks == []


def test_the_scan_would_catch_a_leak(tmp_path: Path) -> None:
    (tmp_path / "20261125T070000Z-leaky.json").write_text(f'{{"token": "{SMTP_PASSWORD}"}}')
    scanned, leaks = _scan([tmp_path])
    assert scanned == 1 and len(leaks) == 1 and SMTP_PASSWORD in leaks[0]
