"""Helpers for end-to-end tests: a config on disk pointing at a live sandbox, and the real CLI."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.testing import CliRunner
from xero_python.accounting import AccountingApi
from xero_python.api_client import ApiClient
from xero_python.api_client.configuration import Configuration
from xero_python.api_client.oauth2 import OAuth2Token

from jobsync.cli.main import app
from jobsync.samples import SAMPLE_TAX_MAP, csv_header, csv_source, sandbox_config

HEADER = csv_header()

RULES = {
    "lines": [
        {"name": "labour", "when": {"kind": "labour"}, "account_code": "205", "tax_type": "OUTPUT"},
        {"name": "materials", "when": {"kind": "material"}, "account_code": "210", "tax_type": "OUTPUT"},
    ],
    "default": {"account_code": "200", "tax_type": "OUTPUT"},
    "subcontractors": {"mode": "passthrough", "account_code": "215", "tax_type": "OUTPUT", "markup_percent": 10},
    "tax_map": SAMPLE_TAX_MAP,
}


@dataclass
class Workdir:
    path: Path

    @property
    def config(self) -> Path:
        return self.path / "jobsync.yaml"

    def write_jobs(self, rows: list[str]) -> None:
        (self.path / "jobs.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")

    def cli(self, *args: str) -> Any:
        result = CliRunner().invoke(app, [*args, "--config", str(self.config)])
        return result

    def last_report(self) -> dict[str, Any]:
        reports = sorted((self.path / "reports").glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
        return json.loads(reports[-1].read_text())


def make_workdir(tmp_path: Path, sandbox: Any, start_from: str | None = "2026-11-01") -> Workdir:
    extra = {"start_from": start_from} if start_from else {}
    source = csv_source(timezone="Australia/Sydney", overlap_minutes=1440, **extra)
    tmp_path.joinpath("jobsync.yaml").write_text(
        sandbox_config(sandbox.api_url, sandbox.identity_url, sandbox.tenant_id, source, RULES)
    )
    return Workdir(tmp_path)


def xero_api(sandbox: Any) -> AccountingApi:
    """The official SDK pointed at the sandbox, for reading back what jobsync created."""
    token = {
        "access_token": "sandbox",
        "token_type": "Bearer",
        "expires_in": 1800,
        "expires_at": time.time() + 1800,
        "scope": ["accounting.transactions"],
    }
    client = ApiClient(
        Configuration(oauth2_token=OAuth2Token(client_id="t", client_secret="t")),
        pool_threads=1,
        oauth2_token_getter=lambda: token,
        oauth2_token_saver=lambda new: None,
    )
    client.rest_client.pool_manager.connection_pool_kw["retries"] = False
    return AccountingApi(client, base_url=sandbox.api_url)


def servicem8_config(tmp_path: Path, xero: Any, sm8: Any, **sections: Any) -> Path:
    """A config for the ServiceM8 emulator and the Xero sandbox: invoices AUTHORISED (so they can be paid),
    the pass back on every run, and any further sections given."""
    source = {"type": "servicem8", "base_url": sm8.url, "api_key": "sm8-sandbox-key", "start_from": "2026-03-01"}
    rules = {"lines": [], "default": {"account_code": "200", "tax_type": "OUTPUT"}}
    follow_up = {"payments_poll_minutes": 0, **sections.pop("follow_up", {})}
    text = sandbox_config(
        xero.api_url,
        xero.identity_url,
        xero.tenant_id,
        source,
        rules,
        xero={"invoice_status": "AUTHORISED"},
        follow_up=follow_up,
        **sections,
    )
    path = tmp_path / "jobsync.yaml"
    path.write_text(text)
    return path
