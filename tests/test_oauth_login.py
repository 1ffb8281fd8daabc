"""`jobsync auth login|status` end to end against the sandbox's consent page and token endpoint."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from oauth_support import CLIENT_ID, CLIENT_SECRET, FakeClock, consent, free_port, settings_for, write_config
from typer.testing import CliRunner

from jobsync.app.wiring import tenant_id, xero_login
from jobsync.cli.auth import auth_app
from jobsync.core.errors import ConfigError, UnreachableError
from jobsync.sandbox.xero.server import XeroSandbox
from jobsync.xero.oauth_login import (
    GRANULAR_SCOPES,
    LoginIO,
    LoginOptions,
    authorize_endpoint,
    code_from_redirect,
    login,
    redirect_uri,
)
from jobsync.xero.token_store import load

ROOT = Path(__file__).resolve().parents[1]
SECOND_ORG = "7b3c1d2e-0000-4000-8000-00000000beef"


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture()
def port() -> int:
    return free_port()


@pytest.fixture()
def sb(clock: FakeClock, port: int) -> Iterator[XeroSandbox]:
    with XeroSandbox(clock=clock) as sandbox:
        sandbox.add_client(CLIENT_ID, CLIENT_SECRET, (redirect_uri(port),))
        yield sandbox


class Browser:
    """Plays the user's browser: consent at the sandbox, then follow the redirect to localhost."""

    def __init__(self) -> None:
        self.pages: list[requests.Response] = []

    def __call__(self, url: str) -> bool:
        page = consent(url)
        self.pages.append(page)
        if page.status_code == 302:
            requests.get(page.headers["Location"], timeout=5)
        return True


def io(browser: Any = None, pasted: str | None = None, said: list[str] | None = None, **kw: Any) -> LoginIO:
    said = [] if said is None else said
    return LoginIO(say=said.append, read_line=lambda prompt: pasted or "", open_browser=browser or Browser(), **kw)


def test_browser_login_stores_tokens_0600_and_the_tenant(
    tmp_path: Path, sb: XeroSandbox, port: int, clock: FakeClock
) -> None:
    settings = settings_for(tmp_path, sb)
    browser = Browser()
    tokens = login(xero_login(settings), LoginOptions(port=port, wait_seconds=5), io(browser), clock)
    consent_url = browser.pages[0].url
    assert consent_url.startswith(f"{sb.url}/identity/connect/authorize?") and "state=" in consent_url
    assert "scope=offline_access+accounting.invoices+accounting.contacts+accounting.settings.read" in consent_url
    path = xero_login(settings).store
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = load(path)
    assert stored == tokens and stored.mode == "oauth" and stored.tenant_id == sb.tenant_id
    assert stored.tenant_name == "Demo Trades Co (Sandbox)" and stored.scopes == GRANULAR_SCOPES
    assert stored.refresh_token and stored.refresh_issued_at == clock()
    assert tenant_id(settings) == sb.tenant_id  # a run picks up the chosen organisation
    answer = requests.get(
        f"{sb.api_url}/Organisation",
        headers={"Authorization": f"Bearer {stored.access_token}", "xero-tenant-id": sb.tenant_id},
    )
    assert answer.status_code == 200


def test_unregistered_redirect_uri_is_refused(tmp_path: Path, sb: XeroSandbox) -> None:
    settings = settings_for(tmp_path, sb)
    other_port = free_port()
    browser = Browser()
    with pytest.raises(UnreachableError, match="no answer from Xero"):
        login(xero_login(settings), LoginOptions(port=other_port, wait_seconds=0.5), io(browser))
    refused = browser.pages[0]
    assert refused.status_code == 400 and "redirect_uri" in refused.text and "Location" not in refused.headers
    assert load(xero_login(settings).store) is None
    assert ("POST", "/connect/token", 200) not in sb.request_log


def test_state_mismatch_is_rejected_before_the_code_is_used(tmp_path: Path, sb: XeroSandbox, port: int) -> None:
    settings = settings_for(tmp_path, sb)
    said: list[str] = []
    # An attacker's (or stale) redirect: a real code, but for another login's state.
    other = consent(
        f"{sb.url}/identity/connect/authorize?response_type=code&client_id={CLIENT_ID}"
        f"&redirect_uri={redirect_uri(port)}&scope=offline_access&state=not-yours"
    )
    with pytest.raises(UnreachableError, match="state does not match"):
        login(
            xero_login(settings),
            LoginOptions(port=port, browser=False),
            io(pasted=other.headers["Location"], said=said),
        )
    assert any("/identity/connect/authorize?" in line for line in said)  # the URL was printed for the user
    assert load(xero_login(settings).store) is None
    assert not any(path == "/connect/token" for _, path, _ in sb.request_log)
    with pytest.raises(UnreachableError, match="consent was refused"):
        code_from_redirect("http://localhost:1/callback?error=access_denied&state=s", "s")


def test_headless_paste_login_with_broad_scopes(tmp_path: Path, sb: XeroSandbox, port: int) -> None:
    settings = settings_for(tmp_path, sb)
    said: list[str] = []

    def paste(prompt: str) -> str:
        url = next(line for line in said if "/identity/connect/authorize?" in line).split()[-1]
        return consent(url).headers["Location"]  # copied from the browser's address bar

    tokens = login(
        xero_login(settings),
        LoginOptions(port=port, browser=False, broad_scopes=True),
        LoginIO(say=said.append, read_line=paste),
    )
    assert "accounting.transactions" in tokens.scopes and "accounting.invoices" not in tokens.scopes
    assert load(xero_login(settings).store) == tokens


