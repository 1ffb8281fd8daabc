"""Narrowing and explaining a plan for `jobsync preview`; pure functions over the plan."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from jobsync.core.models import Job, Plan, XeroRefs
from jobsync.core.rules import Excluded, RuleSet, explain, map_line


@dataclass(frozen=True)
class LineExplanation:
    description: str
    tried: tuple[tuple[str, bool, str], ...]  # (rule name, matched, why), in the order tried
    kind: str = ""  # the line's kind as the rules saw it
    account: str = ""  # where the line goes: "200 Sales", or "excluded"


def selector(jobs: list[Job], job: str | None = None, client: str | None = None) -> Callable[[str, str], bool]:
    """`(job number, job id) -> shown?` for one job (number or id) and/or clients whose name has `client`."""
    client_of = {j.id: (j.client.name if j.client else "") for j in jobs}

    def keep(number: str, job_id: str) -> bool:
        if job is not None and job not in (number, job_id):
            return False
        return client is None or client.casefold() in client_of.get(job_id, "").casefold()

    return keep


def filter_plan(plan: Plan, jobs: list[Job], job: str | None = None, client: str | None = None) -> Plan:
    """Keep only what concerns one job (number or id) and/or clients whose name contains `client`."""
    if job is None and client is None:
        return plan
    keep = selector(jobs, job, client)
    drafts = tuple(d for d in plan.drafts if keep(d.job_number, d.job_id))
    held = tuple(h for h in plan.held if keep(h.job_number, h.job_id))
    skipped = tuple(s for s in plan.skipped if keep(s.job_number, s.job_id))
    # The counts follow the filter too: `--job X` reports on X alone.
    seen = {d.job_id for d in drafts} | {h.job_id for h in held} | {s.job_id for s in skipped}
    return replace(plan, drafts=drafts, held=held, skipped=skipped, jobs_seen=len(seen))


def explain_job(
    ruleset: RuleSet, jobs: list[Job], wanted: str, refs: XeroRefs | None = None
) -> list[LineExplanation] | None:
    """Every rule tried for each line of one job, and why it matched or not; None when the job is unknown."""
    job = next((j for j in jobs if wanted in (j.number, j.id)), None)
    if job is None:
        return None
    out = []
    for line in job.lines:
        mapped = map_line(ruleset, job, line)
        if isinstance(mapped, Excluded):
            account = "excluded"
        else:
            known = refs.accounts.get(mapped.account_code) if refs else None
            account = f"{mapped.account_code} {known.name}" if known else mapped.account_code
        tried = tuple(explain(ruleset, job, line))
        out.append(LineExplanation(line.description, tried, line.kind, account))
    return out
