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
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jobsync.errors import ConfigError
from jobsync.models import Client, Job, JobLine

COLUMN_KEYS = (
    "job_id", "job_number", "status", "completed_at", "client_id", "client_name", "client_email",
    "client_phone", "line_kind", "item_code", "description", "quantity", "unit_price",
    "discount_percent", "tax_code", "purchase_order", "job_type", "updated_at",
)  # fmt: skip
REQUIRED_COLUMNS = ("job_number", "client_name", "description", "quantity", "unit_price")

_KIND_ALIASES = {
    "labour": "labour", "labor": "labour", "time": "labour",
    "material": "material", "materials": "material", "part": "material", "parts": "material",
    "subcontractor": "subcontractor", "sub": "subcontractor", "contractor": "subcontractor",
    "fee": "fee", "callout": "fee", "call-out": "fee", "call out": "fee",
}  # fmt: skip

# A number as exports write it: optional sign, optional currency symbol, digits
# with correctly grouped thousands separators. "12,5" is refused rather than
# read as 125: a decimal comma silently multiplied by ten is an overbilled client.
_NUMBER = re.compile(
    r"(?P<sign1>[+-])?(?:A\$|AU\$|NZ\$|US\$|[$€£])?(?P<sign2>[+-])?"
    r"(?P<digits>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)"
)
_ISO_START = re.compile(r"\d{4}-\d{2}-\d{2}")
_DMY_FORMATS = ("%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %I:%M %p", "%d/%m/%Y")
_DATE_HINT = "expected dd/mm/yyyy, dd/mm/yyyy HH:MM or ISO yyyy-mm-dd[THH:MM[+hh:mm]]"

Row = tuple[str, dict[str, str]]  # (where, e.g. "row 7"; logical name -> cell text)


def normalise_name(text: str) -> str:
    """Casefold and collapse whitespace: the default client id and header comparison key."""
    return " ".join(text.split()).casefold()


def normalise_kind(text: str) -> str:
    """Map an export's line type onto one of `LINE_KINDS`; anything unknown is "other"."""
    return _KIND_ALIASES.get(normalise_name(text), "other")


def parse_decimal(raw: str) -> Decimal:
    """Parse "1,234.50", "$12.3456", "-$5", "(12.50)"; raise ValueError for anything else."""
    text = raw.strip().replace(" ", "").replace("\u00a0", "")
    negative = text.startswith("(") and text.endswith(")")  # accounting-style negative
    if negative:
        text = text[1:-1]
    match = _NUMBER.fullmatch(text)
    if match is None or (match["sign1"] and match["sign2"]):
        raise ValueError(raw)
    try:
        value = Decimal(match["digits"].replace(",", ""))
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only digits
        raise ValueError(raw) from exc
    if negative or "-" in (match["sign1"] or "", match["sign2"] or ""):
        value = -value
    return value


def parse_datetime(raw: str, tz: ZoneInfo) -> datetime:
    """Parse a dd/mm/yyyy or ISO date/time; naive values are local to `tz`. Raise ValueError."""
    text = raw.strip()
    value: datetime | None = None
    if _ISO_START.match(text):
        value = datetime.fromisoformat(text)
    else:
        for fmt in _DMY_FORMATS:
            try:
                value = datetime.strptime(text, fmt)
                break
            except ValueError:
                continue
    if value is None:
        raise ValueError(raw)
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


class JobBuilder:
    """Turns a job's rows (logical name -> text) into a `Job`, collecting problems rather than raising.

    Shared by the sources whose records are flat text (CSV rows, flattened JSON), so
    every such source parses numbers and dates and reports problems the same way.
    `titles` names each logical field as the user knows it (a CSV header, a JSON path).
    An `updated_at` cell, when present, is the change timestamp; else `completed_at` is.
    """

    def __init__(self, name: str, titles: Mapping[str, str], statuses: Sequence[str], tz: ZoneInfo) -> None:
        self.name = name
        self.titles = dict(titles)
        self.statuses = tuple(statuses)
        self.tz = tz
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
            job_type=_first(rows, "job_type") or None,
        )

    def _when(self, rows: list[Row], key: str, problems: list[str]) -> tuple[bool, datetime | None]:
        """(found a value, its parsed time); a bad value is a problem."""
        for where, cells in rows:
            if raw := cells.get(key):
                try:
                    # Kept in the source's zone so .date() is the local date.
                    return True, parse_datetime(raw, self.tz).astimezone(self.tz)
                except ValueError:
                    problems.append(f"{where}: {self.titles[key]} {raw!r} is not a date ({_DATE_HINT})")
                    return True, None
        return False, None

    def _completed_at(self, rows: list[Row], problems: list[str]) -> datetime | None:
        if "completed_at" not in self.titles:
            problems.append("no completion date: map source.columns.completed_at")
            return None
        found, value = self._when(rows, "completed_at", problems)
        if not found:
            problems.append(
                f"{rows[0][0]}: {self.titles['completed_at']} is empty: a job needs its completion date"
            )
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
                    f"{where}: {self.titles['client_name']} {other!r} differs from {name!r} on {first_where}"
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
            tax_code=cells.get("tax_code") or None,
            hours=quantity if labour else None,
            rate=unit_price if labour else None,
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
            problems.append(f"{where}: {self.titles[key]} {raw!r} is not a number")
            return None

    def _discount(self, row: Row, problems: list[str]) -> Decimal | None:
        where, cells = row
        raw = cells.get("discount_percent", "").removesuffix("%").strip()
        rate = self._number((where, {"discount_percent": raw}), "discount_percent", problems, optional=True)
        if rate is not None and not Decimal(0) <= rate <= Decimal(100):
            problems.append(f"{where}: {self.titles['discount_percent']} {raw!r} is not 0-100")
            return None
        return rate or None  # 0 % is no discount; sending none keeps the invoice line clean


