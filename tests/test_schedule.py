"""`jobsync schedule`: systemd units checked by systemd-analyze, and the cron line run with an empty environment."""

from __future__ import annotations

import configparser
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from jobsync.app import schedule
from jobsync.cli import setup as cli_setup
from jobsync.core.errors import ConfigError
from jobsync.sandbox.xero.server import XeroSandbox
from tests.e2e import HEADER

CONFIG = """\
xero:
  api_url: {api_url}
  tenant_id: ${{XERO_TENANT_ID}}
  auth: {{ mode: static_token, token: "${{XERO_ACCESS_TOKEN}}" }}
source:
  type: csv
  path: jobs.csv
  start_from: 2026-11-01
  timezone: Australia/Sydney
  columns: {{ job_id: Job ID, job_number: Job Number, status: Status, completed_at: Completed At,
    client_id: Client ID, client_name: Client Name, client_email: Client Email, line_kind: Line Type,
    description: Description, quantity: Quantity, unit_price: Unit Price }}
rules:
  default: {{ account_code: "200", tax_type: OUTPUT }}
state: {{ path: state.db }}
reports: {{ dir: reports }}
"""
ROW = "J1,1001,Completed,20/11/2026 10:00,C1,Cron Client,cron@client.example,,labour,,Labour,2,100.00,,,"


def _config(tmp_path: Path, api_url: str = "http://127.0.0.1:9/api.xro/2.0") -> Path:
    path = tmp_path / "my config" / "jobsync.yaml"  # a space: every path must be quoted
    path.parent.mkdir()
    path.write_text(CONFIG.format(api_url=api_url))
    (path.parent / "jobs.csv").write_text(f"{HEADER}\n{ROW}\n")
    return path


def _plan(tmp_path: Path, config: Path, every: int = 15) -> schedule.Plan:
    return schedule.make_plan(config, {"HOME": str(tmp_path / "home")}, every)


def _units(tmp_path: Path, plan: schedule.Plan) -> Path:
    unit_dir = tmp_path / "units"
    unit_dir.mkdir(exist_ok=True)
    (unit_dir / "jobsync.service").write_text(schedule.service_unit(plan))
    (unit_dir / "jobsync.timer").write_text(schedule.timer_unit(plan))
    return unit_dir


