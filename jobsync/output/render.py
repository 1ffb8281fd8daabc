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

from jobsync.core import line_kinds
from jobsync.core.contact_numbers import contact_number
from jobsync.core.held_card import card_summary
from jobsync.core.models import Hold, InvoiceDraft, JobResult, Outcome, Plan, RunReport
from jobsync.output import follow_up_view
from jobsync.output.times import shown
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


def whole_column(table: Table, header: str, values: list[str]) -> None:
    """A column of values read as one (a time, an invoice number): never folded, never cut."""
    width = max([len(header), *(len(v) for v in values)])
    table.add_column(header, no_wrap=True, min_width=width)


def linked(text: str, link: str | None) -> Text:
    """`text` as an OSC 8 hyperlink to `link` where the terminal shows them; plain text elsewhere (pipes, cron)."""
    return Text(text, style=f"link {link}") if link else Text(text)


def one_line(report: RunReport, paths: tuple[object, object] | None) -> str:
    """`run -q`: nothing for a run that did nothing new; else one line to grep.

    Jobs still held from earlier runs are not news every 15 minutes: the exit code (1) and the alerts
    (sent once, then as reminders) say so. They are counted on the line when there is one.
    """
    news = (Outcome.CREATED, Outcome.ADOPTED, Outcome.FAILED)
    if not any(report.count(o) for o in news) and not report.errors:
        return ""
    worked = [o for o in (*news, Outcome.HELD) if report.count(o)]
    counts = ", ".join(f"{o.value} {report.count(o)}" for o in worked)
    problem = f"; error: {report.errors[-1]}" if report.errors else ""
    where = f" (report {paths[0]})" if paths else ""
    return f"jobsync run {report.run_id}: {counts or 'nothing invoiced'}{problem}{where}"


def run_summary(console: Console, report: RunReport, paths: tuple[object, object] | None) -> None:
    table = Table(title=f"jobsync {report.command} {report.run_id}", show_header=True)
    for o in Outcome:
        table.add_column(o.value, justify="right")
    table.add_row(*(str(report.count(o)) for o in Outcome))
    console.print(table)
    _results(console, report)
    for err in report.errors:
        console.print(f"[red]error:[/red] {err}")
    for line in follow_up_view.alert_lines(follow_up_view.of(report.extra)):
        console.print(Text(line))
    late = report.extra.get("outside_window") or []
    if late:
        console.print(f"[yellow]found outside the normal read window (backdated or late):[/yellow] {', '.join(late)}")
    calls = ", ".join(f"{k} ×{v}" for k, v in sorted(report.api_calls.items()))
    console.print(f"API calls: {calls or 'none'}")
    if report.watermark_after:
        console.print(f"Watermark: {shown(report.watermark_after, report.timezone)}")
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
        Outcome.AWAITING: "magenta",
    }
    for r in sorted(report.results, key=lambda r: (r.outcome.value, r.job_number)):
        detail = r.reason if r.outcome in (Outcome.HELD, Outcome.FAILED, Outcome.SKIPPED) else r.contact_name
        if r.outcome is Outcome.AWAITING:
            detail = f"{r.contact_name}: {r.reason}"
        table.add_row(
            r.job_number,
            r.stage,
            f"[{style[r.outcome]}]{r.outcome.value}[/]",
            linked(r.invoice_number or "", r.link),
            money(r.total),
            detail or "",
        )
    console.print(table)


def plan_view(
    console: Console,
    plan: Plan,
    adopted: list[JobResult],
    max_invoices: int | None = None,
    unmapped: dict[str, int] | None = None,
    voided: list[str] | None = None,
    adjustments: list[str] | None = None,
    payments: str | None = None,
) -> None:
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
    if payments:
        console.print(Text(payments, style="green"))
    for message in voided or []:
        console.print(Text(f"Voided in Xero: {message}", style="yellow"))
    for message in adjustments or []:
        console.print(Text(f"Adjustment: {message}", style="yellow"))
    if unmapped:
        listed = ", ".join(f"{name!r} ({n})" for name, n in sorted(unmapped.items()))
        console.print(
            f"[yellow]Line types that map to no kind (no kind rule matches them): {listed}.[/yellow]",
            Text(line_kinds.add_hint(unmapped), style="yellow"),
        )
    for draft in plan.drafts:
        console.print(_draft_panel(draft))
    for h in plan.held:
        console.print(held_panel(h))
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


def held_panel(h: Hold) -> Panel:
    """A held job as a card: what it is (client, amount, lines as read), why it is held and the fix."""
    heading = Text(f"{h.job_number} HELD → {card_summary(h.client_name, h.amount, h.line_count)}", overflow="fold")
    heading.stylize("bold yellow")
    parts: list[Any] = [heading]
    if h.lines:
        table = Table(show_header=True, box=None)
        _text_column(table, "description", min_width=12)
        _number_column(table, "qty", [str(q) for _, q, _ in h.lines])
        _number_column(table, "unit", [str(p) for _, _, p in h.lines])
        for description, quantity, unit in h.lines:
            table.add_row(description, str(quantity), str(unit))
        parts.append(table)
    parts.append(Text(f"Why: {h.reason}", overflow="fold"))
    if h.fix:
        parts.append(Text(f"Fix: {h.fix}", overflow="fold"))
    return Panel(Group(*parts), border_style="yellow")


def _draft_panel(d: InvoiceDraft) -> Panel:
    c = d.contact
    if c.kind.value == "existing":
        who = f"{c.name} (existing contact {c.contact_id}, matched by {c.matched_by})"
    else:
        who = f"{c.name} (new contact, ContactNumber {contact_number(c.client_key)})"
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
        cells = [str(ln.quantity), str(ln.unit_amount), *disc, ln.account_label, ln.tax_label]
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


def runs_table(runs: list[RunRow], zone: str, title: str | None = None) -> Table:
    """Past runs, newest first: the counts as short headers so the table fits 80 columns whole."""
    table = Table(title=title, show_header=True)
    for col in ("run", "command"):
        _text_column(table, col)
    whole_column(table, "started", [shown(r.started_at, zone) for r in runs])
    for col, pick in (("new", "created"), ("adopt", "adopted"), ("skip", "skipped"), ("held", "held")):
        _number_column(table, col, [str(getattr(r, pick)) for r in runs])
    _number_column(table, "fail", [str(r.failed) for r in runs])
    _number_column(table, "exit", [str(r.exit_code) for r in runs])
    for r in runs:
        counts = (r.created, r.adopted, r.skipped, r.held, r.failed, r.exit_code)
        table.add_row(r.run_id, r.command, shown(r.started_at, zone), *(str(n) for n in counts))
    return table


def status_view(
    console: Console, source: str, mark: datetime | None, runs: list[RunRow], holds: list[HoldRow], zone: str
) -> None:
    console.print(f"Source {source}: watermark {shown(mark, zone, 'not set (first run pending)')}")
    if runs:
        console.print(runs_table(runs, zone, "Recent runs"))
    if holds:
        table = Table(title="Held and failed jobs")
        for col in ("job", "kind"):
            _text_column(table, col)
        whole_column(table, "since", [shown(h.since, zone) for h in holds])
        _text_column(table, "reason")
        for h in holds:
            table.add_row(h.job_number, h.kind, shown(h.since, zone), h.reason)
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
        table.caption = f"kind {line.kind or '?'} → account {line.account or '?'}"
        for col in ("rule", "matched", "why"):
            table.add_column(col)
        for name, matched, why in line.tried:
            table.add_row(name, "yes" if matched else "no", why)
        console.print(table)
