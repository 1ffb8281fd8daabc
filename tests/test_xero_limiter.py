"""The client-side limiter against the sandbox with small limits, on one shared fake clock.

The sandbox's rate windows and the limiter read the same `FakeTime`, whose `sleep` moves time on,
so a minute of pacing takes no wall time and every wait is exact.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jobsync.app.wiring import build_gateway
from jobsync.cli.main import app
from jobsync.config.settings import load_settings
from jobsync.core.errors import ExitCode, StoppedError
from jobsync.sandbox.xero.limits import RateLimits
from jobsync.sandbox.xero.server import XeroSandbox
from jobsync.state.store import State
from jobsync.xero.client import XeroClient
from jobsync.xero.limiter import CallLimiter, Limits
from tests.crash_harness import NEW, Job, Workdir

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC).timestamp()


class FakeTime:
    def __init__(self) -> None:
        self.now = START
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now, UTC)


@pytest.fixture
def ft() -> FakeTime:
    return FakeTime()


def _sandbox(ft: FakeTime, **limits: float) -> XeroSandbox:
    return XeroSandbox(port=0, clock=ft.datetime, rate_limits=RateLimits(**limits))  # type: ignore[arg-type]


def _client(sb: XeroSandbox, ft: FakeTime, **limits: int | None) -> XeroClient:
    limiter = CallLimiter(Limits(**limits), clock=ft.time, sleep=ft.sleep)  # type: ignore[arg-type]
    return XeroClient(sb.api_url, sb.tenant_id, lambda: "sandbox", sleep=ft.sleep, limiter=limiter)


def _sent(client: XeroClient) -> int:
    return sum(client.calls.values())


def test_pacing_keeps_twelve_calls_under_five_a_minute_without_a_single_429(ft: FakeTime) -> None:
    with _sandbox(ft, minute=5, window_seconds=60) as sb:
        client = _client(sb, ft, per_minute=5)
        for _ in range(4):
            client.read_refs()  # Organisation, Accounts, TaxRates: 3 calls each
        assert _sent(client) == 12  # attempts: a 429 would have added a retry
        # Calls 1-5 at 0 s, 6-10 at 60 s, 11-12 at 120 s: exactly two windows waited.
        assert ft.now - START == pytest.approx(120.0)
        assert client.limiter.waited == pytest.approx(sum(ft.slept))


def test_without_pacing_a_sixth_call_in_a_minute_meets_a_429(ft: FakeTime) -> None:
    """The control for the test above: the sandbox really does refuse a sixth call in a minute."""
    with _sandbox(ft, minute=5, window_seconds=60) as sb:
        answers = []
        for _ in range(6):
            request = urllib.request.Request(
                sb.api_url + "/Organisation",
                headers={"Authorization": "Bearer sandbox", "Xero-Tenant-Id": sb.tenant_id},
            )
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    answers.append(response.status)
            except urllib.error.HTTPError as error:
                answers.append(error.code)
        assert answers == [200] * 5 + [429]


def test_minute_header_at_zero_waits_out_the_window_even_when_the_limiter_is_set_too_high(ft: FakeTime) -> None:
    # Another app is using this tenant's minute: Xero's header is the truth, not our own count.
    with _sandbox(ft, minute=3, window_seconds=60) as sb:
        client = _client(sb, ft, per_minute=60)
        client.read_refs()
        assert client.limits["x-minlimit-remaining"] == 0
        client.read_refs()
        assert _sent(client) == 6
        # Two calls spread a second apart (Xero has fewer left than we spent), then the rest of the window.
        assert ft.slept == [1.0, 1.0, 60.0, 1.0, 1.0]


def test_daily_budget_stops_before_the_call_that_would_pass_it(ft: FakeTime) -> None:
    with _sandbox(ft) as sb:
        client = _client(sb, ft, daily_budget=5)
        client.read_refs()
        with pytest.raises(StoppedError, match=r"xero.daily_call_budget 5") as stopped:
            client.read_refs()
        assert stopped.value.exit_code == ExitCode.STOPPED
        assert _sent(client) == 5  # the sixth call was never sent
        assert client.limiter.budget_left() == 0


def test_xero_day_header_at_zero_stops_the_run_instead_of_meeting_a_429(ft: FakeTime) -> None:
    with _sandbox(ft, day=4) as sb:
        client = _client(sb, ft)
        client.read_refs()
        with pytest.raises(StoppedError, match="X-DayLimit-Remaining 0"):
            client.read_refs()
        assert _sent(client) == 4


def test_the_day_count_is_kept_in_the_state_file_across_runs_and_resets_the_next_day(
    ft: FakeTime, tmp_path: Path
) -> None:
    with _sandbox(ft) as sb, State.open(tmp_path / "state.db") as state:
        first = _client(sb, ft, daily_budget=7)
        first.use_cache(state)
        first.read_refs()  # with a cache: Organisation, Accounts, TaxRates, TrackingCategories
        second = _client(sb, ft, daily_budget=7)
        second.use_cache(state)
        assert second.limiter.budget_left() == 3
        with pytest.raises(StoppedError):
            second.read_refs()
        assert _sent(first) + _sent(second) == 7
        ft.sleep(86400)
        third = _client(sb, ft, daily_budget=7)
        third.use_cache(state)
        assert third.limiter.budget_left() == 7
        third.read_refs()


def test_no_more_than_the_in_flight_limit_run_at_once() -> None:
    limiter = CallLimiter(Limits(concurrent=2))
    lock, running, peak = threading.Lock(), [0], [0]

    def call() -> None:
        with limiter.slot("GET /Invoices"):
            with lock:
                running[0] += 1
                peak[0] = max(peak[0], running[0])
            time.sleep(0.05)
            with lock:
                running[0] -= 1

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=5)
    assert peak[0] == 2 and limiter.used_today == 8


JOBS = tuple(Job(f"B{i}", f"30{i}", 3, NEW[0], (("labour", "Labour", "1", "100.00"),)) for i in range(3))


def _with_keys(work: Workdir, lines: str) -> None:
    config = work.path / "jobsync.yaml"
    config.write_text(config.read_text().replace("xero:\n", "xero:\n" + lines, 1))


def test_config_keys_reach_the_client(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sb:
        work = Workdir(tmp_path, sb)
        _with_keys(work, "  daily_call_budget: 1000\n  max_calls_per_minute: 30\n  max_retry_after_seconds: 15\n")
        gateway = build_gateway(load_settings(work.path / "jobsync.yaml"))
        assert gateway.limiter.limits == Limits(per_minute=30, concurrent=5, daily_budget=1000)
        assert gateway.policy.max_retry_after == 15


def test_a_run_over_budget_exits_5_creates_nothing_and_the_next_day_bills_each_job_once(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sb:
        work = Workdir(tmp_path, sb)
        work.write_jobs(JOBS)
        _with_keys(work, "  daily_call_budget: 4\n")
        stopped = CliRunner().invoke(app, ["run", "--config", str(work.path / "jobsync.yaml")])
        assert stopped.exit_code == ExitCode.STOPPED, stopped.output
        assert "daily_call_budget" in stopped.output and "Traceback" not in stopped.output
        assert sb.invoices() == [] and work.ledger() == []
        config = work.path / "jobsync.yaml"
        # The 4 calls already spent today are remembered in the state file and count against 40.
        config.write_text(config.read_text().replace("daily_call_budget: 4\n", "daily_call_budget: 40\n"))
        done = CliRunner().invoke(app, ["run", "--config", str(work.path / "jobsync.yaml")])
        assert done.exit_code == 0, done.output
        assert sorted(i["Reference"] for i in sb.invoices()) == ["300", "301", "302"]
        # The report keeps the headroom Xero's last answer showed: a day of 10,000,000 less the calls made.
        newest = max((work.path / "reports").glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
        report = json.loads(newest.read_text())
        calls = sum(report["api_calls"].values())
        left = report["extra"]["rate_limits"]["x-daylimit-remaining"]
        assert 10_000_000 - 4 - calls <= left < 10_000_000 - calls  # this run's calls and some of the first's
        markdown = max((work.path / "reports").glob("*.md"), key=lambda p: p.stat().st_mtime_ns).read_text()
        assert f"| calls left today | {left} |" in markdown
