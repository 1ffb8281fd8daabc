"""Sandbox behaviour jobsync's client leans on: TrackingCategories, summaryOnly, contact Balances,
MergedToContactID and an injected 400 in Xero's own shape. Every exchange here is also checked
against Xero's OpenAPI spec by the suite's conftest."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import requests
from xero_python.accounting import AccountingApi
from xero_python.api_client import ApiClient
from xero_python.api_client.configuration import Configuration
from xero_python.api_client.oauth2 import OAuth2Token
from xero_python.exceptions import AccountingBadRequestException

from jobsync.sandbox.xero import contacts as xero_contacts
from jobsync.sandbox.xero.server import XeroSandbox

HARBOUR_ID = "c0a7c7e0-0000-4000-8000-000000000001"
NOW = datetime(2026, 3, 20, 1, 0, tzinfo=UTC)  # 20 March in the org's (AEST) calendar


@pytest.fixture()
def sb() -> Iterator[XeroSandbox]:
    with XeroSandbox(clock=lambda: NOW) as sandbox:
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


def get(sb: XeroSandbox, path: str, **params: str) -> Any:
    headers = {"Authorization": "Bearer sandbox", "xero-tenant-id": sb.tenant_id, "Accept": "application/json"}
    answer = requests.get(sb.api_url + path, params=params, headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def put_invoice(sb: XeroSandbox, contact_id: str, status: str, due: str, amount: str) -> dict[str, Any]:
    headers = {"Authorization": "Bearer sandbox", "xero-tenant-id": sb.tenant_id, "Accept": "application/json"}
    body = {
        "Invoices": [
            {
                "Type": "ACCREC",
                "Contact": {"ContactID": contact_id},
                "Date": "2026-03-01",
                "DueDate": due,
                "Status": status,
                "LineAmountTypes": "Exclusive",
                "LineItems": [
                    {
                        "Description": "Service",
                        "Quantity": 1,
                        "UnitAmount": float(amount),
                        "AccountCode": "200",
                        "TaxType": "EXEMPTOUTPUT",
                    }
                ],
            }
        ]
    }
    answer = requests.put(sb.api_url + "/Invoices", json=body, headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["Invoices"][0]


def test_tracking_categories_hide_archived_unless_asked(sb: XeroSandbox, api: AccountingApi) -> None:
    active = api.get_tracking_categories(sb.tenant_id).tracking_categories
    assert {c.name: [o.name for o in c.options] for c in active} == {
        "Region": ["North", "South"],
        "Crew": ["Blue", "Red"],
    }
    everything = api.get_tracking_categories(sb.tenant_id, include_archived=True).tracking_categories
    shown = {c.name: sorted(o.name for o in c.options) for c in everything}
    assert shown == {"Region": ["North", "South"], "Crew": ["Blue", "Green", "Red"], "Department": ["Service"]}


def test_tracking_categories_filter_and_fetch_by_id(sb: XeroSandbox) -> None:
    region = get(sb, "/TrackingCategories", where='Name=="Region"')["TrackingCategories"]
    assert [c["Name"] for c in region] == ["Region"]
    one = get(sb, f"/TrackingCategories/{region[0]['TrackingCategoryID']}")["TrackingCategories"]
    assert [o["Name"] for o in one[0]["Options"]] == ["North", "South"]


def test_summary_only_invoices_carry_no_line_items_even_paged(sb: XeroSandbox) -> None:
    put_invoice(sb, HARBOUR_ID, "DRAFT", "2026-03-31", "100.00")
    paged = get(sb, "/Invoices", page="1")["Invoices"]
    assert len(paged[0]["LineItems"]) == 1
    summary = get(sb, "/Invoices", page="1", summaryOnly="true")["Invoices"]
    assert len(summary) == 1 and "LineItems" not in summary[0]
    assert Decimal(str(summary[0]["Total"])) == Decimal("100.00")


def test_balances_count_authorised_amount_due_and_overdue_by_the_org_calendar(sb: XeroSandbox) -> None:
    put_invoice(sb, HARBOUR_ID, "AUTHORISED", "2026-03-19", "100.00")  # due yesterday: overdue
    put_invoice(sb, HARBOUR_ID, "AUTHORISED", "2026-03-20", "40.00")  # due today: not yet overdue
    put_invoice(sb, HARBOUR_ID, "DRAFT", "2026-03-01", "999.00")  # drafts owe nothing
    one = get(sb, f"/Contacts/{HARBOUR_ID}")["Contacts"][0]["Balances"]
    assert Decimal(str(one["AccountsReceivable"]["Outstanding"])) == Decimal("140.00")
    assert Decimal(str(one["AccountsReceivable"]["Overdue"])) == Decimal("100.00")
    assert Decimal(str(one["AccountsPayable"]["Outstanding"])) == 0
    paged = {c["ContactID"]: c for c in get(sb, "/Contacts", page="1")["Contacts"]}
    assert paged[HARBOUR_ID]["Balances"] == one
    # Unpaged and summaryOnly lists leave the computed field out.
    assert all("Balances" not in c for c in get(sb, "/Contacts")["Contacts"])
    assert all("Balances" not in c for c in get(sb, "/Contacts", page="1", summaryOnly="true")["Contacts"])


def test_a_merged_contact_points_at_its_survivor_where_xero_shows_it(sb: XeroSandbox) -> None:
    others = [c["ContactID"] for c in sb.contacts() if c["ContactID"] != HARBOUR_ID]
    source = others[0]
    moved = put_invoice(sb, source, "AUTHORISED", "2026-03-31", "10.00")
    with sb.lock:
        xero_contacts.merge(sb.state, source, HARBOUR_ID, NOW)
    fetched = get(sb, f"/Contacts/{source}")["Contacts"][0]
    assert (fetched["ContactStatus"], fetched["MergedToContactID"]) == ("ARCHIVED", HARBOUR_ID)
    paged = get(sb, "/Contacts", page="1", includeArchived="true")["Contacts"]
    assert next(c for c in paged if c["ContactID"] == source)["MergedToContactID"] == HARBOUR_ID
    unpaged = get(sb, "/Contacts", includeArchived="true")["Contacts"]
    assert "MergedToContactID" not in next(c for c in unpaged if c["ContactID"] == source)
    invoice = get(sb, f"/Invoices/{moved['InvoiceID']}")["Invoices"][0]
    assert invoice["Contact"]["ContactID"] == HARBOUR_ID  # the merge takes the invoices along


def test_an_injected_400_is_a_validation_exception_the_sdk_can_read(sb: XeroSandbox, api: AccountingApi) -> None:
    sb.faults.fail_next("GET", "/api.xro/2.0/Invoices", status=400)
    with pytest.raises(AccountingBadRequestException) as caught:
        api.get_invoices(sb.tenant_id)
    data = caught.value.error_data
    assert (data["ErrorNumber"], data["Type"]) == (10, "ValidationException")
    assert data["Elements"][0]["ValidationErrors"][0]["Message"] == "Injected fault"
    assert api.get_invoices(sb.tenant_id).invoices == []  # one request only
