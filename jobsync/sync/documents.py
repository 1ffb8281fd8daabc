"""The pass back's second half: documents onto each new invoice, links both ways.

For each invoice jobsync made (since the pass back was first turned on) and has not finished:

- a History note on the invoice naming the job;
- a note on the job with the invoice number, its deep link and (once approved) the online invoice URL;
- the job sheet PDF and the job's own files, at most 10 a document and 10 MB a file (Xero's limits).

Uploads are made exactly once by listing the invoice's attachments by name before any upload: a
file whose name is already there is recorded as sent, so a crash between an upload and its record
costs a list call, never a second copy. A failed upload is recorded as a problem and retried on the
next pass; it never fails the invoice, which already exists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jobsync.core.errors import JobsyncError
from jobsync.core.follow_up import FollowUpSummary
from jobsync.core.models import LedgerEntry
from jobsync.runtime import crashpoints
from jobsync.sources.write_back import JobFile, JobWriteBack
from jobsync.state.store import State
from jobsync.xero.follow_up_client import FollowUpClient

DONE = "documents"  # links_sent kind: everything for this invoice is settled
MB = 1024 * 1024


@dataclass(frozen=True)
class DocumentOptions:
    attach_job_sheet: bool = True
    attach_job_files: bool = True
    include_online: bool = False
    history_note: bool = True
    job_note: bool = True
    max_files: int = 10
    max_bytes: int = 10 * MB


@dataclass(frozen=True)
class Candidate:
    name: str
    size: int
    read: Callable[[], bytes]


@dataclass(frozen=True)
class DocumentContext:
    xero: FollowUpClient
    state: State
    back: JobWriteBack
    options: DocumentOptions
    summary: FollowUpSummary
    sheet_for: Callable[[str], tuple[str, bytes] | None]  # InvoiceID -> (file name, PDF)
    link_for: Callable[[str], str | None]  # InvoiceID -> deep link into Xero


def pending(state: State, source: str, entries: list[LedgerEntry], limit: int) -> list[LedgerEntry]:
    """Unfinished invoices, oldest first, at most `limit` a pass: a backfill of hundreds spreads over runs."""
    found = [e for e in entries if e.source == source and e.invoice_id and not state.link_sent(e.invoice_id, DONE)]
    return found[:limit]


def send_documents(ctx: DocumentContext, entries: list[LedgerEntry]) -> None:
    for entry in entries:
        try:
            if _one(ctx, entry):
                ctx.state.mark_link(str(entry.invoice_id), DONE)
        except JobsyncError as exc:
            ctx.summary.problems.append(f"documents for {entry.reference}: {exc.message} (retried next run)")


def _one(ctx: DocumentContext, entry: LedgerEntry) -> bool:
    invoice_id = str(entry.invoice_id)
    state, options = ctx.state, ctx.options
    if options.history_note and not state.link_sent(invoice_id, "history"):
        ctx.xero.add_history(invoice_id, f"Created by jobsync from {entry.source} job {entry.reference}.")
        state.mark_link(invoice_id, "history")
        ctx.summary.links_sent += 1
    if options.job_note and not state.link_sent(invoice_id, "job_note"):
        if ctx.back.add_note(entry.job_id, f"invoice {invoice_id}", _job_note(ctx, entry)):
            ctx.summary.links_sent += 1
        state.mark_link(invoice_id, "job_note")
    return _attachments(ctx, entry)


def _job_note(ctx: DocumentContext, entry: LedgerEntry) -> str:
    invoice_id = str(entry.invoice_id)
    parts = [f"Xero invoice {entry.invoice_number or invoice_id} (reference {entry.reference})"]
    link = ctx.link_for(invoice_id)
    if link:
        parts.append(f"in Xero: {link}")
    known = ctx.state.invoice_status(invoice_id)
    if known and known[0] in ("AUTHORISED", "PAID"):
        online = ctx.xero.online_invoice_url(invoice_id)
        if online:
            parts.append(f"online invoice: {online}")
    return "; ".join(parts)


def _candidates(ctx: DocumentContext, entry: LedgerEntry) -> list[Candidate]:
    found: list[Candidate] = []
    sheet = ctx.sheet_for(str(entry.invoice_id)) if ctx.options.attach_job_sheet else None
    if sheet is not None:
        name, data = sheet
        found.append(Candidate(name, len(data), lambda: data))
    if ctx.options.attach_job_files:
        for file in ctx.back.job_files(entry.job_id):
            found.append(Candidate(file.name, file.size, _reader(ctx.back, entry.job_id, file)))
    return _unique(found)


def _reader(back: JobWriteBack, job_id: str, file: JobFile) -> Callable[[], bytes]:
    return lambda: back.read_file(job_id, file)


def _unique(found: list[Candidate]) -> list[Candidate]:
    """Two files of one name would look like one already attached: the later ones get a number."""
    seen: set[str] = set()
    out = []
    for candidate in found:
        name, n = candidate.name, 1
        while name.casefold() in seen:
            n += 1
            stem, dot, ext = candidate.name.rpartition(".")
            name = f"{stem} ({n}).{ext}" if dot else f"{candidate.name} ({n})"
        seen.add(name.casefold())
        out.append(Candidate(name, candidate.size, candidate.read))
    return out


def _attachments(ctx: DocumentContext, entry: LedgerEntry) -> bool:
    invoice_id, state, options = str(entry.invoice_id), ctx.state, ctx.options
    settled = state.attachment_states(invoice_id)
    todo = [c for c in _candidates(ctx, entry) if settled.get(c.name) not in ("sent", "skipped")]
    if not todo:
        return True
    # An upload is only ever made after its row is marked in flight: with no row at all, nothing can be
    # on the invoice yet. Otherwise the invoice is listed by name first (the exactly-once check).
    on_invoice = ctx.xero.attachment_names(invoice_id) if settled else set()
    room = options.max_files - len(on_invoice)
    for candidate in todo:
        if candidate.name in on_invoice:
            state.mark_attachment(invoice_id, candidate.name, "sent", "found on the invoice")
            continue
        if room <= 0:
            _skip(ctx, entry, candidate.name, f"the invoice already has {options.max_files} attachments")
            continue
        if candidate.size > options.max_bytes:
            _skip(ctx, entry, candidate.name, f"{candidate.size / MB:.1f} MB is over the 10 MB limit")
            continue
        data = candidate.read()
        if len(data) > options.max_bytes:
            _skip(ctx, entry, candidate.name, f"{len(data) / MB:.1f} MB is over the 10 MB limit")
            continue
        state.mark_attachment(invoice_id, candidate.name, "in_flight")
        ctx.xero.attach(invoice_id, candidate.name, data, options.include_online)
        crashpoints.reach(crashpoints.AFTER_ATTACHMENT_UPLOAD)
        state.mark_attachment(invoice_id, candidate.name, "sent", f"{len(data)} bytes")
        on_invoice.add(candidate.name)
        room -= 1
        ctx.summary.attachments_sent.append({"reference": entry.reference, "file": candidate.name, "bytes": len(data)})
    return True


def _skip(ctx: DocumentContext, entry: LedgerEntry, name: str, why: str) -> None:
    ctx.state.mark_attachment(str(entry.invoice_id), name, "skipped", why)
    ctx.summary.attachments_skipped.append({"reference": entry.reference, "file": name, "why": why})
