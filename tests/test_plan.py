from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal as D

from jobsync.core.billing import load_billing
from jobsync.core.models import (
    Client,
    ContactSnapshot,
    DecisionKind,
    Job,
    JobLine,
    LedgerEntry,
    LedgerState,
    XeroAccount,
    XeroContact,
    XeroOrg,
    XeroRefs,
    XeroTaxRate,
)
from jobsync.core.plan import PlanSettings, build_plan
from jobsync.core.rules import load_rules

NOW = datetime(2026, 11, 26, tzinfo=UTC)
DONE = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)  # 2026-11-25 01:30 in Sydney (AEDT, +11)

REFS = XeroRefs(
    org=XeroOrg("Demo", timezone="Australia/Sydney"),
    accounts={
        "200": XeroAccount("200", "Sales", tax_type="OUTPUT"),
        "260": XeroAccount("260", "Other Revenue"),
        "850": XeroAccount("850", "Unearned income", tax_type="OUTPUT"),
        "999": XeroAccount("999", "Old", status="ARCHIVED", tax_type="OUTPUT"),
    },
    tax_rates={
        "OUTPUT": XeroTaxRate("OUTPUT", "GST on Income", D("10.0000")),
        "OLDTAX": XeroTaxRate("OLDTAX", "Old", D("10"), status="DELETED"),
    },
)

RULES = load_rules(
    {
        "lines": [
            {"name": "labour", "when": {"kind": "labour"}, "account_code": "200", "tax_type": "OUTPUT"},
            {"name": "materials", "when": {"kind": "material"}, "account_code": "200"},
            {"name": "internal", "when": {"description": "^internal"}, "exclude": True},
            {"name": "bad-account", "when": {"item_code": "GHOST"}, "account_code": "404"},
            {"name": "archived", "when": {"item_code": "OLD"}, "account_code": "999"},
            {"name": "bad-tax", "when": {"item_code": "NOTAX"}, "account_code": "200", "tax_type": "NOPE"},
            {"name": "deleted-tax", "when": {"item_code": "DELTAX"}, "account_code": "200", "tax_type": "OLDTAX"},
            {"name": "no-tax", "when": {"item_code": "FEE"}, "account_code": "260"},
        ],
        "default": {"account_code": "200", "tax_type": "OUTPUT"},
        "subcontractors": {"mode": "exclude"},
    }
)

SETTINGS = PlanSettings(payment_terms_days=14, org_timezone="Australia/Sydney")
EMPTY = ContactSnapshot(client_map={}, contacts=())


def ln(kind: str, qty: str, price: str, desc: str = "Work", **kw: object) -> JobLine:
    return JobLine(kind=kind, description=desc, quantity=D(qty), unit_price=D(price), **kw)  # type: ignore[arg-type]


def mkjob(number: str = "1042", *lines: JobLine, client: Client | None = None, **kw: object) -> Job:
    return Job(
        source="csv",
        id=f"J{number}",
        number=number,
        status=str(kw.pop("status", "Completed")),
        changed_at=NOW,
        completed_at=DONE,
        client=client if client is not None else Client("C1", "Acme Plumbing", "a@acme.com"),
        lines=lines or (ln("labour", "2", "100"),),
        url="https://jobs.example/1042",
        **kw,  # type: ignore[arg-type]
    )


def plan(*jobs: Job, ledger=None, snapshot=EMPTY, settings=SETTINGS, rules=RULES):  # type: ignore[no-untyped-def]
    return build_plan(list(jobs), ledger or {}, rules, REFS, snapshot, settings, NOW)


