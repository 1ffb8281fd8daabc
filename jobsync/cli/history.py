"""`jobsync history` and `jobsync report [RUN_ID]`: past runs for people and scripts. Parsing only.

The CLI owner mounts these with `app.command("history")(cli_history.history_cmd)` and
`app.command("report")(cli_history.report_cmd)`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from jobsync.app import history, org_facts
from jobsync.app.reconcile_month import reconcile_month
from jobsync.cli.support import ConfigOpt, JsonOpt, guarded, out
from jobsync.config.settings import load_settings
from jobsync.core.errors import ExitCode
from jobsync.output import reconcile_view, render
from jobsync.output.preview_html import render_report_html
from jobsync.runtime.private_files import write_private


@guarded
def history_cmd(
    config: ConfigOpt = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many runs, newest first.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """List past runs, newest first."""
    settings = load_settings(config)
    runs = history.recent_runs(settings, limit)
    if as_json:
        print(
            json.dumps(
                [
                    {
                        **r.__dict__,
                        "started_at": r.started_at.isoformat(),
                        "finished_at": r.finished_at.isoformat() if r.finished_at else None,
                    }
                    for r in runs
                ],
                indent=2,
            )
        )
        return
    if not runs:
        out.print("No runs yet.")
        return
    zone = org_facts.display_zone(settings)
    out.print(render.runs_table(runs, zone))


@guarded
def report_cmd(
    run_id: Annotated[str | None, typer.Argument(help="Run id (a unique prefix will do); default: the latest.")] = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
    html: Annotated[Path | None, typer.Option("--html", help="Also write the report as an HTML page here.")] = None,
) -> None:
    """Show one run's report (terminal, --json, or --html FILE)."""
    settings = load_settings(config)
    path = history.report_of(settings, run_id)
    doc = history.load_report(path)
    if html is not None:
        write_private(html, render_report_html(doc))  # 0600: it names clients, like the report itself
    if as_json:
        print(json.dumps(doc, indent=2))
        return
    markdown = path.with_suffix(".md")
    out.print(
        markdown.read_text(encoding="utf-8") if markdown.is_file() else json.dumps(doc, indent=2),
        markup=False,
        highlight=False,
    )
    if html is not None:
        out.print(f"HTML: {html}")


@guarded
def reconcile_cmd(
    month: Annotated[str, typer.Option("--month", help="The month to check, YYYY-MM.")],
    config: ConfigOpt = None,
    csv_file: Annotated[Path | None, typer.Option("--csv", help="Write the rows to this CSV file.")] = None,
    html: Annotated[Path | None, typer.Option("--html", help="Write the rows to this HTML page.")] = None,
) -> None:
    """Month-end check: every billable job of the month, its invoices, or why it has none. Exit 1 on a gap."""
    settings = load_settings(config)
    report = reconcile_month(settings, month)
    sums = (report.recorded, report.in_xero, report.paid)
    if csv_file:
        write_private(csv_file, reconcile_view.as_csv(report.rows))
        out.print(f"CSV: {csv_file}", highlight=False, markup=False, soft_wrap=True)
    if html:
        write_private(html, reconcile_view.as_html(report.month, report.rows, sums))
        out.print(f"HTML: {html}", highlight=False, markup=False, soft_wrap=True)
    if not csv_file and not html:
        reconcile_view.table(out, report.month, report.rows, sums)
    raise typer.Exit(int(ExitCode.OK if report.ok else ExitCode.HELD_OR_FAILED))
