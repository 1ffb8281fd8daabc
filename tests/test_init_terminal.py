"""`jobsync init` in a real terminal (tmux): a wrong answer is asked again, an export with unusual headers
is mapped from its own header row, and the config it writes passes `doctor` against the sandbox."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
import uuid
from pathlib import Path

import yaml

from jobsync.sandbox.xero.server import XeroSandbox

HEADER = "Work Order,Customer,Email Address,Finished,Kind,Details,Qty,Bill Amount,Status"
ROW = "WO-7,Bondi Strata,strata@example.com,25/11/2026 10:00,labour,Leak repair,2,95.00,Completed"


class Pane:
    def __init__(self, session: str) -> None:
        self.session = session

    def text(self) -> str:
        done = subprocess.run(
            ["tmux", "capture-pane", "-p", "-J", "-S", "-200", "-t", self.session],
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout

    def wait_for(self, needle: str, timeout: float = 30) -> str:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            shown = self.text()
            if needle in shown:
                return shown
            time.sleep(0.1)
        raise AssertionError(f"never saw {needle!r}; the pane shows:\n{self.text()}")

    def answer(self, prompt: str, text: str) -> None:
        self.wait_for(prompt)
        before = self.text().count(prompt)
        subprocess.run(["tmux", "send-keys", "-t", self.session, "-l", text], check=True)
        subprocess.run(["tmux", "send-keys", "-t", self.session, "Enter"], check=True)
        end = time.monotonic() + 10  # until the terminal has taken the answer: echoed after its prompt
        while time.monotonic() < end:
            shown = self.text()
            if shown.count(prompt) > before or text in shown.rsplit(prompt, 1)[-1].split("\n")[0]:
                return
            time.sleep(0.05)


def test_init_through_a_wrong_answer_and_unusual_headers_to_a_config_doctor_passes(tmp_path: Path) -> None:
    (tmp_path / "weird.csv").write_text(f"{HEADER}\n{ROW}\n")
    config = tmp_path / "jobsync.yaml"
    with XeroSandbox(port=0) as sandbox:
        env = {"XERO_ACCESS_TOKEN": "sandbox", "XERO_TENANT_ID": sandbox.tenant_id}
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        command = f"cd {shlex.quote(str(tmp_path))} && env {exports} {shlex.quote(sys.executable)} -m jobsync init"
        command += f" --config {shlex.quote(str(config))}; echo INIT-EXIT=$?; sleep 60"
        session = f"jobsync-init-{uuid.uuid4().hex[:8]}"
        subprocess.run(
            ["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "50", command],
            check=True,
            env={**os.environ, "TERM": "xterm-256color"},
        )
        pane = Pane(session)
        try:
            pane.answer("Job system (csv/servicem8) [csv]:", "spreadsheet")  # wrong: asked again
            pane.wait_for("'spreadsheet' is not one of: csv, servicem8")
            pane.answer("Job system (csv/servicem8) [csv]:", "csv")
            pane.answer("CSV export path", "nope.csv")  # a typo: asked again, nothing lost
            pane.wait_for("cannot read")
            pane.answer("CSV export path", "weird.csv")
            shown = pane.wait_for("Which column holds unit_price?")
            assert "job_number: Work Order" in shown and "description: Details" in shown
            pane.answer("Which column holds unit_price?", "Price")  # not a header: asked again
            pane.wait_for("'Price' is not one of")
            pane.answer("Which column holds unit_price?", "Bill Amount")
            pane.answer("built-in Xero sandbox", "y")
            pane.answer("Sandbox URL", sandbox.url)
            for prompt in ("access token", "tenant id", "labour", "materials", "everything else", "Tax type"):
                pane.answer(prompt, "")
            pane.answer("Create invoices as", "")
            pane.answer("Payment terms (days)", "soon")
            pane.wait_for("'soon' is not a whole number of days")
            pane.answer("Payment terms (days)", "14")
            pane.answer("Bill jobs completed from", "2026-11-01")
            pane.answer("Timezone of the job system", "")
            pane.answer("Run `jobsync doctor` now?", "y")
            shown = pane.wait_for("INIT-EXIT=", timeout=60)
        finally:
            subprocess.run(["tmux", "kill-session", "-t", session], check=False)
        assert "all checks passed" in shown, shown
        assert "INIT-EXIT=0" in shown
        written = yaml.safe_load(config.read_text())
        assert written["source"]["columns"]["unit_price"] == "Bill Amount"
        assert written["source"]["columns"]["client_name"] == "Customer"
        assert written["xero"]["api_url"] == sandbox.api_url
