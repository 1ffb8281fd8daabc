"""`jobsync doctor` against a live sandbox: a good setup, then one broken item at a time."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from jobsync.app import doctor
from jobsync.app.init_config import Answers, write_config
from jobsync.app.wiring import xero_login
from jobsync.cli import setup as cli_setup
from jobsync.sandbox.servicem8 import ServiceM8Sandbox
from jobsync.sandbox.xero.server import XeroSandbox
from jobsync.state.store import State
from jobsync.xero import token_store
from tests import oauth_support
from tests.receivers import http_receiver

SAMPLE = Path(__file__).resolve().parents[1] / "jobsync" / "samples" / "jobs.csv"


@pytest.fixture(scope="module")
def sandbox() -> Iterator[XeroSandbox]:
    with XeroSandbox(port=0) as box:
        yield box


def _answers(box: XeroSandbox, **kw: object) -> Answers:
    base = Answers(
        api_url=box.api_url,
        identity_url=box.identity_url,
        labour_account="205",
        materials_account="210",
        start_from=date(2026, 11, 1),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def _setup(tmp_path: Path, box: XeroSandbox, **kw: object) -> tuple[Path, dict[str, str]]:
    config = tmp_path / "jobsync.yaml"
    write_config(config, _answers(box, **kw))
    shutil.copy(SAMPLE, tmp_path / "jobs.csv")
    return config, {"XERO_TENANT_ID": box.tenant_id, "XERO_ACCESS_TOKEN": "sandbox"}


def _by_name(report: doctor.Report) -> dict[str, doctor.Check]:
    return {c.name: c for c in report.checks}


def _failed(report: doctor.Report) -> list[doctor.Check]:
    return [c for c in report.checks if c.status == doctor.FAIL]


def test_good_setup_passes_every_check(tmp_path: Path, sandbox: XeroSandbox) -> None:
    config, env = _setup(tmp_path, sandbox)
    report = doctor.run_checks(config, env)
    assert report.ok, _failed(report)
    checks = _by_name(report)
    assert checks["Xero tenant reachable, token accepted"].status == doctor.OK
    assert "Demo Trades" in checks["Xero tenant reachable, token accepted"].detail
    assert checks["rule accounts and tax types active"].status == doctor.OK
    assert checks["job system reachable"].status == doctor.OK
    # No notify section: worth a warning, not a failure.
    assert checks["notification channels reachable"].status == doctor.WARN


def test_cli_prints_ticks_and_exits_0_then_crosses_with_fix_and_exits_1(
    tmp_path: Path, sandbox: XeroSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, env = _setup(tmp_path, sandbox)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app = typer.Typer()
    cli_setup.register(app)
    good = CliRunner().invoke(app, ["doctor", "--config", str(config)])
    assert good.exit_code == 0, good.output
    assert "✓ Xero tenant reachable, token accepted" in good.output
    assert "✗" not in good.output
    monkeypatch.delenv("XERO_ACCESS_TOKEN")
    bad = CliRunner().invoke(app, ["doctor", "--config", str(config)])
    assert bad.exit_code == 1
    assert "✗ secrets present: not set: XERO_ACCESS_TOKEN" in bad.output
    assert "fix: export XERO_ACCESS_TOKEN" in bad.output


def test_missing_secret_fails_and_skips_network_checks_but_still_checks_local_files(
    tmp_path: Path, sandbox: XeroSandbox
) -> None:
    config, env = _setup(tmp_path, sandbox)
    del env["XERO_ACCESS_TOKEN"]
    report = doctor.run_checks(config, env)
    checks = _by_name(report)
    assert [c.name for c in _failed(report)] == ["secrets present"]
    assert checks["Xero tenant reachable, token accepted"].status == doctor.SKIP
    assert checks["job system reachable"].status == doctor.OK  # a CSV needs no secret
    assert checks["state file writable, lock free, 0600"].status == doctor.OK


def test_invalid_config_names_the_key(tmp_path: Path, sandbox: XeroSandbox) -> None:
    config, env = _setup(tmp_path, sandbox)
    config.write_text(config.read_text().replace("payment_terms_days:", "payment_term_days:"))
    report = doctor.run_checks(config, env)
    (failed,) = _failed(report)
    assert failed.name == "config valid"
    assert "xero.payment_term_days: unknown key" in failed.detail
    assert str(config) in failed.fix


def test_missing_config_file_points_at_init(tmp_path: Path) -> None:
    report = doctor.run_checks(tmp_path / "nope.yaml", {})
    (failed,) = _failed(report)
    assert "jobsync init" in failed.fix


def test_csv_missing_a_configured_column(tmp_path: Path, sandbox: XeroSandbox) -> None:
    config, env = _setup(tmp_path, sandbox)
    csv_path = tmp_path / "jobs.csv"
    csv_path.write_text(csv_path.read_text().replace("Unit Price", "Price", 1))
    (failed,) = _failed(doctor.run_checks(config, env))
    assert failed.name == "job system reachable"
    assert "unit_price ('Unit Price')" in failed.detail
    assert "source.columns" in failed.fix


def test_csv_file_absent(tmp_path: Path, sandbox: XeroSandbox) -> None:
    config, env = _setup(tmp_path, sandbox)
    (tmp_path / "jobs.csv").unlink()
    (failed,) = _failed(doctor.run_checks(config, env))
    assert "not found" in failed.detail and "source.path" in failed.fix


def test_refused_token(tmp_path: Path, sandbox: XeroSandbox) -> None:
    config, env = _setup(tmp_path, sandbox)
    env["XERO_ACCESS_TOKEN"] = "not-the-token"
    report = doctor.run_checks(config, env)
    (failed,) = _failed(report)
    assert failed.name == "Xero tenant reachable, token accepted"
    assert "401" in failed.detail
    assert "rule accounts and tax types active" not in _by_name(report)  # needs the org's refs


def test_archived_account_and_unknown_tax_type_are_named(tmp_path: Path, sandbox: XeroSandbox) -> None:
    config, env = _setup(tmp_path, sandbox, materials_account="250", labour_account="999")
    config.write_text(
        config.read_text().replace("tax_type: OUTPUT\n    - name: materials", "tax_type: NOPE\n    - name: materials")
    )
    (failed,) = _failed(doctor.run_checks(config, env))
    assert failed.name == "rule accounts and tax types active"
    assert "rule 'labour': account 999 does not exist" in failed.detail
    assert "rule 'labour': tax type NOPE does not exist" in failed.detail
    assert "rule 'materials': account 250 is ARCHIVED" in failed.detail
    assert "default" not in failed.detail


def test_state_file_mode_and_lock(tmp_path: Path, sandbox: XeroSandbox) -> None:
    config, env = _setup(tmp_path, sandbox)
    state_path = tmp_path / "jobsync-state.db"
    State.open(state_path).close()
    assert doctor.run_checks(config, env).ok
    os.chmod(state_path, 0o644)
    (failed,) = _failed(doctor.run_checks(config, env))
    assert "mode 644" in failed.detail and failed.fix == f"chmod 600 {state_path}"
    os.chmod(state_path, 0o600)
    with State.open(state_path) as held, held.lock():
        (failed,) = _failed(doctor.run_checks(config, env))
        assert "another jobsync run holds the lock" in failed.detail
    assert doctor.run_checks(config, env).ok


def test_reports_dir_that_is_a_file(tmp_path: Path, sandbox: XeroSandbox) -> None:
    config, env = _setup(tmp_path, sandbox)
    (tmp_path / "reports").write_text("oops")
    (failed,) = _failed(doctor.run_checks(config, env))
    assert failed.name == "reports dir writable" and "not a directory" in failed.detail


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_notify_reachable_send_test_and_unreachable(tmp_path: Path, sandbox: XeroSandbox) -> None:
    config, env = _setup(tmp_path, sandbox)
    base = config.read_text()
    with http_receiver() as receiver:
        config.write_text(base + f"\nnotify:\n  webhook_url: {receiver.url}/hook\n")
        quiet = _by_name(doctor.run_checks(config, env))["notification channels reachable"]
        assert quiet.status == doctor.OK and receiver.posts == []
        sent = _by_name(doctor.run_checks(config, env, send_test=True))["notification channels reachable"]
        assert sent.status == doctor.OK, sent
        assert len(receiver.posts) == 1 and receiver.posts[0][1]["kind"] == "test"
    config.write_text(base + f"\nnotify:\n  webhook_url: http://127.0.0.1:{_free_port()}/hook\n")
    (failed,) = _failed(doctor.run_checks(config, env))
    assert failed.name == "notification channels reachable" and "cannot connect to webhook" in failed.detail


def test_servicem8_key_accepted_then_refused(tmp_path: Path, sandbox: XeroSandbox) -> None:
    with ServiceM8Sandbox() as sm8:
        config, env = _setup(tmp_path, sandbox, source="servicem8")
        config.write_text(
            config.read_text().replace("  type: servicem8\n", f"  type: servicem8\n  base_url: {sm8.url}\n")
        )
        env["SERVICEM8_API_KEY"] = sm8.api_key
        assert _by_name(doctor.run_checks(config, env))["job system reachable"].status == doctor.OK
        env["SERVICEM8_API_KEY"] = "wrong"
        (failed,) = _failed(doctor.run_checks(config, env))
        assert failed.name == "job system reachable" and "refused the API key" in failed.detail


def test_tracking_categories_and_options_the_rules_name_must_exist_and_be_active(
    tmp_path: Path, sandbox: XeroSandbox
) -> None:
    config, env = _setup(tmp_path, sandbox)
    text = config.read_text()
    good = "      tax_type: OUTPUT\n    - name: materials"
    tracked = (
        "      tax_type: OUTPUT\n      tracking: [{category: Region, option: North}, "
        "{category: Crew, field: crew}]\n    - name: materials"
    )
    config.write_text(text.replace(good, tracked, 1))
    report = doctor.run_checks(config, env)
    assert report.ok, _failed(report)
    assert _by_name(report)["rule tracking categories and options exist and are active"].status == doctor.OK
    # The sandbox has Crew=Green archived and the whole Department category archived.
    bad = (
        "      tax_type: OUTPUT\n      tracking: [{category: Crew, option: Green}, {category: Department, "
        "option: Service}]\n    - name: materials"
    )
    config.write_text(text.replace(good, bad, 1))
    (failed,) = _failed(doctor.run_checks(config, env))
    assert failed.name == "rule tracking categories and options exist and are active"
    assert "rule 'labour': tracking option Crew='Green' does not exist or is archived" in failed.detail
    assert "rule 'labour': tracking category 'Department' does not exist or is archived" in failed.detail
    assert "Tracking categories" in failed.fix


def test_refresh_token_near_its_60_day_lapse_warns_and_a_lapsed_one_fails(tmp_path: Path, sandbox: XeroSandbox) -> None:
    settings = oauth_support.settings_for(tmp_path, sandbox)
    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    name = "Xero refresh token not near its 60-day lapse"
    missing = doctor.check_token_lapse(settings, now)
    assert missing is not None and missing.status == doctor.FAIL and "auth login" in missing.fix

    def stored(days_ago: float) -> doctor.Check | None:
        token_store.save(
            xero_login(settings).store,
            token_store.TokenSet(
                mode="oauth",
                client_id="app",
                access_token="a",
                expires_at=now,
                refresh_token="r",
                refresh_issued_at=now - timedelta(days=days_ago),
                tenant_id=sandbox.tenant_id,
            ),
        )
        return doctor.check_token_lapse(settings, now)

    assert stored(1) == doctor.Check(name, doctor.OK, "59 days left (every run renews it)")
    near = stored(50)
    assert near is not None and near.status == doctor.WARN and "10.0 days" in near.detail
    lapsed = stored(61)
    assert lapsed is not None and lapsed.status == doctor.FAIL and lapsed.fix == "run `jobsync auth login`"
    # A static token has no refresh token to lapse: the check is not shown at all.
    config, env = _setup(tmp_path / "static", sandbox)
    assert name not in _by_name(doctor.run_checks(config, env))
