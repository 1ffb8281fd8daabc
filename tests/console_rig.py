"""A console to test against: the Xero sandbox, a CSV job export, `jobsync serve` as a real process,
and users added with the real CLI. Shared by the security tests (requests) and the browser tests."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import yaml
from typer.testing import CliRunner

from jobsync.cli.main import app
from jobsync.samples import csv_source, sandbox_config
from jobsync.sandbox.xero.server import XeroSandbox
from tests.e2e import HEADER, RULES
from tests.test_serve import _service as service

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery staple"
SHARED_EMAIL = "office@twinplumbing.example"  # two Xero contacts share it: the job is held, ambiguous
SECRET_KEY = "xero-webhook-key-that-must-never-show-0123456789"  # a config secret the pages must hide


def row(n: int, client: str = "", email: str = "", price: str = "100.00", client_id: str = "") -> str:
    client, email, client_id = client or f"Client {n}", email or f"c{n}@example.com", client_id or f"C{n}"
    return f"J{n},{n},Completed,25/11/2026 10:00,{client_id},{client},{email},,labour,,Labour,1,{price},,,"


@dataclass
class Rig:
    path: Path
    xero: XeroSandbox
    url: str
    proc: subprocess.Popen[str]

    @property
    def config(self) -> Path:
        return self.path / "jobsync.yaml"

    def cli(self, *args: str) -> Any:
        env = {"JOBSYNC_TEST_PASSWORD": PASSWORD, "TEST_XERO_KEY": SECRET_KEY}
        return CliRunner().invoke(app, [*args, "--config", str(self.config)], env=env)

    def sign_in(self, name: str, password: str = PASSWORD) -> requests.Session:
        return sign_in(self.url, name, password)


def sign_in(url: str, name: str, password: str = PASSWORD) -> requests.Session:
    """A browser's session after the sign-in form; `last_status` is the form's answer."""
    session = requests.Session()
    page = session.get(url + "/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text)
    assert token, page.text
    answer = session.post(url + "/login", data={"login_csrf": token.group(1), "name": name, "password": password})
    session.last_status = answer.status_code  # type: ignore[attr-defined]
    return session


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF token on the page"
    return found.group(1)


def write_config(tmp_path: Path, xero: XeroSandbox, rows: list[str], **xero_extra: Any) -> Path:
    (tmp_path / "jobs.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    source = csv_source(timezone="Australia/Sydney", start_from="2026-11-01")
    text = sandbox_config(
        xero.api_url,
        xero.identity_url,
        xero.tenant_id,
        source,
        RULES,
        xero=xero_extra,
        serve={"xero_webhook_key": "${TEST_XERO_KEY}"},
    )
    path = tmp_path / "jobsync.yaml"
    path.write_text(text)
    data = yaml.safe_load(text)
    data["follow_up"] = {"payments_poll_minutes": 0}
    path.write_text(yaml.safe_dump(data))
    return path


@contextmanager
def console(tmp_path: Path, rows: list[str], **xero_extra: Any) -> Iterator[Rig]:
    with XeroSandbox(port=0) as xero:
        config = write_config(tmp_path, xero, rows, **xero_extra)
        with service(config, {"TEST_XERO_KEY": SECRET_KEY}) as (url, proc):
            rig = Rig(tmp_path, xero, url, proc)
            for name, role in (("bea", "bookkeeper"), ("vic", "viewer")):
                added = rig.cli("users", "add", name, "--role", role, "--password-env", "JOBSYNC_TEST_PASSWORD")
                assert added.exit_code == 0, added.output
            yield rig


def twin_contacts(xero: XeroSandbox) -> list[str]:
    """Two Xero contacts with one email: a client with that email is held until a person chooses."""
    from tests.e2e import xero_api

    api = xero_api(xero)
    made = []
    for name in ("Twin Plumbing Pty Ltd", "Twin Plumbing (old)"):
        created = api.create_contacts(xero.tenant_id, {"Contacts": [{"Name": name, "EmailAddress": SHARED_EMAIL}]})
        made.append(str(created.contacts[0].contact_id))
    return made