class CsvJobSource:
    """Jobs from a CSV export; implements `JobSource`."""

    def __init__(
        self,
        path: Path,
        columns: Mapping[str, str],
        statuses: Sequence[str] = ("Completed",),
        timezone: str = "UTC",
        name: str = "csv",
    ) -> None:
        self.path = Path(path)
        self.name = name
        # An empty mapping value means "this export has no such column".
        self.columns = {key: value.strip() for key, value in columns.items() if value and value.strip()}
        self._calls: dict[str, int] = {}
        problems = [f"source.columns.{key}: unknown column key" for key in self.columns
                    if key not in COLUMN_KEYS]  # fmt: skip
        problems += [f"source.columns.{key} is required: name the export's header for it"
                     for key in REQUIRED_COLUMNS if key not in self.columns]  # fmt: skip
        problems += check_statuses_and_zone(statuses, timezone)
        if problems:
            raise ConfigError("the CSV source is misconfigured", problems)
        self.builder = JobBuilder(name, self.columns, statuses, ZoneInfo(timezone))

    # -- JobSource -------------------------------------------------------------

    def changed_since(self, mark: datetime) -> list[Job]:
        billable = self.builder.is_billable
        return [job for job in self._read_jobs() if billable(job) and job.changed_at > mark]

    def get_jobs(self, ids: Sequence[str]) -> list[Job]:
        wanted = set(ids)
        return [job for job in self._read_jobs() if job.id in wanted and self.builder.is_billable(job)]

    @property
    def calls(self) -> dict[str, int]:
        return dict(self._calls)

    # -- reading ---------------------------------------------------------------

    def _read_jobs(self) -> list[Job]:
        key = f"read {self.path.name}"
        self._calls[key] = self._calls.get(key, 0) + 1
        try:
            with self.path.open(encoding="utf-8-sig", newline="") as handle:
                groups = self._group_rows(csv.reader(handle))
            modified = datetime.fromtimestamp(self.path.stat().st_mtime, tz=UTC)
        except FileNotFoundError as exc:
            raise ConfigError(f"CSV export not found: {self.path}",
                              ["set source.path to the export file"]) from exc  # fmt: skip
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise ConfigError(f"cannot read the CSV export {self.path}: {exc}",
                              ["check source.path; the file must be UTF-8 CSV"]) from exc  # fmt: skip
        return [self.builder.build(job_id, rows, modified) for job_id, rows in groups.items()]

    def _group_rows(self, reader: Iterator[list[str]]) -> dict[str, list[Row]]:
        header = next(reader, None)
        if header is None:
            raise ConfigError(f"the CSV export {self.path} is empty", ["export it again with a header row"])
        index = self._column_index(header)
        groups: dict[str, list[Row]] = {}  # dicts keep first-seen order
        for number, record in enumerate(reader, start=2):
            if not any(cell.strip() for cell in record):
                continue  # spreadsheets leave blank lines at the end
            row = {key: record[i].strip() if i < len(record) else "" for key, i in index.items()}
            # A row with neither id nor number still becomes a (held) job, so it is reported.
            job_id = row.get("job_id") or row.get("job_number") or f"row-{number}"
            groups.setdefault(job_id, []).append((f"row {number}", row))
        return groups

    def _column_index(self, header: list[str]) -> dict[str, int]:
        positions: dict[str, int] = {}
        for i, title in enumerate(header):
            positions.setdefault(normalise_name(title), i)
        index: dict[str, int] = {}
        problems = []
        for key, title in self.columns.items():
            if normalise_name(title) in positions:
                index[key] = positions[normalise_name(title)]
                continue
            fix = "" if key in REQUIRED_COLUMNS else ", or remove the key if the export has no such column"
            problems.append(
                f"no column {title!r} for source.columns.{key}: set it to the export's header{fix}"
            )
        if problems:
            found = ", ".join(repr(title) for title in header)
            raise ConfigError(f"{self.path.name}: the header lacks mapped columns (it has {found})", problems)
        return index


def check_statuses_and_zone(statuses: Sequence[str], timezone: str) -> list[str]:
    """Config problems shared by every source: no billable status, an unknown timezone."""
    problems = []
    if not any(s.strip() for s in statuses):
        problems.append("source.statuses is empty: list the statuses that mean 'ready to invoice'")
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"source.timezone: unknown timezone {timezone!r} (use an IANA name)")
    return problems


def _first(rows: list[Row], key: str) -> str:
    """The first non-empty value of `key` among a job's rows, or ""."""
    return next((cells[key] for _, cells in rows if cells.get(key)), "")
