"""Self-contained HTML pages: the preview as a stack of invoices, and a past run's report.

No external assets (a bookkeeper may open the file offline or mail it on), everything escaped (job text
comes from the job system), a few lines of inline JS to filter by client and status, and print CSS so
the page prints as one invoice per block. Amounts are the plan's own Decimals: the page computes nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal
from html import escape
from typing import Any

from jobsync.core.contact_numbers import contact_number
from jobsync.core.models import Hold, InvoiceDraft, Outcome, Plan, RunReport

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;background:#eef0f3;color:#1d2329}
header{background:#13294b;color:#fff;padding:16px 24px}header h1{margin:0;font-size:20px}
main{max-width:1000px;margin:0 auto;padding:16px}
.summary,.card{background:#fff;border-radius:6px;box-shadow:0 1px 3px rgba(0,0,0,.15);margin:0 0 16px;padding:16px}
.filters{display:flex;gap:12px;align-items:center;margin:0 0 16px}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{padding:4px 6px;border-bottom:1px solid #e3e6ea;
text-align:left;vertical-align:top}td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.card h2{margin:0 0 4px;font-size:17px}.meta{color:#5b6670;font-size:13px;margin:0 0 8px}
.badge{display:inline-block;border-radius:10px;padding:1px 8px;font-size:12px;color:#fff;background:#5b6670}
.badge.create{background:#1c7c3c}.badge.held,.badge.failed{background:#b3261e}
.card.held,.card.failed{border-left:4px solid #b3261e}
.reason{color:#b3261e}.fix{color:#13294b}tr.totals td{border:0;font-weight:600}
@media print{body{background:#fff}.filters{display:none}.card,.summary{box-shadow:none;border:1px solid #999;
break-inside:avoid}header{background:#fff;color:#000}}
"""

# Hide cards that do not match the selected client/status; keep the visible count and total honest.
JS = """
function applyFilters(){
  var c=document.getElementById('f-client').value, s=document.getElementById('f-status').value, n=0, t=0;
  document.querySelectorAll('.card').forEach(function(el){
    var show=(!c||el.dataset.client===c)&&(!s||el.dataset.status===s);
    el.style.display=show?'':'none';
    if(show){n++; t+=parseFloat(el.dataset.total||'0');}
  });
  document.getElementById('shown').textContent=n;
  document.getElementById('shown-total').textContent=t.toFixed(2);
}
document.getElementById('f-client').addEventListener('change',applyFilters);
document.getElementById('f-status').addEventListener('change',applyFilters);
"""


def _m(value: Decimal | str | None) -> str:
    if value is None:
        return ""
    return f"{Decimal(value):,.2f}"


def _e(value: object) -> str:
    return escape("" if value is None else str(value))


