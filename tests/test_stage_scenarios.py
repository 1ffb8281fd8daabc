"""The issue's billing scenarios through build_plan, amounts worked out by hand in each test."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

from jobsync.core.billing import load_billing
from jobsync.core.models import Job, LedgerEntry, LedgerState, XeroAccount, XeroOrg, XeroRefs, XeroTaxRate
from jobsync.core.plan import build_plan
from jobsync.core.rules import load_rules
from tests.test_plan import EMPTY, NOW, REFS, RULES, SETTINGS, ln, mkjob

THREE = replace(
    SETTINGS,
    billing=load_billing(
        {
            "stages": [
                {"name": "deposit", "status": "Work Order", "percent": 30, "account_code": "850"},
                {"name": "progress", "status": "In Progress", "percent": 40, "account_code": "850"},
                {"name": "final", "status": "Completed", "remainder": True},
            ]
        }
    ),
)


def _entry(stage: str, total: str, number: str) -> tuple[tuple[str, str, str], LedgerEntry]:
    ref = "1042" if stage == "final" else f"1042-{stage}"
    entry = LedgerEntry("csv", "J1042", stage, ref, LedgerState.CONFIRMED, f"id-{stage}", number, D(total))
    return ("csv", "J1042", stage), entry


def _plan(*jobs: Job, ledger=None, settings=THREE, refs=REFS, rules=RULES):  # type: ignore[no-untyped-def]
    return build_plan(list(jobs), dict(ledger or []), rules, refs, EMPTY, settings, NOW)


def test_total_changed_after_deposit_bills_the_right_remainder() -> None:
    # Deposit billed on a 1000.00 job: 300.00 + GST 30.00 = 330.00. The job grew to 1250.00.
    ledger = [_entry("deposit", "330.00", "INV-1"), _entry("progress", "440.00", "INV-2")]
    [d] = _plan(mkjob("1042", ln("labour", "1", "1250")), ledger=ledger).drafts
    # 1250.00 − 300.00 − 400.00 = 550.00; GST 125.00 − 30.00 − 40.00 = 55.00
    assert [x.line_amount for x in d.lines] == [D("1250.00"), D("-300.00"), D("-400.00")]
    assert (d.subtotal, d.total_tax, d.total) == (D("550.00"), D("55.00"), D("605.00"))


def test_two_stages_crossed_between_polls_bill_in_order() -> None:
    # Seen first at Completed with the deposit billed: progress (40 % of 500 = 200) then final (500 − 150 − 200).
    ledger = [_entry("deposit", "165.00", "INV-1")]
    p = _plan(mkjob("1042", ln("labour", "1", "500")), ledger=ledger)
    assert [(d.stage, d.reference, d.total) for d in p.drafts] == [
        ("progress", "1042-progress", D("220.00")),
        ("final", "1042", D("165.00")),
    ]
    final = p.drafts[1]
    assert [x.line_amount for x in final.lines] == [D("500.00"), D("-150.00"), D("-200.00")]
    # the progress invoice is not created yet: the final names it by its Reference
    assert "1042-progress" in final.lines[2].description and "INV-1" in final.lines[1].description


def test_status_flapping_never_rebills_a_stage() -> None:
    ledger = [_entry("deposit", "330.00", "INV-1"), _entry("progress", "440.00", "INV-2")]
    for status in ("Work Order", "In Progress"):
        p = _plan(mkjob("1042", ln("labour", "1", "1000"), status=status), ledger=ledger)
        assert p.drafts == () and p.held == ()
        assert p.skipped[0].invoice_number == "INV-2"  # the latest stage billed
    # and back to Completed after the final: skipped as fully invoiced
    done = [*ledger, _entry("final", "330.00", "INV-3")]
    p = _plan(mkjob("1042", ln("labour", "1", "1000")), ledger=done)
    assert p.drafts == () and [s.invoice_number for s in p.skipped] == ["INV-3"]


def test_over_billing_attempt_holds_for_a_credit_note() -> None:
    # Deposit 300 and progress 400 billed; the job shrank to 600: remainder −100.00.
    ledger = [_entry("deposit", "330.00", "INV-1"), _entry("progress", "440.00", "INV-2")]
    p = _plan(mkjob("1042", ln("labour", "1", "600")), ledger=ledger)
    assert p.drafts == ()
    [h] = p.held
    assert "remainder is -100.00" in h.reason and "credit note" in h.fix
    # a progress stage on a job already fully covered by its deposit is capped, never over 100 %
    p = _plan(mkjob("1042", ln("labour", "1", "300"), status="In Progress"), ledger=ledger[:1])
    assert p.drafts == () and p.held == ()


def test_hundred_percent_discount() -> None:
    # One line fully discounted: 0.00 with no tax; the rest bills normally.
    job = mkjob("1", ln("labour", "2", "100"), ln("material", "1", "80", discount_rate=D("100")))
    [d] = _plan(job, settings=SETTINGS).drafts
    assert [(x.line_amount, x.tax_amount) for x in d.lines] == [(D("200.00"), D("20.00")), (D("0.00"), D("0.00"))]
    assert d.total == D("220.00")
    # A job discounted to nothing is held, never sent as a zero invoice.
    p = _plan(mkjob("2", ln("labour", "1", "80", discount_rate=D("100"))), settings=SETTINGS)
    assert p.drafts == () and "total is 0.00" in p.held[0].reason


def test_negative_lines_reduce_the_invoice() -> None:
    # A credit line for a returned part: 3 × 45.55 = 136.65 (GST 13.665 → 13.67); −1 × 45.55 (GST −4.555 → −4.56)
    job = mkjob("1", ln("material", "3", "45.55", "Valve"), ln("material", "-1", "45.55", "Valve returned"))
    [d] = _plan(job, settings=SETTINGS).drafts
    assert [(x.line_amount, x.tax_amount) for x in d.lines] == [
        (D("136.65"), D("13.67")),
        (D("-45.55"), D("-4.56")),
    ]
    # Xero rounds the tax per line, half away from zero: 13.67 − 4.56 = 9.11 (not round(91.10 × 10 %) = 9.11)
    assert (d.subtotal, d.total_tax, d.total) == (D("91.10"), D("9.11"), D("100.21"))


def _refs(tax_type: str, rate: str, currency: str) -> XeroRefs:
    return XeroRefs(
        org=XeroOrg("Org", base_currency=currency, timezone="UTC"),
        accounts={"200": XeroAccount("200", "Sales", tax_type=tax_type), "850": XeroAccount("850", "Unearned")},
        tax_rates={tax_type: XeroTaxRate(tax_type, tax_type, D(rate))},
    )


INCL = load_rules({"lines": [], "default": {"account_code": "200"}})


def _inclusive(refs: XeroRefs, *prices: str):  # type: ignore[no-untyped-def]
    lines = [ln("material", "1", p, f"Part {i}", tax_inclusive=True) for i, p in enumerate(prices)]
    [d] = _plan(mkjob("1", *lines), settings=SETTINGS, refs=refs, rules=INCL).drafts
    assert d.line_amount_types == "Inclusive"
    return d


def test_tax_inclusive_gst_10_percent() -> None:
    # 99.99 × 10/110 = 9.09; 45.45 × 10/110 = 4.1318 → 4.13: total 145.44, tax 13.22, subtotal 132.22
    d = _inclusive(_refs("OUTPUT", "10", "AUD"), "99.99", "45.45")
    assert [x.tax_amount for x in d.lines] == [D("9.09"), D("4.13")]
    assert (d.subtotal, d.total_tax, d.total) == (D("132.22"), D("13.22"), D("145.44"))


def test_tax_inclusive_nz_gst_15_percent() -> None:
    # 115.00 × 15/115 = 15.00; 49.95 × 15/115 = 6.5152 → 6.52: total 164.95, tax 21.52, subtotal 143.43
    d = _inclusive(_refs("OUTPUT2", "15", "NZD"), "115.00", "49.95")
    assert [x.tax_amount for x in d.lines] == [D("15.00"), D("6.52")]
    assert (d.subtotal, d.total_tax, d.total) == (D("143.43"), D("21.52"), D("164.95"))


def test_tax_inclusive_uk_vat_20_percent() -> None:
    # 59.99 × 20/120 = 9.9983 → 10.00; 19.99 × 20/120 = 3.3317 → 3.33: total 79.98, tax 13.33, subtotal 66.65
    d = _inclusive(_refs("OUTPUT2", "20", "GBP"), "59.99", "19.99")
    assert [x.tax_amount for x in d.lines] == [D("10.00"), D("3.33")]
    assert (d.subtotal, d.total_tax, d.total) == (D("66.65"), D("13.33"), D("79.98"))


def test_inclusive_staged_billing_at_nz_gst() -> None:
    # Inclusive 1150.00 job at 15 %: deposit 30 % = 345.00 incl. (tax 45.00), on 850 with the account's 15 %
    refs = _refs("OUTPUT2", "15", "NZD")
    refs = replace(refs, accounts={**refs.accounts, "850": XeroAccount("850", "Unearned", tax_type="OUTPUT2")})
    job = mkjob("1042", ln("labour", "1", "1150", tax_inclusive=True), status="Work Order")
    [dep] = _plan(job, refs=refs, rules=INCL).drafts
    assert (dep.line_amount_types, dep.total, dep.total_tax) == ("Inclusive", D("345.00"), D("45.00"))
    ledger = [_entry("deposit", "345.00", "INV-1")]
    prog, final = _plan(replace(job, status="Completed"), refs=refs, rules=INCL, ledger=ledger).drafts
    # progress 40 % = 460.00 incl (tax 60.00); final 1150 − 345 − 460 = 345.00 incl (tax 150 − 45 − 60 = 45.00)
    assert (prog.stage, prog.total, prog.total_tax) == ("progress", D("460.00"), D("60.00"))
    assert final.stage == "final" and (final.total, final.total_tax) == (D("345.00"), D("45.00"))
    assert [x.line_amount for x in final.lines] == [D("1150.00"), D("-345.00"), D("-460.00")]


def test_changed_since_invoiced_is_reported_on_the_skip() -> None:
    entry = LedgerEntry("csv", "J1042", "final", "1042", LedgerState.CONFIRMED, "id-f", "INV-9", D("410.00"))
    ledger = [(("csv", "J1042", "final"), entry)]
    job = mkjob("1042", ln("labour", "1", "413.64"))  # 413.64 + GST 41.36 = 455.00
    p = _plan(job, ledger=ledger, settings=SETTINGS)
    [s] = p.skipped
    assert s.changed_total == (D("410.00"), D("455.00"))
    assert s.reason == "already invoiced as INV-9; changed since invoiced: total 410.00 → 455.00"
    same = _plan(mkjob("1042", ln("labour", "1", "372.73")), ledger=ledger, settings=SETTINGS)
    assert same.skipped[0].changed_total is None  # 372.73 + 37.27 = 410.00: unchanged


def test_changed_since_invoiced_across_stages_allows_a_cent_per_stage() -> None:
    # deposit 407.37 + progress 543.17 + final 407.39 = 1357.93 = the job as one invoice (e2e figures)
    ledger = [
        _entry("deposit", "407.37", "INV-1"),
        _entry("progress", "543.17", "INV-2"),
        _entry("final", "407.39", "INV-3"),
    ]
    valve = ln("material", "2", "57.85", discount_rate=D("10"))
    lines = (ln("labour", "8", "95"), ln("material", "3", "123.45"), valve)
    assert _plan(mkjob("1042", *lines), ledger=ledger).skipped[0].changed_total is None
    grown = _plan(mkjob("1042", *lines, ln("material", "1", "10")), ledger=ledger).skipped[0]
    assert grown.changed_total == (D("1357.93"), D("1368.93"))


def test_zero_totals_held_unless_allowed_and_a_zero_final_clears_the_liability() -> None:
    free = mkjob("1", ln("labour", "1", "80", discount_rate=D("100")))
    assert "total is 0.00" in _plan(free, settings=SETTINGS).held[0].reason
    [d] = _plan(free, settings=replace(SETTINGS, allow_zero_total=True)).drafts
    assert d.total == D("0.00")
    refund = mkjob("2", ln("labour", "-1", "80"))
    assert "total is -88.00" in _plan(refund, settings=replace(SETTINGS, allow_zero_total=True)).held[0].reason
    # deposit 300 + progress 700 billed a 1000.00 job in full: the final nets both off to exactly 0.00
    ledger = [_entry("deposit", "330.00", "INV-1"), _entry("progress", "770.00", "INV-2")]
    [final] = _plan(mkjob("1042", ln("labour", "1", "1000")), ledger=ledger).drafts
    assert [x.line_amount for x in final.lines] == [D("1000.00"), D("-300.00"), D("-700.00")]
    assert (final.subtotal, final.total_tax, final.total) == (D("0.00"), D("0.00"), D("0.00"))
