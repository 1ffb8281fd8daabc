"""Terminal output with rich: summaries, plans, holds. Decides nothing."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from decimal import Decimal
from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from jobsync.core.models import InvoiceDraft, JobResult, Outcome, Plan, RunReport
from jobsync.state.store import HoldRow, RunRow


def money(value: Decimal | None) -> str:
    return "" if value is None else f"{value:,.2f}"


# Narrow terminals and pipes: text columns fold (every character kept, over more lines) and number
# columns never shrink below their widest value, so no amount is ever cut to "3,277.…".
def _text_column(table: Table, header: str, min_width: int | None = None) -> None:
    table.add_column(header, overflow="fold", min_width=min_width)


def _number_column(table: Table, header: str, values: list[str]) -> None:
    width = max([len(header), *(len(v) for v in values)])
    table.add_column(header, justify="right", no_wrap=True, min_width=width)


def run_summary(console: Console, report: RunReport, paths: tuple[object, object] | None) -> None:
    table = Table(title=f"jobsync {report.command} {report.run_id}", show_header=True)
    for col in ("created", "adopted", "skipped", "held", "failed"):
        table.add_column(col, justify="right")
    table.add_row(*(str(report.count(o)) for o in Outcome))
    console.print(table)
    _results(console, report)
    for err in report.errors:
        console.print(f"[red]error:[/red] {err}")
    late = report.extra.get("outside_window") or []
    if late:
        console.print(f"[yellow]found outside the normal read window (backdated or late):[/yellow] {', '.join(late)}")
    calls = ", ".join(f"{k} ×{v}" for k, v in sorted(report.api_calls.items()))
    console.print(f"API calls: {calls or 'none'}")
    if report.watermark_after:
        console.print(f"Watermark: {report.watermark_after.isoformat()}")
    if paths:
        console.print(f"Report: {paths[0]}  ({paths[1]})")


def _results(console: Console, report: RunReport) -> None:
    if not report.results:
        console.print("No completed jobs to invoice.")
        return
    table = Table(show_header=True)
    for col in ("job", "stage", "outcome", "invoice"):
        _text_column(table, col)
    _number_column(table, "total", [money(r.total) for r in report.results])
    _text_column(table, "contact / reason", min_width=12)
    style = {
        Outcome.HELD: "yellow",
        Outcome.FAILED: "red",
        Outcome.CREATED: "green",
        Outcome.ADOPTED: "cyan",
        Outcome.SKIPPED: "dim",
    }
    for r in sorted(report.results, key=lambda r: (r.outcome.value, r.job_number)):
        detail = r.reason if r.outcome in (Outcome.HELD, Outcome.FAILED, Outcome.SKIPPED) else r.contact_name
        table.add_row(
            r.job_number,
            r.stage,
            f"[{style[r.outcome]}]{r.outcome.value}[/]",
            r.invoice_number or "",
            money(r.total),
            detail or "",
        )
    console.print(table)


def plan_view(console: Console, plan: Plan, adopted: list[JobResult], max_invoices: int | None = None) -> None:
    """The preview: counts, each draft, held jobs; `adopted` are the (shown) invoices found in Xero."""
    console.print(
        f"Jobs found: {plan.jobs_seen}   to create: {len(plan.drafts)}   "
        f"already invoiced: {len(plan.skipped) + len(adopted)}   "
        f"held: {len(plan.held)}"
    )
    if max_invoices is not None and len(plan.drafts) > max_invoices:
        console.print(
            f"[yellow]`jobsync run` would stop here: {len(plan.drafts)} invoices is more than "
            f"xero.max_invoices_per_run ({max_invoices}). Check them, then run with --force.[/yellow]"
        )
    for draft in plan.drafts:
        console.print(_draft_panel(draft))
    if plan.held:
        table = Table(title="Held jobs (not invoiced until fixed)")
        for col in ("job", "reason", "fix"):
            _text_column(table, col)
        for h in plan.held:
            table.add_row(h.job_number, h.reason, h.fix)
        console.print(table)
    changed = [s for s in plan.skipped if s.changed_total is not None]
    if changed:
        table = Table(title="Changed since invoiced (the invoice is not changed unless xero.update_drafts)")
        for col in ("job", "invoice"):
            _text_column(table, col)
        for col, pick in (("invoiced", 0), ("now", 1)):
            _number_column(table, col, [money(s.changed_total[pick]) for s in changed if s.changed_total])
        for s in changed:
            was, now = s.changed_total  # type: ignore[misc]
            table.add_row(s.job_number, s.invoice_number or s.reference, money(was), money(now))
        console.print(table)


def _draft_panel(d: InvoiceDraft) -> Panel:
    c = d.contact
    if c.kind.value == "existing":
        who = f"{c.name} (existing contact {c.contact_id}, matched by {c.matched_by})"
    else:
        who = f"{c.name} (new contact, ContactNumber {c.client_key})"
    discounts = any(ln.discount_rate for ln in d.lines)
    table = Table(show_header=True, box=None)
    # The rule sits under each description rather than in a column of its own, and the discount column
    # appears only when a line has one: at 80 columns every number column keeps its full width.
    _text_column(table, "description (rule)", min_width=12)
    _number_column(table, "qty", [str(ln.quantity) for ln in d.lines])
    _number_column(table, "unit", [str(ln.unit_amount) for ln in d.lines])
    if discounts:
        _number_column(table, "disc %", [str(ln.discount_rate or "") for ln in d.lines])
    for col in ("account", "tax"):
        _text_column(table, col)
    amounts = [money(x) for x in (d.subtotal, d.total_tax, d.total)] + [money(ln.line_amount) for ln in d.lines]
    _number_column(table, "amount", amounts)
    _number_column(table, "tax amt", [money(ln.tax_amount) for ln in d.lines])
    for ln in d.lines:
        disc = [str(ln.discount_rate or "")] if discounts else []
        cells = [str(ln.quantity), str(ln.unit_amount), *disc, ln.account_code, ln.tax_type]
        described = Text(ln.description)
        described.append(f"\n({ln.rule})", style="dim")
        table.add_row(described, *cells, money(ln.line_amount), money(ln.tax_amount))
    blank = [""] * (4 if discounts else 3)
    for label, value in (("Subtotal", d.subtotal), ("Tax", d.total_tax), ("Total", d.total)):
        table.add_row(label, *blank, "", money(value), "")
    # Inside the panel, not its title: a title is cut to the width, and the client's name must be whole.
    heading = Text(f"{d.reference} → {who}", style="bold", overflow="fold")
    terms = Text(f"{d.status}  date {d.date.isoformat()}  due {d.due_date.isoformat()}  {d.line_amount_types}")
    return Panel(Group(heading, table, terms))


def status_view(console: Console, source: str, mark: object, runs: list[RunRow], holds: list[HoldRow]) -> None:
    console.print(f"Source {source}: watermark {mark.isoformat() if mark else 'not set (first run pending)'}")  # type: ignore[attr-defined]
    if runs:
        table = Table(title="Recent runs")
        for col in ("run", "command", "started", "created", "adopted", "skipped", "held", "failed", "exit"):
            table.add_column(col)
        for r in runs:
            table.add_row(
                r.run_id,
                r.command,
                str(r.started_at),
                str(r.created),
                str(r.adopted),
                str(r.skipped),
                str(r.held),
                str(r.failed),
                str(r.exit_code),
            )
        console.print(table)
    if holds:
        table = Table(title="Held and failed jobs")
        for col in ("job", "kind", "since", "reason"):
            table.add_column(col)
        for h in holds:
            table.add_row(h.job_number, h.kind, str(h.since), h.reason)
        console.print(table)


def iso(value: object) -> str:
    """JSON's form of a value json cannot encode: a time as ISO 8601, anything else as its text."""
    return value.isoformat() if isinstance(value, datetime) else str(value)


def status_doc(source: str, mark: datetime | None, runs: list[RunRow], holds: list[HoldRow]) -> dict[str, Any]:
    """`status --json`: times in ISO 8601 UTC."""
    return {
        "source": source,
        "watermark": mark.isoformat() if mark else None,
        "runs": [dataclasses.asdict(r) for r in runs],
        "holds": [dataclasses.asdict(h) for h in holds],
    }


def explain_view(console: Console, job: str, lines: list | None) -> None:  # type: ignore[type-arg]
    if lines is None:
        console.print(f"--explain: job {job} is not among the jobs this preview read")
        return
    for line in lines:
        table = Table(title=f"{job}: {line.description}", show_header=True)
        for col in ("rule", "matched", "why"):
            table.add_column(col)
        for name, matched, why in line.tried:
            table.add_row(name, "yes" if matched else "no", why)
        console.print(table)
