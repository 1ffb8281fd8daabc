"""User-defined tax rates (PUT /TaxRates), e.g. a 15 % rate to replay Xero's rounding example."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from jobsync.sandbox.xero.encoding import to_decimal


def write_tax_rate(state: Any, element: Any) -> tuple[dict[str, Any], list[str]]:
    """Create a rate named `Name` from its components; Xero assigns TAX001, TAX002, …"""
    if not isinstance(element, dict) or not element.get("Name"):
        return (element if isinstance(element, dict) else {}), ["Name is required for a tax rate."]
    components = element.get("TaxComponents") or []
    rates = [to_decimal(c.get("Rate")) for c in components if isinstance(c, dict)]
    if not rates or any(r is None or r < 0 for r in rates):
        return element, ["A tax rate needs at least one TaxComponent with a Rate of 0 or more."]
    if any(t["Name"].casefold() == str(element["Name"]).casefold() for t in state.tax_rates):
        return element, [f"A tax rate with the name {element['Name']} already exists."]
    total = sum((r for r in rates if r is not None), Decimal(0))
    custom = [t for t in state.tax_rates if t["TaxType"].startswith("TAX")]
    rate = {
        "Name": element["Name"],
        "TaxType": f"TAX{len(custom) + 1:03d}",
        "ReportTaxType": element.get("ReportTaxType") or "OUTPUT",
        "CanApplyToAssets": True,
        "CanApplyToEquity": True,
        "CanApplyToExpenses": True,
        "CanApplyToLiabilities": True,
        "CanApplyToRevenue": True,
        "DisplayTaxRate": total,
        "EffectiveRate": total,
        "Status": "ACTIVE",
        "TaxComponents": [
            {
                "Name": c.get("Name", "Tax"),
                "Rate": to_decimal(c.get("Rate")),
                "IsCompound": False,
                "IsNonRecoverable": False,
            }
            for c in components
        ],
    }
    state.tax_rates.append(rate)
    return dict(rate), []
