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

from jobsync.cli import app

HEADER = (
    "Job ID,Job Number,Status,Completed At,Client ID,Client Name,Client Email,Client Phone,"
    "Line Type,Item Code,Description,Quantity,Unit Price,Discount %,Tax Code,PO Number"
)

CONFIG = """\
xero:
  api_url: {api_url}
  identity_url: {identity_url}
  tenant_id: {tenant_id}
  auth: {{ mode: static_token, token: sandbox }}
  payment_terms_days: 14
source:
  type: csv
  path: jobs.csv
  {start_from}
  timezone: Australia/Sydney
  overlap_minutes: 1440
  columns:
    job_id: Job ID
    job_number: Job Number
    status: Status
    completed_at: Completed At
    client_id: Client ID
    client_name: Client Name
    client_email: Client Email
    client_phone: Client Phone
    line_kind: Line Type
    item_code: Item Code
    description: Description
    quantity: Quantity
    unit_price: Unit Price
    discount_percent: Discount %
    tax_code: Tax Code
    purchase_order: PO Number
rules:
  lines:
    - {{ name: labour, when: {{ kind: labour }}, account_code: "205", tax_type: OUTPUT }}
    - {{ name: materials, when: {{ kind: material }}, account_code: "210", tax_type: OUTPUT }}
  default: {{ account_code: "200", tax_type: OUTPUT }}
  subcontractors: {{ mode: passthrough, account_code: "215", tax_type: OUTPUT, markup_percent: 10 }}
state:
  path: state.db
reports:
  dir: reports
"""


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
    line = f"start_from: {start_from}" if start_from else ""
    tmp_path.joinpath("jobsync.yaml").write_text(
        CONFIG.format(api_url=sandbox.api_url, identity_url=sandbox.identity_url,
                      tenant_id=sandbox.tenant_id, start_from=line)
    )
    return Workdir(tmp_path)


def xero_api(sandbox: Any) -> AccountingApi:
    """The official SDK pointed at the sandbox, for reading back what jobsync created."""
    token = {"access_token": "sandbox", "token_type": "Bearer", "expires_in": 1800,
             "expires_at": time.time() + 1800, "scope": ["accounting.transactions"]}
    client = ApiClient(
        Configuration(oauth2_token=OAuth2Token(client_id="t", client_secret="t")),
        pool_threads=1,
        oauth2_token_getter=lambda: token,
        oauth2_token_saver=lambda new: None,
    )
    client.rest_client.pool_manager.connection_pool_kw["retries"] = False
    return AccountingApi(client, base_url=sandbox.api_url)
