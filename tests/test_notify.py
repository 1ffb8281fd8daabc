"""Notifications delivered to real local receivers: an HTTP server for Slack/webhook, aiosmtpd for email."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from jobsync.app.sync_run import sync
from jobsync.config.settings import NotifySettings, load_settings
from jobsync.core.models import JobResult, Outcome, RunReport
from jobsync.output.notify import Memory, decide, fingerprint, notify_run, notify_token_expiry
from jobsync.sandbox.xero.server import XeroSandbox
from jobsync.state.store import State
from tests.e2e import make_workdir
from tests.receivers import HttpReceiver, SmtpReceiver, free_port, http_receiver, smtp_receiver

NOW = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)
SLACK_SECRET = "T000-SLACK-SECRET-PATH"
SMTP_SECRET = "smtp-pa55word-secret"


def _report(*results: JobResult, errors: tuple[str, ...] = ()) -> RunReport:
    report = RunReport(run_id="20261125T070000Z-abc123", command="run", started_at=NOW, finished_at=NOW)
    report.results.extend(results)
    report.errors.extend(errors)
    return report


FAILED = JobResult("csv", "J7", "1007", Outcome.FAILED, reason="Xero refused: Account code '999' is not valid")
HELD = JobResult("csv", "J4", "1004", Outcome.HELD, reason="2 contacts share office@smithfamily.example")
CREATED = JobResult("csv", "J1", "1001", Outcome.CREATED, invoice_number="INV-0001", total=Decimal("297.91"))


def _settings(
    http: HttpReceiver,
    smtp: SmtpReceiver | None = None,
    on: tuple[str, ...] = ("failure", "hold"),
) -> NotifySettings:
    email = None
    if smtp is not None:
        email = {
            "smtp_host": smtp.host,
            "smtp_port": smtp.port,
            "from": "jobsync@example.com",
            "to": "books@example.com",
            "username": None,
            "password": None,
        }
    return NotifySettings.model_validate(
        {
            "slack_webhook_url": f"{http.url}/services/{SLACK_SECRET}",
            "webhook_url": f"{http.url}/hook",
            "email": email,
            "on": on,
        }
    )


@pytest.fixture
def state(tmp_path: Path) -> State:
    with State.open(tmp_path / "state.db") as opened:
        yield opened


def test_failure_reaches_slack_webhook_and_email_with_counts_jobs_report_and_fix(state: State) -> None:
    with http_receiver() as http, smtp_receiver() as smtp:
        problems = notify_run(_settings(http, smtp), _report(CREATED, FAILED, HELD), Path("/r/x.json"), state, NOW)
        assert problems == []
        slack = [body for path, body in http.posts if path == f"/services/{SLACK_SECRET}"]
        hook = [body for path, body in http.posts if path == "/hook"]
        assert len(slack) == 1 and len(hook) == 1 and len(smtp.messages) == 1
        text = slack[0]["text"]
        assert "created 1" in text and "held 1" in text and "failed 1" in text
        # The failed job comes first, with its reason; then the held one.
        assert text.index("job 1007 failed: Xero refused") < text.index("job 1004 held: 2 contacts share")
        # the alert carries the content, never a path on the server its reader cannot open
        assert "/r/x.json" not in text and "report_path" not in hook[0] and "jobsync jobs list --held" in text
        assert hook[0]["event"] == "jobsync.alert" and hook[0]["status"] == "failure"
        assert hook[0]["counts"]["failed"] == 1 and hook[0]["jobs"][0]["job_number"] == "1007"
        mail = smtp.messages[0]
        assert smtp.recipients == [["books@example.com"]]
        assert "needs attention" in mail["Subject"] and "job 1007 failed" in mail.get_payload()


def test_repeat_is_not_resent_then_reminded_then_recovery_announced(state: State) -> None:
    with http_receiver() as http:
        settings = _settings(http)
        assert notify_run(settings, _report(FAILED), None, state, NOW) == []
        assert notify_run(settings, _report(FAILED), None, state, NOW + timedelta(hours=1)) == []
        assert len(http.posts) == 2  # slack + webhook, once: the second run's same problem is not re-sent
        notify_run(settings, _report(FAILED), None, state, NOW + timedelta(hours=25))
        assert http.posts[-1][1]["event"] == "jobsync.reminder"
        assert len(http.posts) == 4
        notify_run(settings, _report(CREATED), None, state, NOW + timedelta(hours=26))
        assert http.posts[-1][1]["event"] == "jobsync.recovered"
        assert "recovered" in http.posts[-2][1]["text"]
        # Healthy again: a further clean run says nothing.
        notify_run(settings, _report(CREATED), None, state, NOW + timedelta(hours=27))
        assert len(http.posts) == 6


def test_a_different_problem_alerts_at_once(state: State) -> None:
    with http_receiver() as http:
        settings = _settings(http)
        notify_run(settings, _report(FAILED), None, state, NOW)
        notify_run(settings, _report(FAILED, HELD), None, state, NOW + timedelta(minutes=5))
        assert [body["event"] for path, body in http.posts if path == "/hook"] == ["jobsync.alert"] * 2


def test_on_setting_chooses_what_fires(state: State) -> None:
    with http_receiver() as http:
        notify_run(_settings(http, on=("failure",)), _report(HELD), None, state, NOW)
        assert http.posts == []  # holds are not configured to alert
        notify_run(_settings(http, on=("always",)), _report(CREATED), None, state, NOW)
        hook = [body for path, body in http.posts if path == "/hook"]
        assert [b["event"] for b in hook] == ["jobsync.summary"] and hook[0]["status"] == "ok"
        assert len(http.posts) == 2


def test_broken_channel_is_returned_as_a_problem_without_the_secret_url_and_retried(state: State) -> None:
    with http_receiver() as http:
        http.status = 500
        settings = NotifySettings(slack_webhook_url=f"{http.url}/services/{SLACK_SECRET}")
        problems = notify_run(settings, _report(FAILED), None, state, NOW)
        assert problems == ["notify: slack not delivered: HTTP 500"]
        http.status = 200
        # Nothing got through, so the next run alerts again instead of treating it as said.
        assert notify_run(settings, _report(FAILED), None, state, NOW + timedelta(minutes=1)) == []
        assert len(http.posts) == 2
    dead = NotifySettings(slack_webhook_url=f"http://127.0.0.1:{free_port()}/services/{SLACK_SECRET}")
    problems = notify_run(dead, _report(FAILED), None, state, NOW + timedelta(days=3))
    assert len(problems) == 1 and "slack not delivered: ConnectionError" in problems[0]
    assert SLACK_SECRET not in problems[0]


def test_smtp_failure_is_a_problem_and_never_quotes_the_password(state: State) -> None:
    email = {
        "smtp_host": "127.0.0.1",
        "smtp_port": free_port(),
        "from": "a@example.com",
        "to": ["b@example.com"],
        "username": "jobsync",
        "password": SMTP_SECRET,
    }
    problems = notify_run(NotifySettings.model_validate({"email": email}), _report(FAILED), None, state, NOW)
    assert len(problems) == 1 and problems[0].startswith("notify: email via 127.0.0.1:")
    assert SMTP_SECRET not in problems[0]


def test_decide_is_pure_and_keys_on_the_fingerprint() -> None:
    report = _report(FAILED)
    fp = fingerprint(report)
    assert fp == fingerprint(_report(FAILED)) != fingerprint(_report(HELD))
    # Digits in a run error (a request id, a time) do not make it a new problem.
    assert fingerprint(_report(errors=("timeout after 30 s (req 123)",))) == fingerprint(
        _report(errors=("timeout after 31 s (req 456)",))
    )
    day = timedelta(hours=24)
    assert decide(("failure",), "failure", fp, Memory(), NOW, day) == "alert"
    assert decide(("failure",), "failure", fp, Memory(fp, NOW, True), NOW + timedelta(hours=2), day) is None
    assert decide(("failure",), "failure", fp, Memory(fp, NOW, True), NOW + day, day) == "reminder"
    assert decide(("failure",), "ok", fp, Memory(fp, NOW, True), NOW, day) == "recovered"
    assert decide(("failure",), "ok", "", Memory(), NOW, day) is None


def test_unconfigured_notify_sends_nothing(state: State) -> None:
    assert notify_run(None, _report(FAILED), None, state, NOW) == []
    assert notify_run(NotifySettings(), _report(FAILED), None, state, NOW) == []


def test_go_live_check_disconnected_xero_raises_an_alert_end_to_end(tmp_path: Path) -> None:
    """The guide's go-live check: disconnect the Xero API and confirm an alert arrives."""
    with XeroSandbox(port=0) as sandbox, http_receiver() as http, smtp_receiver() as smtp:
        work = make_workdir(tmp_path, sandbox)
        work.write_jobs(["J1,1001,Completed,20/11/2026 10:00,C1,Cafe,cafe@example.com,,labour,,Labour,1,95.00,,,"])
        settings = load_settings(work.config)
        notify = _settings(http, smtp)
        sandbox.faults.fail_next("*", "/", status=401, count=100)  # the app disconnected in Xero
        stopped = sync(settings.model_copy(update={"notify": notify}), apply=True)
        assert stopped.result.stop_code == 3
        message = stopped.result.report.errors[0]
        assert "jobsync auth login" in message  # the cause and the command that fixes it
        hook = [body for path, body in http.posts if path == "/hook"]
        assert hook and hook[0]["status"] == "failure" and hook[0]["errors"] == [message]
        assert message in hook[0]["text"] and len(smtp.messages) == 1
        # Once, not every 15 minutes: a second stopped run with the same cause sends nothing new.
        sync(settings.model_copy(update={"notify": notify}), apply=True)
        assert len([p for p, _ in http.posts if p == "/hook"]) == 1 and len(smtp.messages) == 1
        # Xero is back: the next run succeeds and the recovery is announced.
        sandbox.faults.clear()
        outcome = sync(settings, apply=True)
        with State.open(settings.state.path) as state:
            notify_run(notify, outcome.result.report, outcome.report_paths[0], state, NOW + timedelta(hours=1))
        assert http.posts[-1][1]["event"] == "jobsync.recovered"
        recovered = http.posts[-1][1]
        assert str(outcome.report_paths[0]) not in recovered["text"]
        [invoice] = recovered["invoices"]  # what the run made, with its link into the organisation
        assert invoice["link"].startswith("https://go.xero.com/organisationlogin/default.aspx?shortcode=%21dTc0s&")
        assert invoice["link"] in recovered["text"] and invoice["invoice_number"] in recovered["text"]


