"""The `jobsync` command line: parse, call one core function, render, map errors to exit codes."""

from __future__ import annotations

import errno
import json
import sys
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

import typer

from jobsync.app import follow_up, history
from jobsync.app import sync_run as service
from jobsync.cli import history as cli_history
from jobsync.cli import setup as cli_setup
from jobsync.cli.auth import auth_app
from jobsync.cli.contacts import contacts_app
from jobsync.cli.jobs import jobs_app
from jobsync.cli.orgs import orgs_app, worker_cmd
from jobsync.cli.serve import serve_cmd
from jobsync.cli.setup import VersionOpt
from jobsync.cli.support import (
    DEFAULT_WAIT,
    ConfigOpt,
    JsonOpt,
    SinceOpt,
    WaitOpt,
    err,
    guarded,
    out,
    report_internal_error,
)
from jobsync.cli.users import users_app
from jobsync.cli.webhooks import servicem8_auth, webhooks_app
from jobsync.config.fields import check_moment
from jobsync.config.settings import Settings, load_settings
from jobsync.core.errors import ConfigError, ExitCode, echo
from jobsync.core.models import Outcome
from jobsync.core.preview import explain_job, filter_plan, selector
from jobsync.output import follow_up_view, live_progress, render
from jobsync.output.preview_html import render_plan_html
from jobsync.output.report import report_to_dict
from jobsync.runtime import logs
from jobsync.runtime.private_files import write_private

app = typer.Typer(
    help="Completed jobs become Xero invoices, exactly once.", no_args_is_help=True, pretty_exceptions_enable=False
)
T = TypeVar("T")
sandbox_app = typer.Typer(help="The built-in local Xero sandbox.", no_args_is_help=True)
app.add_typer(sandbox_app, name="sandbox")


@app.callback()
def _root(
    version: VersionOpt = False,
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More on stderr (-vv: debug).")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors on stderr.")] = False,
    log_format: Annotated[str, typer.Option("--log-format", help="text, or json (one object per line).")] = "text",
) -> None:
    """Completed jobs become Xero invoices, exactly once."""
    if log_format not in ("text", "json"):
        raise typer.BadParameter("use text or json", param_hint="--log-format")
    logs.configure(verbose, quiet, "json" if log_format == "json" else "text")


cli_setup.register(app)  # init, doctor, schedule, rehearse, state backup/restore, config schema


def _parse_since(text: str | None, settings: Settings) -> datetime | None:
    if text is None:
        return None
    zone = ZoneInfo(settings.source.timezone)
    try:
        if len(text) == 10:
            moment = datetime.combine(date.fromisoformat(text), time(0), tzinfo=zone)
        else:
            moment = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"--since {echo(text)} is not a date", ["use YYYY-MM-DD or an ISO date-time"]) from None
    moment = moment if moment.tzinfo else moment.replace(tzinfo=zone)
    try:
        check_moment(moment)
    except ValueError as exc:
        raise ConfigError(f"--since {echo(text)} {exc}") from None
    return moment


@app.command()
@guarded
def run(
    config: ConfigOpt = None,
    since: SinceOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Go past the max_invoices_per_run brake.")] = False,
    as_json: JsonOpt = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Nothing when there was nothing to do; one line when there was.")
    ] = False,
) -> None:
    """Invoice the jobs completed since the last run (cron runs this)."""
    settings = load_settings(config)
    with live_progress.live(err, quiet or as_json):
        outcome = service.sync(settings, apply=True, since=_parse_since(since, settings), force=force)
    report = outcome.result.report
    if outcome.result.stop_code is not None:  # stopped part-way: one line on stderr, the report says the rest
        err.print(f"jobsync: {report.errors[-1]}", highlight=False, markup=False)
    if as_json:
        doc = report_to_dict(report)
        doc["report_paths"] = [str(p) for p in outcome.report_paths or ()]
        print(json.dumps(doc, indent=2))
    elif quiet:
        line = render.one_line(report, outcome.report_paths)
        if line:
            out.print(line, markup=False, highlight=False, soft_wrap=True)
    else:
        render.run_summary(out, report, outcome.report_paths)
    raise typer.Exit(int(outcome.result.exit_code))


