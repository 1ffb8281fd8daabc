"""The Accounting API routes: reads with filters and paging, batched writes with Xero's error shapes."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs

from jobsync.sandbox.xero import contacts as xero_contacts
from jobsync.sandbox.xero import invoices as xero_invoices
from jobsync.sandbox.xero.encoding import loads, ms_date_plain, parse_date
from jobsync.sandbox.xero.fields import (
    ACCOUNT_FIELDS,
    CONTACT_FIELDS,
    INVOICE_FIELDS,
    TAX_RATE_FIELDS,
    TRACKING_CATEGORY_FIELDS,
)
from jobsync.sandbox.xero.store import OrgState, snapshot
from jobsync.sandbox.xero.taxrates import write_tax_rate
from jobsync.sandbox.xero.where import WhereError, compile_where

Answer = tuple[int, Any]  # (status, JSON body or None)
Writer = Callable[[Any], tuple[dict[str, Any], list[str]]]


class Request:
    """One API call, already authorised; `parts` are the path segments after /api.xro/2.0."""

    def __init__(
        self, method: str, parts: list[str], query: str, headers: dict[str, str], body: bytes, now: datetime
    ) -> None:
        self.method, self.parts, self.headers, self.body, self.now = method, parts, headers, body, now
        self.query = {k.lower(): v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}

    def flag(self, name: str, default: bool) -> bool:
        value = self.query.get(name.lower())
        return default if value is None or value == "" else value.strip().lower() == "true"

    def unitdp(self) -> int:
        return 4 if self.query.get("unitdp", "").strip() == "4" else 2

    def csv(self, name: str) -> list[str]:
        return [v.strip() for v in self.query.get(name.lower(), "").split(",") if v.strip()]

    def org_today(self) -> date:
        """Overdue is judged on the organisation's calendar, not UTC's."""
        return (self.now + xero_invoices.ORG_UTC_OFFSET).date()


def envelope(name: str, items: list[Any], pagination: dict[str, int] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Id": str(uuid.uuid4()),
        "Status": "OK",
        "ProviderName": "jobsync sandbox",
        "DateTimeUTC": ms_date_plain(datetime.now().astimezone()),
    }
    if pagination is not None:
        body["pagination"] = pagination
    body[name] = items
    return body


def error(number: int, kind: str, message: str, elements: list[Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"ErrorNumber": number, "Type": kind, "Message": message}
    if elements is not None:
        body["Elements"] = elements
    return body


def not_found() -> Answer:
    return 404, error(404, "NotFoundException", "The resource you're looking for cannot be found")


def _filtered(req: Request, rows: list[dict[str, Any]], fields: frozenset[str]) -> list[dict[str, Any]]:
    where = req.query.get("where", "").strip()
    if where:
        predicate = compile_where(where, fields)
        rows = [row for row in rows if predicate(row)]
    since = _modified_since(req.headers.get("if-modified-since", ""))
    if since is not None:
        rows = [r for r in rows if (parse_date(r.get("UpdatedDateUTC")) or since) > since]
    order = req.query.get("order", "").split()
    if order:
        descending = len(order) > 1 and order[1].upper() == "DESC"
        key = order[0].lower()

        def sort_key(row: dict[str, Any]) -> tuple[bool, str]:
            value = next((v for k, v in row.items() if k.lower() == key), None)
            return value is None, str(value).casefold() if value is not None else ""

        rows = sorted(rows, key=sort_key, reverse=descending)
    return rows


def _modified_since(value: str) -> datetime | None:
    if not value.strip():
        return None
    parsed = parse_date(value)
    if parsed is None:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    return parsed


def _paged(req: Request, rows: list[Any]) -> tuple[list[Any], dict[str, int] | None]:
    if "page" not in req.query:
        return rows, None
    try:
        page = max(1, int(req.query["page"]))
        size = min(1000, max(1, int(req.query.get("pagesize") or 100)))
    except ValueError:
        page, size = 1, 100
    start = (page - 1) * size
    pagination = {"page": page, "pageSize": size, "pageCount": math.ceil(len(rows) / size), "itemCount": len(rows)}
    return rows[start : start + size], pagination


def _batch(req: Request, name: str, writer: Writer, ok_flag: str, summarize: bool) -> Answer:
    """Run each element through `writer`; answer as Xero does with or without summarizeErrors."""
    try:
        data = loads(req.body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        return 400, error(14, "PostDataInvalidException", f"Invalid JSON in request body: {getattr(exc, 'msg', exc)}")
    elements = data.get(name, [data]) if isinstance(data, dict) else data
    if not isinstance(elements, list):
        return 400, error(14, "PostDataInvalidException", f"{name} must be a list.")
    answers: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for element in elements:
        result, problems = writer(element)
        if problems:
            echo = {
                **snapshot(result),
                ok_flag: True,
                "StatusAttributeString": "ERROR",
                "ValidationErrors": [{"Message": m} for m in problems],
            }
            if name == "Invoices":
                echo.setdefault("InvoiceID", "00000000-0000-0000-0000-000000000000")
            answers.append(echo)
            failed.append(echo)
        else:
            answers.append({**result, "StatusAttributeString": "OK"})
    if failed and summarize:
        # Xero still keeps the valid elements of a summarised batch; only the failures are reported.
        return 400, error(10, "ValidationException", "A validation exception occurred", failed)
    return 200, envelope(name, answers)


def contacts(req: Request, state: OrgState) -> Answer:
    parts, method = req.parts, req.method
    if method == "GET" and len(parts) == 1:
        return _list_contacts(req, state)
    if method == "GET" and len(parts) == 2:
        key = parts[1].lower()
        found = state.contacts.get(key) or next(
            (c for c in state.contacts.values() if str(c.get("ContactNumber", "")).lower() == key), None
        )
        if not found:
            return not_found()
        return 200, envelope("Contacts", [xero_contacts.render(found, xero_contacts.balances(state, req.org_today()))])
    if method in ("PUT", "POST") and len(parts) <= 2:
        if len(parts) == 2 and parts[1].lower() not in state.contacts:
            return not_found()
        target = parts[1].lower() if len(parts) == 2 else None

        def writer(element: Any) -> tuple[dict[str, Any], list[str]]:
            result, problems = xero_contacts.write(state, element, req.now, method == "POST", target)
            return (result if problems else snapshot(result)), problems

        return _batch(req, "Contacts", writer, "HasValidationErrors", req.flag("summarizeErrors", True))
    return not_found()


def _list_contacts(req: Request, state: OrgState) -> Answer:
    # Balances cost a pass over the invoices: only paged lists carry them, and not with summaryOnly.
    detailed = "page" in req.query and not req.flag("summaryOnly", False)
    detail = xero_contacts.balances(state, req.org_today()) if detailed else None
    rows = [xero_contacts.render(c, detail) for c in state.contacts.values()]
    ids = {i.lower() for i in req.csv("IDs")}
    if ids:
        rows = [c for c in rows if c["ContactID"] in ids]
    if not req.flag("includeArchived", False):
        rows = [c for c in rows if c.get("ContactStatus") != "ARCHIVED"]
    term = req.query.get("searchterm", "").strip().casefold()
    if term:
        keys = ("Name", "FirstName", "LastName", "ContactNumber", "EmailAddress", "CompanyNumber")
        rows = [c for c in rows if any(term in str(c.get(k) or "").casefold() for k in keys)]
    rows = _filtered(req, rows, CONTACT_FIELDS)
    page, pagination = _paged(req, rows)
    return 200, envelope("Contacts", page, pagination)


def invoices(req: Request, state: OrgState) -> Answer:
    parts, method = req.parts, req.method
    if method == "GET" and len(parts) == 1:
        return _list_invoices(req, state)
    existing = _invoice_at(state, parts[1]) if len(parts) >= 2 else None
    if len(parts) >= 2 and existing is None:
        return not_found()
    if method == "GET" and len(parts) == 2 and existing:
        return 200, envelope("Invoices", [xero_invoices.render(state, existing, req.unitdp(), True)])
    if method == "POST" and len(parts) == 3 and parts[2].lower() == "email" and existing:
        return _email(existing)
    if method in ("PUT", "POST") and len(parts) <= 2:
        target = existing["InvoiceID"] if existing else None

        def writer(element: Any) -> tuple[dict[str, Any], list[str]]:
            result, problems = xero_invoices.write(state, element, req.now, req.unitdp(), method == "POST", target)
            if problems:
                return result, problems
            return xero_invoices.render(state, result, req.unitdp(), True), []

        return _batch(req, "Invoices", writer, "HasErrors", req.flag("summarizeErrors", True))
    return not_found()


def _invoice_at(state: OrgState, key: str) -> dict[str, Any] | None:
    return state.invoices.get(key.lower()) or state.invoice_numbered(key)


def _email(invoice: dict[str, Any]) -> Answer:
    if invoice["Status"] not in ("AUTHORISED", "PAID"):
        element = {
            "InvoiceID": invoice["InvoiceID"],
            "ValidationErrors": [{"Message": "Only approved invoices can be emailed."}],
        }
        return 400, error(10, "ValidationException", "A validation exception occurred", [element])
    return 204, None


def _list_invoices(req: Request, state: OrgState) -> Answer:
    paged = "page" in req.query
    rows = [xero_invoices.render(state, i, req.unitdp(), True) for i in state.invoices.values()]
    for name, key in (("IDs", "InvoiceID"), ("InvoiceNumbers", "InvoiceNumber"), ("Statuses", "Status")):
        wanted = {v.casefold() for v in req.csv(name)}
        if wanted:
            rows = [r for r in rows if str(r.get(key, "")).casefold() in wanted]
    contact_ids = {v.lower() for v in req.csv("ContactIDs")}
    if contact_ids:
        rows = [r for r in rows if r["Contact"]["ContactID"] in contact_ids]
    term = req.query.get("searchterm", "").strip().casefold()
    if term:
        rows = [r for r in rows if any(term in str(r.get(k) or "").casefold() for k in ("InvoiceNumber", "Reference"))]
    rows = _filtered(req, rows, INVOICE_FIELDS)
    page, pagination = _paged(req, rows)
    if not paged or req.flag("summaryOnly", False):
        # Xero lists line items only on paged requests, and never in a summaryOnly answer.
        for row in page:
            row.pop("LineItems", None)
    return 200, envelope("Invoices", page, pagination)


def reference(req: Request, state: OrgState) -> Answer:
    """Organisation, Accounts, TaxRates and TrackingCategories: lists from the seed (tax rates writable)."""
    name = req.parts[0].lower()
    if name == "organisation" and req.method == "GET" and len(req.parts) == 1:
        return 200, envelope("Organisations", [snapshot(state.organisation)])
    if name == "accounts" and req.method == "GET":
        rows = [snapshot(a) for a in state.accounts]
        if len(req.parts) == 2:
            rows = [a for a in rows if a["AccountID"] == req.parts[1].lower()]
            return (200, envelope("Accounts", rows)) if rows else not_found()
        return 200, envelope("Accounts", _filtered(req, rows, ACCOUNT_FIELDS))
    if name == "taxrates" and req.method == "GET" and len(req.parts) == 1:
        rates = [snapshot(t) for t in state.tax_rates]
        return 200, envelope("TaxRates", _filtered(req, rates, TAX_RATE_FIELDS))
    if name == "trackingcategories" and req.method == "GET" and len(req.parts) <= 2:
        return _tracking_categories(req, state)
    if name == "taxrates" and req.method in ("PUT", "POST") and len(req.parts) == 1:
        return _batch(req, "TaxRates", lambda e: write_tax_rate(state, e), "HasValidationErrors", True)
    return not_found()


def _tracking_categories(req: Request, state: OrgState) -> Answer:
    """Archived categories and options are left out unless includeArchived=true; DELETED ones never show."""
    archived = req.flag("includeArchived", False)
    shown = ("ACTIVE", "ARCHIVED") if archived else ("ACTIVE",)
    rows = []
    for category in state.tracking_categories:
        if category.get("Status") not in shown:
            continue
        row = snapshot(category)
        row["Options"] = [o for o in row.get("Options", []) if o.get("Status") in shown]
        rows.append(row)
    if len(req.parts) == 2:
        rows = [r for r in rows if r["TrackingCategoryID"] == req.parts[1].lower()]
        return (200, envelope("TrackingCategories", rows)) if rows else not_found()
    return 200, envelope("TrackingCategories", _filtered(req, rows, TRACKING_CATEGORY_FIELDS))


ROUTES: dict[str, Callable[[Request, OrgState], Answer]] = {
    "contacts": contacts,
    "invoices": invoices,
    "organisation": reference,
    "accounts": reference,
    "taxrates": reference,
    "trackingcategories": reference,
}


def handle(req: Request, state: OrgState) -> Answer:
    """Dispatch one authorised API request; a malformed `where` becomes Xero's 400."""
    route = ROUTES.get(req.parts[0].lower()) if req.parts else None
    if route is None:
        return not_found()
    try:
        return route(req, state)
    except WhereError as exc:
        return 400, error(16, "QueryParseException", str(exc))
