"""Runs that stop and controls that race: a real `jobsync run` process is paused mid-batch (a pause
point), then a second process acts on it: a control, a SIGTERM, or Xero going away.

Each test asserts Xero's invoices: nothing billed twice, nothing lost, and every run recorded.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobsync.sandbox.xero.server import XeroSandbox
from jobsync.state.store import State
from tests.e2e import make_workdir

ROOT = Path(__file__).resolve().parents[1]


def _rows(numbers: range) -> list[str]:
    return [
        f"J{n},{n},Completed,20/11/2026 10:00,C{n},Client {n},c{n}@example.com,,labour,,Labour,1,10.00,,,"
        for n in numbers
    ]


def _env(work: Path, pause_at: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBSYNC_")}
    env["PYTHONPATH"] = str(ROOT)
    env["JOBSYNC_ERROR_LOG"] = str(work / "errors.log")
    if pause_at:
        env["JOBSYNC_PAUSE_AT"] = pause_at
        env["JOBSYNC_PAUSE_FILE"] = str(work / "paused")
    return env


def _start_run(work: Path, pause_at: str, *args: str) -> subprocess.Popen[str]:
    run = subprocess.Popen(
        [sys.executable, "-m", "jobsync", "run", "--config", "jobsync.yaml", *args],
        cwd=work,
        env=_env(work, pause_at),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not (work / "paused").exists():
        assert run.poll() is None, run.communicate()
        assert time.monotonic() < deadline, "the run never reached its pause point"
        time.sleep(0.02)
    return run


def _release(work: Path) -> None:
    (work / "paused").unlink()


def _cli(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jobsync", *args, "--config", "jobsync.yaml"],
        cwd=work,
        env=_env(work),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _references(sandbox: XeroSandbox) -> list[str]:
    return sorted(i["Reference"] for i in sandbox.invoices())


CONTROLS = [
    ("jobs", "retry", "1001"),
    ("jobs", "ignore", "1001", "--reason", "test"),
    ("jobs", "forget", "1001", "--force"),
    ("jobs", "mark-invoiced", "1001", "--invoice", "INV-HAND"),
    ("contacts", "keep-separate", "a-contact", "b-contact"),
    ("contacts", "map", "csv:C1001", "--new-name", "Client 1001 (Bondi)"),
]


@pytest.mark.parametrize("control", CONTROLS, ids=[" ".join(c[:2]) for c in CONTROLS])
def test_a_control_against_a_paused_run_waits_then_exits_4(control: tuple[str, ...], tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        work.write_jobs(_rows(range(1001, 1004)))
        run = _start_run(tmp_path, "before_invoice_batch")
        try:
            started = time.monotonic()
            refused = _cli(tmp_path, *control, "--wait", "0.5")
            assert refused.returncode == 4, refused.stderr
            assert "holds the lock" in refused.stderr and "after waiting 0.5 s" in refused.stderr
            assert time.monotonic() - started >= 0.5
        finally:
            _release(tmp_path)
        assert run.wait(60) == 0
        assert _references(sandbox) == ["1001", "1002", "1003"]


def test_mark_invoiced_during_a_run_waits_for_it_and_nothing_is_billed_twice(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        work.write_jobs(_rows(range(1001, 1004)))
        run = _start_run(tmp_path, "before_invoice_batch")
        control = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jobsync",
                "jobs",
                "mark-invoiced",
                "J1004",
                "--invoice",
                "INV-HAND",
                "--wait",
                "60",
                "--config",
                "jobsync.yaml",
            ],
            cwd=tmp_path,
            env=_env(tmp_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(0.5)
        assert control.poll() is None  # waiting on the lock, not writing under the run
        _release(tmp_path)
        assert run.wait(60) == 0
        assert control.wait(60) == 0, control.communicate()
        work.write_jobs(_rows(range(1001, 1005)))
        assert _cli(tmp_path, "run").returncode == 0
        assert _references(sandbox) == ["1001", "1002", "1003"]  # 1004 was billed by hand, never by jobsync
        with State.open(tmp_path / "state.db") as state:
            assert ("csv", "J1004", "final") in state.ledger_for("csv", ["J1004"])


def test_sigterm_mid_batch_stops_between_calls_with_exit_5_and_a_recorded_run(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        work.write_jobs(_rows(range(1001, 1061)))  # 60 jobs: two invoice batches of 50 and 10
        run = _start_run(tmp_path, "after_invoice_batch", "--json")
        run.send_signal(signal.SIGTERM)
        _release(tmp_path)
        out, err = run.communicate(timeout=60)
        assert run.returncode == 5, err
        assert "stopped on request (SIGTERM); nothing lost; the next run continues" in err
        assert "Traceback" not in err
        doc = json.loads(out)  # --json prints its document whatever the exit code
        assert doc["counts"]["created"] == 50
        assert len(_references(sandbox)) == 50  # the first batch finished and was recorded
        with State.open(tmp_path / "state.db") as state:
            last = state.recent_runs(1)[0]
        assert last.exit_code == 5 and last.created == 50 and Path(last.report_path or "").is_file()
        check = _cli(tmp_path, "status", "--check")
        assert check.returncode != 0 and "stopped early (exit 5)" in check.stdout + check.stderr
        again = _cli(tmp_path, "run")
        assert again.returncode == 0, again.stderr
        references = _references(sandbox)
        assert len(references) == len(set(references)) == 60


def test_xero_dying_mid_run_exits_3_says_unconfirmed_and_the_next_run_adopts(tmp_path: Path) -> None:
    data = tmp_path / "org"
    (tmp_path / "work").mkdir()
    with XeroSandbox(port=0, data_dir=str(data)) as sandbox:
        port = sandbox.port
        work = make_workdir(tmp_path / "work", sandbox)
        work.write_jobs(_rows(range(1001, 1004)))
        # Xero creates the invoices and the connection drops before the answer; then Xero is gone.
        sandbox.faults.fail_next("PUT", "/api.xro/2.0/Invoices", status="drop_after")
        run = _start_run(tmp_path / "work", "before_invoice_batch", "--json")
        _release(tmp_path / "work")
        deadline = time.monotonic() + 30
        while not sandbox.invoices():
            assert time.monotonic() < deadline
            time.sleep(0.005)
    out, err = run.communicate(timeout=120)  # the sandbox is stopped: the retry meets a refused port
    assert run.returncode == 3, err
    doc = json.loads(out)
    reasons = [r["reason"] for r in doc["results"] if r["outcome"] == "failed"]
    assert len(reasons) == 3 and all(r.startswith("unconfirmed:") for r in reasons)
    assert all("do not create it by hand" in r for r in reasons)
    with XeroSandbox(port=port, data_dir=str(data)) as sandbox:
        again = _cli(tmp_path / "work", "run")
        assert again.returncode == 0, again.stderr
        assert _references(sandbox) == ["1001", "1002", "1003"]  # adopted, none created twice
