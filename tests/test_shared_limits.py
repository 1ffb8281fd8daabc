"""Xero's limits shared through PostgreSQL: limiters that cannot see each other's calls (two workers,
each its own connection) keep one tenant's minute, its calls in flight, the app-wide minute and the
day's budget, and the sandbox, which counts as Xero does, refuses none of their calls."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests

from jobsync.app.shared_limits import PracticeLimits, SharedCallLimiter, ensure_tables, write_limits
from jobsync.core.errors import StoppedError
from jobsync.sandbox.xero.server import RateLimits, XeroSandbox
from jobsync.xero.limiter import Limits
from tests.postgres_server import fresh_database, restart

WINDOW = 1.0  # a scaled minute, so a test of many windows takes seconds


@pytest.fixture()
def database(postgres_server: str) -> Iterator[str]:
    import psycopg

    url = fresh_database(postgres_server)
    with psycopg.connect(url, autocommit=True) as conn:
        ensure_tables(conn)
        write_limits(conn, PracticeLimits(app_per_minute=10_000, minute_seconds=WINDOW))
    yield url


def app_limit(url: str, per_minute: int) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        write_limits(conn, PracticeLimits(app_per_minute=per_minute, minute_seconds=WINDOW))


def hammer(sb: XeroSandbox, limiter: SharedCallLimiter, tenant: str, calls: int, threads: int) -> list[int]:
    """`calls` GETs through the limiter from `threads` threads; the statuses the sandbox answered."""
    statuses: list[int] = []
    left = iter(range(calls))
    guard = threading.Lock()

    def worker() -> None:
        while True:
            with guard:
                if next(left, None) is None:
                    return
            with limiter.slot("GET Contacts"):
                answer = requests.get(
                    f"{sb.api_url}/Contacts",
                    headers={"Authorization": "Bearer sandbox", "xero-tenant-id": tenant, "Accept": "application/json"},
                    timeout=10,
                )
            limiter.observe(answer.headers)
            with guard:
                statuses.append(answer.status_code)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return statuses


def in_parallel(*work: object) -> list[list[int]]:
    results: list[list[int]] = [[] for _ in work]

    def run(i: int, job: object) -> None:
        results[i] = job()  # type: ignore[operator]

    pool = [threading.Thread(target=run, args=(i, job)) for i, job in enumerate(work)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return results


def test_two_workers_on_one_tenant_keep_its_minute_and_its_calls_in_flight(database: str) -> None:
    limits = RateLimits(minute=10, day=1000, concurrent=2, window_seconds=WINDOW)
    with XeroSandbox(rate_limits=limits) as sb:
        sb.latency = 0.05  # calls overlap, so the in-flight limit is tested
        first = SharedCallLimiter(database, sb.tenant_id, Limits(per_minute=10, concurrent=2))
        second = SharedCallLimiter(database, sb.tenant_id, Limits(per_minute=10, concurrent=2))
        a, b = in_parallel(
            lambda: hammer(sb, first, sb.tenant_id, 15, threads=3),
            lambda: hammer(sb, second, sb.tenant_id, 15, threads=3),
        )
        first.close(), second.close()
    assert len(a) + len(b) == 30
    assert set(a + b) == {200}, "a 429 from two limiters that should have seen each other"
    assert first.used_today + second.used_today >= 30


def test_the_configured_app_ceiling_holds_across_workers_and_tenants(database: str) -> None:
    app_limit(database, 8)
    with XeroSandbox(rate_limits=RateLimits(minute=100, concurrent=5, app_minute=8, window_seconds=WINDOW)) as sb:
        other = sb.add_org("Second Trades Pty Ltd")
        first = SharedCallLimiter(database, sb.tenant_id, Limits(per_minute=100))
        second = SharedCallLimiter(database, other, Limits(per_minute=100))
        a, b = in_parallel(
            lambda: hammer(sb, first, sb.tenant_id, 12, threads=2),
            lambda: hammer(sb, second, other, 12, threads=2),
        )
        first.close(), second.close()
    assert sorted(set(a + b)) == [200] and len(a + b) == 24


def test_the_day_budget_is_counted_across_workers(database: str) -> None:
    with XeroSandbox() as sb:
        first = SharedCallLimiter(database, sb.tenant_id, Limits(per_minute=100, daily_budget=5))
        second = SharedCallLimiter(database, sb.tenant_id, Limits(per_minute=100, daily_budget=5))
        assert hammer(sb, first, sb.tenant_id, 3, threads=1) == [200] * 3
        assert hammer(sb, second, sb.tenant_id, 2, threads=1) == [200] * 2
        with pytest.raises(StoppedError, match="5 of 5, counted across every worker"):
            with first.slot("PUT Invoices"):
                pass
        first.close(), second.close()


def test_an_unreachable_practice_database_stops_the_run_cleanly() -> None:
    with pytest.raises(StoppedError, match="did not answer before the run's first call.*Nothing is lost"):
        SharedCallLimiter("postgresql://nobody@127.0.0.1:9/none?connect_timeout=2", "t", Limits())


def test_a_database_restart_mid_run_costs_a_pause_not_the_run(database: str, postgres_server: str) -> None:
    with XeroSandbox() as sb:
        limiter = SharedCallLimiter(database, sb.tenant_id, Limits(per_minute=100))
        assert hammer(sb, limiter, sb.tenant_id, 2, threads=1) == [200, 200]
        restart(postgres_server)  # the limiter's connection is cut
        assert hammer(sb, limiter, sb.tenant_id, 2, threads=1) == [200, 200]
        assert limiter.used_today == 4  # the day's count survived in the database
        limiter.close()
