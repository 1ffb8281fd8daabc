"""simPRO calls per job for the bench shape: one section with one cost centre, a customer each."""

from __future__ import annotations

from datetime import UTC, datetime

from jobsync.sandbox.simpro import SimproSandbox
from jobsync.sources.simpro import SimproSource

JOBS = 100
BEFORE = 901  # per 100 jobs, walking sections and cost centres and reading each customer alone
GOAL_PER_JOB = 5.5


class _Clock:
    """The emulator's rate window and the connector's sleeps share it: waiting moves time, instantly."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def seed(sandbox: SimproSandbox, jobs: int = JOBS) -> None:
    for n in range(jobs):
        cid = sandbox.add_company(f"Client {n}", Email=f"c{n}@example.com")
        jid = sandbox.add_job(cid, DateModified="2026-03-05T10:00:00+11:00")
        sid = sandbox.add_section(jid)
        cc = sandbox.add_cost_center(jid, sid)
        sandbox.add_item(jid, sid, cc, "labor", LaborType={"ID": 1, "Name": "Labour"}, qty=1, price=90)
        sandbox.add_item(jid, sid, cc, "catalogs", Catalog={"ID": 2, "Name": "Part"}, qty=2, price=10)


def measure(jobs: int = JOBS) -> tuple[int, int]:
    """(calls made, jobs read with both lines and a customer)."""
    clock = _Clock()
    with SimproSandbox(clock=clock) as sandbox:
        seed(sandbox, jobs)
        source = SimproSource(sandbox.url, sandbox.token, sleep=clock.sleep, clock=clock)
        read = source.changed_since(datetime(2026, 1, 1, tzinfo=UTC))
        whole = sum(1 for j in read if len(j.lines) == 2 and j.client is not None and j.client.email)
        return sum(source.calls.values()), whole


def print_figure() -> float:
    calls, whole = measure()
    per_job = calls / JOBS
    print(f"\nsimPRO, {JOBS} jobs of one section and one cost centre ({whole} read whole)")
    print(f"  calls per 100 jobs: {BEFORE} before, {calls} now ({per_job:.2f} a job; goal {GOAL_PER_JOB})")
    return per_job
