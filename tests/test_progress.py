"""Live progress on a terminal, none when piped, and `run -q` that is silent on a quiet run."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

from jobsync.runtime import progress
from jobsync.sandbox.xero.server import XeroSandbox
from tests.test_names_and_kinds import _workdir

JOBS = 120


def _rows() -> list[str]:
    return [
        f"J{n},{n},Completed,25/11/2026 10:00,C{n},Client {n},c{n}@example.com,,labour,,Labour,1,10.00,,,"
        for n in range(1, JOBS + 1)
    ]


def _env() -> dict[str, str]:
    return {**os.environ, "COLUMNS": "100", "TERM": "xterm-256color", "NO_COLOR": ""}


def _run_on_a_pty(args: list[str], cwd: Path) -> tuple[int, str]:
    leader, follower = pty.openpty()
    proc = subprocess.Popen(args, stdin=follower, stdout=follower, stderr=follower, cwd=cwd, env=_env())
    os.close(follower)
    seen = bytearray()
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(leader)
    return proc.wait(timeout=60), seen.decode("utf-8", "replace")


def test_a_run_on_a_terminal_shows_its_phases_and_n_of_m(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = _workdir(tmp_path, sandbox)
        work.write_jobs(_rows())
        code, seen = _run_on_a_pty([sys.executable, "-m", "jobsync", "run", "--config", str(work.config)], tmp_path)
        assert code == 0, seen
        assert "reading csv" in seen and "creating contacts" in seen
        assert "creating invoices" in seen and f"{JOBS}/{JOBS}" in seen
        assert len(sandbox.invoices()) == JOBS


def test_piped_there_is_no_progress_and_q_is_silent_when_there_is_nothing_to_do(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = _workdir(tmp_path, sandbox)
        work.write_jobs(_rows()[:3])
        args = [sys.executable, "-m", "jobsync", "run", "--config", str(work.config)]
        piped = subprocess.run([*args, "-q"], capture_output=True, text=True, cwd=tmp_path, env=_env(), timeout=120)
        assert piped.returncode == 0, piped.stderr
        assert piped.stderr == ""  # no progress, no spinner escapes
        [line] = piped.stdout.splitlines()
        assert line.startswith("jobsync run ") and "created 3" in line
        again = subprocess.run([*args, "-q"], capture_output=True, text=True, cwd=tmp_path, env=_env(), timeout=120)
        assert (again.returncode, again.stdout, again.stderr) == (0, "", "")
        full = subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, env=_env(), timeout=120)
        assert "creating invoices" not in full.stderr + full.stdout and "\x1b" not in full.stderr


def test_a_wait_is_announced_with_its_reason_before_it_sleeps() -> None:
    heard: list[tuple[str, object, object]] = []

    class Listener:
        def phase(self, name: str, total: int | None) -> None:
            heard.append(("phase", name, total))

        def advance(self, done: int) -> None:
            heard.append(("advance", done, None))

        def waiting(self, seconds: float, reason: str) -> None:
            heard.append(("waiting", seconds, reason))

    slept: list[float] = []
    with progress.listening(Listener()):
        progress.phase("creating invoices", 7)
        progress.announced(slept.append, "Xero asked to wait")(12.0)
        progress.announced(slept.append, "pacing")(0.01)  # too short to mention
        progress.advance(7)
    progress.phase("after")  # nobody listens any more
    assert heard == [
        ("phase", "creating invoices", 7),
        ("waiting", 12.0, "Xero asked to wait"),
        ("advance", 7, None),
    ]
    assert slept == [12.0, 0.01]
