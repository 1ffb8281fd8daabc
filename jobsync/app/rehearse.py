"""`jobsync rehearse`: the integration guide's five go-live checks, against an in-process sandbox.

The user's own settings and rules run unchanged except that Xero is the local sandbox, the state
and reports live in a scratch directory, and the job source is a handful of fixture jobs. Each
check compares what landed in the sandbox with what the rules say should have, so a rule that
names an account the organisation lacks fails the check that uses it, with the job's hold reason.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from jobsync.app import sync_run as service
from jobsync.config.settings import ReportSettings, Settings, StateSettings
from jobsync.core.errors import ExitCode, JobsyncError
from jobsync.core.models import Client, Job, JobLine
from jobsync.core.money import round2
from jobsync.core.rules import Excluded, MappedLine, map_line
from jobsync.output import notify
from jobsync.sandbox.xero.server import XeroSandbox

EXISTING = Client("rh-c1", "Harbour View Cafe Pty Ltd", "accounts@harbourviewcafe.example")
NEW = Client("rh-c2", "Rehearsal New Client Pty Ltd", "rehearsal@newclient.example")


@dataclass(frozen=True)
class CheckResult:
    number: int
    name: str
    passed: bool
    detail: str


class FixtureSource:
    """A JobSource over fixed jobs, standing in for the user's job system."""

    def __init__(self, name: str, jobs: Sequence[Job]) -> None:
        self.name = name
        self._jobs = list(jobs)

    def changed_since(self, mark: datetime) -> list[Job]:
        return [j for j in self._jobs if j.changed_at > mark]

    def get_jobs(self, ids: Sequence[str]) -> list[Job]:
        return [j for j in self._jobs if j.id in ids]

    @property
    def calls(self) -> dict[str, int]:
        return {}


def fixture_jobs(source: str, now: datetime) -> dict[int, Job]:
    """One job per invoicing check (1, 2, 3, 5), completed an hour ago."""
    when = now - timedelta(hours=1)

    def job(n: int, client: Client, *lines: JobLine) -> Job:
        return Job(source, f"rehearsal-{n}", f"RH-{n}", "Completed", when, when, client, tuple(lines))

    d = Decimal
    return {
        1: job(1, EXISTING, JobLine("labour", "Labour: rehearsal visit", d("2"), d("95.00"))),
        2: job(2, NEW, JobLine("labour", "Labour: first job for a new client", d("1"), d("120.00"))),
        3: job(
            3,
            EXISTING,
            JobLine("labour", "Labour", d("1.5"), d("95.00")),
            JobLine("material", "Copper pipe 15mm", d("3"), d("12.3456")),
            JobLine("fee", "Call-out fee", d("1"), d("80.00")),
            JobLine("subcontractor", "Subcontractor: roof plumber", d("1"), d("200.00")),
        ),
        5: job(
            5,
            EXISTING,
            JobLine("material", "Hot water unit (10% loyalty discount)", d("1"), d("1450.00"), discount_rate=d("10")),
        ),
    }


def rehearsal_settings(settings: Settings, sandbox: XeroSandbox, scratch: Path, token: str = "sandbox") -> Settings:
    auth = settings.xero.auth.model_copy(update={"mode": "static_token", "token": token})
    xero = settings.xero.model_copy(
        update={
            "api_url": sandbox.api_url,
            "identity_url": sandbox.identity_url,
            "tenant_id": sandbox.tenant_id,
            "auth": auth,
            "max_invoices_per_run": 200,
        }
    )
    return settings.model_copy(
        update={
            "xero": xero,
            "source": settings.source.model_copy(update={"start_from": None}),
            "state": StateSettings(path=scratch / "state.db"),
            "reports": ReportSettings(dir=scratch / "reports"),
        }
    )


def _invoice(sandbox: XeroSandbox, reference: str) -> dict[str, Any] | None:
    found = [i for i in sandbox.invoices() if i.get("Reference") == reference and i.get("Type") == "ACCREC"]
    return found[0] if len(found) == 1 else None


def _line_problems(settings: Settings, job: Job, invoice: dict[str, Any]) -> list[str]:
    """Each invoice line against the rule's mapping: account, tax type, discount and amount."""
    ruleset = settings.ruleset
    expected = [m for m in (map_line(ruleset, job, line) for line in job.lines) if not isinstance(m, Excluded)]
    actual = invoice.get("LineItems") or []
    if len(actual) != len(expected):
        return [f"{len(actual)} lines on the invoice, the rules give {len(expected)}"]
    problems = []
    for want, got in zip(expected, actual, strict=True):
        problems += _compare_line(want, got)
    return problems


