"""Tell people when a run needs them: Slack, a generic JSON webhook, and email over SMTP.

An alert is sent once per distinct problem, then again only as a reminder after an interval, and a
"recovered" message follows when a failing sync succeeds again; the memory of what was sent lives in
the state file's cache. Sending never raises: each channel's failure comes back as a problem string
for the caller to put in the report and on stderr (a silent alert failure is the worst failure).
Problem strings never contain the webhook URL or SMTP password: both are credentials.
"""

from __future__ import annotations

import hashlib
import json
import re
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import requests

from jobsync.config.settings import EmailSettings, NotifySettings
from jobsync.core.errors import JobsyncError
from jobsync.core.models import JobResult, Outcome, RunReport
from jobsync.net import http
from jobsync.output import follow_up_view
from jobsync.output.report import OUTCOME_ORDER
from jobsync.output.report import money as report_money
from jobsync.state.store import State

CACHE_KEY = "notify:alert"
TOKEN_CACHE_KEY = "notify:token_expiry"  # the lapse date last alerted about
DEFAULT_REMIND_AFTER = timedelta(hours=24)
FIRST_JOBS = 5  # how many held/failed jobs a message names before "and N more"
TIMEOUT_SECONDS = 10.0
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class Memory:
    """What the last alert said: its problem fingerprint, when it went, and whether it is still open."""

    fingerprint: str = ""
    sent_at: datetime | None = None
    open: bool = False


@dataclass(frozen=True)
class Message:
    kind: str  # "alert" / "reminder" / "recovered" / "summary"
    status: str  # "failure" / "hold" / "ok"
    subject: str
    text: str
    payload: dict[str, Any]


# ---------------------------------------------------------------------------
# Deciding (pure)
# ---------------------------------------------------------------------------


def run_status(report: RunReport) -> str:
    if report.count(Outcome.FAILED) or report.errors:
        return "failure"
    if report.count(Outcome.HELD) or follow_up_view.needs_a_person(follow_up_view.of(report.extra)):
        return "hold"
    return "ok"


def fingerprint(report: RunReport) -> str:
    """Same jobs in the same trouble (and the same run errors, numbers aside) → same fingerprint."""
    jobs = sorted(f"{r.outcome.value}:{r.source}:{r.job_id}" for r in _attention(report))
    # Digits vary run to run (times, counts, request ids) without the problem changing.
    errors = sorted(re.sub(r"\d+", "#", e) for e in report.errors)
    back = follow_up_view.attention_keys(follow_up_view.of(report.extra))
    raw = json.dumps([run_status(report), jobs, errors] + ([back] if back else []))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def decide(
    on: Sequence[str], status: str, print_: str, memory: Memory, now: datetime, remind_after: timedelta
) -> str | None:
    """Which message (if any) this run sends: alert, reminder, recovered, summary or nothing."""
    always = "always" in on
    if status != "ok" and (status in on or always):
        if memory.open and memory.fingerprint == print_ and memory.sent_at is not None:
            if now - memory.sent_at < remind_after:
                return "summary" if always else None
            return "reminder"
        return "alert"
    if memory.open:
        return "recovered"
    return "summary" if always else None


# ---------------------------------------------------------------------------
# The message
# ---------------------------------------------------------------------------


def _attention(report: RunReport) -> list[JobResult]:
    found = [r for r in report.results if r.outcome in (Outcome.FAILED, Outcome.HELD)]
    return sorted(found, key=lambda r: (r.outcome is not Outcome.FAILED, r.job_number))


def _fix_commands(report: RunReport, status: str) -> list[str]:
    fixes = []
    if report.errors:
        fixes.append("jobsync status   (then re-run: jobsync run)")
    if report.count(Outcome.FAILED):
        fixes.append("jobsync jobs list --failed   (failed jobs are retried by the next run)")
    if report.count(Outcome.HELD):
        fixes.append("jobsync jobs list --held   then fix the reason, and: jobsync jobs retry JOB")
    if report.results:
        # A run stopped before its report (notify_error) has nothing for `jobsync report` to show.
        fixes.append(f"jobsync report {report.run_id}")
    return fixes


