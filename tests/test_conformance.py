"""The spec validator catches what it must, passes what it should, and is wired into the suite."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from typing import Any

from conformance import EXEMPT, json_exchange, validate_exchange

INVOICES = "/api.xro/2.0/Invoices"
CONTACT_ID = "6d037c2c-4ca1-4c1b-a1a3-4c4f5ad0d0a1"
INVOICE_ID = "2f6c8e8a-0b59-4a4e-9a7e-0d6d9b3a1c11"


def _invoice(**overrides: Any) -> dict[str, Any]:
    invoice = {
        "Type": "ACCREC",
        "InvoiceID": INVOICE_ID,
        "InvoiceNumber": "INV-0001",
        "Reference": "JOB-1001",
        "Status": "DRAFT",
        "Contact": {"ContactID": CONTACT_ID, "Name": "Acme Plumbing"},
        "Date": "/Date(1767225600000+0000)/",
        "LineItems": [
            {
                "Description": "Labour",
                "Quantity": 2,
                "UnitAmount": 90.0,
                "AccountCode": "200",
                "TaxType": "OUTPUT",
                "LineAmount": 180.0,
                "TaxAmount": 18.0,
            }
        ],
        "SubTotal": 180.0,
        "TotalTax": 18.0,
        "Total": 198.0,
    }
    invoice.update(overrides)
    return invoice


def _create_request() -> dict[str, Any]:
    return {
        "Invoices": [
            {
                "Type": "ACCREC",
                "Contact": {"ContactID": CONTACT_ID},
                "Reference": "JOB-1001",
                "Date": "2026-01-01",
                "Status": "DRAFT",
                "LineItems": [
                    {
                        "Description": "Labour",
                        "Quantity": 2,
                        "UnitAmount": 90.0,
                        "AccountCode": "200",
                        "TaxType": "OUTPUT",
                    }
                ],
            }
        ]
    }


def _envelope(**collections: Any) -> dict[str, Any]:
    return {
        "Id": "a6b5c4d3-0000-4000-8000-000000000001",
        "Status": "OK",
        "ProviderName": "jobsync",
        "DateTimeUTC": "/Date(1767225600000)/",
        **collections,
    }


def test_malformed_request_body_is_caught() -> None:
    ex = json_exchange(
        "PUT",
        INVOICES,
        query="summarizeErrors=false",
        request={"Invoices": "notalist"},
        response=_envelope(Invoices=[_invoice()]),
    )
    violations = validate_exchange(ex)
    assert len(violations) == 1
    assert violations[0].startswith("PUT /api.xro/2.0/Invoices -> 200: request:")
    assert "at Invoices: 'notalist' is not of type 'array'" in violations[0]


def test_malformed_response_is_caught_with_each_bad_field() -> None:
    bad = _invoice(Total="abc", Status="FINISHED")
    violations = validate_exchange(json_exchange("GET", INVOICES, response=_envelope(Invoices=[bad])))
    assert len(violations) == 1
    assert "response:" in violations[0]
    assert "at Invoices/0/Total: 'abc' is not of type 'number'" in violations[0]
    assert "at Invoices/0/Status: 'FINISHED' is not one of" in violations[0]


def test_well_formed_create_and_read_pass() -> None:
    create = json_exchange(
        "PUT",
        INVOICES,
        query="summarizeErrors=false&unitdp=4",
        request=_create_request(),
        response=_envelope(Invoices=[_invoice()]),
        headers={"Idempotency-Key": "k" * 64},
    )
    read = json_exchange(
        "GET",
        INVOICES,
        query="page=1&pageSize=100&Statuses=DRAFT,AUTHORISED",
        response=_envelope(Invoices=[_invoice()]),
    )
    assert validate_exchange(create) == []
    assert validate_exchange(read) == []


def test_bad_query_parameter_is_caught() -> None:
    ex = json_exchange("GET", INVOICES, query="page=first", response=_envelope(Invoices=[]))
    assert any("page" in v and "integer" in v for v in validate_exchange(ex))


def test_missing_tenant_header_is_caught() -> None:
    ex = json_exchange("GET", INVOICES, response=_envelope(Invoices=[]))
    del ex.headers["xero-tenant-id"]
    assert any("xero-tenant-id" in v for v in validate_exchange(ex))


def test_oauth2_needs_a_bearer_token() -> None:
    ok = json_exchange("GET", INVOICES, response=_envelope(Invoices=[]))
    missing = json_exchange("GET", INVOICES, response=_envelope(Invoices=[]), headers={"Authorization": ""})
    basic = json_exchange(
        "GET", INVOICES, response=_envelope(Invoices=[]), headers={"Authorization": "Basic c2FuZGJveA=="}
    )
    assert validate_exchange(ok) == []
    assert any("Security" in v for v in validate_exchange(missing))
    assert any("Security" in v for v in validate_exchange(basic))


def test_unauthenticated_request_refused_with_401_is_not_a_violation() -> None:
    ex = json_exchange("GET", INVOICES, status=401, headers={"Authorization": ""}, response={"Title": "Unauthorized"})
    assert validate_exchange(ex) == []


def test_undeclared_status_is_exempt_only_when_listed() -> None:
    assert 429 in EXEMPT["undeclared_statuses"]
    throttled = json_exchange("GET", INVOICES, status=429, response={"Message": "slow down"})
    teapot = json_exchange("GET", INVOICES, status=418, response={})
    assert validate_exchange(throttled) == []
    assert validate_exchange(teapot) == [
        "GET /api.xro/2.0/Invoices -> 418: response: status 418 is not declared for this operation"
    ]


def test_declared_400_is_still_validated() -> None:
    # PUT /Invoices declares 400 with Xero's Error schema, so a malformed error body is caught.
    good = {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": [{"ValidationErrors": [{"Message": "Invoice # must be unique."}]}],
    }
    bad = {**good, "ErrorNumber": "ten"}
    assert validate_exchange(json_exchange("PUT", INVOICES, request=_create_request(), status=400, response=good)) == []
    assert validate_exchange(json_exchange("PUT", INVOICES, request=_create_request(), status=400, response=bad)) != []


def test_paths_outside_the_spec_are_exempt() -> None:
    for path in ("/connections", "/connect/token", "/identity/connect/authorize"):
        assert validate_exchange(json_exchange("GET", path, response={"anything": ["goes"]})) == []


def test_route_the_spec_lacks_is_a_violation_unless_refused() -> None:
    served = json_exchange("GET", "/api.xro/2.0/Widgets", response={"Widgets": []})
    refused = json_exchange("GET", "/api.xro/2.0/Widgets", status=404, response={})
    assert any("route not in the spec" in v for v in validate_exchange(served))
    assert validate_exchange(refused) == []


def test_check_request_false_still_checks_the_response() -> None:
    ex = json_exchange(
        "PUT", INVOICES, request={"Invoices": "notalist"}, response=_envelope(Invoices=[_invoice(Total="abc")])
    )
    violations = validate_exchange(ex, check_request=False)
    assert len(violations) == 1 and "response:" in violations[0]


def test_violations_are_charged_to_the_running_test(conformance_log: Any, conformance_recorder: Any) -> None:
    conformance_recorder.observe(
        json_exchange("PUT", INVOICES, request={"Invoices": "notalist"}, response=_envelope(Invoices=[_invoice()]))
    )
    assert conformance_log.exchanges == 1
    assert len(conformance_log.violations) == 1
    # Cleared so this test passes; left in place, teardown would fail it with the listing.
    conformance_log.violations.clear()


def _sdk_client() -> Any:
    """xero-python's ApiClient with the sandbox's fixed token and urllib3's retries off."""
    from xero_python.api_client import ApiClient
    from xero_python.api_client.configuration import Configuration
    from xero_python.api_client.oauth2 import OAuth2Token

    def token() -> dict[str, Any]:
        return {
            "access_token": "sandbox",
            "token_type": "Bearer",
            "expires_in": 1800,
            "expires_at": time.time() + 1800,
            "scope": ["accounting.transactions"],
        }

    config = Configuration(oauth2_token=OAuth2Token(client_id="conformance", client_secret="unused"))
    api_client = ApiClient(config, pool_threads=1, oauth2_token_getter=token)
    api_client.rest_client.pool_manager.connection_pool_kw["retries"] = False
    return api_client


