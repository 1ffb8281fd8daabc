"""RestJobSource against a tiny in-process job API on loopback, over real HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from source_contract import BILLABLE_STATUSES, SYDNEY, JobSourceContract, SeedJob, SourceFactory

from jobsync.errors import ConfigError, UnreachableError
from jobsync.sources.rest import RestJobSource, lookup

FIELDS = {
    "job_id": "id",
    "job_number": "number",
    "status": "state",
    "completed_at": "completed",
    "updated_at": "updated",
    "client_id": "customer.id",
    "client_name": "customer.name",
    "client_email": "customer.contacts.0.email",
    "purchase_order": "po",
    "line_kind": "type",
    "item_code": "sku",
    "description": "text",
    "quantity": "qty",
    "unit_price": "price.amount",
    "discount_percent": "discount",
}


def record(n: int, updated: str, state: str = "done", qty: Any = 2, **extra: Any) -> dict[str, Any]:
    base = {
        "id": f"r-{n}",
        "number": f"W-{n}",
        "state": state,
        "completed": "2026-11-05T09:00:00",
        "updated": updated,
        "customer": {
            "id": f"K{n % 3}",
            "name": f"Customer {n % 3}",
            "contacts": [{"email": f"c{n % 3}@x.example"}],
        },  # fmt: skip
        "po": None,
        "lines": [
            {"type": "labour", "text": "Labour", "qty": qty, "price": {"amount": 95.5}},
            {
                "type": "part",
                "sku": "P-1",
                "text": "Part",
                "qty": "1",
                "price": {"amount": "12.3456"},
                "discount": 10,
            },  # fmt: skip
        ],
    }
    base.update(extra)
    return base


class JobApi:
    """The emulated platform: pages of 2, bearer or API-key auth, optional faults."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records
        self.honour_since = True
        self.faults: list[int] = []  # statuses to answer before the next real answers
        self.seen: list[tuple[str, dict[str, list[str]], dict[str, str]]] = []
        self.accept = {"authorization": "Bearer t0ken", "x-api-key": "k3y"}  # header names lowercased

    def answer(self, path: str, query: dict[str, list[str]], headers: dict[str, str]) -> tuple[int, Any]:
        self.seen.append((path, query, headers))
        if not any(headers.get(k) == v for k, v in self.accept.items()):
            return 401, {"error": "unauthorised"}
        if self.faults:
            return self.faults.pop(0), {"error": "try later"}
        if path == "/api/jobs":
            since = query.get("updated_since", [""])[0]
            chosen = [r for r in self.records if not self.honour_since or _utc(r["updated"]) > _utc(since)]
            page = int(query.get("page", ["1"])[0])
            chunk = chosen[(page - 1) * 2 : page * 2]
            return 200, {"jobs": chunk, "next_page": page + 1 if page * 2 < len(chosen) else None}
        if path.startswith("/api/jobs/"):
            match = [r for r in self.records if r["id"] == path.rsplit("/", 1)[1]]
            return (200, {"job": match[0]}) if match else (404, {"error": "not found"})
        return 404, {"error": "no route"}


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


@pytest.fixture
def api() -> Iterator[tuple[JobApi, str]]:
    state = JobApi([record(n, f"2026-11-0{n}T10:00:00+00:00") for n in range(1, 6)])

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            parts = urlsplit(self.path)
            status, body = state.answer(
                parts.path, parse_qs(parts.query), {k.lower(): v for k, v in self.headers.items()}
            )
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Retry-After", "0")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{server.server_address[1]}/api"
    server.shutdown()
    server.server_close()


def make(base_url: str, **kwargs: Any) -> RestJobSource:
    kwargs.setdefault("token", "t0ken")
    kwargs.setdefault("statuses", ["Done"])
    kwargs.setdefault("timezone", "Australia/Sydney")
    return RestJobSource(base_url, FIELDS, sleep=lambda _s: None, timeout=5, **kwargs)


MARK = datetime(2026, 11, 1, 10, 0, tzinfo=UTC)


def test_pages_are_followed_and_records_mapped(api: tuple[JobApi, str]) -> None:
    state, url = api
    source = make(url)
    jobs = source.changed_since(MARK)
    assert [job.id for job in jobs] == ["r-2", "r-3", "r-4", "r-5"]
    assert [q["page"] for path, q, _ in state.seen] == [["1"], ["2"]]
    assert state.seen[0][1]["updated_since"] == ["2026-11-01T10:00:00Z"]
    assert source.calls == {"GET /api/jobs": 2}
    job = jobs[0]
    assert job.changed_at == datetime(2026, 11, 2, 10, 0, tzinfo=UTC)  # updated_at, not completed_at
    assert job.completed_at == datetime(2026, 11, 5, 9, 0, tzinfo=UTC) + timedelta(hours=-11)  # Sydney
    assert job.client is not None and (job.client.id, job.client.email) == ("K2", "c2@x.example")
    labour, part = job.lines
    assert (labour.kind, labour.quantity, labour.unit_price) == ("labour", Decimal("2"), Decimal("95.5"))
    assert (part.kind, part.item_code, part.unit_price, part.discount_rate) == (
        "material", "P-1", Decimal("12.3456"), Decimal("10")
    )  # fmt: skip
    assert job.purchase_order is None and job.problems == ()


