"""Reading one cell of an export: a number, a date, a line kind, a tax rate. Pure: no I/O.

Shared by the CSV and REST sources (both build jobs from cells of text), so a value reads the same
whichever way it arrived.
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from jobsync.core.source_tax import parse_rate
from jobsync.sources.csv_reading import normalise_name

_KIND_ALIASES = {
    "labour": "labour",
    "labor": "labour",
    "time": "labour",
    "material": "material",
    "materials": "material",
    "part": "material",
    "parts": "material",
    "subcontractor": "subcontractor",
    "sub": "subcontractor",
    "contractor": "subcontractor",
    "fee": "fee",
    "callout": "fee",
    "call-out": "fee",
    "call out": "fee",
    "discount": "discount",
}

# A number as exports write it: optional sign, optional currency symbol, digits
# with correctly grouped thousands separators. "12,5" is refused rather than
# read as 125: a decimal comma silently multiplied by ten is an overbilled client.
_NUMBER = re.compile(
    r"(?P<sign1>[+-])?(?:A\$|AU\$|NZ\$|US\$|[$€£])?(?P<sign2>[+-])?"
    r"(?P<digits>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)"
)
_ISO_START = re.compile(r"\d{4}-\d{2}-\d{2}")
_DMY_FORMATS = ("%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %I:%M %p", "%d/%m/%Y")
DATE_HINT = "expected dd/mm/yyyy, dd/mm/yyyy HH:MM or ISO yyyy-mm-dd[THH:MM[+hh:mm]]"


def normalise_kind(text: str) -> str:
    """Map an export's line type onto one of `LINE_KINDS`; anything unknown is "other"."""
    return _KIND_ALIASES.get(normalise_name(text), "other")


def first_rate(*cells: str | None) -> Decimal | None:
    for cell in cells:
        rate = parse_rate(cell)
        if rate is not None:
            return rate
    return None


def parse_decimal(raw: str) -> Decimal:
    """Parse "1,234.50", "$12.3456", "-$5", "(12.50)"; raise ValueError for anything else."""
    text = raw.strip().replace(" ", "").replace("\u00a0", "")
    negative = text.startswith("(") and text.endswith(")")  # accounting-style negative
    if negative:
        text = text[1:-1]
    match = _NUMBER.fullmatch(text)
    if match is None or (match["sign1"] and match["sign2"]):
        raise ValueError(raw)
    try:
        value = Decimal(match["digits"].replace(",", ""))
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only digits
        raise ValueError(raw) from exc
    if negative or "-" in (match["sign1"] or "", match["sign2"] or ""):
        value = -value
    return value


def parse_datetime(raw: str, tz: ZoneInfo, fmt: str | None = None) -> datetime:
    """Parse `fmt`, else a dd/mm/yyyy or ISO date/time; naive values are local to `tz`. Raise ValueError."""
    text = raw.strip()
    value: datetime | None = None
    if fmt and not _ISO_START.match(text):
        # Only ISO may stand in for the configured format: falling back to dd/mm/yyyy would
        # silently read a US 13/04 as 13 April when the user said "%m/%d/%Y".
        value = datetime.strptime(text, fmt)
    elif _ISO_START.match(text):
        value = datetime.fromisoformat(text)
    else:
        for fmt in _DMY_FORMATS:
            try:
                value = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if value is None:
        raise ValueError(raw)
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)
