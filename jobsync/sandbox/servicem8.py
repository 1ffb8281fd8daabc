"""A loopback ServiceM8 REST API (api_1.0) emulator, shaped by ServiceM8's public OpenAPI spec and docs.

Quirks reproduced on purpose, because a connector must survive them:
- `$filter`: `field op value` joined by `and` only, ops eq/ne/gt/lt (no ge/le), at most 10 conditions,
  strings in single quotes. A filter it cannot read is silently IGNORED and every record returned.
  Values are percent-decoded only: a form-encoded filter (`+` for spaces) is unreadable, hence ignored.
- Cursor paging: `cursor=-1` starts, the `x-next-cursor` header carries the next cursor (the last uuid
  of the page; records are ordered by uuid), absent on the last page. Without `cursor` everything is
  returned in one response.
- Numbers as strings, `active` 0/1, `0000-00-00 00:00:00` for "no date", naive timestamps in the
  account's timezone (`vendor.json` timezone_name).
- `X-API-Key` auth, or an OAuth app's bearer token (401 otherwise; see servicem8_app); HTTP 429 with
  a text body past `rate_per_minute`.

Standard library only: it must not share code with the connector it checks.
"""

from __future__ import annotations

import json
import re
import uuid as uuidlib
from collections import deque
from collections.abc import Callable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from zoneinfo import ZoneInfo

from jobsync.sandbox import servicem8_writes
from jobsync.sandbox.loopback import LoopbackServer, Reply, json_reply, text_reply
from jobsync.sandbox.servicem8_app import PublicApp

READ_ONLY = ("job", "jobmaterial", "company", "companycontact", "taxrate", "vendor", "material")
RESOURCES: tuple[str, ...] = READ_ONLY + servicem8_writes.WRITABLE
NO_DATE = "0000-00-00 00:00:00"
MAX_CONDITIONS = 10
SEED_PATH = Path(__file__).parent / "data" / "servicem8_seed.json"
RATE_MESSAGE = "Number of allowed API requests per minute exceeded"

_CONDITION = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*) (eq|ne|gt|lt) ('(?:[^']|'')*'|-?\d+(?:\.\d+)?)$")
_AND = re.compile(r" and ", re.IGNORECASE)

Condition = tuple[str, str, str]

# Field defaults per resource: what a fresh record looks like on the wire.
_DEFAULTS: dict[str, dict[str, Any]] = {
    "job": {
        "active": 1,
        "status": "Quote",
        "company_uuid": "",
        "date": "0000-00-00",
        "job_address": "",
        "billing_address": "",
        "job_description": "",
        "work_done_description": "",
        "generated_job_id": "",
        "purchase_order_number": "",
        "total_invoice_amount": None,  # None: worked out from the job's materials when served, as ServiceM8 does
        "category_uuid": "",
        "invoice_sent": 0,
        "invoice_sent_stamp": NO_DATE,
        "payment_processed": 0,
        "payment_processed_stamp": NO_DATE,
        "payment_received": 0,
        "payment_received_stamp": NO_DATE,
        "completion_date": NO_DATE,
        "quote_date": NO_DATE,
        "work_order_date": NO_DATE,
        "unsuccessful_date": NO_DATE,
        "geo_is_valid": 0,
        "lat": 0.0,
        "lng": 0.0,
        "badges": "[]",
    },
    "jobmaterial": {
        "active": 1,
        "job_uuid": "",
        "material_uuid": "",
        "name": "",
        "quantity": "1",
        "price": "0.00",
        "displayed_amount": "0.00",
        "displayed_amount_is_tax_inclusive": "0",
        "tax_rate_uuid": "",
        "sort_order": "1",
        "cost": "0.00",
        "displayed_cost": "0.00",
        "job_material_bundle_uuid": "",
    },
    "company": {
        "active": 1,
        "name": "",
        "abn_number": "",
        "address": "",
        "billing_address": "",
        "is_individual": 0,
        "parent_company_uuid": "",
        "address_street": "",
        "address_city": "",
        "address_state": "",
        "address_postcode": "",
        "address_country": "",
        "tax_rate_uuid": "",
        "payment_terms": "",
        "billing_attention": "",
        "website": "",
        "fax_number": "",
        "badges": "[]",
    },
    "companycontact": {
        "active": 1,
        "company_uuid": "",
        "first": "",
        "last": "",
        "phone": "",
        "mobile": "",
        "email": "",
        "type": "JOB",
        "is_primary_contact": "0",
    },
    "taxrate": {"active": 1, "name": "", "amount": "0", "is_default_tax_rate": 0},
    "vendor": {
        "active": 1,
        "name": "",
        "timezone_name": "Australia/Sydney",
        "currency": "AUD",
        "default_region": "AU",
        "email": "",
    },
    "material": {
        "active": 1,
        "name": "",
        "item_number": "",
        "price": "0.00",
        "cost": "0.00",
        "price_includes_taxes": 0,
        "tax_rate_uuid": "",
    },
    **servicem8_writes.DEFAULTS,
}


