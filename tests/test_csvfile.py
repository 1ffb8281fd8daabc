"""CsvJobSource: parsing, grouping, filtering, and the bundled demo sample."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from source_contract import BILLABLE_STATUSES, SYDNEY, JobSourceContract, SeedJob, SourceFactory

from jobsync.core.csv_layouts import PRESETS, Layout
from jobsync.core.errors import ConfigError
from jobsync.sources.csvfile import CsvJobSource, normalise_kind, parse_datetime, parse_decimal

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "jobsync" / "samples" / "jobs.csv"
SOURCE_CONFIG = yaml.safe_load((ROOT / "config.example.yaml").read_text())["source"]
COLUMNS = SOURCE_CONFIG["columns"]
HEADER = list(COLUMNS.values())
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
SYDNEY_START = datetime(2026, 11, 1, tzinfo=UTC)


def row(**cells: str) -> dict[str, str]:
    """A CSV row keyed by logical column name, with sensible defaults for one job line."""
    base = {
        "job_id": "job-1",
        "job_number": "J-1",
        "status": "Completed",
        "completed_at": "03/11/2026 10:30",
        "client_id": "C-1",
        "client_name": "Acme Plumbing Co",
        "client_email": "acme@acme.example",
        "client_phone": "02 9555 0000",
        "line_kind": "Labour",
        "item_code": "",
        "description": "Fix tap",
        "quantity": "1",
        "unit_price": "95.00",
        "discount_percent": "",
        "tax_code": "GST",
        "purchase_order": "",
    }
    base.update(cells)
    return base


def write_csv(path: Path, rows: list[dict[str, str]], header: list[str] | None = None, bom: bool = False) -> Path:
    header = header or HEADER
    by_title = {title: key for key, title in COLUMNS.items()}
    by_title["Last Modified"] = "updated_at"
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for cells in rows:
            writer.writerow([cells.get(by_title.get(title, title), "") for title in header])
    return path


def source(path: Path, **kwargs: object) -> CsvJobSource:
    kwargs.setdefault("timezone", "Australia/Sydney")
    return CsvJobSource(path, kwargs.pop("columns", COLUMNS), **kwargs)  # type: ignore[arg-type]


# -- value parsing -------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1,234.50", "1234.50"),
        ("$12.3456", "12.3456"),
        ("-$5", "-5"),
        ("$-5.10", "-5.10"),
        ("(12.50)", "-12.50"),
        (" 2.5 ", "2.5"),
        ("A$1,000,000", "1000000"),
        (".5", "0.5"),
    ],
)
def test_parse_decimal_accepts_export_spellings(raw: str, expected: str) -> None:
    value = parse_decimal(raw)
    assert value == Decimal(expected)
    assert str(value) == expected  # precision kept, no float detour


@pytest.mark.parametrize("raw", ["two", "12,5", "1,23.00", "1.2.3", "", "$", "--5", "NaN", "1e3"])
def test_parse_decimal_refuses_anything_ambiguous(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_decimal(raw)


def test_parse_datetime_formats() -> None:
    sydney = timezone(timedelta(hours=11))  # AEDT in November
    tz = ZoneInfo("Australia/Sydney")
    assert parse_datetime("05/11/2026 14:30", tz) == datetime(2026, 11, 5, 14, 30, tzinfo=sydney)
    assert parse_datetime("5/11/2026", tz) == datetime(2026, 11, 5, tzinfo=sydney)
    assert parse_datetime("2026-11-05", tz) == datetime(2026, 11, 5, tzinfo=sydney)
    assert parse_datetime("2026-11-05T14:30:00+02:00", tz) == datetime(2026, 11, 5, 12, 30, tzinfo=UTC)
    assert parse_datetime("2026-11-05T03:30:00Z", tz) == datetime(2026, 11, 5, 3, 30, tzinfo=UTC)
    assert parse_datetime("05/11/2026 2:30 PM", tz).hour == 14
    for bad in ("11/2026", "2026-13-01", "31/11/2026", "yesterday"):
        with pytest.raises(ValueError):
            parse_datetime(bad, tz)


def test_line_kinds_are_normalised() -> None:
    assert [normalise_kind(k) for k in ("Labor", " TIME ", "Parts", "sub", "Callout", "Freight", "")] == [
        "labour",
        "labour",
        "material",
        "subcontractor",
        "fee",
        "other",
        "other",
    ]


# -- reading a file ------------------------------------------------------------


def test_bom_header_grouping_and_line_values(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "jobs.csv",
        [
            row(),
            row(job_id="job-2", job_number="J-2", client_name="Other Co", client_id="C-2"),
            row(
                line_kind="Materials",
                item_code="VAL-15",
                description="Valve",
                quantity="2",
                unit_price="$1,234.5678",
                discount_percent="10%",
            ),
        ],
        bom=True,
    )
    jobs = source(path).changed_since(EPOCH)
    assert [job.id for job in jobs] == ["job-1", "job-2"]  # first-seen order, rows grouped
    first = jobs[0]
    assert first.problems == ()
    assert first.client is not None and first.client.id == "C-1" and first.client.email == "acme@acme.example"
    assert len(first.lines) == 2
    labour, material = first.lines
    assert (labour.kind, labour.hours, labour.rate) == ("labour", Decimal("1"), Decimal("95.00"))
    assert material.kind == "material" and material.item_code == "VAL-15"
    assert material.unit_price == Decimal("1234.5678") and material.discount_rate == Decimal("10")
    assert material.hours is None and material.tax_code == "GST"


def test_times_are_local_and_changed_at_is_utc(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "jobs.csv",
        [
            row(completed_at="05/11/2026 23:30"),
            row(job_id="job-2", job_number="J-2", completed_at="2026-11-05T23:30:00+00:00"),
            row(job_id="job-3", job_number="J-3", completed_at="2026-11-05"),
        ],
    )
    one, two, three = source(path).changed_since(EPOCH)
    assert one.changed_at == datetime(2026, 11, 5, 12, 30, tzinfo=UTC)
    assert one.changed_at.utcoffset() == timedelta(0)
    assert one.completed_at is not None and one.completed_at.date().isoformat() == "2026-11-05"
    # An explicit offset is honoured; the completion date is the Sydney date (next morning there).
    assert two.changed_at == datetime(2026, 11, 5, 23, 30, tzinfo=UTC)
    assert two.completed_at is not None and two.completed_at.date().isoformat() == "2026-11-06"
    # Date only: 00:00 Sydney time.
    assert three.changed_at == datetime(2026, 11, 4, 13, 0, tzinfo=UTC)


def test_malformed_row_holds_only_its_job(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "jobs.csv",
        [
            row(),
            row(job_id="job-2", job_number="J-2"),
            row(job_id="job-2", job_number="J-2", quantity="two"),
            row(job_id="job-3", job_number="J-3", unit_price="12,5", discount_percent="150"),
        ],
    )
    jobs = {job.id: job for job in source(path).changed_since(EPOCH)}
    assert jobs["job-1"].problems == ()
    assert jobs["job-2"].problems == ("row 4: Quantity 'two' is not a number",)
    assert len(jobs["job-2"].lines) == 1  # the good line is still there for the report
    assert jobs["job-3"].problems == (
        "row 5: Unit Price '12,5' is not a number",
        "row 5: Discount % '150' is not 0-100",
    )


def test_job_level_problems(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "jobs.csv",
        [
            row(completed_at="31/02/2026"),
            row(job_id="job-2", job_number="J-2", completed_at=""),
            row(job_id="job-3", job_number="J-3"),
            row(job_id="job-3", job_number="J-3", client_name="Someone Else"),
            row(job_id="job-4", job_number="J-4", client_name="acme   PLUMBING co"),  # same name, other case
        ],
    )
    jobs = {job.id: job for job in source(path).changed_since(EPOCH)}
    assert jobs["job-1"].problems[0].startswith("row 2: Completed At '31/02/2026' is not a date")
    assert jobs["job-1"].completed_at is None
    # Without a date the job still reaches the planner (to be held), dated by the file.
    assert jobs["job-1"].changed_at == datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
    assert jobs["job-2"].problems == ("row 3: Completed At is empty: a job needs its completion date",)
    assert jobs["job-3"].problems == ("row 5: Client Name 'Someone Else' differs from 'Acme Plumbing Co' on row 4",)
    assert jobs["job-4"].problems == ()


def test_optional_columns_absent_use_defaults(tmp_path: Path) -> None:
    columns = {
        key: COLUMNS[key]
        for key in ("job_number", "client_name", "description", "quantity", "unit_price", "completed_at")
    }
    path = write_csv(
        tmp_path / "jobs.csv",
        [row(client_name="  Harbour   View Cafe "), row(job_number="J-2", status="In Progress")],
        header=list(columns.values()),
    )
    jobs = source(path, columns=columns).changed_since(EPOCH)
    # job_id defaults to the number; without a status column every row is billable
    assert [job.id for job in jobs] == ["J-1", "J-2"]
    assert jobs[0].client is not None and jobs[0].client.id == "harbour view cafe"
    assert jobs[0].status == "Completed" and jobs[0].lines[0].kind == "other"


def test_watermark_is_strictly_greater_and_status_filtered(tmp_path: Path) -> None:
    path = write_csv(
        tmp_path / "jobs.csv",
        [
            row(completed_at="2026-11-05T10:00:00+00:00"),
            row(job_id="job-2", job_number="J-2", completed_at="2026-11-06T10:00:00+00:00"),
            row(job_id="job-3", job_number="J-3", completed_at="2026-11-07T10:00Z", status="In Progress"),
            row(job_id="job-4", job_number="J-4", completed_at="2026-11-07T10:00Z", status="invoiced"),
        ],
    )
    src = source(path, statuses=["Completed", "Invoiced"])
    mark = datetime(2026, 11, 5, 10, 0, tzinfo=UTC)
    assert [job.id for job in src.changed_since(mark)] == ["job-2", "job-4"]
    assert [job.id for job in src.changed_since(mark - timedelta(seconds=1))] == ["job-1", "job-2", "job-4"]
    assert src.get_jobs(["job-4", "job-3", "nope", "job-1"]) == [
        job for job in src.changed_since(EPOCH) if job.id in {"job-1", "job-4"}
    ]
    assert src.calls == {"read jobs.csv": 4}


def test_missing_header_names_the_config_key(tmp_path: Path) -> None:
    header = [title for title in HEADER if title not in ("Quantity", "Status")]
    path = write_csv(tmp_path / "jobs.csv", [row()], header=header)
    with pytest.raises(ConfigError) as caught:
        source(path).changed_since(EPOCH)
    problems = caught.value.problems
    assert len(problems) == 2
    assert "'Status'" in problems[0] and "source.columns.status" in problems[0]
    assert "remove the key" in problems[0]
    assert "'Quantity'" in problems[1] and "source.columns.quantity" in problems[1]
    assert "remove the key" not in problems[1]  # a required column cannot be removed


def test_config_problems_are_reported_together(tmp_path: Path) -> None:
    columns = {key: value for key, value in COLUMNS.items() if key != "unit_price"} | {"colour": "Colour"}
    with pytest.raises(ConfigError) as caught:
        CsvJobSource(tmp_path / "x.csv", columns, statuses=[], timezone="Mars/Olympus")
    text = str(caught.value)
    keys = ("source.columns.colour", "source.columns.unit_price", "source.statuses", "source.timezone")
    for expected in keys:
        assert expected in text


def test_missing_file_names_source_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        source(tmp_path / "missing.csv").changed_since(EPOCH)
    assert "missing.csv" in str(caught.value) and "source.path" in str(caught.value)


# -- the bundled demo sample ---------------------------------------------------


def test_bundled_sample_matches_the_demo_story() -> None:
    src = CsvJobSource(SAMPLE, COLUMNS, SOURCE_CONFIG["statuses"], SOURCE_CONFIG["timezone"])
    jobs = src.changed_since(SYDNEY_START)
    by_number = {job.number: job for job in jobs}
    assert len(jobs) >= 12 and "J-1054" not in by_number  # the In Progress job is ignored
    assert len({job.client.id for job in jobs if job.client}) >= 8
    assert [job.number for job in jobs if job.problems] == ["J-1048"]
    assert by_number["J-1048"].problems == ("row 22: Quantity 'two' is not a number",)
    assert all(job.changed_at < datetime(2026, 11, 25, tzinfo=UTC) for job in jobs)
    lines = [line for job in jobs for line in job.lines]
    assert {line.kind for line in lines} >= {"labour", "material", "subcontractor", "fee"}
    assert any(line.discount_rate == Decimal("10") for line in lines)
    assert any(line.unit_price.as_tuple().exponent == -4 for line in lines)
    assert any(line.quantity != line.quantity.to_integral_value() for line in lines)
    harbour = [job for job in jobs if job.client and job.client.name == "Harbour View Cafe Pty Ltd"]
    assert harbour and harbour[0].client and harbour[0].client.email == "accounts@harbourviewcafe.example"
    smith = by_number["J-1042"].client
    assert smith is not None and (smith.name, smith.email) == ("Smith Family", "office@smithfamily.example")
    repeat_clients = [job.client.id for job in jobs if job.client and job.client.id == "C-1003"]
    assert len(repeat_clients) == 2


# -- the shared JobSource contract ---------------------------------------------


class TestCsvContract(JobSourceContract):
    """The CSV source passes the contract with the export written in Sydney local time."""

    @pytest.fixture
    def source_factory(self, tmp_path: Path) -> SourceFactory:
        columns = dict(COLUMNS) | {"updated_at": "Last Modified"}

        def local(when: datetime | None, fmt: str) -> str:
            return when.astimezone(SYDNEY).strftime(fmt) if when else ""

        def factory(seeds: Sequence[SeedJob]) -> CsvJobSource:
            rows = [
                row(
                    job_id=job.id,
                    job_number=job.number,
                    status=job.status,
                    client_id=job.client_id,
                    client_name=job.client_name,
                    client_email=job.client_email or "",
                    completed_at=local(job.completed_at, "%d/%m/%Y %H:%M"),
                    updated_at=local(job.changed_at, "%d/%m/%Y %H:%M:%S"),
                    line_kind=line.kind,
                    description=line.description,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                )
                for job in seeds
                for line in job.lines
            ]
            path = write_csv(tmp_path / "export.csv", rows, header=[*HEADER, "Last Modified"], bom=True)
            return CsvJobSource(path, columns, BILLABLE_STATUSES, "Australia/Sydney")

        return factory


# -- exports from other programs: encodings, delimiters, date formats, two files -----------

SAMPLES = Path(__file__).resolve().parents[1] / "jobsync" / "samples"
# Illustrative layouts: Tradify has no public API and documents no export schema, and WorkflowMax's
# columns follow its API's field names (Job No., Client, Client Order Number, State); neither is a
# verbatim copy of a real export, so map the headers your own export has.
# The presets `jobsync init` recognises are the mappings these samples load with.
TRADIFY, WORKFLOWMAX = (next(p for p in PRESETS if p.name == name) for name in ("Tradify", "WorkflowMax"))


def _preset_source(layout: Layout, sample: str) -> dict[str, object]:
    return {
        "type": "csv",
        "path": str(SAMPLES / sample),
        "timezone": "Pacific/Auckland",
        "date_format": layout.date_format,
        "prices_include_tax": layout.prices_include_tax,
        "columns": dict(layout.columns),
    }


TRADIFY_SOURCE = _preset_source(TRADIFY, "tradify_export.csv")
WORKFLOWMAX_SOURCE = _preset_source(WORKFLOWMAX, "workflowmax_export.csv")


def built_source(tmp_path: Path, source_section: dict[str, object]) -> CsvJobSource:
    """A CsvJobSource built the way `jobsync run` builds it: YAML config -> settings -> wiring."""
    from jobsync.app.wiring import build_connector
    from jobsync.config.settings import load_settings

    config = tmp_path / "jobsync.yaml"
    doc = {
        "xero": {"tenant_id": "t", "auth": {"mode": "static_token", "token": "x"}},
        "rules": {"default": {"account_code": "200"}},
        "source": source_section,
    }
    config.write_text(yaml.safe_dump(doc))
    source = build_connector(load_settings(config, {}))
    assert isinstance(source, CsvJobSource)
    return source


def test_tradify_sample_loads_through_the_config(tmp_path: Path) -> None:
    jobs = {job.number: job for job in built_source(tmp_path, TRADIFY_SOURCE).changed_since(EPOCH)}
    assert sorted(jobs) == ["J0101", "J0102"]  # J0103 is still in progress
    dental = jobs["J0101"]
    assert dental.problems == () and dental.purchase_order == "PO-7781"
    assert dental.client is not None and dental.client.email == "accounts@ponsonbydental.example"
    assert [(ln.kind, ln.quantity, ln.unit_price, ln.tax_inclusive) for ln in dental.lines] == [
        ("labour", Decimal("2.5"), Decimal("95.00"), False),
        ("material", Decimal("20"), Decimal("3.40"), False),
    ]
    assert dental.completed_at is not None and dental.completed_at.date().isoformat() == "2026-03-04"
    assert jobs["J0102"].lines[0].unit_price == Decimal("1450.00")


def test_workflowmax_sample_loads_through_the_config(tmp_path: Path) -> None:
    """A UTF-8-with-BOM, semicolon-separated export with "06 Mar 2026" dates and GST-inclusive prices."""
    jobs = {job.number: job for job in built_source(tmp_path, WORKFLOWMAX_SOURCE).changed_since(EPOCH)}
    assert sorted(jobs) == ["J000231", "J000232"]
    survey = jobs["J000231"]
    assert survey.problems == () and survey.purchase_order == "HA-2026-03"
    assert survey.completed_at == datetime(2026, 3, 6, tzinfo=ZoneInfo("Pacific/Auckland"))
    assert [(ln.kind, ln.unit_price, ln.tax_inclusive) for ln in survey.lines] == [
        ("labour", Decimal("165.00"), True),
        ("other", Decimal("48.30"), True),
    ]


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [("utf-8", ","), ("utf-8-sig", ";"), ("utf-16", "\t"), ("cp1252", ";"), ("cp1252", "\t")],
)
def test_encoding_and_delimiter_are_detected(tmp_path: Path, encoding: str, delimiter: str) -> None:
    header = ["Job Number", "Customer", "Completed", "Description", "Quantity", "Unit Price"]
    lines = [header, ["J-1", "Café Crème", "05/03/2026", "Pipe, copper; 15mm", "2", "12.50"]]
    path = tmp_path / "export.csv"
    with path.open("w", encoding=encoding, newline="") as handle:
        csv.writer(handle, delimiter=delimiter).writerows(lines)
    columns = {
        "job_number": "Job Number",
        "client_name": "Customer",
        "completed_at": "Completed",
        "description": "Description",
        "quantity": "Quantity",
        "unit_price": "Unit Price",
    }
    [job] = CsvJobSource(path, columns).changed_since(EPOCH)
    assert job.client is not None and job.client.name == "Café Crème"
    assert job.lines[0].description == "Pipe, copper; 15mm" and job.lines[0].quantity == Decimal("2")


def test_date_format_per_column_reads_us_dates(tmp_path: Path) -> None:
    path = tmp_path / "us.csv"
    path.write_text("Job,Client,Done,Modified,Item,Qty,Price\nJ-1,Acme,03/04/2026,2026-03-05T08:00:00Z,Fix,1,10\n")
    columns = {
        "job_number": "Job",
        "client_name": "Client",
        "completed_at": "Done",
        "updated_at": "Modified",
        "description": "Item",
        "quantity": "Qty",
        "unit_price": "Price",
    }
    [job] = CsvJobSource(path, columns, date_format={"completed_at": "%m/%d/%Y"}).changed_since(EPOCH)
    assert job.completed_at is not None and job.completed_at.date().isoformat() == "2026-03-04"  # 4 March
    assert job.changed_at == datetime(2026, 3, 5, 8, tzinfo=UTC)  # ISO still reads without a format
    path.write_text("Job,Client,Done,Modified,Item,Qty,Price\nJ-1,Acme,13/04/2026,,Fix,1,10\n")
    [bad] = CsvJobSource(path, columns, date_format={"completed_at": "%m/%d/%Y"}).changed_since(EPOCH)
    assert bad.problems == ("row 2: Done '13/04/2026' is not a date (expected %m/%d/%Y)",)


def test_jobs_file_joined_to_lines_file_on_job_number(tmp_path: Path) -> None:
    jobs_path, lines_path = tmp_path / "jobs.csv", tmp_path / "lines.csv"
    jobs_path.write_text(
        "Job No,Client,Status,Completed\nJ-1,Acme,Completed,01/03/2026\n"
        "J-2,Beta Ltd,Completed,02/03/2026\nJ-3,Gamma,Completed,02/03/2026\n"
    )
    lines_path.write_text(
        "Job,Item,Qty,Price\nJ-2,Tap washer,4,2.50\nJ-1,Call-out,1,80\nJ-1,Labour,2,95\nJ-9,Orphan line,1,1\n"
    )
    source = CsvJobSource(
        jobs_path,
        {"job_number": "Job No", "client_name": "Client", "status": "Status", "completed_at": "Completed"},
        lines_path=lines_path,
        line_columns={"job_number": "Job", "description": "Item", "quantity": "Qty", "unit_price": "Price"},
    )
    jobs = {job.number: job for job in source.changed_since(EPOCH)}
    assert [ln.description for ln in jobs["J-1"].lines] == ["Call-out", "Labour"]
    assert [(ln.quantity, ln.unit_price) for ln in jobs["J-2"].lines] == [(Decimal("4"), Decimal("2.50"))]
    assert jobs["J-3"].lines == ()  # no lines: the planner holds it
    assert "J-9" not in jobs and jobs["J-1"].client is not None and jobs["J-1"].client.name == "Acme"
    assert source.calls == {"read jobs.csv": 1, "read lines.csv": 1}
    with pytest.raises(ConfigError, match="source.line_columns.job_number"):
        CsvJobSource(
            jobs_path,
            {"job_number": "Job No", "client_name": "Client"},
            lines_path=lines_path,
            line_columns={"description": "Item", "quantity": "Qty", "unit_price": "Price"},
        )


def test_the_same_export_synced_twice_invoices_each_job_once(tmp_path: Path) -> None:
    """Re-exported old rows are not billed again: the ledger, through the real service and Xero sandbox."""
    from jobsync.app.sync_run import sync
    from jobsync.config.settings import load_settings
    from jobsync.samples import sandbox_config
    from jobsync.sandbox.xero.server import XeroSandbox

    section = TRADIFY_SOURCE | {"start_from": "2026-03-01"}
    rules = {"default": {"account_code": "200", "tax_type": "OUTPUT"}}
    with XeroSandbox(port=0) as xero:
        config = tmp_path / "jobsync.yaml"
        config.write_text(sandbox_config(xero.api_url, xero.identity_url, xero.tenant_id, section, rules))
        settings = load_settings(config, {})
        first = sync(settings, apply=True)
        assert len(xero.invoices()) == 2
        second = sync(settings, apply=True, since=datetime(2026, 3, 1, tzinfo=UTC))  # the whole file again
        invoices = xero.invoices()
    assert sorted(i["Reference"] for i in invoices) == ["J0101 / PO PO-7781", "J0102"]
    assert first.result is not None and second.result is not None
