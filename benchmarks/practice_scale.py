"""A practice at scale: 200 orgs x 40 completed jobs (each for a client new to Xero) on 1, 2 and 4
`jobsync worker` processes, over one multi-tenant sandbox at Xero's per-org limits (60 calls a minute,
5 at once, 5,000 a day) and the app-wide 10,000 a minute.

The clock is scaled, not faked: the workers are separate processes pacing on the practice database's
clock, so "a minute" is `MINUTE` real seconds for the sandbox and the shared limiter alike, and each
call waits `LATENCY` seconds, as a real network makes a run wait on Xero rather than on CPU.

Then the same practice on 4 workers with a reduced app-wide ceiling (the practice's own setting), which
binds: the most calls the sandbox saw in any one "minute" must stay within it, with no call refused.
"""

from __future__ import annotations

import tempfile
import threading
import time
from bisect import bisect_left
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from benchmarks.scenario import minimum_calls
from jobsync.app.shared_limits import PracticeLimits, ensure_tables, write_limits
from jobsync.sandbox.xero.http import API_PREFIX, Exchange
from jobsync.sandbox.xero.server import RateLimits, XeroSandbox
from tests.postgres_server import cluster
from tests.practice_rig import Practice, practice

ORGS, JOBS = 200, 40
MINUTE = 2.0  # real seconds in one of Xero's minutes, for the sandbox and the shared limiter
LATENCY = 0.05  # seconds each Xero call takes
REDUCED_APP_LIMIT = 20  # calls a (scaled) minute across the whole practice, for the ceiling run
CEILING_ORGS = 40  # the ceiling run is paced by the ceiling alone: fewer orgs show it as well


@dataclass
class Calls:
    """Every Accounting API answer the sandbox sent, with when (the referee for both limits)."""

    times: list[float] = field(default_factory=list)
    refused: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, exchange: Exchange) -> None:
        if not exchange.path.startswith(API_PREFIX):
            return
        with self.lock:
            self.times.append(exchange.received)
            self.refused += exchange.status == 429

    def busiest_minute(self) -> int:
        times = sorted(self.times)
        return max((i - bisect_left(times, t - MINUTE) + 1 for i, t in enumerate(times)), default=0)


@dataclass(frozen=True)
class Outcome:
    orgs: int
    workers: int
    app_limit: int
    seconds: float
    calls: int
    refused: int
    busiest_minute: int
    invoiced: int

    @property
    def orgs_a_minute(self) -> float:
        return self.orgs / self.seconds * 60


def _done(p: Practice) -> int:
    return sum(len(org.sandbox.org(org.tenant_id).invoices) for _, org in p.orgs.values())


def run(server: str, workers: int, app_limit: int, orgs: int = ORGS, jobs: int = JOBS) -> Outcome:
    import psycopg

    calls = Calls()
    limits = RateLimits(minute=60, day=5000, concurrent=5, app_minute=app_limit, window_seconds=MINUTE)
    sandbox = XeroSandbox(port=0, on_exchange=calls, rate_limits=limits)
    sandbox.latency = LATENCY
    with tempfile.TemporaryDirectory() as tmp, practice(Path(tmp), server, orgs, jobs, 1440, sandbox) as p:
        for work, _ in p.orgs.values():  # invoicing alone: the job-sheet pass back is measured elsewhere
            config = yaml.safe_load(work.config.read_text())
            work.config.write_text(yaml.safe_dump({**config, "follow_up": {"enabled": False}}))
        with psycopg.connect(p.url, autocommit=True) as conn:
            ensure_tables(conn)
            write_limits(conn, PracticeLimits(app_per_minute=app_limit, minute_seconds=MINUTE))
        started = time.monotonic()
        for _ in range(workers):
            p.start_worker(concurrency=1)
        p.wait_for(lambda: _done(p) >= orgs * jobs, 1800)
        seconds = time.monotonic() - started
        invoiced = _done(p)
    return Outcome(orgs, workers, app_limit, seconds, len(calls.times), calls.refused, calls.busiest_minute(), invoiced)


COLUMNS = ("orgs", "workers", "app limit", "time", "orgs/min", "calls", "minimum", "busiest minute", "429s")
WIDTHS = (5, 8, 10, 8, 9, 7, 8, 15, 5)


def _row(values: tuple[object, ...]) -> str:
    return " ".join(f"{v:>{w}}" for v, w in zip(values, WIDTHS, strict=True))


def print_figure() -> bool:
    """The scaling table and the ceiling run; True when every promise held."""
    per_org = minimum_calls(1, JOBS, JOBS)  # each org's seeded contacts fit one page
    print(f"\nA practice: {ORGS} orgs x {JOBS} jobs on 1, 2 and 4 workers")
    print(f"(a minute = {MINUTE:g} s on the database's clock; {LATENCY * 1000:g} ms a call)")
    print(_row(COLUMNS))
    with cluster() as server:
        outcomes = [run(server, n, 10_000) for n in (1, 2, 4)]
        outcomes.append(run(server, 4, REDUCED_APP_LIMIT, orgs=CEILING_ORGS))
    for o in outcomes:
        figures = (f"{o.seconds:.0f}s", f"{o.orgs_a_minute:.1f}", f"{o.calls:,}", f"{o.orgs * per_org:,}")
        print(_row((o.orgs, o.workers, f"{o.app_limit:,}", *figures, o.busiest_minute, o.refused)))
    one, two, four, ceiling = outcomes
    every = all(o.invoiced == o.orgs * JOBS and o.refused == 0 for o in outcomes)
    scales = one.orgs_a_minute < two.orgs_a_minute < four.orgs_a_minute
    holds = ceiling.busiest_minute <= REDUCED_APP_LIMIT
    print(f"  every invoice made once, no call refused: {every}; throughput grows with workers: {scales}")
    print(f"  app limit {REDUCED_APP_LIMIT} a minute held over 4 workers: {holds} (busiest {ceiling.busiest_minute})")
    return every and scales and holds


if __name__ == "__main__":  # `python -m benchmarks.practice_scale`: this figure alone
    raise SystemExit(0 if print_figure() else 1)
