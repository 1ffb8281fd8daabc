"""What the console's pages show, built from the same functions the CLI uses (no logic of its own).

`today` is the very plan `preview` and `run` build (a preview pass: it creates nothing), grouped for a
bookkeeper: held jobs first, with their fixes; the drafts with totals by account and by client; and,
under `xero.approval: required`, the approval queue. `job_page` gathers one job's stages, invoices,
payments, attachments and history from the state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from jobsync.app import approvals, history, sync_run
from jobsync.app.approvals import QueuedDraft
from jobsync.app.controls import resolve
from jobsync.app.org_facts import short_code
from jobsync.config.settings import Settings
from jobsync.core.deep_links import invoice_link
from jobsync.core.errors import JobsyncError
from jobsync.core.models import Hold, InvoiceDraft, LedgerEntry
from jobsync.core.preview import explain_job
from jobsync.state.console_rows import AuditRow
from jobsync.state.follow_up_tables import PaymentRow
from jobsync.state.rows import ActionRow
from jobsync.state.store import State


@dataclass(frozen=True)
class LineRow:
    description: str
    quantity: Decimal
    unit_amount: Decimal
    account: str
    tax: str
    amount: Decimal
    rule: str


@dataclass(frozen=True)
class DraftRow:
    job_id: str
    job_number: str
    stage: str
    reference: str
    client: str
    new_contact: bool
    total: Decimal
    lines: list[LineRow]


@dataclass(frozen=True)
class HeldCard:
    job_id: str
    job_number: str
    reason: str
    fix: str
    client_key: str | None
    client_name: str | None
    amount: Decimal | None
    candidates: list[tuple[str, str, str]]  # (ContactID, Name, email) Xero offered for this client
    kind: str = "held"  # or "failed"


@dataclass
class Today:
    drafts: list[DraftRow] = field(default_factory=list)
    by_account: list[tuple[str, Decimal]] = field(default_factory=list)
    by_client: list[tuple[str, Decimal]] = field(default_factory=list)
    total: Decimal = Decimal("0")
    held: list[HeldCard] = field(default_factory=list)
    queue: list[QueuedDraft] = field(default_factory=list)
    adjustments: list[tuple[str, str, str]] = field(default_factory=list)  # held: (job number, Reference, what)
    approval_required: bool = False
    problems: list[str] = field(default_factory=list)  # why the plan could not be built, if it could not


def today(settings: Settings) -> Today:
    shown = Today(approval_required=settings.xero.approval == "required")
    try:
        result = sync_run.sync(settings, apply=False).result
        shown.problems += result.report.errors  # the job system or Xero refused: say so on the page
        plan = None if result.stop_code is not None else result.plan
    except JobsyncError as exc:
        shown.problems.append(exc.message)
        plan = None
    if plan is not None:
        shown.drafts = [_draft_row(d) for d in plan.drafts]
        shown.held = [_held_card(h) for h in plan.held]
        _totals(shown, plan.drafts)
    with State.open(settings.state.location) as state:
        held = state.adjustments(("held",))
        shown.adjustments = [(a.job_number, a.reference, a.describe()) for a, _, _ in held]
        held_ids = {c.job_id for c in shown.held}
        shown.held += [
            HeldCard(h.job_id, h.job_number, h.reason, "retry it, or ignore it", h.client_key, None, None, [], h.kind)
            for h in state.holds(settings.source.name, kind="failed")
            if h.job_id not in held_ids
        ]
    if shown.approval_required:
        shown.queue = approvals.queue(settings)
    return shown


def _draft_row(d: InvoiceDraft) -> DraftRow:
    lines = [
        LineRow(
            line.description,
            line.quantity,
            line.unit_amount,
            line.account_label,
            line.tax_label,
            line.line_amount,
            line.rule,
        )
        for line in d.lines
    ]
    new = d.contact.contact_id is None
    return DraftRow(d.job_id, d.job_number, d.stage, d.reference, d.contact.name, new, d.total, lines)


def _held_card(h: Hold) -> HeldCard:
    offered = [(c.contact_id, c.name, c.email or "") for c in h.candidates]
    return HeldCard(h.job_id, h.job_number, h.reason, h.fix, h.client_key, h.client_name, h.amount, offered)


def _totals(shown: Today, drafts: tuple[InvoiceDraft, ...]) -> None:
    accounts: dict[str, Decimal] = {}
    clients: dict[str, Decimal] = {}
    for d in drafts:
        clients[d.contact.name] = clients.get(d.contact.name, Decimal("0")) + d.total
        for line in d.lines:
            accounts[line.account_label] = accounts.get(line.account_label, Decimal("0")) + line.line_amount
    shown.by_account = sorted(accounts.items())
    shown.by_client = sorted(clients.items(), key=lambda kv: (-kv[1], kv[0]))
    shown.total = sum((d.total for d in drafts), Decimal("0"))


@dataclass(frozen=True)
class StageRow:
    stage: str
    reference: str
    state: str
    invoice_number: str | None
    link: str | None
    status: str | None  # in Xero, as the pass back last saw it
    amount_due: Decimal | None


@dataclass
class JobPage:
    source: str
    job_id: str
    job_number: str
    stages: list[StageRow] = field(default_factory=list)
    hold: tuple[str, str] | None = None  # (kind, reason)
    queued: list[QueuedDraft] = field(default_factory=list)
    draft: DraftRow | None = None
    payments: list[PaymentRow] = field(default_factory=list)
    attachments: list[tuple[str, str]] = field(default_factory=list)  # (file, state)
    actions: list[ActionRow] = field(default_factory=list)
    audit: list[AuditRow] = field(default_factory=list)
    explained: list[tuple[str, str, str]] = field(default_factory=list)  # (line, account, rule) as read now
    runs: list[tuple[str, str, str, str]] = field(default_factory=list)  # (run id, started, outcome, invoice)


def job_page(settings: Settings, job: str, with_plan: bool = True) -> JobPage | None:
    source = settings.source.name
    with State.open(settings.state.location) as state:
        ref = resolve(state, source, job)
        queued = [q for q in approvals.queue(settings) if job in (q.row.job_id, q.row.job_number)]
        if ref is None and not queued:
            return None
        job_id = ref.job_id if ref else queued[0].row.job_id
        page = JobPage(source, job_id, ref.job_number if ref else queued[0].row.job_number, queued=queued)
        code = short_code(state)
        entries = state.ledger_for(source, [job_id]).values()
        page.stages = [_stage(state, e, code) for e in sorted(entries, key=lambda e: e.stage)]
        hold = next((h for h in state.holds(source) if h.job_id == job_id), None)
        page.hold = (hold.kind, hold.reason) if hold else None
        page.payments = state.payments_for_job(source, job_id)
        ids = [e.invoice_id for e in entries if e.invoice_id]
        page.attachments = [(name, st) for _, name, st, _ in state.attachments_for(ids)]
        page.actions = state.actions(source, job_id)
        page.audit = state.audit_log(f"{source}:{job_id}")
    if with_plan:
        page.draft, page.explained = _planned(settings, job_id)
    page.runs = _runs_of(settings, job_id)
    return page


def _runs_of(settings: Settings, job_id: str, last: int = 30) -> list[tuple[str, str, str, str]]:
    """The recent runs that named this job, from their reports."""
    found = []
    for run in history.recent_runs(settings, last):
        if not run.report_path:
            continue
        try:
            report = history.load_report(Path(run.report_path))
        except JobsyncError:
            continue  # pruned or unreadable: the run list still shows the run itself
        for r in report.get("results") or []:
            if r.get("job_id") == job_id:
                number = str(r.get("invoice_number") or "")
                found.append((run.run_id, str(run.started_at), str(r.get("outcome")), number))
    return found


def _stage(state: State, e: LedgerEntry, code: str | None) -> StageRow:
    seen = state.invoice_status(e.invoice_id) if e.invoice_id else None
    status, _, due = seen if seen else (None, None, None)
    link = invoice_link(code, e.invoice_id)
    return StageRow(e.stage, e.reference, e.state.value, e.invoice_number, link, status, due)


def _planned(settings: Settings, job_id: str) -> tuple[DraftRow | None, list[tuple[str, str, str]]]:
    """The job's draft if the next run would make one, and each line's account and rule as read now."""
    try:
        result = sync_run.sync(settings, apply=False, only_job=job_id).result
    except JobsyncError:
        return None, []
    draft = next((_draft_row(d) for d in result.plan.drafts if d.job_id == job_id), None)
    gathered = result.gathered
    lines = explain_job(settings.ruleset, gathered.jobs, job_id, gathered.refs) if gathered else None
    explained = [
        (line.description, line.account, next((name for name, matched, _ in line.tried if matched), "default"))
        for line in lines or []
    ]
    return draft, explained
