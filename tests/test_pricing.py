"""Discounts, client price lists, labour hours × rate, due-date terms and the organisation checks."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest
import yaml

from jobsync.core.errors import ConfigError
from jobsync.core.models import Client, ContactSnapshot, XeroContact, XeroOrg
from jobsync.core.plan import build_plan
from jobsync.core.rules import load_rules
from jobsync.core.terms import due_date
from tests.test_plan import EMPTY, NOW, REFS, SETTINGS, ln, mkjob

BASE = {
    "lines": [{"name": "labour", "when": {"kind": "labour"}, "account_code": "200", "tax_type": "OUTPUT"}],
    "default": {"account_code": "200", "tax_type": "OUTPUT"},
}
GREEN = Client("C7", "Greenleaf Property Management", "g@green.example")


def _rules(**pricing: object):  # type: ignore[no-untyped-def]
    return load_rules({**BASE, "pricing": pricing})


def _one(job, rules, snapshot=EMPTY, settings=SETTINGS, refs=REFS):  # type: ignore[no-untyped-def]
    p = build_plan([job], {}, rules, refs, snapshot, settings, NOW)
    assert p.held == (), p.held
    [d] = p.drafts
    return d


def test_job_discount_as_rate_on_every_line_compounds_with_a_line_rate() -> None:
    lines = (ln("labour", "2", "100"), ln("material", "1", "200", discount_rate=D("10")))
    job = mkjob("1", *lines, discount_percent=D("5"))
    d = _one(job, _rules(job_discount={"mode": "lines"}))
    # 200.00 less 5 % = 190.00 (tax 19.00); 200 less 10 % then 5 % = 14.5 % → 171.00 (tax 17.10)
    assert [(x.discount_rate, x.line_amount, x.tax_amount) for x in d.lines] == [
        (D("5"), D("190.00"), D("19.00")),
        (D("14.5"), D("171.00"), D("17.10")),
    ]
    assert d.total == D("397.10")


def test_job_discount_as_one_negative_line_on_an_account() -> None:
    rules = _rules(job_discount={"mode": "line", "account_code": "260", "tax_type": "OUTPUT"})
    job = mkjob("1", ln("labour", "3", "33.33"), ln("material", "1", "50"), discount_percent=D("7.5"))
    d = _one(job, rules)
    # lines 99.99 + 50.00 = 149.99; 7.5 % = 11.24925 → 11.25; GST −1.125 → −1.13
    assert [(x.account_code, x.line_amount, x.tax_amount, x.rule) for x in d.lines][-1] == (
        "260",
        D("-11.25"),
        D("-1.13"),
        "pricing:job_discount",
    )
    assert d.lines[-1].description == "Discount 7.5%"
    # subtotal 138.74; tax 10.00 + 5.00 − 1.13 = 13.87
    assert (d.subtotal, d.total_tax, d.total) == (D("138.74"), D("13.87"), D("152.61"))


def test_flat_job_discount_needs_an_account_and_is_a_line() -> None:
    job = mkjob("1", ln("labour", "1", "100"), discount_amount=D("15"))
    p = build_plan([job], {}, _rules(), REFS, EMPTY, SETTINGS, NOW)
    assert p.drafts == () and "no account for discount lines" in p.held[0].reason
    d = _one(job, _rules(job_discount={"mode": "lines", "account_code": "260", "tax_type": "OUTPUT"}))
    assert [x.line_amount for x in d.lines] == [D("100.00"), D("-15.00")]
    assert d.total == D("93.50")  # 85.00 + GST 10.00 − 1.50


def test_client_price_list_discount_and_labour_rate() -> None:
    rules = _rules(
        labour_rate=95,
        clients=[
            {
                "client": "Greenleaf Property Management",
                "prices": {"PIPE-15": "11.20"},
                "labour_rate": 85,
                "discount_percent": 10,
            }
        ],
    )
    lines = (
        ln("labour", "0", "0", "Labour", hours=D("2.5"), rate=D("110")),  # time entry: 2.5 h
        ln("material", "4", "12.95", "Copper pipe", item_code="pipe-15"),
    )
    d = _one(mkjob("1", *lines, client=GREEN), rules)
    # labour 2.5 × 85.00 = 212.50 less 10 % = 191.25; pipe 4 × 11.20 = 44.80 less 10 % = 40.32
    assert [(x.quantity, x.unit_amount, x.line_amount) for x in d.lines] == [
        (D("2.5"), D("85"), D("191.25")),
        (D("4"), D("11.20"), D("40.32")),
    ]
    # another client: the entry's own rate 110 (2.5 × 110 = 275.00), list price kept, no discount
    other = _one(mkjob("2", *lines), rules)
    assert [x.line_amount for x in other.lines] == [D("275.00"), D("51.80")]
    # no rate on the entry: the default labour rate 95 (2.5 × 95 = 237.50)
    bare = _one(mkjob("3", ln("labour", "0", "0", hours=D("2.5"))), rules)
    assert bare.lines[0].line_amount == D("237.50")


def test_client_invoice_level_overrides() -> None:
    rules = _rules(
        clients=[
            {
                "client": "C7",
                "line_amount_types": "Inclusive",
                "currency": "nzd",
                "branding_theme_id": "theme-1",
                "payment_terms": {"day": 20, "type": "OFFOLLOWINGMONTH"},
            }
        ]
    )
    d = _one(mkjob("1", ln("labour", "1", "110"), client=GREEN), rules)
    assert (d.line_amount_types, d.currency, d.branding_theme_id) == ("Inclusive", "NZD", "theme-1")
    assert d.total_tax == D("10.00")  # 110 inclusive at 10 %
    assert d.due_date == date(2026, 12, 20)  # invoice 2026-11-25: the 20th of the following month
    from jobsync.xero import wire

    body = wire.invoice_dict(d, "cid-1")
    assert (body["BrandingThemeID"], body["CurrencyCode"], body["Url"]) == (
        "theme-1",
        "NZD",
        "https://jobs.example/1042",
    )
    assert (body["DueDate"], body["LineAmountTypes"]) == (date(2026, 12, 20), "Inclusive")


@pytest.mark.parametrize(
    ("day", "kind", "on", "due"),
    [
        (14, "DAYSAFTERBILLDATE", date(2026, 11, 25), date(2026, 12, 9)),
        (20, "OFFOLLOWINGMONTH", date(2026, 1, 31), date(2026, 2, 20)),
        (31, "OFFOLLOWINGMONTH", date(2026, 1, 15), date(2026, 2, 28)),  # clamped to February's end
        (31, "OFCURRENTMONTH", date(2028, 2, 3), date(2028, 2, 29)),  # end of month, leap year
        (10, "OFCURRENTMONTH", date(2026, 11, 25), date(2026, 11, 25)),  # never before the invoice
        (7, "DAYSAFTERBILLMONTH", date(2026, 12, 3), date(2027, 1, 7)),
    ],
)
def test_due_dates_by_xero_term_type(day: int, kind: str, on: date, due: date) -> None:
    assert due_date(on, day, kind) == due


def test_contact_terms_in_xero_beat_configured_ones() -> None:
    own = XeroContact("id-1", "Acme Plumbing", email="a@acme.com", payment_terms=(7, "DAYSAFTERBILLMONTH"))
    settings = replace(SETTINGS, payment_terms=(20, "OFFOLLOWINGMONTH"))
    d = _one(mkjob(), _rules(), snapshot=ContactSnapshot({}, (own,)), settings=settings)
    assert d.due_date == date(2026, 12, 7)  # 7 days after the end of November
    plain = replace(own, payment_terms=None)
    d = _one(mkjob(), _rules(), snapshot=ContactSnapshot({}, (plain,)), settings=settings)
    assert d.due_date == date(2026, 12, 20)


def test_archived_contact_follows_merge_or_holds() -> None:
    old = XeroContact("id-old", "Acme Plumbing", email="a@acme.com", status="ARCHIVED", merged_to_contact_id="id-new")
    new = XeroContact("id-new", "Acme Plumbing & Gas", email="acc@acme.com")
    d = _one(mkjob(), _rules(), snapshot=ContactSnapshot({"csv:C1": "id-old"}, (old, new)))
    assert (d.contact.contact_id, d.contact.matched_by) == ("id-new", "map")
    p = build_plan([mkjob()], {}, _rules(), REFS, ContactSnapshot({"csv:C1": "id-old"}, (old,)), SETTINGS, NOW)
    assert p.drafts == () and "is ARCHIVED, merged into id-new" in p.held[0].reason


def test_period_lock_date_holds_with_both_dates() -> None:
    refs = replace(REFS, org=XeroOrg("Demo", timezone="Australia/Sydney", period_lock_date=date(2026, 11, 30)))
    p = build_plan([mkjob()], {}, _rules(), refs, EMPTY, SETTINGS, NOW)
    assert p.drafts == ()
    assert "invoice date 2026-11-25 is on or before the organisation's period lock date 2026-11-30" in p.held[0].reason
    refs = replace(refs, org=replace(refs.org, period_lock_date=date(2026, 11, 24)))
    assert _one(mkjob(), _rules(), refs=refs).date == date(2026, 11, 25)


def test_tracking_categories_and_options_must_be_active() -> None:
    rules = load_rules(
        {
            **BASE,
            "lines": [
                {
                    "name": "t",
                    "when": {},
                    "account_code": "200",
                    "tracking": [{"category": "Region", "field": "region"}],
                }
            ],
        }
    )
    job = mkjob(fields=(("region", "North"),))
    refs = replace(REFS, tracking={"Region": ("South",)})
    p = build_plan([job], {}, rules, refs, EMPTY, SETTINGS, NOW)
    assert "tracking option 'North' is not an active option of 'Region'" in p.held[0].reason
    p = build_plan([job], {}, rules, replace(REFS, tracking={}), EMPTY, SETTINGS, NOW)
    assert "tracking category 'Region' does not exist or is archived" in p.held[0].reason
    assert _one(job, rules, refs=replace(REFS, tracking={"Region": ("North", "South")})).lines[0].tracking == (
        ("Region", "North"),
    )
    assert _one(job, rules).lines[0].tracking == (("Region", "North"),)  # not read: not checked


def test_source_total_tolerance_holds_with_both_figures() -> None:
    settings = replace(SETTINGS, total_tolerance=D("0.05"))
    job = mkjob(source_total=D("220.04"))  # plan: 2 × 100 + GST = 220.00; 0.04 apart
    assert _one(job, _rules(), settings=settings).total == D("220.00")
    p = build_plan([replace(job, source_total=D("220.10"))], {}, _rules(), REFS, EMPTY, settings, NOW)
    assert "is 220.10 but its invoice comes to 220.00 (tolerance 0.05)" in p.held[0].reason


def test_pricing_problems_reported_at_once_and_example_loads() -> None:
    with pytest.raises(ConfigError) as exc:
        _rules(
            colour=1,
            labour_rate=-1,
            job_discount={"mode": "line"},
            clients=[{"client": "", "discount_percent": 120, "payment_terms": {"day": 40, "type": "OFCURRENTMONTH"}}],
        )
    text = "\n".join(exc.value.problems)
    for needle in (
        "pricing.colour: unknown key",
        "labour_rate: must not be negative",
        "job_discount.account_code: required",
        "clients[0].client: required",
        "discount_percent: must be between 0 and 100",
        "payment_terms.day",
    ):
        assert needle in text, needle
    raw = yaml.safe_load((Path(__file__).parent.parent / "config.example.yaml").read_text())
    pricing = load_rules(raw["rules"]).pricing
    assert pricing.labour_rate == D("95.00") and pricing.clients[0].prices == {"pipe-15": D("11.20")}
    assert pricing.clients[0].payment_terms == (20, "OFFOLLOWINGMONTH")


def test_invoice_level_config_keys_load_and_are_checked(tmp_path: Path) -> None:
    from jobsync.config.settings import load_settings

    env = {"XERO_TENANT_ID": "tenant-1", "XERO_ACCESS_TOKEN": "t"}
    example = Path(__file__).parent.parent / "config.example.yaml"
    s = load_settings(example, env=env)
    # The source-total check is on by default.
    assert (s.xero.update_drafts, s.xero.payment_terms, s.xero.total_tolerance) == (False, None, D("0.01"))
    raw = yaml.safe_load(example.read_text())
    raw["xero"].update(payment_terms={"day": 31, "type": "OFCURRENTMONTH"}, total_tolerance="0.05", update_drafts=True)
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(raw))
    s = load_settings(path, env=env)
    assert s.xero.payment_terms is not None and (s.xero.payment_terms.day, s.xero.payment_terms.type) == (
        31,
        "OFCURRENTMONTH",
    )
    assert (s.xero.total_tolerance, s.xero.update_drafts) == (D("0.05"), True)
    raw["xero"]["payment_terms"] = {"day": 20, "type": "NEXTMONTH"}
    path.write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError) as exc:
        load_settings(path, env=env)
    assert "payment_terms" in "\n".join(exc.value.problems)


class _Cache:
    def __init__(self) -> None:
        self.data: dict[str, str] = {}

    def cache_get(self, key: str) -> str | None:
        return self.data.get(key)

    def cache_put(self, key: str, value: str) -> None:
        self.data[key] = value


def test_contact_terms_and_merges_survive_the_contact_snapshot() -> None:
    import json

    from jobsync.xero import wire
    from jobsync.xero.contact_snapshot import ContactSnapshot as Copy

    raw = {
        "ContactID": "id-old",
        "Name": "Old Co",
        "ContactStatus": "ARCHIVED",
        "MergedToContactID": "id-new",
        "PaymentTerms": {"Sales": {"Day": 20, "Type": "OFFOLLOWINGMONTH"}},
        "UpdatedDateUTC": "/Date(0+0000)/",
    }
    cache = _Cache()
    copy = Copy(cache, "t")
    copy.merge([raw], wire.parse_contact)
    copy.save()
    [c] = Copy(cache, "t").matching(contact_ids=["id-old"])
    assert (c.status, c.payment_terms, c.merged_to_contact_id) == ("ARCHIVED", (20, "OFFOLLOWINGMONTH"), "id-new")
    # a copy saved before terms were kept (five fields per contact) still reads
    old_row = {"id-x": ["X", None, None, "ACTIVE", None]}
    cache.data["xero:t:contacts:v2"] = json.dumps({"mark": None, "contacts": old_row})
    [x] = Copy(cache, "t").matching(contact_ids=["id-x"])
    assert (x.name, x.payment_terms, x.merged_to_contact_id) == ("X", None, None)


def test_a_purchases_only_tax_type_is_held_before_any_write() -> None:
    from jobsync.sandbox.xero.server import XeroSandbox
    from jobsync.xero.client import XeroClient

    with XeroSandbox(port=0) as sandbox:
        refs = XeroClient(sandbox.api_url, sandbox.tenant_id, lambda: "sandbox").read_refs()
    assert refs.tax_rates["INPUT"].can_apply_to_revenue is False and refs.tax_rates["OUTPUT"].can_apply_to_revenue
    rules = load_rules({"lines": [], "default": {"account_code": "200", "tax_type": "INPUT"}})
    p = build_plan([mkjob()], {}, rules, refs, EMPTY, SETTINGS, NOW)
    assert p.drafts == ()
    assert "tax type 'INPUT' (GST on Expenses) cannot be used on a sales invoice" in p.held[0].reason