def test_refresh_token_near_its_lapse_alerts_once_per_token_and_only_when_asked(state: State) -> None:
    lapses = NOW + timedelta(days=10)
    with http_receiver() as http:
        quiet = _settings(http)  # `on` without token_expiry: nothing is sent
        assert notify_token_expiry(quiet, lapses, state, NOW) == [] and http.posts == []
        settings = _settings(http, on=("failure", "token_expiry"))
        assert notify_token_expiry(settings, NOW + timedelta(days=20), state, NOW) == []  # 20 days: not yet
        assert http.posts == []
        assert notify_token_expiry(settings, lapses, state, NOW) == []
        hook = [body for path, body in http.posts if path == "/hook"]
        slack = [body for path, body in http.posts if path == f"/services/{SLACK_SECRET}"]
        assert len(hook) == 1 and len(slack) == 1
        assert hook[0]["event"] == "jobsync.token_expiry" and hook[0]["days_left"] == 10.0
        assert "lapses in 10.0 days" in slack[0]["text"] and "jobsync auth login" in slack[0]["text"]
        notify_token_expiry(settings, lapses, state, NOW + timedelta(days=1))
        assert len(http.posts) == 2  # the same token is not alerted about again
        # A rotated token that is again near its lapse (runs stopped refreshing it) alerts again.
        notify_token_expiry(settings, lapses + timedelta(days=3), state, NOW + timedelta(days=3))
        assert len(http.posts) == 4
        custom = NotifySettings.model_validate({**settings.model_dump(by_alias=True), "token_expiry_days": 30})
        assert notify_token_expiry(custom, NOW + timedelta(days=20), state, NOW) == []
        assert len(http.posts) == 6


def test_a_token_alert_nobody_received_is_reported_and_retried(state: State) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    settings = NotifySettings.model_validate({"webhook_url": f"{dead}/hook", "on": ["token_expiry"]})
    problems = notify_token_expiry(settings, NOW + timedelta(days=2), state, NOW, timeout=1)
    assert problems == ["notify: webhook not delivered: ConnectionError"]
    with http_receiver() as http:
        retry = NotifySettings.model_validate({"webhook_url": f"{http.url}/hook", "on": ["token_expiry"]})
        assert notify_token_expiry(retry, NOW + timedelta(days=2), state, NOW) == []
        assert len(http.posts) == 1
