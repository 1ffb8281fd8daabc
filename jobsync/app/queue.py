"""The practice's task queue on procrastinate (PostgreSQL): one sync run per org at a time, across
every worker on every host.

- `jobsync.sync_org` runs the org's ordinary `jobsync run`, deferred with `lock=<org>` (one run per org
  at a time, anywhere) and `queueing_lock=<org>` (at most one waiting: a cron tick and a webhook for
  the same org at the same moment queue one run, and the second is told it is already queued).
- `jobsync.schedule` (every 10 s, deferred once per period however many workers run) queues each org
  whose interval has passed.
- `jobsync.practice_alerts` (every minute) raises the practice-wide alert for any org whose Xero login
  is near lapse or that failed twice in a row, once per condition (`app.practice_view`).
- `jobsync.retry_stalled` (every 10 s) retries the runs of a worker that stopped heartbeating, so a
  host killed mid-run has its org finished elsewhere. Exactly-once is still the ledger's and
  reconcile-by-Reference's: the rerun finds what the killed run made.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import UTC, datetime
from typing import Any

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued, ConnectorException

from jobsync.app import practice, practice_view, sync_run, worker
from jobsync.app.shared_limits import SharedCallLimiter
from jobsync.app.wiring import build_gateway
from jobsync.config.settings import Settings, load_settings
from jobsync.core.errors import JobsyncError, UnreachableError
from jobsync.state.store import State
from jobsync.xero.limiter import Limits

log = logging.getLogger("jobsync.app.queue")
SYNC_TASK = "jobsync.sync_org"
STALLED_AFTER_SECONDS = 30.0  # procrastinate's own default: three missed 10-second heartbeats


def make_app(url: str) -> procrastinate.App:
    app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url))

    @app.task(name=SYNC_TASK)
    def sync_org(org: str) -> int:
        return run_org(url, org)

    @app.periodic(cron="* * * * * */10", periodic_id="schedule")
    @app.task(name="jobsync.schedule", queueing_lock="jobsync.schedule")
    async def schedule(timestamp: int) -> None:
        now = datetime.now(UTC)
        for org in await asyncio.to_thread(practice.orgs, url):
            if org.due(now):
                await _defer_async(app, org.name)
                await asyncio.to_thread(practice.mark_queued, url, org.name, now)

    @app.periodic(cron="* * * * *", periodic_id="alerts")
    @app.task(name="jobsync.practice_alerts", queueing_lock="jobsync.practice_alerts")
    async def practice_alerts(timestamp: int) -> None:
        try:
            await asyncio.to_thread(practice_view.raise_alerts, url, datetime.now(UTC))
        except JobsyncError as exc:  # the next minute's check tries again
            log.warning("practice alert check stopped", extra={"fields": {"reason": exc.message}})

    @app.periodic(cron="* * * * * */10", periodic_id="stalled")
    @app.task(name="jobsync.retry_stalled", queueing_lock="jobsync.retry_stalled")
    async def retry_stalled(timestamp: int) -> None:
        for job in await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=STALLED_AFTER_SECONDS):
            log.warning("retrying a stalled run", extra={"fields": {"job": job.id, "task": job.task_name}})
            await app.job_manager.retry_job(job)

    return app


def run_org(url: str, org: str) -> int:
    """One org's run, as cron would start it but paced by the limits every worker shares: first the
    events its webhooks left in its inbox (`jobsync serve --org`), then the ordinary `jobsync run`.
    Returns the run's exit code (never raises)."""
    limiters: dict[str, SharedCallLimiter] = {}

    def shared(tenant: str, limits: Limits) -> SharedCallLimiter:
        # One per tenant for the whole run (its inbox passes and the run itself): one connection, and
        # the schema checked once; the counts are the database's, so sharing it loses nothing.
        if tenant not in limiters:
            limiters[tenant] = SharedCallLimiter(url, tenant, limits)
        return limiters[tenant]

    try:
        settings = load_settings(practice.config_of(url, org))
        drained = worker.drain(settings, gateway_for=lambda: build_gateway(settings, shared))
        for problem in drained.problems:
            log.warning("org inbox pass stopped", extra={"fields": {"org": org, "reason": problem}})
        outcome = sync_run.sync(settings, apply=True, lock_wait=60, gateway=build_gateway(settings, shared))
    except JobsyncError as exc:
        log.warning("org run stopped", extra={"fields": {"org": org, "reason": exc.message}})
        return int(exc.exit_code)
    finally:
        for limiter in limiters.values():
            limiter.close()
    return int(outcome.result.exit_code)


