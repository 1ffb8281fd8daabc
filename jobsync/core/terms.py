"""Due dates by Xero's payment-term types. Pure: no I/O.

Xero's four sales term types, as a contact's PaymentTerms.Sales or the configured terms:
- DAYSAFTERBILLDATE: `day` days after the invoice date;
- DAYSAFTERBILLMONTH: `day` days after the end of the invoice's month;
- OFCURRENTMONTH: that day of the invoice's month (31 means its last day: "end of month");
- OFFOLLOWINGMONTH: that day of the following month (the 20th of next month, say).
A day past the month's end is its last day (the 31st of February is the 28th or 29th).
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta


def _day_of(year: int, month: int, day: int) -> date:
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def _month_end(d: date) -> date:
    return _day_of(d.year, d.month, 31)


def due_date(invoice_date: date, day: int, term_type: str) -> date:
    """The due date for an invoice dated `invoice_date` under (day, term type)."""
    if term_type == "DAYSAFTERBILLDATE":
        return invoice_date + timedelta(days=day)
    if term_type == "DAYSAFTERBILLMONTH":
        return _month_end(invoice_date) + timedelta(days=day)
    if term_type == "OFCURRENTMONTH":
        # Never before the invoice itself: a day already past in this month means today.
        return max(invoice_date, _day_of(invoice_date.year, invoice_date.month, day))
    if term_type == "OFFOLLOWINGMONTH":
        nxt = _month_end(invoice_date) + timedelta(days=1)
        return _day_of(nxt.year, nxt.month, day)
    raise ValueError(f"unknown payment term type {term_type!r}")
