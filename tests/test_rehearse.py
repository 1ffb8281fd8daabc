"""`jobsync rehearse`: passes on the example config, fails naming the check when a rule's account is missing."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from jobsync.app.rehearse import rehearse
from jobsync.cli import setup as cli_setup
from jobsync.config.settings import load_settings
from tests.receivers import http_receiver

EXAMPLE = Path(__file__).resolve().parents[1] / "config.example.yaml"
ENV = {"XERO_TENANT_ID": "real-tenant", "XERO_ACCESS_TOKEN": "real-token"}


def _config(tmp_path: Path, webhook: str, text: str | None = None) -> Path:
    path = tmp_path / "jobsync.yaml"
    path.write_text((text or EXAMPLE.read_text()) + f"\nnotify:\n  webhook_url: {webhook}\n")
    return path


def test_example_config_passes_all_five_and_the_alert_arrives(tmp_path: Path) -> None:
    with http_receiver() as receiver:
        results = rehearse(load_settings(_config(tmp_path, receiver.url + "/hook"), env=ENV))
        assert [(r.number, r.passed) for r in results] == [(n, True) for n in (1, 2, 3, 4, 5)], results
        (post,) = receiver.posts
        assert post[1]["status"] == "failure"
    assert "RH-3 invoiced" in results[2].detail
    # The user's own state and reports were not touched: the rehearsal has its own scratch dir.
    assert not (tmp_path / "jobsync-state.db").exists() and not (tmp_path / "reports").exists()


def test_rule_pointing_at_a_missing_account_fails_the_checks_that_use_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = EXAMPLE.read_text().replace(
        'when: { kind: material }\n      account_code: "200"', 'when: { kind: material }\n      account_code: "999"'
    )
    assert '"999"' in text
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    with http_receiver() as receiver:
        config = _config(tmp_path, receiver.url + "/hook", text)
        app = typer.Typer()
        cli_setup.register(app)
        result = CliRunner().invoke(app, ["rehearse", "--config", str(config)])
    assert result.exit_code == 1, result.output
    assert "✓ 1. test job" in result.output  # labour only: unaffected
    assert "✗ 3. several line types each mapped: no invoice for RH-3" in result.output
    assert "999" in result.output
    assert "✗ 5. discount applied" in result.output
    (table,) = (tmp_path / "reports").glob("rehearsal-*.md")
    assert "| 3 | several line types each mapped | FAIL |" in table.read_text()
