"""The pass back's Xero cost: 1,000 invoices jobsync made, 300 of them paid since the last pass.

The goal (issue 18): at most 1 call per 100 changed invoices plus 2 per pass. The invoices and the
ledger are seeded directly (the cost of making them is the one-way half's, measured elsewhere); the
pass then reads through the real client over real HTTP.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from jobsync.core.follow_up import FollowUpSummary
from jobsync.core.models import LedgerEntry, LedgerState
from jobsync.sandbox.xero import invoices as xero_invoices
from jobsync.sandbox.xero import payments as xero_payments
from jobsync.sandbox.xero.server import XeroSandbox
from jobsync.sources.write_back import ReportOnly
from jobsync.state.store import State
from jobsync.sync import payments_back
from jobsync.xero.follow_up_client import FollowUpClient

INVOICES = 1000
PAID = 300


def _seed(sandbox: XeroSandbox, state: State) -> list[str]:
    contact = next(iter(sandbox.state.contacts.values()))
    now = datetime.now(UTC)
    made: list[str] = []
    with sandbox.lock:
        for n in range(INVOICES):
            element = {
                "Type": "ACCREC",
                "Status": "AUTHORISED",
                "Contact": {"ContactID": contact["ContactID"]},
                "Reference": f"B{n}",
                "DueDate": "2026-12-31",
                "LineItems": [{"Description": "Work", "Quantity": 1, "UnitAmount": 100, "AccountCode": "200"}],
            }
            invoice, problems = xero_invoices.write(sandbox.state, element, now, 2, False)
            assert not problems, problems
            made.append(invoice["InvoiceID"])
    entries = [
        LedgerEntry("bench", f"J{n}", "final", f"B{n}", LedgerState.CONFIRMED, invoice_id, None, Decimal("110.00"))
        for n, invoice_id in enumerate(made)
    ]
    for e in entries:
        state.confirm(e.source, e.job_id, e.stage, e.reference, e.invoice_id, None, e.total)
    return made


def measure() -> tuple[int, int, int]:
    """(Xero calls for one pass, invoices it saw change, payments it reported)."""
    with tempfile.TemporaryDirectory() as tmp, XeroSandbox(port=0) as sandbox:
        state = State.open(Path(tmp) / "state.db")
        made = _seed(sandbox, state)
        mark = datetime.now(UTC) - timedelta(seconds=5)
        state.set_watermark(payments_back.mark_key(sandbox.tenant_id), mark)
        with sandbox.lock:
            for invoice_id in made[:PAID]:
                element = {"Invoice": {"InvoiceID": invoice_id}, "Account": {"Code": "090"}}
                element |= {"Amount": "50.00", "Date": "2026-11-20"}
                _, problems = xero_payments.write(sandbox.state, element, datetime.now(UTC))
                assert not problems, problems
        client = FollowUpClient(sandbox.api_url, sandbox.tenant_id, lambda: "sandbox")
        summary = FollowUpSummary()
        changes = payments_back.read_changes(client, state, mark)
        payments_back.note_invoices(changes, state, summary)
        payments = client.changed_payments(mark) if changes.ours else []
        payments_back.send_payments(payments, changes, state, ReportOnly("bench"), summary)
        state.close()
        return sum(client.calls.values()), summary.invoices_changed, len(summary.payments_reported)


def print_figure() -> bool:
    calls, changed, reported = measure()
    allowed = changed / 100 + 2
    print(f"\nPass back: {INVOICES:,} invoices made by jobsync, {PAID} paid since the last pass")
    print(f"  {'Xero calls for the whole pass (invoices + payments)':58} {calls}")
    print(f"  {'invoices seen changed / payments found':58} {changed} / {reported}")
    print(f"  {'allowed: 1 per 100 changed invoices + 2':58} {allowed:g}")
    return calls <= allowed and reported == PAID
