"""The service's worker: inbox events in, the very same run out, one pass at a time.

Job events are coalesced: a handful of jobs are each re-read and applied alone (`sync(only_job=)`, the
path `jobs retry` takes); more than that is one ordinary incremental run, which reads them all in one
pass. Xero invoice events run the pass back at once. Each pass takes the run lock for itself only, and
waits for a cron run or a control holding it. A failed pass leaves its events in the inbox, retried with
backoff; the reconciliation poll catches anything a lost webhook missed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from jobsync.app import follow_up, sync_run
from jobsync.config.settings import Settings
from jobsync.core.errors import JobsyncError
from jobsync.core.models import Outcome
from jobsync.state.inbox_rows import InboxEvent
from jobsync.state.store import State
from jobsync.xero.follow_up_client import FollowUpClient

log = logging.getLogger("jobsync.app.worker")
MAX_ATTEMPTS = 8
LOCK_WAIT_SECONDS = 60.0


@dataclass
class Drained:
    events: int = 0
    created: int = 0
    problems: list[str] = field(default_factory=list)
    inbox: dict[str, int] = field(default_factory=dict)  # events by state after the drain
    latencies: list[float] = field(default_factory=list)  # seconds from each event's arrival to its pass's end
    waiting: dict[str, int] = field(default_factory=dict)  # held and failed jobs after the drain


def drain(
    settings: Settings,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    gateway_for: Callable[[], FollowUpClient] | None = None,
) -> Drained:
    """Take every waiting event and sync it; returns what was done. `gateway_for` makes each pass's
    Xero client (a practice's worker paces it by the limits every worker shares)."""
    with State.open(settings.state.location) as state:
        events = [e for e in state.pending_events() if _due(e, now())]
        if not events:  # the idle tick, four times a second: one look at the state, no second one
            return Drained(waiting=waiting_jobs(state))
    done = Drained(events=len(events))
    jobs = [e for e in events if e.kind == "job"]
    invoices = [e for e in events if e.kind == "invoice"]
    if jobs:
        _pass(settings, jobs, done, now, lambda: _sync_jobs(settings, jobs, done, gateway_for))
    if invoices:
        _pass(settings, invoices, done, now, lambda: _follow_up(settings, gateway_for))
    with State.open(settings.state.location) as state:
        done.inbox = state.inbox_counts()
        done.waiting = waiting_jobs(state)
    return done


def waiting_jobs(state: State) -> dict[str, int]:
    """Jobs that are not invoiced yet, by why: held (a person must act) or failed (retried by itself)."""
    kinds = [h.kind for h in state.holds()]
    return {kind: kinds.count(kind) for kind in ("held", "failed")}


def _due(event: InboxEvent, at: datetime) -> bool:
    """Backoff: an event that failed n times waits 2^n seconds (capped at 10 minutes) before the next try."""
    wait = timedelta(seconds=min(600, 2**event.attempts)) if event.attempts else timedelta(0)
    return at - event.received_at >= wait


def _pass(
    settings: Settings, events: list[InboxEvent], done: Drained, now: Callable[[], datetime], work: Callable[[], None]
) -> None:
    ids = [e.id for e in events]
    try:
        work()
    except JobsyncError as exc:
        done.problems.append(exc.message)
        log.warning("inbox pass failed (retried later): %s", exc.message)
        with State.open(settings.state.location) as state:
            tried_out = [e.id for e in events if e.attempts + 1 >= MAX_ATTEMPTS]
            state.settle_events([i for i in ids if i not in tried_out], "new", exc.message)
            state.settle_events(tried_out, "failed", exc.message)
        return
    finished = now()
    with State.open(settings.state.location) as state:
        state.settle_events(ids, "done")
    done.latencies += [(finished - e.received_at).total_seconds() for e in events]


def _sync_jobs(
    settings: Settings, events: list[InboxEvent], done: Drained, gateway_for: Callable[[], FollowUpClient] | None
) -> None:
    for _, report in sync_run.sync_jobs(settings, (e.subject for e in events), LOCK_WAIT_SECONDS, gateway_for):
        done.created += report.count(Outcome.CREATED)


def _follow_up(settings: Settings, gateway_for: Callable[[], FollowUpClient] | None) -> None:
    summary = follow_up.now_pass(settings, LOCK_WAIT_SECONDS, gateway_for)
    if summary.problems:
        log.warning("pass back problems: %s", "; ".join(summary.problems))


def poll(settings: Settings) -> int:
    """The reconciliation poll: an ordinary run, so a webhook that never came costs minutes, not an invoice."""
    outcome = sync_run.sync(settings, apply=True, lock_wait=LOCK_WAIT_SECONDS)
    return outcome.result.report.count(Outcome.CREATED)
