"""The core entry points the CLI calls: one function per user-facing action.

Each takes settings (and, for tests, injected pieces), does the work, and
returns values for the CLI to render. No printing here.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from jobsync.app import follow_up, history, org_facts
from jobsync.app.wiring import build_gateway, build_source, xero_login
from jobsync.config.settings import Settings, config_hash
from jobsync.core.deep_links import invoice_link
from jobsync.core.errors import JobsyncError
from jobsync.core.follow_up import void_message
from jobsync.core.models import Outcome, Plan, RunReport
from jobsync.core.plan import PlanSettings, build_plan
from jobsync.core.templates import LEGACY_REFERENCES
from jobsync.output import notify
from jobsync.output.report import write_report
from jobsync.runtime import stop_request
from jobsync.sources.base import JobSource
from jobsync.sources.kind_mapped import KindMappedSource
from jobsync.state.store import HoldRow, RunRow, State
from jobsync.sync.gather import Gathered
from jobsync.sync.runner import RunOptions, RunResult, execute
from jobsync.xero.follow_up_client import FollowUpClient
from jobsync.xero.gateway import XeroGateway
from jobsync.xero.token_store import renew_if_lapsing, token_status

log = logging.getLogger("jobsync.app.sync_run")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class SyncOutcome:
    result: RunResult
    report_paths: tuple[Path, Path] | None  # (json, markdown); None for preview


@dataclass
class StatusView:
    zone: str  # the zone its times are shown in
    source: str
    watermark: datetime | None
    runs: list[RunRow]
    holds: list[HoldRow]


def run_options(
    settings: Settings, apply: bool, since: datetime | None, force: bool, only_job: str | None
) -> RunOptions:
    """What the settings and the command line decide for one pass."""
    tolerance = settings.xero.total_tolerance
    return RunOptions(
        apply=apply,
        since=since,
        force=force,
        max_invoices=settings.xero.max_invoices_per_run,
        email_invoices=settings.xero.email_invoices,
        overlap=timedelta(minutes=settings.source.overlap_minutes),
        start_from=settings.source.start_from,
        adopt_tolerance=Decimal("0.01") if tolerance == "off" else tolerance,
        deep_reconcile=timedelta(hours=settings.source.deep_reconcile_hours),
        held_recheck=timedelta(minutes=settings.source.held_recheck_minutes),
        config_fingerprint=config_hash(settings),
        only_job=only_job,
        approval_required=settings.xero.approval == "required",
    )


def sync(
    settings: Settings,
    *,
    apply: bool,
    since: datetime | None = None,
    force: bool = False,
    now: Callable[[], datetime] = utc_now,
    source: JobSource | None = None,
    gateway: XeroGateway | None = None,
    only_job: str | None = None,
    lock_wait: float = 0,
) -> SyncOutcome:
    """`jobsync run` (apply=True) or `jobsync preview` (apply=False)."""
    ruleset = settings.ruleset
    billing = settings.billing_policy
    source = source or build_source(settings)
    if not isinstance(source, KindMappedSource):  # a source handed in (tests, rehearse) maps kinds too
        source = KindMappedSource(source, settings.source.kind_map)
    gateway = gateway or build_gateway(settings)
    options = run_options(settings, apply, since, force, only_job)

    def plan_for(g: Gathered) -> Plan:
        plan_settings = PlanSettings(
            invoice_status=settings.xero.invoice_status,
            payment_terms_days=settings.xero.payment_terms_days,
            org_timezone=g.refs.org.timezone,
            reference_template=settings.xero.reference_template,
            legacy_references=_legacy_references(settings),
            line_amount_types=settings.xero.line_amount_types,
            billing=billing,
            payment_terms=_terms(settings),
            total_tolerance=None if settings.xero.total_tolerance == "off" else settings.xero.total_tolerance,
            update_drafts=settings.xero.update_drafts,
            allow_zero_total=settings.xero.allow_zero_total,
        )
        return build_plan(g.jobs, g.ledger, ruleset, g.refs, g.snapshot, plan_settings, now())

    log.info("%s: source %s, state %s", "run" if apply else "preview", settings.source.name, settings.state.path)
    with State.open(settings.state.location) as state:
        if not apply:
            result = execute(source, gateway, state, plan_for, options, now, "preview")
            result.report.config_hash = config_hash(settings)
            _note_back(settings, result, state)
            _note_unmapped(source, result, state)
            _note_org(settings, result, state)
            return SyncOutcome(result, None)
        with state.lock(lock_wait), stop_request.handled():
            try:
                _keep_login_alive(settings)
                result = execute(source, gateway, state, plan_for, options, now, "run")
                _pass_back(settings, state, gateway, result, now)
            except JobsyncError as exc:
                # A run that stops before its report (Xero down, bad token) still alerts someone.
                exc.problems.extend(notify.notify_error(settings.notify, exc, state, now()))
                raise
            _note_back(settings, result, state)
            _note_unmapped(source, result, state)
            _note_org(settings, result, state)
            paths = _finish_run(settings, result, state, now)
    return SyncOutcome(result, paths)


def _pass_back(
    settings: Settings, state: State, gateway: XeroGateway, result: RunResult, now: Callable[[], datetime]
) -> None:
    """Payments, voids, documents and links back, when the run reached its end and Xero is ours to ask."""
    if result.stop_code is not None or not isinstance(gateway, FollowUpClient):
        return
    summary = follow_up.after_run(settings, state, gateway, result, now)
    result.report.extra["follow_up"] = summary.to_dict()
    for name, n in summary.calls.items():
        result.report.api_calls[name] = result.report.api_calls.get(name, 0) + n
    result.report.extra["rate_limits"] = dict(gateway.limits)  # the headroom after the pass back's calls too


def _note_back(settings: Settings, result: RunResult, state: State) -> None:
    """Shown every time until dealt with: invoices voided or deleted in Xero (their jobs stay uninvoiced
    until forgotten), and adjustments to approved invoices, proposed or waiting for approval."""
    cancelled = state.cancelled_invoices(settings.source.name)
    if cancelled:
        result.report.extra["voided_in_xero"] = [
            void_message(c.invoice_number, c.reference, c.status, c.noticed_at.date()) for c in cancelled
        ]
    last = state.recent_runs(1)
    if last and result.report.command == "preview":
        came = state.payments_since(last[0].started_at)
        if came:
            total = sum((p.amount for p in came if p.state in ("written", "reported")), Decimal("0"))
            said = f"{len(came)} payments ({total:.2f}) came back from Xero since the last run began"
            result.report.extra["payments_back"] = said
    proposed = follow_up.proposed_adjustments(state, result.plan.skipped)
    held = [a for a, _, _ in state.adjustments(("held",)) if a.reference not in {p.reference for p in proposed}]
    if proposed or held:
        mode = settings.changes.authorised
        result.report.extra["adjustments_proposed"] = [
            f"{a.describe()} ({'held for approval' if mode == 'hold' else 'made at once'})" for a in proposed
        ] + [f"{a.describe()} (held for approval: jobsync jobs approve {a.job_number})" for a in held]


def _note_org(settings: Settings, result: RunResult, state: State) -> None:
    """The organisation's zone, as this run read it (or as last read): the zone every human time is shown in."""
    refs = result.gathered.refs if result.gathered else None
    if refs is not None and refs.org.name:  # NOTHING_READ has no name: an idle run read no Organisation
        state.cache_put(org_facts.ORG_ZONE_KEY, refs.org.timezone)
        if refs.org.short_code:
            state.cache_put(org_facts.SHORT_CODE_KEY, refs.org.short_code)
    result.report.timezone = org_facts.display_zone(settings, state)
    code = org_facts.short_code(state)
    result.report.results = [
        replace(r, link=invoice_link(code, r.invoice_id)) if r.invoice_id and not r.link else r
        for r in result.report.results
    ]


