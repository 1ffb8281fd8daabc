"""Run jobsync and the per-job baseline over one scenario and measure them.

Time is simulated: the sandboxes read a clock that is real time plus an offset,
and every wait a client would spend (a 429's Retry-After) moves the offset
instead of sleeping. The wall time reported is the client's CPU time plus those
waits: what the run would take at Xero's real limits, without waiting it out, and
without the sandbox's own serving time (which says nothing about Xero).
"""

from __future__ import annotations

import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from xero_python.accounting import AccountingApi
from xero_python.accounting.models import Contact, Contacts, Invoice, Invoices, LineItem
from xero_python.api_client import ApiClient
from xero_python.api_client.configuration import Configuration
from xero_python.api_client.oauth2 import OAuth2Token
from xero_python.exceptions import ApiException

from benchmarks.scenario import MARK, Scenario
from jobsync.app.sync_run import sync
from jobsync.app.wiring import build_source
from jobsync.config.settings import load_settings
from jobsync.core.models import Job
from jobsync.sources.base import JobSource
from jobsync.state.store import State
from jobsync.xero.client import XeroClient

SDK_TIMEOUT = (5, 30)  # (connect, read) seconds for every baseline SDK call

CONFIG = """\
xero:
  api_url: {api_url}
  identity_url: {identity_url}
  tenant_id: {tenant_id}
  auth: {{ mode: static_token, token: sandbox }}
  max_invoices_per_run: 1000000
source:
{source}
  timezone: UTC
  overlap_minutes: 60
rules:
  lines:
    - {{ name: labour, when: {{ kind: labour }}, account_code: "205", tax_type: OUTPUT }}
    - {{ name: materials, when: {{ kind: material }}, account_code: "210", tax_type: OUTPUT }}
  default: {{ account_code: "200", tax_type: OUTPUT }}
  tax_map: {{ GST: OUTPUT }}
state: {{ path: state.db }}
reports: {{ dir: reports }}
"""

CSV_SOURCE = """\
  type: csv
  path: jobs.csv
  columns:
    job_id: Job ID
    job_number: Job Number
    status: Status
    completed_at: Completed At
    client_id: Client ID
    client_name: Client Name
    client_email: Client Email
    client_phone: Client Phone
    line_kind: Line Type
    item_code: Item Code
    description: Description
    quantity: Quantity
    unit_price: Unit Price
    discount_percent: Discount %
    tax_code: Tax Code
    purchase_order: PO Number"""

SM8_SOURCE = """\
  type: servicem8
  base_url: {sm8_url}
  api_key: sm8-sandbox-key"""


class SimClock:
    """Real time plus the waits skipped so far; `offset` may be shared with a server process."""

    def __init__(self, offset: Any) -> None:
        self.offset = offset  # anything with a float `.value` (multiprocessing.Value for a child process)

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.offset.value)

    def monotonic(self) -> float:
        return time.monotonic() + self.offset.value

    def sleep(self, seconds: float) -> None:
        self.offset.value += max(0.0, seconds)


@dataclass(frozen=True)
class Servers:
    xero_api_url: str
    xero_identity_url: str
    tenant_id: str
    sm8_url: str | None = None


@dataclass
class Measure:
    xero_calls: dict[str, int]
    source_calls: dict[str, int]
    sim_seconds: float
    cpu_seconds: float
    peak_bytes: int | None
    invoices: int = 0
    rate_limited: int = 0  # 429 answers among the calls
    waited: float = 0.0  # seconds spent waiting out rate limits, on the simulated clock
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.xero_calls.values())


@contextmanager
def _measured(clock: SimClock, trace: bool) -> Iterator[dict[str, float]]:
    out: dict[str, float] = {}
    if trace:
        tracemalloc.start()
    start_offset, start_cpu = clock.offset.value, time.process_time()
    try:
        yield out
    finally:
        out["cpu"] = time.process_time() - start_cpu
        out["waited"] = clock.offset.value - start_offset
        out["sim"] = out["cpu"] + out["waited"]
        if trace:
            out["peak"] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()


def write_config(work: Path, servers: Servers, kind: str) -> Path:
    source = CSV_SOURCE if kind == "csv" else SM8_SOURCE.format(sm8_url=servers.sm8_url)
    path = work / "jobsync.yaml"
    path.write_text(
        CONFIG.format(
            api_url=servers.xero_api_url,
            identity_url=servers.xero_identity_url,
            tenant_id=servers.tenant_id,
            source=source,
        )
    )
    return path


def prepare_state(work: Path, source_name: str) -> None:
    """A routine run: an earlier sync left its watermark; no contact snapshot or client map yet."""
    with State.open(work / "state.db") as state:
        state.set_watermark(source_name, MARK)


