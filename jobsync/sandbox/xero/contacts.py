"""Contact writes as Xero validates them: unique active names, archiving, upsert by name on POST."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from jobsync.sandbox.xero.encoding import ms_date, parse_date
from jobsync.sandbox.xero.store import OrgState, snapshot

WRITABLE = (
    "ContactNumber",
    "AccountNumber",
    "ContactStatus",
    "Name",
    "FirstName",
    "LastName",
    "CompanyNumber",
    "EmailAddress",
    "ContactPersons",
    "BankAccountDetails",
    "TaxNumber",
    "AccountsReceivableTaxType",
    "AccountsPayableTaxType",
    "Addresses",
    "Phones",
    "SalesDefaultLineAmountType",
    "PurchasesDefaultLineAmountType",
    "DefaultCurrency",
    "SalesDefaultAccountCode",
    "PurchasesDefaultAccountCode",
    "PaymentTerms",
)
STATUSES = ("ACTIVE", "ARCHIVED", "GDPRREQUEST")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DUPLICATE_NAME = (
    "The contact name {} is already assigned to another contact. "
    "The contact name must be unique across all active contacts."
)


def _problems(state: OrgState, fields: dict[str, Any], own_id: str | None) -> list[str]:
    problems: list[str] = []
    name = fields.get("Name")
    if not isinstance(name, str) or not name.strip():
        problems.append("The contact name must be specified.")
    elif len(name) > 255:
        problems.append("The contact name must not exceed 255 characters.")
    elif fields.get("ContactStatus", "ACTIVE") == "ACTIVE" and state.active_contact_named(name, own_id):
        problems.append(DUPLICATE_NAME.format(name))
    email = fields.get("EmailAddress")
    if email and (not isinstance(email, str) or not _EMAIL.match(email)):
        problems.append("Email address must be valid.")
    if fields.get("ContactStatus", "ACTIVE") not in STATUSES:
        problems.append(f"ContactStatus '{fields.get('ContactStatus')}' is not valid.")
    return problems


def _new_contact(element: dict[str, Any], now: datetime) -> dict[str, Any]:
    contact: dict[str, Any] = {
        "ContactID": str(uuid.uuid4()),
        "ContactStatus": "ACTIVE",
        "Addresses": [],
        "Phones": [],
        "ContactGroups": [],
        "ContactPersons": [],
        "IsSupplier": False,
        "IsCustomer": False,
        "HasAttachments": False,
        "HasValidationErrors": False,
    }
    contact.update({k: element[k] for k in WRITABLE if k in element and element[k] is not None})
    contact["UpdatedDateUTC"] = ms_date(now)
    return contact


def create(state: OrgState, element: dict[str, Any], now: datetime) -> tuple[dict[str, Any], list[str]]:
    """Create a contact; returns (stored contact or the submitted element, problems)."""
    problems = _problems(state, element, None)
    if problems:
        return element, problems
    contact = _new_contact(element, now)
    state.contacts[contact["ContactID"]] = contact
    return contact, []


def update(
    state: OrgState, contact: dict[str, Any], element: dict[str, Any], now: datetime
) -> tuple[dict[str, Any], list[str]]:
    changes = {k: element[k] for k in WRITABLE if k in element and element[k] is not None}
    merged = {**contact, **changes}
    problems = _problems(state, merged, contact["ContactID"])
    if problems:
        return element, problems
    contact.update(changes)
    contact["UpdatedDateUTC"] = ms_date(now)
    return contact, []


def write(
    state: OrgState, element: dict[str, Any], now: datetime, upsert: bool, target_id: str | None = None
) -> tuple[dict[str, Any], list[str]]:
    """PUT creates; POST updates by ContactID (path or body), else by active name, else creates."""
    if not isinstance(element, dict):
        return {}, ["A contact must be a JSON object."]
    contact_id = target_id or element.get("ContactID")
    if contact_id:
        existing = state.contacts.get(str(contact_id).lower())
        if existing is None:
            return element, [f"The contact with ContactID {contact_id} could not be found."]
        if not upsert:
            return element, ["A contact with this ContactID already exists; use POST to update it."]
        return update(state, existing, element, now)
    if upsert and isinstance(element.get("Name"), str):
        same_name = state.active_contact_named(element["Name"])
        if same_name is not None:
            # Xero's POST quietly updates the existing same-name contact rather than failing.
            return update(state, same_name, element, now)
    return create(state, element, now)


def summary(contact: dict[str, Any]) -> dict[str, Any]:
    """The contact as Xero embeds it in an invoice."""
    keys = (
        "ContactID",
        "ContactNumber",
        "AccountNumber",
        "ContactStatus",
        "Name",
        "FirstName",
        "LastName",
        "EmailAddress",
        "Addresses",
        "Phones",
        "ContactGroups",
        "ContactPersons",
        "HasValidationErrors",
    )
    return {k: snapshot(contact[k]) for k in keys if k in contact}


def merge(state: OrgState, source_id: str, target_id: str, now: datetime) -> None:
    """What Xero's UI merge leaves behind (there is no API for it): the source archived, pointing at
    the target, and its invoices moved to the target."""
    source, target = state.contacts[source_id.lower()], state.contacts[target_id.lower()]
    source.update(
        {"ContactStatus": "ARCHIVED", "MergedToContactID": target["ContactID"], "UpdatedDateUTC": ms_date(now)}
    )
    for invoice in state.invoices.values():
        if invoice["Contact"]["ContactID"] == source["ContactID"]:
            invoice["Contact"] = {"ContactID": target["ContactID"]}
    target["UpdatedDateUTC"] = ms_date(now)


def balances(state: OrgState, today: date) -> dict[str, dict[str, Any]]:
    """Each contact's raw outstanding and overdue amounts: AmountDue of its AUTHORISED invoices
    (sales as AccountsReceivable, bills as AccountsPayable); overdue once the due day has passed."""
    zero = Decimal("0.00")
    out: dict[str, dict[str, Any]] = {}
    for invoice in state.invoices.values():
        if invoice.get("Status") != "AUTHORISED":
            continue
        side = "AccountsPayable" if invoice.get("Type") == "ACCPAY" else "AccountsReceivable"
        sums = out.setdefault(invoice["Contact"]["ContactID"], _empty_balances())[side]
        due = Decimal(invoice.get("AmountDue", zero))
        sums["Outstanding"] += due
        due_day = parse_date(invoice.get("DueDate"))
        if due_day is not None and due_day.date() < today:
            sums["Overdue"] += due
    return out


def _empty_balances() -> dict[str, Any]:
    zero = Decimal("0.00")
    return {side: {"Outstanding": zero, "Overdue": zero} for side in ("AccountsReceivable", "AccountsPayable")}


def render(contact: dict[str, Any], detail: dict[str, dict[str, Any]] | None) -> dict[str, Any]:
    """The contact as a GET answers it. Balances and MergedToContactID come only with `detail` (a paged
    list or a single contact, as the spec says of MergedToContactID): `detail` is `balances()`'s result."""
    out: dict[str, Any] = snapshot(contact)
    if detail is None:
        out.pop("MergedToContactID", None)
    else:
        out["Balances"] = detail.get(contact["ContactID"]) or _empty_balances()
    return out
