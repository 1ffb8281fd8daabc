"""AroFlo: the connector against the emulator over real HTTP, and the emulator's quirks."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
import requests
from source_contract import BILLABLE_STATUSES, MARK, FakeClock, JobSourceContract, SeedJob, SourceFactory

from jobsync.core.errors import StoppedError, UnreachableError
from jobsync.sandbox.aroflo import ArofloSandbox
from jobsync.sources.aroflo import ArofloSource, sign

MELBOURNE = ZoneInfo("Australia/Melbourne")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[ArofloSandbox]:
    with ArofloSandbox(clock=clock) as s:
        yield s


def make_source(sandbox: ArofloSandbox, clock: FakeClock, **kw: Any) -> ArofloSource:
    return ArofloSource(
        sandbox.url,
        sandbox.uencoded,
        sandbox.pencoded,
        sandbox.org_encoded,
        sandbox.secret_key,
        sleep=clock.sleep,
        clock=clock,
        **kw,
    )


def aroflo_time(when: datetime, tz: ZoneInfo = ZoneInfo("UTC")) -> str:
    return when.astimezone(tz).strftime("%Y/%m/%d %H:%M:%S")


def seed_into(sandbox: ArofloSandbox, jobs: Sequence[SeedJob]) -> None:
    """Contract jobs as AroFlo holds them: UTC `lastupdateddatetimeutc`, local `completeddatetime`, strings."""
    for job in jobs:
        if job.client_id not in sandbox.clients:
            sandbox.add_client(job.client_name, job.client_id, email=job.client_email or "")
        sandbox.add_task(
            job.client_id,
            status=job.status,
            taskid=job.id,
            jobnumber=job.number,
            lastupdateddatetimeutc=aroflo_time(job.changed_at),
            completeddatetime=aroflo_time(job.completed_at, MELBOURNE) if job.completed_at else "",
            requestdate=aroflo_time(job.changed_at)[:10],
        )
        for line in job.lines:
            if line.kind == "labour":
                sandbox.add_labour(job.id, line.description, line.quantity, line.unit_price)
            else:
                sandbox.add_material(job.id, line.description, line.quantity, line.unit_price)


class TestArofloContract(JobSourceContract):
    @pytest.fixture
    def source_factory(self, sandbox: ArofloSandbox, clock: FakeClock) -> SourceFactory:
        return self.emulator_factory(sandbox, seed_into, lambda s: make_source(s, clock, statuses=BILLABLE_STATUSES))


@pytest.fixture
def seeded(sandbox: ArofloSandbox) -> ArofloSandbox:
    return sandbox.load_seed()


def raw_get(sandbox: ArofloSandbox, query: str, *, secret: str | None = None, stamp: datetime | None = None) -> Any:
    """One hand-signed request, as the vendor's docs describe it."""
    authorization = f"uencoded={sandbox.uencoded}&pencoded={sandbox.pencoded}&orgEncoded={sandbox.org_encoded}"
    when = (stamp or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    digest = sign(secret or sandbox.secret_key, ["GET", "", "text/json", authorization, when, query])
    headers = {
        "Accept": "text/json",
        "Authorization": authorization,
        "afdatetimeutc": when,
        "Authentication": f"HMAC {digest}",
    }
    return requests.get(f"{sandbox.url}?{query}", headers=headers, timeout=5)


def q(*pairs: tuple[str, str]) -> str:
    return "&".join(f"{k}={quote(v, safe='')}" for k, v in pairs)


# -- connector behaviour -------------------------------------------------------------------------------


def test_demo_seed_gives_completed_unexported_tasks(seeded: ArofloSandbox, clock: FakeClock) -> None:
    jobs = {j.number: j for j in make_source(seeded, clock).changed_since(MARK)}
    assert sorted(jobs) == ["1036", "1037"]  # 1038 linkprocessed (exported already), 1039 in progress
    j = jobs["1036"]
    assert j.changed_at == datetime(2026, 3, 5, 5, 36, tzinfo=UTC)
    assert j.completed_at == datetime(2026, 3, 5, 15, 47, 5, tzinfo=MELBOURNE)
    assert j.purchase_order == "W0151304/3"
    assert [(ln.kind, ln.description, ln.quantity, ln.unit_price, ln.item_code) for ln in j.lines] == [
        ("labour", "Plumber - normal time", Decimal("1.5"), Decimal("110.00"), None),
        ("material", "PVC elbow 100mm", Decimal("2"), Decimal("14.5000"), "PVC-E100"),
        ("material", "Drain camera inspection", Decimal("1"), Decimal("120.00"), "CAM"),
    ]
    assert j.client is not None and (j.client.email, j.client.phone) == (
        "accounts@ringwoodbakery.example",
        "03 9870 1111",
    )
    assert j.client.address == "51 New Street, Ringwood, VIC, 3134, Australia"
    person = jobs["1037"].client
    assert person is not None and (person.name, person.email, person.phone) == ("Sam Nguyen", None, "0400 555 666")


def test_exported_tasks_can_be_included(seeded: ArofloSandbox, clock: FakeClock) -> None:
    source = make_source(seeded, clock, skip_exported=False)
    assert [j.number for j in source.get_jobs(["JSZaTy1RPFwiCg==", "JSZaTy1RPFwjCg=="])] == ["1038"]
    assert make_source(seeded, clock).get_jobs(["JSZaTy1RPFwiCg=="]) == []


def test_every_query_carries_an_explicit_where(seeded: ArofloSandbox, clock: FakeClock) -> None:
    make_source(seeded, clock).changed_since(datetime(2026, 3, 5, tzinfo=UTC))
    wheres = [[v for k, v in e["params"] if k == "where"] for e in seeded.request_log]
    assert wheres[0] == ["and|status|=|completed", "and|lastupdateddatetimeutc|>|2026-03-05 00:00:00"]
    assert all(wheres)


def test_calls_per_100_jobs_and_one_request_per_second(sandbox: ArofloSandbox, clock: FakeClock) -> None:
    for n in range(100):
        cid = sandbox.add_client(f"Client {n}", email=f"c{n}@example.com")
        tid = sandbox.add_task(cid, jobnumber=str(5000 + n), lastupdateddatetimeutc="2026/03/05 10:00:00")
        sandbox.add_labour(tid, "Labour", "1", "90.00")
        sandbox.add_material(tid, "Part", "2", "10.00")
    source = make_source(sandbox, clock)
    jobs = source.changed_since(MARK)
    assert len(jobs) == 100 and all(len(j.lines) == 2 and j.client and j.client.email for j in jobs)
    total = sum(source.calls.values())
    print(f"\nAroFlo calls per 100 jobs (distinct clients): {total}")
    assert total == 3, source.calls  # one task page (joins included) + clients in two IN-lists of 50
    assert all(e["status"] == 200 for e in sandbox.request_log)
    assert clock.slept and all(s <= 1 for s in clock.slept)  # paced at 1/s, never refused


def test_budget_stops_cleanly_before_the_daily_limit(seeded: ArofloSandbox, clock: FakeClock) -> None:
    seeded.used_today = seeded.daily_limit - 6  # other integrations spent most of today's calls
    source = make_source(seeded, clock)
    source.changed_since(MARK)  # tasks + clients: 2 calls, leaving 4 (under the retry headroom)
    with pytest.raises(StoppedError, match="budget"):
        source.changed_since(MARK)
    assert seeded.used_today == seeded.daily_limit - 4  # stopped without spending the rest
    assert all(e["aroflo_status"] == "0" for e in seeded.request_log)  # never met the limit


def test_own_budget_counts_this_runs_calls(seeded: ArofloSandbox, clock: FakeClock) -> None:
    source = make_source(seeded, clock, daily_budget=6)  # 2 calls leave 4: under the retry headroom
    source.changed_since(MARK)
    with pytest.raises(StoppedError):
        source.get_jobs(["JSZaTy1RPFwgCg=="])
    assert sum(source.calls.values()) == 2


def test_daily_limit_reached_elsewhere_stops(seeded: ArofloSandbox, clock: FakeClock) -> None:
    seeded.used_today = seeded.daily_limit
    with pytest.raises(StoppedError, match="daily API limit"):
        make_source(seeded, clock).changed_since(MARK)


def test_wrong_secret_raises_unreachable(seeded: ArofloSandbox, clock: FakeClock) -> None:
    source = ArofloSource(seeded.url, seeded.uencoded, seeded.pencoded, seeded.org_encoded, "wrong", sleep=clock.sleep)
    with pytest.raises(UnreachableError, match="AroFlo.*refused the credentials.*secret_key"):
        source.changed_since(MARK)


def test_a_skewed_clock_is_refused(seeded: ArofloSandbox, clock: FakeClock) -> None:
    late = make_source(seeded, clock, now=lambda: datetime.now(UTC) - timedelta(minutes=10))
    with pytest.raises(UnreachableError, match="clock"):
        late.changed_since(MARK)


# -- emulator quirks ------------------------------------------------------------------------------------


def test_emulator_rejects_wrong_or_stale_signatures(seeded: ArofloSandbox) -> None:
    query = q(("zone", "tasks"), ("where", "and|status|=|completed"))
    assert raw_get(seeded, query).json()["status"] == "0"
    wrong = raw_get(seeded, query, secret="not-the-secret")
    assert (wrong.status_code, wrong.json()["statusmessage"]) == (401, "Signature is not valid")
    stale = raw_get(seeded, query, stamp=datetime.now(UTC) - timedelta(minutes=6))
    assert (stale.status_code, stale.json()["statusmessage"]) == (401, "Payload has expired")
    tampered = raw_get(seeded, query)  # a signature for one query does not cover another
    headers = {k: v for k, v in tampered.request.headers.items()}
    other = requests.get(f"{seeded.url}?{q(('zone', 'tasks'), ('where', 'and|status|=|quote'))}", headers=headers)
    assert other.status_code == 401


def test_emulator_applies_a_silent_30_day_default_without_where(seeded: ArofloSandbox) -> None:
    seeded.now = lambda: datetime(2026, 4, 3, tzinfo=UTC)  # type: ignore[method-assign]
    stamp = seeded.now()
    everything = raw_get(seeded, q(("zone", "tasks")), stamp=stamp).json()["zoneresponse"]["tasks"]
    assert sorted(t["jobnumber"] for t in everything) == ["1039"]  # requested 4 March: the only one in 30 days
    explicit = raw_get(seeded, q(("zone", "tasks"), ("where", "and|status|=|completed")), stamp=stamp)
    assert len(explicit.json()["zoneresponse"]["tasks"]) == 3


def test_emulator_pages_at_most_500(sandbox: ArofloSandbox, clock: FakeClock) -> None:
    cid = sandbox.add_client("Big")
    for n in range(501):
        sandbox.add_task(cid, jobnumber=str(n), lastupdateddatetimeutc="2026/03/05 10:00:00")
    first = raw_get(sandbox, q(("zone", "tasks"), ("where", "and|status|=|completed"), ("pageSize", "1000")))
    body = first.json()["zoneresponse"]
    assert (body["currentpageresults"], body["maxpageresults"], body["pagenumber"]) == (500, 500, 1)
    assert "materials" not in body["tasks"][0]  # lines only through join=
    clock.now += 1
    jobs = make_source(sandbox, clock).changed_since(MARK)
    assert len(jobs) == 501
    pages = [dict(e["params"]).get("page") for e in sandbox.request_log if ("zone", "tasks") in e["params"]][1:]
    assert pages == ["1", "2"]


def test_emulator_daily_budget_and_rate(sandbox: ArofloSandbox, clock: FakeClock) -> None:
    sandbox.daily_limit = 4
    query = q(("zone", "clients"), ("where", "and|clientid|IN|x*y"))
    replies = [raw_get(sandbox, query) for _ in range(4)]
    assert [r.status_code for r in replies] == [200, 200, 200, 429]  # 3 per second
    assert replies[-1].json()["status"] == "6" and replies[-1].headers["Retry-After"] == "1"
    clock.now += 1
    assert raw_get(sandbox, query).headers["X-RateLimit-Daily-Remaining"] == "0"
    over = raw_get(sandbox, query)
    assert (over.status_code, over.json()["status"]) == (200, "7")
