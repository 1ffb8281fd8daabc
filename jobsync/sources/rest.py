"""A generic REST source, for job systems without a native connector.

Configured entirely in YAML (see config.example.yaml):

    GET {base_url}{list_path}?<list_query, with {since} filled in>&<paging params>
        -> the jobs at `paging.records_path`; how the next page is found is `paging.style`
    GET {base_url}{job_path}        (job_path contains "{id}")
        -> {...job...}  or  {"job": {...job...}}; 404 when the job is gone

Auth and paging styles live in `rest_transport`. `fields` maps the same logical
names as the CSV source's `columns` (with `updated_at`, the platform's change
timestamp) to dotted paths into a job, e.g. `client_name: customer.name`. Line
fields (`description`, `quantity`, ...) are paths inside each element of the list
at `lines_path`: inside the job, or inside the answer of `lines_url` (e.g.
`/jobs/{id}/lines`) when the API keeps lines apart. Likewise `client_url`
(e.g. `/customers/{id}`, filled with the job's client id) makes the other client
fields paths into that answer; each client is fetched once per pass. JSON numbers
are read as Decimal, never float. Values are then parsed exactly as CSV cells
are, so both sources report a bad quantity or date the same way.

The server's since-filter is trusted for nothing: jobs are filtered again here
by status and by change time (strictly after the mark), and de-duplicated by
id, because APIs that ignore an unknown parameter are common.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import requests

from jobsync.core.errors import ConfigError, UnreachableError, echo
from jobsync.core.models import Job
from jobsync.net.http import make_session, request_with_retries
from jobsync.sources.base import read_or_hold, unreadable
from jobsync.sources.csvfile import COLUMN_KEYS, LINE_KEYS, REQUIRED_COLUMNS, JobBuilder, Row, check_statuses_and_zone
from jobsync.sources.rest_transport import AUTH_MODES, Authenticator, Paging, RestAuth, lookup, walk_pages

__all__ = ["AUTH_MODES", "FIELD_KEYS", "LINE_KEYS", "RestJobSource", "lookup"]

FIELD_KEYS = COLUMN_KEYS
CLIENT_KEYS = ("client_name", "client_email", "client_phone")  # read from the client record with client_url
DEFAULT_QUERY = {"updated_since": "{since}"}


class RestJobSource:
    """Jobs from a JSON REST API; implements `JobSource`."""

    def __init__(
        self,
        base_url: str,
        fields: Mapping[str, str],
        *,
        statuses: Sequence[str] = ("Completed",),
        timezone: str = "UTC",
        name: str = "rest",
        auth: str | RestAuth = "bearer",
        token: str | None = None,
        api_key_header: str = "X-API-Key",
        lines_path: str = "lines",
        list_path: str = "/jobs",
        job_path: str = "/jobs/{id}",
        list_query: Mapping[str, str] | None = None,
        paging: Paging | None = None,
        lines_url: str | None = None,
        client_url: str | None = None,
        timeout: float = 30.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        max_pages: int = 10_000,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.fields = {key: path.strip() for key, path in fields.items() if path and path.strip()}
        self.auth = auth if isinstance(auth, RestAuth) else RestAuth(auth, token, api_key_header)
        self.paging = paging or Paging()
        self.list_query = dict(DEFAULT_QUERY if list_query is None else list_query)
        problems = _config_problems(self.base_url, self.fields, job_path, self.list_query, lines_url, client_url)
        problems += self.auth.problems() + self.paging.problems() + check_statuses_and_zone(statuses, timezone)
        if problems:
            raise ConfigError(f"the {name} source is misconfigured", problems)
        self.builder = JobBuilder(name, self.fields, statuses, ZoneInfo(timezone))
        self.lines_path, self.list_path, self.job_path = lines_path, list_path, job_path
        self.lines_url, self.client_url = lines_url, client_url
        self.timeout, self.max_pages = timeout, max_pages
        self._sleep = sleep
        self._calls: dict[str, int] = {}
        self._session = session or make_session()
        self._authenticator = Authenticator(self.auth, self._session, name, self._calls, timeout=timeout, clock=clock)
        self._clients: dict[str, Any] = {}  # client records by id, for one pass

    # -- JobSource -------------------------------------------------------------

    def changed_since(self, mark: datetime) -> list[Job]:
        self._clients.clear()  # a client edited since the last pass is read afresh
        query = _filled(self.list_query, mark)
        jobs: dict[str, Job] = {}

        def fetch(params: dict[str, Any]) -> tuple[Any, Mapping[str, str]]:
            return self._get(self.list_path, query | params)

        for records in walk_pages(self.paging, fetch, self.name, self.max_pages):
            for record in records:
                job = self._read(record)
                jobs.setdefault(job.id, job)  # overlapping pages: first copy wins
        billable = self.builder.is_billable
        return [job for job in jobs.values() if unreadable(job) or (billable(job) and job.changed_at > mark)]

    def get_jobs(self, ids: Sequence[str]) -> list[Job]:
        self._clients.clear()
        found = []
        for job_id in dict.fromkeys(ids):
            body = self._get_json(self.job_path.format(id=quote(job_id, safe="")), None, missing_ok=True)
            if body is None:
                continue  # deleted in the job system: nothing left to bill
            record = body.get("job", body) if isinstance(body, dict) else body
            if isinstance(record, dict):
                job = self._read(record)
                if unreadable(job) or self.builder.is_billable(job):
                    found.append(job)
        return found

    @property
    def calls(self) -> dict[str, int]:
        return dict(self._calls)

    # -- transport -------------------------------------------------------------

    def _get(self, path: str, params: dict[str, Any] | None, missing_ok: bool = False) -> tuple[Any, Mapping[str, str]]:
        """(JSON body, response headers) of a GET; (None, {}) for a 404 when `missing_ok`."""
        url = self.base_url + path
        response = request_with_retries(
            self._session,
            "GET",
            url,
            params=params,
            headers=self._authenticator.headers(),
            timeout=self.timeout,
            counter=self._calls,
            platform=self.name,
            credentials_setting=_credentials_setting(self.auth.mode),
            sleep=self._sleep,
        )
        if missing_ok and response.status_code == 404:
            return None, {}
        if not 200 <= response.status_code < 300:
            raise UnreachableError(
                f"{self.name} answered HTTP {response.status_code} for GET {path}: check source.base_url"
            )
        try:
            return response.json(parse_float=Decimal), response.headers
        except (ValueError, json.JSONDecodeError) as exc:
            raise UnreachableError(f"{self.name} sent something other than JSON for GET {path}") from exc

    def _get_json(self, path: str, params: dict[str, Any] | None, missing_ok: bool = False) -> Any:
        return self._get(path, params, missing_ok)[0]

    # -- records to jobs -------------------------------------------------------

    @property
    def trusts_change_time(self) -> bool:
        """Only a mapped change-time field makes the watermark safe; else every run reads from the start."""
        return "updated_at" in self.fields

    def _read(self, record: Any) -> Job:
        ident = record.get("id") if isinstance(record, Mapping) else None
        return read_or_hold(self.name, ident or "(unknown)", ident, lambda: self._job(record))

    def _job(self, record: Mapping[str, Any]) -> Job:
        job_cells = {key: _text(lookup(record, path)) for key, path in self.fields.items() if key not in LINE_KEYS}
        job_id = job_cells.get("job_id") or job_cells.get("job_number") or "(no id)"
        if self.client_url and job_cells.get("client_id"):
            client = self._client_record(job_cells["client_id"])
            job_cells |= {key: _text(lookup(client, path)) for key, path in self.fields.items() if key in CLIENT_KEYS}
        where = f"job {job_id}"
        rows: list[Row] = []
        for i, line in enumerate(self._raw_lines(record, job_id), start=1):
            line_cells = {key: _text(lookup(line, path)) for key, path in self.fields.items() if key in LINE_KEYS}
            rows.append((f"{where} line {i}", job_cells | line_cells))
        # A job without lines still becomes a Job (held by the planner for having no lines).
        return self.builder.build(job_id, rows or [(where, job_cells)], datetime.now(UTC))

    def _raw_lines(self, record: Mapping[str, Any], job_id: str) -> list[Any]:
        if self.lines_url:
            # A 404 means "no lines": the job is then held for having none, not the run failed.
            body = self._get_json(self.lines_url.format(id=quote(job_id, safe="")), None, missing_ok=True)
            raw = lookup(body, self.lines_path)
        else:
            raw = lookup(record, self.lines_path)
        return raw if isinstance(raw, list) else []

    def _client_record(self, client_id: str) -> Any:
        if client_id not in self._clients:
            assert self.client_url is not None
            path = self.client_url.format(id=quote(client_id, safe=""))
            self._clients[client_id] = self._get_json(path, None, missing_ok=True)
        return self._clients[client_id]


def _text(value: Any) -> str:
    """A JSON value as the cell text the shared builder parses."""
    if value is None or isinstance(value, (dict, list)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


def _filled(query: Mapping[str, str], mark: datetime) -> dict[str, str]:
    """The list query with the watermark put in: {since} ISO 8601 UTC, {since_date}, {since_epoch}."""
    utc = mark.astimezone(UTC)
    values = {
        "since": utc.isoformat().replace("+00:00", "Z"),
        "since_date": utc.date().isoformat(),
        "since_epoch": str(int(utc.timestamp())),
    }
    return {key: template.format(**values) for key, template in query.items()}


def _credentials_setting(mode: str) -> str:
    return {
        "basic": "source.rest.username and source.rest.password",
        "oauth2_client_credentials": "source.rest.client_id and source.rest.client_secret",
    }.get(mode, "source.api_key")


def _config_problems(
    base_url: str,
    fields: Mapping[str, str],
    job_path: str,
    query: Mapping[str, str],
    lines_url: str | None,
    client_url: str | None,
) -> list[str]:
    problems = [f"source.fields.{key}: unknown field" for key in fields if key not in FIELD_KEYS]
    problems += [
        f"source.fields.{key} is required: give its JSON path" for key in REQUIRED_COLUMNS if key not in fields
    ]
    if not base_url.startswith(("http://", "https://")):
        problems.append(f"source.base_url must be an http(s) URL (got {echo(base_url)})")
    if "{id}" not in job_path:
        problems.append("source.job_path must contain {id}")
    for key, url in (("lines_url", lines_url), ("client_url", client_url)):
        if url is not None and "{id}" not in url:
            problems.append(f"source.rest.{key} must contain {{id}}")
    if client_url and "client_id" not in fields:
        problems.append("source.rest.client_url needs source.fields.client_id: the id it is filled with")
    try:
        _filled(query, datetime.now(UTC))
    except (KeyError, IndexError, ValueError) as exc:
        problems.append(
            f"source.rest.list_query: unknown placeholder {exc} (use {{since}}, {{since_date}} or {{since_epoch}})"
        )
    return problems
