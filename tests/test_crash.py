"""A sample of the crash harness: `jobsync run` SIGKILLed at every named point, over several seeds.

Each (point, seed) pair is its own test so pytest-xdist spreads them over the workers;
`make crash` (scripts/crash.py) runs many more seeds of the same harness.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from jobsync.runtime import crashpoints
from tests.crash_harness import ROOT, run_pair, scenario

SEEDS = range(5)  # 10 points x 5 seeds = 50 pairs
PAIRS = [(point, seed) for point in crashpoints.POINTS for seed in SEEDS]


def test_the_sample_covers_at_least_40_distinct_pairs_and_every_point() -> None:
    assert len(set(PAIRS)) >= 40
    assert {p for p, _ in PAIRS} == set(crashpoints.POINTS)


@pytest.mark.parametrize(("point", "seed"), PAIRS)
def test_a_killed_run_then_a_rerun_invoices_every_job_exactly_once(point: str, seed: int, tmp_path: Path) -> None:
    outcome = run_pair(point, seed, tmp_path)
    assert outcome.fired, f"{point} never fired for seed {seed}"
    assert outcome.duplicates == [] and outcome.missing == []
    assert outcome.problems == []


def test_scenarios_are_deterministic_and_vary_with_the_seed() -> None:
    first = [scenario(crashpoints.AFTER_INVOICE_CONFIRM, s) for s in range(20)]
    assert first == [scenario(crashpoints.AFTER_INVOICE_CONFIRM, s) for s in range(20)]
    assert len({len(s.all_jobs) for s in first}) > 1
    assert any(s.warmup for s in first) and any(not s.warmup for s in first)
    assert len({s.occurrence for s in first}) > 1  # the n-th confirm, not always the first


def test_parse_accepts_a_count_and_refuses_unknown_points() -> None:
    assert crashpoints.parse("after_fetch") == ("after_fetch", 1)
    assert crashpoints.parse("after_invoice_confirm:3") == ("after_invoice_confirm", 3)
    with pytest.raises(ValueError, match="unknown crash point"):
        crashpoints.parse("after_fetc")
    with pytest.raises(ValueError, match="1 or more"):
        crashpoints.parse("after_fetch:0")


def test_simulated_crash_fires_on_the_nth_reach_only() -> None:
    try:
        crashpoints.simulate(crashpoints.AFTER_INVOICE_CONFIRM, 2)
        crashpoints.reach(crashpoints.AFTER_INVOICE_CONFIRM)
        crashpoints.reach(crashpoints.AFTER_FETCH)
        with pytest.raises(crashpoints.SimulatedCrash) as caught:
            crashpoints.reach(crashpoints.AFTER_INVOICE_CONFIRM)
        assert caught.value.point == crashpoints.AFTER_INVOICE_CONFIRM
        assert crashpoints.reached()[crashpoints.AFTER_INVOICE_CONFIRM] == 2
    finally:
        crashpoints.simulate(None)
    crashpoints.reach(crashpoints.AFTER_INVOICE_CONFIRM)  # disarmed: nothing happens, nothing counted
    assert crashpoints.reached() == {}


def test_a_real_kill_is_sigkill_and_the_log_names_the_point(tmp_path: Path) -> None:
    log = tmp_path / "points.log"
    code = (
        "from jobsync.runtime import crashpoints as c\n"
        "c.reach(c.AFTER_FETCH)\nc.reach(c.BEFORE_INVOICE_BATCH)\nc.reach(c.BEFORE_INVOICE_BATCH)\n"
        "print('survived')\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "JOBSYNC_CRASH_AT": "before_invoice_batch:2",
        "JOBSYNC_CRASH_LOG": str(log),
    }
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == -signal.SIGKILL
    assert "survived" not in proc.stdout
    assert log.read_text().split() == ["after_fetch", "before_invoice_batch", "before_invoice_batch"]
