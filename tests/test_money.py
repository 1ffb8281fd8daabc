from __future__ import annotations

from decimal import Decimal as D

import pytest

from jobsync.core.money import invoice_totals, line_amount, line_tax, round2, unit_amount_for, unit_dp


def test_round2_half_away_from_zero() -> None:
    assert round2(D("2.345")) == D("2.35")
    assert round2(D("-2.345")) == D("-2.35")
    assert round2(D("2.344")) == D("2.34")
    assert round2(D("7")) == D("7.00")


def test_xero_documented_example_taxes_per_line() -> None:
    # 25.06 × 15% = 3.759 → 3.76; 25.61 → 3.8415 → 3.84; 25.63 → 3.8445 → 3.84; sum 11.44.
    # Taxing the 76.30 total would give 11.445 → 11.45: Xero does not do that.
    amounts = [D("25.06"), D("25.61"), D("25.63")]
    pairs = [(a, line_tax(a, D("15"), "Exclusive")) for a in amounts]
    assert [t for _, t in pairs] == [D("3.76"), D("3.84"), D("3.84")]
    assert invoice_totals(pairs, "Exclusive") == (D("76.30"), D("11.44"), D("87.74"))


def test_line_amount_discount_rate() -> None:
    # 3 × 19.99 = 59.97, less 10% = 53.973 → 53.97
    assert line_amount(D("3"), D("19.99"), discount_rate=D("10")) == D("53.97")
    assert line_amount(D("1"), D("80"), discount_rate=D("100")) == D("0.00")


def test_line_amount_discount_amount() -> None:
    # 2 × 50 = 100, less 7.50
    assert line_amount(D("2"), D("50"), discount_amount=D("7.50")) == D("92.50")


def test_line_amount_rejects_both_discounts() -> None:
    with pytest.raises(ValueError):
        line_amount(D("1"), D("10"), discount_rate=D("5"), discount_amount=D("1"))


def test_decimal_quantities() -> None:
    assert line_amount(D("2.5"), D("85")) == D("212.50")
    # 1.333 × 45 = 59.985 → 59.99 (midpoint, up)
    assert line_amount(D("1.333"), D("45.00")) == D("59.99")


def test_four_dp_unit_prices() -> None:
    # 12 × 0.1648 = 1.9776 → 1.98
    assert line_amount(D("12"), D("0.1648")) == D("1.98")
    assert unit_dp(D("0.1648")) == 4
    assert unit_dp(D("12.50")) == 2
    assert unit_dp(D("12.5")) == 2
    assert unit_dp(D("3")) == 2
    assert unit_dp(D("1.23456")) == 4
    assert unit_amount_for(D("1.23456")) == D("1.2346")
    assert unit_amount_for(D("12.5")) == D("12.50")


def test_inclusive_tax_and_totals() -> None:
    # 110 incl. 10% → tax 110 × 10 / 110 = 10.00; 99.99 × 10 / 110 = 9.09
    assert line_tax(D("110.00"), D("10"), "Inclusive") == D("10.00")
    assert line_tax(D("99.99"), D("10"), "Inclusive") == D("9.09")
    # UK VAT 20%: 50.00 × 20 / 120 = 8.333 → 8.33
    assert line_tax(D("50.00"), D("20"), "Inclusive") == D("8.33")
    pairs = [(D("110.00"), D("10.00")), (D("99.99"), D("9.09"))]
    # subtotal = (110 − 10) + (99.99 − 9.09) = 190.90; total is the inclusive sum 209.99
    assert invoice_totals(pairs, "Inclusive") == (D("190.90"), D("19.09"), D("209.99"))


def test_no_tax() -> None:
    assert line_tax(D("123.45"), D("10"), "NoTax") == D("0")
    assert invoice_totals([(D("123.45"), D("0"))], "NoTax") == (D("123.45"), D("0.00"), D("123.45"))


def test_negative_lines() -> None:
    # −0.05 × 10% = −0.005 → −0.01 (away from zero), mirror of +0.01
    assert line_tax(D("-0.05"), D("10"), "Exclusive") == D("-0.01")
    assert line_tax(D("0.05"), D("10"), "Exclusive") == D("0.01")
    assert line_amount(D("1"), D("-150.00")) == D("-150.00")
    pairs = [(D("500.00"), D("50.00")), (D("-150.00"), D("-15.00"))]
    assert invoice_totals(pairs, "Exclusive") == (D("350.00"), D("35.00"), D("385.00"))


def test_unknown_line_amount_types() -> None:
    with pytest.raises(ValueError):
        line_tax(D("1"), D("10"), "Sideways")


def test_net_from_total() -> None:
    from jobsync.core.money import net_from_total

    # 300.00 + 10 % = 330.00
    assert net_from_total(D("330.00"), D("10"), "Exclusive") == D("300.00")
    # 0.05 + round2(0.005)=0.01 → 0.06; the naive 0.06 / 1.1 = 0.0545 → 0.05
    assert net_from_total(D("0.06"), D("10"), "Exclusive") == D("0.05")
    assert net_from_total(D("330.00"), D("10"), "Inclusive") == D("330.00")
