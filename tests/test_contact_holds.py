"""Clients whose contact is unclear: one contact for one client, a hold that names the real cause, and the
two one-line fixes (`contacts map CLIENT --contact ID` and `--new-name NAME`) that clear every contact hold.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from jobsync.sandbox.xero.server import XeroSandbox
from jobsync.state.store import State
from tests.e2e import Workdir, make_workdir, xero_api

SMITH_JOHN = "c0a7c7e0-0000-4000-8000-000000000003"  # the seed's John Smith, sharing an email with Jane


def _row(job: str, client_id: str, name: str, email: str, price: str = "50.00") -> str:
    return f"J{job},{job},Completed,20/11/2026 10:00,{client_id},{name},{email},,labour,,Labour,2,{price},,,"


def _invoices(sandbox: XeroSandbox) -> dict[str, tuple[str, Decimal]]:
    found = xero_api(sandbox).get_invoices(sandbox.tenant_id).invoices
    return {i.reference: (i.contact.name, i.total) for i in found}


def _reason(work: Workdir, number: str) -> str:
    return next(r["reason"] for r in work.last_report()["results"] if r["job_number"] == number)


def test_the_same_client_entered_twice_becomes_one_contact(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        work.write_jobs(
            [
                _row("5001", "C-10", "Bondi Plumbing Co", "ap@bondi.example"),
                _row("5002", "C-11", "Bondi  plumbing co", "ap@bondi.example"),
            ]
        )
        result = work.cli("run")
        assert result.exit_code == 0, result.output
        named = [c for c in sandbox.contacts() if c["Name"].casefold().startswith("bondi")]
        assert len(named) == 1
        assert _invoices(sandbox) == {
            "5001": ("Bondi Plumbing Co", Decimal("110.00")),
            "5002": ("Bondi Plumbing Co", Decimal("110.00")),
        }


def test_two_people_with_one_name_one_created_one_held_then_mapped_to_a_new_name(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        work.write_jobs(
            [
                _row("5101", "C-20", "J Smith", "john.smith@example.com"),
                _row("5102", "C-21", "J Smith", "jane.smith@example.net", price="60.00"),
            ]
        )
        result = work.cli("run")
        assert result.exit_code == 1, result.output  # one held, none failed
        assert _invoices(sandbox) == {"5101": ("J Smith", Decimal("110.00"))}
        assert [r["outcome"] for r in work.last_report()["results"] if r["job_number"] == "5102"] == ["held"]
        assert _reason(work, "5102").startswith(
            "the name 'J Smith' is held by another client (john.smith@example.com);"
            " this job's client is jane.smith@example.net"
        )
        mapped = work.cli("contacts", "map", "5102", "--new-name", "J Smith (Bondi)")
        assert mapped.exit_code == 0, mapped.output
        assert work.cli("run").exit_code == 0
        assert work.cli("run").exit_code == 0  # and once only
        assert _invoices(sandbox) == {
            "5101": ("J Smith", Decimal("110.00")),
            "5102": ("J Smith (Bondi)", Decimal("132.00")),
        }
        with State.open(tmp_path / "state.db") as state:
            recorded = [a for a in state.actions() if a.action == "contacts map"]
        assert len(recorded) == 1 and "J Smith (Bondi)" in (recorded[0].detail or "") and recorded[0].who


def test_a_name_taken_in_xero_says_so_and_contacts_map_contact_fixes_it(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        work.write_jobs([_row("5201", "C-30", "Harbour View Cafe Pty Ltd", "owner@othercafe.example")])
        assert work.cli("run").exit_code == 1
        reason = _reason(work, "5201")
        assert reason.startswith("the name 'Harbour View Cafe Pty Ltd' is held in Xero by another contact")
        assert "this job's client is owner@othercafe.example" in reason
        assert "contacts map csv:C-30 --contact" in reason and "--new-name" in reason
        harbour = "c0a7c7e0-0000-4000-8000-000000000001"
        assert work.cli("contacts", "map", "csv:C-30", "--contact", harbour).exit_code == 0
        assert work.cli("run").exit_code == 0
        assert _invoices(sandbox) == {"5201": ("Harbour View Cafe Pty Ltd", Decimal("110.00"))}


def test_an_email_on_several_contacts_names_both_and_never_advises_a_merge(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        work.write_jobs([_row("5301", "C-40", "Smith Household", "office@smithfamily.example")])
        assert work.cli("run").exit_code == 1
        reason = _reason(work, "5301")
        assert "email office@smithfamily.example is on several Xero contacts" in reason
        assert "Jane Smith" in reason and "John Smith" in reason
        assert "merge" not in reason
        assert work.cli("contacts", "map", "5301", "--contact", SMITH_JOHN).exit_code == 0
        assert work.cli("run").exit_code == 0
        assert _invoices(sandbox) == {"5301": ("John Smith", Decimal("110.00"))}


def test_contacts_map_refuses_what_it_cannot_use(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        work.write_jobs([])
        neither = work.cli("contacts", "map", "csv:C-1")
        assert neither.exit_code == 2 and "exactly one of" in neither.output
        unknown = work.cli("contacts", "map", "9999", "--contact", SMITH_JOHN)
        assert unknown.exit_code == 2 and "no held job" in unknown.output


def test_a_job_marked_invoiced_by_number_before_jobsync_saw_it_is_never_invoiced(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        work.write_jobs([])
        marked = work.cli("jobs", "mark-invoiced", "5401", "--invoice", "INV-HAND")  # billed by hand
        assert marked.exit_code == 0, marked.output
        work.write_jobs(
            [
                _row("5401", "C-54", "Hand Billed Co", "hand@example.com"),
                _row("5402", "C-55", "Other Co", "other@example.com"),
            ]
        )
        assert work.cli("run").exit_code == 0
        assert work.cli("run").exit_code == 0
        assert set(_invoices(sandbox)) == {"5402"}  # 5401 arrived as J5401 and was still recognised
        skipped = [r for r in work.last_report()["results"] if r["job_number"] == "5401"]
        assert [r["outcome"] for r in skipped] == ["skipped"]
