"""The job system's own tax on a line, turned into a Xero TaxType. Pure: no I/O.

What the client was shown is what the invoice must say: a line the job system marked "GST Free" is
GST-free in Xero too, whatever the rule's `tax_type` says. The order, for a line that carries a tax:

1. `rules.tax_map`: the source tax's name, or its rate ("10", "0"), to a Xero TaxType;
2. the name is itself a Xero TaxType or tax rate name ("OUTPUT", "GST Free Income");
3. the organisation's only active sales TaxType at the source's rate.

When none decides (a name with no rate, or no or several sales TaxTypes at the rate), the line is held
naming the `tax_map` key to add. A rule's `tax_type` wins over the source only with `tax_override: true`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from jobsync.core.errors import echo
from jobsync.core.models import XeroRefs, XeroTaxRate

# Xero's ReportTaxType for tax reported as sales (AU "GST on Income", "GST Free Income", NZ, UK alike).
SALES_REPORT_TYPE = "OUTPUT"


@dataclass(frozen=True)
class SourceTax:
    """A line's tax as the platform states it: a name, a rate in percent, or both."""

    name: str | None = None
    rate: Decimal | None = None

    @property
    def label(self) -> str:
        rate = f"{self.rate.normalize():f}%" if self.rate is not None else None
        if self.name and rate:
            return f"{echo(self.name)} ({rate})"
        return echo(self.name) if self.name else str(rate)


def tax_key(text: str) -> str:
    """How a tax_map key and a source tax are compared: case, spacing and a trailing % do not matter."""
    cleaned = " ".join(text.split()).casefold().removesuffix("%").strip()
    rate = parse_rate(cleaned)
    return f"{rate.normalize():f}" if rate is not None else cleaned


def parse_rate(text: str | None) -> Decimal | None:
    """'10', '10%', '12.5 %' as a percentage; None for anything that is not a plain number 0–100."""
    if text is None:
        return None
    try:
        value = Decimal(text.strip().removesuffix("%").strip())
    except (InvalidOperation, ValueError):
        return None
    if not (value.is_finite() and 0 <= value <= 100):
        return None
    # Xero keeps tax rates to 4 decimal places; a finer "rate" is not one a job system would state.
    return value if value == value.quantize(Decimal("0.0001")) else None


def resolve(tax: SourceTax, tax_map: Mapping[str, str], refs: XeroRefs) -> tuple[str | None, str | None]:
    """(Xero TaxType, None), or (None, the reason the line is held and the tax_map key to add)."""
    for text in (tax.name, None if tax.rate is None else f"{tax.rate}"):
        if text and tax_key(text) in tax_map:
            return tax_map[tax_key(text)], None
    if tax.name:
        named = _named(tax.name, refs)
        if named is not None:
            return named.tax_type, None
    key = tax.name or (f"{tax.rate.normalize():f}" if tax.rate is not None else "")
    if tax.rate is None:
        return None, (
            f"the job system's tax {tax.label} states no rate and no Xero tax type has that name;"
            f" add it to rules.tax_map, e.g. tax_map: {{{echo(key)}: OUTPUT}}"
        )
    candidates = sales_at(tax.rate, refs)
    if len(candidates) == 1:
        return candidates[0].tax_type, None
    found = "no" if not candidates else "several (" + ", ".join(c.tax_type for c in candidates) + ")"
    return None, (
        f"the job system's tax {tax.label} matches {found} active sales tax types in Xero;"
        f" add rules.tax_map: {{{echo(key)}: TAXTYPE}} naming the one to use"
    )


def sales_at(rate: Decimal, refs: XeroRefs) -> list[XeroTaxRate]:
    return sorted((t for t in refs.tax_rates.values() if _is_sales(t) and t.rate == rate), key=lambda t: t.tax_type)


def _is_sales(rate: XeroTaxRate) -> bool:
    report = rate.report_tax_type
    return rate.status == "ACTIVE" and rate.can_apply_to_revenue and (report is None or report == SALES_REPORT_TYPE)


def _named(name: str, refs: XeroRefs) -> XeroTaxRate | None:
    wanted = name.strip().casefold()
    for rate in refs.tax_rates.values():
        if rate.status == "ACTIVE" and wanted in (rate.tax_type.casefold(), rate.name.casefold()):
            return rate
    return None
