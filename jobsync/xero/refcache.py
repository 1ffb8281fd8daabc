"""Reference data kept between runs: where the client caches it, and the Accounts copy.

The cache is any object with `cache_get` / `cache_put` of strings (the state
file's `State` is one). The xero package never imports the state module: the
run hands its state to the client through `use_cache`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

_MS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# If-Modified-Since is sent a second early: Xero compares strictly, and a record saved in
# the same second as the newest one we hold must not slip past. Re-reading it is harmless.
_OVERLAP = timedelta(seconds=1)


class KeyValueCache(Protocol):
    def cache_get(self, key: str) -> str | None: ...

    def cache_put(self, key: str, value: str) -> None: ...


@runtime_checkable
class CacheUser(Protocol):
    """A gateway that keeps reference data and a contact snapshot in a cache it is handed."""

    def use_cache(self, cache: KeyValueCache) -> None: ...


def updated_at(raw: Mapping[str, Any]) -> datetime | None:
    """A record's UpdatedDateUTC (`/Date(ms+0000)/` or ISO) as an aware UTC datetime."""
    value = raw.get("UpdatedDateUTC")
    if not isinstance(value, str):
        return None
    found = _MS_DATE.match(value.strip())
    if found:
        return _EPOCH + timedelta(milliseconds=int(found.group(1)))
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def newest(current: datetime | None, rows: Iterable[Mapping[str, Any]]) -> datetime | None:
    marks = [m for m in (updated_at(r) for r in rows) if m is not None]
    if current is not None:
        marks.append(current)
    return max(marks) if marks else None


def modified_since_header(mark: datetime | None) -> datetime | None:
    """The If-Modified-Since value for `mark`: UTC, whole seconds, one second early.

    Aware, so the SDK writes `...+00:00`: the spec types the header as an RFC 3339 date-time.
    """
    if mark is None:
        return None
    return (mark - _OVERLAP).astimezone(UTC).replace(microsecond=0)


def _mark_text(mark: datetime | None) -> str | None:
    return mark.isoformat() if mark is not None else None


def _mark_of(text: Any) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) else None


class CachedAccounts:
    """The chart of accounts as last read, merged with what changed since (by AccountID)."""

    FIELDS = ("AccountID", "Code", "Name", "Status", "TaxType", "Type", "Class", "SystemAccount", "UpdatedDateUTC")
    # Bumped whenever FIELDS grows: a copy kept without the new fields is read afresh once, whole.
    VERSION = 2

    def __init__(self, cache: KeyValueCache, tenant_id: str) -> None:
        self._cache = cache
        self._key = f"xero:{tenant_id}:accounts:v{self.VERSION}"
        self.mark: datetime | None = None
        self.rows: dict[str, dict[str, Any]] = {}
        self.loaded = False
        raw = cache.cache_get(self._key)
        if raw:
            try:
                data = json.loads(raw)
                self.mark = _mark_of(data.get("mark"))
                self.rows = dict(data.get("accounts") or {})
                self.loaded = True
            except (ValueError, TypeError, AttributeError):
                self.mark, self.rows = None, {}  # an unreadable copy is read afresh

    def merge(self, changed: Iterable[Mapping[str, Any]]) -> None:
        changed = list(changed)
        for row in changed:
            key = str(row.get("AccountID") or row.get("Code") or "")
            if key:
                self.rows[key] = {f: row[f] for f in self.FIELDS if f in row}
        self.mark = newest(self.mark, changed)
        self.loaded = True

    def save(self) -> None:
        self._cache.cache_put(self._key, json.dumps({"mark": _mark_text(self.mark), "accounts": self.rows}))
