"""Shared by the token and login tests: a fake clock, an OAuth config on disk, a browser stand-in."""

from __future__ import annotations

import socket
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from jobsync.config.settings import Settings, load_settings
from jobsync.xero.token_store import TokenSet, token_set

CLIENT_ID = "jobsync-test-app"
CLIENT_SECRET = "s3cret-not-logged"

CONFIG = """\
xero:
  api_url: {api_url}
  identity_url: {identity_url}
  auth:
    mode: {mode}
    client_id: {client_id}
    client_secret: ${{XERO_CLIENT_SECRET}}
source:
  type: csv
  path: jobs.csv
  start_from: 2026-01-01
  columns: {{job_id: Job ID, job_number: Job Number, status: Status, completed_at: Completed At,
             client_name: Client Name, description: Description, quantity: Quantity, unit_price: Unit Price}}
rules:
  default: {{account_code: "200", tax_type: OUTPUT}}
state:
  path: state.db
reports:
  dir: reports
"""
JOBS_HEADER = "Job ID,Job Number,Status,Completed At,Client Name,Description,Quantity,Unit Price\n"


class FakeClock:
    """Shared by the sandbox and jobsync, so tokens expire without waiting."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def write_config(directory: Path, sandbox: object, mode: str = "oauth", client_id: str = CLIENT_ID) -> Path:
    path = directory / "jobsync.yaml"
    path.write_text(
        CONFIG.format(
            api_url=sandbox.api_url,
            identity_url=sandbox.identity_url,  # type: ignore[attr-defined]
            mode=mode,
            client_id=client_id,
        ),
        encoding="utf-8",
    )
    (directory / "jobs.csv").write_text(JOBS_HEADER, encoding="utf-8")
    return path


def settings_for(directory: Path, sandbox: object, mode: str = "oauth", client_id: str = CLIENT_ID) -> Settings:
    return load_settings(write_config(directory, sandbox, mode, client_id), env={"XERO_CLIENT_SECRET": CLIENT_SECRET})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def consent(url: str) -> requests.Response:
    """What a browser does at Xero's consent page (the sandbox approves at once)."""
    return requests.get(url, allow_redirects=False, timeout=5)


def offline_tokens(sandbox: Any, clock: FakeClock, tenant: str) -> TokenSet:
    """What `auth login` leaves behind (a refreshable set for `tenant`), made from a client grant."""
    body = requests.post(
        f"{sandbox.identity_url}/connect/token",
        auth=(CLIENT_ID, CLIENT_SECRET),
        data={"grant_type": "client_credentials", "scope": "offline_access accounting.invoices"},
        timeout=10,
    ).json()
    blank = TokenSet(mode="oauth", client_id=CLIENT_ID, access_token="", expires_at=clock())
    return replace(token_set(body, blank, clock()), tenant_id=tenant, tenant_name="Demo")