def _note_unmapped(source: KindMappedSource, result: RunResult, state: State) -> None:
    """Line types no kind maps: into the report, and kept for `doctor` (which reads no jobs itself)."""
    seen = dict(sorted(source.unmapped.items()))
    if seen:
        result.report.extra["unmapped_kinds"] = seen
    if seen or result.report.results:
        state.cache_put(f"unmapped_kinds:{source.name}", json.dumps(seen))


def unmapped_kinds(state: State, source_name: str) -> dict[str, int]:
    """What the last run or preview recorded by `_note_unmapped`."""
    raw = state.cache_get(f"unmapped_kinds:{source_name}")
    return {str(k): int(v) for k, v in json.loads(raw).items()} if raw else {}


def _legacy_references(settings: Settings) -> tuple[str, ...]:
    """A config on the default Reference also finds invoices made under the earlier default."""
    return () if "reference_template" in settings.xero.model_fields_set else LEGACY_REFERENCES


def _terms(settings: Settings) -> tuple[int, str] | None:
    terms = settings.xero.payment_terms
    return None if terms is None else (terms.day, terms.type)


def _finish_run(settings: Settings, result: RunResult, state: State, now: Callable[[], datetime]) -> tuple[Path, Path]:
    """Report, alert, record and prune; a failed alert is written into the report, never lost."""
    report = result.report
    counts = ", ".join(f"{o.value} {report.count(o)}" for o in Outcome)
    log.info("run %s finished: %s; Xero calls %d", report.run_id, counts, sum(report.api_calls.values()))
    report.config_hash = config_hash(settings)
    history.enrich(report, settings.reports.minutes_per_invoice)
    paths = write_report(report, settings.reports.dir)
    problems = notify.notify_run(settings.notify, report, paths[0], state, now())
    problems += _token_expiry_alert(settings, state, now())
    if problems:
        report.errors.extend(problems)
        report.extra["notify_problems"] = problems
        paths = write_report(report, settings.reports.dir)
    state.record_run(report, int(result.exit_code), str(paths[0]))
    history.prune_reports(settings.reports.dir, settings.reports.keep_days, now())
    return paths


