"""Validated value types shared by the settings model: URLs, time zones, paths and bounded numbers.

Each check runs when the config loads, so a value that would crash later (an IPv6 URL with no closing
bracket, a 500-character zone name, minutes that overflow a timedelta) is refused with its key instead.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field

from jobsync.core.errors import echo

# Bounds well past any real setting and well inside what datetime/timedelta arithmetic can hold.
MAX_MINUTES = 10 * 366 * 24 * 60  # ten years
MAX_DAYS = 10 * 366
MAX_COUNT = 1_000_000_000
EARLIEST_DATE = date(1970, 1, 1)
LATEST_DATE = date(2200, 1, 1)


def check_http_url(value: str) -> str:
    """An absolute http(s) URL whose host and port parse; trailing '/' dropped."""
    try:
        parts = urlsplit(value)
        host, _port = parts.hostname, parts.port  # .port raises on a bad or out-of-range port
    except ValueError as exc:
        raise ValueError(f"is not a valid URL: {exc} (got {echo(value)})") from None
    if parts.scheme not in ("http", "https") or not host:
        raise ValueError(f"must be an http(s) URL (got {echo(value)})")
    if any(ch.isspace() for ch in value):
        raise ValueError(f"must not contain spaces (got {echo(value)})")
    return value.rstrip("/")


def check_timezone(value: str) -> str:
    if not is_timezone(value):
        raise ValueError(f"unknown IANA timezone (got {echo(value)}); e.g. Australia/Sydney")
    return value


def is_timezone(value: object) -> bool:
    if not isinstance(value, str) or not value or len(value) > 64:  # the longest IANA name is 32
        return False
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def check_moment(value: datetime | None) -> datetime | None:
    if value is not None and not (EARLIEST_DATE <= value.date() < LATEST_DATE):
        raise ValueError(f"must be between {EARLIEST_DATE} and {LATEST_DATE} (got {value.date()})")
    return value


HttpUrl = Annotated[str, AfterValidator(check_http_url)]
TimeZoneName = Annotated[str, AfterValidator(check_timezone)]
Moment = Annotated[datetime, AfterValidator(check_moment)]


def minutes(default: int) -> Any:
    return Field(default=default, ge=0, le=MAX_MINUTES)


def days(default: int, ge: int = 0) -> Any:
    return Field(default=default, ge=ge, le=MAX_DAYS)


def count(default: int | None, ge: int = 1) -> Any:
    return Field(default=default, ge=ge, le=MAX_COUNT)
