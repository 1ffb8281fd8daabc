"""What goes over the wire to Xero and what comes back: exact JSON, `where` filters, parsing.

Request bodies are encoded here, not by xero-python: its serializer turns every
Decimal into a float. The bytes built here are the bytes sent and the bytes
hashed into the Idempotency-Key, so a retry of the same drafts is byte-identical.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from jobsync.core.models import DraftLine, InvoiceDraft, XeroContact
from jobsync.xero.gateway import ElementResult, NewContact, XeroInvoiceRef

# URLs past roughly 2,000 characters are refused by Xero's front end; the rest of the
# URL (host, path, Statuses, paging params: under 200 characters) gets the difference.
MAX_WHERE_CHARS = 1750

_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# ---------------------------------------------------------------------------
# Exact JSON
# ---------------------------------------------------------------------------


def encode(value: Any) -> bytes:
    """Compact JSON with Decimals written digit for digit (12.3456 stays 12.3456)."""
    return _encode(value).encode("ascii")


def _encode(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return _decimal(value)
    if isinstance(value, datetime):
        raise TypeError("send dates as datetime.date; a datetime would shift across timezones")
    if isinstance(value, date):
        # The spec types Date/DueDate as plain strings described as YYYY-MM-DD; this
        # form carries no time or offset, so it cannot slip a day the way /Date(ms)/ can.
        return json.dumps(value.isoformat())
    if isinstance(value, float):
        raise TypeError("money must be Decimal, not float")
    return json.dumps(value)


def _decimal(value: Decimal) -> str:
    if not value.is_finite():
        raise ValueError(f"cannot send {value} to Xero")
    text = format(value, "f")  # never exponent notation: "1E+2" becomes "100"
    return "0" if text.lstrip("-").strip("0.") == "" else text


def decode(raw: bytes | str) -> Any:
    return json.loads(raw or b"{}", parse_float=Decimal)


# ---------------------------------------------------------------------------
# Request bodies
# ---------------------------------------------------------------------------


def invoice_dict(draft: InvoiceDraft, contact_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "Type": "ACCREC",
        # Only the ContactID: a Name beside it would rename or create a contact.
        "Contact": {"ContactID": contact_id},
        "Date": draft.date,
        "DueDate": draft.due_date,
        "LineAmountTypes": draft.line_amount_types,
        "Reference": draft.reference,
        "Status": draft.status,
    }
    if draft.url:
        body["Url"] = draft.url
    if draft.currency:
        body["CurrencyCode"] = draft.currency
    if draft.branding_theme_id:
        body["BrandingThemeID"] = draft.branding_theme_id
    body["LineItems"] = [_line_dict(line) for line in draft.lines]
    return body


def _line_dict(line: DraftLine) -> dict[str, Any]:
    item: dict[str, Any] = {
        "Description": line.description,
        "Quantity": line.quantity,
        "UnitAmount": line.unit_amount,
        "AccountCode": line.account_code,
        "TaxType": line.tax_type,
    }
    if line.item_code:
        item["ItemCode"] = line.item_code
    if line.discount_rate is not None:
        item["DiscountRate"] = line.discount_rate
    if line.discount_amount is not None:
        item["DiscountAmount"] = line.discount_amount
    if line.tracking:
        item["Tracking"] = [{"Name": name, "Option": option} for name, option in line.tracking]
    item["LineAmount"] = line.line_amount
    return item


def invoices_body(drafts: Sequence[InvoiceDraft], contact_ids: Sequence[str]) -> bytes:
    if len(drafts) != len(contact_ids):
        raise ValueError(f"{len(drafts)} drafts but {len(contact_ids)} contact ids")
    return encode({"Invoices": [invoice_dict(d, c) for d, c in zip(drafts, contact_ids, strict=True)]})


def contact_dict(contact: NewContact) -> dict[str, Any]:
    body: dict[str, Any] = {"Name": contact.name, "ContactNumber": contact.contact_number}
    if contact.email:
        body["EmailAddress"] = contact.email
    if contact.phone:
        body["Phones"] = [{"PhoneType": "DEFAULT", "PhoneNumber": contact.phone}]
    return body


def contacts_body(contacts: Sequence[NewContact]) -> bytes:
    return encode({"Contacts": [contact_dict(c) for c in contacts]})


# ---------------------------------------------------------------------------
# `where` filters
# ---------------------------------------------------------------------------


def literal(value: str) -> str:
    """A quoted string literal for Xero's C#-like `where` syntax."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def or_chunks(terms: Iterable[str], budget: int = MAX_WHERE_CHARS, wrap: str = "{}") -> Iterator[str]:
    """Join terms with OR into as few filters as fit `budget` URL-encoded characters each.

    `wrap` places the OR group inside a fixed frame, e.g. 'Type=="ACCREC" AND ({})'.
    """
    chunk: list[str] = []
    for term in dict.fromkeys(terms):  # dedupe, keep order
        candidate = wrap.format(" OR ".join([*chunk, term]))
        if chunk and len(quote(candidate, safe="")) > budget:
            yield wrap.format(" OR ".join(chunk))
            chunk = []
        chunk.append(term)
    if chunk:
        yield wrap.format(" OR ".join(chunk))


