"""A CSV export as a job source: one row per line item, rows grouped into jobs.

The column mapping (`source.columns`) maps logical names to the export's header
names. The file is re-read on every call, so a fresh export dropped in place is
seen without restarting anything; `calls` counts those reads.

Choices worth knowing:

- Row numbers in problems are spreadsheet rows: the header is row 1.
- The change timestamp (the watermark field) is `updated_at` when the export
  has such a column ("Last Modified"), else `completed_at`. A naive
  value is local time in `timezone`; a date-only value means 00:00 local that
  day, which keeps it deterministic (the runner's overlap window re-reads it).
- A job without a usable completion time still has to reach the planner so it
  is held with its reason rather than silently dropped; its `changed_at` is the
  file's modification time, i.e. "it changed no later than the export did".
- Job-level values (status, dates, client, PO) come from the job's first row
  that has them, so exports that fill them only on a job's first row work too.
- Two-file exports (`source.lines_path` with `source.line_columns`): each line
  row is joined to its job's row on job number; a job without lines still
  becomes a (held) job, and lines of a job absent from the jobs file are ignored
  because that job is not in the export's selection.
- Encoding and delimiter are detected (see csv_reading); `source.date_format`
  (one strptime format, or one per logical column) is tried before the default
  dd/mm/yyyy and ISO forms, so a US export's 03/04 is read as 4 March.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jobsync.core.errors import ConfigError, echo
from jobsync.core.models import Client, Job, JobLine
from jobsync.sources.base import read_or_hold, unreadable
from jobsync.sources.cell_values import DATE_HINT, first_rate, normalise_kind, parse_datetime, parse_decimal
from jobsync.sources.csv_reading import (
    UNDECODABLE,
    column_index,
    join_lines,
    normalise_name,
    read_table,
    undecodable,
)

# The logical fields of one job line; the REST source reads the same ones from each line object.
LINE_KEYS = (
    "line_kind",
    "item_code",
    "description",
    "quantity",
    "unit_price",
    "discount_percent",
    "tax_code",
    "tax_rate",
)
COLUMN_KEYS = (
    "job_id",
    "job_number",
    "status",
    "completed_at",
    "client_id",
    "client_name",
    "client_email",
    "client_phone",
    *LINE_KEYS,
    "purchase_order",
    "job_type",
    "updated_at",
    "currency",
)
REQUIRED_COLUMNS = ("job_number", "client_name", "description", "quantity", "unit_price")

Row = tuple[str, dict[str, str]]  # (where, e.g. "row 7"; logical name -> cell text)


def _currency(rows: list[Row], problems: list[str]) -> str | None:
    """The job's ISO 4217 currency code, when the export states one."""
    code = (_first(rows, "currency") or "").strip().upper()
    if code and not (len(code) == 3 and code.isascii() and code.isalpha()):
        problems.append(f"{rows[0][0]}: currency {echo(code)} is not a three-letter code such as AUD")
        return None
    return code or None


