"""End to end: one job billed in three stages across three runs, the CSV's status moving between runs.

Deposit 30 % at "Work Order" and progress 40 % at "In Progress" go to the liability account 835
(the seed's only CURRLIAB account); "Completed" bills the full job lines less one negative line per
earlier stage on 835, so the liability clears and the client pays exactly the remainder.
"""

from __future__ import annotations

from decimal import Decimal as D
from pathlib import Path

import yaml

from jobsync.sandbox.xero.server import XeroSandbox
from tests.e2e import Workdir, make_workdir, xero_api

BILLING = {
    "stages": [
        {
            "name": "deposit",
            "status": "Work Order",
            "percent": 30,
            "account_code": "835",
            "tax_type": "OUTPUT",
            "reference_suffix": "-DEP",
        },
        {
            "name": "progress",
            "status": "In Progress",
            "percent": 40,
            "account_code": "835",
            "tax_type": "OUTPUT",
            "reference_suffix": "-PROG",
        },
        {"name": "final", "status": "Completed", "remainder": True},
    ]
}

CLIENT = "C9,Harbour View Cafe Pty Ltd,accounts@harbourviewcafe.example,,"
LINES = (
    "labour,,Labour - fit out,8,95.00,,",  # 760.00, tax 76.00
    "material,TAP-1,Mixer tap,3,123.45,,",  # 370.35, tax 37.035 -> 37.04
    "material,VAL-2,Isolation valve,2,57.85,10,",  # 115.70 less 10 % = 104.13, tax 10.413 -> 10.41
)


def _jobs(work: Workdir, status: str, when: str) -> None:
    work.write_jobs([f"J9,2001,{status},{when},{CLIENT}{line},PO-9" for line in LINES])


def _setup(tmp_path: Path, sandbox: XeroSandbox) -> Workdir:
    work = make_workdir(tmp_path, sandbox)
    config = yaml.safe_load(work.config.read_text())
    config["billing"] = BILLING
    config["source"]["statuses"] = ["Work Order", "In Progress", "Completed"]
    work.config.write_text(yaml.safe_dump(config, sort_keys=False))
    return work


def _invoice(sandbox: XeroSandbox, reference: str):  # type: ignore[no-untyped-def]
    api = xero_api(sandbox)
    found = api.get_invoices(sandbox.tenant_id, where=f'Reference=="{reference}"').invoices
    assert len(found) == 1, f"expected one invoice with Reference {reference}, got {len(found)}"
    return api.get_invoice(sandbox.tenant_id, found[0].invoice_id).invoices[0]


def _amounts(inv) -> tuple[D, D, D]:  # type: ignore[no-untyped-def]
    return inv.sub_total, inv.total_tax, inv.total


