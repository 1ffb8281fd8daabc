"""What a sync pass is told (`RunOptions`) and what it hands back (`RunResult`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from jobsync.core.errors import ExitCode
from jobsync.core.models import Plan, RunReport
from jobsync.sync.gather import Gathered


@dataclass
class RunOptions:
    """What the command line decided for this pass."""

    apply: bool  # False for preview
    since: datetime | None = None
    force: bool = False  # overrides the max_invoices_per_run brake
    max_invoices: int = 200
    email_invoices: bool = False
    overlap: timedelta = timedelta(minutes=1440)
    start_from: datetime | None = None
    # How far an invoice found by Reference may differ from the plan and still be this job's.
    adopt_tolerance: Decimal = Decimal("0.01")
    # How often a source with a change time also reads every billable job since start_from.
    deep_reconcile: timedelta = timedelta(hours=24)
    # How often a run re-plans held and failed jobs (`preview` always does).
    held_recheck: timedelta = timedelta(minutes=60)
    config_fingerprint: str = ""  # a changed config re-plans held jobs at once
    only_job: str | None = None  # `jobs retry JOB`: re-read, re-plan and apply this job alone
    approval_required: bool = False  # xero.approval: required: only approved drafts are applied


@dataclass
class RunResult:
    plan: Plan
    report: RunReport
    gathered: Gathered | None = None
    exit_code: ExitCode = ExitCode.OK
    contact_ids: dict[str, str] = field(default_factory=dict)
    stop_code: ExitCode | None = None  # set when the run stopped part-way (3, 5): its exit code
    in_flight: set[tuple[str, str]] = field(default_factory=set)  # (job id, stage) of the batch being sent