class JobBuilder:
    """Turns a job's rows (logical name -> text) into a `Job`, collecting problems rather than raising.

    Shared by the sources whose records are flat text (CSV rows, flattened JSON), so
    every such source parses numbers and dates and reports problems the same way.
    `titles` names each logical field as the user knows it (a CSV header, a JSON path).
    An `updated_at` cell, when present, is the change timestamp; else `completed_at` is.
    """

    def __init__(
        self,
        name: str,
        titles: Mapping[str, str],
        statuses: Sequence[str],
        tz: ZoneInfo,
        date_formats: Mapping[str, str] | None = None,
        tax_inclusive: bool = False,
    ) -> None:
        self.name = name
        self.titles = dict(titles)
        self.statuses = tuple(statuses)
        self.tz = tz
        self.date_formats = dict(date_formats or {})
        self.tax_inclusive = tax_inclusive
        self._billable = {normalise_name(s) for s in statuses}

    def is_billable(self, job: Job) -> bool:
        return normalise_name(job.status) in self._billable

    def build(self, job_id: str, rows: list[Row], fallback_changed_at: datetime) -> Job:
        problems: list[str] = []
        number = _first(rows, "job_number")
        if not number:
            problems.append(f"{rows[0][0]}: {self.titles['job_number']} is empty")
        status = _first(rows, "status") if "status" in self.titles else self.statuses[0]
        completed_at = self._completed_at(rows, problems)
        changed_at = self._updated_at(rows, problems) or completed_at
        client = self._client(rows, problems)
        lines = [line for row in rows if (line := self._line(row, problems)) is not None]
        problems += [f"{where}: {cells[UNDECODABLE]}" for where, cells in rows if cells.get(UNDECODABLE)]
        return Job(
            source=self.name,
            id=job_id,
            number=number or job_id,
            status=status,
            changed_at=changed_at.astimezone(UTC) if changed_at else fallback_changed_at,
            completed_at=completed_at,
            client=client,
            lines=tuple(lines),
            problems=tuple(problems),
            purchase_order=_first(rows, "purchase_order") or None,
            currency=_currency(rows, problems),
            job_type=_first(rows, "job_type") or None,
        )

    def _when(self, rows: list[Row], key: str, problems: list[str]) -> tuple[bool, datetime | None]:
        """(found a value, its parsed time); a bad value is a problem."""
        for where, cells in rows:
            if raw := cells.get(key):
                try:
                    # Kept in the source's zone so .date() is the local date.
                    return True, parse_datetime(raw, self.tz, self.date_formats.get(key)).astimezone(self.tz)
                except ValueError:
                    hint = f"expected {self.date_formats[key]}" if key in self.date_formats else DATE_HINT
                    problems.append(f"{where}: {self.titles[key]} {echo(raw)} is not a date ({hint})")
                    return True, None
        return False, None

    def _completed_at(self, rows: list[Row], problems: list[str]) -> datetime | None:
        if "completed_at" not in self.titles:
            problems.append("no completion date: map source.columns.completed_at")
            return None
        found, value = self._when(rows, "completed_at", problems)
        if not found:
            problems.append(f"{rows[0][0]}: {self.titles['completed_at']} is empty: a job needs its completion date")
        return value

    def _updated_at(self, rows: list[Row], problems: list[str]) -> datetime | None:
        return self._when(rows, "updated_at", problems)[1] if "updated_at" in self.titles else None

    def _client(self, rows: list[Row], problems: list[str]) -> Client | None:
        named = [(where, cells["client_name"]) for where, cells in rows if cells.get("client_name")]
        if not named:
            return None  # the planner holds a job without a client, with its own reason
        first_where, name = named[0]
        for where, other in named[1:]:
            if normalise_name(other) != normalise_name(name):
                problems.append(
                    f"{where}: {self.titles['client_name']} {echo(other)} differs from {echo(name)} on {first_where}"
                )
        return Client(
            id=_first(rows, "client_id") or normalise_name(name),
            name=name,
            email=_first(rows, "client_email") or None,
            phone=_first(rows, "client_phone") or None,
        )

    def _line(self, row: Row, problems: list[str]) -> JobLine | None:
        where, cells = row
        if not any(cells.get(key) for key in ("description", "quantity", "unit_price", "item_code")):
            return None  # a job-level row (some exports put job details on a row of their own)
        quantity = self._number(row, "quantity", problems)
        unit_price = self._number(row, "unit_price", problems)
        discount = self._discount(row, problems)
        description, item_code = cells.get("description", ""), cells.get("item_code") or None
        if not description and not item_code:
            problems.append(f"{where}: {self.titles['description']} is empty")
        if quantity is None or unit_price is None:
            return None
        kind = normalise_kind(cells.get("line_kind", ""))
        labour = kind == "labour"
        return JobLine(
            kind=kind,
            description=description,
            quantity=quantity,
            unit_price=unit_price,
            discount_rate=discount,
            item_code=item_code,
            # One column may hold a tax name ("GST Free") or a rate ("10%"); a tax_rate column, a rate.
            tax_code=cells.get("tax_code") or None,
            tax_rate=first_rate(cells.get("tax_rate"), cells.get("tax_code")),
            hours=quantity if labour else None,
            rate=unit_price if labour else None,
            tax_inclusive=self.tax_inclusive,
            source_kind=cells.get("line_kind") or None,
        )

    def _number(self, row: Row, key: str, problems: list[str], optional: bool = False) -> Decimal | None:
        where, cells = row
        raw = cells.get(key, "")
        if not raw:
            if not optional:
                problems.append(f"{where}: {self.titles[key]} is empty")
            return None
        try:
            return parse_decimal(raw)
        except ValueError:
            problems.append(f"{where}: {self.titles[key]} {echo(raw)} is not a number")
            return None

    def _discount(self, row: Row, problems: list[str]) -> Decimal | None:
        where, cells = row
        raw = cells.get("discount_percent", "").removesuffix("%").strip()
        rate = self._number((where, {"discount_percent": raw}), "discount_percent", problems, optional=True)
        if rate is not None and not Decimal(0) <= rate <= Decimal(100):
            problems.append(f"{where}: {self.titles['discount_percent']} {echo(raw)} is not 0-100")
            return None
        return rate or None  # 0 % is no discount; sending none keeps the invoice line clean


