"""simPRO (REST v1.0, bearer token) as a JobSource.

`base_url` is the company root, `https://{build}.simprosuite.com/api/v1.0/companies/{companyID}`.
Jobs come from one paged list per billable stage filtered by `DateModified`; where their items are,
from `GET /jobCostCenters/` for the whole batch (`simpro_centres`); their lines from six item lists per
cost centre. Calls per job are therefore 6 x C (item kinds per cost centre) + 1 per new customer, plus
a page of cost centres per 50 jobs: about 7 for the common one-centre job. `calls` shows the real count.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import requests

from jobsync.core.errors import UnreachableError, echo
from jobsync.core.models import Client, Job, JobLine
from jobsync.core.source_tax import parse_rate
from jobsync.net.http import CallCounter, RateLimiter, make_session, platform_message, request_with_retries
from jobsync.sources.base import read_or_hold
from jobsync.sources.simpro_centres import centres_by_job

PAGE_SIZE = 250  # the largest page simPRO is known to serve [UNVERIFIED beyond third-party use]
PAGE_LIMIT = 1000
# Only documented columns: one unknown name fails the whole request with 422.
JOB_COLUMNS = (
    "ID",
    "Name",
    "Customer",
    "Site",
    "Stage",
    "Status",
    "OrderNo",
    "Type",
    "DateIssued",
    "CompletedDate",
    "DateModified",
    "Total",
)
_PRICED = ("ID", "BillableStatus", "SalesTaxCode", "Discount", "SellPrice", "Total", "DisplayOrder")
# Item kinds in the order their lines appear on the invoice: labour first, as trades invoices read.
ITEM_COLUMNS: dict[str, tuple[str, ...]] = {
    "labor": ("ID", "LaborType", "BillableStatus", "SalesTaxCode", "Discount", "SellPrice", "Total"),
    "catalogs": (*_PRICED, "Catalog"),
    "oneOffs": (*_PRICED, "Type", "PartNo", "Description"),
    "prebuilds": (*_PRICED, "Prebuild"),
    "serviceFees": (*_PRICED, "ServiceFee"),
    "contractorJobs": ("ID", "Contractor", "Status", "Description", "TaxCode", "Total"),
}
CUSTOMER_COLUMNS = ("ID", "Phone", "AltPhone", "Email", "Address", "BillingAddress")
Raw = dict[str, Any]


class SimproSource:
    """Jobs in a billable stage with their cost-centre items and customer."""

    def __init__(
        self,
        base_url: str,
        token: str,
        statuses: Sequence[str] = ("Complete",),
        name: str = "simpro",
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        *,
        clock: Callable[[], float] = time.monotonic,
        timezone: str = "Australia/Sydney",
        rate_per_second: int = 10,
        page_size: int = PAGE_SIZE,
        job_url: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.statuses = tuple(statuses)
        self.name = name
        self.page_size = page_size
        self.tz = ZoneInfo(timezone)
        # A link back for the bookkeeper. [UNVERIFIED] simPRO documents no deep-link format.
        self.job_url = job_url
        self._session = session or make_session()
        self._session.headers["Authorization"] = f"Bearer {token}"
        self._sleep = sleep
        self._counter = CallCounter()
        # Per rolling second: simPRO's 10/s is shared by the whole build.
        self._limiter = RateLimiter(rate_per_second, clock=clock, sleep=sleep, window=1)
        self._customers: dict[str, Client | None] = {}  # per run: a source object lives for one run
        self._centres: dict[str, list[tuple[str, str]]] = {}  # job id -> (section, cost centre), per batch

    @property
    def calls(self) -> dict[str, int]:
        return dict(self._counter.counts)

    # -- transport ---------------------------------------------------------------------------------

    def _get(self, path: str, params: Sequence[tuple[str, str]]) -> requests.Response:
        query = "&".join(f"{k}={quote(v, safe=',()')}" for k, v in params)
        url = f"{self.base_url}/{path}" + (f"?{query}" if query else "")
        return request_with_retries(
            self._session,
            "GET",
            url,
            sleep=self._sleep,
            counter=self._counter,
            limiter=self._limiter,
            platform="simPRO",
            credentials_setting="source.api_key",
        )

    def _json(self, response: requests.Response, path: str) -> Any:
        if response.status_code != 200:
            refused = platform_message(response)
            raise UnreachableError(f"simPRO answered HTTP {response.status_code} for {path}: {refused}")
        try:
            return response.json(parse_float=Decimal)  # money stays exact from the wire on
        except ValueError as exc:
            raise UnreachableError(f"simPRO sent something other than JSON for {path}") from exc

    def _list(self, path: str, params: Sequence[tuple[str, str]], columns: Sequence[str]) -> list[Raw]:
        """Every row of a list, page by page until `Result-Pages`."""
        rows: list[Raw] = []
        page, pages = 1, 1
        while page <= min(pages, PAGE_LIMIT):
            query = [*params, ("columns", ",".join(columns)), ("pageSize", str(self.page_size)), ("page", str(page))]
            response = self._get(path, query)
            data = self._json(response, path)
            if not isinstance(data, list):
                raise UnreachableError(f"simPRO sent an unexpected {type(data).__name__} for {path}")
            rows.extend(r for r in data if isinstance(r, dict))
            try:
                pages = int(response.headers.get("Result-Pages", "1"))
            except ValueError:
                pages = 1
            page += 1
        return rows

    # -- the JobSource protocol ----------------------------------------------------------------------

    def changed_since(self, mark: datetime) -> list[Job]:
        if mark.tzinfo is None:
            raise ValueError("mark must be timezone-aware")
        # Whole seconds, build-local with its offset; the strict comparison on instants happens below.
        since = mark.astimezone(self.tz).replace(microsecond=0).isoformat()
        raws: dict[str, Raw] = {}
        for stage in self.statuses:
            params = [("Stage", stage), ("DateModified", f"gt({since})"), ("orderby", "DateModified")]
            for raw in self._list("jobs/", params, JOB_COLUMNS):
                changed = _instant(raw.get("DateModified"))
                if raw.get("Stage") in self.statuses and changed is not None and changed > mark:
                    raws.setdefault(str(raw.get("ID")), raw)
        return self._build(list(raws.values()))

    def get_jobs(self, ids: Sequence[str]) -> list[Job]:
        raws: dict[str, Raw] = {}
        for jid in dict.fromkeys(str(i) for i in ids):
            if not (jid.isascii() and jid.isdigit()):  # simPRO job ids are integers: nothing to ask for
                continue
            response = self._get(f"jobs/{jid}", [("columns", ",".join(JOB_COLUMNS))])
            if response.status_code == 404:
                continue
            raw = self._json(response, "jobs/{id}")
            if isinstance(raw, dict) and raw.get("Stage") in self.statuses:
                raws[jid] = raw
        return self._build(list(raws.values()))

    # -- mapping -------------------------------------------------------------------------------------

    def _build(self, raws: list[Raw]) -> list[Job]:
        ids = [str(r.get("ID")) for r in raws if str(r.get("ID")).isdigit()]
        self._centres = centres_by_job(self._list, ids) if ids else {}
        self._prefetch_customers(raws)
        jobs = [read_or_hold(self.name, r.get("ID"), r.get("ID"), partial(self._job, r)) for r in raws]
        return sorted(jobs, key=lambda j: (j.changed_at, j.id))

    def _job(self, raw: Raw) -> Job:
        problems: list[str] = []
        jid = str(raw.get("ID"))
        changed = _instant(raw.get("DateModified"))
        if changed is None:
            problems.append(f"DateModified {echo(raw.get('DateModified'))} is not an RFC 3339 time")
        lines = self._lines(jid, problems)
        status = raw.get("Status")
        status = status if isinstance(status, dict) else {}
        extras = {"job_name": raw.get("Name"), "simpro_status": status.get("Name"), "job_type": raw.get("Type")}
        return Job(
            source=self.name,
            id=jid,
            number=jid,  # simPRO shows the job ID as the job number
            status=str(raw.get("Stage", "")),
            changed_at=changed or datetime.fromtimestamp(0, UTC),
            completed_at=self._completed(raw.get("CompletedDate"), problems),
            client=self._client(raw.get("Customer"), problems),
            lines=tuple(lines),
            problems=tuple(problems),
            purchase_order=str(raw.get("OrderNo") or "").strip() or None,
            job_type=str(raw.get("Type") or "") or None,
            url=self.job_url.format(id=jid) if self.job_url else None,
            fields=tuple((k, str(v)) for k, v in extras.items() if v not in (None, "")),
        )

    def _completed(self, value: Any, problems: list[str]) -> datetime | None:
        """CompletedDate is documented as a date; a full timestamp is taken as it comes."""
        if value in (None, ""):
            return None
        text = str(value)
        try:
            if len(text) == 10:  # a date: the start of that day on the build's calendar keeps the date
                return datetime.combine(date.fromisoformat(text), datetime.min.time(), self.tz).astimezone(UTC)
        except ValueError:
            pass
        when = _instant(text)
        if when is None:
            problems.append(f"CompletedDate {echo(text)} is not a date")
        return when

    def _lines(self, jid: str, problems: list[str]) -> list[JobLine]:
        lines: list[JobLine] = []
        for section, centre in self._centres.get(jid, []):
            cc_path = f"jobs/{jid}/sections/{section}/costCenters/{centre}/"
            for kind, columns in ITEM_COLUMNS.items():
                items = self._list(f"{cc_path}{kind}/", [], columns)
                items.sort(key=lambda i: (_int(i.get("DisplayOrder")), _int(i.get("ID"))))
                lines.extend(line for i in items if (line := _line(kind, i, problems)) is not None)
        return lines

    def _client(self, ref: Any, problems: list[str]) -> Client | None:
        if not isinstance(ref, dict) or not ref.get("ID"):
            problems.append("job has no customer")
            return None
        cid = str(ref["ID"])
        if cid not in self._customers:
            self._customers[cid] = self._fetch_customer(cid, ref)
        client = self._customers[cid]
        if client is None:
            problems.append(f"customer {cid} not found in simPRO")
        return client

    def _fetch_customer(self, cid: str, ref: Raw) -> Client | None:
        # The job's Customer ref names a company or a person; ask the matching endpoint first.
        for kind in _kinds(ref):
            response = self._get(f"customers/{kind}/{cid}", [("columns", ",".join(CUSTOMER_COLUMNS))])
            if response.status_code == 404:
                continue
            return _client_of(cid, ref, self._json(response, f"customers/{kind}/{{id}}"))
        return None

    def _prefetch_customers(self, raws: list[Raw]) -> None:
        """The batch's customers in a few list calls (`ID=1,2,3`), not one call each."""
        refs = {str(r["Customer"]["ID"]): r["Customer"] for r in raws if _customer_ref(r)}
        wanted = {cid: ref for cid, ref in refs.items() if cid.isdigit() and cid not in self._customers}
        for attempt in (0, 1):  # the kind the ref suggests, then the other one for those not found
            by_kind: dict[str, list[str]] = {}
            for cid, ref in wanted.items():
                by_kind.setdefault(_kinds(ref)[attempt], []).append(cid)
            for kind, ids in by_kind.items():
                for start in range(0, len(ids), 50):
                    params = [("ID", ",".join(ids[start : start + 50]))]
                    for data in self._list(f"customers/{kind}/", params, CUSTOMER_COLUMNS):
                        cid = str(data.get("ID"))
                        if cid in wanted:
                            self._customers[cid] = _client_of(cid, wanted.pop(cid), data)
        for cid in wanted:  # in neither list: the job is held with "customer not found"
            self._customers[cid] = None