def _page(title: str, body: list[str], statuses: Iterable[str], clients: Iterable[str]) -> str:
    client_opts = "".join(f'<option value="{_e(c)}">{_e(c)}</option>' for c in sorted(set(clients)))
    status_opts = "".join(f'<option value="{_e(s)}">{_e(s)}</option>' for s in sorted(set(statuses)))
    filters = (
        '<div class="filters"><label>Client <select id="f-client"><option value="">All</option>'
        f'{client_opts}</select></label><label>Status <select id="f-status"><option value="">All</option>'
        f'{status_opts}</select></label><span>Showing <b id="shown"></b> · total <b id="shown-total"></b></span></div>'
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{_e(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{_e(title)}</h1></header><main>{filters}{''.join(body)}</main>"
        f"<script>{JS}applyFilters();</script></body></html>\n"
    )


# ---------------------------------------------------------------------------
# The preview
# ---------------------------------------------------------------------------


def _contact_line(d: InvoiceDraft) -> str:
    c = d.contact
    if c.kind.value == "existing":
        return f"Existing contact {_e(c.contact_id)} (matched by {_e(c.matched_by)})"
    if c.kind.value == "new":
        return f"New contact, ContactNumber {_e(contact_number(c.client_key))}"
    names = ", ".join(_e(x.name) for x in c.candidates)
    return f"Ambiguous: {names}"


def _draft_card(d: InvoiceDraft) -> str:
    rows = []
    for ln in d.lines:
        tracking = "; ".join(f"{_e(k)}: {_e(v)}" for k, v in ln.tracking)
        rows.append(
            f"<tr><td>{_e(ln.description)}</td><td class=n>{_e(ln.quantity)}</td><td class=n>{_e(ln.unit_amount)}</td>"
            f"<td class=n>{_e(ln.discount_rate or '')}</td><td>{_e(ln.account_label)}</td><td>{_e(ln.tax_label)}</td>"
            f"<td>{tracking}</td><td class=n>{_m(ln.line_amount)}</td><td class=n>{_m(ln.tax_amount)}</td>"
            f"<td>{_e(ln.rule)}</td></tr>"
        )
    totals = "".join(
        f'<tr class="totals"><td colspan=7 class=n>{label}</td><td class=n {attr}>{_m(v)}</td><td></td><td></td></tr>'
        for label, v, attr in (
            ("Subtotal", d.subtotal, ""),
            ("Tax", d.total_tax, ""),
            ("Total", d.total, 'data-role="invoice-total"'),
        )
    )
    head = (
        "<tr><th>Description</th><th class=n>Qty</th><th class=n>Unit</th><th class=n>Disc %</th>"
        "<th>Account</th><th>Tax</th><th>Tracking</th><th class=n>Amount</th><th class=n>Tax amt</th>"
        "<th>Rule</th></tr>"
    )
    return (
        f'<section class="card invoice" data-client="{_e(d.contact.name)}" data-status="create" '
        f'data-total="{d.total}"><h2>{_e(d.contact.name)} <span class="badge create">create</span></h2>'
        f'<p class="meta">Job {_e(d.job_number)} · Reference {_e(d.reference)} · {_e(d.status)} · '
        f"date {d.date.isoformat()} · due {d.due_date.isoformat()} · {_e(d.line_amount_types)}"
        f"{' · stage ' + _e(d.stage) if d.stage != 'final' else ''}</p>"
        f'<p class="meta">{_contact_line(d)}</p><table>{head}{"".join(rows)}{totals}</table></section>'
    )


def _held_card(
    source_job: tuple[str, str], reason: str, fix: str, status: str, client: str, hold: Hold | None = None
) -> str:
    number, job_id = source_job
    fix_html = f'<p class="fix">Fix: {_e(fix)}</p>' if fix else ""
    return (
        f'<section class="card {status}" data-client="{_e(client)}" data-status="{status}" data-total="0">'
        f'<h2>{_e(client + " · ") if client else ""}Job {_e(number)} <span class="badge {status}">{status}</span></h2>'
        f'<p class="meta">job id {_e(job_id)}</p><p class="reason">{_e(reason)}</p>{fix_html}'
        f"{_held_lines(hold) if hold is not None else ''}</section>"
    )


def _held_lines(hold: Hold) -> str:
    """What could be read of a held job: its lines and their sum, so the card says what the job is."""
    if not hold.lines:
        return '<p class="meta">No lines could be read.</p>'
    rows = "".join(
        f"<tr><td>{_e(d)}</td><td class=n>{_e(q)}</td><td class=n>{_e(p)}</td></tr>" for d, q, p in hold.lines
    )
    more = hold.line_count - len(hold.lines)
    extra = f"<tr><td colspan=3>… and {more} more</td></tr>" if more > 0 else ""
    amount = f'<p class="meta">About {_m(hold.amount)} ex tax, as read</p>' if hold.amount is not None else ""
    head = "<tr><th>Description</th><th class=n>Qty</th><th class=n>Unit</th></tr>"
    return f"{amount}<table>{head}{rows}{extra}</table>"


def _summary(plan: Plan, report: RunReport) -> str:
    by_account: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    by_client: dict[str, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for d in plan.drafts:
        for ln in d.lines:
            by_account[ln.account_label][0] += ln.line_amount
            by_account[ln.account_label][1] += ln.tax_amount
        by_client[d.contact.name][0] += d.subtotal
        by_client[d.contact.name][1] += d.total_tax
    already = report.count(Outcome.SKIPPED) + report.count(Outcome.ADOPTED)
    grand = sum((d.total for d in plan.drafts), Decimal(0))
    counts = (
        f'<p>Jobs found <b id="jobs-found">{plan.jobs_seen}</b> · to create <b id="to-create">{len(plan.drafts)}</b>'
        f' · already invoiced <b>{already}</b> · held <b id="held-count">{len(plan.held)}</b>'
        f' · total inc tax <b id="grand-total">{_m(grand)}</b></p>'
    )
    return (
        f'<section class="summary"><h2>Summary</h2>{counts}{_group("Account", by_account)}'
        f"{_group('Client', by_client)}</section>"
    )


def _group(label: str, groups: dict[str, list[Decimal]]) -> str:
    rows = "".join(
        f"<tr><td>{_e(k)}</td><td class=n>{_m(ex)}</td><td class=n>{_m(ex + tax)}</td></tr>"
        for k, (ex, tax) in sorted(groups.items())
    )
    return f"<table><tr><th>{label}</th><th class=n>Ex tax</th><th class=n>Inc tax</th></tr>{rows}</table>"


def render_plan_html(plan: Plan, report: RunReport) -> str:
    cards = [_draft_card(d) for d in plan.drafts]
    cards += [_held_card((h.job_number, h.job_id), h.reason, h.fix, "held", h.client_name or "", h) for h in plan.held]
    for r in report.results:
        if r.outcome in (Outcome.SKIPPED, Outcome.ADOPTED):
            cards.append(
                _held_card(
                    (r.job_number, r.job_id),
                    r.reason + (f" ({r.invoice_number})" if r.invoice_number else ""),
                    "",
                    r.outcome.value,
                    r.contact_name or "",
                )
            )
    statuses = ["create"] * bool(plan.drafts) + ["held"] * bool(plan.held)
    statuses += [r.outcome.value for r in report.results if r.outcome in (Outcome.SKIPPED, Outcome.ADOPTED)]
    title = f"jobsync preview {report.run_id}"
    return _page(title, [_summary(plan, report), *cards], statuses, [d.contact.name for d in plan.drafts])


# ---------------------------------------------------------------------------
# A stored run report (the JSON document report.report_to_dict wrote)
# ---------------------------------------------------------------------------


def _result_card(r: dict[str, Any], links: dict[str, str]) -> str:
    outcome = str(r.get("outcome", ""))
    status = "create" if outcome == "created" else outcome
    link = links.get(str(r.get("job_number")))
    number = _e(r.get("invoice_number") or "")
    invoice = f'<a href="{_e(link)}">{number}</a>' if link and number else number
    return (
        f'<section class="card" data-client="{_e(r.get("contact") or "")}" data-status="{_e(status)}" '
        f'data-total="{_e(r.get("total") or "0")}"><h2>Job {_e(r.get("job_number"))} '
        f'<span class="badge {_e(status)}">{_e(outcome)}</span></h2>'
        f'<p class="meta">{_e(r.get("contact") or "")} · stage {_e(r.get("stage"))} · invoice {invoice} · '
        f'total <span data-role="invoice-total">{_m(r.get("total"))}</span></p>'
        f'<p class="reason">{_e(r.get("reason") or "")}</p></section>'
    )


def render_report_html(doc: dict[str, Any]) -> str:
    extra = doc.get("extra") or {}
    counts = doc.get("counts") or {}
    facts = [
        ("Started", doc.get("started_at")),
        ("Finished", doc.get("finished_at")),
        ("Duration (s)", doc.get("duration_seconds")),
        ("Config hash", doc.get("config_hash")),
        ("Ran by", "{user}@{host}".format(**extra["ran_by"]) if "ran_by" in extra else None),
        ("Version", extra.get("jobsync_version")),
        ("Admin minutes saved", extra.get("admin_minutes_saved")),
        ("API calls", doc.get("api_calls_total")),
    ]
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in facts if v is not None)
    count_line = " · ".join(f"{_e(k)} <b>{_e(v)}</b>" for k, v in counts.items())
    errors = "".join(f'<p class="reason">{_e(e)}</p>' for e in doc.get("errors") or [])
    summary = f'<section class="summary"><h2>Summary</h2><p>{count_line}</p>{errors}<table>{rows}</table></section>'
    results = list(doc.get("results") or [])
    cards = [_result_card(r, extra.get("invoice_links") or {}) for r in results]
    statuses = ["create" if r.get("outcome") == "created" else str(r.get("outcome")) for r in results]
    title = f"jobsync {doc.get('command', 'run')} {doc.get('run_id', '')}"
    return _page(title, [summary, *cards], statuses, [str(r.get("contact")) for r in results if r.get("contact")])
