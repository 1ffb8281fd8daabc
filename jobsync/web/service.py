"""`jobsync serve`: uvicorn serving the receivers, a worker thread draining the inbox, and the poll.

The worker holds the run lock one pass at a time (never for the life of the service). On SIGTERM
uvicorn stops taking requests, the worker is asked to stop between calls (the call in flight finishes
and is recorded), the inbox keeps what was not synced, and the process exits 0.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import uvicorn

from jobsync.app import worker
from jobsync.config.settings import Settings
from jobsync.core.errors import JobsyncError
from jobsync.runtime import logs, stop_request
from jobsync.web.metrics import Metrics
from jobsync.web.receivers import build

log = logging.getLogger("jobsync.web.service")
IDLE_SECONDS = 0.25  # how soon an event in the inbox is taken up
MAX_PAUSE_SECONDS = 30.0  # the longest wait between passes while they keep failing


@dataclass(frozen=True)
class PracticeOrg:
    """`jobsync serve --org NAME`: this service is one org of a practice, whose workers run its syncs."""

    url: str
    name: str


class Worker(threading.Thread):
    def __init__(
        self, settings: Settings, metrics: Metrics, poll: bool = True, practice: PracticeOrg | None = None
    ) -> None:
        super().__init__(name="jobsync-worker", daemon=True)
        self.settings, self.metrics, self.poll, self.practice = settings, metrics, poll, practice
        self.stopping = threading.Event()
        self.next_poll = time.monotonic() + settings.serve.poll_minutes * 60
        self.forwarded = 0  # the newest inbox event already queued as a practice run

    def run(self) -> None:
        pause = IDLE_SECONDS
        while not self.stopping.is_set():
            try:
                self._once()
                pause = IDLE_SECONDS
            except JobsyncError as exc:
                # A dead database or API is retried, but backing off: one line per try, not four a second.
                log.warning("worker pass stopped", extra=logs.fields(reason=exc.message, retry_seconds=pause * 2))
                pause = min(pause * 2, MAX_PAUSE_SECONDS)
            self.stopping.wait(pause)

    def _once(self) -> None:
        if self.practice is not None:
            # The practice's workers sync (one run per org, paced by the shared limits): queue it, with
            # the queueing lock folding this event, any others and a cron tick into one waiting run.
            from jobsync.app import queue

            self.forwarded = queue.forward_events(self.settings, self.practice.url, self.practice.name, self.forwarded)
            return
        done = worker.drain(self.settings)
        if done.events:
            log.info(
                "inbox drained",
                extra=logs.fields(events=done.events, created=done.created, problems=len(done.problems)),
            )
        self.metrics.synced.inc(done.created)
        for name, n in done.inbox.items():
            self.metrics.inbox.labels(name).set(n)
        for kind, n in done.waiting.items():
            self.metrics.jobs_waiting.labels(kind).set(n)
        for seconds in done.latencies:
            self.metrics.event_to_invoice.observe(max(0.0, seconds))
        if self.poll and time.monotonic() >= self.next_poll:
            self.next_poll = time.monotonic() + self.settings.serve.poll_minutes * 60
            self.metrics.synced.inc(worker.poll(self.settings))

    def stop(self) -> None:
        self.stopping.set()
        stop_request.request("SIGTERM")


class _Server(uvicorn.Server):
    """uvicorn's server, but a SIGTERM is a clean stop: uvicorn re-raises the signal after shutting down
    (so the process dies by it); a service unit wants exit 0 once the call in flight is recorded."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def serve(
    settings: Settings, host: str | None = None, port: int | None = None, practice: PracticeOrg | None = None
) -> int:
    metrics = Metrics()
    app = build(settings, metrics, practice.url if practice else None)
    config = uvicorn.Config(
        app,
        host=host or settings.serve.host,
        port=port or settings.serve.port,
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=30,
    )
    server = _Server(config)
    loop = Worker(settings, metrics, practice=practice)
    loop.start()
    try:
        server.run()
    finally:
        loop.stop()
        loop.join(timeout=60)
    return 0