def _customer_ref(raw: Raw) -> bool:
    ref = raw.get("Customer")
    return isinstance(ref, dict) and bool(ref.get("ID"))


def _kinds(ref: Raw) -> tuple[str, str]:
    return ("companies", "individuals") if ref.get("CompanyName") else ("individuals", "companies")


def _client_of(cid: str, ref: Raw, data: Any) -> Client:
    data = data if isinstance(data, dict) else {}
    person = " ".join(str(ref.get(k) or "").strip() for k in ("GivenName", "FamilyName")).strip()
    name = str(ref.get("CompanyName") or "").strip() or person
    address = data.get("BillingAddress") or data.get("Address") or {}
    parts = ("Address", "City", "State", "PostalCode", "Country")
    return Client(
        id=cid,
        name=name or f"Customer {cid}",
        email=str(data.get("Email") or "").strip() or None,
        phone=str(data.get("Phone") or data.get("AltPhone") or "").strip() or None,
        address=", ".join(str(address[p]) for p in parts if isinstance(address, dict) and address.get(p)) or None,
    )


def _line(kind: str, item: Raw, problems: list[str]) -> JobLine | None:
    """One cost-centre item as a JobLine; None for a non-billable item or one that cannot be read."""
    if str(item.get("BillableStatus") or "Billable") != "Billable":  # NonBillable, NonBillableIncludeCosts
        return None
    ref = (
        item.get(
            {
                "labor": "LaborType",
                "catalogs": "Catalog",
                "prebuilds": "Prebuild",
                "serviceFees": "ServiceFee",
                "contractorJobs": "Contractor",
            }.get(kind, "")
        )
        or {}
    )
    description = str(item.get("Description") or ref.get("Name") or "").strip() or "(no description)"
    line_kind = {"labor": "labour", "serviceFees": "fee", "contractorJobs": "subcontractor"}.get(kind, "material")
    if kind == "oneOffs" and str(item.get("Type")) == "Labor":
        line_kind = "labour"
    total = item.get("Total") or {}
    qty: Any
    if kind == "contractorJobs":  # a whole subcontract: one unit at its ex-tax total
        qty, price, tax = 1, total.get("ExTax"), item.get("TaxCode")
    else:
        sell = item.get("SellPrice") or {}
        qty, price, tax = total.get("Qty"), sell.get("ExDiscountExTax", sell.get("ExTax")), item.get("SalesTaxCode")
    try:
        quantity, unit = Decimal(str(qty).strip()), Decimal(str(price).strip())
        discount = Decimal(str(item.get("Discount") or 0))
        if not (quantity.is_finite() and unit.is_finite() and discount.is_finite()):
            raise InvalidOperation
    except (InvalidOperation, ValueError):
        problems.append(
            f"line {echo(description)} ({kind}): quantity {echo(qty)} / price {echo(price)} is not a number"
        )
        return None
    labour = line_kind == "labour"
    return JobLine(
        kind=line_kind,
        description=description,
        quantity=quantity,
        unit_price=unit,
        discount_rate=discount or None,  # [UNVERIFIED] simPRO's item Discount read as a percentage
        item_code=str(ref.get("PartNo") or item.get("PartNo") or "").strip() or None,
        tax_code=str((tax or {}).get("Code") or "").strip() or None,
        tax_rate=parse_rate(str((tax or {}).get("Rate"))) if isinstance(tax, dict) and "Rate" in tax else None,
        hours=quantity if labour else None,
        rate=unit if labour else None,
        source_kind=str(item.get("Type") or kind) if kind == "oneOffs" else kind,
    )


def _instant(value: Any) -> datetime | None:
    """RFC 3339 with an offset → aware UTC; simPRO sometimes writes `2026-08-30 09:12:44+10`."""
    text = str(value or "").strip().replace(" ", "T")
    if re.search(r"T.*[+-]\d{2}$", text):
        text += ":00"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when.astimezone(UTC) if when.tzinfo else None


def _int(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        return 0
