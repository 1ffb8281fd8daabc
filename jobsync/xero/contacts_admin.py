"""The Xero reads and writes `contacts dedupe` needs, on top of XeroClient's retry and call counting.

Reads cost one call per 1,000 contacts plus one per 1,000 invoices: every contact (paged,
pageSize 1000, archived ones when asked) and every invoice summary (paged, summaryOnly) from
which invoice counts by status, outstanding balances and the DRAFT invoices per contact are
tallied locally, instead of one Balances read per contact. Writes are single-object POSTs: a
contact's fields or status, and a DRAFT invoice's contact.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from jobsync.core.errors import RejectedError
from jobsync.xero import wire
from jobsync.xero.client import PAGE_SIZE, XeroClient

# DELETED invoices are no history; VOIDED ones are (they were approved once).
STATS_STATUSES = ["DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED"]
OUTSTANDING = ("SUBMITTED", "AUTHORISED")
_MS = re.compile(r"/Date\((-?\d+)")


@dataclass
class InvoiceStats:
    counts: Counter[str] = field(default_factory=Counter)
    balance: Decimal = Decimal("0")
    drafts: list[str] = field(default_factory=list)  # InvoiceIDs of DRAFT invoices


class ContactsAdmin(XeroClient):
    """XeroClient plus the whole-organisation contact reads and the single-contact writes of dedupe."""

    def all_contacts(self, include_archived: bool) -> list[dict[str, Any]]:
        fetch = partial(self._get_all_contacts, "true" if include_archived else "false")
        return list(self._paged("/Contacts", "Contacts", fetch))

    def _get_all_contacts(self, include_archived: str, page: int) -> Any:
        return self.accounting.get_contacts(
            self.tenant_id, page=page, page_size=PAGE_SIZE, include_archived=include_archived, **self._opts()
        )

    def search(self, term: str, limit: int = 20) -> list[dict[str, Any]]:
        """Active contacts whose name, number or email contains `term` (Xero's searchTerm): one call."""
        payload = self._send(
            "GET /Contacts",
            self.api_url + "/Contacts",
            partial(self._search_contacts, term, min(limit, PAGE_SIZE)),
        )
        return list(payload.get("Contacts") or [])[:limit]

    def _search_contacts(self, term: str, size: int) -> Any:
        return self.accounting.get_contacts(self.tenant_id, search_term=term, page=1, page_size=size, **self._opts())

    def invoice_stats(self) -> dict[str, InvoiceStats]:
        """Per ContactID: invoice counts by status, outstanding amount due, DRAFT invoice ids."""
        stats: dict[str, InvoiceStats] = {}
        for raw in self._paged("/Invoices", "Invoices", self._get_invoice_summaries):
            contact_id = (raw.get("Contact") or {}).get("ContactID")
            if not contact_id:
                continue
            entry = stats.setdefault(contact_id, InvoiceStats())
            status = raw.get("Status") or ""
            entry.counts[status] += 1
            if status in OUTSTANDING:
                entry.balance += wire.to_decimal(raw.get("AmountDue")) or Decimal("0")
            if status == "DRAFT" and raw.get("InvoiceID"):
                entry.drafts.append(raw["InvoiceID"])
        return stats

    def _get_invoice_summaries(self, page: int) -> Any:
        return self.accounting.get_invoices(
            self.tenant_id,
            statuses=STATS_STATUSES,
            page=page,
            page_size=PAGE_SIZE,
            summary_only="true",
            include_archived="true",
            **self._opts(),
        )

    def update_contact(self, contact_id: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """POST /Contacts/{id} with only `fields`; returns the contact as Xero now has it."""
        body = wire.encode({"Contacts": [{"ContactID": contact_id, **fields}]})
        payload = self._send(
            "POST /Contacts/{id}",
            f"{self.api_url}/Contacts/{contact_id}",
            lambda: self.accounting.update_contact(self.tenant_id, contact_id, body, **self._opts()),
        )
        return _only_element(payload, "Contacts", f"contact {contact_id}")

    def set_contact_status(self, contact_id: str, status: str) -> dict[str, Any]:
        return self.update_contact(contact_id, {"ContactStatus": status})

    def move_invoice(self, invoice_id: str, contact_id: str) -> dict[str, Any]:
        """Point a DRAFT invoice at another contact; only the ContactID is sent, so no contact is edited."""
        body = wire.encode({"Invoices": [{"InvoiceID": invoice_id, "Contact": {"ContactID": contact_id}}]})
        payload = self._send(
            "POST /Invoices/{id}",
            f"{self.api_url}/Invoices/{invoice_id}",
            lambda: self.accounting.update_invoice(self.tenant_id, invoice_id, body, **self._opts()),
        )
        return _only_element(payload, "Invoices", f"invoice {invoice_id}")


def _only_element(payload: Any, key: str, what: str) -> dict[str, Any]:
    elements = (payload or {}).get(key) or [] if isinstance(payload, dict) else []
    if not elements:
        raise RejectedError(f"Xero returned no result for {what}")
    element = elements[0]
    errors = wire.element_messages(element)
    if errors or element.get("StatusAttributeString") == "ERROR":
        raise RejectedError(f"Xero refused the change to {what}", list(errors))
    return dict(element)


def address_text(raw: Mapping[str, Any]) -> str | None:
    """The first address with anything in it, as one line."""
    for address in raw.get("Addresses") or ():
        parts = [address.get(k) for k in ("AddressLine1", "AddressLine2", "City", "PostalCode")]
        text = ", ".join(str(p).strip() for p in parts if p and str(p).strip())
        if text:
            return text
    return None


def phone_texts(raw: Mapping[str, Any]) -> tuple[str, ...]:
    found = []
    for phone in raw.get("Phones") or ():
        if phone.get("PhoneNumber"):
            parts = [phone.get(k) for k in ("PhoneCountryCode", "PhoneAreaCode", "PhoneNumber")]
            found.append(" ".join(str(p) for p in parts if p))
    return tuple(found)


def updated_at(raw: Mapping[str, Any]) -> datetime | None:
    """A contact's UpdatedDateUTC (`/Date(ms+0000)/`, the ms are UTC) as an aware datetime."""
    value = raw.get("UpdatedDateUTC")
    found = _MS.match(value) if isinstance(value, str) else None
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=int(found.group(1))) if found else None
