"""Sandbox auth, token endpoint, where/paging, idempotency, rate limits and faults over raw HTTP."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import requests
from oauth_support import FakeClock

from jobsync.sandbox.xero.server import RateLimits, XeroSandbox
from jobsync.sandbox.xero.where import WhereError, compile_where

HARBOUR_ID = "c0a7c7e0-0000-4000-8000-000000000001"
GREENLEAF_ID = "c0a7c7e0-0000-4000-8000-000000000002"


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture()
def sb(clock: FakeClock) -> Iterator[XeroSandbox]:
    with XeroSandbox(clock=clock) as sandbox:
        yield sandbox


def hdrs(sb: XeroSandbox, token: str | None = "sandbox", tenant: str | None = None, **extra: str) -> dict:
    out = {"Accept": "application/json", "xero-tenant-id": tenant or sb.tenant_id, **extra}
    if token is not None:
        out["Authorization"] = f"Bearer {token}"
    return out


def body(payload: object) -> bytes:
    return json.dumps(payload).encode()


def put_invoice(
    sb: XeroSandbox, reference: str, contact_id: str = HARBOUR_ID, key: str | None = None, amount: str = "10.00"
) -> requests.Response:
    extra = {"Idempotency-Key": key} if key else {}
    invoice = {
        "Type": "ACCREC",
        "Contact": {"ContactID": contact_id},
        "Reference": reference,
        "Date": "2026-03-02",
        "DueDate": "2026-03-16",
        "Status": "DRAFT",
        "LineItems": [
            {
                "Description": "Work",
                "Quantity": 1,
                "UnitAmount": float(amount),
                "AccountCode": "200",
                "TaxType": "OUTPUT",
            }
        ],
    }
    return requests.put(
        f"{sb.api_url}/Invoices",
        params={"summarizeErrors": "false"},
        data=body({"Invoices": [invoice]}),
        headers={**hdrs(sb, **extra), "Content-Type": "application/json"},
    )


# -- auth ---------------------------------------------------------------------------------------


def test_missing_unknown_and_expired_tokens_are_401(sb: XeroSandbox, clock: FakeClock) -> None:
    missing = requests.get(f"{sb.api_url}/Organisation", headers=hdrs(sb, token=None))
    unknown = requests.get(f"{sb.api_url}/Organisation", headers=hdrs(sb, token="nope"))
    for answer in (missing, unknown):
        assert answer.status_code == 401
        assert answer.json()["Title"] == "Unauthorized" and answer.json()["Detail"] == "AuthenticationUnsuccessful"
    sb.add_client("app", "s3cret")
    basic = base64.b64encode(b"app:s3cret").decode()
    token = requests.post(
        f"{sb.identity_url}/connect/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    ).json()
    assert token["expires_in"] == 1800 and token["token_type"] == "Bearer"
    ok = requests.get(f"{sb.api_url}/Organisation", headers=hdrs(sb, token=token["access_token"]))
    assert ok.status_code == 200 and ok.json()["Organisations"][0]["Name"] == "Demo Trades Co (Sandbox)"
    clock.advance(1801)
    expired = requests.get(f"{sb.api_url}/Organisation", headers=hdrs(sb, token=token["access_token"]))
    assert expired.status_code == 401
    still = requests.get(f"{sb.api_url}/Organisation", headers=hdrs(sb))
    assert still.status_code == 200


def test_foreign_tenant_is_403(sb: XeroSandbox) -> None:
    answer = requests.get(f"{sb.api_url}/Invoices", headers=hdrs(sb, tenant="11111111-2222-3333-4444-555555555555"))
    assert answer.status_code == 403
    assert answer.json()["Title"] == "Forbidden" and answer.json()["Status"] == 403


def test_token_endpoint_rejects_bad_clients_and_refreshes(sb: XeroSandbox) -> None:
    sb.add_client("app", "s3cret")
    bad = requests.post(
        f"{sb.url}/connect/token",
        data={"grant_type": "client_credentials", "client_id": "app", "client_secret": "wrong"},
    )
    assert bad.status_code == 400 and bad.json() == {"error": "invalid_client"}
    first = requests.post(
        f"{sb.url}/connect/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "app",
            "client_secret": "s3cret",
            "scope": "accounting.transactions offline_access",
        },
    ).json()
    refreshed = requests.post(
        f"{sb.url}/connect/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "client_id": "app",
            "client_secret": "s3cret",
        },
    ).json()
    assert refreshed["refresh_token"] != first["refresh_token"] and refreshed["access_token"]
    bogus = requests.post(
        f"{sb.url}/connect/token",
        data={"grant_type": "refresh_token", "refresh_token": "zzz", "client_id": "app", "client_secret": "s3cret"},
    )
    assert bogus.status_code == 400 and bogus.json() == {"error": "invalid_grant"}


def test_connections_lists_the_demo_tenant(sb: XeroSandbox) -> None:
    rows = requests.get(f"{sb.url}/connections", headers={"Authorization": "Bearer sandbox"}).json()
    assert [(r["tenantId"], r["tenantType"]) for r in rows] == [(sb.tenant_id, "ORGANISATION")]
    assert requests.get(f"{sb.url}/connections").status_code == 401


# -- where, paging ------------------------------------------------------------------------------


def test_where_parser_handles_xero_syntax() -> None:
    row = {
        "Type": "ACCREC",
        "Status": "DRAFT",
        "Reference": "JOB-12",
        "Total": Decimal("11.00"),
        "Date": "/Date(1772409600000+0000)/",
        "Contact": {"ContactID": HARBOUR_ID, "ContactNumber": None},
    }
    assert compile_where('Type=="ACCREC" AND Status=="draft"')(row)
    assert compile_where(f'Contact.ContactID=guid("{HARBOUR_ID.upper()}")')(row)
    assert compile_where('(Status=="PAID" || Reference.StartsWith("job-")) && Total>=11')(row)
    assert compile_where("Date>=DateTime(2026,03,02) AND Date<DateTime(2026,03,03)")(row)
    assert compile_where("Contact.ContactNumber==null")(row)
    assert not compile_where('Reference.EndsWith("3") OR Reference.Contains("X")')(row)
    assert not compile_where('Status!="DRAFT"')(row)
    for broken in ('Status=="DRAFT" AND', 'Status=="DRAFT"))', "Status==", 'Nope=="x"'):
        with pytest.raises(WhereError):
            compile_where(broken, frozenset({"status"}))


def test_malformed_where_is_400(sb: XeroSandbox) -> None:
    answer = requests.get(f"{sb.api_url}/Invoices", params={"where": 'Status=="DRAFT" AND'}, headers=hdrs(sb))
    assert answer.status_code == 400 and answer.json()["Type"] == "QueryParseException"


def test_paging_statuses_and_line_items(sb: XeroSandbox) -> None:
    for n in range(5):
        assert put_invoice(sb, f"JOB-{n}").status_code == 200
    page = requests.get(f"{sb.api_url}/Invoices", params={"page": 2, "pageSize": 2}, headers=hdrs(sb)).json()
    assert page["pagination"] == {"page": 2, "pageSize": 2, "pageCount": 3, "itemCount": 5}
    assert [i["Reference"] for i in page["Invoices"]] == ["JOB-2", "JOB-3"]
    assert page["Invoices"][0]["LineItems"][0]["LineAmount"] == 10.0
    unpaged = requests.get(f"{sb.api_url}/Invoices", params={"Statuses": "DRAFT,AUTHORISED"}, headers=hdrs(sb))
    assert len(unpaged.json()["Invoices"]) == 5 and "LineItems" not in unpaged.json()["Invoices"][0]
    huge = requests.get(f"{sb.api_url}/Contacts", params={"page": 1, "pageSize": 5000}, headers=hdrs(sb)).json()
    assert huge["pagination"]["pageSize"] == 1000 and huge["pagination"]["itemCount"] == 4
    by_ref = requests.get(f"{sb.api_url}/Invoices", params={"where": 'Reference=="job-3"'}, headers=hdrs(sb))
    assert [i["Reference"] for i in by_ref.json()["Invoices"]] == ["JOB-3"]


def test_envelope_and_dates_look_like_xero(sb: XeroSandbox) -> None:
    created = put_invoice(sb, "JOB-1").json()
    assert created["Status"] == "OK" and created["DateTimeUTC"].startswith("/Date(")
    invoice = created["Invoices"][0]
    assert invoice["Date"] == "/Date(1772409600000+0000)/" and invoice["InvoiceNumber"] == "INV-0001"
    assert invoice["UpdatedDateUTC"].endswith("+0000)/") and invoice["HasErrors"] is False


# -- idempotency --------------------------------------------------------------------------------


def test_idempotent_replay_returns_cached_answer(sb: XeroSandbox, clock: FakeClock) -> None:
    first = put_invoice(sb, "JOB-1", key="k-1")
    again = put_invoice(sb, "JOB-1", key="k-1")
    assert again.status_code == first.status_code == 200 and again.content == first.content
    assert len(sb.invoices()) == 1
    different = put_invoice(sb, "JOB-1", key="k-1", amount="99.00")
    assert different.status_code == 400
    assert different.json()["Message"] == "Idempotency Key k-1 is used with a different request."
    clock.advance(361)
    later = put_invoice(sb, "JOB-1", key="k-1")
    assert later.status_code == 200 and len(sb.invoices()) == 2
    assert put_invoice(sb, "JOB-2", key="x" * 129).status_code == 400


def test_concurrent_duplicates_create_once(sb: XeroSandbox) -> None:
    answers: list[int] = []
    threads = [
        threading.Thread(target=lambda: answers.append(put_invoice(sb, "JOB-7", key="same").status_code))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200] * 4 and len(sb.invoices()) == 1


# -- rate limits and faults ---------------------------------------------------------------------


def test_minute_limit_429_with_retry_after(clock: FakeClock) -> None:
    with XeroSandbox(clock=clock, rate_limits=RateLimits(minute=3, day=100)) as sb:
        seen = [requests.get(f"{sb.api_url}/Organisation", headers=hdrs(sb)) for _ in range(4)]
        assert [r.status_code for r in seen] == [200, 200, 200, 429]
        assert [r.headers["X-MinLimit-Remaining"] for r in seen[:3]] == ["2", "1", "0"]
        assert seen[0].headers["X-DayLimit-Remaining"] == "99" and "X-AppMinLimit-Remaining" in seen[0].headers
        assert seen[3].headers["X-Rate-Limit-Problem"] == "minute" and int(seen[3].headers["Retry-After"]) == 60
        clock.advance(60)
        assert requests.get(f"{sb.api_url}/Organisation", headers=hdrs(sb)).status_code == 200


def test_day_limit(clock: FakeClock) -> None:
    with XeroSandbox(clock=clock, rate_limits=RateLimits(minute=100, day=2)) as sb:
        codes = [requests.get(f"{sb.api_url}/Accounts", headers=hdrs(sb)) for _ in range(3)]
        assert codes[2].status_code == 429 and codes[2].headers["X-Rate-Limit-Problem"] == "day"


def test_faults_fail_and_drop(sb: XeroSandbox) -> None:
    sb.faults.fail_next("GET", "/api.xro/2.0/Organisation", status=503)
    assert requests.get(f"{sb.api_url}/Organisation", headers=hdrs(sb)).status_code == 503
    assert requests.get(f"{sb.api_url}/Organisation", headers=hdrs(sb)).status_code == 200
    sb.faults.fail_next("PUT", "/api.xro/2.0/Invoices", status="drop_after")
    with pytest.raises(requests.ConnectionError):
        put_invoice(sb, "JOB-LOST")
    assert [i["Reference"] for i in sb.invoices()] == ["JOB-LOST"]  # committed, answer lost
    sb.faults.fail_next("PUT", "/api.xro/2.0/Invoices", status="drop")
    with pytest.raises(requests.ConnectionError):
        put_invoice(sb, "JOB-NEVER")
    assert len(sb.invoices()) == 1
    control = requests.post(
        f"{sb.url}/_sandbox/faults", json={"method": "GET", "path": "/connections", "status": 429, "count": 2}
    )
    assert control.status_code == 204
    storm = [requests.get(f"{sb.url}/connections", headers=hdrs(sb)).status_code for _ in range(3)]
    assert storm == [429, 429, 200]


def test_state_persists_in_data_dir(tmp_path) -> None:  # noqa: ANN001 - pytest fixture
    with XeroSandbox(data_dir=str(tmp_path)) as first:
        assert put_invoice(first, "JOB-KEEP").status_code == 200
    with XeroSandbox(data_dir=str(tmp_path)) as second:
        kept = second.invoices()
        assert [(i["Reference"], i["Total"]) for i in kept] == [("JOB-KEEP", Decimal("11.00"))]
        assert put_invoice(second, "JOB-NEXT").json()["Invoices"][0]["InvoiceNumber"] == "INV-0002"


def test_concurrent_limit(clock: FakeClock) -> None:
    with XeroSandbox(clock=clock, rate_limits=RateLimits(concurrent=1)) as sb:
        sb.faults.delay_next("GET", "/api.xro/2.0/Accounts", seconds=0.4)
        slow: list[int] = []
        worker = threading.Thread(
            target=lambda: slow.append(requests.get(f"{sb.api_url}/Accounts", headers=hdrs(sb)).status_code)
        )
        worker.start()
        deadline = datetime.now(UTC) + timedelta(seconds=0.3)
        while sb.limiter._in_flight.get(sb.tenant_id, 0) == 0 and datetime.now(UTC) < deadline:
            threading.Event().wait(0.01)
        blocked = requests.get(f"{sb.api_url}/Organisation", headers=hdrs(sb))
        worker.join()
        assert slow == [200] and blocked.status_code == 429
        assert blocked.headers["X-Rate-Limit-Problem"] == "concurrent"
