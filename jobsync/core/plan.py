"""The plan: jobs × ledger × rules × Xero reference data × contacts → drafts, skips, holds.

`preview` renders this plan and `run` applies it, so they cannot drift. Pure: every
input is a value, and the same inputs always give the same plan, in the same order.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal

from jobsync.core.billing import BillingPolicy, Stage, StageRule, stages_for
from jobsync.core.contact_holds import NewContacts, contact_hold
from jobsync.core.contact_match import client_key, decide, indexed
from jobsync.core.held_card import hold_for
from jobsync.core.models import (
    ContactDecision,
    ContactSnapshot,
    DecisionKind,
    DraftLine,
    Hold,
    InvoiceDraft,
    Job,
    LedgerEntry,
    LedgerState,
    Plan,
    Skip,
    XeroRefs,
)
from jobsync.core.money import invoice_totals, unit_dp
from jobsync.core.plan_checks import (
    HoldJob,
    check_job,
    check_org,
    check_source_total,
    follow_merges,
    invoice_date,
    line_amount_types,
    terms_for,
)
from jobsync.core.plan_lines import job_lines, single_line, stage_billed
from jobsync.core.pricing import ClientPricing, client_pricing
from jobsync.core.rules import RuleSet
from jobsync.core.templates import DEFAULT_REFERENCE, reference_for, render_template, template_values
from jobsync.core.terms import due_date

LedgerKey = tuple[str, str, str]  # (source, job id, stage)


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PlanSettings:
    invoice_status: str = "DRAFT"  # or AUTHORISED
    payment_terms_days: int = 14
    org_timezone: str = "UTC"  # IANA name; the invoice date is the completion date there
    reference_template: str = DEFAULT_REFERENCE  # a non-final stage's suffix is appended
    # Templates an earlier default used: a job's invoice made then is found (and adopted) under them.
    legacy_references: tuple[str, ...] = ()
    line_amount_types: str = "Exclusive"  # Exclusive / Inclusive / NoTax
    billing: BillingPolicy | None = None  # None: one "final" invoice per job
    currency: str | None = None  # None: the organisation's base currency
    payment_terms: tuple[int, str] | None = None  # (day, Xero term type); None: payment_terms_days after
    total_tolerance: Decimal | None = None  # hold when the source's own total differs by more; None: no check
    update_drafts: bool = False  # re-plan the last invoice of a job edited since, for a still-DRAFT update
    allow_zero_total: bool = False  # send invoices that come to 0.00 (a warranty job, say); never negative ones


def build_plan(
    jobs: Iterable[Job],
    ledger: Mapping[LedgerKey, LedgerEntry],
    rules: RuleSet,
    refs: XeroRefs,
    snapshot: ContactSnapshot,
    settings: PlanSettings,
    now: datetime,
) -> Plan:
    """Plan every job: what to create, what is already invoiced, and what a person must fix."""
    drafts: list[InvoiceDraft] = []
    skipped: list[Skip] = []
    held: list[Hold] = []
    seen = 0
    snapshot = indexed(snapshot)  # one index for every job, not a scan of all contacts per job
    new_contacts = NewContacts()
    for job in jobs:
        seen += 1
        key = client_key(job.source, job.client) if job.client is not None else None
        try:
            out = _plan_job(job, ledger, rules, refs, snapshot, settings, now, new_contacts)
        except HoldJob as h:
            held.append(hold_for(job, h.reason, h.fix, h.candidates, key))
            continue
        except (ArithmeticError, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            # A value no check foresaw must cost this job only: hold it, plan the rest of the batch.
            log.warning("job %s could not be planned: %r", job.number, exc, exc_info=log.isEnabledFor(logging.DEBUG))
            reason = f"job data could not be planned ({type(exc).__name__}: {str(exc)[:120]})"
            fix = f"check the job's values in {job.source}"
            held.append(hold_for(job, reason, fix, (), key))
            continue
        for item in out:
            (drafts if isinstance(item, InvoiceDraft) else skipped).append(item)  # type: ignore[arg-type]
    drafts.sort(key=lambda d: (_number_key(d.job_number), d.job_id, _stage_order(settings, d.stage)))
    skipped.sort(key=lambda s: (_number_key(s.job_number), s.job_id, s.stage))
    held.sort(key=lambda h: (_number_key(h.job_number), h.job_id))
    return Plan(tuple(drafts), tuple(skipped), tuple(held), jobs_seen=seen)


def _number_key(number: str) -> tuple[tuple[int, int, str], ...]:
    # Natural order: job 99 before job 100, whatever the source's padding.
    # ASCII digits only: "²" and "٣" are digits to str.isdigit, but not numbers a person sorts by.
    return tuple((0, int(p), "") if _ascii_digits(p) else (1, 0, p) for p in re.split(r"([0-9]+)", number) if p)


def _ascii_digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _stages(settings: PlanSettings) -> tuple[StageRule, ...]:
    if settings.billing is not None:
        return settings.billing.stages
    return (StageRule(name="final", status="*", remainder=True),)


def _stage_order(settings: PlanSettings, name: str) -> int:
    names = [s.name for s in _stages(settings)]
    return names.index(name) if name in names else len(names)


def _plan_job(
    job: Job,
    ledger: Mapping[LedgerKey, LedgerEntry],
    rules: RuleSet,
    refs: XeroRefs,
    snapshot: ContactSnapshot,
    settings: PlanSettings,
    now: datetime,
    new_contacts: NewContacts | None = None,
) -> list[InvoiceDraft | Skip]:
    entries = {s.name: ledger.get((job.source, job.id, s.name)) for s in _stages(settings)}
    confirmed = {n: e for n, e in entries.items() if e is not None and e.state is LedgerState.CONFIRMED}
    last = _stages(settings)[-1].name
    if last in confirmed:
        # Fully invoiced: checked before data problems so an invoiced job is never "held".
        changed = _changed(job, rules, refs, settings, confirmed)
        update = _redo_last(job, ledger, rules, refs, snapshot, settings, now) if changed else None
        return [_skip(job, confirmed[last], changed, update)]
    check_job(job)
    cp = client_pricing(rules.pricing, job)
    lat = line_amount_types(job, rules, settings.line_amount_types, cp)
    lines = job_lines(job, rules, refs, lat)
    contact = _contact(job, snapshot)
    check_org(job, lines, refs, settings.org_timezone)
    check_source_total(job, lines, lat, settings.total_tolerance)
    job_total = sum((ln.line_amount for ln in lines), Decimal("0"))
    billed = {n: stage_billed(e, _rule(settings, n), refs, lat) for n, e in confirmed.items()}
    due = stages_for(job, settings.billing, billed, job_total)
    if not due:
        if confirmed:
            return [_skip(job, confirmed[[s.name for s in _stages(settings) if s.name in confirmed][-1]])]
        raise HoldJob(
            f"status {job.status!r} triggers no billing stage",
            "add the status to billing.stages, or remove it from source.statuses",
        )
    if new_contacts is not None and contact.kind is DecisionKind.NEW:
        contact = new_contacts.claim(contact)  # last, so a job held for another reason claims no name
    base_ref = render_template(settings.reference_template, template_values(job))
    out: list[InvoiceDraft | Skip] = []
    for stage in due:
        stage_lines = _stage_lines(stage, lines, refs, lat, settings, base_ref, confirmed)
        entry = entries.get(stage.name)
        # An in-flight entry keeps its stored Reference so a retry finds (and adopts) the same invoice.
        fresh = reference_for(settings.reference_template, job, stage.reference_suffix)
        reference = entry.reference if entry is not None else fresh
        default = settings.payment_terms or (settings.payment_terms_days, "DAYSAFTERBILLDATE")
        terms = terms_for(contact, snapshot, cp, default)
        draft = _draft(job, stage, reference, contact, stage_lines, lat, settings, cp, terms)
        if entry is None:
            olds = (
                render_template(t, template_values(job)) + stage.reference_suffix for t in settings.legacy_references
            )
            draft = replace(draft, also_known_as=tuple(dict.fromkeys(r for r in olds if r and r != reference)))
        out.append(draft)
    return out


def _changed(
    job: Job, rules: RuleSet, refs: XeroRefs, settings: PlanSettings, confirmed: Mapping[str, LedgerEntry]
) -> tuple[Decimal, Decimal] | None:
    """(invoiced, now) when an invoiced job's total has moved since; None when unchanged or unknown."""
    totals = [e.total for e in confirmed.values() if e.total is not None]
    if len(totals) != len(confirmed):
        return None  # an invoice recorded without its total (e.g. marked invoiced by hand): nothing to compare
    try:
        check_job(job)
        lat = line_amount_types(job, rules, settings.line_amount_types, client_pricing(rules.pricing, job))
        lines = job_lines(job, rules, refs, lat)
    except HoldJob:
        return None  # a job that no longer plans cleanly has no comparable total
    _, _, now_total = invoice_totals(((ln.line_amount, ln.tax_amount) for ln in lines), lat)
    was = sum(totals, Decimal("0"))
    # Stages each round their own tax: their sum may sit a cent per extra stage off one invoice's total.
    slack = Decimal("0.01") * (len(totals) - 1)
    return (was, now_total) if abs(now_total - was) > slack else None


