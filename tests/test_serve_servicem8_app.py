"""ServiceM8 as a public (OAuth) app: connect, subscribe `jobsync serve` to its webhooks (ServiceM8 checks
the callback with a form-encoded challenge), and a delivered job change becomes an invoice."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml
from typer.testing import CliRunner

from jobsync.cli.main import app
from jobsync.sandbox.servicem8 import ServiceM8Sandbox
from jobsync.sandbox.servicem8_app import CLIENT_ID, CLIENT_SECRET
from jobsync.sandbox.xero.server import XeroSandbox
from tests.test_serve import SIGNED_SECRET, SM8_SECRET, XERO_KEY, _config, _job_uuid, _service, _wait_for

REDIRECT = "https://books.example.com/servicem8/callback"
ENV = {"TEST_SM8_CLIENT_ID": CLIENT_ID, "TEST_SM8_CLIENT_SECRET": CLIENT_SECRET, "TEST_SM8_SECRET": SM8_SECRET}
ENV |= {"TEST_XERO_KEY": XERO_KEY, "TEST_SIGNED_SECRET": SIGNED_SECRET}


def _oauth_config(tmp_path: Path, xero: XeroSandbox, sm8: ServiceM8Sandbox) -> Path:
    path = _config(tmp_path, xero, sm8)
    data = yaml.safe_load(path.read_text())
    del data["source"]["api_key"]
    data["source"]["servicem8_oauth"] = {
        "client_id": "${TEST_SM8_CLIENT_ID}",
        "client_secret": "${TEST_SM8_CLIENT_SECRET}",
        "token_url": f"{sm8.origin}/oauth/access_token",
    }
    path.write_text(yaml.safe_dump(data))
    return path


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=ENV)
    return result.exit_code, result.output


def test_connect_subscribe_and_a_delivered_change_is_invoiced(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as xero, ServiceM8Sandbox(port=0).load_seed() as sm8:
        config = _oauth_config(tmp_path, xero, sm8)
        code, said = _cli("auth", "servicem8", "--redirect-uri", REDIRECT, "--config", str(config))
        assert code == 0 and f"client_id={CLIENT_ID}" in said and "response_type=code" in said
        grant = sm8.public_app.authorise(REDIRECT)
        code, said = _cli("auth", "servicem8", "--redirect-uri", REDIRECT, "--code", grant, "--config", str(config))
        assert code == 0, said
        store = tmp_path / "state.servicem8-tokens.json"
        assert stat.S_IMODE(store.stat().st_mode) == 0o600
        assert CLIENT_SECRET not in store.read_text()
        with _service(config, extra_env=ENV) as (url, _):
            code, said = _cli("webhooks", "subscribe", "servicem8", "--url", url, "--config", str(config))
            assert code == 0, said
            assert SM8_SECRET not in said  # the receiver's secret path part is never printed
            kept = {(s["kind"], s["name"]) for s in sm8.public_app.subscriptions}
            assert kept == {("object", "job"), ("event", "job.completed")}
            assert all(
                s["callback_url"].endswith(f"/webhooks/servicem8/{SM8_SECRET}") for s in sm8.public_app.subscriptions
            )
            assert sm8.public_app.deliver(_job_uuid(sm8, "1001"), "2026-03-02 10:00:00", sm8.origin) == [200]
            made = _wait_for(lambda: [i for i in xero.invoices() if i.get("Reference") == "1001 / PO PO-7781"])
            assert len(made) == 1
        reads = [e for e in sm8.request_log if e.get("path", "").startswith("/api_1.0/job")]
        assert reads and all(e["status"] == 200 for e in reads)  # read with the bearer token, no API key


def test_an_expired_access_token_is_refreshed_once_and_the_rotated_set_kept(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as xero, ServiceM8Sandbox(port=0).load_seed() as sm8:
        config = _oauth_config(tmp_path, xero, sm8)
        grant = sm8.public_app.authorise(REDIRECT)
        assert _cli("auth", "servicem8", "--redirect-uri", REDIRECT, "--code", grant, "--config", str(config))[0] == 0
        store = tmp_path / "state.servicem8-tokens.json"
        tokens = json.loads(store.read_text())
        tokens["expires_at"] = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        store.write_text(json.dumps(tokens))
        before = sm8.public_app.token_requests
        code, said = _cli("run", "--config", str(config))
        assert code == 1 and "Traceback" not in said  # 1: the seed holds jobs that need a person
        assert sm8.public_app.token_requests == before + 1
        renewed = json.loads(store.read_text())
        assert renewed["refresh_token"] != tokens["refresh_token"] and renewed["access_token"] != tokens["access_token"]
        assert len(xero.invoices()) >= 1


def test_with_an_api_key_subscribing_is_refused_with_the_reason(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as xero, ServiceM8Sandbox(port=0).load_seed() as sm8:
        config = _config(tmp_path, xero, sm8)
        code, said = _cli("webhooks", "subscribe", "servicem8", "--url", "https://x.example", "--config", str(config))
        assert code == 2 and "only public apps" in said and "polling stays the path" in said
        assert sm8.public_app.subscriptions == []


def test_a_refused_refresh_names_the_fix_and_is_no_traceback(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as xero, ServiceM8Sandbox(port=0).load_seed() as sm8:
        config = _oauth_config(tmp_path, xero, sm8)
        store = tmp_path / "state.servicem8-tokens.json"
        stale = {"access_token": "old", "refresh_token": "revoked", "expires_at": "2026-01-01T00:00:00+00:00"}
        store.write_text(json.dumps(stale))
        os.chmod(store, 0o600)
        code, said = _cli("run", "--config", str(config))
        assert code != 0 and "Traceback" not in said
        assert "jobsync auth servicem8" in said
        assert xero.invoices() == []
