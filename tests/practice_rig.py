"""A practice to test against: a real PostgreSQL (the practice database and the queue), one Xero sandbox
serving an organisation per org behind one app, one CSV job export per org, and `jobsync worker`
processes started as a host would start them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from typer.testing import CliRunner

from jobsync.cli.main import app
from jobsync.sandbox.xero.server import XeroSandbox
from tests.e2e import Workdir, make_workdir
from tests.postgres_server import fresh_database
from tests.receivers import free_port

ROOT = Path(__file__).resolve().parent.parent


def row(n: int) -> str:
    return f"J{n},{n},Completed,25/11/2026 10:00,C{n},Client {n},c{n}@example.com,,labour,,Labour,1,10.00,,,"


@dataclass(frozen=True)
class SandboxOrg:
    """One organisation of the shared sandbox, shaped as `make_workdir` reads a sandbox."""

    sandbox: XeroSandbox
    tenant_id: str

    @property
    def api_url(self) -> str:
        return self.sandbox.api_url

    @property
    def identity_url(self) -> str:
        return self.sandbox.identity_url

    def invoices(self) -> list[dict[str, Any]]:
        return self.sandbox.invoices(self.tenant_id)


@dataclass
class Practice:
    url: str
    orgs: dict[str, tuple[Workdir, SandboxOrg]] = field(default_factory=dict)
    workers: list[subprocess.Popen[str]] = field(default_factory=list)

    def cli(self, *args: str) -> Any:
        return CliRunner().invoke(app, list(args), env={"JOBSYNC_PRACTICE_URL": self.url})

    def start_worker(self, concurrency: int = 1) -> subprocess.Popen[str]:
        env = {**os.environ, "JOBSYNC_PRACTICE_URL": self.url, "PYTHONPATH": str(ROOT)}
        cmd = [sys.executable, "-m", "jobsync.cli.main", "worker", "--concurrency", str(concurrency)]
        cmd += ["--name", f"w{len(self.workers)}"]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        self.workers.append(proc)
        return proc

    @contextmanager
    def serve(self, config: Path, org: str) -> Iterator[str]:
        """`jobsync serve --org` as a host runs it: webhooks in, runs queued for the practice's workers."""
        port = free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT), "JOBSYNC_PRACTICE_URL": self.url}
        cmd = [sys.executable, "-m", "jobsync.cli.main", "serve", "--config", str(config), "--port", str(port)]
        proc = subprocess.Popen([*cmd, "--org", org], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        url = f"http://127.0.0.1:{port}"
        try:
            assert self.wait_for(lambda: _healthy(url), 30), "jobsync serve --org did not come up"
            yield url
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 0

    def invoiced(self) -> dict[str, list[str]]:
        return {name: sorted(str(i["Reference"]) for i in x.invoices()) for name, (_, x) in self.orgs.items()}

    def wait_for(self, check: Callable[[], bool], seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if check():
                return True
            time.sleep(0.25)
        return check()


def _healthy(url: str) -> bool:
    try:
        return requests.get(url + "/healthz", timeout=1).status_code == 200
    except requests.ConnectionError:
        return False


@contextmanager
def practice(
    tmp_path: Path, server: str, orgs: int, jobs: int, every: int = 1, sandbox: XeroSandbox | None = None
) -> Iterator[Practice]:
    """`sandbox`: one made by the caller (its limits, latency, exchange log); else a generous one."""
    found = Practice(fresh_database(server))
    with ExitStack() as stack:
        sandbox = stack.enter_context(sandbox or XeroSandbox(port=0))
        for n in range(orgs):
            xero = SandboxOrg(sandbox, sandbox.add_org(f"Client {n} Trades"))
            (tmp_path / f"org{n}").mkdir(parents=True)
            work = make_workdir(tmp_path / f"org{n}", xero)
            work.write_jobs([row(j) for j in range(1, jobs + 1)])
            found.orgs[f"org{n}"] = (work, xero)
            added = found.cli("orgs", "add", f"org{n}", "--config", str(work.config), "--every", str(every))
            assert added.exit_code == 0, added.output
        try:
            yield found
        finally:
            for proc in found.workers:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in found.workers:
                proc.wait(timeout=90)
