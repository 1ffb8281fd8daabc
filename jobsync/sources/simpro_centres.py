"""Where each changed simPRO job keeps its items: its cost centres, listed for many jobs at once.

Walking a job's sections and then each section's cost centres costs two calls per job before a
single item is read. `GET /jobCostCenters/`, filtered to the jobs in hand, names every cost centre
with its job and section in a few paged calls for the whole batch; only the item lists remain per job.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any

Raw = dict[str, Any]
Centre = tuple[str, str]  # (section id, cost centre id)
COLUMNS = ("ID", "Job", "Section", "_href")
JOBS_PER_REQUEST = 50  # keeps the filter, and so the URL, short
_HREF = re.compile(r"/jobs/(\d+)/sections/(\d+)/costCenters/(\d+)/?$")

ListFn = Callable[[str, Sequence[tuple[str, str]], Sequence[str]], list[Raw]]


def centres_by_job(list_rows: ListFn, job_ids: Sequence[str]) -> dict[str, list[Centre]]:
    """Every requested job's cost centres, in section then centre order; a job with none maps to []."""
    found: dict[str, list[Centre]] = {jid: [] for jid in job_ids}
    for start in range(0, len(job_ids), JOBS_PER_REQUEST):
        chunk = job_ids[start : start + JOBS_PER_REQUEST]
        # [UNVERIFIED] the nested filter `Job.ID=1,2,3` (any of), as simPRO's flat filters are written.
        for row in list_rows("jobCostCenters/", [("Job.ID", ",".join(chunk))], COLUMNS):
            place = _place(row)
            if place is not None and place[0] in found:
                found[place[0]].append(place[1:])
    for centres in found.values():
        centres.sort(key=lambda c: (int(c[0]), int(c[1])))
    return found


def _place(row: Raw) -> tuple[str, str, str] | None:
    """(job, section, cost centre) from the row's `_href`, else from its Job and Section objects."""
    match = _HREF.search(str(row.get("_href") or ""))
    if match:
        return match.group(1), match.group(2), match.group(3)
    job, section = row.get("Job") or {}, row.get("Section") or {}
    if isinstance(job, dict) and isinstance(section, dict) and job.get("ID") and section.get("ID") and row.get("ID"):
        return str(job["ID"]), str(section["ID"]), str(row["ID"])
    return None