@app.command("follow-up")
@guarded
def follow_up_cmd(config: ConfigOpt = None, wait: WaitOpt = DEFAULT_WAIT, as_json: JsonOpt = False) -> None:
    """Bring payments, voids and documents back from Xero now (runs also do it every payments_poll_minutes)."""
    summary = follow_up.now_pass(load_settings(config), wait)
    if as_json:
        print(json.dumps(summary.to_dict(), indent=2, default=str))
    else:
        lines = follow_up_view.alert_lines(summary.to_dict())
        out.print("\n".join(lines) or summary.skipped_reason or "Nothing changed in Xero since the last pass.")
    raise typer.Exit(int(ExitCode.HELD_OR_FAILED if follow_up_view.needs_a_person(summary.to_dict()) else ExitCode.OK))


@app.command()
@guarded
def preview(
    config: ConfigOpt = None,
    since: SinceOpt = None,
    as_json: JsonOpt = False,
    html: Annotated[Path | None, typer.Option("--html", help="Also write a self-contained HTML page.")] = None,
    job: Annotated[str | None, typer.Option("--job", help="Only this job (number or id).")] = None,
    client: Annotated[str | None, typer.Option("--client", help="Only clients whose name contains this.")] = None,
    explain: Annotated[str | None, typer.Option("--explain", help="Show every rule tried for JOB's lines.")] = None,
) -> None:
    """Show exactly what `run` would create; writes nothing. Exit 1 when anything is held."""
    settings = load_settings(config)
    with live_progress.live(err, as_json):
        outcome = service.sync(settings, apply=False, since=_parse_since(since, settings))
    result = outcome.result
    jobs = result.gathered.jobs if result.gathered else []
    plan = filter_plan(result.plan, jobs, job, client)
    if html:
        write_private(html, render_plan_html(plan, result.report))
        err.print(f"HTML preview: {html}", highlight=False, markup=False, soft_wrap=True)
    if as_json:
        doc = report_to_dict(result.report)
        doc["plan"] = _plan_doc(plan)
        print(json.dumps(doc, indent=2, default=str))
    elif not html and result.stop_code is None:  # the page is the view asked for: not the terminal as well
        shown = selector(jobs, job, client)
        adopted = [r for r in result.report.results if r.outcome is Outcome.ADOPTED and shown(r.job_number, r.job_id)]
        unmapped = result.report.extra.get("unmapped_kinds")
        extra = result.report.extra
        limit = settings.xero.max_invoices_per_run
        voided, adjustments = extra.get("voided_in_xero"), extra.get("adjustments_proposed")
        render.plan_view(out, plan, adopted, limit, unmapped, voided, adjustments, extra.get("payments_back"))
    if explain and not as_json:
        refs = result.gathered.refs if result.gathered else None
        render.explain_view(out, explain, explain_job(settings.ruleset, jobs, explain, refs))
    # A preview that could not finish (Xero or the job system refused or unreachable) must not look
    # like a quiet day: it says why on stderr and exits as the run would.
    for problem in result.report.errors:
        err.print(f"jobsync: {problem}", highlight=False, markup=False, style="red", soft_wrap=True)
    if result.stop_code is not None:
        raise typer.Exit(int(result.stop_code))
    raise typer.Exit(int(ExitCode.HELD_OR_FAILED if plan.held or result.report.errors else ExitCode.OK))


def _plan_doc(plan: Any) -> dict[str, Any]:
    import dataclasses

    doc: dict[str, Any] = json.loads(json.dumps(dataclasses.asdict(plan), default=str))
    return doc


@app.command()
@guarded
def status(
    config: ConfigOpt = None,
    check: Annotated[bool, typer.Option("--check", help="Exit 1 unless a run succeeded within --max-age.")] = False,
    max_age: Annotated[str, typer.Option("--max-age", help="For --check: e.g. 26h, 90m, 2d.")] = "26h",
    as_json: JsonOpt = False,
) -> None:
    """Watermark, last runs and held jobs; with --check, a dead-man check for monitoring."""
    settings = load_settings(config)
    if check:
        ok, message = service.freshness(settings, history.parse_age(max_age))
        if as_json:
            print(json.dumps({"ok": ok, "message": message}))
        else:
            (out if ok else err).print(message, markup=False, highlight=False)
        raise typer.Exit(int(ExitCode.OK if ok else ExitCode.HELD_OR_FAILED))
    view = service.status(settings)
    if as_json:
        print(json.dumps(render.status_doc(view.source, view.watermark, view.runs, view.holds), default=render.iso))
        return
    render.status_view(out, view.source, view.watermark, view.runs, view.holds, view.zone)


