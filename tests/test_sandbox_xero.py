"""The Xero sandbox through the real xero-python SDK: reads, creates, arithmetic, validation."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import pytest
import requests
from xero_python.accounting import AccountingApi
from xero_python.accounting.models import Contact, Contacts, Invoice, Invoices, LineAmountTypes, LineItem
from xero_python.api_client import ApiClient
from xero_python.api_client.configuration import Configuration
from xero_python.api_client.oauth2 import OAuth2Token
from xero_python.exceptions import AccountingBadRequestException

from jobsync.sandbox.xero.server import XeroSandbox

HARBOUR_ID = "c0a7c7e0-0000-4000-8000-000000000001"
OLD_CLIENT_ID = "c0a7c7e0-0000-4000-8000-000000000005"


@pytest.fixture()
def sb() -> Iterator[XeroSandbox]:
    with XeroSandbox() as sandbox:
        yield sandbox


@pytest.fixture()
def api(sb: XeroSandbox) -> AccountingApi:
    token = {
        "access_token": "sandbox",
        "token_type": "Bearer",
        "expires_in": 1800,
        "scope": ["accounting.transactions"],
        "expires_at": time.time() + 1800,
    }
    client = ApiClient(
        Configuration(oauth2_token=OAuth2Token(client_id="x", client_secret="y")),
        pool_threads=1,
        oauth2_token_getter=lambda: token,
        oauth2_token_saver=token.update,
    )
    client.rest_client.pool_manager.connection_pool_kw["retries"] = False
    return AccountingApi(client, base_url=sb.api_url)


def line(desc: str, qty: str, unit: str, account: str = "200", tax: str | None = None, **kw: object) -> LineItem:
    return LineItem(
        description=desc, quantity=Decimal(qty), unit_amount=Decimal(unit), account_code=account, tax_type=tax, **kw
    )


def invoice(**kw: object) -> Invoice:
    """The SDK's Invoice() sends read-only HasAttachments=false, which the spec refuses: leave it out."""
    return Invoice(has_attachments=None, **kw)


def draft(contact_id: str, *lines: LineItem, reference: str = "JOB-1", status: str = "DRAFT", **kw: object) -> Invoice:
    return invoice(
        type="ACCREC",
        contact=Contact(contact_id=contact_id),
        line_items=list(lines),
        date=date(2026, 3, 2),
        due_date=date(2026, 3, 16),
        reference=reference,
        status=status,
        **kw,
    )


def test_organisation_accounts_and_tax_rates(sb: XeroSandbox, api: AccountingApi) -> None:
    org = api.get_organisations(sb.tenant_id).organisations[0]
    assert (org.name, ev(org.base_currency), ev(org.country_code)) == ("Demo Trades Co (Sandbox)", "AUD", "AU")
    accounts = {a.code: a for a in api.get_accounts(sb.tenant_id).accounts}
    assert accounts["205"].name == "Sales - Labour" and ev(accounts["250"].status) == "ARCHIVED"
    rates = {t.tax_type: t for t in api.get_tax_rates(sb.tenant_id).tax_rates}
    assert rates["OUTPUT"].effective_rate == Decimal("10") and rates["EXEMPTOUTPUT"].effective_rate == 0
    revenue = api.get_accounts(sb.tenant_id, where='Type=="REVENUE" AND Status=="ACTIVE"').accounts
    assert {a.code for a in revenue} == {"200", "205", "210", "215", "260", "270"}


def test_create_invoice_numbers_and_reads_back(sb: XeroSandbox, api: AccountingApi) -> None:
    created = api.create_invoices(
        sb.tenant_id,
        Invoices(
            invoices=[
                draft(HARBOUR_ID, line("Labour", "2.5", "88.00", "205")),
                draft(HARBOUR_ID, line("Pipe", "3", "12.40", "210"), reference="JOB-2"),
            ]
        ),
        summarize_errors="false",
    ).invoices
    assert [i.invoice_number for i in created] == ["INV-0001", "INV-0002"]
    assert [i.status_attribute_string for i in created] == ["OK", "OK"]
    first = api.get_invoice(sb.tenant_id, created[0].invoice_id).invoices[0]
    assert (first.sub_total, first.total_tax, first.total) == (Decimal("220.00"), Decimal("22.00"), Decimal("242.00"))
    assert first.contact.name == "Harbour View Cafe Pty Ltd" and first.line_items[0].account_code == "205"
    assert first.date == date(2026, 3, 2) and ev(first.status) == "DRAFT" and ev(first.currency_code) == "AUD"
    assert first.amount_due == Decimal("242.00")
    assert len(sb.invoices()) == 2