def _compare_line(want: MappedLine, got: dict[str, Any]) -> list[str]:
    rate = want.discount_rate or Decimal(0)
    amount = round2(want.quantity * want.unit_amount * (1 - rate / 100)) - (want.discount_amount or 0)
    problems = []
    if got.get("AccountCode") != want.account_code:
        problems.append(
            f"{want.description!r}: account {got.get('AccountCode')}, rule {want.rule!r} says {want.account_code}"
        )
    if want.tax_type and got.get("TaxType") != want.tax_type:
        problems.append(f"{want.description!r}: tax {got.get('TaxType')}, rule {want.rule!r} says {want.tax_type}")
    if Decimal(str(got.get("LineAmount"))) != amount:
        problems.append(f"{want.description!r}: amount {got.get('LineAmount')}, expected {amount}")
    if rate and Decimal(str(got.get("DiscountRate") or 0)) != rate:
        problems.append(f"{want.description!r}: discount {got.get('DiscountRate')}%, expected {rate}%")
    return problems


def _invoice_check(
    n: int,
    name: str,
    settings: Settings,
    sandbox: XeroSandbox,
    job: Job,
    held: dict[str, str],
    extra: Callable[[dict[str, Any]], list[str]] = lambda _: [],
) -> CheckResult:
    invoice = _invoice(sandbox, job.number)
    if invoice is None:
        return CheckResult(n, name, False, f"no invoice for {job.number}: {held.get(job.id, 'not created')}")
    problems = list(extra(invoice))
    contact = (invoice.get("Contact") or {}).get("Name")
    wanted = job.client.name if job.client else None
    if contact != wanted:
        problems.append(f"contact {contact!r}, expected {wanted!r}")
    problems += _line_problems(settings, job, invoice)
    ok = f"{job.number} invoiced, total {invoice.get('Total')}"
    return CheckResult(n, name, not problems, "; ".join(problems) or ok)


def _alert_check(settings: Settings, sandbox: XeroSandbox, scratch: Path, now: datetime) -> CheckResult:
    name = "Xero disconnected: an alert is received"
    if not notify.channels(settings.notify):
        return CheckResult(4, name, False, "no notification channel configured (notify.slack_webhook_url, …)")
    # A disconnected app is a token Xero refuses: the run must stop and the alert must go out. The run
    # has a job to invoice, because a run with nothing to do rightly asks Xero nothing.
    revoked = rehearsal_settings(settings, sandbox, scratch / "disconnected", token="revoked-by-rehearsal")
    one_job = list(fixture_jobs(settings.source.name, now).values())[:1]
    try:
        outcome = service.sync(
            revoked, apply=True, since=now - timedelta(days=1), source=FixtureSource(settings.source.name, one_job)
        )
    except JobsyncError as exc:
        return CheckResult(4, name, False, f"the run failed before it could report: {exc.message}")
    if outcome.result.stop_code != ExitCode.UNREACHABLE:
        return CheckResult(4, name, False, "the run did not stop when Xero refused the token")
    # The stopped run wrote its report and sent its alert itself; only a delivery problem fails the check.
    problems = outcome.result.report.extra.get("notify_problems") or []
    if problems:
        return CheckResult(4, name, False, "; ".join(problems))
    return CheckResult(4, name, True, f"alert sent on {', '.join(notify.channels(settings.notify))}")


def rehearse(settings: Settings, now: Callable[[], datetime] = service.utc_now) -> list[CheckResult]:
    with XeroSandbox(port=0) as sandbox, tempfile.TemporaryDirectory(prefix="jobsync-rehearse-") as tmp:
        scratch = Path(tmp)
        local = rehearsal_settings(settings, sandbox, scratch)
        jobs = fixture_jobs(settings.source.name, now())
        source = FixtureSource(settings.source.name, list(jobs.values()))
        outcome = service.sync(local, apply=True, since=now() - timedelta(days=1), now=now, source=source)
        service.sync(local, apply=True, since=now() - timedelta(days=1), now=now, source=source)  # rerun: no dupes
        held = {r.job_id: f"{r.outcome.value}: {r.reason}" for r in outcome.result.report.results if r.reason}
        new_count = sum(1 for c in sandbox.contacts() if c.get("Name") == NEW.name)

        def one_contact(_: dict[str, Any]) -> list[str]:
            return [] if new_count == 1 else [f"{new_count} contacts named {NEW.name!r} after two runs, expected 1"]

        return [
            _invoice_check(1, "test job: right client, lines and amounts", local, sandbox, jobs[1], held),
            _invoice_check(2, "new client: exactly one contact", local, sandbox, jobs[2], held, one_contact),
            _invoice_check(3, "several line types each mapped", local, sandbox, jobs[3], held),
            _alert_check(settings, sandbox, scratch, now().astimezone(UTC)),
            _invoice_check(5, "discount applied", local, sandbox, jobs[5], held),
        ]


def write_table(results: Sequence[CheckResult], reports_dir: Path, now: datetime) -> Path:
    """The pass/fail table as Markdown in the reports dir, written atomically."""
    rows = [
        f"| {r.number} | {r.name} | {'pass' if r.passed else 'FAIL'} | {r.detail.replace('|', '/')} |" for r in results
    ]
    text = "\n".join(
        [
            "# jobsync rehearsal",
            "",
            f"Run at {now.isoformat()}",
            "",
            "| # | check | result | detail |",
            "|---|---|---|---|",
            *rows,
            "",
        ]
    )
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = reports_dir / f"rehearsal-{now.strftime('%Y%m%dT%H%M%SZ')}.md"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
