"""Nothing a user can do produces a traceback: each fault is one line and a documented exit code.

The CLI runs as a real process (`python -m jobsync`), so what is asserted is what cron sees on stderr.
Permission cases run as an unprivileged user (setpriv), because root ignores file permissions.
"""

from __future__ import annotations

import os
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from jobsync.samples import csv_source, sandbox_config
from jobsync.sandbox.xero.server import XeroSandbox
from tests.e2e import HEADER, RULES, xero_api

ROOT = Path(__file__).resolve().parents[1]
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


def jobsync(*args: str, cwd: Path, prefix: list[str] | None = None, preexec=None, env_extra=None):  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBSYNC_")}
    env["PYTHONPATH"] = str(ROOT)
    env["JOBSYNC_ERROR_LOG"] = str(cwd / "errors.log")
    env.update(env_extra or {})
    cmd = [*(prefix or []), sys.executable, "-m", "jobsync", *args]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=120, preexec_fn=preexec)


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def write_config(path: Path, api_url: str = "http://127.0.0.1:9/api.xro/2.0", **source: object) -> Path:
    src = csv_source(timezone="Australia/Sydney", start_from="2026-11-01", **source)
    path.write_text(sandbox_config(api_url, "http://127.0.0.1:9", "tenant", src, RULES))
    return path


# -- 2: the config --------------------------------------------------------------------------------


CONFIG_FAULTS = {
    "utf16": (lambda text: text.encode("utf-16"), ["UTF-16", "UTF-8"]),
    "cp1252_byte": (lambda text: text.replace("csv", "caf\xe9", 1).encode("cp1252"), ["line", "column", "0xe9"]),
    "alias_loop": (lambda text: (text + "loop: &l [*l]\n").encode(), ["line", "alias", "loop"]),
    "deep_nesting": (lambda text: (text + "deep: " + "[" * 3000 + "]" * 3000 + "\n").encode(), ["nest"]),
    "bad_bool_tag": (lambda text: text.replace("token: sandbox", "token: !!bool maybe").encode(), ["line", "maybe"]),
    "bad_int_tag": (lambda text: text.replace("token: sandbox", "token: !!int 0x").encode(), ["line", "0x"]),
    "nan_markup": (lambda text: text.replace("markup_percent: 10", "markup_percent: .nan").encode(), ["markup"]),
    "nan_tolerance": (
        lambda text: text.replace("xero:\n", "xero:\n  total_tolerance: NaN\n", 1).encode(),
        ["line", "xero.total_tolerance", "finite"],
    ),
    "ipv6_url": (lambda text: text.replace("http://127.0.0.1:9/api.xro/2.0", "'http://[::1'").encode(), ["api_url"]),
    "long_timezone": (lambda text: text.replace("Australia/Sydney", "Z" * 500).encode(), ["source.timezone", "…"]),
    "nouser_path": (lambda text: text.replace("path: jobs.csv", "path: ~nouser/x").encode(), ["source.path", "home"]),
    "timedelta_overflow": (
        lambda text: text.replace("start_from", "overlap_minutes: 99999999999999999\n  start_from").encode(),
        ["overlap_minutes"],
    ),
    "control_character": (lambda text: text.replace("sandbox", "sand\x01box", 1).encode(), ["column", "U+0001"]),
}


