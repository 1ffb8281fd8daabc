"""The way back to simPRO: a line appended to the job's Notes, never overwriting what is there.

simPRO's job reference documents `Notes` ("supports HTML formatting") as a column of
`PATCH /jobs/{ID}` and documents no payment endpoint, so a payment, its reversal and the invoice's
links are each one line added to the notes. The line carries a marker (the Xero PaymentID, or the
note's key), and the notes are read before every write, so a rerun after a crash finds the line it
already added instead of adding it twice. simPRO's attachment endpoints are not in the reference we
hold, so no files are read from simPRO.
"""

from __future__ import annotations

import html
import time
from collections.abc import Callable

import requests

from jobsync.core.follow_up import PaymentForJob
from jobsync.net.http import RateLimiter
from jobsync.sources.platform_writer import PlatformWriter
from jobsync.sources.write_back import NoJobFiles


class SimproWriteBack(NoJobFiles, PlatformWriter):
    platform = "simPRO"
    writes_payments = True
    can_reverse = True  # a reversal is a further note: simPRO keeps no payment to delete

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        name: str = "simpro",
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rate_per_second: int = 10,
    ) -> None:
        limiter = RateLimiter(rate_per_second, sleep=sleep, window=1)
        super().__init__(base_url, {"Authorization": f"Bearer {token}"}, limiter, session, sleep)
        self.name = name

    def _notes(self, job_id: str) -> str:
        record = self._call("GET", f"jobs/{job_id}?columns=ID,Notes").json()
        return str(record.get("Notes") or "") if isinstance(record, dict) else ""

    def _append(self, job_id: str, marker: str, line: str) -> None:
        notes = self._notes(job_id)
        if marker in notes:
            return  # an interrupted pass added it already
        added = html.escape(line)
        self._call("PATCH", f"jobs/{job_id}", (200, 204), json={"Notes": f"{notes}<br>{added}" if notes else added})

    def payment_present(self, item: PaymentForJob) -> bool:
        return f"[xero-payment {item.payment.payment_id}]" in self._notes(item.job_id)

    def write_payment(self, item: PaymentForJob) -> None:
        self._append(item.job_id, f"[xero-payment {item.payment.payment_id}]", item.note())

    def reverse_payment(self, item: PaymentForJob) -> None:
        self._append(item.job_id, f"[xero-payment-deleted {item.payment.payment_id}]", item.reversal_note())

    def add_note(self, job_id: str, key: str, text: str) -> bool:
        self._append(job_id, f"[jobsync {key}]", f"{text} [jobsync {key}]")
        return True
