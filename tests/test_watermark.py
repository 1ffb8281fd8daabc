"""The watermark moves only forward, never past the run's start, and stays below failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from jobsync.core.errors import ConfigError, ExitCode
from jobsync.core.watermark import next_mark, read_from

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_first_run_without_a_start_date_is_a_config_error_with_exit_2() -> None:
    with pytest.raises(ConfigError) as info:
        read_from(None, None, None, HOUR)
    assert info.value.exit_code is ExitCode.BAD_CONFIG
    assert "source.start_from" in str(info.value) and "--since" in str(info.value)


def test_since_wins_then_stored_minus_overlap_then_start_from() -> None:
    since = T0 - 10 * HOUR
    assert read_from(T0, since, T0 - HOUR, HOUR) == since
    assert read_from(T0, None, T0 - 5 * HOUR, HOUR) == T0 - HOUR
    assert read_from(None, None, T0 - 5 * HOUR, HOUR) == T0 - 5 * HOUR


def test_mark_advances_to_newest_job_but_never_past_run_start() -> None:
    started = T0 + 2 * HOUR
    assert next_mark(None, [T0, T0 + HOUR], [], started) == T0 + HOUR
    assert next_mark(None, [T0, T0 + 5 * HOUR], [], started) == started


def test_mark_stays_just_below_the_earliest_failure() -> None:
    mark = next_mark(None, [T0, T0 + HOUR, T0 + 2 * HOUR], [T0 + HOUR], T0 + 3 * HOUR)
    assert mark is not None and mark < T0 + HOUR and mark > T0


def test_mark_never_moves_back() -> None:
    stored = T0 + 4 * HOUR
    assert next_mark(stored, [T0], [], T0 + 5 * HOUR) == stored
    assert next_mark(stored, [], [], T0 + 5 * HOUR) == stored