def _redo_last(
    job: Job,
    ledger: Mapping[LedgerKey, LedgerEntry],
    rules: RuleSet,
    refs: XeroRefs,
    snapshot: ContactSnapshot,
    settings: PlanSettings,
    now: datetime,
) -> InvoiceDraft | None:
    """The job's last invoice planned afresh (as if not yet sent), keeping its Reference."""
    if not settings.update_drafts:
        return None
    last = _stages(settings)[-1].name
    entry = ledger[(job.source, job.id, last)]
    rest = {k: v for k, v in ledger.items() if k != (job.source, job.id, last)}
    try:
        out = _plan_job(job, rest, rules, refs, snapshot, settings, now)
    except HoldJob:
        return None  # the job no longer plans cleanly: reported as changed, left alone
    draft = next((d for d in out if isinstance(d, InvoiceDraft) and d.stage == last), None)
    return None if draft is None else replace(draft, reference=entry.reference)


def _skip(
    job: Job, entry: LedgerEntry, changed: tuple[Decimal, Decimal] | None = None, update: InvoiceDraft | None = None
) -> Skip:
    note = f"; changed since invoiced: total {changed[0]} → {changed[1]}" if changed else ""
    return Skip(
        job.source,
        job.id,
        job.number,
        entry.stage,
        entry.reference,
        entry.invoice_id,
        entry.invoice_number,
        reason=f"already invoiced as {entry.invoice_number or entry.invoice_id or entry.reference}{note}",
        changed_total=changed,
        update=update,
    )