def build_message(kind: str, report: RunReport, report_path: Path | None) -> Message:
    status = run_status(report)
    counts = {o.value: report.count(o) for o in OUTCOME_ORDER}
    headline = {
        "alert": "needs attention",
        "reminder": "still needs attention (reminder)",
        "recovered": "recovered: the sync is healthy again",
        "summary": "ok" if status == "ok" else "needs attention",
    }[kind]
    subject = f"jobsync {report.command} {report.run_id}: {headline}"
    attention = _attention(report)
    lines = [subject, "Counts: " + ", ".join(f"{k} {v}" for k, v in counts.items())]
    lines += [f"Error: {e}" for e in report.errors]
    late = report.extra.get("outside_window") or []
    if late:
        lines.append("Found outside the normal read window (backdated or late): " + ", ".join(late[:FIRST_JOBS]))
    for r in attention[:FIRST_JOBS]:
        lines.append(f"- job {r.job_number} {r.outcome.value}: {r.reason}")
    if len(attention) > FIRST_JOBS:
        lines.append(f"- and {len(attention) - FIRST_JOBS} more")
    # The content that matters travels in the alert; a path on the server would mean nothing to its reader.
    created = [r for r in report.results if r.outcome is Outcome.CREATED]
    for r in created[:FIRST_JOBS]:
        lines.append(
            f"- job {r.job_number}: {r.invoice_number} {r.contact_name or ''} {report_money(r.total)}".rstrip()
        )
        if r.link:
            lines.append(f"  {r.link}")
    if len(created) > FIRST_JOBS:
        lines.append(f"- and {len(created) - FIRST_JOBS} more invoices")
    lines += follow_up_view.alert_lines(follow_up_view.of(report.extra))
    fixes = _fix_commands(report, status)
    lines += [f"Fix: {f}" for f in fixes]
    payload = {
        "event": f"jobsync.{kind}",
        "status": status,
        "run_id": report.run_id,
        "command": report.command,
        "counts": counts,
        "errors": list(report.errors),
        "jobs": [
            {"job_number": r.job_number, "job_id": r.job_id, "outcome": r.outcome.value, "reason": r.reason}
            for r in attention[:FIRST_JOBS]
        ],
        "more_jobs": max(0, len(attention) - FIRST_JOBS),
        "invoices": [
            {
                "job_number": r.job_number,
                "invoice_number": r.invoice_number,
                "total": report_money(r.total),
                "contact": r.contact_name,
                "link": r.link,
            }
            for r in created[:FIRST_JOBS]
        ],
        "fix": fixes,
        "text": "\n".join(lines),
    }
    return Message(kind, status, subject, "\n".join(lines), payload)


# ---------------------------------------------------------------------------
# Channels
# ---------------------------------------------------------------------------


def _post_json(name: str, url: str, body: dict[str, Any], timeout: float) -> str | None:
    try:
        response = http.send("POST", url, json=body, timeout=timeout)
    except requests.RequestException as exc:
        # The exception text embeds the URL, which for Slack is the credential: name the kind only.
        return f"notify: {name} not delivered: {type(exc).__name__}"
    if response.status_code >= 300:
        return f"notify: {name} not delivered: HTTP {response.status_code}"
    return None


def _send_email(email: EmailSettings, message: Message, timeout: float) -> str | None:
    mail = EmailMessage()
    mail["Subject"] = message.subject
    mail["From"] = email.sender
    mail["To"] = ", ".join(email.to)
    mail.set_content(message.text)
    try:
        if email.smtp_port == 465:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(email.smtp_host, email.smtp_port, timeout=timeout)
        else:
            smtp = smtplib.SMTP(email.smtp_host, email.smtp_port, timeout=timeout)
        with smtp:
            smtp.ehlo()
            secure = isinstance(smtp, smtplib.SMTP_SSL)
            if not secure and smtp.has_extn("starttls"):
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
                secure = True
            if email.username:
                if not secure and email.smtp_host not in _LOOPBACK:
                    return "notify: email not sent: the server offers no STARTTLS and a password would go in clear"
                smtp.login(email.username, email.password or "")
            smtp.send_message(mail)
    except (OSError, smtplib.SMTPException) as exc:
        # Never echo the server's reply verbatim: an auth failure may quote the username back.
        return f"notify: email via {email.smtp_host}:{email.smtp_port} not sent: {type(exc).__name__}"
    return None


def channels(settings: NotifySettings | None) -> list[str]:
    if settings is None:
        return []
    names = []
    if settings.slack_webhook_url:
        names.append("slack")
    if settings.webhook_url:
        names.append("webhook")
    if settings.email is not None:
        names.append("email")
    return names


def deliver(settings: NotifySettings, message: Message, timeout: float = TIMEOUT_SECONDS) -> tuple[int, list[str]]:
    """Send on every configured channel; returns (how many delivered, problems)."""
    problems: list[str] = []
    sent = 0
    if settings.slack_webhook_url:
        problem = _post_json("slack", settings.slack_webhook_url, {"text": message.text}, timeout)
        sent, problems = (sent + 1, problems) if problem is None else (sent, [*problems, problem])
    if settings.webhook_url:
        problem = _post_json("webhook", settings.webhook_url, message.payload, timeout)
        sent, problems = (sent + 1, problems) if problem is None else (sent, [*problems, problem])
    if settings.email is not None:
        problem = _send_email(settings.email, message, timeout)
        sent, problems = (sent + 1, problems) if problem is None else (sent, [*problems, problem])
    return sent, problems


