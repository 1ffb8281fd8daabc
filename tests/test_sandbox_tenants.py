"""The sandbox serves many organisations behind one app, as Xero does: each has its own data, its own
limits and its own connection, and the app's token reaches all of them."""

from __future__ import annotations

from pathlib import Path

import requests

from jobsync.sandbox.xero.server import RateLimits, XeroSandbox

CONTACT = {"Contacts": [{"Name": "Tenant Test Plumbing"}]}


def call(sb: XeroSandbox, tenant: str, method: str, path: str, body: object = None) -> requests.Response:
    headers = {"Authorization": "Bearer sandbox", "xero-tenant-id": tenant, "Accept": "application/json"}
    return requests.request(method, f"{sb.api_url}/{path}", headers=headers, json=body, timeout=10)


def test_each_organisation_keeps_its_own_data_under_one_token() -> None:
    with XeroSandbox() as sb:
        second = sb.add_org("Second Trades Pty Ltd")
        assert call(sb, second, "PUT", "Contacts", CONTACT).status_code == 200
        assert "Tenant Test Plumbing" in [c["Name"] for c in sb.contacts(second)]
        assert "Tenant Test Plumbing" not in [c["Name"] for c in sb.contacts()]
        names = {
            o["tenantId"]: o["tenantName"]
            for o in requests.get(
                f"{sb.url}/connections", headers={"Authorization": "Bearer sandbox"}, timeout=10
            ).json()
        }
        assert names[second] == "Second Trades Pty Ltd" and sb.tenant_id in names
        organisation = call(sb, second, "GET", "Organisation").json()["Organisations"][0]
        assert organisation["Name"] == "Second Trades Pty Ltd"
        assert call(sb, "00000000-0000-4000-8000-000000000000", "GET", "Contacts").status_code == 403


def test_one_organisation_at_its_limit_does_not_hold_back_another() -> None:
    with XeroSandbox(rate_limits=RateLimits(minute=3, day=100, concurrent=5)) as sb:
        busy, quiet = sb.add_org("Busy Electrical"), sb.add_org("Quiet Plumbing")
        statuses = [call(sb, busy, "GET", "Contacts").status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        assert call(sb, quiet, "GET", "Contacts").status_code == 200


def test_added_organisations_survive_a_restart(tmp_path: Path) -> None:
    with XeroSandbox(data_dir=str(tmp_path)) as sb:
        second = sb.add_org("Second Trades Pty Ltd")
        call(sb, second, "PUT", "Contacts", CONTACT)
    with XeroSandbox(data_dir=str(tmp_path)) as again:
        assert "Tenant Test Plumbing" in [c["Name"] for c in again.contacts(second)]
        assert call(again, second, "GET", "Contacts").status_code == 200


def test_one_idempotency_key_sent_for_two_organisations_is_two_requests() -> None:
    with XeroSandbox() as sb:
        second = sb.add_org("Second Trades Pty Ltd")
        for tenant in (sb.tenant_id, second):
            headers = {"Authorization": "Bearer sandbox", "xero-tenant-id": tenant, "Idempotency-Key": "same-key"}
            answer = requests.put(f"{sb.api_url}/Contacts", headers=headers, json=CONTACT, timeout=10)
            assert answer.status_code == 200
        assert "Tenant Test Plumbing" in [c["Name"] for c in sb.contacts(second)]
        assert "Tenant Test Plumbing" in [c["Name"] for c in sb.contacts()]
