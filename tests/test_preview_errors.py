"""A preview that cannot finish says why and exits as the run would: never a quiet "0 jobs"."""

from __future__ import annotations

from pathlib import Path

import yaml

from jobsync.sandbox.xero.server import XeroSandbox
from tests.e2e import make_workdir


def test_a_refused_token_is_an_error_with_the_fix_not_an_empty_plan(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        work.write_jobs(["J1,1,Completed,25/11/2026 10:00,C1,Client 1,c1@example.com,,labour,,Labour,1,10.00,,,"])
        data = yaml.safe_load(work.config.read_text())
        data["xero"]["auth"]["token"] = "not-the-sandbox-token"
        work.config.write_text(yaml.safe_dump(data))
        shown = work.cli("preview")
        assert shown.exit_code == 3, shown.output
        assert "Xero refused the token (401)" in shown.output and "jobsync auth login" in shown.output
        assert "Jobs found: 0" not in shown.output and "Traceback" not in shown.output


def test_an_unreachable_xero_stops_the_preview_with_exit_3(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        work.write_jobs(["J1,1,Completed,25/11/2026 10:00,C1,Client 1,c1@example.com,,labour,,Labour,1,10.00,,,"])
    shown = work.cli("preview")  # the sandbox is gone: nothing answers on its port
    assert shown.exit_code == 3, shown.output
    assert "Jobs found" not in shown.output and "Traceback" not in shown.output