def contact_terms(
    contact_numbers: Sequence[str], emails: Sequence[str], names: Sequence[str], contact_ids: Sequence[str]
) -> list[str]:
    terms = [f"ContactID==guid({literal(i)})" for i in contact_ids if i]
    terms += [f"ContactNumber=={literal(n)}" for n in contact_numbers if n]
    terms += [f"EmailAddress=={literal(e)}" for e in emails if e]
    terms += [f"Name=={literal(n)}" for n in names if n]
    return terms


# ---------------------------------------------------------------------------
# Parsing what Xero returns
# ---------------------------------------------------------------------------


def parse_date(value: Any) -> date | None:
    """Xero's `/Date(ms±hhmm)/` (the ms are UTC) or an ISO date, as a calendar date."""
    if not isinstance(value, str):
        return None
    found = _MS_DATE.match(value.strip())
    if found:
        return (_EPOCH + timedelta(milliseconds=int(found.group(1)))).date()
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


def to_decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _phone(phones: Any) -> str | None:
    by_type = {p.get("PhoneType"): p for p in phones or () if isinstance(p, dict)}
    for kind in ("DEFAULT", "MOBILE"):
        phone = by_type.get(kind) or {}
        parts = [phone.get(k) for k in ("PhoneCountryCode", "PhoneAreaCode", "PhoneNumber")]
        if phone.get("PhoneNumber"):
            return " ".join(p for p in parts if p)
    return None


def parse_contact(raw: Mapping[str, Any]) -> XeroContact:
    return XeroContact(
        contact_id=raw["ContactID"],
        name=raw.get("Name") or "",
        email=raw.get("EmailAddress") or None,
        contact_number=raw.get("ContactNumber") or None,
        status=raw.get("ContactStatus") or "ACTIVE",
        phone=_phone(raw.get("Phones")),
        payment_terms=_sales_terms(raw.get("PaymentTerms")),
        merged_to_contact_id=raw.get("MergedToContactID") or None,
        default_currency=raw.get("DefaultCurrency") or None,
    )


def _sales_terms(terms: Any) -> tuple[int, str] | None:
    """A contact's own sales terms, PaymentTerms.Sales {Day, Type}; None when not set."""
    sales = terms.get("Sales") if isinstance(terms, Mapping) else None
    if not isinstance(sales, Mapping) or not sales.get("Type") or sales.get("Day") is None:
        return None
    return int(sales["Day"]), str(sales["Type"])


def parse_invoice_ref(raw: Mapping[str, Any]) -> XeroInvoiceRef:
    return XeroInvoiceRef(
        invoice_id=raw["InvoiceID"],
        invoice_number=raw.get("InvoiceNumber") or None,
        reference=raw.get("Reference") or "",
        status=raw.get("Status") or "",
        total=to_decimal(raw.get("Total")),
        contact_id=(raw.get("Contact") or {}).get("ContactID"),
        contact_name=(raw.get("Contact") or {}).get("Name"),
        amount_paid=to_decimal(raw.get("AmountPaid")),
    )


def element_messages(raw: Mapping[str, Any]) -> tuple[str, ...]:
    # Xero repeats a message once per offending line; one copy tells the user as much.
    messages = (str(e.get("Message", e)) for e in raw.get("ValidationErrors") or () if isinstance(e, dict))
    return tuple(dict.fromkeys(messages))


def element_results(elements: Sequence[Mapping[str, Any]], expected: int, id_key: str) -> list[ElementResult]:
    """One result per sent element, in order (Xero keeps the order with summarizeErrors=false)."""
    results: list[ElementResult] = []
    for raw in list(elements)[:expected]:
        errors = element_messages(raw)
        failed = raw.get("StatusAttributeString") == "ERROR" or bool(raw.get("HasErrors")) or bool(errors)
        results.append(
            ElementResult(
                ok=not failed,
                id=None if failed else raw.get(id_key),
                number=None if failed else raw.get("InvoiceNumber"),
                errors=errors or (("Xero marked this element as an error",) if failed else ()),
                total=to_decimal(raw.get("Total")),
                status=raw.get("Status") or raw.get("ContactStatus"),
            )
        )
    missing = ElementResult(ok=False, errors=("Xero returned no result for this element",))
    return results + [missing] * (expected - len(results))


def whole_request_errors(payload: Any) -> list[str]:
    """Messages from a 400 ValidationException (or any other error body Xero sends)."""
    if not isinstance(payload, dict):
        return [str(payload)] if payload else []
    messages = [m for el in payload.get("Elements") or () for m in element_messages(el)]
    if not messages and payload.get("Message"):
        messages.append(str(payload["Message"]))
    if not messages and payload.get("Detail"):
        messages.append(str(payload["Detail"]))
    return messages
