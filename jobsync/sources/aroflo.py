"""AroFlo (HMAC-SHA512 signed zone API) as a JobSource.

Every request is signed afresh (the server rejects a stale `afdatetimeutc`), carries an explicit WHERE
(without one AroFlo silently narrows tasks to the last 30 days), and counts against a 2,000-a-day
budget shared with every other integration on the account: the source stops with `StoppedError`
before spending the last of it. Calls per run: one page of up to 500 tasks per billable status
(materials and labour come joined), plus one clients read per 50 distinct clients.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from functools import partial
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import requests

from jobsync.core.errors import StoppedError, UnreachableError, echo
from jobsync.core.models import Client, Job, JobLine
from jobsync.core.source_tax import parse_rate
from jobsync.net.http import CallCounter, RateLimiter, make_session, request_with_retries
from jobsync.sources.base import read_or_hold

DEFAULT_BASE_URL = "https://api.aroflo.com/"
PAGE_SIZE = 500  # AroFlo's maximum
PAGE_LIMIT = 200
IDS_PER_CALL = 50  # keeps an IN list well inside URL limits
RETRY_HEADROOM = 5  # a request may be retried up to 4 times: never start one that could cross the budget
ACCEPT = "text/json"
Raw = dict[str, Any]


def sign(secret: str, parts: Sequence[str]) -> str:
    """HMAC-SHA512 over the '+'-joined request parts, hex."""
    return hmac.new(secret.encode(), "+".join(parts).encode(), hashlib.sha512).hexdigest()


def _where(field: str, op: str, value: str) -> str:
    return f"and|{field}|{op}|{value}"


class ArofloSource:
    """Completed AroFlo tasks not yet exported, with their materials, labour and client."""

    def __init__(
        self,
        base_url: str = DEFAULT_BASE_URL,
        uencoded: str = "",
        pencoded: str = "",
        org_encoded: str = "",
        secret_key: str = "",
        statuses: Sequence[str] = ("Completed",),
        name: str = "aroflo",
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        *,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        timezone: str = "Australia/Melbourne",
        daily_budget: int = 2000,
        rate_per_second: int = 1,
        page_size: int = PAGE_SIZE,
        skip_exported: bool = True,
        host_ip: str | None = None,
    ) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.statuses = tuple(statuses)
        self.name = name
        self.tz = ZoneInfo(timezone)  # completeddatetime is org-local; *utc fields are UTC
        self.daily_budget = daily_budget
        self.page_size = min(page_size, PAGE_SIZE)
        self.skip_exported = skip_exported
        self._authorization = f"uencoded={uencoded}&pencoded={pencoded}&orgEncoded={org_encoded}"
        self._secret = secret_key
        self._host_ip = host_ip
        self._session = session or make_session()
        self._sleep = sleep
        self._now = now
        self._counter = CallCounter()
        # Per rolling second: AroFlo's doc says 1/s in one place, 3/s in another.
        self._limiter = RateLimiter(rate_per_second, clock=clock, sleep=sleep, window=1)
        self._daily_remaining: int | None = None
        self._clients: dict[str, Raw | None] = {}

    @property
    def calls(self) -> dict[str, int]:
        return dict(self._counter.counts)

    # -- transport ---------------------------------------------------------------------------------

    def _headers(self, query: str) -> dict[str, str]:
        stamp = self._now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        parts = ["GET", *([self._host_ip] if self._host_ip else []), "", ACCEPT, self._authorization, stamp, query]
        headers = {
            "Accept": ACCEPT,
            "Authorization": self._authorization,
            "afdatetimeutc": stamp,
            "Authentication": f"HMAC {sign(self._secret, parts)}",
        }
        if self._host_ip:
            headers["HostIP"] = self._host_ip
        return headers

    def _check_budget(self) -> None:
        used = self._counter.total
        left = self.daily_budget - used
        if self._daily_remaining is not None:
            left = min(left, self._daily_remaining)
        if left < RETRY_HEADROOM:
            raise StoppedError(
                f"AroFlo daily call budget nearly spent ({used} calls this run, {left} left of "
                f"{self.daily_budget}); stopped before exceeding it: the next run continues"
            )

    def _zone(self, zone: str, wheres: Sequence[str], join: str = "") -> list[Raw]:
        """Every row of a zone for these WHERE clauses, page by page (a short page is the last)."""
        if not wheres:  # AroFlo would silently apply its own default filter
            raise ValueError("an AroFlo query needs an explicit WHERE")
        rows: list[Raw] = []
        for page in range(1, PAGE_LIMIT + 1):
            params = [("zone", zone), *(("where", w) for w in wheres)]
            params += [("join", join)] if join else []
            params += [("page", str(page)), ("pageSize", str(self.page_size))]
            body = self._get("&".join(f"{k}={quote(v, safe='')}" for k, v in params), zone)
            found = body.get(zone)
            found = found if isinstance(found, list) else []
            rows.extend(r for r in found if isinstance(r, dict))
            if _int(body.get("currentpageresults"), len(found)) < _int(body.get("maxpageresults"), self.page_size):
                break
        return rows

    def _get(self, query: str, zone: str) -> Raw:
        self._check_budget()
        response = request_with_retries(
            self._session,
            "GET",
            f"{self.base_url}?{query}",
            sleep=self._sleep,
            counter=self._counter,
            limiter=self._limiter,
            platform="AroFlo",
            credentials_setting="source.aroflo.secret_key and the encoded credentials (or this machine's clock)",
            headers=self._headers(query),
        )
        remaining = response.headers.get("X-RateLimit-Daily-Remaining")
        if remaining is not None and remaining.isascii() and remaining.isdigit():
            self._daily_remaining = int(remaining)
        try:
            data = response.json(parse_float=Decimal)
        except ValueError as exc:
            raise UnreachableError(f"AroFlo sent something other than JSON for zone {zone}") from exc
        status = str(data.get("status", "")) if isinstance(data, dict) else ""
        if status == "7":
            raise StoppedError("AroFlo's daily API limit is reached: the next run continues after the reset")
        if response.status_code != 200 or status != "0":
            message = data.get("statusmessage") if isinstance(data, dict) else ""
            raise UnreachableError(f"AroFlo answered HTTP {response.status_code}, status {echo(status)}: {message}")
        zr = data.get("zoneresponse")
        return zr if isinstance(zr, dict) else {}

    # -- the JobSource protocol ----------------------------------------------------------------------

    def changed_since(self, mark: datetime) -> list[Job]:
        if mark.tzinfo is None:
            raise ValueError("mark must be timezone-aware")
        since = mark.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")  # `>` on whole seconds; strict check below
        raws: dict[str, Raw] = {}
        for status in self.statuses:
            wheres = [_where("status", "=", status.lower()), _where("lastupdateddatetimeutc", ">", since)]
            for raw in self._zone("tasks", wheres, join="material,labour"):
                changed = _utc(raw.get("lastupdateddatetimeutc"))
                if self._billable(raw) and changed is not None and changed > mark:
                    raws.setdefault(str(raw.get("taskid")), raw)
        return self._build(list(raws.values()))

    def get_jobs(self, ids: Sequence[str]) -> list[Job]:
        wanted = list(dict.fromkeys(str(i) for i in ids))
        raws: dict[str, Raw] = {}
        for start in range(0, len(wanted), IDS_PER_CALL):
            chunk = wanted[start : start + IDS_PER_CALL]
            for raw in self._zone("tasks", [_where("taskid", "IN", "*".join(chunk))], join="material,labour"):
                if str(raw.get("taskid")) in chunk and self._billable(raw):
                    raws.setdefault(str(raw.get("taskid")), raw)
        return self._build(list(raws.values()))

    def _billable(self, raw: Raw) -> bool:
        if str(raw.get("status", "")).lower() not in {s.lower() for s in self.statuses}:
            return False
        # linkprocessed: already exported to the accounting package by AroFlo itself; never bill twice.
        return not (self.skip_exported and str(raw.get("linkprocessed", "")).lower() == "true")

    # -- mapping -------------------------------------------------------------------------------------

    def _build(self, raws: list[Raw]) -> list[Job]:
        if not raws:
            return []
        self._load_clients({str((r.get("client") or {}).get("clientid") or "") for r in raws} - {""})
        jobs = [read_or_hold(self.name, r.get("taskid"), r.get("jobnumber"), partial(self._job, r)) for r in raws]
        return sorted(jobs, key=lambda j: (j.changed_at, j.id))

    def _load_clients(self, ids: set[str]) -> None:
        missing = sorted(ids - self._clients.keys())
        for start in range(0, len(missing), IDS_PER_CALL):
            chunk = missing[start : start + IDS_PER_CALL]
            found = {
                str(r.get("clientid")): r for r in self._zone("clients", [_where("clientid", "IN", "*".join(chunk))])
            }
            self._clients.update({cid: found.get(cid) for cid in chunk})

    def _job(self, raw: Raw) -> Job:
        problems: list[str] = []
        tid = str(raw.get("taskid"))
        changed = _utc(raw.get("lastupdateddatetimeutc"))
        if changed is None:
            problems.append(f"lastupdateddatetimeutc {echo(raw.get('lastupdateddatetimeutc'))} is unreadable")
        completed = _parse(raw.get("completeddatetime"), self.tz)
        lines = [line for lab in raw.get("labours") or [] if (line := _labour(lab, problems))]
        lines += [line for mat in raw.get("materials") or [] if (line := _material(mat, problems))]
        number = str(raw.get("jobnumber") or "").strip()
        extras = {"taskname": raw.get("taskname"), "refcode": raw.get("refcode")}
        return Job(
            source=self.name,
            id=tid,
            number=number or tid,
            status=str(raw.get("status", "")),
            changed_at=changed or datetime.fromtimestamp(0, UTC),
            completed_at=completed,
            client=self._client(raw, problems),
            lines=tuple(lines),
            problems=tuple(problems),
            purchase_order=str(raw.get("custon") or "").strip() or None,
            job_type=str(raw.get("tasktype") or "") or None,
            fields=tuple((k, str(v)) for k, v in extras.items() if v not in (None, "")),
        )

    def _client(self, raw: Raw, problems: list[str]) -> Client | None:
        ref = raw.get("client") or {}
        cid = str(ref.get("clientid") or "")
        if not cid:
            problems.append("task has no client")
            return None
        detail = self._clients.get(cid) or {}
        name = str(detail.get("clientname") or ref.get("clientname") or "").strip()
        if not name:
            problems.append(f"client {cid} has no name in AroFlo")
            return None
        address = detail.get("address") or {}
        parts = ("addressline1", "suburb", "state", "postcode", "country")
        return Client(
            id=cid,
            name=name,
            email=str(detail.get("email") or "").strip() or None,
            phone=str(detail.get("phone") or detail.get("mobile") or raw.get("contactphone") or "").strip() or None,
            address=", ".join(str(address[p]) for p in parts if address.get(p)) or None,
        )


def _number(values: Sequence[Any], label: str, problems: list[str]) -> list[Decimal] | None:
    try:
        out = [Decimal(str(v).strip()) for v in values]
        if not all(d.is_finite() for d in out):
            raise InvalidOperation
        return out
    except (InvalidOperation, ValueError):
        problems.append(f"line {label}: {' / '.join(repr(v) for v in values)} is not a number")
        return None


def _labour(lab: Raw, problems: list[str]) -> JobLine | None:
    description = str(lab.get("note") or lab.get("worktype") or "").strip() or "Labour"
    # [UNVERIFIED] `sell` read as the hourly sell rate ex tax.
    got = _number([lab.get("hours"), lab.get("sell")], repr(description), problems)
    if got is None:
        return None
    hours, rate = got
    return JobLine(
        kind="labour", description=description, quantity=hours, unit_price=rate, hours=hours, rate=rate, **_tax(lab)
    )


def _tax(record: Raw) -> dict[str, Any]:
    """[UNVERIFIED] A line's `taxcode` / `taxrate`, as AroFlo's invoice lines name them, when present."""
    code = str(record.get("taxcode") or "").strip() or None
    raw = record.get("taxrate")
    return {"tax_code": code, "tax_rate": parse_rate(str(raw)) if raw not in (None, "") else None}


def _material(mat: Raw, problems: list[str]) -> JobLine | None:
    description = str(mat.get("item") or "").strip() or "(no description)"
    got = _number([mat.get("quantity"), mat.get("sell")], repr(description), problems)
    if got is None:
        return None
    return JobLine(
        kind="material",
        description=description,
        quantity=got[0],
        unit_price=got[1],  # [UNVERIFIED] `sell` read as the unit sell price ex tax
        item_code=str(mat.get("partnumber") or "").strip() or None,
        **_tax(mat),
    )


def _parse(value: Any, tz: ZoneInfo) -> datetime | None:
    """`YYYY/MM/DD HH:MM:SS` (or with `-`) in `tz` → aware UTC; None when empty or unreadable."""
    text = str(value or "").strip().replace("-", "/")
    for fmt in ("%Y/%m/%d %H:%M:%S", "%Y/%m/%d"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=tz).astimezone(UTC)
        except ValueError:
            continue
    return None


def _utc(value: Any) -> datetime | None:
    return _parse(value, ZoneInfo("UTC"))


def _int(value: Any, default: int) -> int:
    try:
        return int(str(value))
    except ValueError:
        return default
