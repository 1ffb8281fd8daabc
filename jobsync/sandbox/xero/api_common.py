"""What every Accounting API route shares: the request, Xero's envelopes and errors, filters, paging, batches."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable
from datetime import date, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qs

from jobsync.sandbox.xero import invoices as xero_invoices
from jobsync.sandbox.xero.encoding import loads, ms_date_plain, parse_date
from jobsync.sandbox.xero.store import snapshot
from jobsync.sandbox.xero.where import compile_where

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


def filtered(req: Request, rows: list[dict[str, Any]], fields: frozenset[str]) -> list[dict[str, Any]]:
    where = req.query.get("where", "").strip()
    if where:
        predicate = compile_where(where, fields)
        rows = [row for row in rows if predicate(row)]
    since = modified_since(req.headers.get("if-modified-since", ""))
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


def modified_since(value: str) -> datetime | None:
    if not value.strip():
        return None
    parsed = parse_date(value)
    if parsed is None:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    return parsed


def paged(req: Request, rows: list[Any]) -> tuple[list[Any], dict[str, int] | None]:
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


def batch(req: Request, name: str, writer: Writer, ok_flag: str, summarize: bool) -> Answer:
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
