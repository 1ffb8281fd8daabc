"""Set-up commands: init, doctor, schedule, state backup/restore, config schema, --version.

`register(app)` mounts them on the main typer app. Each command parses, calls one function of
init_config / doctor / schedule / state_copies, and renders; decisions live in those modules.
"""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import typer

from jobsync import __version__
from jobsync.app import doctor, schedule, state_copies
from jobsync.app.init_config import Answers, env_names, settings_schema, write_config
from jobsync.cli import init_questions
from jobsync.cli.support import ConfigOpt, JsonOpt, err, guarded, out
from jobsync.config.settings import load_settings, resolve_config_path
from jobsync.core.errors import ConfigError

state_app = typer.Typer(help="Back up and restore the state file (the invoice ledger).", no_args_is_help=True)
config_app = typer.Typer(help="The config file's format.", no_args_is_help=True)


def _say(text: str) -> None:
    # soft_wrap: paths and commands stay on one line, so they can be copied and grepped.
    out.print(text, highlight=False, soft_wrap=True)


# ---------------------------------------------------------------------------
# --version
# ---------------------------------------------------------------------------


def _print_version(value: bool) -> None:
    if value:
        _say(f"jobsync {__version__}")
        raise typer.Exit()


VersionOpt = Annotated[
    bool, typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit.")
]


# ---------------------------------------------------------------------------
# init
# ---------------------------------------------------------------------------


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(f"{text!r} is not a date", ["use YYYY-MM-DD"]) from None


@guarded
def init(
    config: ConfigOpt = None,
    non_interactive: Annotated[bool, typer.Option("--non-interactive", help="Use the flags; ask nothing.")] = False,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing config file.")] = False,
    source: Annotated[str, typer.Option(help="Job system: csv or servicem8.")] = "csv",
    csv_path: Annotated[str, typer.Option(help="CSV export, relative to the config.")] = "jobs.csv",
    servicem8_key_env: Annotated[str, typer.Option(help="Env variable with the ServiceM8 API key.")] = (
        "SERVICEM8_API_KEY"
    ),
    auth: Annotated[str, typer.Option(help="Xero auth: static_token, oauth, client_credentials.")] = "static_token",
    token_env: Annotated[str, typer.Option(help="Env variable with the Xero access token.")] = "XERO_ACCESS_TOKEN",
    client_id_env: Annotated[str, typer.Option(help="Env variable with the Xero client id.")] = "XERO_CLIENT_ID",
    client_secret_env: Annotated[str, typer.Option(help="Env variable with the Xero secret.")] = "XERO_CLIENT_SECRET",
    tenant_env: Annotated[str, typer.Option(help="Env variable with the Xero tenant id.")] = "XERO_TENANT_ID",
    labour_account: Annotated[str, typer.Option(help="Account code for labour lines.")] = "200",
    materials_account: Annotated[str, typer.Option(help="Account code for material lines.")] = "200",
    default_account: Annotated[str, typer.Option(help="Account code for other lines.")] = "200",
    tax_type: Annotated[str, typer.Option(help="Xero tax type for every rule.")] = "OUTPUT",
    invoice_status: Annotated[str, typer.Option(help="DRAFT or AUTHORISED.")] = "DRAFT",
    payment_terms: Annotated[int, typer.Option(help="Days until an invoice is due.")] = 14,
    start_from: Annotated[str | None, typer.Option(help="First run bills jobs from this date.")] = None,
    timezone: Annotated[str, typer.Option(help="IANA timezone of the job system.")] = "Australia/Sydney",
) -> None:
    """Write a commented config file from a few answers (or flags with --non-interactive)."""
    answers = Answers(
        source=source,
        csv_path=csv_path,
        servicem8_key_env=servicem8_key_env,
        auth_mode=auth,
        token_env=token_env,
        client_id_env=client_id_env,
        client_secret_env=client_secret_env,
        tenant_env=tenant_env,
        labour_account=labour_account,
        materials_account=materials_account,
        default_account=default_account,
        tax_type=tax_type,
        invoice_status=invoice_status.upper(),
        payment_terms_days=payment_terms,
        start_from=_date(start_from) if start_from else date.today(),
        timezone=timezone,
    )
    path = resolve_config_path(config, os.environ)
    if not non_interactive:
        answers = init_questions.ask(answers, path.parent)
    write_config(path, answers, force=force)
    _say(f"[green]✓[/green] wrote {path}")
    missing = [name for name in env_names(answers).values() if name not in os.environ]
    if missing:
        _say(f"  export {' '.join(missing)}, then run `jobsync doctor --config {path}`")
    if not non_interactive and typer.confirm("Run `jobsync doctor` now?", default=not missing):
        report = doctor.run_checks(path, on_check=_show_check)
        _say("all checks passed" if report.ok else "[red]doctor found problems: see the ✗ lines[/red]")


# ---------------------------------------------------------------------------
# doctor
# ---------------------------------------------------------------------------

_MARKS = {
    doctor.OK: "[green]✓[/green]",
    doctor.FAIL: "[red]✗[/red]",
    doctor.WARN: "[yellow]![/yellow]",
    doctor.SKIP: "[dim]-[/dim]",
}


def _show_check(check: doctor.Check) -> None:
    _say(f"{_MARKS[check.status]} {check.name}: {check.detail}")
    if check.fix and check.status in (doctor.FAIL, doctor.WARN):
        _say(f"    fix: {check.fix}")


