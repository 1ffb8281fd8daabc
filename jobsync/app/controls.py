"""The bookkeeper's controls over held, failed and invoiced jobs: list, retry, ignore, forget, mark invoiced.

Each control is a small function over the state file (and, for `forget`, a Xero lookup passed in), and
each records who did it and when in the action log, because a bookkeeper's "never invoice this" must be
traceable months later. The CLI in `cli_jobs.py` only parses and prints.

A job is named as the bookkeeper knows it (its job number) or by the job system's id; both are accepted.
Held and failed jobs are re-read by id every run (gather's revisit), so `retry` and `forget` keep or put a
job in the holds table rather than clearing it: clearing would let a job below the watermark go unbilled.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Protocol

from jobsync.app.org_facts import SHORT_CODE_KEY
from jobsync.core.deep_links import invoice_link
from jobsync.core.errors import ConfigError, JobsyncError
from jobsync.core.held_card import card_of
from jobsync.core.models import LedgerEntry
from jobsync.state.store import HoldRow, State
from jobsync.sync import held_recheck
from jobsync.xero.gateway import XeroInvoiceRef

LIST_KINDS = ("held", "failed", "ignored", "invoiced")
GONE_STATUSES = ("DELETED", "VOIDED")


class InvoiceFinder(Protocol):
    """The one `XeroGateway` method `forget` needs."""

    def find_invoices_by_reference(self, references: Sequence[str]) -> list[XeroInvoiceRef]: ...


@dataclass(frozen=True)
class JobRef:
    source: str
    job_id: str
    job_number: str


@dataclass(frozen=True)
class JobView:
    """One row of `jobs list`."""

    source: str
    job_id: str
    job_number: str
    status: str  # held / failed / ignored / invoiced
    reason: str = ""
    since: datetime | None = None
    invoice_number: str | None = None
    # A held or failed job's card, as last read: its client, an amount and its lines.
    client: str | None = None
    amount: str | None = None
    lines: list[list[str]] = field(default_factory=list)  # [description, quantity, unit price]
    line_count: int = 0
    link: str | None = None  # an invoiced job's invoice in Xero


def who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers): still record something honest
        return "unknown"


# ---------------------------------------------------------------------------
# Finding a job
# ---------------------------------------------------------------------------


def resolve(state: State, source: str, job: str) -> JobRef | None:
    """The job a bookkeeper means, from the holds table or the ledger; None when jobsync never saw it."""
    for row in state.holds(source):
        if job in (row.job_id, row.job_number):
            return JobRef(source, row.job_id, row.job_number)
    entries = state.ledger_for(source, [job])
    if entries:
        return JobRef(source, job, next(iter(entries.values())).reference)
    found = state.find_by_job_number(job)  # the default Reference starts with the job number
    if found is not None and found.source == source:
        return JobRef(source, found.job_id, job)
    return None


def _require(state: State, source: str, job: str) -> JobRef:
    ref = resolve(state, source, job)
    if ref is None:
        raise ConfigError(
            f"job {job!r} is not known to jobsync for source {source!r}",
            ["see `jobsync jobs list`; name a job by its number or its id in the job system"],
        )
    return ref


# ---------------------------------------------------------------------------
# Listing
# ---------------------------------------------------------------------------


def _hold_view(h: HoldRow) -> JobView:
    return JobView(h.source, h.job_id, h.job_number, h.kind, h.reason, h.since, **card_of(h.card))


def list_jobs(state: State, source: str, kind: str | None = None, report_limit: int = 50) -> list[JobView]:
    """Held/failed/ignored jobs from the holds table; invoiced ones from the ledger."""
    if kind is not None and kind not in LIST_KINDS:
        raise ConfigError(f"unknown job list {kind!r}", [f"choose one of {', '.join(LIST_KINDS)}"])
    views: list[JobView] = []
    if kind != "invoiced":
        views += [_hold_view(h) for h in state.holds(source, kind)]
    if kind in (None, "invoiced"):
        views += _invoiced(state, source, report_limit)
    return views


def _invoiced(state: State, source: str, report_limit: int) -> list[JobView]:
    """Every confirmed invoice in the ledger (the record that stops a job being invoiced twice).

    The ledger keeps the Reference, not the job number; recent run reports supply the number where
    they still exist.
    """
    numbers = {
        r["job_id"]: r["job_number"]
        for run in state.recent_runs(report_limit)
        for r in _report_results(run.report_path)
        if r.get("source") == source and r.get("job_id") and r.get("job_number")
    }
    code = state.cache_get(SHORT_CODE_KEY)
    return [
        JobView(
            source,
            e.job_id,
            numbers.get(e.job_id, e.reference),
            "invoiced",
            f"stage {e.stage}",
            at,
            e.invoice_number or e.invoice_id,
            link=invoice_link(code, e.invoice_id),
        )
        for e, at in state.confirmed_ledger(source)
    ]


def _report_results(path: str | None) -> list[dict[str, str]]:
    if not path or not Path(path).is_file():
        return []  # pruned or moved: the listing shows what is still on disk
    try:
        return list(json.loads(Path(path).read_text(encoding="utf-8")).get("results", []))
    except (OSError, ValueError):
        return []


# ---------------------------------------------------------------------------
# Actions
# ---------------------------------------------------------------------------


def _record(state: State, user: str | None, action: str, ref: JobRef, **detail: str) -> None:
    body = json.dumps({"job_number": ref.job_number, **detail}, sort_keys=True)
    state.record_action(user or who(), action, ref.source, ref.job_id, body)


def retry_job(state: State, source: str, job: str, user: str | None = None) -> JobRef:
    """Put the job back in line for the next run (an ignored job too); the caller may re-plan it now."""
    ref = _require(state, source, job)
    rows = [h for h in state.holds(source) if h.job_id == ref.job_id]
    with state.transaction():
        if rows and rows[0].kind == "ignored":
            state.set_hold(source, ref.job_id, ref.job_number, "held", f"retry requested by {user or who()}")
        held_recheck.request_now(state, source)
        _record(state, user, "retry", ref)
    return ref


def ignore_job(state: State, source: str, job: str, reason: str, user: str | None = None) -> JobRef:
    """Stop holding the job and never invoice it; the reason is required because someone will ask why."""
    if not reason.strip():
        raise ConfigError("ignoring a job needs a reason", ["pass --reason 'billed in the old system' (or similar)"])
    ref = _require(state, source, job)
    with state.transaction():
        state.set_hold(source, ref.job_id, ref.job_number, "ignored", reason.strip())
        _record(state, user, "ignore", ref, reason=reason.strip())
    return ref


@dataclass(frozen=True)
class Forgotten:
    ref: JobRef
    removed: int  # ledger rows removed
    still_in_xero: tuple[XeroInvoiceRef, ...]  # live invoices overridden with --force


def forget_job(
    state: State, source: str, job: str, xero: InvoiceFinder, force: bool = False, user: str | None = None
) -> Forgotten:
    """After a bookkeeper deleted the draft in Xero: drop the ledger rows so the next run invoices it again.

    Refuses while Xero still holds a live invoice with the job's Reference (that would bill twice),
    unless `force`.
    """
    ref = _require(state, source, job)
    entries: list[LedgerEntry] = list(state.ledger_for(source, [ref.job_id]).values())
    references = sorted({e.reference for e in entries} | {ref.job_number})
    live = tuple(i for i in xero.find_invoices_by_reference(references) if i.status not in GONE_STATUSES)
    if live and not force:
        found = ", ".join(f"{i.invoice_number or i.invoice_id} ({i.status})" for i in live)
        raise JobsyncError(
            f"job {ref.job_number} is still invoiced in Xero: {found}",
            ["delete or void it in Xero first, or pass --force to invoice the job again anyway"],
        )
    # One transaction: a crash can never leave the ledger rows gone without the hold that brings
    # the job back (it lies below the watermark, so only the hold makes the next run re-read it).
    with state.transaction():
        removed = state.forget(source, ref.job_id)
        state.set_hold(source, ref.job_id, ref.job_number, "held", f"forgotten by {user or who()}: invoice again")
        _record(
            state,
            user,
            "forget",
            ref,
            references=",".join(references),
            force=str(force).lower(),
            live=",".join(i.invoice_number or i.invoice_id for i in live),
        )
    return Forgotten(ref, removed, live)


def mark_invoiced(
    state: State,
    source: str,
    job: str,
    invoice_number: str,
    user: str | None = None,
    stage: str = "final",
    reference: str | None = None,
    total: Decimal | None = None,
) -> JobRef:
    """Billed by hand: record it in the ledger so no run invoices it, and stop holding it."""
    if not invoice_number.strip():
        raise ConfigError("mark-invoiced needs the invoice number", ["pass --invoice INV-0042"])
    ref = resolve(state, source, job) or JobRef(source, job, job)
    with state.transaction():
        state.confirm(source, ref.job_id, stage, reference or ref.job_number, None, invoice_number.strip(), total)
        state.clear_hold(source, ref.job_id)
        _record(state, user, "mark-invoiced", ref, invoice=invoice_number.strip(), stage=stage)
    return ref


# Xero's limit on a contact's Name.
CONTACT_NAME_MAX = 255


def map_client(state: State, source: str, client: str, *, contact_id: str | None, new_name: str | None, by: str) -> str:
    """`contacts map`: this client's invoices go to one Xero contact, or to a new contact under `new_name`.

    `client` is the client key a hold shows ("csv:C-1001") or a held job's number. Returns the client key.
    """
    if (contact_id is None) == (new_name is None):
        raise ConfigError("give exactly one of --contact CONTACT_ID and --new-name NAME")
    if new_name is not None:
        new_name = " ".join(new_name.split())
        if not new_name or len(new_name) > CONTACT_NAME_MAX:
            raise ConfigError(f"--new-name must be 1 to {CONTACT_NAME_MAX} characters")
    if contact_id is not None and not contact_id.strip():
        raise ConfigError("--contact needs the Xero ContactID")
    key = client if client.startswith(f"{source}:") else state.hold_client_key(client)
    if key is None:
        raise ConfigError(
            f"no held job {client!r} and no client key like {source}:CLIENT_ID",
            ["use the client key the hold shows, e.g. `jobsync jobs list --held`"],
        )
    state.map_client_by_person(key, by, contact_id=contact_id and contact_id.strip(), new_name=new_name)
    held_recheck.request_now(state, source)  # the held jobs of this client may go through now
    return key
