"""JSON and date encoding as Xero writes it: Decimal as JSON numbers, `/Date(ms+0000)/` dates."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CENT = Decimal("0.01")


def dumps(value: Any) -> str:
    """Serialise with Decimals as exact JSON numbers (json.dumps would need floats)."""
    if isinstance(value, dict):
        inner = ",".join(f"{json.dumps(str(k))}:{dumps(v)}" for k, v in value.items())
        return "{" + inner + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return _decimal_text(value)
    return json.dumps(value)


def _decimal_text(value: Decimal) -> str:
    text = format(value, "f")
    return text if text not in ("-0", "-0.00") else text.lstrip("-")


def loads(raw: bytes | str) -> Any:
    return json.loads(raw, parse_float=Decimal)


def round2(value: Decimal) -> Decimal:
    """Xero rounds midpoints away from zero; ROUND_HALF_UP does that for Decimal."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def round_dp(value: Decimal, places: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def ms_date(moment: datetime) -> str:
    """A timestamp in Xero's `/Date(ms+0000)/` form."""
    millis = int((moment - EPOCH) / timedelta(milliseconds=1))
    return f"/Date({millis}+0000)/"


def ms_date_plain(moment: datetime) -> str:
    """The envelope's DateTimeUTC carries no offset in Xero's answers."""
    return ms_date(moment).replace("+0000", "")


def day_date(day: date) -> str:
    return ms_date(datetime(day.year, day.month, day.day, tzinfo=UTC))


def parse_date(value: Any) -> datetime | None:
    """Accept `/Date(ms±hhmm)/`, `YYYY-MM-DD` and ISO datetimes, as Xero does; None if unreadable."""
    if not isinstance(value, str):
        return None
    found = _MS_DATE.match(value.strip())
    if found:
        return EPOCH + timedelta(milliseconds=int(found.group(1)))
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def to_decimal(value: Any) -> Decimal | None:
    """Numbers may arrive as JSON numbers or numeric strings; None when absent or not numeric."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None
