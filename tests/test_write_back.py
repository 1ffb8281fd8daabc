"""The way back, per platform: simPRO notes appended once, payments.csv atomic and once, report-only
platforms left alone, REST templates filled, and the pass back's refusal of odd Xero payments."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

from jobsync.core.follow_up import PaymentForJob, XeroPayment
from jobsync.sandbox.simpro import SimproSandbox
from jobsync.sources.csv_back import CsvWriteBack
from jobsync.sources.rest_back import fill
from jobsync.sources.simpro_back import SimproWriteBack
from jobsync.sources.write_back import ReportOnly
from jobsync.xero.follow_up_client import parse_payment


def _item(job_id: str = "7", payment_id: str = "0d7f3a52-4f2c-4b3e-9a55-111111111111") -> PaymentForJob:
    payment = XeroPayment(payment_id, "inv-1", Decimal("120.50"), date(2026, 3, 10), "AUTHORISED", "Business Bank")
    return PaymentForJob(payment, "simpro", job_id, "1042", "INV-0042")


def test_simpro_notes_get_one_line_per_payment_and_keep_what_was_there() -> None:
    with SimproSandbox(port=0) as sim:
        customer = sim.add_company("Acme Plumbing")
        job = sim.add_job(customer, Notes="Gate code 4412 &amp; dog in yard")
        back = SimproWriteBack(sim.url, sim.token)
        item = _item(str(job))
        assert not back.payment_present(item)
        back.write_payment(item)
        back.write_payment(item)  # a rerun after a crash: found by its marker, not added again
        notes = sim.jobs[job]["Notes"]
        assert notes.startswith("Gate code 4412 &amp; dog in yard<br>")
        assert notes.count("[xero-payment 0d7f3a52") == 1 and "120.50" in notes
        assert back.payment_present(item)
        back.reverse_payment(item)
        assert "was deleted in Xero" in sim.jobs[job]["Notes"]


def test_payments_csv_is_appended_once_per_payment_and_reversal(tmp_path: Path) -> None:
    path = tmp_path / "payments.csv"
    back = CsvWriteBack(path)
    item = _item()
    back.write_payment(item)
    back.write_payment(item)
    back.reverse_payment(item)
    rows = list(csv.DictReader(path.open()))
    assert [(r["kind"], r["amount"]) for r in rows] == [("payment", "120.50"), ("reversal", "-120.50")]
    assert path.stat().st_mode & 0o777 == 0o600
    assert back.payment_present(item)


def test_a_platform_with_no_write_endpoint_is_never_written_to() -> None:
    back = ReportOnly("aroflo")
    assert not back.writes_payments and not back.can_reverse
    assert back.add_note("J1", "k", "text") is False and back.calls == {}


def test_rest_templates_fill_placeholders_everywhere_and_leave_unknown_ones() -> None:
    body = {"amount": "{amount}", "meta": ["{payment_id}", "{nope}"], "n": 3}
    filled = fill(body, {"amount": "12.00", "payment_id": "P1"})
    assert filled == {"amount": "12.00", "meta": ["P1", "{nope}"], "n": 3}


def test_a_payment_on_no_invoice_or_with_an_odd_amount_is_left_out() -> None:
    assert parse_payment({"PaymentID": "p", "Amount": 5, "Date": "2026-03-01"}) is None
    assert parse_payment({"PaymentID": "p", "Invoice": {"InvoiceID": "I"}, "Amount": "x", "Date": "2026-03-01"}) is None
    found = parse_payment(
        {"PaymentID": "p", "Invoice": {"InvoiceID": "I"}, "Amount": 5, "Date": "/Date(1772323200000+0000)/"}
    )
    assert found is not None and found.invoice_id == "i" and found.amount == Decimal("5")
