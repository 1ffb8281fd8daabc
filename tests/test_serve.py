"""`jobsync serve` as a real process on a real port: webhooks in, invoices and payments out, refusals plain."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests
from typer.testing import CliRunner

from jobsync.cli.main import app
from jobsync.sandbox.servicem8 import ServiceM8Sandbox
from jobsync.sandbox.xero.server import XeroSandbox
from tests.e2e import servicem8_config, xero_api

ROOT = Path(__file__).resolve().parent.parent
SM8_SECRET = "s" * 12 + "3f9c2a7e1b6d4c8a9e0f5b7d"  # 36 characters
XERO_KEY = "xero-webhook-key-for-tests"
SIGNED_SECRET = "in-house-shared-secret"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _config(tmp_path: Path, xero: XeroSandbox, sm8: ServiceM8Sandbox, **more: Any) -> Path:
    serve = {
        **more,
        "servicem8_secret": "${TEST_SM8_SECRET}",
        "xero_webhook_key": "${TEST_XERO_KEY}",
        "signed": {"inhouse": {"secret": "${TEST_SIGNED_SECRET}", "header": "X-Hub-Signature"}},
    }
    return servicem8_config(tmp_path, xero, sm8, serve=serve)


@contextmanager
def _service(
    config: Path, extra_env: dict[str, str] | None = None, *, json_logs: bool = False
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TEST_SM8_SECRET": SM8_SECRET}
    env |= {"TEST_XERO_KEY": XERO_KEY, "TEST_SIGNED_SECRET": SIGNED_SECRET, **(extra_env or {})}
    cmd = [sys.executable, "-m", "jobsync.cli.main", *(["--log-format", "json", "-v"] if json_logs else [])]
    cmd += ["serve", "--config", str(config), "--port", str(port)]
    proc = subprocess.Popen(cmd, cwd=config.parent, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if requests.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.05)
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)


def _wait_for(check: Any, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    return check()


def _job_uuid(sm8: ServiceM8Sandbox, number: str) -> str:
    return next(j["uuid"] for j in sm8.records["job"].values() if j["generated_job_id"] == number)


def _sm8_event(job: str) -> bytes:
    return json.dumps(
        {"object": "job", "entry": [{"uuid": job, "changed_fields": ["status"], "time": "2026-03-02 10:00:00"}]}
    ).encode()


def _xero_signature(body: bytes) -> str:
    return base64.b64encode(hmac.new(XERO_KEY.encode(), body, hashlib.sha256).digest()).decode()


def _inbox(tmp_path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(tmp_path / "state.db") as db:
        return list(db.execute("SELECT source, state FROM inbox ORDER BY id"))


def test_a_servicem8_webhook_invoices_that_job_within_seconds_and_a_replay_creates_nothing(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as xero, ServiceM8Sandbox(port=0).load_seed() as sm8:
        with _service(_config(tmp_path, xero, sm8)) as (url, proc):
            hook = f"{url}/webhooks/servicem8/{SM8_SECRET}"
            assert requests.get(hook, params={"mode": "subscribe", "challenge": "c-123"}).text == "c-123"
            assert (
                requests.get(
                    f"{url}/webhooks/servicem8/wrong", params={"mode": "subscribe", "challenge": "x"}
                ).status_code
                == 404
            )
            event = _sm8_event(_job_uuid(sm8, "1001"))
            started = time.monotonic()
            assert requests.post(hook, data=event, timeout=10).status_code == 200
            made = _wait_for(lambda: [i for i in xero.invoices() if i.get("Reference") == "1001 / PO PO-7781"])
            assert len(made) == 1 and time.monotonic() - started < 20
            assert [i.get("Reference") for i in xero.invoices()] == ["1001 / PO PO-7781"]  # just that job
            assert requests.post(hook, data=event, timeout=10).status_code == 200  # the same event again
            time.sleep(1)
            assert len(xero.invoices()) == 1
            assert len(_inbox(tmp_path)) == 1
            metrics = requests.get(url + "/metrics").text
            assert 'jobsync_webhook_events_replayed_total{source="servicem8"} 1.0' in metrics
            samples = dict(line.rsplit(" ", 1) for line in metrics.splitlines() if line and not line.startswith("#"))
            assert float(samples["jobsync_xero_calls_total"]) >= 2  # at least the contact and the invoice
            assert float(samples["jobsync_xero_rate_limited_total"]) == 0
            assert 'jobsync_jobs_waiting{kind="held"}' in samples and "jobsync_jobs_synced_total" in samples
            assert requests.get(url + "/readyz").status_code == 200
        assert proc.returncode == 0  # SIGTERM: graceful, exit 0


def test_refusals_are_plain_and_write_nothing(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as xero, ServiceM8Sandbox(port=0).load_seed() as sm8:
        with _service(_config(tmp_path, xero, sm8)) as (url, _):
            body = json.dumps({"id": "e1", "job_id": _job_uuid(sm8, "1001")}).encode()
            assert (
                requests.post(
                    f"{url}/webhooks/signed/inhouse", data=body, headers={"X-Hub-Signature": "00"}
                ).status_code
                == 401
            )
            good = hmac.new(SIGNED_SECRET.encode(), body, hashlib.sha256).hexdigest()
            assert (
                requests.post(f"{url}/webhooks/signed/nobody", data=body, headers={"X-Hub-Signature": good}).status_code
                == 404
            )
            assert requests.post(f"{url}/webhooks/servicem8/not-the-secret", data=_sm8_event("x")).status_code == 404
            big = b"{" + b" " * (1_048_576 + 10) + b"}"
            assert requests.post(f"{url}/webhooks/servicem8/{SM8_SECRET}", data=big).status_code == 413
            unknown = requests.get(f"{url}/admin")
            assert unknown.status_code == 404 and unknown.content == b""
            assert _inbox(tmp_path) == []
            assert (
                requests.post(
                    f"{url}/webhooks/signed/inhouse", data=body, headers={"X-Hub-Signature": f"sha256={good}"}
                ).status_code
                == 200
            )
            assert [s for s, _ in _inbox(tmp_path)] == ["servicem8"]


def test_xero_intent_to_receive_and_an_invoice_event_brings_the_payment_to_servicem8(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as xero, ServiceM8Sandbox(port=0).load_seed() as sm8:
        config = _config(tmp_path, xero, sm8)
        with _service(config) as (url, _):
            intent = json.dumps(
                {"events": [], "firstEventSequence": 0, "lastEventSequence": 0, "entropy": "X"}
            ).encode()
            ok = requests.post(
                f"{url}/webhooks/xero", data=intent, headers={"x-xero-signature": _xero_signature(intent)}
            )
            assert ok.status_code == 200 and ok.content == b""
            bad = requests.post(f"{url}/webhooks/xero", data=intent, headers={"x-xero-signature": "bm9wZQ=="})
            assert bad.status_code == 401
            requests.post(f"{url}/webhooks/servicem8/{SM8_SECRET}", data=_sm8_event(_job_uuid(sm8, "1001")))
            invoice = _wait_for(
                lambda: next((i for i in xero.invoices() if i.get("Reference") == "1001 / PO PO-7781"), None)
            )
            payment = {"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Account": {"Code": "090"}}
            payment |= {"Amount": Decimal("40.00"), "Date": "2026-03-10"}
            xero_api(xero).create_payment(xero.tenant_id, payment)
            event = {
                "resourceUrl": f"https://api.xero.com/api.xro/2.0/Invoices/{invoice['InvoiceID']}",
                "resourceId": invoice["InvoiceID"],
                "eventDateUtc": "2026-03-10T01:00:00.000",
                "eventType": "UPDATE",
                "eventCategory": "INVOICE",
                "tenantId": xero.tenant_id,
                "tenantType": "ORGANISATION",
            }
            body = json.dumps(
                {"events": [event], "firstEventSequence": 1, "lastEventSequence": 1, "entropy": "Y"}
            ).encode()
            assert (
                requests.post(
                    f"{url}/webhooks/xero", data=body, headers={"x-xero-signature": _xero_signature(body)}
                ).status_code
                == 200
            )
            job = _job_uuid(sm8, "1001")
            paid = _wait_for(lambda: [p for p in sm8.records["jobpayment"].values() if p["job_uuid"] == job])
            assert [p["amount"] for p in paid] == ["40.00"]


def test_sigkill_mid_burst_then_a_restart_syncs_every_event_once(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as xero, ServiceM8Sandbox(port=0).load_seed() as sm8:
        config = _config(tmp_path, xero, sm8)
        jobs = sorted(sm8.records["job"])
        with _service(config) as (url, proc):
            for job in jobs:
                assert requests.post(f"{url}/webhooks/servicem8/{SM8_SECRET}", data=_sm8_event(job)).status_code == 200
            proc.send_signal(signal.SIGKILL)  # mid-burst: the worker may be part-way through a pass
            proc.wait(timeout=30)
        assert len(_inbox(tmp_path)) == len(jobs)  # every accepted event survived the kill
        with _service(config):
            assert _wait_for(lambda: all(state != "new" for _, state in _inbox(tmp_path)), 90)
        references = Counter(i.get("Reference") for i in xero.invoices())
        assert references and max(references.values()) == 1
        CliRunner().invoke(app, ["run", "--config", str(config)])  # a clean run after the restart
        assert Counter(i.get("Reference") for i in xero.invoices()) == references  # nothing was left undone


def test_a_receiver_past_its_rate_gets_429_and_the_others_are_not_held_back(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as xero, ServiceM8Sandbox(port=0).load_seed() as sm8:
        with _service(_config(tmp_path, xero, sm8, rate_per_minute=2)) as (url, _):
            hook = f"{url}/webhooks/servicem8/{SM8_SECRET}"
            codes = [requests.post(hook, data=_sm8_event(f"job-{n}")).status_code for n in range(3)]
            assert codes == [200, 200, 429]
            intent = b'{"events": []}'
            ok = requests.post(
                f"{url}/webhooks/xero", data=intent, headers={"x-xero-signature": _xero_signature(intent)}
            )
            assert ok.status_code == 200
            assert (
                'jobsync_webhook_rejected_total{reason="rate",source="servicem8"} 1.0'
                in requests.get(url + "/metrics").text
            )


def test_a_webhook_lost_on_the_way_is_caught_by_the_reconciliation_poll(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as xero, ServiceM8Sandbox(port=0).load_seed() as sm8:
        config = _config(tmp_path, xero, sm8, poll_minutes=0)  # poll at once and on every idle turn
        with _service(config):
            # No webhook is sent at all: the completed jobs still reach Xero, by the poll alone.
            made = _wait_for(lambda: [i for i in xero.invoices() if i.get("Reference") == "1001 / PO PO-7781"])
            assert len(made) == 1
        assert _inbox(tmp_path) == []


def test_sigterm_during_a_xero_call_finishes_it_records_it_and_exits_0(tmp_path: Path) -> None:
    """The unit's stop: the invoice call in flight is answered and recorded, the service exits 0, and a
    restart sends nothing twice."""
    with XeroSandbox(port=0) as xero, ServiceM8Sandbox(port=0).load_seed() as sm8:
        config = _config(tmp_path, xero, sm8)
        xero.faults.delay_next("PUT", "/api.xro/2.0/Invoices", seconds=3)
        with _service(config) as (url, proc):
            requests.post(f"{url}/webhooks/servicem8/{SM8_SECRET}", data=_sm8_event(_job_uuid(sm8, "1001")))
            assert _wait_for(lambda: _ledger(tmp_path, "in_flight"), 30)  # the PUT is on its way
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 0
        assert [i.get("Reference") for i in xero.invoices()] == ["1001 / PO PO-7781"]
        assert _ledger(tmp_path, "confirmed") == ["1001 / PO PO-7781"]
        with _service(config) as (url, _):
            time.sleep(2)
        assert len(xero.invoices()) == 1


def _ledger(tmp_path: Path, state: str) -> list[str]:
    with sqlite3.connect(tmp_path / "state.db") as db:
        return [r for (r,) in db.execute("SELECT reference FROM ledger WHERE state = ?", (state,))]


def test_the_service_logs_one_json_object_per_line_with_fields_and_never_a_body(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as xero, ServiceM8Sandbox(port=0).load_seed() as sm8:
        with _service(_config(tmp_path, xero, sm8), json_logs=True) as (url, proc):
            body = json.dumps({"id": "e1", "job_id": "marker-in-the-body"}).encode()
            refused = requests.post(f"{url}/webhooks/signed/inhouse", data=body, headers={"X-Hub-Signature": "00"})
            assert refused.status_code == 401
            requests.post(f"{url}/webhooks/servicem8/{SM8_SECRET}", data=_sm8_event(_job_uuid(sm8, "1001")))
            _wait_for(lambda: xero.invoices())
        _, stderr = proc.communicate(timeout=30)
    lines = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    assert {"time", "level", "logger", "message"} <= set(lines[0])
    refusal = next(e for e in lines if e["message"] == "webhook refused")
    assert refusal["source"] == "signed:inhouse" and refusal["status"] == 401
    kept = next(e for e in lines if e["message"] == "webhook kept")
    assert kept["source"] == "servicem8" and kept["added"] == 1
    assert "marker-in-the-body" not in stderr and SM8_SECRET not in stderr and SIGNED_SECRET not in stderr


def test_metrics_can_be_made_to_need_a_bearer_token(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as xero, ServiceM8Sandbox(port=0).load_seed() as sm8:
        config = _config(tmp_path, xero, sm8, metrics_token="${TEST_METRICS_TOKEN}")
        token = "metrics-token-0123456789abcdef"
        with _service(config, {"TEST_METRICS_TOKEN": token}) as (url, _):
            assert requests.get(url + "/metrics").status_code == 401
            assert requests.get(url + "/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
            shown = requests.get(url + "/metrics", headers={"Authorization": f"Bearer {token}"})
            assert shown.status_code == 200 and "jobsync_xero_calls_total" in shown.text
            assert requests.get(url + "/healthz").status_code == 200  # the probes stay open
