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

from jobsync.core.errors import ConfigError, UnreachableError
from jobsync.sandbox import rest_jobs
from jobsync.sources.rest import RestJobSource, lookup
from jobsync.sources.rest_transport import Paging, RestAuth

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
        },
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
            },
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
        "material",
        "P-1",
        Decimal("12.3456"),
        Decimal("10"),
    )
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
        RestJobSource("ftp://x", fields, auth="digest", statuses=[], timezone="Nowhere/Else")
    text = str(caught.value)
    for key in (
        "source.fields.colour",
        "source.fields.quantity",
        "source.base_url",
        "source.rest.auth",
        "source.statuses",
        "source.timezone",
    ):
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
                "id": job.id,
                "number": job.number,
                "state": job.status,
                "completed": completed,
                "updated": job.changed_at.astimezone(SYDNEY).isoformat(),
                "customer": {
                    "id": job.client_id,
                    "name": job.client_name,
                    "contacts": [{"email": job.client_email}] if job.client_email else [],
                },
                "lines": [
                    {
                        "type": line.kind,
                        "text": line.description,
                        "qty": line.quantity,
                        "price": {"amount": line.unit_price},
                    }
                    for line in job.lines
                ],
            }

        def factory(seeds: Sequence[SeedJob]) -> RestJobSource:
            state.records = [as_record(job) for job in seeds]
            return make(url, statuses=list(BILLABLE_STATUSES))

        return factory


# -- paging and auth styles against jobsync.sandbox.rest_jobs ------------------

SANDBOX_FIELDS = {
    "job_id": "id",
    "job_number": "number",
    "status": "status",
    "completed_at": "completed_at",
    "updated_at": "updated_at",
    "client_id": "customer.id",
    "client_name": "customer.name",
    "client_email": "customer.email",
    "line_kind": "type",
    "description": "description",
    "quantity": "quantity",
    "unit_price": "unit_price",
}
# The same API with lines and customers fetched from their own paths.
APART_FIELDS = SANDBOX_FIELDS | {"client_id": "customer_id", "client_name": "name", "client_email": "email"}
STYLE_PAGING = {
    "cursor_header": Paging("cursor_header", records_path="data", cursor_header="X-Next-Cursor"),
    "cursor_body": Paging("cursor_body", records_path="data", cursor_path="meta.next_cursor"),
    "page": Paging("page", records_path="data", total_pages_header="X-Total-Pages"),
    "page_body_total": Paging("page", records_path="data", total_pages_path="meta.total_pages"),
    "offset": Paging("offset", records_path="data", page_size=2),
}
SANDBOX_AUTH = {
    "bearer": RestAuth("bearer", token=rest_jobs.TOKEN),
    "api_key": RestAuth("api_key", token=rest_jobs.API_KEY, header="X-Api-Key"),
    "basic": RestAuth("basic", username=rest_jobs.USER, password=rest_jobs.PASSWORD),
}


def sandbox_job(n: int, updated: datetime, status: str = "completed") -> dict[str, Any]:
    return {
        "id": f"job-{n}",
        "number": f"J-{1000 + n}",
        "status": status,
        "completed_at": updated.isoformat(),
        "updated_at": updated.isoformat(),
        "customer": {"id": f"cust-{n % 2}", "name": f"Customer {n % 2}", "email": f"c{n % 2}@example.com"},
        "line_items": [{"type": "labour", "description": "Labour", "quantity": "1.5", "unit_price": 90}],
    }


SANDBOX_JOBS = [sandbox_job(n, MARK + timedelta(hours=n)) for n in range(1, 6)]  # 5 jobs: 3 pages of 2


def sandbox_source(api: rest_jobs.RestJobsApi, **kwargs: Any) -> RestJobSource:
    kwargs.setdefault("statuses", ["completed"])
    kwargs.setdefault("list_path", "/jobs")
    kwargs.setdefault("auth", SANDBOX_AUTH["bearer"])
    fields = kwargs.pop("fields", SANDBOX_FIELDS)
    return RestJobSource(api.url, fields, sleep=lambda _s: None, timeout=5, **kwargs)