# ---------------------------------------------------------------------------
# Memory and the entry points
# ---------------------------------------------------------------------------


def _load(state: State) -> Memory:
    raw = state.cache_get(CACHE_KEY)
    if not raw:
        return Memory()
    try:
        data = json.loads(raw)
        sent_at = datetime.fromisoformat(data["sent_at"]) if data.get("sent_at") else None
        return Memory(str(data.get("fingerprint", "")), sent_at, bool(data.get("open")))
    except (ValueError, KeyError, TypeError):
        return Memory()  # a damaged memory costs one repeated alert, nothing worse


def _save(state: State, memory: Memory) -> None:
    sent_at = None if memory.sent_at is None else memory.sent_at.isoformat()
    state.cache_put(CACHE_KEY, json.dumps({"fingerprint": memory.fingerprint, "sent_at": sent_at, "open": memory.open}))


def remind_after(settings: NotifySettings) -> timedelta:
    # `notify.remind_hours` is read when the config offers it; until then the default applies.
    hours = getattr(settings, "remind_hours", None)
    return DEFAULT_REMIND_AFTER if hours is None else timedelta(hours=float(hours))


def notify_run(
    settings: NotifySettings | None,
    report: RunReport,
    report_path: Path | None,
    state: State,
    now: datetime,
    timeout: float = TIMEOUT_SECONDS,
) -> list[str]:
    """Send what this run calls for; returns problems (empty when all went, or nothing was due)."""
    if settings is None or not channels(settings):
        return []
    status = run_status(report)
    print_ = fingerprint(report)
    memory = _load(state)
    kind = decide(settings.on, status, print_, memory, now, remind_after(settings))
    if kind is None:
        return []
    sent, problems = deliver(settings, build_message(kind, report, report_path), timeout)
    if sent:
        # Only a delivered alert counts as said; if every channel failed, the next run tries again.
        if status != "ok" and (status in settings.on or "always" in settings.on):
            keep_time = kind == "summary" and memory.fingerprint == print_
            _save(state, Memory(print_, memory.sent_at if keep_time else now, True))
        elif memory.open:
            _save(state, Memory())
    return problems


def notify_error(
    settings: NotifySettings | None,
    error: JobsyncError,
    state: State,
    now: datetime,
    run_id: str | None = None,
    command: str = "run",
) -> list[str]:
    """A run that stopped before its report (Xero or the job system unreachable) still alerts."""
    run_id = run_id or now.strftime("%Y%m%dT%H%M%SZ") + "-stopped"
    report = RunReport(run_id=run_id, command=command, started_at=now, finished_at=now)
    report.errors.append(error.message)
    return notify_run(settings, report, None, state, now)


def notify_token_expiry(
    settings: NotifySettings | None,
    refresh_lapses_at: datetime | None,
    state: State,
    now: datetime,
    timeout: float = TIMEOUT_SECONDS,
) -> list[str]:
    """With `on: [token_expiry]`: alert once when the refresh token lapses within `token_expiry_days`.

    Once per lapse date: a refresh rotates the token and moves the date, which re-arms the alert.
    """
    if settings is None or "token_expiry" not in settings.on or not channels(settings) or refresh_lapses_at is None:
        return []
    days_left = (refresh_lapses_at - now).total_seconds() / 86400
    stamp = refresh_lapses_at.isoformat()
    if days_left >= settings.token_expiry_days or state.cache_get(TOKEN_CACHE_KEY) == stamp:
        return []
    when = (
        f"lapsed on {refresh_lapses_at:%Y-%m-%d}"
        if days_left <= 0
        else (f"lapses in {days_left:.1f} days ({refresh_lapses_at:%Y-%m-%d})")
    )
    subject = f"jobsync: the Xero refresh token {when}"
    fix = "jobsync auth login   (or let a scheduled `jobsync run` refresh it before then)"
    text = f"{subject}\nWithout it every run fails until someone logs in again.\nFix: {fix}"
    payload = {
        "event": "jobsync.token_expiry",
        "status": "token_expiry",
        "days_left": round(days_left, 1),
        "refresh_lapses_at": stamp,
        "fix": [fix],
        "text": text,
    }
    sent, problems = deliver(settings, Message("alert", "token_expiry", subject, text, payload), timeout)
    if sent:
        state.cache_put(TOKEN_CACHE_KEY, stamp)  # only a delivered alert counts as said
    return problems
