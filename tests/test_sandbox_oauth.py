"""The sandbox's OAuth as Xero runs it: consent page checks, codes, rotation with grace, 60-day lapse."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
from oauth_support import CLIENT_ID, CLIENT_SECRET, FakeClock, free_port

from jobsync.sandbox.xero.auth import DEMO_CLIENT_ID, DEMO_REDIRECT_URI
from jobsync.sandbox.xero.server import XeroSandbox

REDIRECT = "http://localhost:8749/callback"
SCOPES = "offline_access accounting.invoices accounting.contacts accounting.settings.read"


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture()
def sb(clock: FakeClock) -> Iterator[XeroSandbox]:
    with XeroSandbox(clock=clock) as sandbox:
        sandbox.add_client(CLIENT_ID, CLIENT_SECRET, (REDIRECT,))
        yield sandbox


def authorize(sb: XeroSandbox, **overrides: str | None) -> requests.Response:
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT,
        "scope": SCOPES,
        "state": "st-123",
    }
    params.update(overrides)
    query = urlencode({k: v for k, v in params.items() if v is not None})
    return requests.get(f"{sb.url}/identity/connect/authorize?{query}", allow_redirects=False)


def redirected(answer: requests.Response) -> dict[str, str]:
    assert answer.status_code == 302, answer.text
    location = answer.headers["Location"]
    assert location.startswith(REDIRECT + "?")
    return {k: v[-1] for k, v in parse_qs(urlsplit(location).query).items()}


def token(sb: XeroSandbox, **form: str) -> requests.Response:
    return requests.post(f"{sb.identity_url}/connect/token", data=form, auth=(CLIENT_ID, CLIENT_SECRET))


def login(sb: XeroSandbox) -> dict:
    code = redirected(authorize(sb))["code"]
    answer = token(sb, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert answer.status_code == 200
    return answer.json()


def test_consent_page_refuses_unknown_client_and_unregistered_redirects_without_redirecting(sb: XeroSandbox) -> None:
    unknown = authorize(sb, client_id="someone-else")
    assert unknown.status_code == 400 and "unauthorized_client" in unknown.text and "Location" not in unknown.headers
    for uri in (
        "http://localhost:8750/callback",
        REDIRECT + "/",
        "http://localhost:8749/",
        "http://localhost:8749/*",
        "http://127.0.0.1:8749/callback",
        "http://localhost:8749/callback?x=1",
    ):
        answer = authorize(sb, redirect_uri=uri)
        assert answer.status_code == 400, uri
        assert "Location" not in answer.headers and "redirect_uri" in answer.text


def test_consent_page_requires_state_and_known_scopes(sb: XeroSandbox) -> None:
    missing = authorize(sb, state=None)
    assert missing.status_code == 400 and "state is required" in missing.text
    bad_scope = redirected(authorize(sb, scope="offline_access accounting.everything"))
    assert bad_scope == {"error": "invalid_scope", "state": "st-123"}
    wrong_type = redirected(authorize(sb, response_type="token"))
    assert wrong_type["error"] == "unsupported_response_type"
    sb.auth.consent = False
    assert redirected(authorize(sb)) == {"error": "access_denied", "state": "st-123"}


def test_code_exchange_is_single_use_and_bound_to_its_redirect(sb: XeroSandbox, clock: FakeClock) -> None:
    back = redirected(authorize(sb))
    assert back["state"] == "st-123" and back["code"]
    wrong_uri = token(sb, grant_type="authorization_code", code=back["code"], redirect_uri=REDIRECT + "x")
    assert wrong_uri.status_code == 400 and wrong_uri.json() == {"error": "invalid_grant"}
    again = token(sb, grant_type="authorization_code", code=back["code"], redirect_uri=REDIRECT)
    assert again.json() == {"error": "invalid_grant"}  # the failed try used the code up
    fresh = redirected(authorize(sb))["code"]
    ok = token(sb, grant_type="authorization_code", code=fresh, redirect_uri=REDIRECT).json()
    assert ok["expires_in"] == 1800 and ok["token_type"] == "Bearer" and ok["scope"] == SCOPES
    assert ok["refresh_token"] and ok["access_token"]
    reused = token(sb, grant_type="authorization_code", code=fresh, redirect_uri=REDIRECT)
    assert reused.status_code == 400 and reused.json() == {"error": "invalid_grant"}
    late = redirected(authorize(sb))["code"]
    clock.advance(301)  # codes last 5 minutes
    expired = token(sb, grant_type="authorization_code", code=late, redirect_uri=REDIRECT)
    assert expired.json() == {"error": "invalid_grant"}


def test_access_token_lasts_30_minutes_and_lists_the_connected_orgs(sb: XeroSandbox, clock: FakeClock) -> None:
    sb.auth.add_org("7b3c1d2e-0000-4000-8000-00000000beef", "Second Trades Pty Ltd")
    tokens = login(sb)
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    rows = requests.get(f"{sb.url}/connections", headers=bearer).json()
    assert sorted(r["tenantName"] for r in rows) == ["Demo Trades Co (Sandbox)", "Second Trades Pty Ltd"]
    org = requests.get(f"{sb.api_url}/Organisation", headers={**bearer, "xero-tenant-id": sb.tenant_id})
    assert org.status_code == 200
    clock.advance(1799)
    assert requests.get(f"{sb.url}/connections", headers=bearer).status_code == 200
    clock.advance(2)
    assert requests.get(f"{sb.url}/connections", headers=bearer).status_code == 401


def test_refresh_rotates_and_the_old_token_has_30_minutes_grace(sb: XeroSandbox, clock: FakeClock) -> None:
    first = login(sb)["refresh_token"]
    second = token(sb, grant_type="refresh_token", refresh_token=first).json()
    assert second["refresh_token"] != first and second["scope"] == SCOPES
    clock.advance(29 * 60)
    retry = token(sb, grant_type="refresh_token", refresh_token=first)  # the lost-response retry
    assert retry.status_code == 200 and retry.json()["refresh_token"] not in (first, second["refresh_token"])
    clock.advance(61)  # 30 min + 1 s after the first use
    late = token(sb, grant_type="refresh_token", refresh_token=first)
    assert late.status_code == 400 and late.json() == {"error": "invalid_grant"}
    assert token(sb, grant_type="refresh_token", refresh_token=second["refresh_token"]).status_code == 200
    other_client = requests.post(
        f"{sb.identity_url}/connect/token",
        auth=("nobody", "x"),
        data={"grant_type": "refresh_token", "refresh_token": retry.json()["refresh_token"]},
    )
    assert other_client.json() == {"error": "invalid_client"}


def test_unused_refresh_token_lapses_after_60_days(sb: XeroSandbox, clock: FakeClock) -> None:
    kept = login(sb)["refresh_token"]
    lapsing = login(sb)["refresh_token"]
    clock.advance(59 * 86400)
    assert token(sb, grant_type="refresh_token", refresh_token=kept).status_code == 200
    clock.advance(86400 + 1)
    answer = token(sb, grant_type="refresh_token", refresh_token=lapsing)
    assert answer.status_code == 400 and answer.json() == {"error": "invalid_grant"}


def test_served_sandbox_registers_a_demo_app_for_auth_login(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    server = subprocess.Popen(
        [sys.executable, "-m", "jobsync.sandbox.xero.server", "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        banner = [server.stdout.readline() for _ in range(2)]  # type: ignore[union-attr]
        assert f"client_id {DEMO_CLIENT_ID}" in banner[1] and DEMO_REDIRECT_URI in banner[1]
        query = urlencode(
            {
                "response_type": "code",
                "client_id": DEMO_CLIENT_ID,
                "redirect_uri": DEMO_REDIRECT_URI,
                "scope": SCOPES,
                "state": "s1",
            }
        )
        answer = requests.get(f"http://127.0.0.1:{port}/identity/connect/authorize?{query}", allow_redirects=False)
        assert answer.status_code == 302 and answer.headers["Location"].startswith(DEMO_REDIRECT_URI + "?code=")
    finally:
        server.terminate()
        server.wait(5)
