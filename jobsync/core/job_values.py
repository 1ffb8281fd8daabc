"""The range every job value must lie in before it can become an invoice. Pure: no I/O.

Sources parse what the platform sends; whatever they let through (a price of 1e400, a quantity of 29
nines, a completion date in year 1 or 9999) is caught here, so one odd job is held with its reason
and never stops the rest of its batch. The bounds are far outside real trade invoices and well
inside what Xero stores (amounts to 2 or 4 dp) and what date arithmetic in every zone can handle.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from jobsync.core.models import Job, JobLine

MAX_QUANTITY = Decimal("1e9")
MAX_UNIT_PRICE = Decimal("1e10")
MAX_LINE_AMOUNT = Decimal("1e12")  # quantity × price, before rounding
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


def value_problems(job: Job) -> list[str]:
    """What in this job cannot be invoiced, one phrase per value; empty when every value is usable."""
    problems: list[str] = []
    for name, moment in (("change time", job.changed_at), ("completion date", job.completed_at)):
        if moment is not None and not (EARLIEST <= moment <= LATEST):
            problems.append(f"{name} {moment.date().isoformat()} is outside {EARLIEST.year}–{LATEST.year}")
    for number, line in enumerate(job.lines, start=1):
        problems += _line_problems(number, line)
    for name, amount in (("job discount", job.discount_amount), ("source total", job.source_total)):
        if amount is not None and not _within(amount, MAX_LINE_AMOUNT):
            problems.append(f"{name} {_show(amount)} is not a usable amount")
    if job.discount_percent is not None and not _within(job.discount_percent, Decimal(100)):
        problems.append(f"job discount {_show(job.discount_percent)}% is not between -100 and 100")
    return problems


def _line_problems(number: int, line: JobLine) -> list[str]:
    label = f"line {number} ({line.description[:40]!r})"
    problems = []
    if not _within(line.quantity, MAX_QUANTITY):
        problems.append(f"{label}: quantity {_show(line.quantity)} is not a usable number")
    if not _within(line.unit_price, MAX_UNIT_PRICE):
        problems.append(f"{label}: unit price {_show(line.unit_price)} is not a usable amount")
    elif _within(line.quantity, MAX_QUANTITY) and abs(line.quantity * line.unit_price) > MAX_LINE_AMOUNT:
        problems.append(f"{label}: quantity × unit price is over {MAX_LINE_AMOUNT:,.0f}")
    for name, value, bound in (
        ("discount", line.discount_rate, Decimal(100)),
        ("discount amount", line.discount_amount, MAX_LINE_AMOUNT),
        ("hours", line.hours, MAX_QUANTITY),
        ("rate", line.rate, MAX_UNIT_PRICE),
    ):
        if value is not None and not _within(value, bound):
            problems.append(f"{label}: {name} {_show(value)} is not a usable number")
    return problems


def _within(value: Decimal, bound: Decimal) -> bool:
    try:
        return Decimal(value).is_finite() and abs(Decimal(value)) <= bound
    except (ArithmeticError, TypeError, ValueError):
        return False


def _show(value: object) -> str:
    text = str(value)
    return text if len(text) <= 24 else text[:23] + "…"
