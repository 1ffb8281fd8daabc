from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from jobsync.core.models import JobResult, Outcome, RunReport
from jobsync.output.report import report_to_dict, report_to_markdown, write_report

T0 = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)


def sample() -> RunReport:
    report = RunReport(
        run_id="20261103T093000Z-ab12",
        command="run",
        started_at=T0,
        finished_at=T0 + timedelta(seconds=4.5),
        config_hash="53b027a185d4",
        source="csv",
        watermark_before=T0 - timedelta(days=1),
        watermark_after=T0,
    )
    report.results += [
        JobResult(
            "csv",
            "1",
            "J1001",
            Outcome.CREATED,
            invoice_id="uuid-1",
            invoice_number="INV-0001",
            total=Decimal("87.74"),
            contact_name="Acme Plumbing",
        ),
        JobResult(
            "csv",
            "2",
            "J1002",
            Outcome.ADOPTED,
            reason="reconciled by Reference",
            invoice_number="INV-0002",
            total=Decimal("100"),
            contact_name="Bo | Co",
        ),
        JobResult("csv", "3", "J1003", Outcome.SKIPPED, reason="already invoiced", invoice_number="INV-0000"),
        JobResult("csv", "4", "J1004", Outcome.HELD, reason="job has no billable lines"),
        JobResult("csv", "5", "J1005", Outcome.FAILED, reason="Xero: Account code '999' is not valid"),
    ]
    report.api_calls = {"PUT /Invoices": 1, "GET /Contacts": 2}
    report.errors = ["notification failed: connection refused"]
    report.extra = {"admin_minutes_saved": Decimal("10"), "when": T0}
    return report


def test_files_are_written_private(tmp_path: Path) -> None:
    directory = tmp_path / "reports" / "nested"
    json_path, md_path = write_report(sample(), directory)
    assert json_path == directory / "20261103T093000Z-ab12.json" and md_path.suffix == ".md"
    for path in (json_path, md_path):
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    assert sorted(p.name for p in directory.iterdir()) == sorted([json_path.name, md_path.name])  # no temp left


def test_rewrite_replaces(tmp_path: Path) -> None:
    report = sample()
    write_report(report, tmp_path)
    report.results.append(JobResult("csv", "6", "J1006", Outcome.CREATED, total=Decimal("1.5")))
    json_path, _ = write_report(report, tmp_path)
    assert json.loads(json_path.read_text())["counts"]["created"] == 2


def test_json_round_trips_exact_cents(tmp_path: Path) -> None:
    json_path, _ = write_report(sample(), tmp_path)
    data = json.loads(json_path.read_text())
    assert data == report_to_dict(sample())
    assert data["counts"] == {"created": 1, "adopted": 1, "skipped": 1, "held": 1, "failed": 1, "awaiting approval": 0}
    first = data["results"][0]
    assert first == {
        "job_number": "J1001",
        "job_id": "1",
        "source": "csv",
        "stage": "final",
        "outcome": "created",
        "reason": "",
        "invoice_id": "uuid-1",
        "invoice_number": "INV-0001",
        "total": "87.74",
        "contact": "Acme Plumbing",
        "link": None,
    }
    assert Decimal(first["total"]) == Decimal("87.74")
    assert data["results"][1]["total"] == "100.00" and data["results"][3]["total"] is None
    assert data["duration_seconds"] == 4.5
    assert data["started_at"] == "2026-11-03T09:30:00+00:00"
    assert data["watermark_before"] == "2026-11-02T09:30:00+00:00"
    assert data["api_calls"] == {"GET /Contacts": 2, "PUT /Invoices": 1} and data["api_calls_total"] == 3
    assert data["extra"] == {"admin_minutes_saved": "10", "when": "2026-11-03T09:30:00+00:00"}


def test_markdown_lists_problems_first_with_reasons(tmp_path: Path) -> None:
    _, md_path = write_report(sample(), tmp_path)
    md = md_path.read_text()
    assert md.startswith("# jobsync run 20261103T093000Z-ab12")
    assert "| held | 1 |" in md and "| created | 1 |" in md
    assert "| J1004 | final | held | job has no billable lines |" in md
    assert "Account code '999' is not valid" in md
    # Failures and holds come before what went well.
    assert md.index("## Needs attention") < md.index("## Invoiced") < md.index("## Already invoiced")
    assert md.index("J1005") < md.index("J1004")
    assert "| J1001 | final | created | INV-0001 | 87.74 | Acme Plumbing |" in md
    assert "Bo \\| Co" in md  # a pipe in a name does not split the row
    assert "notification failed" in md and "| total | 3 |" in md


def test_unfinished_empty_run() -> None:
    report = RunReport(run_id="r/1", command="preview", started_at=T0)
    data = report_to_dict(report)
    assert data["finished_at"] is None and data["duration_seconds"] is None and data["results"] == []
    md = report_to_markdown(report)
    assert "(did not finish)" in md and "(none: first run)" in md and "Needs attention" not in md


def test_unsafe_run_id_stays_in_directory(tmp_path: Path) -> None:
    report = RunReport(run_id="../../evil", command="run", started_at=T0)
    json_path, _ = write_report(report, tmp_path / "r")
    assert json_path.parent == tmp_path / "r"


def test_markdown_shows_the_rate_limit_headroom_last_seen_and_json_keeps_it() -> None:
    report = sample()
    report.extra["rate_limits"] = {"x-minlimit-remaining": 57, "x-daylimit-remaining": 4890}
    md = report_to_markdown(report)
    assert "## Rate-limit headroom" in md
    assert "| calls left this minute | 57 |" in md and "| calls left today | 4890 |" in md
    assert "all organisations" not in md  # a header Xero did not send is not shown as a number
    assert report_to_dict(report)["extra"]["rate_limits"] == {"x-minlimit-remaining": 57, "x-daylimit-remaining": 4890}
    assert "Rate-limit headroom" not in report_to_markdown(sample())  # nothing seen: no section
