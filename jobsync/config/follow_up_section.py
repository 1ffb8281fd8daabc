"""The `follow_up:` and `changes:` sections: what flows back after an invoice exists in Xero."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from jobsync.config.fields import minutes


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class RequestTemplateSettings(_Section):
    """One request to a REST job system; placeholders like {job_id} and {amount} are filled per payment."""

    method: Literal["POST", "PUT", "PATCH", "DELETE"] = "POST"
    path: str = Field(min_length=1, max_length=500)  # under source.base_url, e.g. /jobs/{job_id}/payments
    body: dict[str, Any] | None = None


class FollowUpRestSettings(_Section):
    payment: RequestTemplateSettings
    reversal: RequestTemplateSettings | None = None  # unset: a payment deleted in Xero is alerted
    note: RequestTemplateSettings | None = None  # unset: links are not written back


class FollowUpSettings(_Section):
    enabled: bool = True
    # Payments, voids and deletions are read from Xero at most this often (a run between passes skips it).
    payments_poll_minutes: int = minutes(60)
    write_payments: bool = True  # False: payments are reported and alerted, never written to the job
    attach_job_sheet: bool = True  # a PDF of the job on each new invoice
    attach_job_files: bool = True  # the job's own photos and documents, where the platform has them
    include_online: bool = False  # attachments shown on the online invoice (Xero's IncludeOnline)
    history_note: bool = True  # a History note on the invoice naming the job and the run
    job_note: bool = True  # the invoice number and links written back to the job, where the platform allows
    # Invoices given their documents and links per run (about 2 Xero calls each); the rest wait a run.
    documents_per_run: int = Field(default=10, ge=0, le=1000)
    payments_csv: Path | None = None  # CSV sources: where payments are appended (default: beside the state file)
    rest: FollowUpRestSettings | None = None  # REST sources: the requests that write payments back


class ChangesSettings(_Section):
    # A job changed after its invoice was authorised: hold the credit note or extra invoice for
    # approval (`jobsync jobs approve`), or create it at once.
    authorised: Literal["hold", "adjust"] = "hold"
