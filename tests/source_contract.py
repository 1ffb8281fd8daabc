"""The contract every JobSource passes, as a pytest class to subclass.

A subclass provides a fixture `source_factory`: a callable that takes a sequence of `SeedJob`
(the platform-neutral description of the data below), stores them the way its platform does
(an emulator's records, a CSV file...) and returns a fresh source reading them, configured with
`BILLABLE_STATUSES`. Times in a `SeedJob` are aware UTC; the subclass writes them in the
platform's own zone and format, so a timezone slip shows up as a wrong `changed_at`.

Override `source_id` when the platform's job id is not `SeedJob.id` (e.g. a CSV keyed by number),
and set `counts_calls = False` for a source that has no remote calls to count. A source checked against
a loopback emulator builds its `source_factory` with `emulator_factory`, and drives the
emulator's rate window and its own sleeps with one `FakeClock`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pytest

from jobsync.core.models import Job

MARK = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
BILLABLE_STATUSES = ("Completed",)
SYDNEY = ZoneInfo("Australia/Sydney")


@dataclass(frozen=True)
class SeedLine:
    description: str
    quantity: str  # text, so a malformed value can be seeded
    unit_price: str
    kind: str = "material"  # labour lines are named "Labour …" so name-based classifiers agree


@dataclass(frozen=True)
class SeedJob:
    id: str
    number: str
    status: str
    changed_at: datetime  # aware UTC, whole seconds
    client_id: str
    client_name: str
    lines: tuple[SeedLine, ...] = ()
    completed_at: datetime | None = None
    client_email: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # platform-specific hints, free to ignore


def _at(hours: float) -> datetime:
    return MARK + timedelta(hours=hours)


# 23:30 on 3 March in Sydney (AEDT, UTC+11) is 12:30 UTC the same day.
LATE_SYDNEY = datetime(2026, 3, 3, 23, 30, tzinfo=SYDNEY).astimezone(UTC)

CONTRACT_JOBS: tuple[SeedJob, ...] = (
    SeedJob(
        "5f0c0001-0000-4000-8000-000000000001",
        "3001",
        "Completed",
        _at(1),
        "c-bondi",
        "Bondi Cafe",
        (SeedLine("Labour - electrician", "2.5", "95.00", "labour"), SeedLine("Cable 2.5mm (m)", "12", "3.40")),
        completed_at=_at(0.5),
        client_email="accounts@bondi.example",
    ),
    SeedJob(
        "5f0c0001-0000-4000-8000-000000000002",
        "3002",
        "Completed",
        LATE_SYDNEY + timedelta(minutes=5),
        "c-smith",
        "Jordan Smith",
        (SeedLine("Switchboard upgrade", "1", "1200.00"),),
        completed_at=LATE_SYDNEY,
    ),
    SeedJob(  # changed before the mark: not returned by changed_since, still by get_jobs
        "5f0c0001-0000-4000-8000-000000000003",
        "3003",
        "Completed",
        _at(-1),
        "c-bondi",
        "Bondi Cafe",
        (SeedLine("Call-out fee", "1", "80.00"),),
        completed_at=_at(-2),
    ),
    SeedJob(  # changed exactly at the mark: "strictly after" leaves it out
        "5f0c0001-0000-4000-8000-000000000004",
        "3004",
        "Completed",
        MARK,
        "c-bondi",
        "Bondi Cafe",
        (SeedLine("Call-out fee", "1", "80.00"),),
        completed_at=MARK,
    ),
    SeedJob(  # not in a billable status
        "5f0c0001-0000-4000-8000-000000000005",
        "3005",
        "Quote",
        _at(3),
        "c-smith",
        "Jordan Smith",
        (SeedLine("Hot water system", "1", "1450.00"),),
    ),
    SeedJob(  # malformed: a quantity that is not a number
        "5f0c0001-0000-4000-8000-000000000006",
        "3006",
        "Completed",
        _at(4),
        "c-surf",
        "Manly Surf Club",
        (SeedLine("Labour - plumber", "two", "95.00", "labour"), SeedLine("Call-out fee", "1", "80.00")),
        completed_at=_at(3.5),
    ),
)
EXPECTED_AFTER_MARK = {"3001", "3002", "3006"}


def seed(number: str) -> SeedJob:
    return next(j for j in CONTRACT_JOBS if j.number == number)


SourceFactory = Callable[[Sequence[SeedJob]], Any]
Emulator = TypeVar("Emulator")


class FakeClock:
    """Shared by the emulator's rate window and the connector's sleeps: waiting moves time."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class JobSourceContract:
    """Subclass with a `source_factory` fixture; every test here then runs against that source."""

    counts_calls = True

    def source_id(self, job: SeedJob) -> str:
        return job.id

    @pytest.fixture
    def source(self, source_factory: SourceFactory) -> Any:
        return source_factory(CONTRACT_JOBS)

    @staticmethod
    def emulator_factory(
        emulator: Emulator,
        seed_into: Callable[[Emulator, Sequence[SeedJob]], None],
        open_source: Callable[[Emulator], Any],
    ) -> SourceFactory:
        """A `source_factory` for a source read from a running emulator: seed the jobs into it, open a source."""

        def factory(jobs: Sequence[SeedJob]) -> Any:
            seed_into(emulator, jobs)
            return open_source(emulator)

        return factory

    @staticmethod
    def by_number(jobs: list[Job]) -> dict[str, Job]:
        return {j.number: j for j in jobs}

    def test_changed_since_returns_only_billable_jobs_strictly_after_the_mark(self, source: Any) -> None:
        jobs = source.changed_since(MARK)
        assert {j.number for j in jobs} == EXPECTED_AFTER_MARK
        assert all(j.status in BILLABLE_STATUSES for j in jobs)
        assert all(j.source == source.name for j in jobs)

    def test_changed_at_is_aware_utc_and_exactly_the_platform_time(self, source: Any) -> None:
        for job in source.changed_since(MARK):
            assert job.changed_at.utcoffset() == timedelta(0), job.number
            assert job.changed_at > MARK
            assert job.changed_at == seed(job.number).changed_at, job.number

    def test_completed_late_evening_keeps_its_local_date(self, source: Any) -> None:
        job = self.by_number(source.changed_since(MARK))["3002"]
        assert job.completed_at is not None and job.completed_at.tzinfo is not None
        assert job.completed_at == LATE_SYDNEY
        assert job.completed_at.astimezone(SYDNEY).date().isoformat() == "2026-03-03"

    def test_no_duplicate_ids_even_with_an_overlap(self, source: Any) -> None:
        jobs = source.changed_since(MARK - timedelta(days=2))  # the runner's overlap re-read
        ids = [j.id for j in jobs]
        assert len(ids) == len(set(ids))
        assert {j.number for j in jobs} == EXPECTED_AFTER_MARK | {"3003", "3004"}

    def test_ids_are_the_platform_ids(self, source: Any) -> None:
        for job in source.changed_since(MARK):
            assert job.id == self.source_id(seed(job.number))

    def test_lines_carry_decimal_amounts(self, source: Any) -> None:
        jobs = self.by_number(source.changed_since(MARK))
        lines = jobs["3001"].lines
        assert len(lines) == 2
        for line in lines:
            assert isinstance(line.quantity, Decimal) and isinstance(line.unit_price, Decimal)
        got = [(line.description, line.quantity, line.unit_price, line.kind) for line in lines]
        assert got == [
            ("Labour - electrician", Decimal("2.5"), Decimal("95.00"), "labour"),
            ("Cable 2.5mm (m)", Decimal("12"), Decimal("3.40"), "material"),
        ]
        assert jobs["3001"].problems == ()

    def test_client_is_carried(self, source: Any) -> None:
        job = self.by_number(source.changed_since(MARK))["3001"]
        assert job.client is not None
        assert job.client.name == "Bondi Cafe"
        assert job.client.email == "accounts@bondi.example"

    def test_malformed_job_comes_back_with_problems(self, source: Any) -> None:
        jobs = self.by_number(source.changed_since(MARK))
        bad = jobs["3006"]
        assert bad.problems, "a bad quantity must be reported on the job"
        assert any("two" in p for p in bad.problems)
        assert jobs["3001"].problems == () and jobs["3002"].problems == ()

    def test_get_jobs_returns_requested_billable_ids_only(self, source: Any) -> None:
        wanted = [self.source_id(seed("3003")), self.source_id(seed("3005")), "no-such-job"]
        jobs = source.get_jobs(wanted)
        assert [j.number for j in jobs] == ["3003"]  # old but billable: yes; quote and unknown: no
        assert jobs[0].id == self.source_id(seed("3003"))
        assert source.get_jobs([]) == []

    def test_calls_are_counted(self, source: Any) -> None:
        before = sum(source.calls.values())
        source.changed_since(MARK)
        calls = source.calls
        assert all(isinstance(k, str) and isinstance(v, int) and v >= 0 for k, v in calls.items())
        if self.counts_calls:
            assert sum(calls.values()) > before

    def test_empty_source_returns_nothing(self, source_factory: SourceFactory) -> None:
        assert source_factory([]).changed_since(MARK) == []
