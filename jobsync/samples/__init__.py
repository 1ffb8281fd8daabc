"""Bundled sample data (the demo's CSV export, `jobs.csv`) and the config that points at a sandbox.

The demo, `rehearse`, the tests and the benchmarks all write a config for a local sandbox; building
it here once keeps them from drifting apart.
"""

from __future__ import annotations

from typing import Any

import yaml

# The CSV headers of jobsync's own export layout (config.example.yaml and samples/jobs.csv use them).
STANDARD_COLUMNS: dict[str, str] = {
    "job_id": "Job ID",
    "job_number": "Job Number",
    "status": "Status",
    "completed_at": "Completed At",
    "client_id": "Client ID",
    "client_name": "Client Name",
    "client_email": "Client Email",
    "client_phone": "Client Phone",
    "line_kind": "Line Type",
    "item_code": "Item Code",
    "description": "Description",
    "quantity": "Quantity",
    "unit_price": "Unit Price",
    "discount_percent": "Discount %",
    "tax_code": "Tax Code",
    "purchase_order": "PO Number",
}


# How the sample exports name their taxes, in an Australian Xero organisation.
SAMPLE_TAX_MAP: dict[str, str] = {"GST": "OUTPUT", "GST Free": "EXEMPTOUTPUT"}


def csv_header(keys: list[str] | None = None) -> str:
    """The header line for the given logical columns (all standard ones by default)."""
    return ",".join(STANDARD_COLUMNS[k] for k in (keys or list(STANDARD_COLUMNS)))


def csv_source(path: str = "jobs.csv", keys: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    """A `source:` section reading a CSV in the standard layout (only `keys` mapped, when given)."""
    columns = {k: STANDARD_COLUMNS[k] for k in (keys or list(STANDARD_COLUMNS))}
    return {"type": "csv", "path": path, "columns": columns, **extra}


def sandbox_config(
    api_url: str,
    identity_url: str,
    tenant_id: str,
    source: dict[str, Any],
    rules: dict[str, Any],
    auth: dict[str, Any] | None = None,
    **sections: Any,
) -> str:
    """A complete config (YAML text) for a run against a local Xero sandbox."""
    xero = {
        "api_url": api_url,
        "identity_url": identity_url,
        "tenant_id": tenant_id,
        "auth": auth or {"mode": "static_token", "token": "sandbox"},
    }
    xero.update(sections.pop("xero", {}))
    doc = {
        "xero": xero,
        "source": source,
        "rules": rules,
        "state": {"path": "state.db"},
        "reports": {"dir": "reports"},
        **sections,
    }
    return "# Written for a local Xero sandbox.\n" + yaml.safe_dump(doc, sort_keys=False)
