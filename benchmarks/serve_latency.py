"""`jobsync serve` from webhook to invoice: p50/p95 at 1 event a second, and a burst of 200 jobs.

A real `jobsync serve` process, the ServiceM8 emulator seeded with the bench scenario, and the Xero
sandbox, all over loopback HTTP. The sandbox here applies no rate limits, so the burst's wall time is
what the service itself costs; the rate-limit floor beside it is computed from the calls the burst made
and each API's documented limit (Xero 60 a minute, ServiceM8 180 a minute): the least time any client
making those calls could take against the real services.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from benchmarks.scenario import build, seed_servicem8, seed_xero
from jobsync.samples import sandbox_config
from jobsync.sandbox.servicem8 import ServiceM8Sandbox
from jobsync.sandbox.xero.server import XeroSandbox

STEADY = 20  # events at 1 a second
BURST = 200
SECRET = "b" * 40
ROOT = Path(__file__).resolve().parent.parent
RULES = {"lines": [], "default": {"account_code": "200", "tax_type": "OUTPUT"}}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _event(job: str) -> bytes:
    return f'{{"object": "job", "entry": [{{"uuid": "{job}", "time": "2026-03-02 10:00:00"}}]}}'.encode()


def _wait(xero: XeroSandbox, count: int, limit: float = 600) -> float:
    start = time.monotonic()
    while len(xero.state.invoices) < count and time.monotonic() - start < limit:
        time.sleep(0.02)
    return time.monotonic()


def measure() -> dict[str, float]:
    scenario = build(STEADY + BURST, new_share=0.0, lines=(2, 4))
    with tempfile.TemporaryDirectory() as tmp, XeroSandbox(port=0) as xero, ServiceM8Sandbox(port=0) as sm8:
        seed_servicem8(scenario, sm8)
        seed_xero(scenario, xero)  # every client already a contact: the burst measures invoicing
        source = {"type": "servicem8", "base_url": sm8.url, "api_key": "sm8-sandbox-key", "start_from": "2026-01-01"}
        text = sandbox_config(
            xero.api_url, xero.identity_url, xero.tenant_id, source, RULES, serve={"servicem8_secret": SECRET}
        )
        text += "follow_up:\n  enabled: false\n"
        config = Path(tmp) / "jobsync.yaml"
        config.write_text(text)
        port = _port()
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        cmd = [sys.executable, "-m", "jobsync.cli.main", "serve", "--config", str(config), "--port", str(port)]
        proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        hook = f"http://127.0.0.1:{port}/webhooks/servicem8/{SECRET}"
        try:
            _ready(port)
            jobs = sorted(sm8.records["job"])
            latencies = []
            for n, job in enumerate(jobs[:STEADY]):
                sent = time.monotonic()
                requests.post(hook, data=_event(job), timeout=10)
                latencies.append(_wait(xero, n + 1) - sent)
                time.sleep(max(0.0, 1 - (time.monotonic() - sent)))
            xero.request_log.clear()
            sm8.request_log.clear()
            sent = time.monotonic()
            for job in jobs[STEADY:]:
                requests.post(hook, data=_event(job), timeout=10)
            burst = _wait(xero, STEADY + BURST) - sent
            xero_calls, sm8_calls = len(xero.request_log), len(sm8.request_log)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
        floor = max(xero_calls / 60, sm8_calls / 180) * 60
        ordered = sorted(latencies)
        return {
            "p50": statistics.median(ordered),
            "p95": ordered[int(0.95 * (len(ordered) - 1))],
            "burst": burst,
            "floor": floor,
            "xero_calls": xero_calls,
            "sm8_calls": sm8_calls,
            "made": len(xero.state.invoices),
        }


def _ready(port: int) -> None:
    for _ in range(400):
        try:
            if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            time.sleep(0.05)


def print_figure() -> bool:
    m = measure()
    print(f"\njobsync serve: webhook POST to draft invoice in the sandbox ({STEADY} events at 1 a second)")
    print(f"  {'p50 / p95':58} {m['p50']:.2f} s / {m['p95']:.2f} s   (target p95 <= 5 s)")
    print(f"  {f'burst of {BURST} completed jobs: all invoiced in':58} {m['burst']:.1f} s ({m['made']:.0f} invoices)")
    print(f"  {'  calls the burst made: Xero / ServiceM8':58} {m['xero_calls']:.0f} / {m['sm8_calls']:.0f}")
    print(f"  {'  rate-limit floor for those calls (Xero 60/min, ServiceM8 180/min)':58} {m['floor']:.1f} s")
    print(f"  {'polling, for comparison: a 15-minute cron waits on average':58} 450 s (7.5 minutes)")
    return m["p95"] <= 5 and m["made"] >= STEADY + BURST