def _rule(settings: PlanSettings, name: str) -> StageRule:
    return next(s for s in _stages(settings) if s.name == name)


def _contact(job: Job, snapshot: ContactSnapshot) -> ContactDecision:
    assert job.client is not None  # _check_job held client-less jobs
    decision = decide(job.source, job.client, follow_merges(job, snapshot))
    if decision.kind is DecisionKind.AMBIGUOUS:
        raise contact_hold(decision, job.client.name)
    return decision


def _stage_lines(
    stage: Stage,
    lines: list[DraftLine],
    refs: XeroRefs,
    lat: str,
    settings: PlanSettings,
    base_ref: str,
    confirmed: Mapping[str, LedgerEntry],
) -> list[DraftLine]:
    """A non-final stage is one line; the final stage is the job's lines less each earlier stage."""
    if not stage.final:
        pct = f"{stage.rule.percent.normalize():f}% " if stage.rule.percent is not None else ""
        text = f"{stage.name.capitalize()} {pct}for job {base_ref}"
        return [single_line(text, stage.amount, stage.rule, refs, lat)]
    out = list(lines)
    for name, amount in stage.earlier:
        rule = _rule(settings, name)
        entry = confirmed.get(name)
        # Name the earlier invoice by number when Xero gave one, else by its Reference.
        label = (entry.invoice_number or entry.reference) if entry else base_ref + rule.suffix
        out.append(single_line(f"Less {name} invoiced {label}", -amount, rule, refs, lat))
    return out


def _earlier_sum(stage: Stage) -> Decimal:
    return sum((amount for _, amount in stage.earlier), Decimal("0"))


def _draft(
    job: Job,
    stage: Stage,
    reference: str,
    contact: ContactDecision,
    lines: list[DraftLine],
    lat: str,
    settings: PlanSettings,
    cp: ClientPricing | None,
    terms: tuple[int, str],
) -> InvoiceDraft:
    subtotal, tax, total = invoice_totals(((ln.line_amount, ln.tax_amount) for ln in lines), lat)
    # A zero final that nets earlier stages off still clears their liability account: it is sent.
    clears = total == 0 and stage.final and bool(stage.earlier)
    if total < 0 or (total == 0 and not clears and not settings.allow_zero_total):
        if stage.final and stage.earlier:
            reason = (
                f"earlier stages billed more than the job's {stage.amount + _earlier_sum(stage)}: "
                f"the remainder is {stage.amount}"
            )
            fix = "issue a credit note in Xero for the difference, then ignore this job"
        else:
            reason = f"invoice total is {total}: nothing to bill"
            fix = f"check the job's lines and prices in {job.source}"
        raise HoldJob(reason, fix)
    day = invoice_date(job, settings.org_timezone)
    return InvoiceDraft(
        source=job.source,
        job_id=job.id,
        job_number=job.number,
        stage=stage.name,
        reference=reference,
        contact=contact,
        date=day,
        due_date=due_date(day, *terms),
        lines=tuple(lines),
        status=stage.rule.invoice_status or settings.invoice_status,
        line_amount_types=lat,
        currency=invoice_currency(job, contact, cp, settings.currency),
        url=job.url,
        subtotal=subtotal,
        total_tax=tax,
        total=total,
        unitdp=max((unit_dp(ln.unit_amount) for ln in lines), default=2),
        job_changed_at=job.changed_at,
        branding_theme_id=cp.branding_theme_id if cp else None,
    )


def invoice_currency(
    job: Job, contact: ContactDecision, cp: ClientPricing | None, configured: str | None
) -> str | None:
    """The client's configured currency, else the job's own, else the contact's default in Xero, else the
    configured one; None means the organisation's base currency."""
    return (cp.currency if cp else None) or job.currency or contact.currency or configured