def test_draft_amounts_dates_and_rules() -> None:
    job = mkjob(
        "1042",
        ln("labour", "3", "85.50", "Labour"),
        ln("material", "2", "12.3456", "Fittings"),
        ln("material", "1", "200", "Heater", discount_rate=D("10")),
        ln("subcontractor", "1", "500", "Sparky"),
        ln("other", "1", "50", "Internal: van"),
    )
    p = plan(job)
    assert p.held == () and p.skipped == () and p.jobs_seen == 1
    [d] = p.drafts
    # 3 × 85.50 = 256.50 (tax 25.65); 2 × 12.3456 = 24.6912 → 24.69 (tax 2.469 → 2.47);
    # 200 less 10 % = 180.00 (tax 18.00); subcontractor and internal lines excluded.
    assert [(x.line_amount, x.tax_amount, x.rule) for x in d.lines] == [
        (D("256.50"), D("25.65"), "labour"),
        (D("24.69"), D("2.47"), "materials"),
        (D("180.00"), D("18.00"), "materials"),
    ]
    assert d.lines[1].tax_type == "OUTPUT"  # from account 200's default
    assert (d.subtotal, d.total_tax, d.total) == (D("461.19"), D("46.12"), D("507.31"))
    assert d.unitdp == 4
    assert d.date == date(2026, 11, 25) and d.due_date == date(2026, 12, 9)
    assert (d.reference, d.stage, d.status, d.line_amount_types) == ("1042", "final", "DRAFT", "Exclusive")
    assert d.url == "https://jobs.example/1042" and d.job_changed_at == NOW
    assert d.contact.kind is DecisionKind.NEW and d.contact.client_key == "csv:C1"


def test_two_dp_unitdp_and_authorised_status() -> None:
    [d] = plan(mkjob(), settings=replace(SETTINGS, invoice_status="AUTHORISED", org_timezone="UTC")).drafts
    assert d.unitdp == 2 and d.status == "AUTHORISED"
    assert d.date == date(2026, 11, 24)  # 14:30 UTC is still the 24th in UTC
    assert (d.subtotal, d.total_tax, d.total) == (D("200.00"), D("20.00"), D("220.00"))


def _reason(job: Job, **kw: object) -> str:
    p = plan(job, **kw)  # type: ignore[arg-type]
    assert p.drafts == ()
    [h] = p.held
    assert h.fix
    return h.reason


def test_holds_for_each_reason() -> None:
    assert "bad quantity 'x'" in _reason(mkjob(problems=("bad quantity 'x'",)))
    assert "no client" in _reason(replace(mkjob(), client=None))
    assert "no client" in _reason(mkjob(client=Client("C2", "   ")))
    assert "excluded" in _reason(mkjob("1", ln("subcontractor", "1", "10"), ln("other", "1", "5", "internal x")))
    assert "no lines" in _reason(replace(mkjob(), lines=()))
    assert "total is 0.00" in _reason(mkjob("1", ln("labour", "1", "0")))
    assert "total is -11.00" in _reason(mkjob("1", ln("labour", "1", "-10")))
    assert "'404' does not exist" in _reason(mkjob("1", ln("other", "1", "5", item_code="GHOST")))
    assert "'999' is ARCHIVED" in _reason(mkjob("1", ln("other", "1", "5", item_code="OLD")))
    assert "'NOPE' does not exist" in _reason(mkjob("1", ln("other", "1", "5", item_code="NOTAX")))
    assert "'OLDTAX' is DELETED" in _reason(mkjob("1", ln("other", "1", "5", item_code="DELTAX")))
    assert "no tax type" in _reason(mkjob("1", ln("other", "1", "5", item_code="FEE")))
    mixed = mkjob("1", ln("labour", "1", "110", tax_inclusive=True), ln("labour", "1", "100"))
    assert "mixes tax-inclusive" in _reason(mixed)


def test_ambiguous_contact_holds_with_candidates() -> None:
    a = XeroContact("id-a", "Acme North", email="a@acme.com")
    b = XeroContact("id-b", "Acme South", email="A@ACME.com")
    p = plan(mkjob(), snapshot=ContactSnapshot({}, (a, b)))
    [h] = p.held
    assert {c.contact_id for c in h.candidates} == {"id-a", "id-b"}
    assert "Acme North <a@acme.com>" in h.reason and "Acme South" in h.reason


def test_existing_contact_used() -> None:
    c = XeroContact("id-1", "ACME plumbing", email="a@acme.com")
    [d] = plan(mkjob(), snapshot=ContactSnapshot({}, (c,))).drafts
    assert (d.contact.kind, d.contact.contact_id, d.contact.matched_by) == (DecisionKind.EXISTING, "id-1", "email")


def test_confirmed_ledger_skips_even_a_now_broken_job() -> None:
    entry = LedgerEntry("csv", "J1042", "final", "1042", LedgerState.CONFIRMED, "inv-id", "INV-0003", D("220"))
    p = plan(mkjob(problems=("edited later",)), ledger={("csv", "J1042", "final"): entry})
    assert p.drafts == () and p.held == ()
    [s] = p.skipped
    assert (s.stage, s.invoice_number, s.invoice_id, s.reference) == ("final", "INV-0003", "inv-id", "1042")


