"""`jobsync schedule`: a crontab line or a systemd service + timer that run `jobsync run`.

Cron and systemd start with an almost empty environment and another working directory, so
every path is absolute and the secrets come from an EnvironmentFile (mode 0600) rather than the
user's shell. The timer is `Persistent=true` (a run missed while the machine slept happens at
boot) with a `RandomizedDelaySec`, so many installs do not hit Xero on the same second.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from jobsync.config.settings import env_references
from jobsync.core.errors import ConfigError
from jobsync.runtime.private_files import SHARED, write_atomic, write_private

UNIT_NAME = "jobsync"


@dataclass(frozen=True)
class Plan:
    executable: Path
    config: Path
    env_file: Path
    every_minutes: int
    variables: tuple[str, ...]  # names the config reads from the environment


def config_home(env: Mapping[str, str]) -> Path:
    return Path(env.get("XDG_CONFIG_HOME") or Path(env.get("HOME", "~")).expanduser() / ".config")


def find_executable() -> Path:
    """The `jobsync` this Python installed (a venv's bin first), else the one on PATH."""
    beside = Path(sys.executable).parent / "jobsync"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside.absolute()
    found = shutil.which("jobsync")
    if found is None:
        raise ConfigError("cannot find the installed `jobsync` command", ["install jobsync, e.g. `pipx install .`"])
    return Path(found).absolute()


def make_plan(
    config: Path,
    env: Mapping[str, str],
    every_minutes: int = 15,
    env_file: Path | None = None,
    executable: Path | None = None,
) -> Plan:
    if not config.is_file():
        raise ConfigError(f"config file not found: {config}", ["run `jobsync init` first, or pass --config PATH"])
    check_interval(every_minutes)
    variables = tuple(name for name, _ in env_references(config.read_text(encoding="utf-8-sig")))
    return Plan(
        executable=(executable or find_executable()).absolute(),
        config=config.resolve(),
        env_file=(env_file or config_home(env) / "jobsync" / "jobsync.env").absolute(),
        every_minutes=every_minutes,
        variables=variables,
    )


def check_interval(minutes: int) -> None:
    # Only intervals both cron and OnCalendar express exactly: divisors of an hour, or whole hours of a day.
    if (1 <= minutes < 60 and 60 % minutes == 0) or (minutes >= 60 and minutes % 60 == 0 and 24 % (minutes // 60) == 0):
        return
    raise ConfigError(
        f"--every {minutes} cannot be scheduled evenly",
        ["use a divisor of 60 minutes (5, 10, 15, 30) or of 24 hours in minutes (60, 120, 360, 1440)"],
    )


def _run_command(plan: Plan) -> str:
    return f"{shlex.quote(str(plan.executable))} run --config {shlex.quote(str(plan.config))}"


def cron_line(plan: Plan) -> str:
    """One crontab line; sources the env file with `set -a` so its variables are exported."""
    m = plan.every_minutes
    when = f"*/{m} * * * *" if m < 60 else ("0 0 * * *" if m == 1440 else f"0 */{m // 60} * * *")
    env_file = shlex.quote(str(plan.env_file))
    log = shlex.quote(str(plan.config.parent / "jobsync-cron.log"))
    # `cd`: relative paths in the config are resolved against it anyway, but reports of a
    # crashed interpreter land next to the config rather than in $HOME.
    cd = shlex.quote(str(plan.config.parent))
    return f"{when} cd {cd} && set -a && . {env_file} && set +a && {_run_command(plan)} >> {log} 2>&1"


def on_calendar(minutes: int) -> str:
    if minutes < 60:
        return f"*:0/{minutes}"
    return "daily" if minutes == 1440 else f"0/{minutes // 60}:00"


def randomized_delay(minutes: int) -> int:
    # A tenth of the interval, at most 5 minutes: spreads load without making runs late.
    return max(10, min(300, minutes * 6))


def service_unit(plan: Plan) -> str:
    return "\n".join(
        [
            "[Unit]",
            "Description=jobsync: invoice completed jobs in Xero",
            "Wants=network-online.target",
            "After=network-online.target",
            "",
            "[Service]",
            "Type=oneshot",
            f"WorkingDirectory={plan.config.parent}",
            f"EnvironmentFile={plan.env_file}",
            f"ExecStart={_run_command(plan)}",
            # SIGTERM stops a run between calls: the call in flight (at most Xero's 120 s Retry-After wait
            # plus one request) finishes and is recorded before the process exits 5.
            "KillSignal=SIGTERM",
            f"TimeoutStopSec={STOP_TIMEOUT_SECONDS}",
            "",
        ]
    )


def serve_unit(plan: Plan) -> str:
    """`jobsync serve` as a long-running service: restarted on failure, stopped gracefully with SIGTERM."""
    # JSON lines: journald keeps them whole and a log shipper reads the fields without parsing prose.
    serve = f"{shlex.quote(str(plan.executable))} --log-format json serve --config {shlex.quote(str(plan.config))}"
    return "\n".join(
        [
            "[Unit]",
            "Description=jobsync serve: webhooks in, invoices within seconds",
            "Wants=network-online.target",
            "After=network-online.target",
            "",
            "[Service]",
            "Type=exec",
            f"WorkingDirectory={plan.config.parent}",
            f"EnvironmentFile={plan.env_file}",
            f"ExecStart={serve}",
            "Restart=on-failure",
            "RestartSec=5",
            # SIGTERM: requests stop, the pass in flight finishes its call and is recorded, the inbox is kept.
            "KillSignal=SIGTERM",
            f"TimeoutStopSec={STOP_TIMEOUT_SECONDS}",
            "",
            "[Install]",
            "WantedBy=default.target",
            "",
        ]
    )


# Long enough for the one call a stopping run lets finish: a full Retry-After wait and a slow answer.
STOP_TIMEOUT_SECONDS = 180


def timer_unit(plan: Plan) -> str:
    return "\n".join(
        [
            "[Unit]",
            f"Description=Run jobsync every {plan.every_minutes} minutes",
            "",
            "[Timer]",
            f"OnCalendar={on_calendar(plan.every_minutes)}",
            "Persistent=true",
            f"RandomizedDelaySec={randomized_delay(plan.every_minutes)}",
            f"Unit={UNIT_NAME}.service",
            "",
            "[Install]",
            "WantedBy=timers.target",
            "",
        ]
    )


def env_file_text(plan: Plan, env: Mapping[str, str]) -> str:
    """The EnvironmentFile: current values of the config's variables, blanks where unset."""
    lines = ["# Secrets for jobsync under cron/systemd. Keep this file mode 0600."]
    for name in plan.variables:
        value = env.get(name, "")
        if "\n" in value:
            raise ConfigError(f"{name} contains a newline", ["an environment file holds one line per variable"])
        lines.append(f"{name}={shlex.quote(value)}" if value else f"{name}=")
    return "\n".join(lines) + "\n"


def write_env_file(plan: Plan, env: Mapping[str, str], *, overwrite: bool = False) -> bool:
    """Create the env file from the current environment; an existing one is kept unless `overwrite`."""
    if plan.env_file.exists() and not overwrite:
        os.chmod(plan.env_file, 0o600)
        return False
    write_private(plan.env_file, env_file_text(plan, env))
    return True


def install_user_units(plan: Plan, env: Mapping[str, str]) -> list[Path]:
    """Write the user units (and the env file when missing); the caller enables the timer."""
    unit_dir = config_home(env) / "systemd" / "user"
    unit_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix, text in (("service", service_unit(plan)), ("timer", timer_unit(plan))):
        path = unit_dir / f"{UNIT_NAME}.{suffix}"
        write_atomic(path, text, SHARED)
        written.append(path)
    if write_env_file(plan, env):
        written.append(plan.env_file)
    return written
