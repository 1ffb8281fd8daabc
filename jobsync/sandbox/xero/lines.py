"""Line item validation and Xero's arithmetic: each line rounded to 2 dp, tax per line, then summed."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from jobsync.sandbox.xero.encoding import round2, round_dp, to_decimal
from jobsync.sandbox.xero.store import OrgState, snapshot

LINE_AMOUNT_TYPES = ("Exclusive", "Inclusive", "NoTax")
ZERO = Decimal("0.00")


def _number(line: dict[str, Any], key: str, problems: list[str]) -> Decimal | None:
    if line.get(key) is None:
        return None
    value = to_decimal(line[key])
    if value is None:
        problems.append(f"{key} must be a number.")
    return value


def _tax_type(
    state: OrgState, line: dict[str, Any], account: dict[str, Any] | None, problems: list[str]
) -> tuple[str | None, Decimal]:
    """The line's tax type (given, else the account's default) and its rate in percent."""
    given = line.get("TaxType")
    if given:
        rate = state.tax_rate(str(given))
        if rate is None or rate.get("Status") != "ACTIVE" or not rate.get("CanApplyToRevenue"):
            problems.append(f"The TaxType code {given} does not exist or cannot be used for this type of transaction.")
            return str(given), Decimal(0)
        return rate["TaxType"], to_decimal(rate["EffectiveRate"]) or Decimal(0)
    if account and account.get("TaxType"):
        rate = state.tax_rate(account["TaxType"])
        return account["TaxType"], (to_decimal(rate["EffectiveRate"]) if rate else None) or Decimal(0)
    return None, Decimal(0)


def _account(state: OrgState, line: dict[str, Any], required: bool, problems: list[str]) -> dict[str, Any] | None:
    code = line.get("AccountCode")
    if not code:
        if required:
            problems.append("Account code '' is not a valid code for this document.")
        return None
    account = state.account(str(code))
    # Xero keeps bank and system accounts (Accounts Receivable, Payable, GST…) for its own postings.
    refused = account is not None and (account.get("Type") == "BANK" or account.get("SystemAccount"))
    if account is None or account.get("Status") != "ACTIVE" or refused:
        problems.append(f"Account code '{code}' is not a valid code for this document.")
        return None
    return account


def _amounts(line: dict[str, Any], unitdp: int, problems: list[str]) -> dict[str, Any]:
    quantity = _number(line, "Quantity", problems)
    unit = _number(line, "UnitAmount", problems)
    given_total = _number(line, "LineAmount", problems)
    rate = _number(line, "DiscountRate", problems)
    discount = _number(line, "DiscountAmount", problems)
    if rate is not None and discount is not None:
        problems.append("Only one of DiscountRate or DiscountAmount may be given on a line item.")
    quantity = round_dp(quantity if quantity is not None else Decimal(1), 4)
    if unit is None:
        # Xero derives the missing unit price from a LineAmount and quantity.
        unit = given_total / quantity if given_total is not None and quantity else Decimal(0)
    unit = round_dp(unit, 4 if unitdp == 4 else 2)
    gross = quantity * unit
    if rate is not None:
        amount = round2(gross * (Decimal(100) - rate) / Decimal(100))
    elif discount is not None:
        amount = round2(gross - discount)
    else:
        amount = round2(gross)
    out: dict[str, Any] = {"Quantity": quantity, "UnitAmount": unit, "LineAmount": amount}
    if rate is not None:
        out["DiscountRate"] = rate
    if discount is not None:
        out["DiscountAmount"] = round2(discount)
    out["_discount"] = round2(gross) - amount
    return out


def compute_line(
    state: OrgState, line: Any, kind: str, unitdp: int, required: bool, problems: list[str]
) -> dict[str, Any]:
    """One stored line; problems found are appended (the line is still returned for the echo)."""
    if not isinstance(line, dict):
        problems.append("A line item must be a JSON object.")
        return {}
    if not line.get("Description") and not line.get("ItemCode"):
        problems.append("The description field is mandatory for each line item.")
    account = _account(state, line, required, problems)
    tax_type, percent = _tax_type(state, line, account, problems)
    stored: dict[str, Any] = {"LineItemID": str(line.get("LineItemID") or uuid.uuid4())}
    for key in ("Description", "ItemCode", "AccountCode"):
        if line.get(key) is not None:
            stored[key] = line[key]
    if account:
        stored["AccountID"] = account["AccountID"]
    stored.update(_amounts(line, unitdp, problems))
    if tax_type:
        stored["TaxType"] = tax_type
    amount = stored["LineAmount"]
    if kind == "Exclusive":
        stored["TaxAmount"] = round2(amount * percent / Decimal(100))
    elif kind == "Inclusive":
        stored["TaxAmount"] = round2(amount * percent / (Decimal(100) + percent))
    else:
        stored["TaxAmount"] = ZERO
    stored["Tracking"] = snapshot(line.get("Tracking") or [])
    return stored


def totals(lines: list[dict[str, Any]], kind: str) -> dict[str, Decimal]:
    """Sum the per-line rounded values; an Inclusive subtotal excludes each line's own tax."""
    tax = sum((line["TaxAmount"] for line in lines), ZERO)
    amounts = sum((line["LineAmount"] for line in lines), ZERO)
    subtotal = amounts - tax if kind == "Inclusive" else amounts
    discount = sum((line.pop("_discount", ZERO) for line in lines), ZERO)
    return {
        "SubTotal": round2(subtotal),
        "TotalTax": round2(tax),
        "Total": round2(subtotal + tax),
        "TotalDiscount": round2(discount),
    }