def test_xero_documented_rounding_example(sb: XeroSandbox, api: AccountingApi) -> None:
    rate = requests.put(
        f"{sb.api_url}/TaxRates",
        headers=auth(sb),
        json={"TaxRates": [{"Name": "Fifteen", "TaxComponents": [{"Name": "GST", "Rate": 15}]}]},
    ).json()["TaxRates"][0]
    lines = [line("a", "1", unit, tax=rate["TaxType"]) for unit in ("25.06", "25.61", "25.63")]
    inv = api.create_invoices(sb.tenant_id, Invoices(invoices=[draft(HARBOUR_ID, *lines)])).invoices[0]
    assert (inv.sub_total, inv.total_tax, inv.total) == (Decimal("76.30"), Decimal("11.44"), Decimal("87.74"))
    assert [li.tax_amount for li in inv.line_items] == [Decimal("3.76"), Decimal("3.84"), Decimal("3.84")]


def test_discounts_decimal_quantities_and_four_dp_units(sb: XeroSandbox, api: AccountingApi) -> None:
    lines = [
        line("Discounted", "3", "19.99", discount_rate=Decimal("12.5")),  # 59.97 * 0.875 = 52.47375 -> 52.47
        line("Hours", "1.75", "96.50", "205"),  # 168.875 -> 168.88 (half away from zero)
        line("Fixed off", "2", "45.00", discount_amount=Decimal("5.55")),  # 90 - 5.55 = 84.45
        line("Wire", "7", "0.1648", "210"),  # 1.1536 -> 1.15 with unitdp=4
    ]
    inv = api.create_invoices(sb.tenant_id, Invoices(invoices=[draft(HARBOUR_ID, *lines)]), unitdp=4).invoices[0]
    amounts = [li.line_amount for li in inv.line_items]
    assert amounts == [Decimal("52.47"), Decimal("168.88"), Decimal("84.45"), Decimal("1.15")]
    taxes = [li.tax_amount for li in inv.line_items]
    assert taxes == [Decimal("5.25"), Decimal("16.89"), Decimal("8.45"), Decimal("0.12")]  # 5.247 16.888 8.445
    assert (inv.sub_total, inv.total_tax, inv.total) == (Decimal("306.95"), Decimal("30.71"), Decimal("337.66"))
    assert inv.line_items[3].unit_amount == Decimal("0.1648")
    two_dp = api.get_invoice(sb.tenant_id, inv.invoice_id).invoices[0]
    assert two_dp.line_items[3].unit_amount == Decimal("0.16")


def test_unitdp_two_rounds_unit_price_before_multiplying(sb: XeroSandbox, api: AccountingApi) -> None:
    inv = api.create_invoices(
        sb.tenant_id, Invoices(invoices=[draft(HARBOUR_ID, line("Wire", "100", "0.1648", "210"))])
    ).invoices[0]
    assert inv.line_items[0].unit_amount == Decimal("0.16") and inv.line_items[0].line_amount == Decimal("16.00")


def test_inclusive_and_no_tax(sb: XeroSandbox, api: AccountingApi) -> None:
    inclusive = draft(
        HARBOUR_ID, line("a", "1", "110.00"), line("b", "1", "10.01"), line_amount_types=LineAmountTypes.INCLUSIVE
    )
    notax = draft(HARBOUR_ID, line("a", "1", "110.00"), line_amount_types=LineAmountTypes.NOTAX, reference="JOB-9")
    a, b = api.create_invoices(sb.tenant_id, Invoices(invoices=[inclusive, notax])).invoices
    # 110 * 10/110 = 10.00; 10.01 * 10/110 = 0.91; subtotal = (110-10) + (10.01-0.91)
    assert (a.sub_total, a.total_tax, a.total) == (Decimal("109.10"), Decimal("10.91"), Decimal("120.01"))
    assert (b.sub_total, b.total_tax, b.total) == (Decimal("110.00"), Decimal("0.00"), Decimal("110.00"))


def test_summarize_errors_false_reports_each_element(sb: XeroSandbox, api: AccountingApi) -> None:
    batch = Invoices(
        invoices=[
            draft(HARBOUR_ID, line("ok", "1", "10")),
            draft(HARBOUR_ID, line("bad account", "1", "10", "250"), reference="JOB-2"),
            draft(HARBOUR_ID, line("bad tax", "1", "10", tax="GST15"), reference="JOB-3"),
            draft(OLD_CLIENT_ID, line("archived", "1", "10"), reference="JOB-4"),
            draft("0b0b0b0b-0000-4000-8000-000000000000", line("unknown", "1", "10"), reference="JOB-5"),
        ]
    )
    out = api.create_invoices(sb.tenant_id, batch, summarize_errors="false").invoices
    assert [i.status_attribute_string for i in out] == ["OK", "ERROR", "ERROR", "ERROR", "ERROR"]
    assert [i.has_errors for i in out] == [False, True, True, True, True]
    assert out[1].validation_errors[0].message == "Account code '250' is not a valid code for this document."
    assert out[2].validation_errors[0].message == (
        "The TaxType code GST15 does not exist or cannot be used for this type of transaction."
    )
    assert "archived" in out[3].validation_errors[0].message
    assert len(sb.invoices()) == 1


