"""What a bookkeeper's buttons do: the CLI's own controls, named for the signed-in user, each written to
the audit log with its before and after. A fix that should let a held job through tries it at once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jobsync.app import adjustment_commands, approvals, job_commands
from jobsync.app.approvals import ApprovalOutcome
from jobsync.config.settings import Settings
from jobsync.core.models import JobResult
from jobsync.state.rows import HoldRow
from jobsync.state.store import State

WAIT = 60.0  # seconds an action waits for a run holding the lock


@dataclass(frozen=True)
class Done:
    message: str  # what the page says happened
    results: list[JobResult]


def _hold(state: State, source: str, job: str) -> HoldRow | None:
    return next((h for h in state.holds(source) if job in (h.job_id, h.job_number)), None)


def _audited(settings: Settings, user: str, action: str, job: str, work: Callable[[], Done], **said: str) -> Done:
    source = settings.source.name
    with State.open(settings.state.location) as state:
        held = _hold(state, source, job)
    before = {"kind": held.kind, "reason": held.reason} if held else None
    done = work()
    with State.open(settings.state.location) as state:
        now = _hold(state, source, job)
        hold = {"kind": now.kind, "reason": now.reason} if now else None
        after = {"hold": hold, "outcomes": [r.outcome.value for r in done.results], **said}
        state.audit(user, action, f"{source}:{now.job_id if now else job}", before, after)
    return done


def _retried(settings: Settings, job: str, user: str, prefix: str) -> Done:
    ref, results = job_commands.retry(settings, job, WAIT, user)
    made = [r.invoice_number or r.outcome.value for r in results]
    return Done(f"{prefix}; job {ref.job_number}: {', '.join(made) or 'not read again'}", results)


def map_to_contact(settings: Settings, user: str, job: str, contact_id: str) -> Done:
    def work() -> Done:
        key = job_commands.map_client(settings, job, contact_id, None, WAIT, user)
        return _retried(settings, job, user, f"{key} now invoices to that Xero contact")

    return _audited(settings, user, "map client", job, work, contact_id=contact_id)


def create_under_name(settings: Settings, user: str, job: str, name: str) -> Done:
    def work() -> Done:
        key = job_commands.map_client(settings, job, None, name, WAIT, user)
        return _retried(settings, job, user, f"{key} gets a new contact, {name!r}")

    return _audited(settings, user, "new contact name", job, work, name=name)


def ignore(settings: Settings, user: str, job: str, reason: str) -> Done:
    def work() -> Done:
        ref = job_commands.ignore(settings, job, reason, WAIT, user)
        return Done(f"job {ref.job_number} is ignored: {reason}", [])

    return _audited(settings, user, "ignore", job, work, reason=reason)


def retry(settings: Settings, user: str, job: str) -> Done:
    return _audited(settings, user, "retry", job, lambda: _retried(settings, job, user, "tried again"))


def approve(settings: Settings, user: str, picks: list[tuple[str, str, str]] | None) -> ApprovalOutcome:
    """Approve the drafts picked (job id, stage, fingerprint seen), or all; they are made at once."""
    return approvals.approve_drafts(settings, picks, user, WAIT)


def approve_adjustment(settings: Settings, user: str, reference: str) -> Done:
    """A held credit note or extra invoice (issue 16's), approved and made at once."""
    made = adjustment_commands.approve(settings, reference, False, WAIT)
    with State.open(settings.state.location) as state:
        state.audit(user, "approve adjustment", f"adjustment:{reference}", {"state": "held"}, made.references)
    said = f"approved {', '.join(made.references)}"
    if made.summary.problems:
        said += "; problems: " + "; ".join(made.summary.problems)
    return Done(said, [])
