"""`jobsync sandbox serve` is as strict as Xero by default; its flags make it kinder or harsher on purpose."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
TENANT_HEADERS = {"Authorization": "Bearer sandbox"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serving(*flags: str) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cmd = [
        sys.executable,
        "-m",
        "jobsync",
        "sandbox",
        "serve",
        "--port",
        str(port),
        "--servicem8-port",
        "0",
        "--simpro-port",
        "0",
        "--aroflo-port",
        "0",
        *flags,
    ]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(url + "/connections", headers=TENANT_HEADERS, timeout=2)
                break
            except requests.ConnectionError:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def _tenant(url: str) -> str:
    return requests.get(url + "/connections", headers=TENANT_HEADERS, timeout=5).json()[0]["tenantId"]


def test_by_default_the_61st_call_in_a_minute_is_answered_429_with_xeros_headers() -> None:
    with serving() as url:
        headers = {**TENANT_HEADERS, "Xero-tenant-id": _tenant(url)}
        statuses = [requests.get(url + "/api.xro/2.0/Organisation", headers=headers, timeout=5) for _ in range(61)]
    assert [r.status_code for r in statuses[:60]] == [200] * 60
    refused = statuses[60]
    assert refused.status_code == 429
    assert refused.headers["X-Rate-Limit-Problem"].lower() == "minute"
    assert int(refused.headers["Retry-After"]) >= 1
    assert statuses[59].headers["X-MinLimit-Remaining"] == "0"


def test_no_limits_latency_and_a_fault_are_flags() -> None:
    with serving("--latency", "200", "--fault", "GET:/api.xro/2.0/Organisation:503:1") as url:
        headers = {**TENANT_HEADERS, "Xero-tenant-id": _tenant(url)}
        started = time.monotonic()
        first = requests.get(url + "/api.xro/2.0/Organisation", headers=headers, timeout=5)
        took = time.monotonic() - started
    assert first.status_code == 503 and took >= 0.2
    with serving("--no-limits") as url:
        headers = {**TENANT_HEADERS, "Xero-tenant-id": _tenant(url)}
        rest = [requests.get(url + "/api.xro/2.0/Accounts", headers=headers, timeout=5).status_code for _ in range(70)]
    assert rest == [200] * 70  # past Xero's 60 a minute


def test_a_bad_fault_spec_is_one_line_exit_2(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "jobsync", "sandbox", "serve", "--fault", "nonsense"],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2 and "METHOD:PATH:STATUS" in result.stderr and "Traceback" not in result.stderr
