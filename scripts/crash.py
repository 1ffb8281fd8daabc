"""`make crash`: the crash harness over many (point, seed) pairs, with a closing tally.

    python scripts/crash.py [--seeds N] [--workers W]

Every named crash point × N seeds (default 30: 8 points, 240 pairs). Each pair runs `jobsync run`
as a subprocess, SIGKILLs it at the point, reruns to completion and checks exactly-once.
Prints each failing pair, then: pairs exercised, duplicates found, missing found, time.
Exits 1 if any pair found a duplicate, a missing invoice, a point that never fired, or any
other broken invariant.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jobsync.runtime import crashpoints  # noqa: E402 - after the path fix, so a bare checkout works
from tests.crash_harness import Outcome, run_pair  # noqa: E402


def _pair(point: str, seed: int, base: Path) -> Outcome:
    # One broken pair (e.g. jobsync itself crashing with a traceback) must not hide the others.
    try:
        return run_pair(point, seed, base)
    except Exception as exc:  # noqa: BLE001 - reported as this pair's problem
        return Outcome(point, seed, False, False, problems=[f"harness error: {str(exc)[-400:]}"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/crash.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=30, help="seeds per crash point")
    parser.add_argument("--workers", type=int, default=4, help="pairs run at once (each is its own processes)")
    args = parser.parse_args(argv)
    pairs = [(point, seed) for point in crashpoints.POINTS for seed in range(args.seeds)]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="jobsync-crash-") as tmp:
        # Threads are enough: the work happens in the jobsync child processes and the sandboxes.
        with ThreadPoolExecutor(args.workers) as pool:
            outcomes: list[Outcome] = list(pool.map(lambda pair: _pair(pair[0], pair[1], Path(tmp)), pairs))
    elapsed = time.monotonic() - started
    for o in outcomes:
        for problem in o.problems:
            print(f"FAIL ({o.point}, seed {o.seed}): {problem}")
    exercised = {(o.point, o.seed) for o in outcomes if o.fired}
    duplicates = sum(len(o.duplicates) for o in outcomes)
    missing = sum(len(o.missing) for o in outcomes)
    second = sum(o.second_fired for o in outcomes)
    print(f"points: {', '.join(crashpoints.POINTS)}")
    print(f"(point, seed) pairs exercised: {len(exercised)} of {len(pairs)} (plus {second} reruns also killed)")
    print(f"duplicates found: {duplicates}")
    print(f"missing found: {missing}")
    print(f"time: {elapsed:.1f}s")
    return 1 if any(o.problems for o in outcomes) or len(exercised) != len(pairs) else 0


if __name__ == "__main__":
    sys.exit(main())
