"""`jobsync jobs …`: the bookkeeper's controls (list, retry, ignore, forget, mark-invoiced). Parsing only."""

from __future__ import annotations

import dataclasses
import json
from typing import Annotated

import typer
from rich.table import Table

from jobsync.app import approvals, job_commands, org_facts
from jobsync.app.controls import who
from jobsync.cli.support import DEFAULT_WAIT, ConfigOpt, JsonOpt, WaitOpt, guarded, out
from jobsync.config.settings import load_settings
from jobsync.core.errors import ExitCode
from jobsync.core.held_card import card_summary
from jobsync.output import render
from jobsync.output.times import shown

jobs_app = typer.Typer(help="List and fix held, failed and invoiced jobs.", no_args_is_help=True)

JobArg = Annotated[str, typer.Argument(help="The job number (or the job system's id).")]


@jobs_app.command("list")
@guarded
def list_cmd(
    config: ConfigOpt = None,
    held: Annotated[bool, typer.Option("--held", help="Only held jobs.")] = False,
    failed: Annotated[bool, typer.Option("--failed", help="Only failed jobs.")] = False,
    ignored: Annotated[bool, typer.Option("--ignored", help="Only ignored jobs.")] = False,
    invoiced: Annotated[bool, typer.Option("--invoiced", help="Only invoiced jobs.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Jobs that need a person (held, failed), were ignored, or were invoiced."""
    chosen = [k for k, on in (("held", held), ("failed", failed), ("ignored", ignored), ("invoiced", invoiced)) if on]
    if len(chosen) > 1:
        raise typer.BadParameter("choose at most one of --held, --failed, --ignored, --invoiced")
    settings = load_settings(config)
    views = job_commands.list_jobs(settings, chosen[0] if chosen else None)
    zone = org_facts.display_zone(settings)
    if as_json:
        print(json.dumps([dataclasses.asdict(v) for v in views], indent=2, default=str))
        return
    if not views:
        out.print("No jobs to show.")
        return
    table = Table(show_header=True)
    for col in ("job", "status"):
        table.add_column(col, overflow="fold")
    render.whole_column(table, "since", [shown(v.since, zone) for v in views])
    render.whole_column(table, "invoice", [v.invoice_number or "" for v in views])
    table.add_column("what / why", overflow="fold", min_width=16)
    for v in views:
        since = shown(v.since, zone)
        what = v.reason
        if v.status in ("held", "failed") and (v.client or v.line_count):
            lines = "; ".join(f"{d} {q} × {p}" for d, q, p in v.lines[:3])
            what = f"{card_summary(v.client, v.amount, v.line_count)}\n{lines}\n{v.reason}".replace("\n\n", "\n")
        table.add_row(v.job_number, v.status, since, render.linked(v.invoice_number or "", v.link), what)
    out.print(table)


@jobs_app.command()
@guarded
def approve(
    job: Annotated[str | None, typer.Argument(help="The job number, or the adjustment's Reference.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Approve every waiting draft and held adjustment.")] = False,
    config: ConfigOpt = None,
    wait: WaitOpt = DEFAULT_WAIT,
) -> None:
    """Approve drafts waiting under xero.approval: required, and held credit notes and extra invoices;
    they are made at once."""
    settings = load_settings(config)
    done = approvals.approve(settings, job, every, who(), wait)
    for label in done.approved:
        out.print(f"{label}: approved", markup=False, highlight=False)
    for label in done.changed:
        out.print(f"{label}: changed since it was queued; look again before approving", markup=False)
    for r in done.results:
        what = f"{r.outcome.value} {r.invoice_number or ''}".strip()
        out.print(f"Job {r.job_number} ({r.stage}): {what}", markup=False, highlight=False)
    for reference in done.adjustments:
        out.print(f"{reference}: approved and made", markup=False, highlight=False)
    for problem in done.problems:
        out.print(f"problem: {problem}", markup=False, highlight=False)
    failed = done.problems or done.changed or any(r.outcome.value == "failed" for r in done.results)
    raise typer.Exit(int(ExitCode.HELD_OR_FAILED if failed else ExitCode.OK))


@jobs_app.command()
@guarded
def retry(job: JobArg, config: ConfigOpt = None, wait: WaitOpt = DEFAULT_WAIT) -> None:
    """Re-read, re-plan and apply a held, failed or ignored job now, and say what became of it."""
    settings = load_settings(config)
    ref, results = job_commands.retry(settings, job, wait)
    if not results:
        out.print(f"Job {ref.job_number}: not read from {settings.source.name} (no longer in a billable status?)")
        raise typer.Exit(int(ExitCode.HELD_OR_FAILED))
    for r in results:
        what = f"{r.outcome.value} {r.invoice_number or ''}".strip()
        why = f": {r.reason}" if r.reason and r.outcome.value in ("held", "failed", "skipped") else ""
        out.print(f"Job {ref.job_number} ({r.stage}): {what}{why}", markup=False, highlight=False)
    stuck = any(r.outcome.value in ("held", "failed") for r in results)
    raise typer.Exit(int(ExitCode.HELD_OR_FAILED if stuck else ExitCode.OK))


@jobs_app.command()
@guarded
def ignore(
    job: JobArg,
    reason: Annotated[str, typer.Option("--reason", help="Why it must never be invoiced (recorded).")],
    config: ConfigOpt = None,
    wait: WaitOpt = DEFAULT_WAIT,
) -> None:
    """Stop holding a job and never invoice it."""
    settings = load_settings(config)
    ref = job_commands.ignore(settings, job, reason, wait)
    out.print(f"Job {ref.job_number} is ignored: it will not be invoiced. Undo with: jobsync jobs retry {job}")


@jobs_app.command()
@guarded
def forget(
    job: JobArg,
    config: ConfigOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Forget even though Xero still has the invoice.")] = False,
    wait: WaitOpt = DEFAULT_WAIT,
) -> None:
    """After deleting its invoice in Xero: invoice the job again next run."""
    settings = load_settings(config)
    done = job_commands.forget(settings, job, force, wait)
    if done.still_in_xero:
        kept = ", ".join(i.invoice_number or i.invoice_id for i in done.still_in_xero)
        out.print(f"[yellow]Forced: Xero still has {kept}; the next run creates another invoice.[/yellow]")
    out.print(f"Job {done.ref.job_number} forgotten ({done.removed} ledger row(s)); the next run invoices it again.")


@jobs_app.command("mark-invoiced")
@guarded
def mark_invoiced(
    job: JobArg,
    invoice: Annotated[str, typer.Option("--invoice", help="The invoice number it was billed on, e.g. INV-0042.")],
    config: ConfigOpt = None,
    stage: Annotated[str, typer.Option("--stage", help="Billing stage (staged billing only).")] = "final",
    wait: WaitOpt = DEFAULT_WAIT,
) -> None:
    """Record a job as billed by hand, so no run invoices it."""
    settings = load_settings(config)
    ref = job_commands.mark_invoiced(settings, job, invoice, stage, wait)
    out.print(f"Job {ref.job_number} recorded as invoiced on {invoice}.")
