"""Times as a person reads them: in the organisation's zone, in one format. JSON keeps ISO 8601 UTC."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone_of(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):  # an unknown name reads as UTC, and says so by its label
        return ZoneInfo("UTC")


def shown(moment: datetime | None, zone: str | None, empty: str = "") -> str:
    """ "2026-12-02 20:43 AEDT": minutes are what a bookkeeper compares; the zone's label removes doubt."""
    if moment is None:
        return empty
    local = moment.astimezone(zone_of(zone))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()}"
