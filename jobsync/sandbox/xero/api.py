"""The Accounting API routes: reads with filters and paging, batched writes with Xero's error shapes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from jobsync.sandbox.xero import api_follow_up
from jobsync.sandbox.xero import contacts as xero_contacts
from jobsync.sandbox.xero import invoices as xero_invoices
from jobsync.sandbox.xero.api_common import Answer, Request, batch, envelope, error, filtered, not_found, paged
from jobsync.sandbox.xero.fields import (
    ACCOUNT_FIELDS,
    CONTACT_FIELDS,
    INVOICE_FIELDS,
    TAX_RATE_FIELDS,
    TRACKING_CATEGORY_FIELDS,
)
from jobsync.sandbox.xero.store import OrgState, snapshot
from jobsync.sandbox.xero.taxrates import write_tax_rate
from jobsync.sandbox.xero.where import WhereError

__all__ = ["Answer", "Request", "handle"]


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

        return batch(req, "Contacts", writer, "HasValidationErrors", req.flag("summarizeErrors", True))
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
    rows = filtered(req, rows, CONTACT_FIELDS)
    page, pagination = paged(req, rows)
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
    if len(parts) >= 3 and existing:
        return api_follow_up.invoice_part(req, state, existing)
    if method in ("PUT", "POST") and len(parts) <= 2:
        target = existing["InvoiceID"] if existing else None

        def writer(element: Any) -> tuple[dict[str, Any], list[str]]:
            result, problems = xero_invoices.write(state, element, req.now, req.unitdp(), method == "POST", target)
            if problems:
                return result, problems
            return xero_invoices.render(state, result, req.unitdp(), True), []

        return batch(req, "Invoices", writer, "HasErrors", req.flag("summarizeErrors", True))
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
    is_paged = "page" in req.query
    rows = [xero_invoices.render(state, i, req.unitdp(), True) for i in state.invoices.values()]
    for name, key in (("IDs", "InvoiceID"), ("InvoiceNumbers", "InvoiceNumber"), ("Statuses", "Status")):
        wanted = {v.casefold() for v in req.csv(name)}
        if wanted:
            rows = [r for r in rows if str(r.get(key, "")).casefold() in wanted]
    if req.flag("createdByMyApp", False):
        rows = [r for r in rows if state.invoices[r["InvoiceID"]].get(xero_invoices.BY_APP)]
    contact_ids = {v.lower() for v in req.csv("ContactIDs")}
    if contact_ids:
        rows = [r for r in rows if r["Contact"]["ContactID"] in contact_ids]
    term = req.query.get("searchterm", "").strip().casefold()
    if term:
        rows = [r for r in rows if any(term in str(r.get(k) or "").casefold() for k in ("InvoiceNumber", "Reference"))]
    rows = filtered(req, rows, INVOICE_FIELDS)
    page, pagination = paged(req, rows)
    if not is_paged or req.flag("summaryOnly", False):
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
        return 200, envelope("Accounts", filtered(req, rows, ACCOUNT_FIELDS))
    if name == "taxrates" and req.method == "GET" and len(req.parts) == 1:
        rates = [snapshot(t) for t in state.tax_rates]
        return 200, envelope("TaxRates", filtered(req, rates, TAX_RATE_FIELDS))
    if name == "trackingcategories" and req.method == "GET" and len(req.parts) <= 2:
        return _tracking_categories(req, state)
    if name == "taxrates" and req.method in ("PUT", "POST") and len(req.parts) == 1:
        return batch(req, "TaxRates", lambda e: write_tax_rate(state, e), "HasValidationErrors", True)
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
    return 200, envelope("TrackingCategories", filtered(req, rows, TRACKING_CATEGORY_FIELDS))


ROUTES: dict[str, Callable[[Request, OrgState], Answer]] = {
    "contacts": contacts,
    "invoices": invoices,
    "organisation": reference,
    "accounts": reference,
    "taxrates": reference,
    "trackingcategories": reference,
    "payments": api_follow_up.payments,
    "creditnotes": api_follow_up.credit_notes,
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
