"""Fuzzing jobsync's two user-controlled inputs: the config file and the job data.

`tests/test_fuzz.py` runs a small sample of each in `make test`; `scripts/fuzz.py` (`make fuzz`) runs
at least 10,000 of each. Both use a fixed seed, so a failure reproduces.

What must hold for every case:
- no exception escapes except a `JobsyncError`, whose exit code is in the README's table;
- every message line is one readable line (no traceback, no value echoed at length);
- the good jobs beside an odd one are still planned, with totals worked out here, not by jobsync.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from hypothesis import strategies as st

from jobsync.config.settings import load_settings
from jobsync.core.errors import JobsyncError
from jobsync.core.models import ContactSnapshot, XeroAccount, XeroOrg, XeroRefs, XeroTaxRate
from jobsync.core.plan import PlanSettings, build_plan
from jobsync.core.rules import load_rules
from jobsync.samples import STANDARD_COLUMNS, csv_header
from jobsync.sources.csvfile import CsvJobSource

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = (ROOT / "config.example.yaml").read_text(encoding="utf-8")
ENV = {"XERO_TENANT_ID": "tenant", "XERO_ACCESS_TOKEN": "token"}
DOCUMENTED_EXIT_CODES = {0, 1, 2, 3, 4, 5, 6, 70}
MAX_MESSAGE_LINE = 400

# -- configs ---------------------------------------------------------------------------------------

ODD_SCALARS = [
    "NaN",
    ".nan",
    ".inf",
    "-.inf",
    "1e400",
    "-1",
    "0",
    "99999999999999999999",
    "1" + "0" * 5000,
    "!!bool maybe",
    "!!int 0x",
    "!!float x",
    "!!timestamp 2026-13-45",
    "!!binary ???",
    "!!python/object:os.system",
    "'http://[::1'",
    "http://[::1",
    "'~nouser/x'",
    "~nouser/x",
    "A" * 500,
    "'\x01'",
    '"\\x00"',
    "''",
    "null",
    "[]",
    "{}",
    "&l [*l]",
    "[" * 49 + "]" * 49,
    "0001-01-01",
    "9999-12-31",
    "2026-02-30",
    "'%Q%Y'",
    "'{job.nope}'",
    "-0",
    "0x1F",
    "1_000",
    "true",
    "yes",
    "'${UNSET_VAR}'",
    "'${XERO_TENANT_ID:-}'",
    "ftp://x",
    "http://",
    "'http://a b'",
    "http://h:99999",
    "é",
    "💥",
]
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-32", "cp1252", "latin-1"]


@st.composite
def config_bytes(draw: st.DrawFn) -> bytes:
    """config.example.yaml with a few values swapped for odd ones, maybe re-encoded or spliced with bytes."""
    lines = EXAMPLE.splitlines()
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        line = lines[i]
        key, sep, _value = line.partition(": ")
        if sep and not line.lstrip().startswith("#"):
            odd = draw(st.one_of(st.sampled_from(ODD_SCALARS), st.text(max_size=30)))
            lines[i] = f"{key}: {odd}"
        elif draw(st.booleans()):
            lines.insert(i, draw(st.sampled_from(["x: &a [*a]", "a:\n" + "  " * 60 + "b: 1", "\t- tab", ": :"])))
    text = "\n".join(lines) + "\n"
    encoding = draw(st.sampled_from(ENCODINGS))
    data = text.encode(encoding, errors="replace")
    if draw(st.integers(0, 9)) == 0:  # a stray byte somewhere
        at = draw(st.integers(0, len(data)))
        data = data[:at] + bytes([draw(st.integers(0, 255))]) + data[at:]
    return data


def check_config(data: bytes, path: Path) -> str:
    """Load one config; returns 'loaded' or the exit code, raising AssertionError on a broken promise."""
    path.write_bytes(data)
    try:
        load_settings(path, ENV)
    except JobsyncError as exc:
        assert int(exc.exit_code) in DOCUMENTED_EXIT_CODES, exc.exit_code
        assert_readable(str(exc))
        return str(int(exc.exit_code))
    return "loaded"


def assert_readable(message: str) -> None:
    assert "Traceback" not in message
    for line in message.splitlines():
        assert len(line) <= MAX_MESSAGE_LINE, f"message line of {len(line)} characters: {line[:120]}…"


# -- job data --------------------------------------------------------------------------------------

ODD_NUMBERS = [
    "1e400",
    "9" * 29,
    "-1e30",
    "NaN",
    "inf",
    "-0",
    "1,000.5",
    "$12.30",
    "(5.00)",
    "0x10",
    "",
    " ",
    "½",
    "1e-400",
    "12.345678901234567890",
    "٣",
    "1.2.3",
    "--1",
    "1e9",
    "99999999999",
]
ODD_DATES = [
    "0001-01-01 00:00",
    "9999-12-31 23:59",
    "2026-02-30 10:00",
    "31/12/2026",
    "",
    "yesterday",
    "2026-11-20T25:61",
    "1969-12-31 23:59",
    "2026-11-20 10:00 +25:00",
    "0000-00-00 00:00:00",
]
COLUMNS = list(STANDARD_COLUMNS)
GOOD_PRICE = Decimal("50.00")
GOOD_QTY = Decimal("2")
# 2 × 50.00 = 100.00, GST 10 % = 10.00, total 110.00: worked out here, not by jobsync.
GOOD_TOTAL = Decimal("110.00")

REFS = XeroRefs(
    org=XeroOrg("Fuzz Co", timezone="Australia/Sydney"),
    accounts={"200": XeroAccount("200", "Sales", tax_type="OUTPUT")},
    tax_rates={"OUTPUT": XeroTaxRate("OUTPUT", "GST on Income", Decimal("10.0000"))},
)
RULES = load_rules({"default": {"account_code": "200", "tax_type": "OUTPUT"}})


def _row(job: str, **cells: str) -> dict[str, str]:
    base = {
        "job_id": job,
        "job_number": job,
        "status": "Completed",
        "completed_at": "2026-11-20 10:00",
        "client_id": f"C-{job}",
        "client_name": f"Client {job}",
        "client_email": f"c{job}@example.com",
        "client_phone": "",
        "line_kind": "labour",
        "item_code": "",
        "description": "Work",
        "quantity": str(GOOD_QTY),
        "unit_price": str(GOOD_PRICE),
        "discount_percent": "",
        "tax_code": "",
        "purchase_order": "",
    }
    base.update(cells)
    return base


@st.composite
def odd_job_csv(draw: st.DrawFn) -> str:
    """A CSV export of three good jobs and one job whose cells are odd."""
    odd: dict[str, str] = {}
    for column in draw(st.lists(st.sampled_from(COLUMNS), min_size=1, max_size=5, unique=True)):
        pool = ODD_DATES if column == "completed_at" else ODD_NUMBERS
        odd[column] = draw(st.one_of(st.sampled_from(pool), st.text(max_size=20)))
    rows = [_row("1001"), _row("1002"), _row("9999", **odd), _row("1003")]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(csv_header().split(","))
    for row in rows:
        writer.writerow([row[c] for c in COLUMNS])
    return out.getvalue()


GOOD_JOBS = ("1001", "1002", "1003")


def check_csv_jobs(text: str, path: Path) -> None:
    """Read the export and plan it: no exception, and the three good jobs invoiced at 110.00 each."""
    path.write_text(text, encoding="utf-8")
    source = CsvJobSource(path, dict(STANDARD_COLUMNS), timezone="Australia/Sydney", name="csv")
    jobs = source.changed_since(datetime(2026, 11, 1, tzinfo=UTC))
    settings = PlanSettings(payment_terms_days=14, org_timezone="Australia/Sydney")
    snapshot = ContactSnapshot(client_map={}, contacts=())
    plan = build_plan(jobs, {}, RULES, REFS, snapshot, settings, datetime(2026, 11, 26, tzinfo=UTC))
    totals = {d.job_number: d.total for d in plan.drafts}
    for number in GOOD_JOBS:
        assert totals.get(number) == GOOD_TOTAL, (number, totals, [h.reason for h in plan.held])
    for hold in plan.held:
        assert_readable(hold.reason.replace("; ", "\n"))  # a hold lists each problem; each is one short phrase


# -- job data as JSON, through the ServiceM8 emulator ------------------------------------------------

ODD_JSON = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(ODD_NUMBERS + ODD_DATES),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
JOB_FIELDS = [
    "status",
    "company_uuid",
    "generated_job_id",
    "completion_date",
    "edit_date",
    "total_invoice_amount",
    "purchase_order_number",
    "active",
    "invoice_sent",
    "date",
]
MATERIAL_FIELDS = [
    "quantity",
    "price",
    "displayed_amount",
    "displayed_amount_is_tax_inclusive",
    "name",
    "tax_rate_uuid",
    "cost",
    "sort_order",
    "active",
]
SM8_TAX = "tax-gst-10"


@st.composite
def odd_servicem8_job(draw: st.DrawFn) -> tuple[dict, dict]:
    """Field overrides for one job and one of its materials, with odd JSON values."""
    job = {f: draw(ODD_JSON) for f in draw(st.lists(st.sampled_from(JOB_FIELDS), max_size=3, unique=True))}
    material = {f: draw(ODD_JSON) for f in draw(st.lists(st.sampled_from(MATERIAL_FIELDS), max_size=3, unique=True))}
    return job, material


def seed_servicem8(sm8, job_overrides: dict, material_overrides: dict) -> None:  # type: ignore[no-untyped-def]
    for records in sm8.records.values():
        records.clear()
    sm8.set_vendor(name="Fuzz Plumbing", timezone_name="Australia/Sydney", currency="AUD")
    sm8.add_taxrate(uuid=SM8_TAX, name="GST", amount="10", is_default_tax_rate=1)
    for number, overrides, mat in (("1001", {}, {}), ("9999", job_overrides, material_overrides), ("1002", {}, {})):
        company = sm8.add_company(name=f"Client {number}", is_individual=0)
        sm8.add_contact(company, type="BILLING", first="Pat", last=number, email=f"c{number}@example.com")
        fields = {
            "status": "Completed",
            "company_uuid": company,
            "generated_job_id": number,
            "completion_date": "2026-11-20 10:00:00",
            "edit_date": "2026-11-20 10:00:00",
        }
        job = sm8.add_job(**{**fields, **overrides})
        sm8.add_material(
            job,
            **{
                "name": "Copper pipe",
                "quantity": "2",
                "price": "50.00",
                "displayed_amount": "100.00",
                "tax_rate_uuid": SM8_TAX,
                **mat,
            },
        )


def check_servicem8_jobs(case: tuple[dict, dict], sm8) -> None:  # type: ignore[no-untyped-def]
    """Through the emulator's real HTTP: the odd job is held or planned; 1001 and 1002 come to 110.00."""
    from jobsync.sources.servicem8 import ServiceM8Source

    seed_servicem8(sm8, *case)
    source = ServiceM8Source(sm8.url, sm8.api_key)
    jobs = source.changed_since(datetime(2026, 11, 1, tzinfo=UTC))
    settings = PlanSettings(payment_terms_days=14, org_timezone="Australia/Sydney")
    plan = build_plan(
        jobs, {}, RULES, REFS, ContactSnapshot(client_map={}, contacts=()), settings, datetime(2026, 11, 26, tzinfo=UTC)
    )
    totals = {d.job_number: d.total for d in plan.drafts}
    for number in ("1001", "1002"):
        assert totals.get(number) == GOOD_TOTAL, (number, totals, [h.reason for h in plan.held])
    for hold in plan.held:
        assert_readable(hold.reason.replace("; ", "\n"))  # a hold lists each problem; each is one short phrase