@pytest.mark.parametrize("case", sorted(CONFIG_FAULTS))
def test_a_bad_config_is_one_line_naming_the_file_and_spot_with_exit_2(case: str, tmp_path: Path) -> None:
    good = write_config(tmp_path / "good.yaml").read_text()
    mutate, words = CONFIG_FAULTS[case]
    mutated = mutate(good)
    assert mutated != good.encode(), "the fault was not planted"
    (tmp_path / "jobsync.yaml").write_bytes(mutated)
    result = jobsync("status", "--config", "jobsync.yaml", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    line = one_line(result.stderr)
    assert "jobsync.yaml" in line
    for word in words:
        assert word in line, (word, line)
    assert len(line) < 400


def test_a_directory_given_as_the_config_is_named_a_directory(tmp_path: Path) -> None:
    result = jobsync("status", "--config", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2
    assert "is a directory" in one_line(result.stderr)


def test_an_unreadable_config_says_permission_denied(tmp_path: Path) -> None:
    config = write_config(tmp_path / "jobsync.yaml")
    config.chmod(0o600)  # root owns it; nobody cannot read it
    tmp_path.chmod(0o755)
    result = jobsync("status", "--config", config.name, cwd=tmp_path, prefix=NOBODY, env_extra={"HOME": "/tmp"})
    assert result.returncode == 2, result.stderr
    assert "permission denied" in one_line(result.stderr)


# -- 3: job data ----------------------------------------------------------------------------------


def test_odd_job_values_hold_that_job_and_the_rest_of_the_batch_is_invoiced(tmp_path: Path) -> None:
    good = "J{n},{n},Completed,20/11/2026 10:00,C{n},Client {n},c{n}@example.com,,labour,,Labour,2,50.00,,,"
    rows = [
        good.format(n=1001),
        "J9001,9001,Completed,20/11/2026 10:00,C9,Odd One,odd@example.com,,labour,,Labour,1,1e400,,,",
        "J9002,9002,Completed,20/11/2026 10:00,C9,Odd One,odd@example.com,,labour,,Labour,1," + "9" * 29 + ",,,",
        "J9003,9003,Completed,20/11/2026 10:00,C9,Odd One,odd@example.com,,labour,,Labour,999999999,9999999999,,,",
        "J9004,9004,Completed,01/01/0001 00:00,C9,Odd One,odd@example.com,,labour,,Labour,1,5.00,,,",
        "J9005,9005,Completed,31/12/9999 23:59,C9,Odd One,odd@example.com,,labour,,Labour,1,5.00,,,",
        good.format(n=1002),
    ]
    with XeroSandbox(port=0) as sandbox:
        write_config(tmp_path / "jobsync.yaml", api_url=sandbox.api_url)
        text = (tmp_path / "jobsync.yaml").read_text().replace("http://127.0.0.1:9", sandbox.identity_url)
        (tmp_path / "jobsync.yaml").write_text(text.replace("tenant_id: tenant", f"tenant_id: {sandbox.tenant_id}"))
        (tmp_path / "jobs.csv").write_text("\n".join([HEADER, *rows]) + "\n")
        result = jobsync("run", "--config", "jobsync.yaml", cwd=tmp_path)
        assert result.returncode == 1, result.stderr  # 1: jobs held
        assert "Traceback" not in result.stderr + result.stdout
        api = xero_api(sandbox)
        for number in ("1001", "1002"):
            found = api.get_invoices(sandbox.tenant_id, where=f'Reference=="{number}"').invoices
            assert [str(i.total) for i in found] == ["110.00"]  # 2 × 50.00 + 10 % GST
        for number in ("9001", "9002", "9003", "9004", "9005"):
            assert api.get_invoices(sandbox.tenant_id, where=f'Reference=="{number}"').invoices == []
    held = jobsync("jobs", "list", "--held", "--config", "jobsync.yaml", cwd=tmp_path).stdout
    for number in ("9001", "9002", "9003", "9004", "9005"):
        assert number in held


# -- 4: the state file ----------------------------------------------------------------------------


def _fresh_state(tmp_path: Path) -> Path:
    write_config(tmp_path / "jobsync.yaml")
    (tmp_path / "jobs.csv").write_text(HEADER + "\n")
    assert jobsync("status", "--config", "jobsync.yaml", cwd=tmp_path).returncode == 0
    return tmp_path / "state.db"


def test_a_truncated_state_file_is_named_damaged_with_the_restore_command(tmp_path: Path) -> None:
    state = _fresh_state(tmp_path)
    state.write_bytes(state.read_bytes()[:100])
    result = jobsync("status", "--config", "jobsync.yaml", cwd=tmp_path)
    assert result.returncode == 6
    line = one_line(result.stderr)
    assert "damaged" in line and "jobsync state restore" in line


def test_a_corrupt_state_file_is_named_damaged(tmp_path: Path) -> None:
    state = _fresh_state(tmp_path)
    state.write_bytes(b"not a database at all, just text" * 100)
    result = jobsync("run", "--config", "jobsync.yaml", cwd=tmp_path)
    assert result.returncode == 6
    assert "damaged" in one_line(result.stderr)


def test_a_state_file_from_a_newer_jobsync_says_so(tmp_path: Path) -> None:
    state = _fresh_state(tmp_path)
    with sqlite3.connect(state) as db:
        db.execute("UPDATE schema_version SET version = 999")
    result = jobsync("status", "--config", "jobsync.yaml", cwd=tmp_path)
    assert result.returncode == 6
    assert "newer jobsync" in one_line(result.stderr)


def test_a_read_only_state_directory_says_what_to_make_writable(tmp_path: Path) -> None:
    _fresh_state(tmp_path)
    shutil.chown(tmp_path, "nobody")
    for name in ("jobsync.yaml", "jobs.csv"):
        (tmp_path / name).chmod(0o644)
    (tmp_path / "state.db").chmod(0o644)  # owned by root: nobody can read but not write it
    result = jobsync("run", "--config", "jobsync.yaml", cwd=tmp_path, prefix=NOBODY, env_extra={"HOME": "/tmp"})
    assert result.returncode == 6, result.stderr
    line = one_line(result.stderr)
    assert "state file" in line and ("read-only" in line or "permission denied" in line)


def _limit_file_size(limit: int):  # type: ignore[no-untyped-def]
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_full_disk_is_one_line_and_nothing_is_sent_twice_after(tmp_path: Path) -> None:
    rows = [
        f"J{n},{n},Completed,20/11/2026 10:00,C{n},Client {n},c{n}@example.com,,labour,,Labour,2,50.00,,,"
        for n in range(1001, 1031)
    ]
    with XeroSandbox(port=0) as sandbox:
        write_config(tmp_path / "jobsync.yaml", api_url=sandbox.api_url)
        text = (tmp_path / "jobsync.yaml").read_text().replace("http://127.0.0.1:9", sandbox.identity_url)
        (tmp_path / "jobsync.yaml").write_text(text.replace("tenant_id: tenant", f"tenant_id: {sandbox.tenant_id}"))
        (tmp_path / "jobs.csv").write_text("\n".join([HEADER, *rows]) + "\n")
        assert jobsync("status", "--config", "jobsync.yaml", cwd=tmp_path).returncode == 0
        size = (tmp_path / "state.db").stat().st_size
        full = jobsync("run", "--config", "jobsync.yaml", cwd=tmp_path, preexec=_limit_file_size(size))
        assert full.returncode == 6, full.stderr
        assert "disk is full" in one_line(full.stderr)
        again = jobsync("run", "--config", "jobsync.yaml", cwd=tmp_path)
        assert again.returncode == 0, again.stderr
        invoices = xero_api(sandbox).get_invoices(sandbox.tenant_id).invoices
        references = sorted(i.reference for i in invoices)
        assert references == sorted(str(n) for n in range(1001, 1031))  # each once, none twice


def test_restore_puts_back_a_backup_over_a_damaged_file_without_opening_it(tmp_path: Path) -> None:
    state = _fresh_state(tmp_path)
    assert jobsync("state", "backup", "backup.db", "--config", "jobsync.yaml", cwd=tmp_path).returncode == 0
    state.write_bytes(b"\x00garbage" * 500)
    restored = jobsync("state", "restore", "backup.db", "--yes", "--config", "jobsync.yaml", cwd=tmp_path)
    assert restored.returncode == 0, restored.stderr
    assert jobsync("status", "--config", "jobsync.yaml", cwd=tmp_path).returncode == 0


# -- 5: the sandbox -------------------------------------------------------------------------------


def test_sandbox_serve_on_a_busy_port_names_the_port_and_the_flag(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        result = jobsync(
            "sandbox",
            "serve",
            "--port",
            port,
            "--servicem8-port",
            "0",
            "--simpro-port",
            "0",
            "--aroflo-port",
            "0",
            cwd=tmp_path,
        )
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert port in line and "--port" in line


# -- 6: the last resort ---------------------------------------------------------------------------


def test_an_unforeseen_error_is_one_line_exit_70_and_the_traceback_goes_to_the_log(tmp_path: Path) -> None:
    write_config(tmp_path / "jobsync.yaml")
    code = (
        "import sys, jobsync.app.sync_run as s\n"
        "def boom(*a, **k): raise ZeroDivisionError('planted bug')\n"
        "s.status = boom\n"
        "from jobsync.cli.main import main\n"
        "sys.argv = ['jobsync', 'status', '--config', 'jobsync.yaml']\n"
        "main()\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBSYNC_")}
    env.update(PYTHONPATH=str(ROOT), JOBSYNC_ERROR_LOG=str(tmp_path / "errors.log"))
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 70
    line = one_line(result.stderr)
    assert "internal error" in line and "please report it" in line and str(tmp_path / "errors.log") in line
    log = (tmp_path / "errors.log").read_text()
    assert "Traceback" in log and "planted bug" in log


# -- issue 14 (8): templates and date formats are refused when the config loads ------------------------


def test_a_reference_template_naming_an_unknown_field_is_refused_at_load(tmp_path: Path) -> None:
    config = write_config(tmp_path / "jobsync.yaml")
    config.write_text(config.read_text().replace("xero:\n", "xero:\n  reference_template: '{job.nope}'\n", 1))
    result = jobsync("status", "--config", "jobsync.yaml", cwd=tmp_path)
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert "xero.reference_template" in line and "{job.nope}" in line


def test_a_reference_template_that_does_not_name_the_job_is_refused(tmp_path: Path) -> None:
    config = write_config(tmp_path / "jobsync.yaml")
    config.write_text(config.read_text().replace("xero:\n", "xero:\n  reference_template: 'INV {client.name}'\n", 1))
    result = jobsync("status", "--config", "jobsync.yaml", cwd=tmp_path)
    assert result.returncode == 2 and "{job.number}" in one_line(result.stderr)


def test_an_invalid_date_format_is_refused_at_load_not_job_by_job(tmp_path: Path) -> None:
    config = write_config(tmp_path / "jobsync.yaml")
    config.write_text(config.read_text().replace("source:\n", "source:\n  date_format: '%Q/%m'\n", 1))
    result = jobsync("status", "--config", "jobsync.yaml", cwd=tmp_path)
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert "source.date_format" in line and "%Q" in line


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("status", "--check", "--max-age", "99999999999h"), ["--max-age", "too long"]),
        (("run", "--since", "0001-01-01"), ["--since", "between 1970-01-01"]),
        (("preview", "--since", "9999-12-31T23:59:59+14:00"), ["--since", "between 1970-01-01"]),
    ],
)
def test_command_line_values_out_of_range_are_usage_errors(
    args: tuple[str, ...], words: list[str], tmp_path: Path
) -> None:
    write_config(tmp_path / "jobsync.yaml")
    (tmp_path / "jobs.csv").write_text(HEADER + "\n")
    result = jobsync(*args, "--config", "jobsync.yaml", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    line = one_line(result.stderr)
    assert all(word in line for word in words), line
