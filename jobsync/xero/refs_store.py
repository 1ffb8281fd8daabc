"""The organisation, its tax rates and tracking categories, kept for `xero.refs_cache_minutes`.

These endpoints offer no If-Modified-Since, and they change rarely (a new tax rate, a renamed
category), so a run within the hour reuses the last copy instead of three calls. Xero refusing a
write drops the copy (`forget`): the next run reads them afresh, in case they were the cause.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from jobsync.core.models import XeroOrg, XeroTaxRate
from jobsync.xero.refcache import KeyValueCache

Tracking = dict[str, tuple[str, ...]] | None


def key(tenant_id: str) -> str:
    return f"xero:{tenant_id}:refs:v1"


def save(
    cache: KeyValueCache, tenant_id: str, at: datetime, org: XeroOrg, rates: dict[str, XeroTaxRate], tracking: Tracking
) -> None:
    doc = {
        "at": at.isoformat(),
        "org": {**org.__dict__, "period_lock_date": org.period_lock_date.isoformat() if org.period_lock_date else None},
        "rates": {t: {**r.__dict__, "rate": str(r.rate)} for t, r in rates.items()},
        "tracking": None if tracking is None else {k: list(v) for k, v in tracking.items()},
    }
    cache.cache_put(key(tenant_id), json.dumps(doc))


def load(
    cache: KeyValueCache, tenant_id: str, now: datetime, max_age: timedelta
) -> tuple[XeroOrg, dict[str, XeroTaxRate], Tracking] | None:
    """The kept copy while younger than `max_age`; None when there is none, it is stale or unreadable."""
    raw = cache.cache_get(key(tenant_id))
    if not raw or max_age <= timedelta(0):
        return None
    try:
        doc: dict[str, Any] = json.loads(raw)
        if not timedelta(0) <= now - datetime.fromisoformat(doc["at"]) < max_age:
            return None
        lock = doc["org"].pop("period_lock_date")
        org = XeroOrg(**doc["org"], period_lock_date=date.fromisoformat(lock) if lock else None)
        rates = {t: XeroTaxRate(**{**r, "rate": Decimal(r["rate"])}) for t, r in doc["rates"].items()}
        tracking = None if doc["tracking"] is None else {k: tuple(v) for k, v in doc["tracking"].items()}
    except (ValueError, KeyError, TypeError, ArithmeticError):  # an unreadable copy is read afresh
        return None
    return org, rates, tracking


def forget(cache: KeyValueCache, tenant_id: str) -> None:
    cache.cache_put(key(tenant_id), "")
