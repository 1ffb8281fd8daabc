"""ServiceM8 (REST api_1.0, `X-API-Key`) as a JobSource.

Call budget per run, whatever the number of jobs: vendor 1, taxrate 1, jobs 1 per billable status,
then materials, companies and BILLING contacts in one paged bulk read each (per-record reads when
only a few jobs changed). See `_related` for why; `calls` shows the real count.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests

from jobsync.core.errors import UnreachableError, echo
from jobsync.core.models import Client, Job, JobLine
from jobsync.core.source_tax import parse_rate
from jobsync.net.http import CallCounter, RateLimiter, make_session, platform_message, request_with_retries
from jobsync.sources.base import read_or_hold

DEFAULT_BASE_URL = "https://api.servicem8.com/api_1.0"
# Link back for the bookkeeper. [UNVERIFIED] ServiceM8 documents no public deep-link format.
DEFAULT_JOB_URL = "https://go.servicem8.com/job/{uuid}"
# ServiceM8 has no labour flag: labour is a material whose catalog item is a labour rate
# (spec: Material.name "Name of the material, product or labour rate"). Classify by name.
DEFAULT_LABOUR_PATTERN = r"\b(labou?r|hourly rate|per hour)\b"
NO_DATES = ("", "0000-00-00 00:00:00", "0000-00-00")
PAGE_LIMIT = 1000  # pages per listing; a cursor loop longer than this is a server bug
Raw = dict[str, Any]


def _truthy(value: Any) -> bool:
    # Booleans arrive as 1/0, "1"/"0" or "true"/"false" depending on the object.
    return str(value).strip().lower() in ("1", "true", "yes")


def _quote_value(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def encode_filter(conditions: Iterable[tuple[str, str, str | int]]) -> str:
    """`$filter` percent-encoded with %20 for spaces: ServiceM8 ignores a filter it cannot read."""
    text = " and ".join(f"{f} {op} {v if isinstance(v, int) else _quote_value(v)}" for f, op, v in conditions)
    return "%24filter=" + quote(text, safe="'")


class ServiceM8Source:
    """Completed (billable-status) ServiceM8 jobs with their materials, client and tax rates."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        api_key: str = "",
        statuses: Sequence[str] = ("Completed",),
        name: str = "servicem8",
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        *,
        skip_exported: bool = True,
        labour_pattern: str = DEFAULT_LABOUR_PATTERN,
        job_url: str = DEFAULT_JOB_URL,
        timezone: str | None = None,
        rate_per_minute: int = 180,
        clock: Callable[[], float] = time.monotonic,
        bulk_threshold: int = 3,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.statuses = tuple(statuses)
        self.name = name
        self.skip_exported = skip_exported
        self.job_url = job_url
        self.bulk_threshold = bulk_threshold
        self._labour = re.compile(labour_pattern, re.IGNORECASE)
        self._session = session or make_session()
        if api_key:  # else the session signs in itself (an OAuth app's bearer token)
            self._session.headers["X-API-Key"] = api_key
        self._sleep = sleep
        self._counter = CallCounter()
        self._limiter = RateLimiter(rate_per_minute, clock=clock, sleep=sleep)
        self._tz_name = timezone
        self._tz: ZoneInfo | None = None
        self._taxrates: dict[str, Raw] | None = None
        # Per-run caches: a source object lives for one run, so nothing here goes stale.
        self._cache: dict[str, dict[str, list[Raw]]] = {
            "jobmaterial": {},
            "company": {},
            "companycontact": {},
        }

    @property
    def calls(self) -> dict[str, int]:
        return dict(self._counter.counts)

    # -- transport ---------------------------------------------------------------------------------

    def _get(self, path: str, query: str) -> requests.Response:
        url = f"{self.base_url}/{path}" + (f"?{query}" if query else "")
        response = request_with_retries(
            self._session,
            "GET",
            url,
            sleep=self._sleep,
            counter=self._counter,
            limiter=self._limiter,
            platform="ServiceM8",
        )
        if response.status_code != 200:
            hint = "; check source.base_url" if response.status_code == 404 else ""
            raise UnreachableError(
                f"ServiceM8 answered HTTP {response.status_code} for {path}: {platform_message(response)}{hint}"
            )
        return response

    def _list(self, resource: str, conditions: Sequence[tuple[str, str, str | int]]) -> list[Raw]:
        """Every record matching `conditions`, following `x-next-cursor` across pages."""
        query = encode_filter(conditions) if conditions else ""
        rows: list[Raw] = []
        cursor, seen = "-1", set()
        for _ in range(PAGE_LIMIT):
            response = self._get(f"{resource}.json", "&".join(p for p in (query, f"cursor={cursor}") if p))
            try:
                page = response.json()
            except ValueError as exc:
                raise UnreachableError(f"ServiceM8 sent something other than JSON for {resource}.json") from exc
            if not isinstance(page, list):
                raise UnreachableError(f"ServiceM8 sent an unexpected {type(page).__name__} for {resource}.json")
            rows.extend(r for r in page if isinstance(r, dict))
            cursor = response.headers.get("x-next-cursor", "")
            if not cursor or cursor in seen:
                break
            seen.add(cursor)
        return rows

    # -- reference data -------------------------------------------------------------------------------

    def timezone(self) -> ZoneInfo:
        """The account's timezone: ServiceM8 timestamps are naive, in this zone."""
        if self._tz is None:
            # The account's own zone wins: it is what ServiceM8 wrote the times in. source.timezone is
            # the fallback for an account that states none (or one this machine does not know).
            vendors = self._list("vendor", ())
            name = next((v.get("timezone_name") for v in vendors if v.get("timezone_name")), None)
            try:
                self._tz = ZoneInfo(name) if name else ZoneInfo(self._tz_name or "UTC")
            except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
                if self._tz_name:
                    self._tz = ZoneInfo(self._tz_name)
                else:
                    raise UnreachableError(
                        f"ServiceM8 vendor timezone {echo(name)} is unknown: set source.timezone to the account's zone"
                    ) from exc
        return self._tz

    def _taxrate(self, uid: str) -> Raw | None:
        if self._taxrates is None:
            self._taxrates = {r["uuid"]: r for r in self._list("taxrate", ()) if r.get("uuid")}
        return self._taxrates.get(uid)

    def _related(
        self, resource: str, key: str, wanted: set[str], bulk: list[tuple[str, str, str | int]]
    ) -> dict[str, list[Raw]]:
        """Records of `resource` whose `key` is in `wanted`, grouped by key, cached for the run.

        `$filter` has no `or`/`in`, so N keys cost N filtered calls. Past `bulk_threshold` keys one
        paged read of all active records (5,000 per page) is cheaper against 180/min and 20,000/day.
        A bulk read filtered by edit_date would miss materials added before the watermark to jobs
        completed after it, so the bulk read is not narrowed by date.
        """
        cache = self._cache[resource]
        missing = sorted(wanted - cache.keys())
        if len(missing) > self.bulk_threshold:
            rows = self._list(resource, [("active", "eq", 1), *bulk])
        else:
            rows = [r for k in missing for r in self._list(resource, [(key, "eq", k), ("active", "eq", 1), *bulk])]
        fresh: dict[str, list[Raw]] = {k: [] for k in missing}
        seen: set[str] = set()
        for row in rows:  # also filter here: the server may have ignored the filter
            k, uid = str(row.get(key, "")), str(row.get("uuid"))
            if k in fresh and _truthy(row.get("active", 1)) and uid not in seen:
                seen.add(uid)
                fresh[k].append(row)
        cache.update(fresh)
        return {k: cache[k] for k in wanted}

    # -- the JobSource protocol ----------------------------------------------------------------------

    def changed_since(self, mark: datetime) -> list[Job]:
        if mark.tzinfo is None:
            raise ValueError("mark must be timezone-aware")
        # gt on whole seconds in local time; the strict comparison on aware times happens below.
        local = mark.astimezone(self.timezone()).replace(microsecond=0, tzinfo=None)
        raws: dict[str, Raw] = {}
        for status in self.statuses:
            conditions: list[tuple[str, str, str | int]] = [
                ("status", "eq", status),
                ("edit_date", "gt", str(local)),
                ("active", "eq", 1),
            ]
            for raw in self._list("job", conditions):
                changed = self._time_field(raw, "edit_date", [])
                if self._billable(raw) and changed is not None and changed > mark:
                    raws.setdefault(str(raw.get("uuid")), raw)
        return self._build(list(raws.values()))

    def get_jobs(self, ids: Sequence[str]) -> list[Job]:
        wanted = {str(i) for i in ids}
        if not wanted:
            return []
        if len(wanted) > self.bulk_threshold:
            rows = [r for s in self.statuses for r in self._list("job", [("status", "eq", s), ("active", "eq", 1)])]
        else:
            rows = [r for i in sorted(wanted) for r in self._list("job", [("uuid", "eq", i), ("active", "eq", 1)])]
        raws: dict[str, Raw] = {}
        for raw in rows:
            uid = str(raw.get("uuid"))
            if uid in wanted and self._billable(raw):
                raws.setdefault(uid, raw)
        return self._build(list(raws.values()))

    def _billable(self, raw: Raw) -> bool:
        if raw.get("status") not in self.statuses or not _truthy(raw.get("active", 1)):
            return False
        # payment_processed: exported to the accounting package already; never bill it twice.
        return not (self.skip_exported and _truthy(raw.get("payment_processed", 0)))

    # -- mapping -------------------------------------------------------------------------------------

    def _build(self, raws: list[Raw]) -> list[Job]:
        if not raws:
            return []
        uids = {str(r["uuid"]) for r in raws}
        companies = {str(r.get("company_uuid") or "") for r in raws} - {""}
        materials = self._related("jobmaterial", "job_uuid", uids, [])
        company_rows = self._related("company", "uuid", companies, [])
        contacts = self._related("companycontact", "company_uuid", companies, [("type", "eq", "BILLING")])
        jobs = []
        for raw in raws:
            cid = str(raw.get("company_uuid") or "")
            company = next(iter(company_rows.get(cid) or []), None)
            billing = [c for c in contacts.get(cid, []) if str(c.get("type", "")).upper() == "BILLING"]
            jobs.append(
                read_or_hold(
                    self.name,
                    raw.get("uuid"),
                    raw.get("generated_job_id"),
                    lambda: self._job(raw, materials[str(raw["uuid"])], company, billing),  # noqa: B023
                )
            )
        return sorted(jobs, key=lambda j: (j.changed_at, j.id))

    def _parse_time(self, value: Any) -> datetime | None:
        """A naive ServiceM8 timestamp in the account's zone → aware UTC; None for "no date"."""
        text = str(value or "").strip()
        if text in NO_DATES:
            return None
        for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
            try:
                naive = datetime.strptime(text, fmt)
            except ValueError:
                continue
            return naive.replace(tzinfo=self.timezone()).astimezone(UTC)
        raise ValueError(f"unreadable timestamp {echo(text)}")

    def _time_field(self, raw: Raw, field: str, problems: list[str]) -> datetime | None:
        try:
            return self._parse_time(raw.get(field))
        except ValueError as exc:
            problems.append(f"{field}: {exc}")
            return None

    def _job(self, raw: Raw, materials: list[Raw], company: Raw | None, billing: list[Raw]) -> Job:
        problems: list[str] = []
        uid = str(raw["uuid"])
        number = str(raw.get("generated_job_id") or "").strip()
        if not number:
            problems.append("job has no generated_job_id (job number)")
        changed = self._time_field(raw, "edit_date", problems)
        if changed is None:
            problems.append("job has no usable edit_date")
        client = self._client(raw, company, billing, problems)
        ordered = sorted(materials, key=lambda m: (_sort_key(m.get("sort_order")), str(m.get("uuid"))))
        lines = tuple(line for m in ordered if (line := self._line(m, problems)) is not None)
        extras = {
            "job_address": raw.get("job_address"),
            "job_description": raw.get("job_description"),
            "work_done_description": raw.get("work_done_description"),
            "total_invoice_amount": raw.get("total_invoice_amount"),
            "category_uuid": raw.get("category_uuid"),
        }
        return Job(
            source=self.name,
            id=uid,
            number=number or uid,
            status=str(raw.get("status", "")),
            changed_at=changed or datetime.fromtimestamp(0, UTC),
            completed_at=self._time_field(raw, "completion_date", problems),
            client=client,
            lines=lines,
            problems=tuple(problems),
            purchase_order=str(raw.get("purchase_order_number") or "").strip() or None,
            url=self.job_url.format(uuid=uid),
            # [UNVERIFIED] total_invoice_amount read as the job's total including tax.
            source_total=_amount(raw.get("total_invoice_amount")),
            fields=tuple((k, str(v)) for k, v in extras.items() if v not in (None, "")),
        )

    def _client(self, raw: Raw, company: Raw | None, billing: list[Raw], problems: list[str]) -> Client | None:
        cid = str(raw.get("company_uuid") or "")
        if not cid:
            problems.append("job has no client (company_uuid is empty)")
            return None
        if company is None or not str(company.get("name") or "").strip():
            problems.append(f"client {cid} not found or has no name in ServiceM8")
            return None
        primary = sorted(billing, key=lambda c: not _truthy(c.get("is_primary_contact")))
        contact = primary[0] if primary else {}
        parts = ("address_street", "address_city", "address_state", "address_postcode", "address_country")
        address = ", ".join(str(company[p]) for p in parts if company.get(p)) or company.get("address") or None
        return Client(
            id=cid,
            name=str(company["name"]).strip(),
            email=str(contact.get("email") or "").strip() or None,
            phone=str(contact.get("phone") or contact.get("mobile") or "").strip() or None,
            address=address,
        )

    def _line(self, m: Raw, problems: list[str]) -> JobLine | None:
        name = str(m.get("name") or "").strip() or "(no description)"
        inclusive = _truthy(m.get("displayed_amount_is_tax_inclusive"))
        # `price` is always ex-tax; `displayed_amount` is what the client saw, inc-tax when flagged.
        price_field = "displayed_amount" if inclusive else "price"
        try:
            quantity = Decimal(str(m.get("quantity")).strip())
            price = Decimal(str(m.get(price_field)).strip())
            if not (quantity.is_finite() and price.is_finite()):
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            problems.append(
                f"line {echo(name)}: quantity {echo(m.get('quantity'))} / {price_field}"
                f" {echo(m.get(price_field))} is not a number"
            )
            return None
        tax = self._taxrate(str(m.get("tax_rate_uuid") or ""))
        labour = bool(self._labour.search(name))
        return JobLine(
            kind="labour" if labour else "material",
            description=name,
            quantity=quantity,
            unit_price=price,
            tax_code=str(tax["name"]) if tax else (str(m.get("tax_rate_uuid") or "") or None),
            tax_rate=parse_rate(str(tax.get("amount"))) if tax else None,
            hours=quantity if labour else None,
            rate=price if labour else None,
            tax_inclusive=inclusive,
        )


def _amount(value: Any) -> Decimal | None:
    """A money string from ServiceM8, or None when it is absent or not a finite number."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return amount if value not in (None, "") and amount.is_finite() else None


def _sort_key(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0
