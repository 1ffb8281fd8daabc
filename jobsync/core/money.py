"""Xero's invoice arithmetic, mirrored exactly so our totals match Xero's to the cent.

Xero rounds each line amount to 2 dp, computes tax per line and rounds it to 2 dp,
then sums the rounded values. Midpoints round half away from zero (Decimal's
ROUND_HALF_UP is away from zero for negatives too). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
TEN_THOUSANDTH = Decimal("0.0001")
HUNDRED = Decimal("100")
LINE_AMOUNT_TYPES = ("Exclusive", "Inclusive", "NoTax")


def round2(x: Decimal) -> Decimal:
    """Round to cents, half away from zero."""
    return Decimal(x).quantize(CENT, rounding=ROUND_HALF_UP)


def round4(x: Decimal) -> Decimal:
    """Round to 4 dp, the most precision Xero accepts for a unit amount (with unitdp=4)."""
    return Decimal(x).quantize(TEN_THOUSANDTH, rounding=ROUND_HALF_UP)


def unit_dp(unit_amount: Decimal) -> int:
    """4 when the unit amount needs more than 2 decimals, else 2."""
    return 2 if round2(unit_amount) == unit_amount else 4


def unit_amount_for(unit_amount: Decimal) -> Decimal:
    """The unit amount as it will be sent: 2 dp when it fits, else rounded to 4 dp."""
    return round2(unit_amount) if unit_dp(unit_amount) == 2 else round4(unit_amount)


def line_amount(
    quantity: Decimal,
    unit_amount: Decimal,
    discount_rate: Decimal | None = None,
    discount_amount: Decimal | None = None,
) -> Decimal:
    """The line amount Xero shows: quantity × unit amount less any discount, to 2 dp."""
    gross = Decimal(quantity) * Decimal(unit_amount)
    if discount_rate is not None and discount_amount is not None:
        raise ValueError("a line has either a discount rate or a discount amount, not both")
    if discount_rate is not None:
        return round2(gross * (1 - Decimal(discount_rate) / HUNDRED))
    if discount_amount is not None:
        return round2(gross - Decimal(discount_amount))
    return round2(gross)


def line_tax(amount: Decimal, rate_percent: Decimal, line_amount_types: str) -> Decimal:
    """Tax on one (already rounded) line amount, rounded to 2 dp as Xero does per line."""
    rate = Decimal(rate_percent)
    if line_amount_types == "Exclusive":
        return round2(amount * rate / HUNDRED)
    if line_amount_types == "Inclusive":
        # The tax already inside an inclusive amount: amount × r / (100 + r).
        return round2(amount * rate / (HUNDRED + rate))
    if line_amount_types == "NoTax":
        return Decimal("0.00")
    raise ValueError(f"unknown LineAmountTypes {line_amount_types!r}")


def invoice_totals(
    lines: Iterable[tuple[Decimal, Decimal]], line_amount_types: str
) -> tuple[Decimal, Decimal, Decimal]:
    """(subtotal, total tax, total) from (line amount, line tax) pairs, both already rounded.

    Inclusive: the line amounts include tax, so subtotal = Σ(line − tax) and total = Σ line.
    """
    amounts = Decimal("0.00")
    taxes = Decimal("0.00")
    for amount, tax in lines:
        amounts += amount
        taxes += tax
    if line_amount_types == "Inclusive":
        return round2(amounts - taxes), round2(taxes), round2(amounts)
    return round2(amounts), round2(taxes), round2(amounts + taxes)


def net_from_total(total: Decimal, rate_percent: Decimal, line_amount_types: str) -> Decimal:
    """The line amount of a one-line invoice whose total (with tax) is `total`.

    Used to net off what an earlier stage billed when only its total was recorded.
    Exclusive: the amount a with a + round2(a × r / 100) == total; the nearest cent
    candidates are tried so per-line rounding is honoured exactly.
    """
    if line_amount_types != "Exclusive":
        return round2(total)
    rate = Decimal(rate_percent)
    guess = round2(total * HUNDRED / (HUNDRED + rate))
    for candidate in (guess, guess - CENT, guess + CENT):
        if candidate + line_tax(candidate, rate, "Exclusive") == total:
            return candidate
    return guess
