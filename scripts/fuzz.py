"""`make fuzz`: the full fuzz campaign, fixed seed: >= 10,000 configs, >= 10,000 CSV job payloads and
>= 10,000 ServiceM8 JSON job payloads through the emulator's real HTTP.

Prints the case counts and the number of broken promises (tracebacks, undocumented exits, good jobs
not invoiced); exits 1 if there were any.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fuzz_inputs import (  # noqa: E402
    check_config,
    check_csv_jobs,
    check_servicem8_jobs,
    config_bytes,
    odd_job_csv,
    odd_servicem8_job,
)
from hypothesis import HealthCheck, given, seed, settings  # noqa: E402

from jobsync.sandbox.servicem8 import ServiceM8Sandbox  # noqa: E402


def campaign(name: str, strategy, check, cases: int, work: Path) -> tuple[int, list[str]]:  # type: ignore[no-untyped-def]
    failures: list[str] = []
    outcomes: Counter[str] = Counter()

    @seed(20261201)
    @settings(max_examples=cases, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def run(case) -> None:  # type: ignore[no-untyped-def]
        try:
            outcomes[str(check(case, work / name) or "ok")] += 1
        except Exception as exc:  # a broken promise: count it, show the first few, go on
            failures.append(f"{type(exc).__name__}: {str(exc)[:200]}")

    started = time.monotonic()
    run()
    total = sum(outcomes.values()) + len(failures)
    print(
        f"{name}: {total} cases in {time.monotonic() - started:.0f} s, outcomes {dict(outcomes)},"
        f" broken promises {len(failures)}"
    )
    for failure in failures[:5]:
        print(f"  {failure}")
    return total, failures


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=10_000)
    cases = parser.parse_args().cases
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        _, config_failures = campaign("configs", config_bytes(), check_config, cases, work)
        _, job_failures = campaign("csv_jobs", odd_job_csv(), check_csv_jobs, cases, work)
        with ServiceM8Sandbox(port=0, rate_per_minute=10**9) as sm8:
            _, json_failures = campaign(
                "servicem8_json", odd_servicem8_job(), lambda case, _path: check_servicem8_jobs(case, sm8), cases, work
            )
    return 1 if config_failures or job_failures or json_failures else 0


if __name__ == "__main__":
    sys.exit(main())
