"""Applying a plan to Xero in the exactly-once order: contacts first, created once each; then the
invoices in batches, each batch marked in flight in the ledger with its Idempotency-Key before it is
sent, and each invoice confirmed in the ledger only when Xero confirms it. A run that stops part-way
words every unfinished draft truthfully: "not sent" only when it provably never left.
"""

from __future__ import annotations

from jobsync.core.contact_numbers import contact_number
from jobsync.core.errors import JobsyncError, RetriableError, StoppedError, UnconfirmedError, UnreachableError
from jobsync.core.models import DecisionKind, InvoiceDraft, JobResult, LedgerEntry, LedgerState, Outcome, Plan
from jobsync.runtime import crashpoints, progress, stop_request
from jobsync.state.store import State
from jobsync.sync.run_values import RunOptions, RunResult
from jobsync.xero.gateway import ElementResult, NewContact, XeroGateway
from jobsync.xero.keys import idempotency_key

BATCH_SIZE = 50  # Xero's practical ceiling per request (notes/xero-api.md §2)


def apply_plan(plan: Plan, gateway: XeroGateway, state: State, result: RunResult, options: RunOptions) -> None:
    drafts = list(plan.drafts)
    try:
        stop_request.check()
        contact_ids = _create_contacts(drafts, gateway, state, result)
        ready = [d for d in drafts if d.contact.client_key in contact_ids]
        progress.phase("creating invoices", len(ready))
        for start in range(0, len(ready), BATCH_SIZE):
            stop_request.check()  # between calls: the batch before this one is finished and recorded
            _create_batch(ready[start : start + BATCH_SIZE], contact_ids, gateway, state, result, options)
            progress.advance(len(ready[start : start + BATCH_SIZE]))
    except (UnreachableError, StoppedError, RetriableError) as exc:
        _unfinished(drafts, result, exc)
        raise


def _unfinished(drafts: list[InvoiceDraft], result: RunResult, exc: JobsyncError) -> None:
    """Every draft without an outcome gets one that tells a bookkeeper the truth about it.

    Only a create that provably never left is "not sent"; one that may have reached Xero is
    "unconfirmed", because typing it in by hand would make a duplicate.
    """
    done = {(r.job_id, r.stage) for r in result.report.results}
    for d in drafts:
        if (d.job_id, d.stage) in done:
            continue
        if (d.job_id, d.stage) in result.in_flight:
            why = (
                f"unconfirmed: Xero may have created it ({exc.message}); jobsync reconciles it by Reference"
                " on the next run; do not create it by hand"
            )
        else:
            why = f"not sent: {exc.message}; the next run sends it"
        result.report.results.append(_failed(d, why))
    result.in_flight = set()


def _create_contacts(
    drafts: list[InvoiceDraft], gateway: XeroGateway, state: State, result: RunResult
) -> dict[str, str]:
    """ContactID per client key: existing ones, then the new ones created once each."""
    ids = {d.contact.client_key: d.contact.contact_id for d in drafts if d.contact.contact_id}
    for key, cid in ids.items():
        state.map_client(key, cid)
    wanted: dict[str, NewContact] = {}
    for d in drafts:
        c = d.contact
        if c.kind is DecisionKind.NEW and c.client_key not in wanted:
            wanted[c.client_key] = NewContact(
                name=c.name, contact_number=contact_number(c.client_key), email=c.email, phone=c.phone
            )
    new = list(wanted.values())
    outcomes: list[ElementResult] = []
    if new:
        progress.phase("creating contacts", len(new))
    for start in range(0, len(new), BATCH_SIZE):
        stop_request.check()
        outcomes += gateway.create_contacts(new[start : start + BATCH_SIZE])
        crashpoints.reach(crashpoints.AFTER_CONTACT_BATCH)
    # By client key, never by ContactNumber: the number is the key's tidy form, not the key.
    for (key, contact), outcome in zip(wanted.items(), outcomes, strict=True):
        if outcome.ok and outcome.id:
            ids[key] = outcome.id
            state.map_client(key, outcome.id)
            continue
        why = "; ".join(outcome.errors) or "no ContactID returned"
        for d in drafts:
            if d.contact.client_key == key:
                result.report.results.append(_failed(d, f"Xero refused the new contact {contact.name!r}: {why}"))
    result.contact_ids = ids
    return ids


