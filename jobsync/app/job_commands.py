"""The `jobs` and `contacts map` use cases as the CLI calls them: each opens the state, takes the run
lock when it writes (waiting up to `wait` seconds for a run to finish), and calls one control.

`controls` holds the decisions and takes an open state, so tests and the console can share a state
across calls; these functions are the one-shot form a command needs.
"""

from __future__ import annotations

from jobsync.app import controls, sync_run
from jobsync.app.controls import Forgotten, JobRef, JobView
from jobsync.app.wiring import build_gateway
from jobsync.config.settings import Settings
from jobsync.core.models import JobResult
from jobsync.state.store import State

__all__ = ["Forgotten", "JobRef", "JobView", "forget", "ignore", "list_jobs", "map_client", "mark_invoiced", "retry"]


def list_jobs(settings: Settings, kind: str | None) -> list[JobView]:
    with State.open(settings.state.location) as state:
        return controls.list_jobs(state, settings.source.name, kind)


def retry(settings: Settings, job: str, wait: float, user: str | None = None) -> tuple[JobRef, list[JobResult]]:
    """Put the job back in line, then re-read, re-plan and apply it now, under the run lock."""
    with State.open(settings.state.location) as state, state.lock(wait):
        ref = controls.retry_job(state, settings.source.name, job, user)
    outcome = sync_run.sync(settings, apply=True, only_job=ref.job_id, lock_wait=wait)
    return ref, [r for r in outcome.result.report.results if r.job_id == ref.job_id]


def ignore(settings: Settings, job: str, reason: str, wait: float, user: str | None = None) -> JobRef:
    with State.open(settings.state.location) as state, state.lock(wait):
        return controls.ignore_job(state, settings.source.name, job, reason, user)


def forget(settings: Settings, job: str, force: bool, wait: float) -> Forgotten:
    with State.open(settings.state.location) as state, state.lock(wait):
        return controls.forget_job(state, settings.source.name, job, build_gateway(settings), force)


def mark_invoiced(settings: Settings, job: str, invoice: str, stage: str, wait: float) -> JobRef:
    with State.open(settings.state.location) as state, state.lock(wait):
        return controls.mark_invoiced(state, settings.source.name, job, invoice, stage=stage)


def map_client(
    settings: Settings, client: str, contact_id: str | None, new_name: str | None, wait: float, user: str | None = None
) -> str:
    with State.open(settings.state.location) as state, state.lock(wait):
        return controls.map_client(
            state, settings.source.name, client, contact_id=contact_id, new_name=new_name, by=user or controls.who()
        )
