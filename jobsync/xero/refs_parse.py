"""Xero's reference-data payloads (Organisation, Accounts, TaxRates, TrackingCategories) as models."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from jobsync.core.models import XeroAccount, XeroOrg, XeroTaxRate
from jobsync.xero import wire
from jobsync.xero.timezones import to_iana


def organisation(payload: Mapping[str, Any]) -> tuple[XeroOrg, str | None]:
    """The organisation, and a warning when its timezone has no IANA name we know."""
    raw = (payload.get("Organisations") or [{}])[0]
    timezone, warning = to_iana(raw.get("Timezone"))
    org = XeroOrg(
        name=raw.get("Name") or "",
        base_currency=raw.get("BaseCurrency") or "AUD",
        timezone=timezone,
        period_lock_date=wire.parse_date(raw.get("PeriodLockDate")),
        short_code=str(raw.get("ShortCode") or ""),
    )
    return org, warning


def tracking_options(payload: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """Active tracking categories with their active options, by name."""
    return {
        str(c.get("Name")): tuple(
            str(o.get("Name")) for o in c.get("Options") or () if (o.get("Status") or "ACTIVE") == "ACTIVE"
        )
        for c in payload.get("TrackingCategories") or ()
        if c.get("Name") and (c.get("Status") or "ACTIVE") == "ACTIVE"
    }


def accounts_by_code(raw: Sequence[Mapping[str, Any]]) -> dict[str, XeroAccount]:
    # Bank accounts may have no Code; invoices can only name coded accounts.
    return {
        a["Code"]: XeroAccount(
            code=a["Code"],
            name=a.get("Name") or "",
            status=a.get("Status") or "ACTIVE",
            tax_type=a.get("TaxType"),
            type=str(a.get("Type") or ""),
            account_class=str(a.get("Class") or ""),
            system_account=str(a.get("SystemAccount") or ""),
        )
        for a in raw
        if a.get("Code")
    }


def tax_rates_by_type(raw: Sequence[Mapping[str, Any]]) -> dict[str, XeroTaxRate]:
    rates: dict[str, XeroTaxRate] = {}
    for r in raw:
        if not r.get("TaxType"):
            continue
        rate = wire.to_decimal(r.get("EffectiveRate"))
        if rate is None:
            rate = wire.to_decimal(r.get("DisplayTaxRate"))
        rates[r["TaxType"]] = XeroTaxRate(
            tax_type=r["TaxType"],
            name=r.get("Name") or "",
            rate=rate if rate is not None else Decimal(0),
            status=r.get("Status") or "ACTIVE",
            can_apply_to_revenue=r.get("CanApplyToRevenue") is not False,
            report_tax_type=r.get("ReportTaxType") or None,
        )
    return rates
