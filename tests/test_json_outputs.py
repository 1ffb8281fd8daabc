"""Scripts get JSON: `status --json` and `doctor --json` print one document, and a `--json` command
that fails prints a JSON error document on stdout as well as its exit code and its stderr line."""

from __future__ import annotations

import json
from pathlib import Path

from jobsync.sandbox.xero.server import XeroSandbox
from tests.e2e import make_workdir

ROW = "J1,1,Completed,25/11/2026 10:00,C1,Client 1,c1@example.com,,labour,,Labour,1,10.00,,,"


def test_status_json_has_the_documented_shape(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        work.write_jobs([ROW, ROW.replace("J1,1,", "J2,2,").replace(",1,10.00", ",x,10.00")])
        assert work.cli("run").exit_code == 1
        doc = json.loads(work.cli("status", "--json").output)
        assert set(doc) == {"source", "watermark", "runs", "holds"}
        assert doc["watermark"].endswith("+00:00")
        assert doc["runs"][0]["command"] == "run" and doc["runs"][0]["started_at"].endswith("+00:00")
        assert [h["job_number"] for h in doc["holds"]] == ["2"]
        check = json.loads(work.cli("status", "--check", "--json").output)
        assert set(check) == {"ok", "message"}


def test_doctor_json_lists_every_check(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        work.write_jobs([ROW])
        result = work.cli("doctor", "--json")
        doc = json.loads(result.output)
        assert doc["ok"] is (result.exit_code == 0)
        assert doc["checks"] and all(set(c) == {"name", "status", "detail", "fix"} for c in doc["checks"])


def test_a_failing_json_command_prints_a_json_error(tmp_path: Path) -> None:
    (tmp_path / "jobsync.yaml").write_text("xero: [not, a, mapping\n", encoding="utf-8")
    from typer.testing import CliRunner

    from jobsync.cli.main import app

    for args in (["preview", "--json"], ["status", "--json"], ["jobs", "list", "--json"], ["history", "--json"]):
        result = CliRunner().invoke(app, [*args, "--config", str(tmp_path / "jobsync.yaml")])
        assert result.exit_code == 2, (args, result.output)
        doc = json.loads(result.stdout.strip().splitlines()[-1])
        assert doc["error"]["code"] == 2 and doc["error"]["kind"] == "bad_config"
        assert "jobsync.yaml" in doc["error"]["message"] and isinstance(doc["error"]["fix"], list)