def test_tenant_is_chosen_among_several(tmp_path: Path, sb: XeroSandbox, port: int) -> None:
    sb.add_org("Second Trades Pty Ltd", tenant_id=SECOND_ORG)
    settings = settings_for(tmp_path, sb)
    with pytest.raises(ConfigError, match="several organisations") as caught:
        login(xero_login(settings), LoginOptions(port=port, wait_seconds=5), io())
    assert any(SECOND_ORG in p and "Second Trades" in p for p in caught.value.problems)
    picked = login(xero_login(settings), LoginOptions(port=port, wait_seconds=5, tenant=SECOND_ORG.upper()), io())
    assert (picked.tenant_id, picked.tenant_name) == (SECOND_ORG, "Second Trades Pty Ltd")
    assert tenant_id(settings) == SECOND_ORG
    offered: list[list[str]] = []

    def choose(orgs: list[dict[str, Any]]) -> int:
        offered.append([o["tenantName"] for o in orgs])
        return [o["tenantId"] for o in orgs].index(sb.tenant_id)

    chosen = login(xero_login(settings), LoginOptions(port=port, wait_seconds=5), io(choose=choose))
    assert chosen.tenant_id == sb.tenant_id and sorted(offered[0]) == [
        "Demo Trades Co (Sandbox)",
        "Second Trades Pty Ltd",
    ]
    with pytest.raises(ConfigError, match="not connected"):
        login(xero_login(settings), LoginOptions(port=port, wait_seconds=5, tenant="nope"), io())


def test_custom_connection_stores_client_credentials_login(tmp_path: Path, sb: XeroSandbox, clock: FakeClock) -> None:
    settings = settings_for(tmp_path, sb, mode="client_credentials")
    browser = Browser()
    tokens = login(xero_login(settings), LoginOptions(custom_connection=True), io(browser), clock)
    assert browser.pages == []  # no consent page for a custom connection
    assert tokens.mode == "client_credentials" and tokens.refresh_token is None
    assert load(xero_login(settings).store).tenant_id == sb.tenant_id  # type: ignore[union-attr]


def test_wrong_secret_is_refused_without_echoing_it(tmp_path: Path, sb: XeroSandbox) -> None:
    config = write_config(tmp_path, sb, mode="client_credentials")
    from jobsync.config.settings import load_settings

    settings = load_settings(config, env={"XERO_CLIENT_SECRET": "wrong-secret-value"})
    with pytest.raises(UnreachableError, match="invalid_client") as caught:
        login(xero_login(settings), LoginOptions(custom_connection=True), io())
    assert "wrong-secret-value" not in str(caught.value)


def test_authorize_endpoint_is_xeros_login_host_for_real_xero() -> None:
    assert authorize_endpoint("https://identity.xero.com") == "https://login.xero.com/identity/connect/authorize"
    assert authorize_endpoint("http://127.0.0.1:9/") == "http://127.0.0.1:9/identity/connect/authorize"


FAKE_BROWSER = textwrap.dedent("""
    import sys, requests
    page = requests.get(sys.argv[1], allow_redirects=False, timeout=5)
    requests.get(page.headers["Location"], timeout=5)
""")


def test_cli_login_through_a_browser_then_status(tmp_path: Path, port: int) -> None:
    with XeroSandbox() as sb:  # real clock: the CLI runs in a child process
        sb.add_client(CLIENT_ID, CLIENT_SECRET, (redirect_uri(port),))
        config = write_config(tmp_path, sb)
        script = tmp_path / "browser.py"
        script.write_text(FAKE_BROWSER)
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "XERO_CLIENT_SECRET": CLIENT_SECRET,
            "BROWSER": f"{sys.executable} {script} %s",
        }
        run = subprocess.run(
            [
                sys.executable,
                "-c",
                "from jobsync.cli.auth import auth_app; auth_app()",
                "login",
                "--config",
                str(config),
                "--port",
                str(port),
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
        )
        assert run.returncode == 0, run.stderr
        assert "Connected to Demo Trades Co (Sandbox)" in run.stdout and "(mode 0600)" in run.stdout
        stored = load(tmp_path / "state.tokens.toml")
        assert stored is not None and stored.access_token not in run.stdout + run.stderr
        assert CLIENT_SECRET not in run.stdout + run.stderr
        result = CliRunner().invoke(
            auth_app, ["status", "--config", str(config)], env={"XERO_CLIENT_SECRET": CLIENT_SECRET}
        )
        assert result.exit_code == 0, result.output
        assert f"tenant {sb.tenant_id}" in result.output and "accounting.invoices" in result.output
        assert "Access token:  valid" in result.output and "(60 days left; every run renews it)" in result.output
        assert stored.access_token not in result.output


def test_cli_status_without_a_login_exits_3_with_the_fix(tmp_path: Path, sb: XeroSandbox) -> None:
    config = write_config(tmp_path, sb)
    result = CliRunner().invoke(
        auth_app, ["status", "--config", str(config)], env={"XERO_CLIENT_SECRET": CLIENT_SECRET}
    )
    assert result.exit_code == 3 and "jobsync auth login" in result.output
