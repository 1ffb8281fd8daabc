"""What a day of `jobsync run` every 15 minutes costs in Xero calls: 96 runs on a simulated clock
against the sandbox, over a CSV export that already holds the month's invoiced jobs.

Three days: nothing new; five jobs held all day; the integration guide's business (40 jobs a month,
about two a working day, completed at 10:00 and 14:30). The figure is every request to Xero's
Accounting API (identity calls are not rate-limited the same way and a static token makes none).
Run with `python -m benchmarks.quiet_day`; `make bench` prints it too.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from jobsync.app.sync_run import sync
from jobsync.config.settings import load_settings
from jobsync.samples import SAMPLE_TAX_MAP, csv_header, csv_source, sandbox_config
from jobsync.sandbox.xero.server import XeroSandbox

RUNS_A_DAY = 96  # every 15 minutes
INVOICED_ALREADY = 20  # the month so far
RULES = {"lines": [], "default": {"account_code": "200", "tax_type": "OUTPUT"}, "tax_map": SAMPLE_TAX_MAP}
DAY = datetime(2026, 11, 26, tzinfo=UTC)  # a Thursday


def _row(n: int, completed: datetime, quantity: str = "1") -> str:
    when = completed.strftime("%d/%m/%Y %H:%M")
    return f"J{n},{n},Completed,{when},C{n},Client {n},c{n}@example.com,,labour,,Labour,{quantity},95.00,,,"


def _rows(clock: datetime, held: int, new_at: tuple[datetime, ...]) -> list[str]:
    rows = [_row(n, DAY - timedelta(days=1 + n % 20)) for n in range(1, INVOICED_ALREADY + 1)]
    rows += [_row(500 + n, DAY - timedelta(days=2), quantity="a few") for n in range(held)]
    rows += [_row(900 + i, at) for i, at in enumerate(new_at) if at <= clock]
    return rows


def calls_in_a_day(held: int = 0, new_at: tuple[datetime, ...] = ()) -> tuple[int, int]:
    """(Accounting API calls over the day, invoices created that day)."""
    clock = [DAY - timedelta(days=1)]
    now: Callable[[], datetime] = lambda: clock[0]  # noqa: E731 - the simulated clock every part reads
    with tempfile.TemporaryDirectory() as scratch, XeroSandbox(port=0, clock=now) as sandbox:
        work = Path(scratch)
        export = work / "jobs.csv"
        source = csv_source(timezone="UTC", overlap_minutes=1440, start_from="2026-11-01")
        (work / "jobsync.yaml").write_text(
            sandbox_config(sandbox.api_url, sandbox.identity_url, sandbox.tenant_id, source, RULES)
        )
        settings = load_settings(work / "jobsync.yaml", env={})

        def run() -> None:
            export.write_text("\n".join([csv_header(), *_rows(clock[0], held, new_at)]) + "\n", encoding="utf-8")
            sync(settings, apply=True, now=now)

        run()  # yesterday's last run: the month so far is invoiced and the holds are recorded
        before_calls, before_invoices = _api_calls(sandbox), len(sandbox.invoices())
        for i in range(RUNS_A_DAY):
            clock[0] = DAY + timedelta(minutes=15 * i)
            run()
        return _api_calls(sandbox) - before_calls, len(sandbox.invoices()) - before_invoices


def _api_calls(sandbox: XeroSandbox) -> int:
    return sum(1 for _, path, _ in sandbox.request_log if path.startswith("/api.xro/2.0/"))


def table() -> list[tuple[str, int, int]]:
    guide = (DAY + timedelta(hours=10), DAY + timedelta(hours=14, minutes=30))
    return [
        ("no work", *calls_in_a_day()),
        ("5 jobs held all day", *calls_in_a_day(held=5)),
        ("the guide's business (2 jobs that day)", *calls_in_a_day(new_at=guide)),
    ]


def print_table(rows: list[tuple[str, int, int]]) -> None:
    print(f"\nXero Accounting API calls per day at a 15-minute cron ({RUNS_A_DAY} runs)")
    for label, calls, created in rows:
        print(f"  {label:44} {calls:>5} calls  ({created} invoices created)")


if __name__ == "__main__":
    print_table(table())