def test_three_stage_job_billed_across_three_runs(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = _setup(tmp_path, sandbox)
        # Job total (ex GST) = 760.00 + 370.35 + 104.13 = 1234.48; one invoice would be 1234.48 + 123.45 = 1357.93.

        _jobs(work, "Work Order", "02/11/2026 09:00")
        result = work.cli("run")
        assert result.exit_code == 0, result.output
        dep = _invoice(sandbox, "2001-DEP / PO PO-9")
        # 30 % of 1234.48 = 370.344 -> 370.34; GST 37.034 -> 37.03
        assert _amounts(dep) == (D("370.34"), D("37.03"), D("407.37"))
        [line] = dep.line_items
        assert (line.account_code, line.tax_type) == ("835", "OUTPUT")
        assert str(dep.date) == "2026-11-02"

        assert work.cli("run").exit_code == 0  # same status again: nothing new
        assert len(sandbox.invoices()) == 1

        _jobs(work, "In Progress", "10/11/2026 09:00")
        result = work.cli("run")
        assert result.exit_code == 0, result.output
        prog = _invoice(sandbox, "2001-PROG / PO PO-9")
        # 40 % of 1234.48 = 493.792 -> 493.79; GST 49.379 -> 49.38
        assert _amounts(prog) == (D("493.79"), D("49.38"), D("543.17"))

        _jobs(work, "Completed", "20/11/2026 09:00")
        result = work.cli("run")
        assert result.exit_code == 0, result.output
        final = _invoice(sandbox, "2001 / PO PO-9")
        by_account = [(li.account_code, li.line_amount, li.tax_amount) for li in final.line_items]
        assert by_account == [
            ("205", D("760.00"), D("76.00")),
            ("210", D("370.35"), D("37.04")),
            ("210", D("104.13"), D("10.41")),
            ("835", D("-370.34"), D("-37.03")),
            ("835", D("-493.79"), D("-49.38")),
        ]
        # 1234.48 − 370.34 − 493.79 = 370.35; GST 76.00 + 37.04 + 10.41 − 37.03 − 49.38 = 37.04
        assert _amounts(final) == (D("370.35"), D("37.04"), D("407.39"))
        # The client pays the one-invoice total exactly, and the liability account nets to zero.
        assert dep.total + prog.total + final.total == D("1357.93")
        liability = [li.line_amount for inv in (dep, prog, final) for li in inv.line_items if li.account_code == "835"]
        assert sum(liability, D("0")) == D("0")
        assert final.line_items[3].description == f"Less deposit invoiced {dep.invoice_number}"
        assert final.line_items[4].description == f"Less progress invoiced {prog.invoice_number}"

        # Status flapping back to an earlier stage bills nothing more.
        _jobs(work, "In Progress", "21/11/2026 09:00")
        assert work.cli("run").exit_code == 0
        assert len(sandbox.invoices()) == 3
        report = work.last_report()
        assert report["counts"]["created"] == 0


def test_authorised_invoices_are_emailed_once_and_drafts_never(tmp_path: Path) -> None:
    from jobsync.state.store import State

    with XeroSandbox(port=0) as sandbox:
        work = _setup(tmp_path, sandbox)
        config = yaml.safe_load(work.config.read_text())
        config["xero"].update(email_invoices=True, invoice_status="AUTHORISED")
        # the deposit is AUTHORISED (emailed); the later stages are DRAFT (never emailed)
        for stage in config["billing"]["stages"][1:]:
            stage["invoice_status"] = "DRAFT"
        work.config.write_text(yaml.safe_dump(config, sort_keys=False))
        _jobs(work, "Work Order", "02/11/2026 09:00")
        result = work.cli("run")
        assert result.exit_code == 0, result.output
        report = work.last_report()
        dep = _invoice(sandbox, "2001-DEP / PO PO-9")
        assert dep.status == "AUTHORISED"
        assert report["extra"]["emailed"] == [dep.invoice_id]
        assert report["api_calls"].get("POST /Invoices/{InvoiceID}/Email") == 1
        _jobs(work, "Completed", "20/11/2026 09:00")
        assert work.cli("run").exit_code == 0
        report = work.last_report()
        assert report["counts"]["created"] == 2 and "POST /Invoices/{InvoiceID}/Email" not in report["api_calls"]
        with State.open(work.path / "state.db") as state:
            emailed = [a.detail for a in state.actions("csv", "J9") if a.action == "emailed"]
        assert emailed == [dep.invoice_id]


def _edited(work: Workdir, *, more: bool, when: str) -> None:
    rows = [f"J7,3001,Completed,{when},{CLIENT}labour,,Labour,2,100.00,,,"]
    if more:
        rows.append(f"J7,3001,Completed,{when},{CLIENT}material,,Extra valve,1,50.00,,,")
    work.write_jobs(rows)


def _reason(work: Workdir) -> str:
    return next(r["reason"] for r in work.last_report()["results"] if r["job_number"] == "3001")


def test_job_edited_after_invoicing_is_reported_and_a_draft_updated(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        _edited(work, more=False, when="20/11/2026 09:00")
        assert work.cli("run").exit_code == 0
        inv = _invoice(sandbox, "3001")
        assert inv.total == D("220.00")  # 2 × 100.00 + GST 20.00

        _edited(work, more=True, when="21/11/2026 09:00")  # 250.00 + GST 25.00 = 275.00
        assert work.cli("run").exit_code == 0
        changed = "changed since invoiced: total 220.00 → 275.00"
        assert _reason(work) == f"already invoiced as {inv.invoice_number}; {changed}"
        assert _invoice(sandbox, "3001").total == D("220.00")  # reported only: update_drafts is off
        preview = work.cli("preview")
        assert "Changed since invoiced" in preview.output and "220.00" in preview.output
        assert "275.00" in preview.output

        config = yaml.safe_load(work.config.read_text())
        config["xero"]["update_drafts"] = True
        work.config.write_text(yaml.safe_dump(config, sort_keys=False))
        _edited(work, more=True, when="21/11/2026 10:00")
        assert work.cli("run").exit_code == 0
        assert _reason(work).endswith(f"draft {inv.invoice_number} updated to match (total 275.00)")
        after = _invoice(sandbox, "3001")
        assert (after.invoice_id, after.status, after.total) == (inv.invoice_id, "DRAFT", D("275.00"))
        assert [li.line_amount for li in after.line_items] == [D("200.00"), D("50.00")]
        assert len(sandbox.invoices()) == 1

        _edited(work, more=True, when="21/11/2026 11:00")  # the ledger has the new total: nothing to say
        assert work.cli("run").exit_code == 0
        assert _reason(work) == f"already invoiced as {inv.invoice_number}"


def test_an_authorised_invoice_is_never_updated(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        config = yaml.safe_load(work.config.read_text())
        config["xero"].update(update_drafts=True, invoice_status="AUTHORISED")
        work.config.write_text(yaml.safe_dump(config, sort_keys=False))
        _edited(work, more=False, when="20/11/2026 09:00")
        assert work.cli("run").exit_code == 0
        inv = _invoice(sandbox, "3001")
        _edited(work, more=True, when="21/11/2026 09:00")
        assert work.cli("run").exit_code == 0
        assert _reason(work).endswith(f"{inv.invoice_number} is AUTHORISED: not touched")
        assert "POST /Invoices/{InvoiceID}" not in work.last_report()["api_calls"]
        assert _invoice(sandbox, "3001").total == D("220.00")


def test_due_date_follows_the_contacts_own_terms_in_xero(tmp_path: Path) -> None:
    from xero_python.accounting import Bill, Contact, Contacts, PaymentTerm, PaymentTermType

    with XeroSandbox(port=0) as sandbox:
        terms = PaymentTerm(sales=Bill(day=20, type=PaymentTermType.OFFOLLOWINGMONTH))
        contact = Contact(name="Terms Client", email_address="terms@client.example", payment_terms=terms)
        xero_api(sandbox).create_contacts(sandbox.tenant_id, Contacts(contacts=[contact]))
        work = make_workdir(tmp_path, sandbox)  # configured: 14 days after the invoice date
        who = "C5,Terms Client,terms@client.example,,"
        work.write_jobs(
            [
                f"J5,4001,Completed,20/11/2026 09:00,{who}labour,,Labour,1,100.00,,,",
                f"J6,4002,Completed,20/11/2026 09:00,{CLIENT}labour,,Labour,1,100.00,,,",
            ]
        )
        assert work.cli("run").exit_code == 0
        own = _invoice(sandbox, "4001")
        assert own.contact.name == "Terms Client"
        assert (str(own.date), str(own.due_date)) == ("2026-11-20", "2026-12-20")  # the 20th of next month
        assert str(_invoice(sandbox, "4002").due_date) == "2026-12-04"  # no terms of its own: 14 days