def test_summarized_errors_answer_400_validation_exception(sb: XeroSandbox, api: AccountingApi) -> None:
    with pytest.raises(AccountingBadRequestException) as caught:
        api.create_invoices(
            sb.tenant_id, Invoices(invoices=[draft(HARBOUR_ID, line("x", "1", "10", "999"), status="AUTHORISED")])
        )
    data = caught.value.error_data
    assert (data["ErrorNumber"], data["Type"], data["Message"]) == (
        10,
        "ValidationException",
        "A validation exception occurred",
    )
    assert data["Elements"][0]["Reference"] == "JOB-1"
    assert data["Elements"][0]["ValidationErrors"][0]["Message"] == (
        "Account code '999' is not a valid code for this document."
    )
    assert sb.invoices() == []


def test_authorised_needs_due_date_and_status_rules(sb: XeroSandbox, api: AccountingApi) -> None:
    no_due = invoice(
        type="ACCREC",
        contact=Contact(contact_id=HARBOUR_ID),
        status="AUTHORISED",
        line_items=[line("x", "1", "10")],
        date=date(2026, 3, 2),
    )
    out = api.create_invoices(sb.tenant_id, Invoices(invoices=[no_due]), summarize_errors="false").invoices[0]
    assert out.has_errors and "Due Date" in out.validation_errors[0].message
    inv = api.create_invoices(sb.tenant_id, Invoices(invoices=[draft(HARBOUR_ID, line("x", "1", "10"))])).invoices[0]
    deleted = api.update_invoice(sb.tenant_id, inv.invoice_id, Invoices(invoices=[invoice(status="DELETED")])).invoices[
        0
    ]
    assert ev(deleted.status) == "DELETED" and deleted.total == Decimal("11.00")
    with pytest.raises(AccountingBadRequestException) as caught:
        api.update_invoice(sb.tenant_id, inv.invoice_id, Invoices(invoices=[invoice(status="AUTHORISED")]))
    assert caught.value.reason == "Invoice not of valid status for modification"


def test_contact_by_name_reuses_or_creates(sb: XeroSandbox, api: AccountingApi) -> None:
    by_name = invoice(
        type="ACCREC", contact=Contact(name="greenleaf property management"), line_items=[line("x", "1", "10")]
    )
    new_name = invoice(type="ACCREC", contact=Contact(name="Brand New Pty Ltd"), line_items=[line("x", "1", "10")])
    a, b = api.create_invoices(sb.tenant_id, Invoices(invoices=[by_name, new_name])).invoices
    assert a.contact.contact_id == "c0a7c7e0-0000-4000-8000-000000000002"
    assert b.contact.name == "Brand New Pty Ltd" and len(sb.contacts()) == 6


def test_contacts_unique_names_archive_and_filters(sb: XeroSandbox, api: AccountingApi) -> None:
    with pytest.raises(AccountingBadRequestException) as caught:
        api.create_contacts(sb.tenant_id, Contacts(contacts=[Contact(name="John Smith")]))
    assert caught.value.reason == (
        "The contact name John Smith is already assigned to another contact. "
        "The contact name must be unique across all active contacts."
    )
    reused = api.create_contacts(sb.tenant_id, Contacts(contacts=[Contact(name="Old Client Ltd")])).contacts[0]
    assert ev(reused.contact_status) == "ACTIVE" and reused.contact_id != OLD_CLIENT_ID
    smiths = api.get_contacts(sb.tenant_id, where='EmailAddress=="OFFICE@smithfamily.example"').contacts
    assert sorted(c.name for c in smiths) == ["Jane Smith", "John Smith"]
    archived = api.update_contact(
        sb.tenant_id, HARBOUR_ID, Contacts(contacts=[Contact(contact_status="ARCHIVED")])
    ).contacts[0]
    assert ev(archived.contact_status) == "ARCHIVED"
    visible = {c.contact_id for c in api.get_contacts(sb.tenant_id).contacts}
    assert HARBOUR_ID not in visible
    everything = {c.contact_id for c in api.get_contacts(sb.tenant_id, include_archived="true").contacts}
    assert {HARBOUR_ID, OLD_CLIENT_ID} <= everything
    found = api.get_contacts(sb.tenant_id, search_term="greenLEAF").contacts
    assert [c.name for c in found] == ["Greenleaf Property Management"]


def test_post_contacts_upserts_by_name(sb: XeroSandbox, api: AccountingApi) -> None:
    out = api.update_or_create_contacts(
        sb.tenant_id, Contacts(contacts=[Contact(name="Jane Smith", contact_number="csv:42")])
    ).contacts[0]
    assert out.contact_id == "c0a7c7e0-0000-4000-8000-000000000004" and out.contact_number == "csv:42"
    by_number = api.get_contacts(sb.tenant_id, where='ContactNumber=="csv:42"').contacts
    assert [c.name for c in by_number] == ["Jane Smith"]


def ev(value: object) -> object:
    """The SDK hands back enums; compare their wire values."""
    return getattr(value, "value", value)


def auth(sb: XeroSandbox, token: str = "sandbox") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "xero-tenant-id": sb.tenant_id, "Accept": "application/json"}
