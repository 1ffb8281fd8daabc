"""Checks of one job against the organisation, for the planner. Pure: no I/O.

Each raises HoldJob, which the planner turns into a Hold with the reason and the fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from decimal import Decimal
from zoneinfo import ZoneInfo

from jobsync.core.contact_match import ContactIndex, client_key, indexed
from jobsync.core.job_values import value_problems
from jobsync.core.models import ContactDecision, ContactSnapshot, DraftLine, Job, XeroContact, XeroRefs
from jobsync.core.money import invoice_totals
from jobsync.core.pricing import ClientPricing
from jobsync.core.rules import MappedLine, RuleSet, map_line


class HoldJob(Exception):
    """Raised inside planning of one job; becomes a Hold. Never escapes build_plan."""

    def __init__(self, reason: str, fix: str, candidates: tuple[XeroContact, ...] = ()) -> None:
        super().__init__(reason)
        self.reason, self.fix, self.candidates = reason, fix, candidates


def invoice_date(job: Job, timezone: str) -> date:
    """The completion date (else the change date) as a calendar date in the organisation's zone."""
    when = job.completed_at or job.changed_at
    return when.astimezone(ZoneInfo(timezone)).date()


def contact_by_id(snapshot: ContactSnapshot) -> dict[str, XeroContact]:
    index = indexed(snapshot).index
    assert isinstance(index, ContactIndex)
    return index.by_id


def follow_merges(job: Job, snapshot: ContactSnapshot) -> ContactSnapshot:
    """Point a client mapped to an archived contact at the contact it was merged into.

    An archived contact that was not merged (or whose survivor was not read) holds the
    job: matching on by email or name could otherwise create a duplicate of it.
    """
    assert job.client is not None
    key = client_key(job.source, job.client)
    mapped = snapshot.client_map.get(key)
    by_id = contact_by_id(snapshot)
    seen: set[str] = set()
    contact = by_id.get(mapped or "")
    while contact is not None and contact.status != "ACTIVE" and contact.contact_id not in seen:
        seen.add(contact.contact_id)
        target = by_id.get(contact.merged_to_contact_id or "")
        if target is None:
            merged = f", merged into {contact.merged_to_contact_id}" if contact.merged_to_contact_id else ""
            raise HoldJob(
                f"the client's Xero contact {contact.name!r} is {contact.status}{merged}",
                "restore the contact in Xero, or map the client to its current contact",
            )
        contact = target
    if contact is None or contact.contact_id == mapped:
        return snapshot
    return replace(snapshot, client_map={**snapshot.client_map, key: contact.contact_id})


def terms_for(
    contact: ContactDecision, snapshot: ContactSnapshot, cp: ClientPricing | None, default: tuple[int, str]
) -> tuple[int, str]:
    """The contact's own sales terms in Xero, else the client's configured ones, else the default."""
    own_contact = contact_by_id(snapshot).get(contact.contact_id or "")
    own = own_contact.payment_terms if own_contact is not None else None
    if contact.contact_id and own is not None:
        return own
    if cp is not None and cp.payment_terms is not None:
        return cp.payment_terms
    return default


def check_org(job: Job, lines: list[DraftLine], refs: XeroRefs, timezone: str) -> None:
    """The organisation's own limits: its period lock date and its tracking categories."""
    lock = refs.org.period_lock_date
    day = invoice_date(job, timezone)
    if lock is not None and day <= lock:
        raise HoldJob(
            f"invoice date {day} is on or before the organisation's period lock date {lock}",
            "ask the bookkeeper to move the lock date, or correct the job's completion date",
        )
    if refs.tracking is None:
        return
    problems = [_tracking_problem(cat, opt, refs.tracking) for ln in lines for cat, opt in ln.tracking]
    found = [p for p in dict.fromkeys(problems) if p]
    if found:
        raise HoldJob("; ".join(found), "add or reactivate the tracking option in Xero, or change the rule")


def _tracking_problem(category: str, option: str, tracking: Mapping[str, tuple[str, ...]]) -> str | None:
    if category not in tracking:
        return f"tracking category {category!r} does not exist or is archived in Xero"
    if option not in tracking[category]:
        return f"tracking option {option!r} is not an active option of {category!r}"
    return None


def check_source_total(job: Job, lines: list[DraftLine], lat: str, tolerance: Decimal | None) -> None:
    """Hold a job whose invoice would differ from the job system's own total by more than the tolerance."""
    if job.source_total is None or tolerance is None:
        return
    _, _, total = invoice_totals(((ln.line_amount, ln.tax_amount) for ln in lines), lat)
    if abs(total - job.source_total) > tolerance:
        raise HoldJob(
            f"the job's total in {job.source} is {job.source_total} but its invoice comes to {total} "
            f"(tolerance {tolerance})",
            "check the job's lines and the rules (discounts, exclusions, price lists)",
        )


def check_job(job: Job) -> None:
    problems = [*job.problems, *value_problems(job)]
    if problems:
        raise HoldJob(
            "job data problems: " + "; ".join(problems),
            f"correct the job in {job.source}; it is re-planned every run",
        )
    if job.client is None or not job.client.name.strip():
        raise HoldJob("job has no client name", f"set the job's client in {job.source}")


def line_amount_types(job: Job, rules: RuleSet, configured: str, cp: ClientPricing | None) -> str:
    """The client's configured type; else Exclusive unless every billed line's price includes tax."""
    if cp is not None and cp.line_amount_types is not None:
        return cp.line_amount_types
    if configured == "NoTax":
        return "NoTax"
    kept = [ln for ln in job.lines if isinstance(map_line(rules, job, ln), MappedLine)]
    inclusive = {ln.tax_inclusive for ln in kept}
    if inclusive == {True, False}:
        raise HoldJob(
            "job mixes tax-inclusive and tax-exclusive prices",
            f"make the job's prices all inclusive or all exclusive in {job.source}",
        )
    return "Inclusive" if inclusive == {True} else configured
