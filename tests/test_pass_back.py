"""Issue 18, end to end: what a bookkeeper does in Xero (with the official SDK) comes back to the job.

ServiceM8 emulator → `jobsync run` → Xero sandbox; then payments, deletions and voids made through
xero-python, and the next run writes them to the emulator exactly once, across a crash too.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from jobsync.app import sync_run
from jobsync.config.settings import load_settings
from jobsync.core.follow_up import payment_record_uuid
from jobsync.runtime import crashpoints
from jobsync.sandbox.servicem8 import ServiceM8Sandbox
from jobsync.sandbox.xero.server import XeroSandbox
from tests.e2e import Workdir, servicem8_config, xero_api

JOB_1001 = "1001 / PO PO-7781"


def _workdir(tmp_path: Path, xero: XeroSandbox, sm8: ServiceM8Sandbox, **follow_up: Any) -> Workdir:
    servicem8_config(tmp_path, xero, sm8, follow_up=follow_up)
    return Workdir(tmp_path)


def _invoice(xero: XeroSandbox, reference: str) -> dict[str, Any]:
    return next(i for i in xero.invoices() if i.get("Reference") == reference)


def _pay(xero: XeroSandbox, invoice_id: str, amount: str) -> str:
    # A plain body through the SDK: its models also send read-only defaults (HasAttachments) the spec refuses.
    payment = {
        "Invoice": {"InvoiceID": invoice_id},
        "Account": {"Code": "090"},
        "Amount": Decimal(amount),
        "Date": "2026-03-10",
    }
    made = xero_api(xero).create_payment(xero.tenant_id, payment)
    return str(made.payments[0].payment_id)


def _payments_on(sm8: ServiceM8Sandbox, job_uuid: str) -> list[dict[str, Any]]:
    rows = sm8.records["jobpayment"].values()
    return [r for r in rows if r["job_uuid"] == job_uuid and str(r["active"]) == "1"]


def _crash_once(settings: Any, point: str, occurrence: int = 1) -> None:
    """One run killed (in process) at the n-th reach of `point`."""
    crashpoints.simulate(point, occurrence)
    try:
        with pytest.raises(crashpoints.SimulatedCrash):
            sync_run.sync(settings, apply=True)
    finally:
        crashpoints.simulate(None)


def _job_uuid(sm8: ServiceM8Sandbox, number: str) -> str:
    return next(j["uuid"] for j in sm8.records["job"].values() if j["generated_job_id"] == number)


def test_a_part_then_full_payment_in_xero_lands_on_the_servicem8_job_once_each(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as xero, ServiceM8Sandbox(port=0).load_seed() as sm8:
        work = _workdir(tmp_path, xero, sm8)
        assert work.cli("run").exit_code in (0, 1)
        invoice = _invoice(xero, JOB_1001)
        job = _job_uuid(sm8, "1001")
        first = _pay(xero, invoice["InvoiceID"], "100.00")
        work.cli("run")
        assert [r["amount"] for r in _payments_on(sm8, job)] == ["100.00"]
        assert _payments_on(sm8, job)[0]["uuid"] == payment_record_uuid(first)
        rest = str(Decimal(str(invoice["Total"])) - Decimal("100.00"))
        _pay(xero, invoice["InvoiceID"], rest)
        work.cli("run")
        work.cli("run")  # nothing new: nothing written twice
        assert sorted(r["amount"] for r in _payments_on(sm8, job)) == sorted(["100.00", f"{Decimal(rest):.2f}"])
        assert _invoice(xero, JOB_1001)["Status"] == "PAID"
        follow = work.last_report()["extra"]["follow_up"]
        assert follow["payments_written"] == []  # the last run found nothing new


def test_a_crash_between_the_job_write_and_its_record_still_writes_the_payment_once(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as xero, ServiceM8Sandbox(port=0).load_seed() as sm8:
        work = _workdir(tmp_path, xero, sm8)
        work.cli("run")
        invoice = _invoice(xero, JOB_1001)
        _pay(xero, invoice["InvoiceID"], "50.00")
        settings = load_settings(work.config)
        _crash_once(settings, crashpoints.AFTER_PAYMENT_WRITE)
        posts = [e for e in sm8.request_log if e.get("method") == "POST" and "jobpayment" in e["path"]]
        assert len(posts) == 1  # the write happened before the crash
        sync_run.sync(settings, apply=True)
        assert [r["amount"] for r in _payments_on(sm8, _job_uuid(sm8, "1001"))] == ["50.00"]
        posts = [e for e in sm8.request_log if e.get("method") == "POST" and "jobpayment" in e["path"]]
        assert len(posts) == 1  # the rerun asked ServiceM8 and found it there: no second POST


def test_a_payment_deleted_in_xero_is_taken_off_the_job(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as xero, ServiceM8Sandbox(port=0).load_seed() as sm8:
        work = _workdir(tmp_path, xero, sm8)
        work.cli("run")
        invoice = _invoice(xero, JOB_1001)
        payment_id = _pay(xero, invoice["InvoiceID"], "25.00")
        work.cli("run")
        job = _job_uuid(sm8, "1001")
        assert len(_payments_on(sm8, job)) == 1
        xero_api(xero).delete_payment(xero.tenant_id, payment_id, {"Status": "DELETED"})
        work.cli("run")
        assert _payments_on(sm8, job) == []
        assert work.last_report()["extra"]["follow_up"]["payments_reversed"][0]["payment_id"] == payment_id


def test_a_voided_invoice_is_flagged_and_never_recreated(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as xero, ServiceM8Sandbox(port=0).load_seed() as sm8:
        work = _workdir(tmp_path, xero, sm8)
        work.cli("run")
        invoice = _invoice(xero, JOB_1001)
        count = len(xero.invoices())
        voided = {"Invoices": [{"Status": "VOIDED"}]}
        xero_api(xero).update_invoice(xero.tenant_id, invoice["InvoiceID"], voided)
        result = work.cli("run")
        assert result.exit_code == 1, result.output  # needs a person: exit 1, as a held job
        voids = work.last_report()["extra"]["follow_up"]["voids"]
        assert [v["invoice"] for v in voids] == [invoice["InvoiceNumber"]]
        message = voids[0]["message"]
        assert "was voided in Xero" in message and f"jobsync jobs forget {JOB_1001}" in message
        markdown = max((tmp_path / "reports").glob("*.md"), key=lambda p: p.stat().st_mtime_ns).read_text()
        assert "Voided or deleted in Xero" in markdown
        sm8.put("job", uuid=_job_uuid(sm8, "1001"), job_description="edited after the void")
        work.cli("run", "--full")
        assert len(xero.invoices()) == count  # never silently recreated
        preview = work.cli("preview")
        assert invoice["InvoiceNumber"] in preview.output and "voided" in preview.output


def test_the_job_sheet_and_the_jobs_photos_go_onto_the_invoice_once(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as xero, ServiceM8Sandbox(port=0).load_seed() as sm8:
        job = _job_uuid(sm8, "1001")
        sm8.add_attachment(job, "before", b"\xff\xd8 jpeg bytes " * 50, file_type=".jpg")
        sm8.add_attachment(job, "huge", b"x" * (10 * 1024 * 1024 + 1), file_type=".jpg")
        work = _workdir(tmp_path, xero, sm8)
        settings = load_settings(work.config)
        _crash_once(settings, crashpoints.AFTER_ATTACHMENT_UPLOAD, 2)
        sync_run.sync(settings, apply=True)
        invoice = _invoice(xero, JOB_1001)
        listed = xero_api(xero).get_invoice_attachments(xero.tenant_id, invoice["InvoiceID"]).attachments
        names = sorted(a.file_name for a in listed)
        assert names == ["before.jpg", "job-sheet-1001---PO-PO-7781.pdf"]
        history = xero_api(xero).get_invoice_history(xero.tenant_id, invoice["InvoiceID"]).history_records
        assert len(history) == 1 and "job 1001 / PO PO-7781" in history[0].details
        notes = [n for n in sm8.records["note"].values() if n["related_object_uuid"] == job]
        assert len(notes) == 1 and invoice["InvoiceNumber"] in notes[0]["note"]
        assert "in.xero.com" in notes[0]["note"]  # AUTHORISED: the online invoice link goes back too


def test_a_quiet_run_between_polls_reads_nothing_from_xero_for_the_pass_back(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as xero, ServiceM8Sandbox(port=0).load_seed() as sm8:
        work = _workdir(tmp_path, xero, sm8, payments_poll_minutes=60)
        work.cli("run")
        xero.request_log.clear()
        work.cli("run")
        paths = [path for _, path, _ in xero.request_log]
        assert not [p for p in paths if p.endswith("/Payments") or "createdByMyApp" in p]
        follow = work.last_report()["extra"]["follow_up"]
        assert follow["ran"] is False and "payments_poll_minutes" in follow["skipped_reason"]


def test_payment_record_uuids_are_stable_and_distinct() -> None:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    assert payment_record_uuid(a) == payment_record_uuid(a.upper())
    assert payment_record_uuid(a) != payment_record_uuid(b)


def test_a_job_cut_after_its_invoice_was_approved_gets_one_held_credit_note_allocated_after_approval(
    tmp_path: Path,
) -> None:
    with XeroSandbox(port=0) as xero, ServiceM8Sandbox(port=0).load_seed() as sm8:
        work = _workdir(tmp_path, xero, sm8)
        work.cli("run")  # invoiced AUTHORISED; the pass back reads it back as AUTHORISED
        invoice = _invoice(xero, JOB_1001)
        job = _job_uuid(sm8, "1001")
        pipe = next(m for m in sm8.records["jobmaterial"].values() if m["job_uuid"] == job and "ipe" in m["name"])
        sm8.put("jobmaterial", uuid=pipe["uuid"], quantity="1")  # 3 pipes became 1: 2 x 12.50 + GST less
        sm8.put("job", uuid=job, job_description="one pipe only")
        work.cli("run")
        held = work.last_report()["extra"]["follow_up"]["adjustments"]
        assert [(a["reference"], a["amount"]) for a in held] == [(f"{JOB_1001} CN1", "27.50")]
        assert "held for approval" in held[0]["state"]
        assert xero.state.extra.get("credit_notes", {}) == {}  # nothing made before approval
        preview = work.cli("preview")
        assert "credit note" in preview.output and "390.50 to 363.00" in preview.output
        approved = work.cli("jobs", "approve", "1001")
        assert approved.exit_code == 0, approved.output
        work.cli("run")
        notes = list(xero.state.extra["credit_notes"].values())
        assert [(n["Reference"], n["Total"], n["Status"]) for n in notes] == [
            (f"{JOB_1001} CN1", Decimal("27.50"), "PAID")
        ]
        after = _invoice(xero, JOB_1001)
        assert Decimal(str(after["AmountDue"])) == Decimal(str(invoice["Total"])) - Decimal("27.50")
        assert work.cli("jobs", "approve", "1001").exit_code == 1  # nothing left to approve


def test_a_crash_after_the_credit_note_is_made_never_makes_a_second(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as xero, ServiceM8Sandbox(port=0).load_seed() as sm8:
        work = _workdir(tmp_path, xero, sm8)
        (tmp_path / "jobsync.yaml").write_text(work.config.read_text() + "changes:\n  authorised: adjust\n")
        work.cli("run")
        job = _job_uuid(sm8, "1001")
        pipe = next(m for m in sm8.records["jobmaterial"].values() if m["job_uuid"] == job and "ipe" in m["name"])
        sm8.put("jobmaterial", uuid=pipe["uuid"], quantity="2")
        sm8.put("job", uuid=job, job_description="two pipes")
        settings = load_settings(work.config)
        _crash_once(settings, crashpoints.AFTER_CREDIT_NOTE)
        sync_run.sync(settings, apply=True)
        notes = list(xero.state.extra["credit_notes"].values())
        assert [(n["Reference"], n["Total"]) for n in notes] == [(f"{JOB_1001} CN1", Decimal("13.75"))]
        assert notes[0]["RemainingCredit"] == Decimal("0.00")


def test_follow_up_brings_a_payment_back_at_once_and_preview_shows_it(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as xero, ServiceM8Sandbox(port=0).load_seed() as sm8:
        work = _workdir(tmp_path, xero, sm8, payments_poll_minutes=60)
        work.cli("run")
        _pay(xero, _invoice(xero, JOB_1001)["InvoiceID"], "60.00")
        work.cli("run")  # not due: the payment waits
        assert _payments_on(sm8, _job_uuid(sm8, "1001")) == []
        now = work.cli("follow-up")
        assert now.exit_code == 0, now.output
        assert "60.00" in now.output and "recorded on the job" in now.output
        assert [r["amount"] for r in _payments_on(sm8, _job_uuid(sm8, "1001"))] == ["60.00"]
        shown = work.cli("preview").output
        assert "1 payments (60.00) came back from Xero since the last run began" in shown