class CsvJobSource:
    """Jobs from a CSV export (one file, or a jobs file and a lines file); implements `JobSource`."""

    # An export carries no trustworthy change time: rows appear with old dates. Read it whole each run.
    trusts_change_time = False

    def __init__(
        self,
        path: Path,
        columns: Mapping[str, str],
        statuses: Sequence[str] = ("Completed",),
        timezone: str = "UTC",
        name: str = "csv",
        *,
        lines_path: Path | None = None,
        line_columns: Mapping[str, str] | None = None,
        date_format: str | Mapping[str, str] | None = None,
        prices_include_tax: bool = False,
    ) -> None:
        self.path = Path(path)
        self.lines_path = Path(lines_path) if lines_path else None
        self.name = name
        # An empty mapping value means "this export has no such column".
        self.columns = _mapped(columns)
        self.line_columns = _mapped(line_columns or {})
        self._calls: dict[str, int] = {}
        problems = self._config_problems() + check_statuses_and_zone(statuses, timezone)
        if problems:
            raise ConfigError("the CSV source is misconfigured", problems)
        formats = {k: date_format for k in ("completed_at", "updated_at")} if isinstance(date_format, str) else {}
        formats |= dict(date_format) if isinstance(date_format, Mapping) else {}
        titles = self.line_columns | self.columns  # a job-level header wins in problem texts
        self.builder = JobBuilder(name, titles, statuses, ZoneInfo(timezone), formats, prices_include_tax)

    def _config_problems(self) -> list[str]:
        problems = [f"source.columns.{key}: unknown column key" for key in self.columns if key not in COLUMN_KEYS]
        problems += [
            f"source.line_columns.{key}: unknown column key" for key in self.line_columns if key not in COLUMN_KEYS
        ]
        mapped = self.columns | self.line_columns
        problems += [
            f"source.columns.{key} is required: name the export's header for it"
            for key in REQUIRED_COLUMNS
            if key not in mapped
        ]
        if self.lines_path and "job_number" not in self.line_columns:
            problems.append("source.line_columns.job_number is required: the lines file's job number header")
        if self.line_columns and not self.lines_path:
            problems.append("source.line_columns is set but source.lines_path is not: name the lines file")
        return problems

    # -- JobSource -------------------------------------------------------------

    def changed_since(self, mark: datetime) -> list[Job]:
        billable = self.builder.is_billable
        return [job for job in self._read_jobs() if unreadable(job) or (billable(job) and job.changed_at > mark)]

    def get_jobs(self, ids: Sequence[str]) -> list[Job]:
        wanted = set(ids)
        return [
            job for job in self._read_jobs() if job.id in wanted and (unreadable(job) or self.builder.is_billable(job))
        ]

    @property
    def calls(self) -> dict[str, int]:
        return dict(self._calls)

    # -- reading ---------------------------------------------------------------

    def _read_jobs(self) -> list[Job]:
        groups = self._group_rows(self._rows(self.path, self.columns, "source.path"))
        modified = datetime.fromtimestamp(self.path.stat().st_mtime, tz=UTC)
        if self.lines_path is not None:
            lines = self._rows(self.lines_path, self.line_columns, "source.lines_path")
            groups = join_lines(groups, lines)
            modified = max(modified, datetime.fromtimestamp(self.lines_path.stat().st_mtime, tz=UTC))
        return [
            read_or_hold(self.name, job_id, job_id, partial(self.builder.build, job_id, rows, modified))
            for job_id, rows in groups.items()
        ]

    def _rows(self, path: Path, columns: Mapping[str, str], setting: str) -> list[Row]:
        """Each non-blank record of `path` as (where, logical name -> cell)."""
        key = f"read {path.name}"
        self._calls[key] = self._calls.get(key, 0) + 1
        try:
            table = read_table(path)
        except FileNotFoundError as exc:
            raise ConfigError(f"CSV export not found: {path}", [f"set {setting} to the export file"]) from exc
        except (OSError, csv.Error) as exc:
            raise ConfigError(f"cannot read the CSV export {path}: {exc}", [f"check {setting}"]) from exc
        if not table:
            raise ConfigError(f"the CSV export {path} is empty", ["export it again with a header row"])
        index = column_index(path, table[0], columns, setting.replace("path", "columns"), REQUIRED_COLUMNS)
        rows = []
        for number, record in enumerate(table[1:], start=2):
            if any(cell.strip() for cell in record):  # spreadsheets leave blank lines at the end
                record, bad_bytes = undecodable(record)
                cells = {k: record[i].strip() if i < len(record) else "" for k, i in index.items()}
                if bad_bytes:
                    cells[UNDECODABLE] = bad_bytes
                rows.append((f"{path.name} row {number}" if self.lines_path else f"row {number}", cells))
        return rows

    @staticmethod
    def _group_rows(rows: list[Row]) -> dict[str, list[Row]]:
        groups: dict[str, list[Row]] = {}  # dicts keep first-seen order
        for where, row in rows:
            # A row with neither id nor number still becomes a (held) job, so it is reported.
            job_id = row.get("job_id") or row.get("job_number") or f"row-{where.rsplit(' ', 1)[-1]}"
            groups.setdefault(job_id, []).append((where, row))
        return groups


def _mapped(columns: Mapping[str, str | None]) -> dict[str, str]:
    return {key: value.strip() for key, value in columns.items() if value and value.strip()}


def check_statuses_and_zone(statuses: Sequence[str], timezone: str) -> list[str]:
    """Config problems shared by every source: no billable status, an unknown timezone."""
    problems = []
    if not any(s.strip() for s in statuses):
        problems.append("source.statuses is empty: list the statuses that mean 'ready to invoice'")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"source.timezone: unknown timezone {echo(timezone)} (use an IANA name)")
    return problems


def _first(rows: list[Row], key: str) -> str:
    """The first non-empty value of `key` among a job's rows, or ""."""
    return next((cells[key] for _, cells in rows if cells.get(key)), "")
