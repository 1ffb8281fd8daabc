"""`jobsync state backup PATH` / `restore PATH`: consistent 0600 copies via SQLite's backup API."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from jobsync.cli import setup as cli_setup
from jobsync.core.errors import ConfigError, LockedError
from jobsync.state import backup as state_backup
from jobsync.state.store import State

MARK = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


def _state(path: Path, mark: datetime = MARK) -> None:
    with State.open(path) as state:
        state.set_watermark("csv", mark)
        state.map_client("csv:C1", "contact-1")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_backup_is_a_private_consistent_copy(tmp_path: Path) -> None:
    _state(tmp_path / "state.db")
    info = state_backup.backup(tmp_path / "state.db", tmp_path / "bak" / "copy.db")
    assert _mode(tmp_path / "bak" / "copy.db") == 0o600
    assert info.schema_version >= 1
    with State.open(tmp_path / "bak" / "copy.db") as copy:
        assert copy.get_watermark("csv") == MARK
        assert copy.client_map(["csv:C1"]) == {"csv:C1": "contact-1"}


def test_backup_while_another_connection_holds_the_run_lock(tmp_path: Path) -> None:
    _state(tmp_path / "state.db")
    with State.open(tmp_path / "state.db") as running, running.lock():
        state_backup.backup(tmp_path / "state.db", tmp_path / "copy.db")
    with State.open(tmp_path / "copy.db") as copy:
        assert copy.get_watermark("csv") == MARK


def test_backup_refuses_to_overwrite_without_force_and_refuses_a_missing_state(tmp_path: Path) -> None:
    _state(tmp_path / "state.db")
    (tmp_path / "copy.db").write_text("precious")
    with pytest.raises(ConfigError, match="already exists"):
        state_backup.backup(tmp_path / "state.db", tmp_path / "copy.db")
    assert (tmp_path / "copy.db").read_text() == "precious"
    state_backup.backup(tmp_path / "state.db", tmp_path / "copy.db", force=True)
    assert state_backup.inspect(tmp_path / "copy.db").schema_version >= 1
    with pytest.raises(ConfigError, match="no state file"):
        state_backup.backup(tmp_path / "absent.db", tmp_path / "other.db")


def test_restore_replaces_the_state_and_keeps_it_private(tmp_path: Path) -> None:
    _state(tmp_path / "state.db")
    state_backup.backup(tmp_path / "state.db", tmp_path / "copy.db")
    later = datetime(2026, 12, 1, tzinfo=UTC)
    with State.open(tmp_path / "state.db") as state:
        state.set_watermark("csv", later)
        state.map_client("csv:C2", "contact-2")
        assert state.get_watermark("csv") == later
    state_backup.restore(tmp_path / "copy.db", tmp_path / "state.db")
    assert _mode(tmp_path / "state.db") == 0o600
    with State.open(tmp_path / "state.db") as state:
        assert state.get_watermark("csv") == MARK
        assert state.client_map(["csv:C2"]) == {}


def test_restore_waits_for_no_run_and_refuses_non_state_files(tmp_path: Path) -> None:
    _state(tmp_path / "state.db")
    state_backup.backup(tmp_path / "state.db", tmp_path / "copy.db")
    with State.open(tmp_path / "state.db") as running, running.lock():
        with pytest.raises(LockedError):
            state_backup.restore(tmp_path / "copy.db", tmp_path / "state.db")
    (tmp_path / "junk.db").write_text("not sqlite at all, just text " * 100)
    with pytest.raises(ConfigError, match="not a jobsync state file"):
        state_backup.restore(tmp_path / "junk.db", tmp_path / "state.db")


def test_cli_backup_and_restore_through_the_config(tmp_path: Path) -> None:
    config = tmp_path / "jobsync.yaml"
    config.write_text(
        "xero: {tenant_id: t, auth: {mode: static_token, token: x}}\n"
        "source: {type: csv, path: jobs.csv, columns: {job_number: N, client_name: C, description: D,"
        " quantity: Q, unit_price: P}}\n"
        "rules: {default: {account_code: '200'}}\n"
        "state: {path: data/state.db}\n"
    )
    _state(tmp_path / "data" / "state.db")
    app = typer.Typer()
    cli_setup.register(app)
    runner = CliRunner()
    made = runner.invoke(app, ["state", "backup", str(tmp_path / "b.db"), "--config", str(config)])
    assert made.exit_code == 0, made.output
    assert "b.db" in made.output and "schema" in made.output
    with State.open(tmp_path / "data" / "state.db") as state:
        state.set_watermark("csv", datetime(2027, 1, 1, tzinfo=UTC))
    declined = runner.invoke(app, ["state", "restore", str(tmp_path / "b.db"), "--config", str(config)], input="n\n")
    assert declined.exit_code == 1
    done = runner.invoke(app, ["state", "restore", str(tmp_path / "b.db"), "--config", str(config), "--yes"])
    assert done.exit_code == 0, done.output
    with State.open(tmp_path / "data" / "state.db") as state:
        assert state.get_watermark("csv") == MARK
