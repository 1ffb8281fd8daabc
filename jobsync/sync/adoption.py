"""Adopting what Xero already holds: an invoice found by a planned Reference is recorded, not created again,
when it is this job's (same contact, same total). Another job's invoice under the same Reference (two
sources in one organisation, a lost state file) holds the draft instead, so neither is lost nor billed twice.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from jobsync.core.contact_match import normalise_name
from jobsync.core.models import Hold, InvoiceDraft, JobResult, LedgerEntry, LedgerState, Outcome, Plan
from jobsync.sync.gather import Gathered
from jobsync.xero.gateway import XeroInvoiceRef


def split_adopted(plan: Plan, gathered: Gathered, tolerance: Decimal) -> tuple[Plan, list[JobResult]]:
    """Drafts whose Reference Xero already has are adopted, never created again, when that invoice is
    this job's: same contact, same total. Another job's invoice under the same Reference (two sources
    in one org, a lost state file) holds the draft instead, so neither is lost nor billed twice."""
    keep: list[InvoiceDraft] = []
    adopted: list[JobResult] = []
    held: list[Hold] = []
    for draft in plan.drafts:
        found = next(
            (
                gathered.existing_invoices[ref]
                for ref in (draft.reference, *draft.also_known_as)
                if ref in gathered.existing_invoices
            ),
            None,
        )
        if found is None:
            keep.append(draft)
            continue
        entry = gathered.ledger.get((draft.source, draft.job_id, draft.stage))
        conflict = _not_this_jobs(draft, found, entry, tolerance)
        if conflict:
            held.append(
                Hold(
                    draft.source,
                    draft.job_id,
                    draft.job_number,
                    conflict,
                    REFERENCE_FIX,
                    (),
                    draft.contact.client_key,
                    client_name=draft.contact.name,
                    amount=draft.total,
                    lines=tuple((ln.description, ln.quantity, ln.unit_amount) for ln in draft.lines),
                    line_count=len(draft.lines),
                )
            )
            continue
        # An in-flight row means an earlier attempt sent this create and never heard back.
        how = "reconciled by Reference: " if entry is not None and entry.state is LedgerState.IN_FLIGHT else ""
        adopted.append(
            JobResult(
                draft.source,
                draft.job_id,
                draft.job_number,
                Outcome.ADOPTED,
                draft.stage,
                reason=f"{how}already in Xero as {found.invoice_number} ({found.status}); recorded, not recreated",
                invoice_id=found.invoice_id,
                invoice_number=found.invoice_number,
                total=found.total,
                contact_name=draft.contact.name,
            )
        )
    return replace(plan, drafts=tuple(keep), held=(*plan.held, *held)), adopted


REFERENCE_FIX = (
    'give each source its own References, e.g. xero.reference_template: "{job.source}-{job.number}";'
    " or, if that invoice is this job's, `jobsync jobs mark-invoiced JOB --invoice NUMBER`"
)


def _not_this_jobs(
    draft: InvoiceDraft, found: XeroInvoiceRef, entry: LedgerEntry | None, tolerance: Decimal
) -> str | None:
    """Why the invoice Xero has under this Reference is not this job's, or None when it is."""
    if entry is not None and entry.state is LedgerState.IN_FLIGHT and entry.idempotency_key:
        expected_total = entry.total if entry.total is not None else draft.total  # what we sent
    else:
        expected_total = draft.total
    c = draft.contact
    if c.contact_id is not None:
        same_contact = found.contact_id == c.contact_id
    else:  # a contact this run would create: the invoice can only be ours under that very name
        same_contact = normalise_name(found.contact_name) == normalise_name(c.name)
    same_total = found.total is not None and abs(found.total - expected_total) <= tolerance
    if same_contact and same_total:
        return None
    theirs = f"{found.contact_name or found.contact_id or 'another contact'}, {found.total}"
    return (
        f"Xero already has {found.invoice_number or found.invoice_id} with Reference {draft.reference!r}"
        f" ({theirs}), but this job is for {c.name}, {expected_total}: another job's invoice"
    )
