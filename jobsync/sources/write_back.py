"""The protocol of the way back: what a job system can be told after its job was invoiced.

Every write names its record with a uuid derived from what it records (the Xero PaymentID for a
payment), where the platform lets the caller choose one, so a retry after an unknown outcome rewrites
the same record. Where it does not (simPRO's notes, a CSV file), `payment_present` finds what an
earlier, interrupted pass already wrote, by the PaymentID the line carries.

A platform whose published API documents no write endpoint gets `ReportOnly`: its payments reach the run report
and the alert, never a guessed endpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from jobsync.core.follow_up import PaymentForJob


@dataclass(frozen=True)
class JobFile:
    """A photo or document kept on a job, to travel with its invoice."""

    name: str
    size: int  # bytes, as the platform reports it (a larger file is skipped before it is read)
    ref: str  # the platform's id for the file


class JobWriteBack(Protocol):
    name: str
    writes_payments: bool  # False: payments are reported only
    can_reverse: bool  # False: a payment deleted in Xero is alerted, for a person to undo

    def payment_present(self, item: PaymentForJob) -> bool:
        """Whether this payment is already on the job (after a crash between write and record)."""

    def write_payment(self, item: PaymentForJob) -> None: ...

    def reverse_payment(self, item: PaymentForJob) -> None: ...

    def add_note(self, job_id: str, key: str, text: str) -> bool:
        """Add `text` to the job's notes once (by `key`); False where the platform keeps no notes."""

    def job_files(self, job_id: str) -> list[JobFile]: ...

    def read_file(self, job_id: str, file: JobFile) -> bytes: ...

    @property
    def calls(self) -> dict[str, int]: ...


class NoJobFiles:
    """For platforms that keep no files jobsync can read."""

    def job_files(self, job_id: str) -> list[JobFile]:
        return []

    def read_file(self, job_id: str, file: JobFile) -> bytes:
        return b""


class NoNotes(NoJobFiles):
    """For platforms that keep neither notes nor files jobsync can reach; nothing is sent, so no calls."""

    def add_note(self, job_id: str, key: str, text: str) -> bool:
        return False

    @property
    def calls(self) -> dict[str, int]:
        return {}


class ReportOnly(NoNotes):
    """AroFlo, and any platform whose published API documents no write endpoint: nothing is written."""

    writes_payments = False
    can_reverse = False

    def __init__(self, name: str) -> None:
        self.name = name

    def payment_present(self, item: PaymentForJob) -> bool:
        return False

    def write_payment(self, item: PaymentForJob) -> None:
        raise NotImplementedError("report-only platforms are never written to")

    def reverse_payment(self, item: PaymentForJob) -> None:
        raise NotImplementedError("report-only platforms are never written to")