def test_systemd_units_parse_with_persistent_timer_absolute_paths_and_env_file(tmp_path: Path) -> None:
    config = _config(tmp_path)
    plan = _plan(tmp_path, config)
    service = configparser.ConfigParser(interpolation=None)
    service.read_string(schedule.service_unit(plan))
    timer = configparser.ConfigParser(interpolation=None)
    timer.read_string(schedule.timer_unit(plan))
    exec_start = service["Service"]["ExecStart"]
    assert exec_start.startswith(str(Path(sys.executable).parent / "jobsync") + " run --config ")
    assert f"'{config.resolve()}'" in exec_start
    assert service["Service"]["EnvironmentFile"] == str(tmp_path / "home" / ".config" / "jobsync" / "jobsync.env")
    assert service["Service"]["Type"] == "oneshot"
    # A stop lets the call in flight finish: a full 120 s Retry-After wait and one more request.
    assert service["Service"]["KillSignal"] == "SIGTERM" and int(service["Service"]["TimeoutStopSec"]) >= 150
    assert timer["Timer"]["Persistent"] == "true"
    assert timer["Timer"]["OnCalendar"] == "*:0/15"
    assert 10 <= int(timer["Timer"]["RandomizedDelaySec"]) <= 300
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    unit_dir = _units(tmp_path, _plan(tmp_path, _config(tmp_path), every=120))
    result = subprocess.run(
        ["systemd-analyze", "verify", "jobsync.timer", "jobsync.service"],
        cwd=unit_dir,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    # verify reports unknown keys and bad values as warnings on stderr, naming the unit file.
    assert "jobsync." not in result.stderr, result.stderr
    calendar = subprocess.run(
        ["systemd-analyze", "calendar", schedule.on_calendar(120)], capture_output=True, text=True, timeout=60
    )
    assert calendar.returncode == 0 and "00/2:00:00" in calendar.stdout


@pytest.mark.parametrize(
    ("minutes", "cron", "calendar"),
    [
        (5, "*/5 * * * *", "*:0/5"),
        (60, "0 */1 * * *", "0/1:00"),
        (360, "0 */6 * * *", "0/6:00"),
        (1440, "0 0 * * *", "daily"),
    ],
)
def test_intervals(tmp_path: Path, minutes: int, cron: str, calendar: str) -> None:
    plan = _plan(tmp_path, _config(tmp_path), every=minutes)
    assert schedule.cron_line(plan).startswith(cron + " ")
    assert schedule.on_calendar(minutes) == calendar


@pytest.mark.parametrize("minutes", [0, 7, 45, 90, 600])
def test_uneven_intervals_are_refused(minutes: int) -> None:
    with pytest.raises(ConfigError, match="cannot be scheduled evenly"):
        schedule.check_interval(minutes)


def test_cron_line_runs_jobsync_in_an_empty_environment_against_the_sandbox(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        config = _config(tmp_path, sandbox.api_url)
        plan = _plan(tmp_path, config)
        assert plan.variables == ("XERO_TENANT_ID", "XERO_ACCESS_TOKEN")
        secrets = {"XERO_TENANT_ID": sandbox.tenant_id, "XERO_ACCESS_TOKEN": "sandbox"}
        assert schedule.write_env_file(plan, secrets)
        assert stat.S_IMODE(plan.env_file.stat().st_mode) == 0o600
        command = schedule.cron_line(plan).split(" ", 5)[5]  # drop the five time fields
        # What cron does: /bin/sh -c with (almost) nothing in the environment, started in $HOME.
        result = subprocess.run(["/bin/sh", "-c", command], env={}, cwd=tmp_path, timeout=120)
        assert result.returncode == 0, (config.parent / "jobsync-cron.log").read_text()
        invoices = [i for i in sandbox.invoices() if i.get("Reference") == "1001"]
        assert len(invoices) == 1 and invoices[0]["Total"] in (220, 220.0, "220.00")


def test_env_file_keeps_an_existing_one_and_blanks_unset_variables(tmp_path: Path) -> None:
    plan = _plan(tmp_path, _config(tmp_path))
    assert schedule.write_env_file(plan, {"XERO_TENANT_ID": "t 1"})
    assert plan.env_file.read_text().splitlines()[1:] == ["XERO_TENANT_ID='t 1'", "XERO_ACCESS_TOKEN="]
    assert not schedule.write_env_file(plan, {"XERO_TENANT_ID": "other"})
    assert "'t 1'" in plan.env_file.read_text()


def test_cli_prints_cron_or_systemd_and_installs_user_units(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("XERO_ACCESS_TOKEN", "secret-token")
    app = typer.Typer()
    cli_setup.register(app)
    runner = CliRunner()
    cron = runner.invoke(app, ["schedule", "--cron", "--config", str(config)])
    assert cron.exit_code == 0, cron.output
    assert "*/15 * * * * " in cron.output and "secret-token" not in cron.output
    both = runner.invoke(app, ["schedule", "--cron", "--systemd", "--config", str(config)])
    assert both.exit_code == 2 and "choose one of --cron or --systemd" in both.output
    units = runner.invoke(app, ["schedule", "--systemd", "--config", str(config)])
    assert "[Timer]" in units.output and "Persistent=true" in units.output
    installed = runner.invoke(app, ["schedule", "--systemd", "--install", "--user", "--config", str(config)])
    assert installed.exit_code == 0, installed.output
    unit_dir = tmp_path / "xdg" / "systemd" / "user"
    assert (unit_dir / "jobsync.timer").read_text() == schedule.timer_unit(_plan_xdg(tmp_path, config))
    env_file = tmp_path / "xdg" / "jobsync" / "jobsync.env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert "XERO_ACCESS_TOKEN=secret-token" in env_file.read_text()
    assert "systemctl --user enable --now jobsync.timer" in installed.output


def _plan_xdg(tmp_path: Path, config: Path) -> schedule.Plan:
    return schedule.make_plan(config, {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}, 15)


def test_the_serve_unit_restarts_on_failure_stops_gracefully_and_verifies(tmp_path: Path) -> None:
    plan = _plan(tmp_path, _config(tmp_path))
    text = schedule.serve_unit(plan)
    unit_dir = tmp_path / "serve-units"
    unit_dir.mkdir()
    (unit_dir / "jobsync-serve.service").write_text(text)
    assert "Restart=on-failure" in text and "KillSignal=SIGTERM" in text and " serve --config " in text
    result = subprocess.run(
        ["systemd-analyze", "verify", "jobsync-serve.service"], cwd=unit_dir, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert "jobsync-serve" not in result.stderr, result.stderr