@guarded
def doctor_command(
    config: ConfigOpt = None,
    send_test: Annotated[bool, typer.Option("--send-test", help="Send one test notification.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Check everything a scheduled run needs; each ✗ says how to fix it. Exit 1 on any ✗."""
    report = doctor.run_checks(config, send_test=send_test, on_check=None if as_json else _show_check)
    if as_json:
        checks = [dataclasses.asdict(c) for c in report.checks]
        print(json.dumps({"ok": report.ok, "checks": checks}))
        raise typer.Exit(0 if report.ok else 1)
    failed = sum(1 for c in report.checks if c.status == doctor.FAIL)
    _say("all checks passed" if report.ok else f"[red]{failed} check(s) failed[/red]")
    raise typer.Exit(0 if report.ok else 1)


# ---------------------------------------------------------------------------
# schedule
# ---------------------------------------------------------------------------


@guarded
def schedule_command(
    config: ConfigOpt = None,
    cron: Annotated[bool, typer.Option("--cron", help="Print a crontab line.")] = False,
    systemd: Annotated[bool, typer.Option("--systemd", help="Print a systemd service and timer.")] = False,
    every: Annotated[int, typer.Option("--every", help="Minutes between runs.")] = 15,
    env_file: Annotated[Path | None, typer.Option("--env-file", help="Secrets file (mode 0600).")] = None,
    install: Annotated[bool, typer.Option("--install", help="Write the units (with --systemd --user).")] = False,
    user: Annotated[bool, typer.Option("--user", help="Install as systemd user units.")] = False,
    service: Annotated[bool, typer.Option("--service", help="Print the unit that runs `jobsync serve`.")] = False,
) -> None:
    """Print (or install) what runs `jobsync run` on a schedule, or `jobsync serve` as a service."""
    if service:
        plan = schedule.make_plan(resolve_config_path(config, os.environ), os.environ, every, env_file)
        print(f"# {schedule.UNIT_NAME}-serve.service\n{schedule.serve_unit(plan)}")
        return
    if cron == systemd:
        raise ConfigError("choose one of --cron or --systemd")
    if install and not (systemd and user):
        raise ConfigError(
            "--install writes systemd user units",
            ["use --systemd --install --user; for cron, paste the printed line into `crontab -e`"],
        )
    plan = schedule.make_plan(resolve_config_path(config, os.environ), os.environ, every, env_file)
    if install:
        for path in schedule.install_user_units(plan, os.environ):
            _say(f"[green]✓[/green] wrote {path}")
        _say("now: systemctl --user daemon-reload && systemctl --user enable --now jobsync.timer")
        _say("     (and `loginctl enable-linger` so it runs while you are logged out)")
        return
    if cron:
        print(schedule.cron_line(plan))
    else:
        print(f"# {schedule.UNIT_NAME}.service\n{schedule.service_unit(plan)}")
        print(f"# {schedule.UNIT_NAME}.timer\n{schedule.timer_unit(plan)}")
    names = " ".join(f"{v}=…" for v in plan.variables) or "(the config reads no variables)"
    err.print(f"secrets go in {plan.env_file} (chmod 600): {names}", highlight=False, soft_wrap=True)


# ---------------------------------------------------------------------------
# state backup / restore, config schema
# ---------------------------------------------------------------------------


@state_app.command("backup")
@guarded
def state_backup_command(
    path: Annotated[Path, typer.Argument(help="Where to write the copy.")],
    config: ConfigOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Replace an existing file at PATH.")] = False,
) -> None:
    """A consistent copy of the state file (SQLite online backup), safe while a run is going."""
    info = state_copies.backup(load_settings(config), path, force)
    _say(f"[green]✓[/green] {info.path}: {info.ledger_rows} ledger rows, schema {info.schema_version}")


@state_app.command("restore")
@guarded
def state_restore_command(
    path: Annotated[Path, typer.Argument(help="The backup to restore.")],
    config: ConfigOpt = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Replace the state file with a backup (takes the run lock; exit 4 while a run holds it)."""
    settings = load_settings(config)
    target = settings.state.path
    found = state_copies.inspect(path)
    if not yes and not typer.confirm(f"Replace {target} with {path} ({found.ledger_rows} ledger rows)?"):
        raise typer.Exit(1)
    info = state_copies.restore(settings, path)
    _say(f"[green]✓[/green] restored {target}: {info.ledger_rows} ledger rows")


@config_app.command("schema")
@guarded
def config_schema_command() -> None:
    """Print the config file's JSON Schema (for editor completion and validation)."""
    print(json.dumps(settings_schema(), indent=2))


@guarded
def rehearse_command(config: ConfigOpt = None) -> None:
    """The five go-live checks against a local Xero sandbox with your rules; exit 1 on any failure."""
    from jobsync.app import rehearse

    settings = load_settings(config)
    results = rehearse.rehearse(settings)
    for r in results:
        _say(f"{'[green]✓[/green]' if r.passed else '[red]✗[/red]'} {r.number}. {r.name}: {r.detail}")
    path = rehearse.write_table(results, settings.reports.dir, datetime.now(UTC))
    _say(f"table written to {path}")
    raise typer.Exit(0 if all(r.passed for r in results) else 1)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("doctor")(doctor_command)
    app.command("schedule")(schedule_command)
    app.command("rehearse")(rehearse_command)
    app.add_typer(state_app, name="state")
    app.add_typer(config_app, name="config")
