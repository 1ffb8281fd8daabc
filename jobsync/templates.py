"""Templates for descriptions and References: "{description} ({job.number})", "{job.number} / PO {job.purchase_order}".

Rendered by name lookup only, never str.format, so a template cannot reach object attributes.
Pure: no I/O.
"""

from __future__ import annotations

import string
from collections.abc import Mapping

from jobsync.models import Job, JobLine

_JOB_NAMES = (
    "job.number",
    "job.id",
    "job.status",
    "job.purchase_order",
    "job.job_type",
    "client.name",
    "client.id",
)
_LINE_NAMES = ("description", "kind", "item_code")


def template_values(job: Job, line: JobLine | None = None) -> dict[str, str]:
    """The names a template may use; a missing value renders as empty text."""
    c = job.client
    values = {
        "job.number": job.number,
        "job.id": job.id,
        "job.status": job.status,
        "job.purchase_order": job.purchase_order or "",
        "job.job_type": job.job_type or "",
        "client.name": c.name if c else "",
        "client.id": c.id if c else "",
    }
    values.update({f"job.fields.{k}": v for k, v in job.fields})
    if line is not None:
        values.update(description=line.description, kind=line.kind, item_code=line.item_code or "")
    return values


def check_template(template: str, line: bool) -> list[str]:
    """Problems with a template: bad braces or names it may not use."""
    allowed = set(_JOB_NAMES) | (set(_LINE_NAMES) if line else set())
    try:
        names = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        return [f"bad template {template!r}: {exc}"]
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
