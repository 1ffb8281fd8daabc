"""From an export's header row to a proposed `source.columns` mapping. Pure.

Known layouts (Tradify, WorkflowMax) are recognised whole, with their date format and tax mode;
any other export is mapped header by header through the names exports commonly use. What cannot be
matched is returned as missing, so `init` asks the user to pick it from the headers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

REQUIRED = ("job_number", "client_name", "description", "quantity", "unit_price")


@dataclass(frozen=True)
class Layout:
    name: str
    columns: dict[str, str]
    date_format: str | None = None
    prices_include_tax: bool = False


PRESETS = (
    Layout(
        "Tradify",
        {
            "job_number": "Job Number",
            "status": "Job Status",
            "client_name": "Customer Name",
            "client_email": "Customer Email",
            "client_phone": "Customer Phone",
            "completed_at": "Completed Date",
            "purchase_order": "Order Number",
            "line_kind": "Item Type",
            "item_code": "Item Code",
            "description": "Description",
            "quantity": "Quantity",
            "unit_price": "Unit Price",
        },
        date_format="%d/%m/%Y",
    ),
    Layout(
        "WorkflowMax",
        {
            "job_number": "Job No.",
            "client_name": "Client",
            "purchase_order": "Client Order Number",
            "status": "State",
            "completed_at": "Completed Date",
            "line_kind": "Cost Type",
            "description": "Description",
            "quantity": "Quantity",
            "unit_price": "Unit Price",
        },
        date_format="%d %b %Y",
        prices_include_tax=True,
    ),
)

# The names exports give each logical column, compared without case, spaces or punctuation.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "job_id": ("job id", "job uuid", "id"),
    "job_number": ("job number", "job no", "job #", "job", "job ref", "work order", "wo number", "ticket"),
    "status": ("status", "job status", "state", "stage"),
    "completed_at": ("completed at", "completed date", "completed", "completion date", "date completed", "finished"),
    "client_id": ("client id", "customer id", "account number"),
    "client_name": ("client name", "client", "customer name", "customer", "company", "bill to"),
    "client_email": ("client email", "customer email", "email", "email address"),
    "client_phone": ("client phone", "customer phone", "phone", "mobile"),
    "line_kind": ("line type", "item type", "cost type", "type", "kind", "category"),
    "item_code": ("item code", "code", "sku", "part number", "part no"),
    "description": ("description", "item description", "line description", "details", "item"),
    "quantity": ("quantity", "qty", "hours", "units"),
    "unit_price": ("unit price", "price", "rate", "unit cost", "sell price", "unit amount"),
    "discount_percent": ("discount %", "discount percent", "discount"),
    "tax_code": ("tax code", "tax", "gst", "tax type"),
    "purchase_order": ("po number", "po", "purchase order", "order number", "client order number", "customer po"),
}


def _key(text: str) -> str:
    return re.sub(r"[^a-z0-9#%]", "", text.casefold())


@dataclass(frozen=True)
class Proposal:
    columns: dict[str, str]
    layout: str | None = None  # the preset recognised, if any
    date_format: str | None = None
    prices_include_tax: bool = False
    missing: tuple[str, ...] = field(default_factory=tuple)  # required columns no header matched


def propose(header: list[str]) -> Proposal:
    headers = [h.strip().lstrip("\ufeff") for h in header if h.strip()]
    present = set(headers)
    for layout in PRESETS:
        if set(layout.columns.values()) <= present:
            return Proposal(dict(layout.columns), layout.name, layout.date_format, layout.prices_include_tax)
    by_key = {_key(h): h for h in headers}
    columns: dict[str, str] = {}
    taken: set[str] = set()
    for logical, names in SYNONYMS.items():
        for name in names:
            found = by_key.get(_key(name))
            if found is not None and found not in taken:
                columns[logical] = found
                taken.add(found)
                break
    missing = tuple(k for k in REQUIRED if k not in columns)
    return Proposal(columns, missing=missing)