@pytest.mark.parametrize("style", sorted(STYLE_PAGING))
def test_each_paging_style_walks_three_pages(style: str) -> None:
    with rest_jobs.RestJobsApi(SANDBOX_JOBS, paging=STYLE_PAGING[style].style) as api:
        source = sandbox_source(api, paging=STYLE_PAGING[style])
        jobs = source.changed_since(MARK + timedelta(minutes=30))
        lists = [target for method, target, _ in api.requests if target.startswith("/v1/jobs?")]
    assert [job.number for job in jobs] == ["J-1001", "J-1002", "J-1003", "J-1004", "J-1005"]
    assert source.calls == {"GET /v1/jobs": 3} and len(lists) == 3
    assert all("updated_since=2026-11-01T10%3A30%3A00Z" in target for target in lists)
    follow = {
        "cursor_header": "cursor=2",
        "cursor_body": "cursor=2",
        "page": "page=2",
        "page_body_total": "page=2",
        "offset": "offset=2",
    }[style]
    assert follow in lists[1] and follow not in lists[0]


def test_cursor_that_does_not_advance_is_refused() -> None:
    with rest_jobs.RestJobsApi(SANDBOX_JOBS, paging="cursor_body") as api:
        original = api._list

        def same_cursor(query: dict[str, str]) -> Any:  # an API echoing the cursor it was given
            status, headers, body = original(query)
            return status, headers, {**body, "meta": {"next_cursor": query.get("cursor", "0")}}

        api._list = same_cursor  # type: ignore[method-assign]
        paging = Paging("cursor_body", records_path="data", cursor_path="meta.next_cursor", first_cursor="0")
        with pytest.raises(UnreachableError, match="does not advance"):
            sandbox_source(api, paging=paging).changed_since(MARK)


@pytest.mark.parametrize("style", sorted(SANDBOX_AUTH))
def test_each_static_auth_style_is_accepted_and_a_wrong_secret_named(style: str) -> None:
    with rest_jobs.RestJobsApi(SANDBOX_JOBS, auth=style) as api:
        paging = STYLE_PAGING["cursor_body"]
        assert len(sandbox_source(api, paging=paging, auth=SANDBOX_AUTH[style]).changed_since(MARK)) == 5
        wrong = {
            "bearer": RestAuth("bearer", token="nope"),
            "api_key": RestAuth("api_key", token="nope"),
            "basic": RestAuth("basic", username=rest_jobs.USER, password="nope"),
        }[style]
        setting = "source.rest.password" if style == "basic" else "source.api_key"
        with pytest.raises(UnreachableError, match=setting):
            sandbox_source(api, paging=paging, auth=wrong).changed_since(MARK)


def test_oauth2_client_credentials_token_is_cached_until_it_expires() -> None:
    now = [1000.0]
    with rest_jobs.RestJobsApi(
        SANDBOX_JOBS, auth="oauth2_client_credentials", token_lifetime=600, paging="offset"
    ) as api:
        auth = RestAuth(
            "oauth2_client_credentials",
            token_url=api.token_url,
            client_id=rest_jobs.CLIENT_ID,
            client_secret=rest_jobs.CLIENT_SECRET,
            scope="jobs.read",
        )
        source = sandbox_source(api, paging=STYLE_PAGING["offset"], auth=auth, clock=lambda: now[0])
        assert len(source.changed_since(MARK)) == 5
        assert api.issued == ["oauth-1"]  # three pages, one token
        now[0] += 600 - 61  # just inside the margin before expiry: still the cached token
        source.changed_since(MARK)
        assert api.issued == ["oauth-1"]
        now[0] += 2
        source.changed_since(MARK)
        assert api.issued == ["oauth-1", "oauth-2"]
        assert source.calls["POST /oauth/token"] == 2
        bad = RestAuth("oauth2_client_credentials", token_url=api.token_url, client_id="x", client_secret="y")
        with pytest.raises(UnreachableError, match="source.rest.client_secret"):
            sandbox_source(api, paging=STYLE_PAGING["offset"], auth=bad).changed_since(MARK)


