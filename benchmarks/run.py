"""`make bench`: issue 9's scenario through jobsync and the per-job baseline, as one table.

The sandboxes run in a child process (so tracemalloc and CPU time measure the
client alone) with Xero's real limits (60/min, 5,000/day, 5 concurrent) on a
simulated clock shared with the client: a 429's wait moves the clock instead of
sleeping, so the wall time shown is the time at Xero's limits.
"""

from __future__ import annotations

import multiprocessing
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from benchmarks.harness import Measure, Servers, SimClock, run_baseline, run_jobsync, write_config
from benchmarks.scenario import MARK, build, minimum_calls, seed_servicem8, seed_xero, write_csv
from jobsync.config import load_settings
from jobsync.gather import gather
from jobsync.plan import PlanSettings, build_plan
from jobsync.rules import load_rules
from jobsync.sandbox.servicem8 import ServiceM8Sandbox
from jobsync.sandbox.xero import RateLimits, XeroSandbox
from jobsync.state import State
from jobsync.wiring import build_source
from jobsync.xero.client import XeroClient

JOBS = 1000
BIG = 10_000
MINUTE_LIMIT = 60


def _serve(conn: Connection, offset: Any, jobs: int, lines: tuple[int, int]) -> None:
    scenario = build(jobs, lines=lines)
    clock = SimClock(offset)
    xero = XeroSandbox(clock=clock.now, rate_limits=RateLimits(day_seconds=86400.0)).start()
    sm8 = ServiceM8Sandbox(rate_per_minute=1_000_000, clock=clock.monotonic).start()
    seed_xero(scenario, xero)
    seed_servicem8(scenario, sm8)
    conn.send((Servers(xero.api_url, xero.identity_url, xero.tenant_id, sm8.url), len(xero.contacts())))
    while (msg := conn.recv()) != "stop":
        if msg == "invoices":
            conn.send(len(xero.state.invoices))
    xero.stop()
    sm8.stop()


@contextmanager
def servers(jobs: int, lines: tuple[int, int] = (3, 8)) -> Iterator[tuple[Servers, int, SimClock, Connection]]:
    ctx = multiprocessing.get_context("fork")
    offset = ctx.Value("d", 0.0)
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(child, offset, jobs, lines), daemon=True)
    proc.start()
    found, in_xero = parent.recv()
    try:
        yield found, in_xero, SimClock(offset), parent
    finally:
        parent.send("stop")
        proc.join(10)


def measure(kind: str, who: str, jobs: int, lines: tuple[int, int] = (3, 8)) -> tuple[Measure, int]:
    with servers(jobs, lines) as (found, in_xero, clock, conn), tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_csv(build(jobs, lines=lines), work / "jobs.csv")
        run = run_jobsync if who == "jobsync" else run_baseline
        result = run(work, found, kind, clock)
        conn.send("invoices")
        result.extra["invoices_in_xero"] = conn.recv()
        return result, in_xero


def planning(jobs: int, lines: int) -> tuple[float, int, int]:
    """(build_plan CPU seconds, drafts, peak bytes of gather + plan) over `jobs` jobs of `lines` lines.

    The apply phase works 50 invoices at a time over the plan, so the plan's peak is the run's.
    """
    scenario = build(jobs, lines=(lines, lines))
    with servers(jobs, (lines, lines)) as (found, _, clock, _conn), tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        write_csv(scenario, work / "jobs.csv")
        settings = load_settings(write_config(work, found, "csv"), env={})
        gateway = XeroClient(found.xero_api_url, found.tenant_id, lambda: "sandbox", sleep=clock.sleep)
        rules = load_rules(settings.rules)
        tracemalloc.start()
        with State.open(work / "state.db") as state:
            gathered = gather(build_source(settings), gateway, state, MARK - timedelta(hours=1))
        plan_settings = PlanSettings(org_timezone=gathered.refs.org.timezone)
        started = time.process_time()
        plan = build_plan(gathered.jobs, gathered.ledger, rules, gathered.refs, gathered.snapshot, plan_settings,
                          clock.now())
        cpu = time.process_time() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return cpu, len(plan.drafts), peak


# ---------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------