def test_client_side_filter_when_the_server_ignores_updated_since(api: tuple[JobApi, str]) -> None:
    state, url = api
    state.honour_since = False
    state.records[3]["state"] = "In progress"
    jobs = make(url).changed_since(datetime(2026, 11, 2, 10, 0, tzinfo=UTC))
    assert [job.id for job in jobs] == ["r-3", "r-5"]  # r-2 equals the mark; r-4 not billable


def test_api_key_auth_and_refused_credentials(api: tuple[JobApi, str]) -> None:
    state, url = api
    assert len(make(url, auth="api_key", token="k3y").changed_since(MARK)) == 4
    assert state.seen[-1][2].get("x-api-key") == "k3y" and "authorization" not in state.seen[-1][2]
    with pytest.raises(UnreachableError, match="source.api_key"):
        make(url, token="wrong").changed_since(MARK)


def test_server_errors_are_retried_then_reported(api: tuple[JobApi, str]) -> None:
    state, url = api
    state.faults = [500, 429]
    source = make(url)
    assert len(source.changed_since(MARK)) == 4
    assert source.calls == {"GET /api/jobs": 4}
    state.faults = [503] * 10
    with pytest.raises(UnreachableError, match="503"):
        source.changed_since(MARK)


def test_malformed_record_holds_only_that_job(api: tuple[JobApi, str]) -> None:
    state, url = api
    state.records[1] = record(2, "2026-11-02T10:00:00+00:00", qty="two", completed="soon")
    jobs = {job.id: job for job in make(url).changed_since(MARK)}
    assert jobs["r-2"].problems == (
        "job r-2 line 1: completed 'soon' is not a date "
        "(expected dd/mm/yyyy, dd/mm/yyyy HH:MM or ISO yyyy-mm-dd[THH:MM[+hh:mm]])",
        "job r-2 line 1: qty 'two' is not a number",
    )
    assert all(not jobs[i].problems for i in ("r-3", "r-4", "r-5"))


def test_get_jobs_rereads_by_id(api: tuple[JobApi, str]) -> None:
    state, url = api
    state.records[2]["state"] = "cancelled"
    source = make(url)
    jobs = source.get_jobs(["r-1", "r-3", "gone", "r-1"])
    assert [job.id for job in jobs] == ["r-1"]  # r-3 no longer billable, "gone" answers 404
    assert sum(source.calls.values()) == 3


def test_paging_that_does_not_advance_is_refused(api: tuple[JobApi, str], monkeypatch: Any) -> None:
    state, url = api
    original = state.answer

    def stuck(path: str, query: dict[str, list[str]], headers: dict[str, str]) -> tuple[int, Any]:
        status, body = original(path, query, headers)
        return status, {**body, "next_page": 1}

    monkeypatch.setattr(state, "answer", stuck)
    with pytest.raises(UnreachableError, match="does not advance"):
        make(url).changed_since(MARK)


def test_config_problems_are_reported_together() -> None:
    fields = {k: v for k, v in FIELDS.items() if k != "quantity"} | {"colour": "c"}
    with pytest.raises(ConfigError) as caught:
        RestJobSource("ftp://x", fields, auth="basic", statuses=[], timezone="Nowhere/Else")
    text = str(caught.value)
    for key in ("source.fields.colour", "source.fields.quantity", "source.base_url", "source.auth",
                "source.statuses", "source.timezone"):  # fmt: skip
        assert key in text
    with pytest.raises(ConfigError, match="source.api_key"):
        RestJobSource("http://x", FIELDS, auth="bearer", token=None)


def test_lookup_follows_dots_and_indexes() -> None:
    data = {"a": {"b": [{"c": 1}, {"c": 2}]}}
    assert lookup(data, "a.b.1.c") == 2
    assert lookup(data, "a.b.-1.c") == 2
    assert lookup(data, "a.b.5.c") is None
    assert lookup(data, "a.x.c") is None


# -- the shared JobSource contract ---------------------------------------------


class TestRestContract(JobSourceContract):
    """The REST source passes the contract; the emulated API writes times in Sydney local time."""

    @pytest.fixture
    def source_factory(self, api: tuple[JobApi, str]) -> SourceFactory:
        state, url = api

        def as_record(job: SeedJob) -> dict[str, Any]:
            completed = (
                job.completed_at.astimezone(SYDNEY).replace(tzinfo=None).isoformat() if job.completed_at else None
            )
            return {
                "id": job.id, "number": job.number, "state": job.status, "completed": completed,
                "updated": job.changed_at.astimezone(SYDNEY).isoformat(),
                "customer": {"id": job.client_id, "name": job.client_name,
                             "contacts": [{"email": job.client_email}] if job.client_email else []},
                "lines": [{"type": line.kind, "text": line.description, "qty": line.quantity,
                           "price": {"amount": line.unit_price}} for line in job.lines],
            }  # fmt: skip

        def factory(seeds: Sequence[SeedJob]) -> RestJobSource:
            state.records = [as_record(job) for job in seeds]
            return make(url, statuses=list(BILLABLE_STATUSES))

        return factory