def test_in_flight_entry_reuses_stored_reference() -> None:
    entry = LedgerEntry("csv", "J1042", "final", "1042 / PO old", LedgerState.IN_FLIGHT, idempotency_key="k")
    [d] = plan(mkjob(), ledger={("csv", "J1042", "final"): entry}).drafts
    assert d.reference == "1042 / PO old"


def test_reference_template() -> None:
    s = replace(SETTINGS, reference_template="{job.number} / PO {job.purchase_order}")
    [d] = plan(mkjob(purchase_order="7781"), settings=s).drafts
    assert d.reference == "1042 / PO 7781"


def test_same_new_client_two_jobs_same_key_and_natural_order() -> None:
    p = plan(mkjob("100"), mkjob("99"), mkjob("1042", client=Client("C5", "Zed", "z@z.com")))
    assert [d.job_number for d in p.drafts] == ["99", "100", "1042"]
    assert p.drafts[0].contact.client_key == p.drafts[1].contact.client_key == "csv:C1"
    assert all(d.contact.kind is DecisionKind.NEW for d in p.drafts)


def test_inclusive_prices() -> None:
    [d] = plan(mkjob("1", ln("labour", "1", "110", tax_inclusive=True))).drafts
    # inclusive 110 at 10 %: tax = 110 × 10 / 110 = 10.00
    assert d.line_amount_types == "Inclusive"
    assert (d.subtotal, d.total_tax, d.total) == (D("100.00"), D("10.00"), D("110.00"))


STAGED = replace(
    SETTINGS,
    billing=load_billing(
        {
            "stages": [
                {"name": "deposit", "status": "Work Order", "percent": 30, "account_code": "850"},
                {"name": "final", "status": "Completed", "remainder": True},
            ]
        }
    ),
)


def test_deposit_stage_draft() -> None:
    [d] = plan(mkjob("1042", ln("labour", "1", "1000"), status="Work Order"), settings=STAGED).drafts
    assert (d.stage, d.reference) == ("deposit", "1042-deposit")
    [line] = d.lines
    assert (line.account_code, line.line_amount, line.tax_amount, line.rule) == (
        "850",
        D("300.00"),
        D("30.00"),
        "billing:deposit",
    )
    assert d.total == D("330.00")


def test_final_stage_nets_off_confirmed_deposit() -> None:
    dep = LedgerEntry("csv", "J1042", "deposit", "1042-deposit", LedgerState.CONFIRMED, "i1", "INV-0007", D("330.00"))
    job = mkjob("1042", ln("labour", "1", "1000"))
    p = plan(job, ledger={("csv", "J1042", "deposit"): dep}, settings=STAGED)
    [d] = p.drafts
    assert (d.stage, d.reference) == ("final", "1042")
    assert [(x.account_code, x.line_amount, x.tax_amount) for x in d.lines] == [
        ("200", D("1000.00"), D("100.00")),
        ("850", D("-300.00"), D("-30.00")),
    ]
    assert "INV-0007" in d.lines[1].description
    assert (d.subtotal, d.total_tax, d.total) == (D("700.00"), D("70.00"), D("770.00"))


def test_both_stages_due_at_once_and_status_without_stage() -> None:
    p = plan(mkjob("1042", ln("labour", "1", "1000")), settings=STAGED)
    assert [(d.stage, d.total) for d in p.drafts] == [("deposit", D("330.00")), ("final", D("770.00"))]
    assert "1042-deposit" in p.drafts[1].lines[1].description
    assert "triggers no billing stage" in _reason(mkjob(status="Quoted"), settings=STAGED)


def test_over_billed_final_holds_for_credit_note() -> None:
    dep = LedgerEntry("csv", "J1042", "deposit", "1042-deposit", LedgerState.CONFIRMED, "i1", "INV-7", D("330.00"))
    p = plan(mkjob("1042", ln("labour", "1", "200")), ledger={("csv", "J1042", "deposit"): dep}, settings=STAGED)
    [h] = p.held
    assert p.drafts == ()
    # the job is now 200.00 but the deposit billed 300.00: remainder 200 − 300 = −100.00
    assert "job's 200.00" in h.reason and "remainder is -100.00" in h.reason
    assert "credit note" in h.fix