def rate_floor(calls: int) -> float:
    """Seconds Xero's 60-a-minute limit alone imposes on `calls` sent at its sustained rate."""
    return calls * 60.0 / MINUTE_LIMIT


def _mb(n: int | None) -> str:
    return "-" if n is None else f"{n / 1e6:.1f} MB"


def _duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def print_pair(kind: str, ours: Measure, base: Measure, floor: int) -> None:
    endpoints = sorted(set(ours.xero_calls) | set(base.xero_calls))
    rows: list[tuple[str, str, str, str]] = [
        (f"Xero: {e}", str(ours.xero_calls.get(e, 0)), str(base.xero_calls.get(e, 0)), "") for e in endpoints
    ]
    rows += [
        ("Xero calls, total", str(ours.total), str(base.total), f"{base.total / ours.total:.1f}x fewer"),
        ("  as a multiple of the minimum", f"{ours.total / floor:.2f}", f"{base.total / floor:.1f}",
         f"minimum {floor}"),
        ("  of which answered 429", str(ours.rate_limited), str(base.rate_limited), ""),
        ("Job-system calls", str(sum(ours.source_calls.values())), str(sum(base.source_calls.values())), ""),
        ("Simulated wall time at Xero's limits", _duration(ours.sim_seconds), _duration(base.sim_seconds),
         f"{base.sim_seconds / max(ours.sim_seconds, 1e-9):.0f}x shorter"),
        ("  rate-limit floor (calls / 60 a min)", _duration(rate_floor(ours.total)), _duration(rate_floor(base.total)),
         f"ratio {ours.sim_seconds / rate_floor(ours.total):.2f} / {base.sim_seconds / rate_floor(base.total):.2f}"),
        ("  days on the Starter tier (1,000/day)", str(-(-ours.total // 1000)), str(-(-base.total // 1000)), ""),
        ("CPU time (client process)", f"{ours.cpu_seconds:.2f} s", f"{base.cpu_seconds:.2f} s",
         f"{base.cpu_seconds / max(ours.cpu_seconds, 1e-9):.1f}x"),
        ("Peak memory (tracemalloc)", _mb(ours.peak_bytes), _mb(base.peak_bytes),
         f"{(base.peak_bytes or 0) / max(ours.peak_bytes or 1, 1):.1f}x"),
        ("Invoices in Xero afterwards", str(ours.extra["invoices_in_xero"]), str(base.extra["invoices_in_xero"]), ""),
    ]
    print(f"\n{kind} path, {JOBS} completed jobs ({round(JOBS * 0.3)} for clients new to Xero, 3-8 lines each)")
    print(f"{'':44} {'jobsync':>10} {'baseline':>10}  ratio")
    for label, a, b, note in rows:
        print(f"{label:44} {a:>10} {b:>10}  {note}")


def main() -> int:
    print("jobsync benchmark: Xero sandbox at Xero's real limits on a simulated clock; baseline = n8n per-job "
          "pattern via xero-python (search contact, create if missing, create invoice)")
    ok = True
    for kind in ("csv", "servicem8"):
        ours, in_xero = measure(kind, "jobsync", JOBS)
        base, _ = measure(kind, "baseline", JOBS)
        floor = minimum_calls(in_xero, round(JOBS * 0.3), JOBS)
        print_pair(kind, ours, base, floor)
        ok &= ours.total <= 1.1 * floor and base.total >= 50 * ours.total
    plan_cpu, planned, big_peak = planning(BIG, 10)
    _, _, small_peak = planning(JOBS, 10)
    per_small, per_big = small_peak / JOBS * 1000, big_peak / BIG * 1000
    print("\nScale (csv path, jobsync; 10 lines a job; peak = gather + plan, the apply phase works 50 at a time)")
    print(f"{'Planning time, 10,000 jobs x 10 lines (build_plan CPU)':58} {plan_cpu:.2f} s ({planned} drafts)")
    print(f"{'Peak memory, 1,000 jobs':58} {_mb(small_peak)} ({_mb(int(per_small))} per 1,000 jobs)")
    print(f"{'Peak memory, 10,000 jobs':58} {_mb(big_peak)} ({_mb(int(per_big))} per 1,000 jobs)")
    ok &= per_big <= per_small
    print("\ntargets met" if ok else "\nTARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    tracemalloc.stop()
    sys.exit(main())
