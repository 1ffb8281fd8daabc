"""A generic REST source, for job systems without a native connector.

The API it expects is the simplest common shape:

    GET {base_url}{list_path}?updated_since=<ISO 8601 UTC>&page=<n>   (pages count from 1)
        -> {"jobs": [ {...job...}, ... ], "next_page": <n> | null}
    GET {base_url}{job_path}        (job_path contains "{id}")
        -> {...job...}  or  {"job": {...job...}}; 404 when the job is gone

`fields` maps the same logical names as the CSV source's `columns` (with
`updated_at`, the platform's change timestamp) to dotted paths into a job,
e.g. `client_name: customer.name`. Line fields (`description`, `quantity`, ...)
are paths inside each element of the list at `lines_path`. JSON numbers are read
as Decimal, never float. Values are then parsed exactly as CSV cells are, so
both sources report a bad quantity or date the same way.

The server's `updated_since` filter is trusted for nothing: jobs are filtered
again here by status and by change time (strictly after the mark), and
de-duplicated by id, because APIs that ignore an unknown parameter are common.
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

from jobsync.errors import ConfigError, UnreachableError
from jobsync.http import make_session, request_with_retries
from jobsync.models import Job
from jobsync.sources.csvfile import COLUMN_KEYS, REQUIRED_COLUMNS, JobBuilder, Row, check_statuses_and_zone

FIELD_KEYS = COLUMN_KEYS
LINE_KEYS = ("line_kind", "item_code", "description", "quantity", "unit_price", "discount_percent", "tax_code")
AUTH_MODES = ("bearer", "api_key", "none")


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
        auth: str = "bearer",
        token: str | None = None,
        api_key_header: str = "X-API-Key",
        lines_path: str = "lines",
        list_path: str = "/jobs",
        job_path: str = "/jobs/{id}",
        timeout: float = 30.0,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_pages: int = 10_000,
    ) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.fields = {key: path.strip() for key, path in fields.items() if path and path.strip()}
        problems = _config_problems(self.base_url, self.fields, auth, token, job_path)
        problems += check_statuses_and_zone(statuses, timezone)
        if problems:
            raise ConfigError(f"the {name} source is misconfigured", problems)
        self.builder = JobBuilder(name, self.fields, statuses, ZoneInfo(timezone))
        self.lines_path, self.list_path, self.job_path = lines_path, list_path, job_path
        self.timeout, self.max_pages = timeout, max_pages
        self._sleep = sleep
        self._calls: dict[str, int] = {}
        self._session = session or make_session()
        if auth == "bearer":
            self._headers = {"Authorization": f"Bearer {token}"}
        elif auth == "api_key":
            self._headers = {api_key_header: str(token)}
        else:
            self._headers = {}

    # -- JobSource -------------------------------------------------------------

    def changed_since(self, mark: datetime) -> list[Job]:
        since = mark.astimezone(UTC).isoformat().replace("+00:00", "Z")
        jobs: dict[str, Job] = {}
        page: int | None = 1
        pages = 0
        while page is not None:
            pages += 1
            if pages > self.max_pages:
                raise UnreachableError(f"{self.name}: more than {self.max_pages} pages; is paging looping?")
            body = self._get_json(self.list_path, {"updated_since": since, "page": page})
            records, next_page = _page_of(body, self.name)
            if next_page is not None and next_page <= page:
                # A server echoing the same page back would otherwise loop forever.
                raise UnreachableError(f"{self.name}: next_page {next_page} does not advance past {page}")
            for record in records:
                job = self._job(record)
                jobs.setdefault(job.id, job)  # overlapping pages: first copy wins
            page = next_page
        return [job for job in jobs.values() if self.builder.is_billable(job) and job.changed_at > mark]

    def get_jobs(self, ids: Sequence[str]) -> list[Job]:
        found = []
        for job_id in dict.fromkeys(ids):
            body = self._get_json(self.job_path.format(id=quote(job_id, safe="")), None, missing_ok=True)
            if body is None:
                continue  # deleted in the job system: nothing left to bill
            record = body.get("job", body) if isinstance(body, dict) else body
            if isinstance(record, dict):
                job = self._job(record)
                if self.builder.is_billable(job):
                    found.append(job)
        return found

    @property
    def calls(self) -> dict[str, int]:
        return dict(self._calls)

    # -- transport -------------------------------------------------------------

    def _get_json(self, path: str, params: dict[str, Any] | None, missing_ok: bool = False) -> Any:
        url = self.base_url + path
        response = request_with_retries(
            self._session, "GET", url, params=params, headers=self._headers, timeout=self.timeout,
            counter=self._calls, platform=self.name, credentials_setting="source.api_key", sleep=self._sleep,
        )  # fmt: skip
        if missing_ok and response.status_code == 404:
            return None
        if not 200 <= response.status_code < 300:
            raise UnreachableError(
                f"{self.name} answered HTTP {response.status_code} for GET {path}: check source.base_url"
            )
        try:
            return response.json(parse_float=Decimal)
        except (ValueError, json.JSONDecodeError) as exc:
            raise UnreachableError(f"{self.name} sent something other than JSON for GET {path}") from exc

    # -- records to jobs -------------------------------------------------------

    def _job(self, record: Mapping[str, Any]) -> Job:
        job_cells = {key: _text(lookup(record, path)) for key, path in self.fields.items() if key not in LINE_KEYS}
        job_id = job_cells.get("job_id") or job_cells.get("job_number") or "(no id)"
        where = f"job {job_id}"
        raw_lines = lookup(record, self.lines_path)
        rows: list[Row] = []
        for i, line in enumerate(raw_lines if isinstance(raw_lines, list) else [], start=1):
            line_cells = {key: _text(lookup(line, path)) for key, path in self.fields.items() if key in LINE_KEYS}
            rows.append((f"{where} line {i}", job_cells | line_cells))
        # A job without lines still becomes a Job (held by the planner for having no lines).
        return self.builder.build(job_id, rows or [(where, job_cells)], datetime.now(UTC))


def lookup(value: Any, path: str) -> Any:
    """Follow a dotted path ("customer.contacts.0.email") into JSON; None where it leads nowhere."""
    for part in path.split("."):
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list) and part.lstrip("-").isdigit() and -len(value) <= int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _text(value: Any) -> str:
    """A JSON value as the cell text the shared builder parses."""
    if value is None or isinstance(value, (dict, list)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


def _page_of(body: Any, name: str) -> tuple[list[Mapping[str, Any]], int | None]:
    if not isinstance(body, dict) or not isinstance(body.get("jobs"), list):
        raise UnreachableError(f"{name}: expected {{'jobs': [...], 'next_page': n}} from the list endpoint")
    next_page = body.get("next_page")
    if next_page is not None and (isinstance(next_page, bool) or not isinstance(next_page, int)):
        raise UnreachableError(f"{name}: next_page must be a page number or null, got {next_page!r}")
    return [r for r in body["jobs"] if isinstance(r, Mapping)], next_page


def _config_problems(
    base_url: str, fields: Mapping[str, str], auth: str, token: str | None, job_path: str
) -> list[str]:
    problems = [f"source.fields.{key}: unknown field" for key in fields if key not in FIELD_KEYS]
    problems += [f"source.fields.{key} is required: give its JSON path" for key in REQUIRED_COLUMNS
                 if key not in fields]  # fmt: skip
    if not base_url.startswith(("http://", "https://")):
        problems.append(f"source.base_url must be an http(s) URL (got {base_url!r})")
    if auth not in AUTH_MODES:
        problems.append(f"source.auth must be one of {', '.join(AUTH_MODES)} (got {auth!r})")
    elif auth != "none" and not token:
        problems.append("source.api_key is not set: export the variable it names")
    if "{id}" not in job_path:
        problems.append("source.job_path must contain {id}")
    return problems
