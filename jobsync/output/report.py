"""Run reports: one JSON document (for machines and `--json`) and one Markdown page (for people) per run.

Both are written atomically (temp file in the same directory, then os.replace) with mode 0600: they name
clients and emails. A report holds only what RunReport holds, which carries no credentials.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from jobsync.core.models import JobResult, Outcome, RunReport
from jobsync.output import follow_up_view
from jobsync.output.times import shown
from jobsync.runtime.private_files import write_private

CENT = Decimal("0.01")
OUTCOME_ORDER = tuple(Outcome)  # every outcome, in the order the enum lists them


def money(value: Decimal | None) -> str | None:
    """To the cent, as a string: JSON floats would lose cents."""
    return None if value is None else str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _duration(report: RunReport) -> float | None:
    if report.finished_at is None:
        return None
    return round((report.finished_at - report.started_at).total_seconds(), 3)


def _result_dict(result: JobResult) -> dict[str, Any]:
    return {
        "job_number": result.job_number,
        "job_id": result.job_id,
        "source": result.source,
        "stage": result.stage,
        "outcome": result.outcome.value,
        "reason": result.reason,
        "invoice_id": result.invoice_id,
        "invoice_number": result.invoice_number,
        "total": money(result.total),
        "contact": result.contact_name,
        "link": result.link,
    }


def _json_safe(value: Any) -> Any:
    """Make `extra` (free-form, filled by other modules) serialisable without losing exactness."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_json_safe(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def report_to_dict(report: RunReport) -> dict[str, Any]:
    return {
        "run_id": report.run_id,
        "command": report.command,
        "started_at": _iso(report.started_at),
        "finished_at": _iso(report.finished_at),
        "duration_seconds": _duration(report),
        "config_hash": report.config_hash,
        "source": report.source,
        "watermark_before": _iso(report.watermark_before),
        "watermark_after": _iso(report.watermark_after),
        "counts": {o.value: report.count(o) for o in OUTCOME_ORDER},
        "results": [_result_dict(r) for r in report.results],
        "api_calls": dict(sorted(report.api_calls.items())),
        "api_calls_total": sum(report.api_calls.values()),
        "errors": list(report.errors),
        "extra": _json_safe(report.extra),
        "timezone": report.timezone,
    }


# ---------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    # A pipe or newline in a job description would break the table row.
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _table(headers: list[str], rows: Sequence[Sequence[object]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return out + [""]


def _header(report: RunReport) -> list[str]:
    duration = _duration(report)
    facts = [
        ("Command", report.command),
        ("Source", report.source),
        ("Started", shown(report.started_at, report.timezone)),
        ("Finished", shown(report.finished_at, report.timezone, "(did not finish)")),
        ("Duration", f"{duration:.1f} s" if duration is not None else "-"),
        ("Config hash", report.config_hash or "-"),
        ("Watermark before", shown(report.watermark_before, report.timezone, "(none: first run)")),
        ("Watermark after", shown(report.watermark_after, report.timezone, "(unchanged)")),
    ]
    return [f"# jobsync {report.command} {report.run_id}", ""] + [f"- **{k}:** {v}" for k, v in facts] + [""]


def _results_sections(report: RunReport) -> list[str]:
    lines: list[str] = []
    attention = [r for r in report.results if r.outcome in (Outcome.FAILED, Outcome.HELD)]
    attention.sort(key=lambda r: (r.outcome is not Outcome.FAILED, r.job_number))
    if attention:
        lines += ["## Needs attention", ""]
        rows = [[r.job_number, r.stage, r.outcome.value, r.reason, r.contact_name] for r in attention]
        lines += _table(["Job", "Stage", "Outcome", "Reason", "Contact"], rows)
    invoiced = [r for r in report.results if r.outcome in (Outcome.CREATED, Outcome.ADOPTED)]
    if invoiced:
        lines += ["## Invoiced", ""]
        rows = [
            [
                r.job_number,
                r.stage,
                r.outcome.value,
                f"[{r.invoice_number}]({r.link})" if r.link and r.invoice_number else r.invoice_number,
                money(r.total),
                r.contact_name,
                r.reason,
            ]
            for r in invoiced
        ]
        lines += _table(["Job", "Stage", "Outcome", "Invoice", "Total", "Contact", "Note"], rows)
    waiting = [r for r in report.results if r.outcome is Outcome.AWAITING]
    if waiting:
        lines += ["", "## Waiting for approval", ""]
        rows = [[r.job_number, r.stage, r.contact_name or "", money(r.total)] for r in waiting]
        lines += _table(["Job", "Stage", "Contact", "Total"], rows)
    skipped = [r for r in report.results if r.outcome is Outcome.SKIPPED]
    if skipped:
        lines += ["## Already invoiced (skipped)", ""]
        rows = [[r.job_number, r.stage, r.invoice_number, r.reason] for r in skipped]
        lines += _table(["Job", "Stage", "Invoice", "Reason"], rows)
    return lines


def report_to_markdown(report: RunReport) -> str:
    lines = _header(report)
    lines += ["## Summary", ""]
    lines += _table(["Outcome", "Jobs"], [[o.value, report.count(o)] for o in OUTCOME_ORDER])
    if report.errors:
        lines += ["## Errors", ""] + [f"- {_cell(e)}" for e in report.errors] + [""]
    late = report.extra.get("outside_window") or []
    if late:
        lines += ["## Found outside the normal read window", ""] + [f"- job {_cell(n)}" for n in late] + [""]
    lines += _results_sections(report)
    lines += follow_up_view.markdown(follow_up_view.of(report.extra))
    if report.api_calls:
        lines += ["## API calls", ""]
        rows: list[list[object]] = [[k, n] for k, n in sorted(report.api_calls.items())]
        lines += _table(["Endpoint", "Calls"], rows + [["total", sum(report.api_calls.values())]])
    lines += _headroom(report)
    return "\n".join(lines).rstrip() + "\n"


_LIMIT_NAMES = {
    "x-minlimit-remaining": "calls left this minute",
    "x-daylimit-remaining": "calls left today",
    "x-appminlimit-remaining": "app calls left this minute (all organisations)",
}


def _headroom(report: RunReport) -> list[str]:
    """Xero's remaining limits as last seen: how close this run came to a 429 or a stopped day."""
    seen = report.extra.get("rate_limits") or {}
    rows = [[_LIMIT_NAMES[k], seen[k]] for k in _LIMIT_NAMES if k in seen]
    return ["## Rate-limit headroom", "", *_table(["Xero limit", "Remaining"], rows)] if rows else []


# ---------------------------------------------------------------------------
# Files
# ---------------------------------------------------------------------------

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


def write_report(report: RunReport, directory: Path) -> tuple[Path, Path]:
    """Write `<run_id>.json` and `<run_id>.md` under `directory`; returns (json path, markdown path)."""
    directory = Path(directory)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    stem = _SAFE_NAME.sub("_", report.run_id) or "run"
    json_path, md_path = directory / f"{stem}.json", directory / f"{stem}.md"
    write_private(json_path, json.dumps(report_to_dict(report), indent=2, ensure_ascii=False) + "\n")
    write_private(md_path, report_to_markdown(report))
    return json_path, md_path