def run_jobsync(work: Path, servers: Servers, kind: str, clock: SimClock, trace: bool = True) -> Measure:
    settings = load_settings(write_config(work, servers, kind), env={})
    prepare_state(work, settings.source.name)
    source = build_source(settings)
    gateway = XeroClient(servers.xero_api_url, servers.tenant_id, lambda: "sandbox", sleep=clock.sleep)
    with _measured(clock, trace) as m:
        outcome = sync(settings, apply=True, source=source, gateway=gateway, now=clock.now)
    created = sum(1 for r in outcome.result.report.results if r.outcome.value == "created")
    return Measure(
        gateway.calls,
        source.calls,
        m["sim"],
        m["cpu"],
        int(m["peak"]) if trace else None,
        invoices=created,
        waited=m["waited"],
    )


# ---------------------------------------------------------------------------
# The baseline: the integration guide's n8n flow, one job at a time, xero-python directly
# ---------------------------------------------------------------------------


def _sdk(api_url: str) -> AccountingApi:
    token = {
        "access_token": "sandbox",
        "token_type": "Bearer",
        "expires_in": 1800,
        "expires_at": time.time() + 1800,
        "scope": ["accounting.transactions"],
    }
    client = ApiClient(
        Configuration(oauth2_token=OAuth2Token(client_id="n8n", client_secret="n8n")),
        pool_threads=1,
        oauth2_token_getter=lambda: token,
        oauth2_token_saver=lambda new: None,
    )
    # urllib3's default Retry honours a 429's Retry-After by sleeping in real time, three times over,
    # before the SDK sees the answer: under real limits that stalled `make bench` for the length of a
    # minute window per 429. Pools are made lazily, so this reaches every connection; the 429 then
    # reaches `_Counted`, which waits on the simulated clock.
    client.rest_client.pool_manager.connection_pool_kw["retries"] = False
    return AccountingApi(client, base_url=api_url)


class _Counted:
    """Each SDK call counted by endpoint; a 429 waits its Retry-After (on the simulated clock) and retries.

    `call` gets the per-call timeout: the SDK has none by default, so a stuck keep-alive would wait forever.
    """

    def __init__(self, clock: SimClock) -> None:
        self.calls: Counter[str] = Counter()
        self.ok: Counter[str] = Counter()
        self.rate_limited = 0
        self.waited = 0.0
        self.clock = clock

    def __call__(self, label: str, call: Callable[[tuple[int, int]], Any]) -> Any:
        while True:
            self.calls[label] += 1
            try:
                answer = call(SDK_TIMEOUT)
                self.ok[label] += 1
                return answer
            except ApiException as error:
                if error.status != 429:
                    raise
                self.rate_limited += 1
                headers = {k.lower(): v for k, v in (error.headers or {}).items()}
                wait = float(headers.get("retry-after", "1"))
                self.waited += wait
                self.clock.sleep(wait)


def _literal(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def baseline_job(api: AccountingApi, tenant: str, job: Job, send: _Counted) -> None:
    """Search the contact by name, create it if missing, create the invoice: three nodes per job."""
    client = job.client
    assert client is not None
    found = send(
        "GET /Contacts", lambda t: api.get_contacts(tenant, where=f"Name=={_literal(client.name)}", _request_timeout=t)
    )
    if found.contacts:
        contact_id = found.contacts[0].contact_id
    else:
        body = Contacts(contacts=[Contact(name=client.name, email_address=client.email)])
        made = send(
            "PUT /Contacts", lambda t: api.create_contacts(tenant, body, summarize_errors="false", _request_timeout=t)
        )
        contact_id = made.contacts[0].contact_id
    day = job.completed_at.date() if job.completed_at else date.today()
    items = [
        LineItem(
            description=line.description,
            quantity=float(line.quantity),
            unit_amount=float(line.unit_price or 0),
            account_code="200",
            tax_type="OUTPUT",
        )
        for line in job.lines
    ]
    invoice = Invoice(
        type="ACCREC",
        contact=Contact(contact_id=contact_id),
        line_items=items,
        date=day,
        due_date=day + timedelta(days=14),
        reference=job.number,
        status="DRAFT",
    )
    send("PUT /Invoices", lambda t: api.create_invoices(tenant, Invoices(invoices=[invoice]), _request_timeout=t))


def run_baseline(work: Path, servers: Servers, kind: str, clock: SimClock, trace: bool = True) -> Measure:
    settings = load_settings(write_config(work, servers, kind), env={})
    source: JobSource = build_source(settings)
    api = _sdk(servers.xero_api_url)
    send = _Counted(clock)
    with _measured(clock, trace) as m:
        jobs = source.changed_since(MARK)
        for job in sorted(jobs, key=lambda j: j.changed_at):
            baseline_job(api, servers.tenant_id, job, send)
    return Measure(
        dict(send.calls),
        source.calls,
        m["sim"],
        m["cpu"],
        int(m["peak"]) if trace else None,
        invoices=send.ok["PUT /Invoices"],
        rate_limited=send.rate_limited,
        waited=m["waited"],
    )


def expected(scenario: Scenario) -> dict[str, int]:
    return {
        "jobs": len(scenario.jobs),
        "new_clients": scenario.new_clients,
        "contacts_in_xero": scenario.contacts_in_xero,
    }
