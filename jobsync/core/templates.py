"""Templates for descriptions and References: "{description} ({job.number})", "{job.number} / PO {job.purchase_order}".

Rendered by name lookup only, never str.format, so a template cannot reach object attributes.
Pure: no I/O.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

from jobsync.core.errors import echo
from jobsync.core.models import Job, JobLine

_JOB_NAMES = (
    "job.source",
    "job.number",
    "job.id",
    "job.status",
    "job.purchase_order",
    "job.po_suffix",
    "job.job_type",
    "client.name",
    "client.id",
)
_LINE_NAMES = ("description", "kind", "item_code")


# The default Reference: the job number, then the client's purchase order when there is one.
DEFAULT_REFERENCE = "{job.number}{job.po_suffix}"
# What the default Reference was before (0.1.0): invoices made then are still found under it.
LEGACY_REFERENCES = ("{job.number}",)


def template_values(job: Job, line: JobLine | None = None) -> dict[str, str]:
    """The names a template may use; a missing value renders as empty text."""
    c = job.client
    values = {
        "job.source": job.source,
        "job.number": job.number,
        "job.id": job.id,
        "job.status": job.status,
        "job.purchase_order": job.purchase_order or "",
        # " / PO 7781" when the job has a purchase order, else nothing: the default Reference's tail.
        "job.po_suffix": f" / PO {po}" if (po := (job.purchase_order or "").strip()) else "",
        "job.job_type": job.job_type or "",
        "client.name": c.name if c else "",
        "client.id": c.id if c else "",
    }
    values.update({f"job.fields.{k}": v for k, v in job.fields})
    if line is not None:
        values.update(description=line.description, kind=line.kind, item_code=line.item_code or "")
    return values


def reference_for(template: str, job: Job, suffix: str = "") -> str:
    """A stage's Reference: the stage suffix follows the job number, before the PO ("2001-DEP / PO 55")."""
    values = template_values(job)
    tail = "{job.po_suffix}"
    if suffix and template.endswith(tail):
        return render_template(template[: -len(tail)], values) + suffix + values["job.po_suffix"]
    return render_template(template, values) + suffix


def check_template(template: str, line: bool) -> list[str]:
    """Problems with a template: bad braces or names it may not use."""
    allowed = set(_JOB_NAMES) | (set(_LINE_NAMES) if line else set())
    try:
        names = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        return [f"bad template {echo(template)}: {echo(str(exc))}"]
    return [
        f"unknown name {{{n}}} (allowed: {', '.join(sorted(allowed))}, job.fields.<name>)"
        for n in names
        if n not in allowed and not n.startswith("job.fields.")
    ]


def render_template(template: str, values: Mapping[str, str]) -> str:
    """Fill a checked template. Not str.format: attribute lookups must not reach real objects."""
    out: list[str] = []
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        out.append(literal)
        if name is not None:
            out.append(values.get(name, ""))
    return "".join(out).strip()


def check_reference_template(template: str) -> list[str]:
    """A Reference template is the key exactly-once rests on: it must name the job, not just decorate it."""
    problems = check_template(template, line=False)
    if problems:
        return problems
    names = {f for _, f, _, _ in string.Formatter().parse(template) if f is not None}
    if not names & {"job.number", "job.id"}:
        why = "the Reference tells one job's invoice from another's"
        return [f"{echo(template)} must include {{job.number}} or {{job.id}}: {why}"]
    return []


def check_date_format(fmt: str) -> list[str]:
    """A strptime format must read back the date it writes, or every job's dates would be unreadable."""
    from datetime import datetime

    sample = datetime(2026, 11, 23, 14, 5, 6)
    try:
        parsed = datetime.strptime(sample.strftime(fmt), fmt)
    except ValueError as exc:
        return [f"{echo(fmt)} is not a date format strptime can read back ({echo(str(exc))}); e.g. %d/%m/%Y"]
    if parsed.date() != sample.date():
        return [f"{echo(fmt)} does not include day, month and year; e.g. %d/%m/%Y or %Y-%m-%d %H:%M"]
    return []
