"""The job sheet PDF says what the invoice says, and survives any client name."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

from pypdf import PdfReader

from jobsync.core.models import Client, ContactDecision, DecisionKind, DraftLine, InvoiceDraft, Job
from jobsync.output import job_sheet


def _draft(name: str) -> tuple[Job, InvoiceDraft]:
    job = Job(
        source="servicem8",
        id="u-1",
        number="1042",
        status="Completed",
        changed_at=datetime(2026, 3, 2, tzinfo=UTC),
        completed_at=datetime(2026, 3, 2, 3, tzinfo=UTC),
        client=Client("c1", name, address="12 Beach Rd, Bondi NSW"),
        fields=(("work_done_description", "Replaced the hot water unit"),),
    )
    line = DraftLine(
        "Labour", Decimal("2.5"), Decimal("95.00"), "205", "OUTPUT", Decimal("237.50"), Decimal("23.75"), "labour"
    )
    draft = InvoiceDraft(
        source="servicem8",
        job_id="u-1",
        job_number="1042",
        stage="final",
        reference="1042 / PO 7781",
        contact=ContactDecision(DecisionKind.NEW, "servicem8:c1", name),
        date=date(2026, 3, 2),
        due_date=date(2026, 3, 16),
        lines=(line,),
        subtotal=Decimal("237.50"),
        total_tax=Decimal("23.75"),
        total=Decimal("261.25"),
    )
    return job, draft


def _text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_sheet_carries_the_job_the_client_the_work_and_the_totals() -> None:
    job, draft = _draft("Bondi Beach Cafe Pty Ltd")
    text = _text(job_sheet.render(job, draft, "INV-0042"))
    for wanted in ("1042", "Bondi Beach Cafe Pty Ltd", "12 Beach Rd", "Replaced the hot water unit", "INV-0042"):
        assert wanted in text
    assert "237.50" in text and "23.75" in text and "261.25" in text
    assert job_sheet.file_name(draft) == "job-sheet-1042---PO-7781.pdf"


def test_names_beyond_latin_1_do_not_stop_the_sheet() -> None:
    job, draft = _draft("Nguyễn Plumbing 配管 🚿")
    text = _text(job_sheet.render(job, draft, None))
    assert "Nguyen Plumbing" in text or "Nguy" in text
