"""ServiceM8: the connector against the emulator over real HTTP, and the emulator's quirks."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from jsonschema import Draft202012Validator
from source_contract import BILLABLE_STATUSES, MARK, FakeClock, JobSourceContract, SeedJob, SourceFactory

from jobsync.core.errors import UnreachableError
from jobsync.sandbox.servicem8 import NO_DATE, ServiceM8Sandbox, parse_filter
from jobsync.sources.servicem8 import ServiceM8Source, encode_filter

FIELDS_SCHEMA = Path(__file__).resolve().parent / "specs" / "servicem8_fields.json"


def local(dt: datetime | None, tz: str = "Australia/Sydney") -> str:
    from zoneinfo import ZoneInfo

    return dt.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S") if dt else NO_DATE


def seed_into(sandbox: ServiceM8Sandbox, jobs: Sequence[SeedJob]) -> None:
    """Write contract seed jobs the way ServiceM8 holds them: local naive times, strings for numbers."""
    sandbox.set_vendor(name="Contract Electrical", timezone_name="Australia/Sydney")
    gst = sandbox.add_taxrate(name="GST", amount="10", is_default_tax_rate=1)
    for job in jobs:
        sandbox.add_company(uuid=job.client_id, name=job.client_name)
        if job.client_email:
            sandbox.add_contact(job.client_id, type="BILLING", email=job.client_email, first="Accounts")
        for i, line in enumerate(job.lines, 1):
            sandbox.add_material(
                job.id,
                name=line.description,
                quantity=line.quantity,
                price=line.unit_price,
                displayed_amount=line.unit_price,
                sort_order=str(i),
                tax_rate_uuid=gst,
            )
        sandbox.add_job(
            uuid=job.id,
            generated_job_id=job.number,
            status=job.status,
            company_uuid=job.client_id,
            edit_date=local(job.changed_at),
            completion_date=local(job.completed_at),
        )


@pytest.fixture
def sandbox() -> Iterator[ServiceM8Sandbox]:
    with ServiceM8Sandbox() as s:
        yield s


def make_source(sandbox: ServiceM8Sandbox, clock: FakeClock | None = None, **kw: Any) -> ServiceM8Source:
    clock = clock or FakeClock()
    return ServiceM8Source(
        sandbox.url, sandbox.api_key, statuses=BILLABLE_STATUSES, sleep=clock.sleep, clock=clock, **kw
    )


class TestServiceM8Contract(JobSourceContract):
    @pytest.fixture
    def source_factory(self, sandbox: ServiceM8Sandbox) -> SourceFactory:
        return self.emulator_factory(sandbox, seed_into, make_source)


@pytest.fixture
def seeded(sandbox: ServiceM8Sandbox) -> ServiceM8Sandbox:
    return sandbox.load_seed()


def numbers(jobs: list[Any]) -> list[str]:
    return sorted(j.number for j in jobs)


# -- connector behaviour -------------------------------------------------------------------------------


def test_demo_seed_gives_the_billable_jobs_with_clients_and_tax(seeded: ServiceM8Sandbox) -> None:
    jobs = {j.number: j for j in make_source(seeded).changed_since(MARK)}
    # 1003 work order, 1004 quote, 1005 inactive, 1006 already exported: left out
    assert sorted(jobs) == ["1001", "1002", "1007", "1008"]
    j1001 = jobs["1001"]
    assert j1001.purchase_order == "PO-7781"
    assert j1001.client is not None and j1001.client.email == "accounts@bondicafe.example"
    assert j1001.client.phone == "02 9130 0000"
    assert j1001.url and j1001.id in j1001.url
    labour = j1001.lines[0]
    assert (labour.kind, labour.hours, labour.rate, labour.tax_code) == (
        "labour",
        Decimal("2.5"),
        Decimal("95.00"),
        "GST",
    )
    # tax-inclusive lines carry the displayed (inc-GST) price, flagged
    hws = jobs["1002"].lines[0]
    assert (hws.unit_price, hws.tax_inclusive) == (Decimal("1450.00"), True)
    assert jobs["1002"].lines[2].tax_code == "GST Free"
    assert jobs["1002"].client is not None and jobs["1002"].client.phone == "0411 222 333"  # mobile fallback
    assert jobs["1007"].client is not None and jobs["1007"].client.email is None  # no BILLING contact


def test_a_few_calls_regardless_of_job_count(seeded: ServiceM8Sandbox) -> None:
    source = make_source(seeded, bulk_threshold=3)
    source.changed_since(MARK)
    # vendor, job, then one bulk read each of jobmaterial, company, companycontact, and taxrate
    assert sum(source.calls.values()) == 6, source.calls
    source.get_jobs([j for j in seeded.records["job"] if seeded.records["job"][j]["generated_job_id"] == "1001"])
    assert sum(source.calls.values()) == 7  # one job read; materials and client come from the run cache


def test_calls_per_100_jobs_stay_constant(sandbox: ServiceM8Sandbox) -> None:
    sandbox.set_vendor(timezone_name="Australia/Sydney")
    gst = sandbox.add_taxrate(name="GST", amount="10")
    for n in range(100):
        company = sandbox.add_company(name=f"Client {n}")
        sandbox.add_contact(company, type="BILLING", email=f"c{n}@example.com")
        job = sandbox.add_job(
            status="Completed", generated_job_id=str(9000 + n), company_uuid=company, edit_date="2026-03-05 10:00:00"
        )
        for i in range(2):
            sandbox.add_material(job, name=f"Item {i}", quantity="1", price="10.00", tax_rate_uuid=gst)
    source = make_source(sandbox)
    jobs = source.changed_since(MARK)
    assert len(jobs) == 100 and all(len(j.lines) == 2 and j.client and j.client.email for j in jobs)
    assert sum(source.calls.values()) == 6, source.calls  # vendor, job, jobmaterial, company, contacts, taxrate


def test_filter_ignored_by_the_server_is_applied_client_side(sandbox: ServiceM8Sandbox) -> None:
    sandbox.load_seed()
    sandbox.honour_filters = False
    source = make_source(sandbox)
    assert numbers(source.changed_since(MARK)) == ["1001", "1002", "1007", "1008"]
    assert len(sandbox.ignored_filters) >= 2  # the job list and the related reads were all unfiltered
    job = next(j for j in source.changed_since(MARK) if j.number == "1001")
    assert len(job.lines) == 3  # materials of other jobs were not attached


def test_paging_across_three_pages_with_a_429_and_a_500_mid_listing() -> None:
    clock = FakeClock()
    with ServiceM8Sandbox(page_size=2, clock=clock) as sandbox:
        sandbox.set_vendor(timezone_name="Australia/Sydney")
        for n in range(7):
            sandbox.add_job(
                status="Completed", generated_job_id=str(500 + n), edit_date="2026-03-05 10:00:00", company_uuid=""
            )
        source = make_source(sandbox, clock)
        source.changed_since(MARK)  # warm the vendor cache so the failures hit job pages
        sandbox.request_log.clear()
        original = sandbox.handle

        def flaky(path: str, headers: dict[str, str]) -> Any:
            # inject the failures after the first page has been served
            if len([e for e in sandbox.request_log if e["path"].endswith("job.json")]) == 1:
                sandbox.fail_next(429, 500)
            return original(path, headers)

        sandbox.handle = flaky  # type: ignore[method-assign]
        jobs = source.changed_since(MARK)
    assert numbers(jobs) == [str(500 + n) for n in range(7)]
    assert all("job has no client (company_uuid is empty)" in j.problems for j in jobs)
    job_pages = [e for e in sandbox.request_log if e["path"].endswith("job.json")]
    assert [e["status"] for e in job_pages] == [200, 429, 500, 200, 200, 200]
    assert sum("cursor=-1" in e["raw_query"] for e in job_pages) == 1
    assert clock.slept == [5.0, 2.0]  # 429 without Retry-After waits longer than a 5xx


def test_rate_limit_is_respected_without_meeting_a_429() -> None:
    clock = FakeClock()
    with ServiceM8Sandbox(rate_per_minute=3, clock=clock).load_seed() as sandbox:
        source = make_source(sandbox, clock, rate_per_minute=3)
        assert numbers(source.changed_since(MARK)) == ["1001", "1002", "1007", "1008"]
    assert all(e["status"] == 200 for e in sandbox.request_log)
    assert clock.slept and max(clock.slept) <= 60


def test_429_past_the_rate_is_survived_by_waiting(seeded: ServiceM8Sandbox) -> None:
    clock = FakeClock()
    seeded.clock = clock
    seeded.rate_per_minute = 2
    source = make_source(seeded, clock, rate_per_minute=1000)  # a client that does not throttle itself
    assert numbers(source.changed_since(MARK)) == ["1001", "1002", "1007", "1008"]
    refused = [e for e in seeded.request_log if e["status"] == 429]
    assert refused and clock.slept


def test_401_raises_unreachable_naming_the_setting(seeded: ServiceM8Sandbox) -> None:
    source = ServiceM8Source(seeded.url, "wrong-key", sleep=lambda s: None)
    with pytest.raises(UnreachableError, match="ServiceM8.*refused the credentials.*source.api_key"):
        source.changed_since(MARK)


def test_timezone_comes_from_the_vendor_record(sandbox: ServiceM8Sandbox) -> None:
    sandbox.set_vendor(timezone_name="America/New_York")
    sandbox.add_job(
        status="Completed",
        generated_job_id="77",
        edit_date="2026-03-05 23:30:00",
        completion_date="2026-03-05 23:15:00",
    )
    (job,) = make_source(sandbox).changed_since(MARK)
    assert job.changed_at == datetime(2026, 3, 6, 4, 30, tzinfo=UTC)  # EST is UTC-5
    assert job.completed_at == datetime(2026, 3, 6, 4, 15, tzinfo=UTC)
    query = next(e["params"]["$filter"] for e in sandbox.request_log if e["path"].endswith("job.json"))
    assert "edit_date gt '2026-03-01 19:00:00'" in query  # the mark, in the account's zone


def test_zero_dates_are_none_and_exported_jobs_can_be_included(seeded: ServiceM8Sandbox) -> None:
    exported = next(u for u, j in seeded.records["job"].items() if j["generated_job_id"] == "1006")
    seeded.put("job", uuid=exported, completion_date=NO_DATE)
    (job,) = make_source(seeded, skip_exported=False).get_jobs([exported])
    assert job.completed_at is None and job.problems == ()
    assert make_source(seeded).get_jobs([exported]) == []  # skipped by default: already billed natively


def test_inactive_materials_are_left_out(seeded: ServiceM8Sandbox) -> None:
    j1001 = next(u for u, j in seeded.records["job"].items() if j["generated_job_id"] == "1001")
    first = next(u for u, m in seeded.records["jobmaterial"].items() if m["job_uuid"] == j1001)
    seeded.put("jobmaterial", uuid=first, active=0)
    (job,) = make_source(seeded).get_jobs([j1001])
    assert [line.description for line in job.lines] == ["Copper pipe 15mm (per m)", "Call-out fee"]


def test_filter_is_percent_encoded_with_quotes_kept() -> None:
    assert encode_filter([("status", "eq", "Work Order"), ("active", "eq", 1)]) == (
        "%24filter=status%20eq%20'Work%20Order'%20and%20active%20eq%201"
    )
    assert parse_filter("name eq 'O''Brien'") == [("name", "eq", "O'Brien")]


# -- emulator quirks ------------------------------------------------------------------------------------


def get(sandbox: ServiceM8Sandbox, query: str, resource: str = "job") -> requests.Response:
    return requests.get(f"{sandbox.url}/{resource}.json?{query}", headers={"X-API-Key": sandbox.api_key}, timeout=5)


def test_emulator_ignores_an_unreadable_filter_and_returns_everything(seeded: ServiceM8Sandbox) -> None:
    everything = len(seeded.records["job"])
    good = get(seeded, "%24filter=status%20eq%20'Quote'")
    assert [j["generated_job_id"] for j in good.json()] == ["1004"]
    for bad in (
        "%24filter=status+eq+'Quote'",  # form-encoded spaces
        "%24filter=status%20ge%20'Quote'",  # no ge operator
        "%24filter=status%20eq%20'Quote'%20or%20active%20eq%201",  # no or
        "%24filter=" + "%20and%20".join(["active%20eq%201"] * 11),
    ):  # more than 10 conditions
        assert len(get(seeded, bad).json()) == everything, bad


def test_emulator_numbers_are_strings_and_flags_integers(seeded: ServiceM8Sandbox) -> None:
    material = get(seeded, "cursor=-1", "jobmaterial").json()[0]
    assert isinstance(material["quantity"], str) and isinstance(material["price"], str)
    job = get(seeded, "%24filter=generated_job_id%20eq%20'1003'").json()[0]
    assert job["active"] == 1 and job["completion_date"] == NO_DATE
    inactive = get(seeded, "%24filter=active%20eq%200").json()
    assert [j["generated_job_id"] for j in inactive] == ["1005"]


def test_emulator_needs_the_api_key_and_limits_the_rate() -> None:
    clock = FakeClock()
    with ServiceM8Sandbox(rate_per_minute=2, clock=clock).load_seed() as sandbox:
        assert requests.get(sandbox.url + "/job.json", timeout=5).status_code == 401
        assert [get(sandbox, "").status_code for _ in range(3)] == [200, 200, 429]
        refused = get(sandbox, "")
        assert refused.text == "Number of allowed API requests per minute exceeded"
        clock.now += 61
        assert get(sandbox, "").status_code == 200


def test_emulator_responses_validate_against_the_documented_fields(seeded: ServiceM8Sandbox) -> None:
    spec = json.loads(FIELDS_SCHEMA.read_text(encoding="utf-8"))
    names = {
        "job": "Job",
        "jobmaterial": "JobMaterial",
        "company": "Company",
        "companycontact": "CompanyContact",
        "taxrate": "TaxRate",
        "vendor": "Vendor",
    }
    for resource, schema in names.items():
        body = get(seeded, "cursor=-1", resource).json()
        assert body, resource
        validator = Draft202012Validator(
            {"$defs": spec["$defs"], "type": "array", "items": {"$ref": f"#/$defs/{schema}"}}
        )
        errors = [e.message for e in validator.iter_errors(body)]
        assert errors == [], (resource, errors[:3])


def test_source_timezone_is_the_fallback_when_the_account_states_no_zone() -> None:
    with ServiceM8Sandbox(port=0) as sm8:
        sm8.set_vendor(name="No Zone Plumbing", timezone_name="")
        company = sm8.add_company(name="Perth Client", is_individual=0)
        job = sm8.add_job(
            status="Completed",
            company_uuid=company,
            generated_job_id="9101",
            completion_date="2026-11-20 23:30:00",
            edit_date="2026-11-20 23:30:00",
        )
        sm8.add_material(job, name="Labour", quantity="1", price="10.00")
        source = ServiceM8Source(sm8.url, sm8.api_key, timezone="Australia/Perth")
        [found] = source.changed_since(datetime(2026, 11, 1, tzinfo=UTC))
    assert found.completed_at == datetime(2026, 11, 20, 15, 30, tzinfo=UTC)  # 23:30 in Perth (UTC+8)


def test_a_4xx_from_servicem8_shows_the_status_and_the_platforms_words() -> None:
    with ServiceM8Sandbox(port=0) as sm8:
        source = ServiceM8Source(sm8.url + "/wrong", sm8.api_key)
        with pytest.raises(UnreachableError) as refused:
            source.changed_since(datetime(2026, 11, 1, tzinfo=UTC))
    assert "HTTP 404" in refused.value.message and "check source.base_url" in refused.value.message
