"""End to end: the real CLI, the real CSV source, xero-python over real HTTP to the sandbox."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from jobsync.sandbox.xero.server import XeroSandbox
from tests.e2e import Workdir, make_workdir, xero_api

ROWS = [
    # J1: existing contact (by email); labour 2.5 h × 95.00 and a discounted 4-dp material line.
    "J1,1001,Completed,20/11/2026 10:00,C1,Harbour View Cafe Pty Ltd,accounts@harbourviewcafe.example,,"
    "labour,,Labour - leak repair,2.5,95.00,,,PO-77",
    "J1,1001,Completed,20/11/2026 10:00,C1,Harbour View Cafe Pty Ltd,accounts@harbourviewcafe.example,,"
    "material,PIPE-15,Copper pipe 15mm,3,12.3456,10,,PO-77",
    # J2 and J3: the same new client twice -> one new contact.
    "J2,1002,Completed,21/11/2026 11:00,C2,Brand New Client,new@client.example,0400 000 000,labour,,Labour,1,100.00,,,",
    "J3,1003,Completed,21/11/2026 12:00,C2,Brand New Client,new@client.example,0400 000 000,"
    "subcontractor,,Subcontractor: roof plumber,1,200.00,,,",
    # J4: two active contacts share this email -> ambiguous -> held.
    "J4,1004,Completed,22/11/2026 09:00,C3,Smith Family,office@smithfamily.example,,labour,,Labour,1,50.00,,,",
    # J5: malformed quantity -> held with its reason; the rest still sync.
    "J5,1005,Completed,22/11/2026 10:00,C4,Bad Data Pty Ltd,bad@data.example,,material,,Widget,two,5.00,,,",
]


def _invoice(sandbox: XeroSandbox, reference: str):  # type: ignore[no-untyped-def]
    api = xero_api(sandbox)
    found = api.get_invoices(sandbox.tenant_id, where=f'Reference=="{reference}"').invoices
    assert len(found) == 1, f"expected one invoice with Reference {reference}, got {len(found)}"
    return api.get_invoice(sandbox.tenant_id, found[0].invoice_id, unitdp=4).invoices[0]


def _run(tmp_path: Path, sandbox: XeroSandbox) -> Workdir:
    work = make_workdir(tmp_path, sandbox)
    work.write_jobs(ROWS)
    result = work.cli("run")
    assert result.exit_code == 1, result.output  # 1: jobs were held
    return work


def test_invoices_are_created_with_exact_lines_accounts_and_totals(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        _run(tmp_path, sandbox)
        inv = _invoice(sandbox, "1001 / PO PO-77")
        assert inv.contact.name == "Harbour View Cafe Pty Ltd"
        assert inv.status == "DRAFT" and inv.type == "ACCREC"
        labour, pipe = inv.line_items
        assert (labour.account_code, labour.tax_type, labour.line_amount) == ("205", "OUTPUT", Decimal("237.50"))
        assert (pipe.account_code, pipe.unit_amount, pipe.discount_rate) == ("210", Decimal("12.3456"), Decimal("10"))
        # 3 × 12.3456 × 0.9 = 33.33312 -> 33.33; tax per line: 23.75 + 3.33
        assert pipe.line_amount == Decimal("33.33")
        assert (inv.sub_total, inv.total_tax, inv.total) == (Decimal("270.83"), Decimal("27.08"), Decimal("297.91"))
        assert str(inv.date) == "2026-11-20" and str(inv.due_date) == "2026-12-04"


def test_new_client_becomes_exactly_one_contact_and_existing_one_is_reused(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        before = {c["Name"] for c in sandbox.contacts()}
        _run(tmp_path, sandbox)
        names = [c["Name"] for c in sandbox.contacts()]
        assert names.count("Brand New Client") == 1
        assert names.count("Harbour View Cafe Pty Ltd") == 1
        assert set(names) - before == {"Brand New Client"}
        new = next(c for c in sandbox.contacts() if c["Name"] == "Brand New Client")
        assert new["ContactNumber"] == "CSV-C2"  # tidy: the source, then the client id as a code
        sub = _invoice(sandbox, "1003").line_items[0]
        # subcontractor passed through on 215 with a 10 % markup: 200.00 -> 220.00
        assert (sub.account_code, sub.line_amount) == ("215", Decimal("220.00"))


def test_ambiguous_and_malformed_jobs_are_held_with_reasons_while_others_sync(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = _run(tmp_path, sandbox)
        report = work.last_report()
        by_job = {r["job_number"]: r for r in report["results"]}
        assert by_job["1004"]["outcome"] == "held"
        assert "John Smith" in by_job["1004"]["reason"] and "Jane Smith" in by_job["1004"]["reason"]
        assert by_job["1005"]["outcome"] == "held"
        assert "two" in by_job["1005"]["reason"]
        assert {by_job[n]["outcome"] for n in ("1001", "1002", "1003")} == {"created"}
        references = {i.get("Reference") for i in sandbox.invoices()}
        assert references == {"1001 / PO PO-77", "1002", "1003"}  # the PO follows the number


def test_second_run_creates_nothing_and_reports_overlap_jobs_as_already_invoiced(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = _run(tmp_path, sandbox)
        count = len(sandbox.invoices())
        result = work.cli("run")
        assert result.exit_code == 1, result.output
        assert len(sandbox.invoices()) == count
        report = work.last_report()
        assert report["counts"]["created"] == 0
        skipped = {r["job_number"] for r in report["results"] if r["outcome"] == "skipped"}
        # a CSV export has no trustworthy change time: every row since start_from is read again,
        # and the ledger says each invoiced job is done
        assert skipped == {"1001", "1002", "1003"}


def test_lost_watermark_and_lost_state_file_create_nothing_twice(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = _run(tmp_path, sandbox)
        count = len(sandbox.invoices())
        (work.path / "state.db").unlink()  # watermark, ledger and client map all gone
        result = work.cli("run", "--since", "2026-11-01")
        assert result.exit_code == 1, result.output
        assert len(sandbox.invoices()) == count
        adopted = {r["job_number"] for r in work.last_report()["results"] if r["outcome"] == "adopted"}
        assert adopted == {"1001", "1002", "1003"}
        assert [c["Name"] for c in sandbox.contacts()].count("Brand New Client") == 1


def test_first_run_without_a_start_date_exits_2_with_the_fix(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox, start_from=None)
        work.write_jobs(ROWS)
        result = work.cli("run")
        assert result.exit_code == 2
        assert "source.start_from" in result.output
        assert sandbox.invoices() == []


def test_preview_writes_nothing_and_exits_1_when_jobs_are_held(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        work.write_jobs(ROWS)
        result = work.cli("preview")
        assert result.exit_code == 1, result.output
        assert "1001" in result.output and "297.91" in result.output
        assert sandbox.invoices() == []
        assert not (work.path / "reports").exists()
        assert [c["Name"] for c in sandbox.contacts()].count("Brand New Client") == 0


def test_unreachable_xero_exits_3_with_one_line(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
    work.write_jobs(ROWS)  # the sandbox is stopped now: nothing listens on its port
    result = work.cli("run")
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output


def test_a_second_concurrent_run_exits_4_at_once_and_sends_nothing(tmp_path: Path) -> None:
    from jobsync.state.store import State

    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        work.write_jobs(ROWS)
        with State.open(work.path / "state.db") as state, state.lock():
            result = work.cli("run")
        assert result.exit_code == 4, result.output
        assert "another jobsync run holds the lock" in result.output
        assert sandbox.invoices() == []


def test_preview_filters_explains_and_writes_html(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        work.write_jobs(ROWS)
        page = tmp_path / "preview.html"
        result = work.cli("preview", "--job", "1001", "--explain", "1001")
        assert result.exit_code == 0, result.output  # the held jobs are filtered out
        assert "297.91" in result.output and "1002" not in result.output
        assert "materials" in result.output and "yes" in result.output  # the rule that matched the pipe line
        assert work.cli("preview", "--job", "1001", "--html", str(page)).exit_code == 0
        text = page.read_text()
        assert "297.91" in text and "<script src" not in text and "<link" not in text
        assert sandbox.invoices() == []


def test_status_check_is_a_dead_man_switch(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        work.write_jobs(ROWS[:2])
        assert work.cli("status", "--check", "--max-age", "26h").exit_code == 1  # no run yet
        assert work.cli("run").exit_code == 0
        checked = work.cli("status", "--check", "--max-age", "26h")
        assert checked.exit_code == 0, checked.output


def test_an_ignored_job_is_never_invoiced_even_when_it_comes_back(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        work.write_jobs(ROWS)
        assert work.cli("run").exit_code == 1  # J5 (job 1005) is held for its bad quantity
        assert work.cli("jobs", "ignore", "1005", "--reason", "billed by hand").exit_code == 0
        fixed = [r.replace(",two,", ",2,") for r in ROWS]
        work.write_jobs(fixed)
        work.cli("run", "--since", "2026-11-01")  # re-reads everything: J5 is valid now, and still ignored
        assert "1005" not in [i.get("Reference") for i in sandbox.invoices()]
        by_job = {r["job_number"]: r for r in work.last_report()["results"]}
        assert by_job["1005"]["outcome"] == "skipped" and "billed by hand" in by_job["1005"]["reason"]
        work.cli("run", "--since", "2026-11-01")
        assert "1005" not in [i.get("Reference") for i in sandbox.invoices()]


def test_verbose_json_logs_go_to_stderr_and_leave_stdout_to_json(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        work.write_jobs(ROWS[:2])
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "jobsync.cli.main",
                "-v",
                "--log-format",
                "json",
                "run",
                "--json",
                "--config",
                str(work.config),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["counts"]["created"] == 1  # stdout is one JSON document
        events = [json.loads(line) for line in done.stderr.splitlines() if line.startswith("{")]
        assert any("finished" in e["message"] and e["level"] == "info" for e in events)
        assert "sandbox" not in done.stderr  # the token never reaches a log line


def test_jobs_list_invoiced_comes_from_the_ledger_even_after_reports_are_pruned(tmp_path: Path) -> None:
    import json
    import shutil

    with XeroSandbox(port=0) as sandbox:
        work = _run(tmp_path, sandbox)
        shutil.rmtree(work.path / "reports")
        listed = work.cli("jobs", "list", "--invoiced", "--json")
        assert listed.exit_code == 0, listed.output
        rows = json.loads(listed.output)
        numbers = {r["invoice_number"] for r in rows}
        assert numbers == {i["InvoiceNumber"] for i in sandbox.invoices()}
        assert {r["job_number"] for r in rows} == {
            "1001 / PO PO-77",
            "1002",
            "1003",
        }  # the References, as no report is left