app.command("serve")(serve_cmd)
app.add_typer(jobs_app, name="jobs")
app.add_typer(contacts_app, name="contacts")
app.add_typer(auth_app, name="auth")
auth_app.command("servicem8")(servicem8_auth)
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(users_app, name="users")
app.add_typer(orgs_app, name="orgs")
app.command("worker")(worker_cmd)
app.command("history")(cli_history.history_cmd)
app.command("report")(cli_history.report_cmd)
app.command("reconcile")(cli_history.reconcile_cmd)


@sandbox_app.command("serve")
@guarded
def sandbox_serve(
    port: Annotated[int, typer.Option(help="Loopback port for Xero.")] = 8765,
    data: Annotated[Path | None, typer.Option("--data", help="Keep the sandbox org here.")] = None,
    servicem8_port: Annotated[int, typer.Option(help="Loopback port for the ServiceM8 emulator (0: off).")] = 8766,
    simpro_port: Annotated[int, typer.Option(help="Loopback port for the simPRO emulator (0: off).")] = 8767,
    aroflo_port: Annotated[int, typer.Option(help="Loopback port for the AroFlo emulator (0: off).")] = 8768,
    no_limits: Annotated[
        bool, typer.Option("--no-limits", help="Drop Xero's limits (60/minute, 5,000/day, 5 at once).")
    ] = False,
    latency: Annotated[
        float, typer.Option("--latency", min=0, max=60_000, help="Milliseconds added to every answer.")
    ] = 0,
    fault: Annotated[
        list[str] | None,
        typer.Option(
            "--fault", help="Inject a fault: METHOD:PATH:STATUS[:COUNT], e.g. PUT:/api.xro/2.0/Invoices:503:2."
        ),
    ] = None,
) -> None:
    """Serve the local Xero sandbox (fixed token: `sandbox`) and job-system emulators until interrupted.

    As strict as Xero by default: its rate limits, with its headers and Retry-After."""
    from jobsync.sandbox.aroflo import ArofloSandbox
    from jobsync.sandbox.servicem8 import ServiceM8Sandbox
    from jobsync.sandbox.simpro import SimproSandbox
    from jobsync.sandbox.xero.server import serve

    if servicem8_port:
        sm8 = _bind(
            "--servicem8-port", servicem8_port, lambda: ServiceM8Sandbox(port=servicem8_port).load_seed().start()
        )
        err.print(f"ServiceM8 emulator: base_url {sm8.url}, api_key {sm8.api_key}")
    if simpro_port:
        sp = _bind("--simpro-port", simpro_port, lambda: SimproSandbox(port=simpro_port).load_seed().start())
        err.print(f"simPRO emulator: base_url {sp.url}, api_key {sp.token}")
    if aroflo_port:
        af = _bind("--aroflo-port", aroflo_port, lambda: ArofloSandbox(port=aroflo_port).load_seed().start())
        err.print(
            f"AroFlo emulator: base_url {af.url}, uencoded {af.uencoded}, pencoded {af.pencoded}, "
            f"org_encoded {af.org_encoded}, secret_key {af.secret_key}"
        )
    from jobsync.sandbox.xero.server import XERO_LIMITS, parse_fault

    faults = tuple(fault or ())
    for spec in faults:
        try:
            parse_fault(spec)
        except ValueError as exc:
            raise ConfigError(f"--fault: {exc}") from None
    limits = None if no_limits else XERO_LIMITS
    _bind("--port", port, lambda: serve(port, str(data) if data else None, limits, latency, faults))


def _bind(flag: str, port: int, start: Callable[[], T]) -> T:
    """Start one emulator; a port already taken is a usage error naming the flag that moves it."""
    try:
        return start()
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, errno.EACCES):
            why = "is already in use" if exc.errno == errno.EADDRINUSE else "needs privileges"
            off = "" if flag == "--port" else f", or {flag} 0 to leave that emulator off"
            raise ConfigError(f"port {port} on 127.0.0.1 {why}; choose another with {flag} PORT{off}") from None
        raise


def main() -> None:
    try:
        app()
    except SystemExit as exc:
        sys.exit(exc.code)
    except Exception as exc:  # raised outside a guarded command (a callback, option parsing)
        sys.exit(report_internal_error(exc))


if __name__ == "__main__":
    main()