def _sdk(sandbox: Any) -> Any:
    from xero_python.accounting import AccountingApi

    return AccountingApi(_sdk_client(), base_url=sandbox.api_url)


def _wait_for(condition: Any, timeout: float = 2.0) -> None:
    # The sandbox reports an exchange just after answering it, so the client can be ahead.
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_sdk_invoice_models_write_a_read_only_field() -> None:
    """Why jobsync sends its own JSON bodies: xero-python's `Invoice` model always serialises
    `HasAttachments: false`, a property the spec marks readOnly, so the validator flags it."""
    from xero_python.accounting import Contact, Invoice, Invoices
    from xero_python.api_client.serializer import serialize  # what ApiClient.call_api sends

    body = serialize(Invoices(invoices=[Invoice(type="ACCREC", contact=Contact(contact_id=CONTACT_ID))]))
    assert body["Invoices"][0]["HasAttachments"] is False
    violations = validate_exchange(
        json_exchange("PUT", INVOICES, request=body, response=_envelope(Invoices=[_invoice()]))
    )
    assert len(violations) == 1
    assert "at Invoices/0/HasAttachments: Tried to write read-only property" in violations[0]


def test_real_sdk_calls_through_the_sandbox_conform(xero_sandbox: Any, conformance_log: Any) -> None:
    from xero_python.accounting import Contact, Contacts

    api = _sdk(xero_sandbox)
    tenant = xero_sandbox.tenant_id
    api.get_organisations(tenant)
    assert any(a.code == "200" for a in api.get_accounts(tenant).accounts)
    api.get_tax_rates(tenant)
    api.get_contacts(tenant, where='Name=="Jane Smith"', page=1)
    made = api.create_contacts(
        tenant,
        Contacts(contacts=[Contact(name="Conformance Test Pty Ltd")]),
        summarize_errors="false",
        idempotency_key="conformance-contact-1",
    )
    contact_id = made.contacts[0].contact_id
    # A plain dict body, as jobsync sends: the SDK's Invoice model adds a read-only field (above).
    invoice = {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact_id},
        "Reference": "CONF-1",
        "Date": "2026-01-05",
        "DueDate": "2026-01-19",
        "Status": "DRAFT",
        "LineItems": [
            {"Description": "Labour", "Quantity": 1.5, "UnitAmount": 90.1234, "AccountCode": "200", "TaxType": "OUTPUT"}
        ],
    }
    created = api.create_invoices(
        tenant, {"Invoices": [invoice]}, summarize_errors="false", unitdp=4, idempotency_key="conformance-invoice-1"
    )
    assert created.invoices[0].status_attribute_string == "OK"
    api.get_invoices(tenant, statuses=["DRAFT"], page=1, page_size=100, unitdp=4)
    api.get_invoice(tenant, created.invoices[0].invoice_id)
    _wait_for(lambda: conformance_log.exchanges >= 8)
    assert conformance_log.exchanges == 8
    assert conformance_log.violations == []