def forward_events(settings: Settings, url: str, org: str, seen: int) -> int:
    """`jobsync serve --org`: queue the org's run when its inbox has events newer than `seen` (the
    queueing lock folds them, and any cron tick, into one waiting run); returns the newest id seen."""
    with State.open(settings.state.location) as state:
        newest = max((e.id for e in state.pending_events()), default=seen)
    if newest > seen:
        queue_now(url, org)
    return max(newest, seen)


async def _defer_async(app: procrastinate.App, org: str) -> bool:
    try:
        await app.configure_task(SYNC_TASK, lock=org, queueing_lock=org).defer_async(org=org)
    except AlreadyEnqueued:
        return False
    return True


def queue_now(url: str, org: str) -> bool:
    """Queue the org's run now (a webhook, or `jobsync orgs run`); False when one is already waiting."""
    practice.config_of(url, org)  # an unknown org is refused with its name
    try:
        ensure_schema(url)
    except _psycopg_error() as exc:
        raise UnreachableError(f"the practice's queue could not take the run: {exc}") from None
    app = make_app(url)
    try:
        with app.open():
            app.configure_task(SYNC_TASK, lock=org, queueing_lock=org).defer(org=org)
    except AlreadyEnqueued:
        return False
    except ConnectorException as exc:
        raise UnreachableError(f"the practice's queue could not take the run: {exc}") from None
    return True


def _psycopg_error() -> type[Exception]:
    import psycopg

    return psycopg.Error


def ensure_schema(url: str) -> None:
    """procrastinate's tables, made once: the first worker applies them under an advisory lock."""
    import psycopg

    # psycopg's own errors, not the CLI's wording: the worker's loop reconnects on them.
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(7417003)")
        try:
            found: Any = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
            if found is None or found[0] is None:
                conn.execute(procrastinate.schema.SchemaManager.get_schema())
        finally:
            conn.execute("SELECT pg_advisory_unlock(7417003)")


def work(url: str, concurrency: int, name: str | None = None) -> None:
    """`jobsync worker`: take runs from the queue until SIGTERM/SIGINT (the runs in flight finish)."""
    asyncio.run(_supervise(url, concurrency, name))


async def _supervise(url: str, concurrency: int, name: str | None) -> None:
    """Run procrastinate's worker, and start it again whenever the database went away under it (a
    restart, a failover): the worker outlives the outage. A run cut off that way is retried as a stalled
    run, and the ledger keeps it exactly once. SIGTERM stops it gracefully, and only SIGTERM does."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    wait = 1.0
    while not stop.is_set():
        try:
            await asyncio.to_thread(ensure_schema, url)
            await _run_until(make_app(url), stop, concurrency, name)
            wait = 1.0
        except (ConnectorException, OSError, _psycopg_error()) as exc:
            log.warning("the practice database went away; reconnecting", extra={"fields": {"reason": str(exc)}})
        if not stop.is_set():
            await asyncio.wait({asyncio.create_task(stop.wait())}, timeout=wait)
            wait = min(wait * 2, 30.0)


async def _run_until(app: procrastinate.App, stop: asyncio.Event, concurrency: int, name: str | None) -> None:
    async with app.open_async():
        worker = asyncio.create_task(
            app.run_worker_async(concurrency=concurrency, name=name or "jobsync-worker", install_signal_handlers=False)
        )
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait({worker, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not stop.is_set():
            stopping.cancel()
            await worker  # it ended by itself: raise what ended it, if anything, so the loop reconnects
            return
        worker.cancel()  # procrastinate's graceful stop: the runs in flight finish first
        try:
            await worker
        except asyncio.CancelledError:
            pass
