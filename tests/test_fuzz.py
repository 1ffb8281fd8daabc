"""A fixed-seed sample of the fuzz campaign (`make fuzz` runs >= 10,000 cases of each kind)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fuzz_inputs import (
    COLUMNS,
    _row,
    check_config,
    check_csv_jobs,
    check_servicem8_jobs,
    config_bytes,
    odd_job_csv,
    odd_servicem8_job,
)
from hypothesis import HealthCheck, given, seed, settings

from jobsync.samples import csv_header

SAMPLE = settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


@seed(20261201)
@SAMPLE
@given(data=config_bytes())
def test_no_config_produces_a_traceback_or_an_undocumented_exit(data: bytes, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    check_config(data, tmp_path_factory.mktemp("cfg") / "jobsync.yaml")


@seed(20261201)
@SAMPLE
@given(text=odd_job_csv())
def test_an_odd_job_is_held_and_the_rest_of_its_batch_is_invoiced(text: str, tmp_path_factory) -> None:  # type: ignore[no-untyped-def]
    check_csv_jobs(text, tmp_path_factory.mktemp("csv") / "jobs.csv")


def test_the_job_check_fails_when_a_good_job_is_wrong(tmp_path: Path) -> None:
    # The checker is not vacuous: a good job that does not come to 110.00 is a failure.
    rows = [_row("1001"), _row("1002", unit_price="51.00"), _row("1003")]
    text = "\n".join([csv_header(), *(",".join(r[c] for c in COLUMNS) for r in rows)]) + "\n"
    with pytest.raises(AssertionError):
        check_csv_jobs(text, tmp_path / "jobs.csv")


@pytest.fixture(scope="module")
def servicem8():  # type: ignore[no-untyped-def]
    from jobsync.sandbox.servicem8 import ServiceM8Sandbox

    with ServiceM8Sandbox(port=0, rate_per_minute=10**9) as sandbox:
        yield sandbox


@seed(20261201)
@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(case=odd_servicem8_job())
def test_odd_servicem8_json_holds_only_that_job(case, servicem8) -> None:  # type: ignore[no-untyped-def]
    check_servicem8_jobs(case, servicem8)
