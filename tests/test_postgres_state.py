"""jobsync against a PostgreSQL state (`state.url`) end to end: the same runs, the same exactly-once."""

from __future__ import annotations

from pathlib import Path

import yaml

from jobsync.sandbox.xero.server import XeroSandbox
from tests.e2e import Workdir, make_workdir
from tests.postgres_server import fresh_database


def _row(n: int, price: str = "10.00") -> str:
    return f"J{n},{n},Completed,25/11/2026 10:00,C{n},Client {n},c{n}@example.com,,labour,,Labour,1,{price},,,"


def _on_postgres(work: Workdir, url: str) -> None:
    data = yaml.safe_load(work.config.read_text())
    data["state"] = {"path": "state.db", "url": url}
    work.config.write_text(yaml.safe_dump(data))


def test_runs_on_a_postgresql_state_invoice_each_job_once(tmp_path: Path, postgres_server: str) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        _on_postgres(work, fresh_database(postgres_server))
        work.write_jobs([_row(1), _row(2)])
        first = work.cli("run")
        assert first.exit_code == 0, first.output
        work.write_jobs([_row(1), _row(2), _row(3)])
        assert work.cli("run").exit_code == 0
        assert work.cli("run", "--since", "2026-11-01").exit_code == 0  # re-reads all: the ledger decides
        assert sorted(i["Reference"] for i in sandbox.invoices()) == ["1", "2", "3"]
        assert not (tmp_path / "state.db").exists()  # nothing went to SQLite
        listed = work.cli("jobs", "list", "--invoiced")
        assert listed.exit_code == 0 and "INV-0003" in listed.output


def test_a_dead_database_is_one_clear_line_and_nothing_is_sent(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        _on_postgres(work, "postgresql://jobsync@127.0.0.1:1/nowhere")
        work.write_jobs([_row(1)])
        result = work.cli("run")
        assert result.exit_code == 6 and "Traceback" not in result.output
        assert "cannot reach the state database postgresql 127.0.0.1:1/nowhere" in result.output
        assert sandbox.invoices() == []


def test_the_database_password_never_shows_in_a_report(tmp_path: Path, postgres_server: str) -> None:
    with XeroSandbox(port=0) as sandbox:
        work = make_workdir(tmp_path, sandbox)
        url = fresh_database(postgres_server).replace("postgres@", "postgres:pw-not-to-show@")
        _on_postgres(work, url)  # trust auth: the password is sent and ignored
        work.write_jobs([_row(1)])
        assert work.cli("run").exit_code == 0
        reports = "".join(p.read_text() for p in (tmp_path / "reports").iterdir())
        assert "pw-not-to-show" not in reports and "pw-not-to-show" not in work.cli("doctor").output
