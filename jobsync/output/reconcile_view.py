"""The month-end check as a terminal table, a CSV file and a self-contained HTML page."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from html import escape

from rich.console import Console
from rich.table import Table

from jobsync.core.reconcile import MonthRow

HEADERS = ("job", "client", "completed", "stage", "invoice", "status", "jobsync total", "Xero total", "paid", "note")


def _money(value: Decimal | None) -> str:
    return "" if value is None else f"{value:,.2f}"


def flat_rows(rows: list[MonthRow]) -> list[list[str]]:
    """One line per invoice (or per job without one), the note saying what does not agree."""
    out: list[list[str]] = []
    for r in rows:
        base = [r.job_number, r.client, r.completed.isoformat() if r.completed else ""]
        if not r.invoices:
            out.append([*base, "", "", "", "", "", "", r.why_none])
            continue
        for i in r.invoices:
            note = "" if i.agrees else ("Xero has no invoice with this Reference" if i.xero_status is None else "")
            if not note and not i.agrees:
                note = (
                    f"Xero's invoice is {i.xero_status}" if i.xero_status in ("DELETED", "VOIDED") else "totals differ"
                )
            money = [_money(i.recorded_total), _money(i.xero_total), _money(i.paid)]
            out.append([*base, i.stage, i.invoice_number or "", i.xero_status or "", *money, note])
    return out


def table(console: Console, month: str, rows: list[MonthRow], sums: tuple[Decimal, Decimal, Decimal]) -> None:
    grid = Table(title=f"Billable jobs completed in {month}", show_header=True)
    lines = flat_rows(rows)
    for n, header in enumerate(HEADERS):
        numeric = header.endswith("total") or header == "paid"
        width = max([len(header), *(len(line[n]) for line in lines)]) if numeric else None
        grid.add_column(
            header, justify="right" if numeric else "left", overflow="fold", min_width=width, no_wrap=numeric
        )
    for line in lines:
        grid.add_row(*line)
    console.print(grid)
    recorded, in_xero, paid = sums
    console.print(f"jobsync recorded {_money(recorded)}; Xero holds {_money(in_xero)}; paid {_money(paid)}")


def as_csv(rows: list[MonthRow]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADERS)
    writer.writerows(flat_rows(rows))
    return buffer.getvalue()


def as_html(month: str, rows: list[MonthRow], sums: tuple[Decimal, Decimal, Decimal]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in HEADERS)
    body = "".join(
        "<tr" + (' class="bad"' if line[-1] else "") + ">" + "".join(f"<td>{escape(c)}</td>" for c in line) + "</tr>"
        for line in flat_rows(rows)
    )
    recorded, in_xero, paid = sums
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>jobsync reconcile {escape(month)}</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:24px}table{border-collapse:collapse}"
        "td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left}tr.bad td{color:#b3261e}</style>"
        f"</head><body><h1>Billable jobs completed in {escape(month)}</h1><table><tr>{head}</tr>{body}</table>"
        f"<p>jobsync recorded {_money(recorded)}; Xero holds {_money(in_xero)}; paid {_money(paid)}</p>"
        "</body></html>\n"
    )
