"""Everything the planner needs, read from the job system, the state file and Xero.

This is the read half of a pass, shared by `preview` and `run`; it writes nothing
to Xero and nothing to the state file.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from jobsync.core.contact_match import client_key
from jobsync.core.contact_numbers import forms
from jobsync.core.models import (
    ContactSnapshot,
    Job,
    JobResult,
    LedgerEntry,
    LedgerState,
    Outcome,
    Plan,
    XeroOrg,
    XeroRefs,
)
from jobsync.runtime import crashpoints, progress
from jobsync.sources.base import JobSource
from jobsync.state.store import State
from jobsync.sync import settled_jobs
from jobsync.xero.gateway import XeroGateway, XeroInvoiceRef
from jobsync.xero.refcache import CacheUser


@dataclass
class Gathered:
    jobs: list[Job]  # every job planned this pass: fresh ones plus held/in-flight ones re-read by id
    fresh_jobs: list[Job]  # the ones the watermark query returned
    refs: XeroRefs
    snapshot: ContactSnapshot
    ledger: dict[tuple[str, str, str], LedgerEntry]
    existing_invoices: dict[str, XeroInvoiceRef] = field(default_factory=dict)  # by Reference
    ignored: list[tuple[Job, str]] = field(default_factory=list)  # `jobs ignore`d: never planned, with why
    unchanged: list[JobResult] = field(default_factory=list)  # settled jobs left unplanned (`settled_jobs`)


# What the planner is given when there is no job to plan: nothing was read from Xero.
NOTHING_READ = XeroRefs(org=XeroOrg(name=""), accounts={}, tax_rates={})


def gather(
    source: JobSource,
    gateway: XeroGateway,
    state: State,
    start: datetime,
    revisit_held: bool = True,
    settled_under: str | None = None,
    only: str | None = None,
) -> Gathered:
    """`settled_under` (a run's config fingerprint) leaves out jobs an earlier run settled, unchanged.

    `only` reads that one job by id and nothing else (`jobs retry JOB`).
    """
    if only is not None:
        fresh = _dedupe(source.get_jobs([only]))
        jobs = list(fresh)
    else:
        fresh = _dedupe(source.changed_since(start))
        jobs = fresh + _revisit(source, state, {j.id for j in fresh}, revisit_held)
    # A job a bookkeeper ignored is never invoiced, even when an edit brings it back.
    ignored_why = {h.job_id: h.reason for h in state.holds(source.name, kind="ignored")}
    ignored = [(j, ignored_why[j.id]) for j in jobs if j.id in ignored_why]
    jobs = [j for j in jobs if j.id not in ignored_why]
    crashpoints.reach(crashpoints.AFTER_FETCH)
    ledger = _ledger(state, source.name, jobs)
    unchanged: list[JobResult] = []
    if settled_under is not None:
        same = settled_jobs.unchanged(state, jobs, ledger, settled_under)
        unchanged = settled_jobs.results_for([j for j in jobs if j.id in same], ledger)
        if not revisit_held:
            waiting = settled_jobs.unchanged(state, jobs, ledger, settled_under, kind="held")
            unchanged += _still_held(state, source.name, [j for j in jobs if j.id in waiting])
            same |= waiting
        jobs = [j for j in jobs if j.id not in same]
        ledger = {k: e for k, e in ledger.items() if e.job_id not in same}
    if not jobs:
        # A quiet pass: nothing to plan, so nothing to ask Xero. An idle day costs no API call.
        snapshot = ContactSnapshot(client_map={}, contacts=())
        return Gathered([], fresh, NOTHING_READ, snapshot, ledger, ignored=ignored, unchanged=unchanged)
    refs = _read_refs(gateway, state)
    snapshot = _snapshot(source.name, jobs, gateway, state)
    return Gathered(jobs, fresh, refs, snapshot, ledger, ignored=ignored, unchanged=unchanged)


def find_existing(gateway: XeroGateway, plan: Plan, gathered: Gathered, everything: bool) -> None:
    """Look up, in batched reads, whether Xero already has a planned invoice's Reference.

    Always done for jobs marked in flight by an earlier attempt (a crash or a lost
    response between Xero's confirmation and our ledger write). With `everything`
    (a first run, a lost state file, or `--since`) every planned Reference is
    checked, so invoices made before jobsync, or recorded in a lost ledger, are
    adopted. A routine run skips that read: its ledger already knows.
    """
    in_flight = {k for k, e in gathered.ledger.items() if e.state is LedgerState.IN_FLIGHT}
    wanted = [d for d in plan.drafts if everything or (d.source, d.job_id, d.stage) in in_flight]
    references = sorted({ref for d in wanted for ref in (d.reference, *d.also_known_as)})
    if not references:
        return
    for inv in gateway.find_invoices_by_reference(references):
        if inv.status in ("DELETED", "VOIDED") and inv.reference in gathered.existing_invoices:
            continue  # prefer a live invoice over a deleted one with the same Reference
        gathered.existing_invoices[inv.reference] = inv


def _ledger(state: State, source: str, jobs: list[Job]) -> dict[tuple[str, str, str], LedgerEntry]:
    """The ledger rows of these jobs, including ones a bookkeeper recorded by job number.

    `jobs mark-invoiced 1004` for a job jobsync had not yet seen can only record the number; once the
    job arrives under its own id (say J1004), that record must still stop it being invoiced again.
    """
    ids = {j.id for j in jobs}
    by_number = {j.number: j.id for j in jobs if j.number != j.id and j.number not in ids}
    ledger = state.ledger_for(source, sorted(ids | set(by_number)))
    for (src, key, stage), entry in list(ledger.items()):
        job_id = by_number.get(key)
        if job_id is None:
            continue
        del ledger[(src, key, stage)]
        marked_by_hand = entry.state is LedgerState.CONFIRMED and entry.invoice_id is None
        if marked_by_hand and (src, job_id, stage) not in ledger:
            ledger[(src, job_id, stage)] = replace(entry, job_id=job_id)
    return ledger


def _still_held(state: State, source: str, jobs: list[Job]) -> list[JobResult]:
    """Held jobs left unplanned until their re-check, reported with the reason they were held for."""
    why = {h.job_id: h.reason for h in state.holds(source, kind="held")}
    return [JobResult(j.source, j.id, j.number, Outcome.HELD, reason=why[j.id]) for j in jobs if j.id in why]


def _dedupe(jobs: Sequence[Job]) -> list[Job]:
    """Sources re-read an overlap window; keep the newest copy of each job."""
    by_id: dict[str, Job] = {}
    for job in jobs:
        if job.id not in by_id or job.changed_at >= by_id[job.id].changed_at:
            by_id[job.id] = job
    return list(by_id.values())


def _revisit(source: JobSource, state: State, already: set[str], held_too: bool) -> list[Job]:
    """In-flight, failed and approved jobs are re-read by id every pass until they sync; held ones when
    `held_too` (see `held_recheck`)."""
    ids = {e.job_id for e in state.in_flight(source.name)}
    ids |= {h.job_id for h in state.holds(source.name) if h.kind == "failed" or (held_too and h.kind == "held")}
    ids |= {a.job_id for a in state.approvals(source.name) if a.approved is not None}  # approved, not yet made
    missing = sorted(ids - already)
    return _dedupe(source.get_jobs(missing)) if missing else []


def _read_refs(gateway: XeroGateway, state: State) -> XeroRefs:
    # A gateway that can keep reference data and a contact snapshot keeps them in the state
    # file, so Accounts and contacts are read as deltas since the last sync.
    if isinstance(gateway, CacheUser):
        gateway.use_cache(state)
    progress.phase("reading Xero's accounts, tax rates and contacts")
    return gateway.read_refs()


def _snapshot(source_name: str, jobs: list[Job], gateway: XeroGateway, state: State) -> ContactSnapshot:
    clients = [j.client for j in jobs if j.client is not None and j.client.name.strip()]
    keys = sorted({client_key(source_name, c) for c in clients})
    client_map = state.client_map(keys)
    emails = sorted({c.email.strip() for c in clients if c.email and c.email.strip()})
    # Names chosen by a bookkeeper are looked up too: a new contact must not take a name already in use.
    names = sorted({" ".join(c.name.split()) for c in clients} | set(state.client_names(keys).values()))
    contacts = (
        gateway.find_contacts(
            contact_numbers=sorted({n for k in keys for n in forms(k)}),
            emails=emails,
            names=names,
            contact_ids=sorted(set(client_map.values())),
        )
        if clients
        else []
    )
    # An archived contact merged into another: read the survivor too, so the plan can follow the merge.
    merged = {c.merged_to_contact_id for c in contacts if c.merged_to_contact_id}
    merged -= {c.contact_id for c in contacts}
    if merged:
        contacts = [*contacts, *gateway.find_contacts(contact_ids=sorted(merged))]
    return ContactSnapshot(client_map=client_map, contacts=tuple(contacts), new_names=state.client_names(keys))