def test_sandbox_keeps_the_tests_own_on_exchange(conformance_log: Any) -> None:
    from jobsync.sandbox.xero.server import XeroSandbox

    seen: list[Any] = []
    with XeroSandbox(port=0, on_exchange=seen.append) as sandbox:
        _sdk(sandbox).get_organisations(sandbox.tenant_id)
    _wait_for(lambda: conformance_log.exchanges >= 1)
    assert [(e.method, e.status) for e in seen] == [("GET", 200)]
    assert conformance_log.exchanges == 1


def test_a_bad_request_to_a_real_sandbox_is_charged_to_this_test(xero_sandbox: Any, conformance_log: Any) -> None:
    request = urllib.request.Request(
        xero_sandbox.api_url + "/Invoices?summarizeErrors=false",
        data=b'{"Invoices": "notalist"}',
        method="PUT",
        headers={
            "Authorization": "Bearer sandbox",
            "xero-tenant-id": xero_sandbox.tenant_id,
            "Content-Type": "application/json",
            "Accept": "application/json",
        },
    )
    try:
        urllib.request.urlopen(request, timeout=5).close()
    except urllib.error.HTTPError as refused:  # the sandbox may well refuse it; either way it is seen
        refused.close()
    _wait_for(lambda: conformance_log.exchanges >= 1)
    assert conformance_log.exchanges == 1
    assert any("'notalist' is not of type 'array'" in v for v in conformance_log.violations)
    # Cleared so this test passes; left in place, teardown would fail it with the listing.
    conformance_log.violations.clear()
