"""Jobs a run already settled, so an unchanged one costs nothing the next time it is read.

CSV exports and APIs without a change time are re-read whole every run (`reading_window`). Re-planning
an invoiced job that has not changed needs Xero's reference data and contacts, so a quiet day would
still cost calls. After a run, each job whose every outcome was created, adopted or skipped is
recorded with a fingerprint of what decided its plan: the job's content (not its change time), its
ledger rows and the config. The next run drops a job whose fingerprint is the same, before Xero is
asked anything. Anything that could change its plan changes the fingerprint: an edit in the job
system, an edited rule, `jobs forget` or `mark-invoiced` (they change the ledger rows). Held, failed
and in-flight jobs are never settled. A held job is recorded apart: while unchanged it waits for the
hourly re-check (`held_recheck`), and any edit to it in the job system plans it again at once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime

from jobsync.core.models import Job, JobResult, LedgerEntry, Outcome
from jobsync.state.store import State

SETTLED = frozenset({Outcome.CREATED, Outcome.ADOPTED, Outcome.SKIPPED})
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _key(source: str, job_id: str, kind: str = "settled") -> str:
    return f"{kind}:{source}:{job_id}"


def fingerprint(job: Job, ledger: Iterable[LedgerEntry], config: str) -> str:
    rows = sorted((e.stage, e.state.value, e.reference, e.invoice_id or "") for e in ledger if e.job_id == job.id)
    text = repr((replace(job, changed_at=_EPOCH), rows, config))
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def unchanged(
    state: State, jobs: list[Job], ledger: dict[tuple[str, str, str], LedgerEntry], config: str, kind: str = "settled"
) -> set[str]:
    """Ids of the jobs an earlier run left as `kind` (settled, or held) and the same since."""
    by_job = _by_job(ledger)
    return {
        job.id
        for job in jobs
        if state.cache_get(_key(job.source, job.id, kind)) == fingerprint(job, by_job.get(job.id, ()), config)
    }


def results_for(jobs: list[Job], ledger: dict[tuple[str, str, str], LedgerEntry]) -> list[JobResult]:
    """The report's lines for the jobs left unplanned (the ledger grouped once, not once per job)."""
    by_job = _by_job(ledger)
    return [result for job in jobs for result in _results_of(job, by_job.get(job.id, []))]


def _results_of(job: Job, rows: list[LedgerEntry]) -> list[JobResult]:
    """One line per invoiced stage, so every invoice is still listed."""
    why = "already invoiced; unchanged since the last run"
    name = job.client.name if job.client else None
    if not rows:
        return [JobResult(job.source, job.id, job.number, Outcome.SKIPPED, reason=why, contact_name=name)]
    return [
        JobResult(
            job.source,
            job.id,
            job.number,
            Outcome.SKIPPED,
            e.stage,
            reason=why,
            invoice_id=e.invoice_id,
            invoice_number=e.invoice_number,
            total=e.total,
            contact_name=name,
        )
        for e in sorted(rows, key=lambda e: e.stage)
    ]


def _by_job(ledger: dict[tuple[str, str, str], LedgerEntry]) -> dict[str, list[LedgerEntry]]:
    by_job: dict[str, list[LedgerEntry]] = {}
    for entry in ledger.values():
        by_job.setdefault(entry.job_id, []).append(entry)
    return by_job


def record(state: State, jobs: list[Job], results: list[JobResult], config: str) -> None:
    """Fingerprint the jobs this run settled, against the ledger as it now stands (one transaction)."""
    outcomes: dict[str, set[Outcome]] = {}
    for result in results:
        outcomes.setdefault(result.job_id, set()).add(result.outcome)
    kinds = {j.id: _kind(outcomes.get(j.id, set())) for j in jobs}
    recorded = [j for j in jobs if kinds[j.id] is not None]
    if not recorded:
        return
    by_job = _by_job(state.ledger_for(recorded[0].source, [j.id for j in recorded]))
    with state.transaction():
        for job in recorded:
            mark = fingerprint(job, by_job.get(job.id, ()), config)
            for kind in ("settled", "held"):
                key = _key(job.source, job.id, kind)
                wanted = mark if kinds[job.id] == kind else ""
                if (state.cache_get(key) or "") != wanted:
                    state.cache_put(key, wanted)


def _kind(outcomes: set[Outcome]) -> str | None:
    if outcomes and outcomes <= SETTLED:
        return "settled"
    return "held" if outcomes == {Outcome.HELD} else None
