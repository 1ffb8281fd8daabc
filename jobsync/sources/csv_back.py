"""The way back for a spreadsheet export: `payments.csv` beside the state file.

There is no job system to write to, so payments go into a file the office can open or import. Each
append rewrites the file atomically (a temp file renamed over it), so a crash leaves the old file or
the new one, never half a row. A reversal is a row with a negative amount, marked as such. The
PaymentID column is how a rerun finds a row an interrupted pass already wrote.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from jobsync.core.follow_up import PaymentForJob
from jobsync.runtime.private_files import write_private
from jobsync.sources.write_back import NoNotes

COLUMNS = ("payment_id", "kind", "job_id", "job_number", "invoice_number", "amount", "paid_on", "method")


class CsvWriteBack(NoNotes):
    writes_payments = True
    can_reverse = True

    def __init__(self, path: Path, name: str = "csv") -> None:
        self.path = path
        self.name = name

    def _rows(self) -> list[dict[str, str]]:
        if not self.path.exists():
            return []
        with self.path.open(encoding="utf-8", newline="") as handle:
            return list(csv.DictReader(handle))

    def _present(self, payment_id: str, kind: str) -> bool:
        return any(r.get("payment_id") == payment_id and r.get("kind") == kind for r in self._rows())

    def _append(self, item: PaymentForJob, kind: str) -> None:
        if self._present(item.payment.payment_id, kind):
            return  # an interrupted pass wrote it already
        p = item.payment
        amount = -p.amount if kind == "reversal" else p.amount
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(self._rows())
        writer.writerow(
            {
                "payment_id": p.payment_id,
                "kind": kind,
                "job_id": item.job_id,
                "job_number": item.job_number,
                "invoice_number": item.invoice_number or "",
                "amount": f"{amount:.2f}",
                "paid_on": p.paid_on.isoformat(),
                "method": p.method,
            }
        )
        write_private(self.path, out.getvalue())

    def payment_present(self, item: PaymentForJob) -> bool:
        return self._present(item.payment.payment_id, "payment")

    def write_payment(self, item: PaymentForJob) -> None:
        self._append(item, "payment")

    def reverse_payment(self, item: PaymentForJob) -> None:
        self._append(item, "reversal")
