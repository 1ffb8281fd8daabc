"""A practice on procrastinate: workers on a real PostgreSQL run every org once per interval, one run
per org at a time, and a run queued twice is queued once."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from pathlib import Path

import pytest
import requests
import yaml

from tests.console_rig import PASSWORD, sign_in
from tests.practice_rig import practice, row

SECRET = "practice-webhook-secret"


def test_two_workers_invoice_every_org_once_and_status_shows_each(tmp_path: Path, postgres_server: str) -> None:
    with practice(tmp_path, postgres_server, orgs=3, jobs=2) as p:
        p.start_worker(concurrency=2)
        p.start_worker(concurrency=2)
        wanted = {name: ["1", "2"] for name in p.orgs}
        assert p.wait_for(lambda: p.invoiced() == wanted, 60), p.invoiced()

        def recorded() -> bool:  # each run records itself once it has finished, just after its invoices
            shown = p.cli("orgs", "status")
            pattern = r"{}\s+last \S+ exit 0\s+held 0\s+failed 0"
            return shown.exit_code == 0 and all(re.search(pattern.format(name), shown.output) for name in p.orgs)

        assert p.wait_for(recorded, 30), p.cli("orgs", "status").output
        for proc in p.workers:
            proc.terminate()
        assert [proc.wait(timeout=90) for proc in p.workers] == [0, 0]  # SIGTERM: the worker stops cleanly
    assert p.invoiced() == wanted


def test_a_tick_and_a_webhook_at_the_same_moment_queue_one_run(tmp_path: Path, postgres_server: str) -> None:
    with practice(tmp_path, postgres_server, orgs=1, jobs=1) as p:
        first, second = p.cli("orgs", "run", "org0"), p.cli("orgs", "run", "org0")
        assert "org0: queued" in first.output and "already queued; not queued twice" in second.output
        refused = p.cli("orgs", "run", "nobody")
        assert refused.exit_code == 2 and "no org 'nobody'" in refused.output
        p.start_worker()
        assert p.wait_for(lambda: p.invoiced() == {"org0": ["1"]}, 60)


def test_a_broken_org_is_refused_when_added_and_the_practice_url_is_required(
    tmp_path: Path, postgres_server: str
) -> None:
    with practice(tmp_path, postgres_server, orgs=0, jobs=0) as p:
        bad = tmp_path / "bad.yaml"
        bad.write_text("xero: [not, a, mapping]\n")
        added = p.cli("orgs", "add", "bad", "--config", str(bad))
        assert added.exit_code == 2 and "Traceback" not in added.output
        assert p.cli("orgs", "list").output == ""
    from typer.testing import CliRunner

    from jobsync.cli.main import app

    missing = CliRunner().invoke(app, ["orgs", "list"], env={"JOBSYNC_PRACTICE_URL": ""})
    assert missing.exit_code == 2 and "JOBSYNC_PRACTICE_URL" in missing.output


def test_a_webhook_to_serve_org_is_queued_a_worker_invoices_it_and_the_console_shows_the_practice(
    tmp_path: Path, postgres_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEST_SIGNED_SECRET", SECRET)  # the service and the workers read one config
    monkeypatch.setenv("JOBSYNC_TEST_PASSWORD", PASSWORD)
    with practice(tmp_path, postgres_server, orgs=1, jobs=1, every=1440) as p:
        work, org = p.orgs["org0"]
        config = yaml.safe_load(work.config.read_text())
        config["serve"] = {"signed": {"inhouse": {"secret": "${TEST_SIGNED_SECRET}", "header": "X-Hub-Signature"}}}
        work.config.write_text(yaml.safe_dump(config))
        p.start_worker()
        assert p.wait_for(lambda: p.invoiced() == {"org0": ["1"]}, 60)  # the first scheduled run
        with p.serve(work.config, "org0") as url:
            work.write_jobs([row(1), row(2)])
            body = json.dumps({"id": "e2", "job_id": "J2"}).encode()
            signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            took = time.monotonic()
            sent = requests.post(f"{url}/webhooks/signed/inhouse", data=body, headers={"X-Hub-Signature": signature})
            assert sent.status_code == 200
            assert p.wait_for(lambda: p.invoiced() == {"org0": ["1", "2"]}, 30), p.invoiced()
            took = time.monotonic() - took
            added = work.cli("users", "add", "bea", "--role", "bookkeeper", "--password-env", "JOBSYNC_TEST_PASSWORD")
            assert added.exit_code == 0, added.output
            page = sign_in(url, "bea").get(url + "/practice")
            assert page.status_code == 200 and "No org needs attention." in page.text
            assert re.search(r"<td>org0</td><td>\S+ exit 0</td>", page.text), page.text
    assert took < 30  # the next scheduled run is a day away: the webhook's queued run invoiced it
    assert [i["Reference"] for i in org.invoices()].count("2") == 1
