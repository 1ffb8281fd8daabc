"""`jobsync reconcile --month`: read the month's billable jobs, the ledger, the holds and Xero, and compare."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from zoneinfo import ZoneInfo

from jobsync.app.org_facts import display_zone
from jobsync.app.wiring import build_gateway, build_source
from jobsync.config.settings import Settings
from jobsync.core import reconcile
from jobsync.core.errors import ConfigError, echo
from jobsync.state.store import State
from jobsync.xero.refcache import CacheUser


@dataclass(frozen=True)
class MonthReport:
    month: str
    zone: str
    rows: list[reconcile.MonthRow]
    recorded: Decimal
    in_xero: Decimal
    paid: Decimal

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.rows) and self.recorded == self.in_xero


def reconcile_month(settings: Settings, month: str) -> MonthReport:
    try:
        bounds = reconcile.month_bounds(month)
    except ValueError:
        raise ConfigError(f"--month {echo(month)} is not a month", ["write it as YYYY-MM, e.g. 2026-11"]) from None
    zone_name = display_zone(settings)
    zone = ZoneInfo(zone_name)
    source = build_source(settings)
    # A job completed in the month changed no earlier than its completion: read from the day before.
    since = dt.datetime.combine(bounds[0] - dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    jobs = [j for j in source.changed_since(since) if reconcile.completed_in(j, bounds, zone)]
    with State.open(settings.state.location) as state:
        ledger = state.ledger_for(source.name, [j.id for j in jobs])
        reasons = {h.job_id: _why(h.kind, h.reason) for h in state.holds(source.name)}
        start = settings.source.start_from
        for j in jobs:
            if start is not None and j.completed_at is not None and j.completed_at < start and j.id not in reasons:
                reasons[j.id] = "completed before source.start_from: outside jobsync's window"
        gateway = build_gateway(settings)
        if isinstance(gateway, CacheUser):
            gateway.use_cache(state)
        references = sorted({e.reference for e in ledger.values()})
        found = gateway.find_invoices_by_reference(references) if references else []
    xero: dict[str, reconcile.XeroView] = {}
    for inv in sorted(found, key=lambda i: i.status not in ("DELETED", "VOIDED")):  # a live one wins
        xero[inv.reference] = reconcile.XeroView(inv.status, inv.total, inv.amount_paid)
    rows = reconcile.month_rows(jobs, ledger, reasons, xero, zone)
    recorded, in_xero, paid = reconcile.totals(rows)
    return MonthReport(month, zone_name, rows, recorded, in_xero, paid)


def _why(kind: str, reason: str) -> str:
    return reason if kind == "held" else f"{kind}: {reason}"
