"""The way back to ServiceM8: job payments, job notes and the job's attachments.

- A payment is `POST /jobpayment.json` with a `uuid` derived from the Xero PaymentID. ServiceM8 lets
  the caller choose a record's uuid ("UUID is optional for record creation"), and a second POST with
  the same uuid updates that record, so a retry cannot add a second payment. Deleting it in Xero
  deletes it here (`DELETE /jobpayment/{uuid}.json` sets `active` to 0, as every ServiceM8 delete).
- A note is `POST /note.json` on the job, its uuid derived the same way.
- Attachments are listed by `attachment.json` filtered to the job; a file's bytes are read from
  `/Attachment/{uuid}.file`. [UNVERIFIED] the spec we hold lists no download route; that path is the
  one ServiceM8's developer pages describe.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests

from jobsync.core.follow_up import PaymentForJob, note_uuid
from jobsync.net.http import RateLimiter
from jobsync.sources.platform_writer import PlatformWriter
from jobsync.sources.servicem8 import encode_filter
from jobsync.sources.write_back import JobFile


class ServiceM8WriteBack(PlatformWriter):
    platform = "ServiceM8"
    writes_payments = True
    can_reverse = True

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        name: str = "servicem8",
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rate_per_minute: int = 180,
    ) -> None:
        limiter = RateLimiter(rate_per_minute, sleep=sleep)
        super().__init__(base_url, {"X-API-Key": api_key} if api_key else {}, limiter, session, sleep)
        self.name = name

    # -- payments ----------------------------------------------------------------------------------

    def payment_present(self, item: PaymentForJob) -> bool:
        response = self._call("GET", f"jobpayment/{item.record_uuid}.json", ok=(200, 404))
        if response.status_code == 404:
            return False
        record = response.json()
        return isinstance(record, dict) and str(record.get("active", "1")) == "1"

    def write_payment(self, item: PaymentForJob) -> None:
        p = item.payment
        body = {
            "uuid": item.record_uuid,
            "job_uuid": item.job_id,
            "amount": f"{p.amount:.2f}",
            "timestamp": f"{p.paid_on.isoformat()} 00:00:00",
            "method": p.method,
            "note": f"Paid in Xero ({item.invoice_number or p.invoice_id}) [xero-payment {p.payment_id}]",
        }
        self._call("POST", "jobpayment.json", json=body)

    def reverse_payment(self, item: PaymentForJob) -> None:
        self._call("DELETE", f"jobpayment/{item.record_uuid}.json", ok=(200, 404))

    # -- notes and files ---------------------------------------------------------------------------

    def add_note(self, job_id: str, key: str, text: str) -> bool:
        body = {"uuid": note_uuid("note", key), "related_object": "job", "related_object_uuid": job_id, "note": text}
        self._call("POST", "note.json", json=body)
        return True

    def job_files(self, job_id: str) -> list[JobFile]:
        query = encode_filter([("related_object_uuid", "eq", job_id), ("active", "eq", 1)])
        rows = self._call("GET", f"attachment.json?{query}").json()
        files = []
        for row in rows if isinstance(rows, list) else []:
            if not isinstance(row, dict) or not row.get("uuid"):
                continue
            name = str(row.get("attachment_name") or row["uuid"])
            kind = str(row.get("file_type") or "").lstrip(".")
            if kind and not name.lower().endswith("." + kind.lower()):
                name = f"{name}.{kind}"
            files.append(JobFile(name=name, size=_size(row), ref=str(row["uuid"])))
        return files

    def read_file(self, job_id: str, file: JobFile) -> bytes:
        return self._call("GET", f"Attachment/{file.ref}.file").content


def _size(row: dict[str, Any]) -> int:
    """[UNVERIFIED] ServiceM8's Attachment names no size field; `file_size` is read when present."""
    try:
        return int(row.get("file_size") or 0)
    except (TypeError, ValueError):
        return 0
