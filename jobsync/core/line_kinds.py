"""A platform's own line types, mapped onto jobsync's line kinds. Pure: no I/O.

Each job system names its line types its own way ("Sub-contractor", "Labour - Plumber (per hour)").
The sources recognise the common spellings; `source.kind_map` names the rest. A line type that maps
to nothing is never silently counted as "other" and forgotten: `unmapped()` lists it, so preview and
doctor can name the key to add.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime

from jobsync.core.models import LINE_KINDS, Job, JobLine

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # "since ever", for reading a whole export


def type_key(text: str) -> str:
    """How a line type is compared: case, spacing and the spelling of dashes do not matter."""
    return " ".join(text.replace("\u2013", "-").replace("\u2014", "-").casefold().split())


def remap(job: Job, kind_map: Mapping[str, str]) -> Job:
    """The job with each line's kind taken from `kind_map` wherever its platform type is named there."""
    if not kind_map or not job.lines:
        return job
    keyed = {type_key(name): kind for name, kind in kind_map.items()}
    lines = tuple(_remapped(line, keyed) for line in job.lines)
    return job if lines == job.lines else replace(job, lines=lines)


def _remapped(line: JobLine, keyed: Mapping[str, str]) -> JobLine:
    kind = keyed.get(type_key(line.source_kind)) if line.source_kind else None
    if kind is None or kind == line.kind:
        return line
    labour = kind == "labour"
    # A line that becomes labour carries its hours and rate as the labour rules expect them.
    return replace(
        line,
        kind=kind,
        hours=line.quantity if labour else None,
        rate=line.unit_price if labour else None,
    )


def unmapped(jobs: Iterable[Job]) -> Counter[str]:
    """Platform line types that fell to "other" because nothing maps them, with how many lines each."""
    seen: Counter[str] = Counter()
    for job in jobs:
        for line in job.lines:
            if line.kind == "other" and line.source_kind and line.source_kind.strip():
                seen[" ".join(line.source_kind.split())] += 1
    return seen


def add_hint(types: Mapping[str, int]) -> str:
    """The config to add, named for the first few unmapped types: what the user pastes into config.yaml."""
    shown = sorted(types, key=lambda name: (-types[name], name))[:3]
    entries = ", ".join(f'"{name[:40]}": <{"|".join(k for k in LINE_KINDS if k != "other")}>' for name in shown)
    return f"add source.kind_map: {{{entries}}}"