def parse_filter(text: str) -> list[Condition] | None:
    """The conditions of a `$filter`, or None when ServiceM8 could not read it (and would ignore it)."""
    parts = _AND.split(text.strip())
    if not parts or len(parts) > MAX_CONDITIONS:
        return None
    conditions: list[Condition] = []
    for part in parts:
        m = _CONDITION.match(part.strip())
        if not m:
            return None
        field, op, raw = m.groups()
        value = raw[1:-1].replace("''", "'") if raw.startswith("'") else raw
        conditions.append((field, op, value))
    return conditions


def _compare(actual: Any, op: str, wanted: str) -> bool:
    left: Any = "" if actual is None else str(actual)
    right: Any = wanted
    try:  # numbers compare as numbers, everything else (dates included) as strings
        left, right = float(left), float(right)
    except ValueError:
        pass
    answers: dict[str, bool] = {"eq": left == right, "ne": left != right, "gt": left > right, "lt": left < right}
    return answers[op]


def matches(record: dict[str, Any], conditions: list[Condition]) -> bool:
    return all(_compare(record.get(f), op, v) for f, op, v in conditions)


class ServiceM8Sandbox(LoopbackServer):
    """Serve ServiceM8-shaped data on loopback. Use as a context manager or start()/stop()."""

    base_path = "/api_1.0"
    disable_nagle = True  # headers and body go out in two writes; Nagle plus a delayed ACK would add 40 ms

    def __init__(
        self,
        port: int = 0,
        api_key: str = "sm8-sandbox-key",
        rate_per_minute: int = 180,
        clock: Callable[[], float] | None = None,
        page_size: int = 5000,
    ) -> None:
        super().__init__(port, clock)
        self.api_key = api_key
        self.rate_per_minute = rate_per_minute
        self.page_size = page_size
        self.records: dict[str, dict[str, dict[str, Any]]] = {r: {} for r in RESOURCES}
        self.request_log: list[dict[str, Any]] = []
        self.ignored_filters: list[str] = []  # filters that could not be read, hence ignored
        self.honour_filters = True  # False: behave as if every filter were unreadable
        self._failures: deque[int] = deque()
        self.files: dict[str, bytes] = {}  # attachment uuid -> the file's bytes
        self.public_app = PublicApp()  # OAuth tokens and webhook subscriptions (servicem8_app)

    # -- data ------------------------------------------------------------------------------------

    def put(self, resource: str, **fields: Any) -> str:
        """Insert or update a record (merged over the resource's defaults); returns its uuid."""
        with self._lock:
            uid = str(fields.pop("uuid", None) or uuidlib.uuid4())
            record = self.records[resource].get(uid) or {"uuid": uid, **_DEFAULTS[resource]}
            fields.setdefault("edit_date", self.local_now())  # any change bumps edit_date, as live
            record.update(fields)
            self.records[resource][uid] = record
            return uid

    def add_job(self, **fields: Any) -> str:
        return self.put("job", **fields)

    def add_material(self, job_uuid: str, **fields: Any) -> str:
        return self.put("jobmaterial", job_uuid=job_uuid, **fields)

    def add_company(self, **fields: Any) -> str:
        return self.put("company", **fields)

    def add_contact(self, company_uuid: str, **fields: Any) -> str:
        return self.put("companycontact", company_uuid=company_uuid, **fields)

    def add_taxrate(self, **fields: Any) -> str:
        return self.put("taxrate", **fields)

    def set_vendor(self, **fields: Any) -> str:
        existing = next(iter(self.records["vendor"]), None)
        return self.put("vendor", **({"uuid": existing} if existing else {}), **fields)

    def load_seed(self, path: Path | str = SEED_PATH) -> ServiceM8Sandbox:
        """Load a seed file: {"resource": [record, ...], ...}."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        for resource, rows in data.items():
            if resource in RESOURCES:
                for row in rows:
                    self.put(resource, **row)
        return self

    def timezone(self) -> ZoneInfo:
        vendor = next(iter(self.records["vendor"].values()), None)
        return ZoneInfo((vendor or {}).get("timezone_name") or "Australia/Sydney")

    def local_now(self) -> str:
        return datetime.now(self.timezone()).strftime("%Y-%m-%d %H:%M:%S")

    def add_attachment(self, job_uuid: str, name: str, data: bytes, file_type: str = "") -> str:
        """A photo or document on a job, with its bytes."""
        uid = self.put(
            "attachment", related_object="job", related_object_uuid=job_uuid, attachment_name=name, file_type=file_type
        )
        self.files[uid] = data
        return uid

    def fail_next(self, *statuses: int) -> None:
        """The next requests (after auth) answer these statuses, e.g. fail_next(500, 429)."""
        with self._lock:
            self._failures.extend(statuses)

    # -- serving ---------------------------------------------------------------------------------

    def handle(self, path: str, headers: dict[str, str]) -> Reply:
        """Answer one GET: (status, headers, body)."""
        split = urlsplit(path)
        params = _query(split.query)
        with self._lock:
            entry: dict[str, Any] = {"path": split.path, "params": params, "raw_query": split.query}
            self.request_log.append(entry)
            status, extra, body = self._answer(split.path, params, headers)
            entry["status"] = status
        return status, extra, body

    def handle_write(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        with self._lock:
            entry: dict[str, Any] = {"path": urlsplit(path).path, "method": method, "body": body}
            self.request_log.append(entry)
            app_side = self.public_app.handle(urlsplit(path).path, headers, body) if method == "POST" else None
            refused = None if app_side else self._refused(headers)
            status, extra, reply = app_side or refused or servicem8_writes.write(self, method, path, body)
            entry["status"] = status
        return status, extra, reply

    def _refused(self, headers: dict[str, str]) -> Reply | None:
        """Auth, the rate limit and injected failures: what any request meets first."""
        if headers.get("x-api-key") != self.api_key and not self.public_app.bearer_ok(headers):
            return text_reply(401, "Unauthorized: missing or invalid X-API-Key or bearer token")
        if self._rate_exceeded(self.rate_per_minute, 60):
            return text_reply(429, RATE_MESSAGE)
        if self._failures:
            status = self._failures.popleft()
            return text_reply(status, RATE_MESSAGE if status == 429 else "Internal Server Error")
        return None

    def _answer(self, path: str, params: dict[str, str], headers: dict[str, str]) -> Reply:
        refused = self._refused(headers)
        if refused:
            return refused
        download = servicem8_writes.read_file(self, path)
        if download is not None:
            return download
        m = re.fullmatch(r"/api_1\.0/([a-z]+)(?:/([0-9a-fA-F-]+))?\.json", path)
        if not m or m.group(1) not in RESOURCES:
            return text_reply(404, "Not Found")
        resource, uid = m.groups()
        if uid:
            record = self.records[resource].get(uid)
            return json_reply(record) if record else text_reply(404, "Not Found")
        return self._list(resource, params)

    def _list(self, resource: str, params: dict[str, str]) -> Reply:
        rows = [self._served(resource, self.records[resource][k]) for k in sorted(self.records[resource])]
        if "$filter" in params:
            conditions = parse_filter(params["$filter"]) if self.honour_filters else None
            if conditions is None:
                self.ignored_filters.append(params["$filter"])
            else:
                rows = [r for r in rows if matches(r, conditions)]
        cursor = params.get("cursor")
        if cursor is None:
            return json_reply(rows)
        if cursor != "-1":
            rows = [r for r in rows if r["uuid"] > cursor]
        page = rows[: self.page_size]
        extra = {"x-next-cursor": page[-1]["uuid"]} if len(rows) > len(page) else {}
        status, headers, body = json_reply(page)
        return status, {**headers, **extra}, body

    def _served(self, resource: str, record: dict[str, Any]) -> dict[str, Any]:
        if resource != "job" or record.get("total_invoice_amount") is not None:
            return record
        return {**record, "total_invoice_amount": self._job_total(record["uuid"])}

    def _job_total(self, job_uuid: str) -> str:
        """The job's invoice total with tax, from its active materials: each line's amount and tax
        rounded to cents, as an invoice of those lines would show it. Read-only on the live API."""
        rates = {r["uuid"]: Decimal(str(r.get("amount") or 0)) for r in self.records["taxrate"].values()}
        total = Decimal("0")
        for m in self.records["jobmaterial"].values():
            if m.get("job_uuid") != job_uuid or str(m.get("active")) != "1":
                continue
            try:
                quantity = Decimal(str(m.get("quantity")))
                if str(m.get("displayed_amount_is_tax_inclusive")) == "1":
                    total += _cents(quantity * Decimal(str(m.get("displayed_amount"))))
                    continue
                amount = _cents(quantity * Decimal(str(m.get("price"))))
                total += amount + _cents(amount * rates.get(str(m.get("tax_rate_uuid")), Decimal(0)) / 100)
            except ArithmeticError:
                continue  # a value no real ServiceM8 would store: it adds nothing to the total
        return f"{total:.2f}"


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _query(raw: str) -> dict[str, str]:
    # Percent-decoding only, never `+` → space: see the module docstring.
    out: dict[str, str] = {}
    for pair in raw.split("&"):
        if pair:
            key, _, value = pair.partition("=")
            out[unquote(key)] = unquote(value)
    return out


def main() -> None:  # pragma: no cover - manual use: python -m jobsync.sandbox.servicem8
    with ServiceM8Sandbox(port=8089).load_seed() as sandbox:
        print(f"ServiceM8 sandbox at {sandbox.url} (X-API-Key: {sandbox.api_key}); Ctrl-C stops it")
        sandbox.wait_for_interrupt()


if __name__ == "__main__":  # pragma: no cover
    main()
