"""The issue-9 scenario: completed jobs, some for clients Xero already has, some for new ones.

Shared by `python -m benchmarks.run` and `tests/test_call_counts.py`. Everything is
generated from a seed, so call counts are the same on every run.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from jobsync.sandbox.servicem8 import SEED_PATH, ServiceM8Sandbox
from jobsync.sandbox.xero import contacts as xero_contacts
from jobsync.sandbox.xero.server import XeroSandbox

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # first completion; the stored watermark is a day earlier
MARK = START - timedelta(days=1)
KINDS = (
    ("Labour", "Labour - 1 hour", Decimal("95.00")),
    ("Material", "Copper pipe 15mm", Decimal("12.50")),
    ("Material", "Isolation valve 15mm", Decimal("18.50")),
    ("Fee", "Call-out fee", Decimal("80.00")),
)


@dataclass(frozen=True)
class Line:
    kind: str
    description: str
    quantity: Decimal
    unit_price: Decimal


@dataclass(frozen=True)
class ScenarioClient:
    id: str
    name: str
    email: str
    phone: str
    in_xero: bool


@dataclass(frozen=True)
class ScenarioJob:
    id: str
    number: str
    completed_at: datetime
    client: ScenarioClient
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class Scenario:
    jobs: tuple[ScenarioJob, ...]
    xero_contacts: tuple[ScenarioClient, ...]  # what the organisation already holds (clients + others)

    @property
    def new_clients(self) -> int:
        return len({j.client.id for j in self.jobs if not j.client.in_xero})

    @property
    def contacts_in_xero(self) -> int:
        return len(self.xero_contacts)


def build(jobs: int, new_share: float = 0.3, lines: tuple[int, int] = (3, 8), seed: int = 9) -> Scenario:
    """`jobs` completed jobs; `new_share` of them each for a client Xero has never seen.

    The rest go two jobs to a client already in Xero (matched by email, as a hand-made
    contact would be), and the organisation holds as many unrelated contacts again as
    half those clients: a realistic org is more than this run's clients.
    """
    rng = random.Random(seed)
    new = round(jobs * new_share)
    known = jobs - new
    known_clients = [_client(rng, f"K{i:05d}", True) for i in range((known + 1) // 2)]
    others = [_client(rng, f"O{i:05d}", True) for i in range(len(known_clients) // 2)]
    out: list[ScenarioJob] = []
    for n in range(jobs):
        client = _client(rng, f"N{n:05d}", False) if n < new else known_clients[(n - new) // 2]
        count = rng.randint(*lines)
        job_lines = tuple(_line(rng, k) for k in range(count))
        at = START + timedelta(minutes=7 * n)
        out.append(ScenarioJob(f"job-{n:05d}", f"J-{n + 1:05d}", at, client, job_lines))
    rng.shuffle(out)  # new and known clients interleave as they would in a real week
    return Scenario(tuple(out), tuple(known_clients + others))


def _client(rng: random.Random, ident: str, in_xero: bool) -> ScenarioClient:
    words = ("Harbour", "Bondi", "Smith", "Coastal", "Northside", "Parkview", "Summit", "Riverside")
    name = f"{rng.choice(words)} {rng.choice(('Cafe', 'Dental', 'Family', 'Motors', 'Bakery'))} {ident}"
    return ScenarioClient(
        ident, name, f"accounts.{ident.lower()}@example.com", f"02 9{rng.randint(0, 9999999):07d}", in_xero
    )


def _line(rng: random.Random, k: int) -> Line:
    kind, description, price = KINDS[0] if k == 0 else rng.choice(KINDS[1:])
    quantity = Decimal(rng.randint(1, 12)) / (2 if kind == "Labour" else 1)
    return Line(kind, f"{description} #{k + 1}", quantity, price)


# ---------------------------------------------------------------------------
# Putting it where the systems under test read it
# ---------------------------------------------------------------------------

CSV_HEADER = (
    "Job ID,Job Number,Status,Completed At,Client ID,Client Name,Client Email,Client Phone,"
    "Line Type,Item Code,Description,Quantity,Unit Price,Discount %,Tax Code,PO Number"
)


def write_csv(scenario: Scenario, path: Path) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write(CSV_HEADER + "\n")
        for j in scenario.jobs:
            local = j.completed_at.strftime("%d/%m/%Y %H:%M")  # the config's timezone is UTC
            c = j.client
            for line in j.lines:
                out.write(
                    f"{j.id},{j.number},Completed,{local},{c.id},{c.name},{c.email},{c.phone},"
                    f"{line.kind},,{line.description},{line.quantity},{line.unit_price},,GST,\n"
                )


def seed_xero(scenario: Scenario, sandbox: XeroSandbox) -> None:
    """The organisation's existing contacts, written straight into the sandbox (no API calls)."""
    with sandbox.lock:
        for c in scenario.xero_contacts:
            element = {"Name": c.name, "EmailAddress": c.email}
            _, problems = xero_contacts.create(sandbox.state, element, MARK - timedelta(days=30))
            assert not problems, problems


def seed_servicem8(scenario: Scenario, sm8: ServiceM8Sandbox) -> None:
    """Vendor, tax rate and materials from the emulator's seed; companies, contacts, jobs from the scenario."""
    import json

    seed: dict[str, list[dict[str, Any]]] = json.loads(Path(SEED_PATH).read_text(encoding="utf-8"))
    for resource in ("vendor", "taxrate", "material"):
        for row in seed.get(resource, []):
            sm8.put(resource, **{**row, "edit_date": "2026-01-01 00:00:00"})
    tax = seed["taxrate"][0]["uuid"]
    sm8.set_vendor(timezone_name="UTC")
    companies: dict[str, str] = {}
    for j in scenario.jobs:
        c = j.client
        if c.id not in companies:
            companies[c.id] = sm8.add_company(
                name=c.name, is_individual=0, tax_rate_uuid=tax, edit_date="2026-01-01 00:00:00"
            )
            sm8.add_contact(
                companies[c.id],
                first="Accounts",
                last=c.id,
                email=c.email,
                phone=c.phone,
                type="BILLING",
                is_primary_contact="1",
                edit_date="2026-01-01 00:00:00",
            )
        stamp = j.completed_at.strftime("%Y-%m-%d %H:%M:%S")
        uid = sm8.add_job(
            generated_job_id=j.number,
            status="Completed",
            company_uuid=companies[c.id],
            edit_date=stamp,
            completion_date=stamp,
            date=stamp[:10],
            job_description="Work done",
            invoice_sent=0,
        )
        for k, line in enumerate(j.lines):
            sm8.add_material(
                uid,
                name=line.description,
                quantity=str(line.quantity),
                price=str(line.unit_price),
                displayed_amount=str(line.unit_price),
                displayed_amount_is_tax_inclusive="0",
                tax_rate_uuid=tax,
                sort_order=str(k + 1),
                edit_date=stamp,
            )


def minimum_calls(contacts_read: int, new_contacts: int, invoices: int) -> int:
    """Issue 9's floor: 4 reference reads + ⌈contacts read / 1,000⌉ + ⌈new / 50⌉ + ⌈invoices / 50⌉."""
    return 4 + -(-contacts_read // 1000) + -(-new_contacts // 50) + -(-invoices // 50)
