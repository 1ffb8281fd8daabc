"""A loopback simPRO REST API (v1.0) emulator, shaped by simPRO's public API reference.

Quirks reproduced on purpose, because a connector must survive them:
- Everything lives under `/api/v1.0/companies/{companyID}/`; `Authorization: Bearer <token>` or 401.
- Lists are thin (`ID` and a name or two) unless `columns=` asks for more; one unknown column name fails
  the WHOLE request with 422 `{"errors":[{"message":"Invalid columns found.","value":"<name>"}]}`.
- Paging by `page`/`pageSize` (at most 250), with `Result-Total` and `Result-Pages` response headers.
- Filters are query parameters named after a column: `Stage=Complete`, `DateModified=gt(<RFC 3339>)`
  (also ge/lt/le/ne); a naive time is build-local. Filtering on an unknown column is a 422 too.
- Line items are nested: job → sections → cost centres → catalogs / labor / oneOffs / prebuilds /
  serviceFees / contractorJobs, each item carrying BillableStatus, SalesTaxCode, Discount and SellPrice.
- `DateModified` is RFC 3339 with the build's offset; 10 requests per second per build, else 429.

Standard library only: it must not share code with the connector it checks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

from jobsync.sandbox.loopback import LoopbackServer, Reply, json_reply
from jobsync.sandbox.simpro_columns import COLUMNS, THIN
from jobsync.sandbox.simpro_writes import patch_job

SEED_PATH = Path(__file__).parent / "data" / "simpro_seed.json"
MAX_PAGE_SIZE = 250
ITEM_KINDS = ("catalogs", "labor", "oneOffs", "prebuilds", "serviceFees", "contractorJobs")
_OPS = {"gt", "ge", "lt", "le", "ne"}


class _Refused(Exception):
    """A request simPRO refuses as a whole (422 and friends); carries the reply."""

    def __init__(self, reply: Reply) -> None:
        super().__init__(reply[0])
        self.reply = reply


def _money(ex: Any, rate: Any = 10, discount: Any = 0) -> dict[str, Any]:
    """SellPrice as simPRO shows it: ExDiscount* is the price before the (percent) discount."""
    try:
        base = float(ex)
        after = round(base * (1 - float(discount) / 100), 4)
        factor = 1 + float(rate) / 100
        return {
            "ExTax": after,
            "IncTax": round(after * factor, 4),
            "ExDiscountExTax": base,
            "ExDiscountIncTax": round(base * factor, 4),
        }
    except (TypeError, ValueError):  # seeded malformed data goes out as it came in
        return {"ExTax": ex, "IncTax": ex, "ExDiscountExTax": ex, "ExDiscountIncTax": ex}


class SimproSandbox(LoopbackServer):
    """Serve simPRO-shaped data on loopback. Use as a context manager or start()/stop()."""

    def __init__(
        self,
        port: int = 0,
        token: str = "simpro-sandbox-token",
        company_id: int = 0,
        timezone: str = "Australia/Sydney",
        rate_per_second: int = 10,
        clock: Callable[[], float] | None = None,
    ) -> None:
        super().__init__(port, clock)
        self.token = token
        self.company_id = company_id
        self.tz = ZoneInfo(timezone)
        self.rate_per_second = rate_per_second
        self.jobs: dict[int, dict[str, Any]] = {}
        self.customers: dict[str, dict[int, dict[str, Any]]] = {"companies": {}, "individuals": {}}
        # job id -> section id -> {"section": {...}, "costCenters": {cc id -> {"cc": {...}, kind -> [items]}}}
        self.tree: dict[int, dict[int, dict[str, Any]]] = {}
        self.request_log: list[dict[str, Any]] = []
        self._next_id = 1000

    @property
    def url(self) -> str:
        """The connector's `source.base_url`: the company root."""
        return f"{self.origin}/api/v1.0/companies/{self.company_id}"

    # -- data ------------------------------------------------------------------------------------

    def _id(self, wanted: int | None = None) -> int:
        with self._lock:
            if wanted is not None:
                return int(wanted)
            self._next_id += 1
            return self._next_id

    def stamp(self, when: datetime | None = None) -> str:
        """An instant as simPRO writes DateModified: RFC 3339 in build-local time with its offset."""
        return (when or datetime.now(self.tz)).astimezone(self.tz).isoformat(timespec="seconds")

    def add_company(self, name: str, id: int | None = None, **fields: Any) -> int:
        cid = self._id(id)
        self.customers["companies"][cid] = {
            "ID": cid,
            "CompanyName": name,
            "Phone": "",
            "AltPhone": "",
            "Email": "",
            "Address": {},
            "BillingAddress": {},
            "DateModified": self.stamp(),
            **fields,
        }
        return cid

    def add_individual(self, given: str, family: str, id: int | None = None, **fields: Any) -> int:
        cid = self._id(id)
        self.customers["individuals"][cid] = {
            "ID": cid,
            "Title": "",
            "GivenName": given,
            "FamilyName": family,
            "Phone": "",
            "AltPhone": "",
            "Email": "",
            "Address": {},
            "BillingAddress": {},
            "DateModified": self.stamp(),
            **fields,
        }
        return cid

    def add_job(self, customer: int, stage: str = "Complete", id: int | None = None, **fields: Any) -> int:
        jid = self._id(id)
        company = self.customers["companies"].get(customer)
        person = self.customers["individuals"].get(customer, {})
        ref = {
            "ID": customer,
            "CompanyName": company["CompanyName"] if company else "",
            "GivenName": person.get("GivenName", ""),
            "FamilyName": person.get("FamilyName", ""),
        }
        self.jobs[jid] = {
            "ID": jid,
            "Type": "Service",
            "Customer": ref,
            "Site": {"ID": 1, "Name": "Site"},
            "OrderNo": "",
            "Name": f"Job {jid}",
            "Description": "",
            "DateIssued": None,
            "Stage": stage,
            "Status": {"ID": 1, "Name": stage, "Color": "#000000"},
            "DateModified": self.stamp(),
            "CompletedDate": None,
            "Total": {"ExTax": 0, "Tax": 0, "IncTax": 0},
            "Notes": "",
            **fields,
        }
        self.tree.setdefault(jid, {})
        return jid

    def add_section(self, job: int, name: str = "Main") -> int:
        sid = self._id()
        order = len(self.tree[job])
        self.tree[job][sid] = {"section": {"ID": sid, "Name": name, "DisplayOrder": order}, "costCenters": {}}
        return sid

    def add_cost_center(self, job: int, section: int, name: str = "Works") -> int:
        ccid = self._id()
        centres = self.tree[job][section]["costCenters"]
        cc = {"ID": ccid, "Name": name, "CostCenter": {"ID": 1, "Name": name}, "DisplayOrder": len(centres)}
        centres[ccid] = {"cc": cc, **{k: [] for k in ITEM_KINDS}}
        return ccid

    def add_item(self, job: int, section: int, cc: int, kind: str, **fields: Any) -> int:
        """Add one cost-centre item; `price` (ex tax, before discount), `qty`, `tax` and `discount` are shortcuts."""
        iid = self._id()
        price, qty = fields.pop("price", 0), fields.pop("qty", 1)
        tax = fields.pop("tax", {"ID": 1, "Code": "GST", "Type": "Single", "Rate": 10})
        discount = fields.pop("discount", 0)
        items = self.tree[job][section]["costCenters"][cc][kind]
        if kind == "contractorJobs":
            record = {
                "ID": iid,
                "Contractor": {"ID": 1, "Name": "Contractor", "ContactName": ""},
                "Status": "Approved",
                "Description": "",
                "TaxCode": tax,
                "Total": {"ExTax": price, "IncTax": price},
            }
        else:
            record = {
                "ID": iid,
                "BillableStatus": "Billable",
                "SalesTaxCode": tax,
                "Discount": discount,
                "SellPrice": _money(price, tax.get("Rate", 0), discount),
                "DisplayOrder": len(items),
                "DateModified": self.stamp(),
                "Total": {"Qty": qty},
            }
        record.update(fields)
        items.append(record)
        return iid

    def load_seed(self, path: Path | str = SEED_PATH) -> SimproSandbox:
        """Seed file: {"companies": [...], "individuals": [...], "jobs": [{..., "sections": [{"costCenters":
        [{"items": {"labor": [...], ...}}]}]}]}."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        for c in data.get("companies", []):
            self.add_company(c.pop("CompanyName"), c.pop("ID"), **c)
        for p in data.get("individuals", []):
            self.add_individual(p.pop("GivenName"), p.pop("FamilyName"), p.pop("ID"), **p)
        for j in data.get("jobs", []):
            sections = j.pop("sections", [])
            jid = self.add_job(j.pop("Customer"), j.pop("Stage"), j.pop("ID"), **j)
            for s in sections:
                sid = self.add_section(jid, s.get("Name", "Main"))
                for c in s.get("costCenters", []):
                    ccid = self.add_cost_center(jid, sid, c.get("Name", "Works"))
                    for kind, items in c.get("items", {}).items():
                        for item in items:
                            self.add_item(jid, sid, ccid, kind, **item)
        return self

    # -- serving ---------------------------------------------------------------------------------

    def handle(self, path: str, headers: dict[str, str]) -> Reply:
        split = urlsplit(path)
        params = dict(parse_qsl(split.query, keep_blank_values=True))
        with self._lock:
            entry: dict[str, Any] = {"path": split.path, "params": params}
            self.request_log.append(entry)
            if headers.get("authorization") != f"Bearer {self.token}":
                reply = _error(401, "Unauthorized")
            elif self._rate_exceeded(self.rate_per_second, 1):
                reply = _error(429, "Rate limit exceeded: 10 requests per second")
                reply[1]["Retry-After"] = "1"
            else:
                try:
                    reply = self._route(split.path, params)
                except _Refused as refused:
                    reply = refused.reply
            entry["status"] = reply[0]
        return reply

    def handle_write(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        """`PATCH /jobs/{ID}` with Notes: the one write the pass back makes (notes support HTML)."""
        with self._lock:
            self.request_log.append({"path": urlsplit(path).path, "method": method, "params": {}})
            if headers.get("authorization") != f"Bearer {self.token}":
                return _error(401, "Unauthorized")
            return patch_job(self.jobs, self.company_id, method, urlsplit(path).path, body, self.stamp())

    def _route(self, path: str, params: dict[str, str]) -> Reply:
        prefix = f"/api/v1.0/companies/{self.company_id}/"
        if not path.startswith(prefix):
            return _error(404, "Not found")
        parts = [p for p in path[len(prefix) :].split("/") if p]
        if parts[:1] == ["customers"] and len(parts) == 2 and parts[1] in self.customers:
            rows = list(self.customers[parts[1]].values())
            return self._list(parts[1], self._filter(rows, params, parts[1]), params)
        if parts[:1] == ["customers"] and len(parts) == 3 and parts[1] in self.customers:
            record = self.customers[parts[1]].get(_int(parts[2]))
            return self._one(parts[1], record, params)
        if parts == ["jobCostCenters"]:
            return self._list("jobCostCenters", self._by_job(self._all_centres(), params), params)
        if parts[:1] != ["jobs"]:
            return _error(404, "Not found")
        if len(parts) == 1:
            return self._list("jobs", self._filter(list(self.jobs.values()), params), params)
        job = self.jobs.get(_int(parts[1]))
        if job is None:
            return _error(404, "Job not found")
        return self._job_child(job["ID"], parts[2:], params)

    def _job_child(self, jid: int, rest: list[str], params: dict[str, str]) -> Reply:
        if not rest:
            return self._one("jobs", self.jobs[jid], params)
        sections = self.tree.get(jid, {})
        if rest == ["sections"]:
            return self._list("sections", [s["section"] for s in sections.values()], params)
        section = sections.get(_int(rest[1])) if len(rest) > 2 and rest[0] == "sections" else None
        if section is None or rest[2] != "costCenters":
            return _error(404, "Not found")
        if len(rest) == 3:
            return self._list("costCenters", [c["cc"] for c in section["costCenters"].values()], params)
        centre = section["costCenters"].get(_int(rest[3]))
        if centre is None or len(rest) != 5 or rest[4] not in ITEM_KINDS:
            return _error(404, "Not found")
        return self._list(rest[4], centre[rest[4]], params)

    def _columns(self, resource: str, params: dict[str, str]) -> tuple[str, ...]:
        if "columns" not in params:
            return THIN[resource]
        wanted = tuple(c.strip() for c in params["columns"].split(",") if c.strip())
        unknown = [c for c in wanted if c not in COLUMNS[resource]]
        if unknown:
            body = {"errors": [{"message": "Invalid columns found.", "value": unknown[0]}]}
            raise _Refused(json_reply(body, 422))
        return wanted

    def _one(self, resource: str, record: dict[str, Any] | None, params: dict[str, str]) -> Reply:
        if record is None:
            return _error(404, "Not found")
        columns = self._columns(resource, params) if "columns" in params else tuple(record)
        return json_reply({k: record.get(k) for k in columns})

    def _all_centres(self) -> list[dict[str, Any]]:
        rows = []
        base = f"/api/v1.0/companies/{self.company_id}/jobs"
        for jid, sections in self.tree.items():
            job = self.jobs.get(jid, {})
            brief = {"ID": jid, "Type": job.get("Type"), "Name": job.get("Name"), "Stage": job.get("Stage")}
            for sid, section in sections.items():
                for ccid, centre in section["costCenters"].items():
                    cc = centre["cc"]
                    href = f"{base}/{jid}/sections/{sid}/costCenters/{ccid}"
                    rows.append(
                        {**cc, "Job": brief, "Section": {"ID": sid, "Name": section["section"]["Name"]}, "_href": href}
                    )
        return rows

    def _by_job(self, rows: list[dict[str, Any]], params: dict[str, str]) -> list[dict[str, Any]]:
        # [UNVERIFIED] simPRO's filter on a nested field, written `Job.ID=1,2,3` (any of), as its flat filters.
        wanted = params.get("Job.ID")
        if wanted is None:
            return rows
        ids = {w.strip() for w in wanted.split(",")}
        return [r for r in rows if str(r["Job"]["ID"]) in ids]

    def _filter(
        self, rows: list[dict[str, Any]], params: dict[str, str], resource: str = "jobs"
    ) -> list[dict[str, Any]]:
        for key, value in params.items():
            if key in ("columns", "page", "pageSize", "orderby", "limit", "search"):
                continue
            if key not in COLUMNS[resource]:
                raise _Refused(_error(422, f"Invalid filter column: {key}"))
            rows = [r for r in rows if _matches(r.get(key), value, self.tz)]
        return rows

    def _list(self, resource: str, rows: list[dict[str, Any]], params: dict[str, str]) -> Reply:
        columns = self._columns(resource, params)
        order = params.get("orderby", "ID")
        key = order.lstrip("-")
        rows = sorted(rows, key=lambda r: str(r.get(key)) if key != "ID" else r["ID"], reverse=order.startswith("-"))
        size = max(1, min(_int(params.get("pageSize", "30")) or 30, MAX_PAGE_SIZE))
        page = max(1, _int(params.get("page", "1")) or 1)
        pages = max(1, -(-len(rows) // size))
        chunk = rows[(page - 1) * size : page * size]
        status, headers, body = json_reply([{k: r.get(k) for k in columns} for r in chunk])
        return status, {**headers, "Result-Total": str(len(rows)), "Result-Pages": str(pages)}, body


def _int(text: str | None) -> int:
    try:
        return int(str(text))
    except ValueError:
        return -1


def _matches(actual: Any, wanted: str, tz: ZoneInfo) -> bool:
    """`value`, `a,b` (any of) or `op(value)`; times compare as instants, naive ones build-local."""
    m = re.fullmatch(r"(gt|ge|lt|le|ne)\((.*)\)", wanted)
    if actual is not None and isinstance(actual, dict):
        actual = actual.get("Name", actual.get("ID"))
    if not m:
        return str(actual) in wanted.split(",")
    op, value = m.groups()
    if value == "null":
        return (actual is not None) if op == "ne" else False
    try:
        left, right = _instant(str(actual), tz), _instant(value, tz)
    except ValueError:
        left, right = str(actual), value  # type: ignore[assignment]
    return {"gt": left > right, "ge": left >= right, "lt": left < right, "le": left <= right, "ne": left != right}[op]


def _instant(text: str, tz: ZoneInfo) -> datetime:
    when = datetime.fromisoformat(text.replace(" ", "T"))
    return when if when.tzinfo else when.replace(tzinfo=tz)


def _error(status: int, message: str) -> Reply:
    return json_reply({"errors": [{"message": message}]}, status)


def main() -> None:  # pragma: no cover - manual use: python -m jobsync.sandbox.simpro
    with SimproSandbox(port=8091).load_seed() as sandbox:
        print(f"simPRO sandbox at {sandbox.url} (Bearer {sandbox.token}); Ctrl-C stops it")
        sandbox.wait_for_interrupt()


if __name__ == "__main__":  # pragma: no cover
    main()
