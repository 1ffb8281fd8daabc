"""The job sheet: a one-page PDF of the job that travels with its invoice, rendered with fpdf2.

fpdf2 is pure Python (no system libraries, nothing downloaded at run time), well kept, and writes
a small PDF directly; a report toolkit would bring a much larger dependency for one table.

It shows what the client and the bookkeeper check an invoice against: the job number, the client,
the site address, the work-done description, and the lines exactly as invoiced, with the totals.
The built-in fonts cover Latin-1 only, so other characters are shown by their closest Latin-1 form
(or "?") instead of failing the sheet.
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal
from typing import TYPE_CHECKING

from jobsync.core.models import InvoiceDraft, Job

if TYPE_CHECKING:
    from fpdf import FPDF

WIDTHS = (96, 22, 30, 32)  # description, quantity, unit price, amount (mm, A4 less margins)


def file_name(draft: InvoiceDraft) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in draft.reference)[:60]
    return f"job-sheet-{safe}.pdf"


def render(job: Job, draft: InvoiceDraft, invoice_number: str | None) -> bytes:
    from fpdf import FPDF  # loaded when a sheet is drawn, not by every command that imports this module

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("helvetica", "B", 16)
    pdf.cell(0, 10, _latin(f"Job sheet: job {job.number}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=10)
    client = job.client.name if job.client else draft.contact.name
    address = job.field("job_address") or (job.client.address if job.client else None) or ""
    facts = [
        ("Client", client),
        ("Site", address),
        ("Invoice", f"{invoice_number or ''} (reference {draft.reference})".strip()),
        ("Completed", job.completed_at.date().isoformat() if job.completed_at else ""),
    ]
    for label, value in facts:
        if value:
            pdf.cell(30, 6, _latin(label + ":"))
            pdf.multi_cell(0, 6, _latin(value), new_x="LMARGIN", new_y="NEXT")
    work = job.field("work_done_description") or job.field("job_description") or ""
    if work:
        pdf.ln(2)
        pdf.set_font("helvetica", "B", 11)
        pdf.cell(0, 7, "Work done", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("helvetica", size=10)
        pdf.multi_cell(0, 5, _latin(work), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    _lines(pdf, draft)
    return bytes(pdf.output())


def _lines(pdf: FPDF, draft: InvoiceDraft) -> None:
    pdf.set_font("helvetica", "B", 10)
    for width, title in zip(WIDTHS, ("Description", "Qty", "Unit price", "Amount"), strict=True):
        pdf.cell(width, 7, title, border="B", align="L" if title == "Description" else "R")
    pdf.ln()
    pdf.set_font("helvetica", size=10)
    for line in draft.lines:
        cells = (line.description, _number(line.quantity), _money(line.unit_amount), _money(line.line_amount))
        for width, value, index in zip(WIDTHS, cells, range(4), strict=True):
            pdf.cell(width, 6, _latin(value)[:70], align="L" if index == 0 else "R")
        pdf.ln()
    pdf.ln(2)
    tax_label = "Total tax" if draft.line_amount_types != "Inclusive" else "Includes tax"
    for label, amount in (("Subtotal", draft.subtotal), (tax_label, draft.total_tax), ("Total", draft.total)):
        pdf.set_font("helvetica", "B" if label == "Total" else "", 10)
        pdf.cell(sum(WIDTHS[:3]), 6, label, align="R")
        pdf.cell(WIDTHS[3], 6, _money(amount) + (f" {draft.currency}" if draft.currency else ""), align="R")
        pdf.ln()


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _number(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _latin(text: str) -> str:
    """Latin-1 for the built-in fonts: accents kept where Latin-1 has them, others decomposed or '?'."""
    out = []
    for char in text:
        if char in "\r\t":
            char = " "
        try:
            char.encode("latin-1")
            out.append(char)
        except UnicodeEncodeError:
            plain = unicodedata.normalize("NFKD", char).encode("latin-1", "ignore").decode("latin-1")
            out.append(plain or "?")
    return "".join(out)