def _keep_login_alive(settings: Settings) -> None:
    """A run with work renews the token as it calls Xero; a quiet one renews it only near its lapse."""
    if settings.xero.auth.mode == "oauth":
        renew_if_lapsing(xero_login(settings), timedelta(days=settings.xero.auth.token_refresh_days))


def _token_expiry_alert(settings: Settings, state: State, at: datetime) -> list[str]:
    """A cron job paused for 60 days loses its Xero login: warn while there is time to act."""
    if settings.xero.auth.mode != "oauth":
        return []
    status_now = token_status(xero_login(settings), at)
    lapses_at = status_now.refresh_lapses_at if status_now else None
    return notify.notify_token_expiry(settings.notify, lapses_at, state, at)


def freshness(settings: Settings, max_age: timedelta, now: Callable[[], datetime] = utc_now) -> tuple[bool, str]:
    """The dead-man check: did a run succeed within `max_age`?"""
    with State.open(settings.state.location) as state:
        return history.check_state(state, now(), max_age)


def status(settings: Settings) -> StatusView:
    with State.open(settings.state.location) as state:
        name = settings.source.name
        return StatusView(
            zone=org_facts.display_zone(settings, state),
            source=name,
            watermark=state.get_watermark(name),
            runs=state.recent_runs(10),
            holds=state.holds(name),
        )


ONE_BY_ONE = 5  # up to this many jobs are applied each alone; more are one incremental run


def sync_jobs(
    settings: Settings,
    job_ids: Iterable[str],
    lock_wait: float,
    gateway_for: Callable[[], XeroGateway] | None = None,
) -> list[tuple[str | None, RunReport]]:
    """Apply these jobs now, as a webhook or an approval asks: a handful each re-read and applied alone
    (`only_job`, the path `jobs retry` takes), more as one incremental run, which reads them all in one
    pass. Each pass's job (None for the incremental run) with its report. `gateway_for` makes each
    pass's Xero client (default: the config's own)."""
    wanted = sorted(set(job_ids))
    passes: list[str | None] = [None] if len(wanted) > ONE_BY_ONE else list(wanted)
    make: Callable[[], XeroGateway | None] = gateway_for or (lambda: None)
    return [
        (job, sync(settings, apply=True, only_job=job, lock_wait=lock_wait, gateway=make()).result.report)
        for job in passes
    ]