def test_lines_and_client_fetched_from_their_own_paths_once_per_client() -> None:
    with rest_jobs.RestJobsApi(SANDBOX_JOBS, nested=False) as api:
        api.throttle = 1  # a 429 first: waited out, not fatal
        source = sandbox_source(
            api,
            fields=APART_FIELDS,
            paging=STYLE_PAGING["cursor_body"],
            lines_url="/jobs/{id}/lines",
            lines_path="data",
            client_url="/customers/{id}",
        )
        jobs = source.changed_since(MARK)
    assert [(job.client.name if job.client else None) for job in jobs] == [f"Customer {n % 2}" for n in range(1, 6)]
    assert jobs[0].client is not None and jobs[0].client.email == "c1@example.com"
    assert all(job.problems == () for job in jobs)
    assert [(ln.kind, ln.quantity, ln.unit_price) for ln in jobs[2].lines] == [("labour", Decimal("1.5"), 90)]
    assert source.calls == {
        "GET /v1/jobs": 4,
        "GET /v1/customers/cust-0": 1,
        "GET /v1/customers/cust-1": 1,
        **{f"GET /v1/jobs/job-{n}/lines": 1 for n in range(1, 6)},
    }


def test_new_config_problems_name_their_keys() -> None:
    with pytest.raises(ConfigError) as caught:
        RestJobSource(
            "https://x",
            SANDBOX_FIELDS,
            auth=RestAuth("oauth2_client_credentials", client_id="c"),
            paging=Paging("sideways"),
            list_query={"since": "{watermark}"},
            lines_url="/lines",
        )
    text = str(caught.value)
    for key in (
        "source.rest.token_url",
        "source.rest.client_secret",
        "source.rest.paging.style",
        "source.rest.list_query",
        "source.rest.lines_url",
    ):
        assert key in text


class TestRestSandboxContract(JobSourceContract):
    """The contract again, over cursor-header paging with lines and clients on their own paths."""

    @pytest.fixture
    def source_factory(self) -> Iterator[SourceFactory]:
        api = rest_jobs.RestJobsApi(nested=False, paging="cursor_header").start()

        def as_job(job: SeedJob) -> dict[str, Any]:
            completed = job.completed_at.astimezone(SYDNEY).isoformat() if job.completed_at else None
            return {
                "id": job.id,
                "number": job.number,
                "status": job.status,
                "completed_at": completed,
                "updated_at": job.changed_at.astimezone(SYDNEY).isoformat(),
                "customer": {"id": job.client_id, "name": job.client_name, "email": job.client_email},
                "line_items": [
                    {
                        "type": line.kind,
                        "description": line.description,
                        "quantity": line.quantity,
                        "unit_price": line.unit_price,
                    }
                    for line in job.lines
                ],
            }

        def factory(seeds: Sequence[SeedJob]) -> RestJobSource:
            api.jobs = [as_job(job) for job in seeds]
            return sandbox_source(
                api,
                fields=APART_FIELDS,
                statuses=list(BILLABLE_STATUSES),
                paging=STYLE_PAGING["cursor_header"],
                lines_url="/jobs/{id}/lines",
                lines_path="data",
                client_url="/customers/{id}",
            )

        yield factory
        api.stop()


def test_config_example_rest_sources_load_and_build(tmp_path: Any) -> None:
    """Both commented REST examples in config.example.yaml, uncommented, load and build a RestJobSource."""
    from pathlib import Path

    from jobsync.app.wiring import build_connector
    from jobsync.config.settings import load_settings

    text = (Path(__file__).resolve().parents[1] / "config.example.yaml").read_text()
    blocks = text.split("  #   type: rest\n")[1:]
    assert len(blocks) == 2
    built = []
    for block in blocks:
        body = ["  type: rest"]
        for line in block.splitlines():
            if not line.startswith("  #   "):
                break
            body.append("  " + line[len("  #   ") :])
        config = tmp_path / "c.yaml"
        config.write_text(
            "xero: {tenant_id: t, auth: {mode: static_token, token: x}}\n"
            "rules: {default: {account_code: '200'}}\nsource:\n" + "\n".join(body)
        )
        env = {"JOBS_API_TOKEN": "t", "FIELDJOBS_CLIENT_ID": "id", "FIELDJOBS_CLIENT_SECRET": "s"}
        built.append(build_connector(load_settings(config, env)))
    assert all(isinstance(source, RestJobSource) for source in built)
    oauth = built[1]
    assert (oauth.auth.mode, oauth.auth.client_secret, oauth.paging.style) == (
        "oauth2_client_credentials",
        "s",
        "cursor_body",
    )
    assert oauth.paging.cursor_param == "page[cursor]" and oauth.client_url == "/customers/{id}"
    assert oauth.list_query == {"filter[updated_at][gt]": "{since}", "status": "completed"}
