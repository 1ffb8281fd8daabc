"""simPRO: the connector against the emulator over real HTTP, and the emulator's quirks."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import requests
from source_contract import BILLABLE_STATUSES, MARK, FakeClock, JobSourceContract, SeedJob, SourceFactory

from benchmarks.simpro_calls import seed
from jobsync.core.errors import UnreachableError
from jobsync.sandbox.simpro import SimproSandbox
from jobsync.sources.simpro import SimproSource


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sandbox(clock: FakeClock) -> Iterator[SimproSandbox]:
    with SimproSandbox(clock=clock) as s:
        yield s


def make_source(sandbox: SimproSandbox, clock: FakeClock, **kw: Any) -> SimproSource:
    return SimproSource(sandbox.url, sandbox.token, sleep=clock.sleep, clock=clock, **kw)


def seed_into(sandbox: SimproSandbox, jobs: Sequence[SeedJob]) -> None:
    """Contract jobs as simPRO holds them: integer ids, build-local RFC 3339 times, nested items.

    The contract's neutral status name is stored as the Stage verbatim. Its completion instants are
    written as full timestamps, which the connector takes as they come (a bare date is tested below).
    """
    customers: dict[str, int] = {}
    for job in jobs:
        if job.client_id not in customers:
            first, _, last = job.client_name.partition(" ")
            if job.client_id == "c-smith":  # a person: simPRO's individuals endpoint
                cid = sandbox.add_individual(first, last, Email=job.client_email or "")
            else:
                cid = sandbox.add_company(job.client_name, Email=job.client_email or "")
            customers[job.client_id] = cid
        jid = sandbox.add_job(
            customers[job.client_id],
            stage=job.status,
            id=int(job.number),
            DateModified=sandbox.stamp(job.changed_at),
            CompletedDate=sandbox.stamp(job.completed_at) if job.completed_at else None,
        )
        sid = sandbox.add_section(jid)
        cc = sandbox.add_cost_center(jid, sid)
        for line in job.lines:
            if line.kind == "labour":
                sandbox.add_item(
                    jid,
                    sid,
                    cc,
                    "labor",
                    LaborType={"ID": 1, "Name": line.description},
                    qty=line.quantity,
                    price=line.unit_price,
                )
            else:
                sandbox.add_item(
                    jid,
                    sid,
                    cc,
                    "catalogs",
                    Catalog={"ID": 1, "PartNo": "", "Name": line.description},
                    qty=line.quantity,
                    price=line.unit_price,
                )


class TestSimproContract(JobSourceContract):
    def source_id(self, job: SeedJob) -> str:
        return job.number  # simPRO's job id is its job number

    @pytest.fixture
    def source_factory(self, sandbox: SimproSandbox, clock: FakeClock) -> SourceFactory:
        return self.emulator_factory(sandbox, seed_into, lambda s: make_source(s, clock, statuses=BILLABLE_STATUSES))


@pytest.fixture
def seeded(sandbox: SimproSandbox) -> SimproSandbox:
    return sandbox.load_seed()


def get(sandbox: SimproSandbox, path: str, **params: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {sandbox.token}"}
    return requests.get(f"{sandbox.url}/{path}", params=params, headers=headers, timeout=5)


# -- connector behaviour -------------------------------------------------------------------------------


def test_demo_seed_gives_complete_jobs_with_nested_items(seeded: SimproSandbox, clock: FakeClock) -> None:
    jobs = {j.number: j for j in make_source(seeded, clock).changed_since(MARK)}
    assert sorted(jobs) == ["2001", "2002", "2005"]  # 2003 Invoiced (billed in simPRO), 2004 in progress
    j1 = jobs["2001"]
    assert j1.status == "Complete" and j1.purchase_order == "PO-7781"
    assert j1.changed_at == datetime(2026, 3, 4, 23, 15, tzinfo=UTC)  # 10:15 +11:00
    assert j1.completed_at is not None and j1.completed_at.astimezone(seeded.tz).date().isoformat() == "2026-03-05"
    got = [(ln.kind, ln.description, ln.quantity, ln.unit_price, ln.discount_rate, ln.item_code) for ln in j1.lines]
    assert got == [  # labour first, then catalogue items; the NonBillable one-off is left out
        ("labour", "Electrician - normal time", Decimal("2.5"), Decimal("95"), None, None),
        ("material", "Cable 2.5mm TPS (m)", Decimal("12"), Decimal("3.4"), None, "CAB-25"),
        ("material", "Double GPO", Decimal("4"), Decimal("18.5"), Decimal("10"), "GPO-2"),
        ("fee", "Call-out fee", Decimal("1"), Decimal("80"), None, None),
    ]
    assert all(ln.tax_code == "GST" for ln in j1.lines)
    assert j1.lines[0].hours == Decimal("2.5") and j1.lines[0].rate == Decimal("95")
    assert j1.client is not None
    assert (j1.client.id, j1.client.name, j1.client.email, j1.client.phone) == (
        "501",
        "Bondi Cafe Pty Ltd",
        "accounts@bondicafe.example",
        "02 9130 0000",
    )
    assert j1.client.address == "1 Campbell Pde, Bondi Beach, NSW, 2026, AUS"


def test_contractor_prebuild_individual_and_one_off_labour(seeded: SimproSandbox, clock: FakeClock) -> None:
    jobs = {j.number: j for j in make_source(seeded, clock).changed_since(MARK)}
    j2 = jobs["2002"]
    assert [(ln.kind, ln.description, ln.unit_price) for ln in j2.lines] == [
        ("labour", "Electrician - normal time", Decimal("95")),
        ("material", "12-pole switchboard kit", Decimal("640")),
        ("subcontractor", "Data cabling (subcontract)", Decimal("350")),
    ]
    assert j2.client is not None and (j2.client.name, j2.client.phone) == ("Jordan Smith", "0411 222 333")
    j5 = jobs["2005"]
    assert [(ln.kind, ln.tax_code) for ln in j5.lines] == [("labour", "GST"), ("material", "FRE")]
    assert j5.client is not None and j5.client.email is None and j5.client.phone == "02 9555 1212"  # AltPhone


def test_watermark_filter_is_sent_build_local_with_offset(seeded: SimproSandbox, clock: FakeClock) -> None:
    make_source(seeded, clock).changed_since(datetime(2026, 3, 5, 0, 0, tzinfo=UTC))
    listing = next(e for e in seeded.request_log if e["path"].endswith("/jobs/"))
    assert listing["params"]["DateModified"] == "gt(2026-03-05T11:00:00+11:00)"
    assert listing["params"]["Stage"] == "Complete"


def test_get_jobs_rereads_by_id_and_drops_non_billable(seeded: SimproSandbox, clock: FakeClock) -> None:
    source = make_source(seeded, clock)
    assert [j.number for j in source.get_jobs(["2005", "2003", "9999", "abc"])] == ["2005"]


def test_calls_per_100_jobs(sandbox: SimproSandbox, clock: FakeClock) -> None:
    seed(sandbox, 100)
    source = make_source(sandbox, clock)
    jobs = source.changed_since(MARK)
    assert len(jobs) == 100 and all(len(j.lines) == 2 and j.client and j.client.email for j in jobs)
    assert [ln.description for ln in jobs[0].lines] == ["Labour", "Part"]  # labour first, as before
    calls = source.calls
    # 1 job page; cost centres and customers 50 jobs a call (2 + 2); then the six item lists a job
    assert sum(calls.values()) == 1 + 2 + 2 + 100 * 6, calls
    assert calls["GET /api/v1.0/companies/0/jobCostCenters/"] == 2
    assert all(e["status"] == 200 for e in sandbox.request_log)  # 10/s kept without meeting a 429
    assert sum(clock.slept) >= sum(calls.values()) / 10 - 1  # the pace the build allows


def test_paging_follows_result_pages(sandbox: SimproSandbox, clock: FakeClock) -> None:
    cid = sandbox.add_company("Pager")
    for _ in range(7):
        sandbox.add_job(cid, DateModified="2026-03-05T10:00:00+11:00")
    jobs = make_source(sandbox, clock, page_size=3).changed_since(MARK)
    assert len(jobs) == 7
    pages = [e["params"]["page"] for e in sandbox.request_log if e["path"].endswith("/jobs/")]
    assert pages == ["1", "2", "3"]


def test_a_429_is_waited_out(seeded: SimproSandbox, clock: FakeClock) -> None:
    seeded.rate_per_second = 2
    source = make_source(seeded, clock, rate_per_second=100)  # a client that does not pace itself
    assert sorted(j.number for j in source.changed_since(MARK)) == ["2001", "2002", "2005"]
    assert any(e["status"] == 429 for e in seeded.request_log)


def test_wrong_token_raises_unreachable_naming_the_setting(seeded: SimproSandbox, clock: FakeClock) -> None:
    source = SimproSource(seeded.url, "wrong", sleep=clock.sleep, clock=clock)
    with pytest.raises(UnreachableError, match="simPRO.*refused the credentials.*source.api_key"):
        source.changed_since(MARK)


def test_bare_completed_date_keeps_its_local_date(sandbox: SimproSandbox, clock: FakeClock) -> None:
    cid = sandbox.add_company("Dates")
    sandbox.add_job(cid, id=77, DateModified="2026-03-05 09:12:44+10", CompletedDate="2026-03-04")
    (job,) = make_source(sandbox, clock).changed_since(MARK)
    assert job.changed_at == datetime(2026, 3, 4, 23, 12, 44, tzinfo=UTC)  # the short offset form
    assert job.completed_at is not None and job.completed_at.astimezone(sandbox.tz).date().isoformat() == "2026-03-04"


# -- emulator quirks ------------------------------------------------------------------------------------


def test_emulator_refuses_an_unknown_column_with_422(seeded: SimproSandbox) -> None:
    bad = get(seeded, "jobs/", columns="ID,Stage,Job")
    assert bad.status_code == 422
    assert bad.json() == {"errors": [{"message": "Invalid columns found.", "value": "Job"}]}
    good = get(seeded, "jobs/", columns="ID,Stage")
    assert good.status_code == 200 and set(good.json()[0]) == {"ID", "Stage"}
    assert set(get(seeded, "jobs/").json()[0]) == {"ID", "Description", "Total"}  # thin without columns


def test_emulator_nests_items_with_contractor_and_non_billable(seeded: SimproSandbox) -> None:
    (section,) = get(seeded, "jobs/2002/sections/").json()
    centres = get(seeded, f"jobs/2002/sections/{section['ID']}/costCenters/").json()
    assert [c["Name"] for c in centres] == ["Switchboard", "Subcontract"]
    path = f"jobs/2002/sections/{section['ID']}/costCenters/{centres[1]['ID']}/contractorJobs/"
    (contract,) = get(seeded, path, columns="ID,Contractor,Total,TaxCode").json()
    assert contract["Contractor"]["Name"] == "Sparky Data Pty Ltd" and contract["Total"]["ExTax"] == 350
    (s1,) = get(seeded, "jobs/2001/sections/").json()
    (c1,) = get(seeded, f"jobs/2001/sections/{s1['ID']}/costCenters/").json()
    one_offs = get(
        seeded, f"jobs/2001/sections/{s1['ID']}/costCenters/{c1['ID']}/oneOffs/", columns="ID,BillableStatus,SellPrice"
    ).json()
    assert [o["BillableStatus"] for o in one_offs] == ["NonBillable"]
    catalogs = get(
        seeded, f"jobs/2001/sections/{s1['ID']}/costCenters/{c1['ID']}/catalogs/", columns="ID,Discount,SellPrice"
    ).json()
    assert catalogs[1]["Discount"] == 10 and catalogs[1]["SellPrice"]["ExDiscountExTax"] == 18.5
    assert catalogs[1]["SellPrice"]["ExTax"] == 16.65


def test_emulator_filters_paging_headers_and_auth(seeded: SimproSandbox) -> None:
    r = get(seeded, "jobs/", Stage="Complete", DateModified="gt(2026-03-06T00:00:00+11:00)", pageSize="1")
    assert r.headers["Result-Total"] == "2" and r.headers["Result-Pages"] == "2"
    assert get(seeded, "jobs/", NoSuchField="1").status_code == 422
    assert requests.get(f"{seeded.url}/jobs/", timeout=5).status_code == 401


def test_emulator_limits_ten_per_second(seeded: SimproSandbox, clock: FakeClock) -> None:
    assert [get(seeded, "jobs/").status_code for _ in range(11)] == [200] * 10 + [429]
    clock.now += 1
    assert get(seeded, "jobs/").status_code == 200