def _create_batch(
    batch: list[InvoiceDraft],
    contact_ids: dict[str, str],
    gateway: XeroGateway,
    state: State,
    result: RunResult,
    options: RunOptions,
) -> None:
    cids = [contact_ids[d.contact.client_key] for d in batch]
    body = gateway.invoice_body(batch, cids)
    key = idempotency_key(gateway.tenant_id, body)
    state.mark_in_flight(
        LedgerEntry(d.source, d.job_id, d.stage, d.reference, LedgerState.IN_FLIGHT, idempotency_key=key) for d in batch
    )
    crashpoints.reach(crashpoints.BEFORE_INVOICE_BATCH)
    result.in_flight = {(d.job_id, d.stage) for d in batch}
    try:
        outcomes = gateway.create_invoices(batch, cids, key)
    except UnconfirmedError:
        raise  # Xero went away with this batch in flight: `_unfinished` words it as unconfirmed
    except UnreachableError:
        result.in_flight = set()  # refused before anything left: provably not sent
        raise
    except RetriableError as exc:
        # Fate unknown: the rows stay in flight and the next run reconciles them by Reference.
        for d in batch:
            result.report.results.append(_failed(d, f"unconfirmed: {exc.message}"))
        result.in_flight = set()
        return
    result.in_flight = set()
    crashpoints.reach(crashpoints.AFTER_INVOICE_RESPONSE)
    for draft, outcome in zip(batch, outcomes, strict=True):
        if outcome.ok and outcome.id:
            state.confirm(
                draft.source, draft.job_id, draft.stage, draft.reference, outcome.id, outcome.number, outcome.total
            )
            crashpoints.reach(crashpoints.AFTER_INVOICE_CONFIRM)
            state.clear_hold(draft.source, draft.job_id)
            result.report.results.append(_created(draft, outcome.id, outcome.number, outcome.total))
            if options.email_invoices and draft.status == "AUTHORISED":
                _email(gateway, state, draft, outcome.id, result)
        else:
            state.drop_in_flight(draft.source, draft.job_id, draft.stage)
            why = "; ".join(outcome.errors) or "Xero returned no InvoiceID"
            result.report.results.append(_failed(draft, f"Xero refused the invoice: {why}"))
    crashpoints.reach(crashpoints.AFTER_INVOICE_BATCH)


def _email(gateway: XeroGateway, state: State, d: InvoiceDraft, invoice_id: str, result: RunResult) -> None:
    """At most once per invoice: recorded before it is sent, so no rerun or crash sends it twice."""
    if any(a.action == "emailed" and a.detail == invoice_id for a in state.actions(d.source, d.job_id)):
        return
    state.record_action("jobsync", "emailed", d.source, d.job_id, invoice_id)
    try:
        gateway.email_invoice(invoice_id)
    except (RetriableError, UnreachableError) as exc:
        result.report.errors.append(f"invoice {invoice_id} created but not emailed: {exc.message}")
        return
    result.report.extra.setdefault("emailed", []).append(invoice_id)


def _created(d: InvoiceDraft, invoice_id: str, number: str | None, total: object) -> JobResult:
    return JobResult(
        d.source,
        d.job_id,
        d.job_number,
        Outcome.CREATED,
        d.stage,
        invoice_id=invoice_id,
        invoice_number=number,
        total=total if total is not None else d.total,  # type: ignore[arg-type]
        contact_name=d.contact.name,
    )


def _failed(d: InvoiceDraft, reason: str) -> JobResult:
    return JobResult(
        d.source,
        d.job_id,
        d.job_number,
        Outcome.FAILED,
        d.stage,
        reason=reason,
        total=d.total,
        contact_name=d.contact.name,
    )
