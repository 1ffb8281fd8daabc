"""The demo organisation's state: seeded from a data file, optionally persisted to a data dir."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from jobsync.runtime.private_files import write_private
from jobsync.sandbox.xero.encoding import dumps, loads

STATE_FILE = "xero_state.json"


@dataclass
class OrgState:
    """Everything one tenant holds, kept in Xero's JSON shape (Decimals for money)."""

    tenant_id: str
    tenant_name: str
    organisation: dict[str, Any]
    accounts: list[dict[str, Any]]
    tax_rates: list[dict[str, Any]]
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    tracking_categories: list[dict[str, Any]] = field(default_factory=list)
    next_invoice_number: int = 1
    extra: dict[str, Any] = field(default_factory=dict)  # tokens, clients: whatever else persists
    # Currencies added to the organisation (Xero's Currencies): invoices may be in these only.
    currencies: list[str] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OrgState:
        return cls(
            tenant_id=data["tenant_id"],
            tenant_name=data["tenant_name"],
            organisation=data["organisation"],
            accounts=data["accounts"],
            tax_rates=data["tax_rates"],
            contacts={c["ContactID"]: c for c in data.get("contacts", [])},
            invoices={i["InvoiceID"]: i for i in data.get("invoices", [])},
            tracking_categories=data.get("tracking_categories", []),
            next_invoice_number=int(data.get("next_invoice_number", 1)),
            extra=data.get("extra", {}),
            currencies=list(data.get("currencies") or [data["organisation"].get("BaseCurrency", "AUD")]),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "tenant_name": self.tenant_name,
            "organisation": self.organisation,
            "accounts": self.accounts,
            "tax_rates": self.tax_rates,
            "contacts": list(self.contacts.values()),
            "invoices": list(self.invoices.values()),
            "tracking_categories": self.tracking_categories,
            "next_invoice_number": self.next_invoice_number,
            "extra": self.extra,
            "currencies": self.currencies,
        }

    def account(self, code: str) -> dict[str, Any] | None:
        return next((a for a in self.accounts if a["Code"].lower() == code.lower()), None)

    def tax_rate(self, tax_type: str) -> dict[str, Any] | None:
        return next((t for t in self.tax_rates if t["TaxType"].lower() == tax_type.lower()), None)

    def active_contact_named(self, name: str, exclude: str | None = None) -> dict[str, Any] | None:
        wanted = " ".join(name.split()).casefold()
        for contact in self.contacts.values():
            if contact["ContactID"] == exclude or contact.get("ContactStatus") != "ACTIVE":
                continue
            if " ".join(contact.get("Name", "").split()).casefold() == wanted:
                return contact
        return None

    def invoice_numbered(self, number: str) -> dict[str, Any] | None:
        wanted = number.casefold()
        return next((i for i in self.invoices.values() if i.get("InvoiceNumber", "").casefold() == wanted), None)


def load_seed() -> OrgState:
    text = resources.files("jobsync.sandbox").joinpath("data/xero_seed.json").read_text("utf-8")
    return OrgState.from_json(loads(text))


def load_state(data_dir: str | None) -> OrgState:
    """The persisted state when `data_dir` holds one, else a fresh copy of the seed."""
    if data_dir:
        path = Path(data_dir) / STATE_FILE
        if path.exists():
            return OrgState.from_json(loads(path.read_text("utf-8")))
    return load_seed()


def save_state(state: OrgState, data_dir: str | None) -> None:
    """Write atomically so a killed server never leaves half a file behind."""
    if not data_dir:
        return
    write_private(Path(data_dir) / STATE_FILE, dumps(state.to_json()))


def snapshot(value: Any) -> Any:
    return copy.deepcopy(value)
