"""XeroClient over real HTTP: faults against a scripted loopback server, behaviour against the sandbox.

The fault tests use a tiny scripted HTTP server defined below (a fake server, not a mock of
jobsync code): the client goes through xero-python and urllib3 exactly as it would against Xero.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit
from zoneinfo import ZoneInfo

import pytest
import yaml

from jobsync.core.errors import RejectedError, RetriableError, StoppedError, UnreachableError
from jobsync.core.models import ContactDecision, DecisionKind, DraftLine, InvoiceDraft
from jobsync.xero import wire
from jobsync.xero.client import XeroClient
from jobsync.xero.gateway import NewContact
from jobsync.xero.timezones import WINDOWS_TO_IANA, to_iana

SPEC = Path(__file__).resolve().parent / "specs" / "xero" / "xero_accounting.yaml"
PREFIX = "/api.xro/2.0"
DROP = "DROP"
TENANT = "11111111-2222-3333-4444-555555555555"

# ---------------------------------------------------------------------------
# A scriptable loopback server
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Seen:
    method: str
    path: str  # without the /api.xro/2.0 prefix
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


@dataclass(frozen=True)
class Answer:
    status: int = 200
    body: Any = None
    headers: tuple[tuple[str, str], ...] = ()


Script = Answer | str | Callable[[Seen], Answer]


class FakeXero:
    """Answers per (method, path) from a script: an Answer, a callable, or DROP (close, no answer)."""

    def __init__(self) -> None:
        self.scripts: dict[tuple[str, str], deque[Script]] = defaultdict(deque)
        self.defaults: dict[tuple[str, str], Script] = {}
        self.requests: list[Seen] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}{PREFIX}"

    def script(self, method: str, path: str, *answers: Script) -> None:
        self.scripts[(method, path)].extend(answers)

    def seen(self, method: str, path: str) -> list[Seen]:
        return [r for r in self.requests if r.method == method and r.path == path]

    def answer(self, seen: Seen) -> Script:
        queue = self.scripts[(seen.method, seen.path)]
        return queue.popleft() if queue else self.defaults.get((seen.method, seen.path), Answer(200, {}))

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler(fake: FakeXero) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            url = urlsplit(self.path)
            path = url.path.removeprefix(PREFIX)
            seen = Seen(self.command, path, parse_qs(url.query), dict(self.headers.items()), body)
            fake.requests.append(seen)
            answer = fake.answer(seen)
            answer = answer(seen) if callable(answer) else answer
            if answer == DROP:
                self.close_connection = True
                return
            assert isinstance(answer, Answer)
            payload = b"" if answer.body is None else json.dumps(answer.body).encode()
            self.send_response(answer.status)
            for name, value in answer.headers:
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_PUT = do_POST = _serve

    return Handler


@pytest.fixture
def fake() -> Iterator[FakeXero]:
    server = FakeXero()
    server.start()
    yield server
    server.stop()


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def make_client(api_url: str, sleeps: Sleeps | None = None, **kw: Any) -> XeroClient:
    return XeroClient(api_url, TENANT, lambda: "sandbox", sleep=sleeps if sleeps is not None else Sleeps(), **kw)


def draft(reference: str, *, unit: str = "12.3456", account: str = "200", unitdp: int = 4) -> InvoiceDraft:
    line = DraftLine(
        description="Labour: 2.5 h",
        quantity=Decimal("2.5"),
        unit_amount=Decimal(unit),
        account_code=account,
        tax_type="OUTPUT",
        line_amount=(Decimal("2.5") * Decimal(unit)).quantize(Decimal("0.01")),
        tax_amount=Decimal("0"),
        rule="labour",
        tracking=(("Region", "North"),),
    )
    material = DraftLine(
        description='Pipe "copper" 15mm',
        quantity=Decimal("3"),
        unit_amount=Decimal("19.90"),
        account_code=account,
        tax_type="OUTPUT",
        line_amount=Decimal("53.73"),
        tax_amount=Decimal("0"),
        rule="material",
        discount_rate=Decimal("10"),
    )
    contact = ContactDecision(DecisionKind.EXISTING, "csv:C-1", "Acme Pty Ltd", contact_id="ignored")
    return InvoiceDraft(
        source="csv",
        job_id=reference,
        job_number=reference,
        stage="final",
        reference=reference,
        contact=contact,
        date=date(2026, 7, 1),
        due_date=date(2026, 7, 15),
        lines=(line, material),
        unitdp=unitdp,
    )


INVOICE_OK = {
    "Invoices": [
        {
            "InvoiceID": "inv-1",
            "InvoiceNumber": "INV-0001",
            "Status": "DRAFT",
            "Total": 90.13,
            "StatusAttributeString": "OK",
            "HasErrors": False,
        }
    ]
}


# ---------------------------------------------------------------------------
# Retries, 429, dropped connections, auth refusals
# ---------------------------------------------------------------------------


def test_dropped_connection_is_sent_once_per_attempt_so_urllib3_retries_are_off(fake: FakeXero) -> None:
    fake.script("GET", "/Organisation", DROP, DROP, DROP)
    sleeps = Sleeps()
    client = make_client(fake.api_url, sleeps, max_retries=2)
    with pytest.raises(RetriableError):
        client.read_refs()
    # urllib3's default would have sent 4 per attempt; jobsync's policy sends exactly 1 + 2 retries.
    assert len(fake.seen("GET", "/Organisation")) == 3
    assert len(sleeps) == 2
    assert client.calls == {"GET /Organisation": 3}


def test_429_waits_retry_after_then_succeeds_and_counts_both_calls(fake: FakeXero) -> None:
    fake.script("GET", "/Organisation", Answer(429, {}, (("Retry-After", "3"), ("X-Rate-Limit-Problem", "minute"))))
    fake.script(
        "GET",
        "/Organisation",
        Answer(
            200,
            {"Organisations": [{"Name": "Demo", "Timezone": "NEWZEALANDSTANDARDTIME", "BaseCurrency": "NZD"}]},
            (("X-MinLimit-Remaining", "57"), ("X-DayLimit-Remaining", "4990")),
        ),
    )
    fake.script(
        "GET",
        "/TaxRates",
        Answer(
            200,
            {
                "TaxRates": [
                    {
                        "TaxType": "OUTPUT2",
                        "Name": "GST on Income",
                        "EffectiveRate": 15.0000,
                        "Status": "ACTIVE",
                    }
                ]
            },
        ),
    )
    sleeps = Sleeps()
    refs = make_client(fake.api_url, sleeps).read_refs()
    assert sleeps == [3.0]
    assert refs.org.timezone == "Pacific/Auckland" and refs.org.base_currency == "NZD"
    assert refs.tax_rates["OUTPUT2"].rate == Decimal("15.0000")
    assert len(fake.seen("GET", "/Organisation")) == 2


def test_limits_headers_are_remembered(fake: FakeXero) -> None:
    fake.script(
        "GET",
        "/Accounts",
        Answer(200, {"Accounts": []}, (("X-MinLimit-Remaining", "41"), ("X-DayLimit-Remaining", "4321"))),
    )
    client = make_client(fake.api_url)
    client.read_refs()
    assert client.limits["x-minlimit-remaining"] == 41
    assert client.limits["x-daylimit-remaining"] == 4321


def test_429_asking_too_long_stops_the_run_cleanly(fake: FakeXero) -> None:
    fake.script("GET", "/Organisation", Answer(429, {}, (("Retry-After", "86400"), ("X-Rate-Limit-Problem", "day"))))
    with pytest.raises(StoppedError, match="day rate limit"):
        make_client(fake.api_url, max_retry_after=60).read_refs()
    assert len(fake.seen("GET", "/Organisation")) == 1


def test_create_retried_after_503_resends_identical_body_and_key(fake: FakeXero) -> None:
    fake.script("PUT", "/Invoices", Answer(503, {}), DROP, Answer(200, INVOICE_OK))
    client = make_client(fake.api_url)
    drafts = [draft("J-1")]
    body = client.invoice_body(drafts, ["c-1"])
    results = client.create_invoices(drafts, ["c-1"], client.idempotency_key(body))
    assert results[0].ok and results[0].id == "inv-1" and results[0].number == "INV-0001"
    assert results[0].total == Decimal("90.13")
    sent = fake.seen("PUT", "/Invoices")
    assert len(sent) == 3
    assert {s.body for s in sent} == {body}
    assert {s.headers["Idempotency-Key"] for s in sent} == {client.idempotency_key(body)}
    assert sent[0].param("summarizeErrors") == "false" and sent[0].param("unitdp") == "4"
    assert client.calls == {"PUT /Invoices": 3}


def test_create_whose_fate_stays_unknown_is_retriable(fake: FakeXero) -> None:
    fake.script("PUT", "/Invoices", DROP, DROP)
    client = make_client(fake.api_url, max_retries=1)
    with pytest.raises(RetriableError, match="reconciles by Reference"):
        client.create_invoices([draft("J-1")], ["c-1"], "key-1")


def test_401_and_403_are_unreachable_with_the_fix_and_not_retried(fake: FakeXero) -> None:
    fake.script("GET", "/Organisation", Answer(401, {"Title": "Unauthorized"}), Answer(403, {"Title": "Forbidden"}))
    client = make_client(fake.api_url)
    with pytest.raises(UnreachableError, match="jobsync auth login"):
        client.read_refs()
    with pytest.raises(UnreachableError, match="tenant is not granted"):
        client.read_refs()
    assert len(fake.seen("GET", "/Organisation")) == 2


def test_connection_refused_names_the_url() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}{PREFIX}"
    with pytest.raises(UnreachableError, match=f"127.0.0.1:{port}"):
        make_client(url, max_retries=1).read_refs()


def test_whole_request_validation_exception_is_rejected_with_xeros_messages(fake: FakeXero) -> None:
    error = {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": [{"ValidationErrors": [{"Message": "The contact name Acme is already assigned"}]}],
    }
    fake.script("PUT", "/Contacts", Answer(400, error))
    with pytest.raises(RejectedError) as caught:
        make_client(fake.api_url).create_contacts([NewContact("Acme", "csv:C-1")])
    assert caught.value.problems == ["The contact name Acme is already assigned"]
    assert len(fake.seen("PUT", "/Contacts")) == 1


# ---------------------------------------------------------------------------
# Bodies, filters, batching
# ---------------------------------------------------------------------------


def test_invoice_body_is_exact_and_stable() -> None:
    client = make_client("http://127.0.0.1:9/api.xro/2.0")
    drafts = [draft("J-1"), draft("J-2", unit="0.1648")]
    body = client.invoice_body(drafts, ["c-1", "c-2"])
    assert body == client.invoice_body(drafts, ["c-1", "c-2"])
    assert b'"UnitAmount":12.3456' in body and b'"UnitAmount":0.1648' in body and b'"UnitAmount":19.90' in body
    parsed = json.loads(body, parse_float=Decimal)
    first = parsed["Invoices"][0]
    assert first["Contact"] == {"ContactID": "c-1"}
    assert (first["Type"], first["Date"], first["DueDate"]) == ("ACCREC", "2026-07-01", "2026-07-15")
    assert first["LineItems"][0]["Tracking"] == [{"Name": "Region", "Option": "North"}]
    assert first["LineItems"][1]["DiscountRate"] == Decimal("10")
    assert first["LineItems"][1]["Description"] == 'Pipe "copper" 15mm'
    assert "Url" not in first and "CurrencyCode" not in first
    with_url = client.invoice_body([replace(drafts[0], url="https://jobs.example/J-1", currency="NZD")], ["c-1"])
    assert b'"Url":"https://jobs.example/J-1","CurrencyCode":"NZD","LineItems"' in with_url


def test_invoices_of_two_dp_send_no_unitdp(fake: FakeXero) -> None:
    fake.script("PUT", "/Invoices", Answer(200, INVOICE_OK))
    make_client(fake.api_url).create_invoices([draft("J-1", unit="12.50", unitdp=2)], ["c-1"], "k")
    assert fake.seen("PUT", "/Invoices")[0].param("unitdp") is None


def test_element_results_keep_order_and_errors(fake: FakeXero) -> None:
    elements = [
        {"InvoiceID": "a", "InvoiceNumber": "INV-1", "StatusAttributeString": "OK", "Total": 1.00},
        {
            "InvoiceID": "00000000-0000-0000-0000-000000000000",
            "StatusAttributeString": "ERROR",
            "HasErrors": True,
            "ValidationErrors": [{"Message": "Account code '999' is not a valid code for this document."}],
        },
        {"InvoiceID": "c", "InvoiceNumber": "INV-2", "StatusAttributeString": "WARNING", "Total": 2.50},
    ]
    fake.script("PUT", "/Invoices", Answer(200, {"Invoices": elements}))
    results = make_client(fake.api_url).create_invoices([draft("A"), draft("B"), draft("C")], ["x"] * 3, "k")
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].id is None and "999" in results[1].errors[0]
    assert results[2].number == "INV-2" and results[2].total == Decimal("2.50")


def test_create_contacts_batches_of_fifty_with_one_result_each(fake: FakeXero) -> None:
    def echo(seen: Seen) -> Answer:
        sent = json.loads(seen.body)["Contacts"]
        return Answer(
            200,
            {"Contacts": [{"ContactID": f"id-{c['ContactNumber']}", "StatusAttributeString": "OK"} for c in sent]},
        )

    fake.defaults[("PUT", "/Contacts")] = echo
    contacts = [
        NewContact(f"Client {i}", f"csv:{i}", email=f"c{i}@example.com", phone="0400 000 000") for i in range(120)
    ]
    client = make_client(fake.api_url)
    results = client.create_contacts(contacts)
    assert [r.id for r in results] == [f"id-csv:{i}" for i in range(120)]
    sent = fake.seen("PUT", "/Contacts")
    assert [len(json.loads(s.body)["Contacts"]) for s in sent] == [50, 50, 20]
    assert len({s.headers["Idempotency-Key"] for s in sent}) == 3
    assert json.loads(sent[0].body)["Contacts"][0]["Phones"] == [
        {"PhoneType": "DEFAULT", "PhoneNumber": "0400 000 000"}
    ]
    assert client.calls == {"PUT /Contacts": 3}


def test_find_contacts_chunks_the_where_and_pages(fake: FakeXero) -> None:
    def page(seen: Seen) -> Answer:
        n = int(seen.param("page") or 1)
        count = 1000 if n == 1 else 2
        return Answer(
            200,
            {
                "Contacts": [
                    {
                        "ContactID": f"{hash(seen.param('where'))}-{n}-{i}",
                        "Name": "x",
                        "ContactStatus": "ARCHIVED" if i == 0 else "ACTIVE",
                        "Phones": [{"PhoneType": "MOBILE", "PhoneNumber": "0411"}],
                    }
                    for i in range(count)
                ]
            },
        )

    fake.defaults[("GET", "/Contacts")] = page
    names = [f'Client "{i}" with a fairly long trading name Pty Ltd' for i in range(60)]
    found = make_client(fake.api_url).find_contacts(names=names, emails=["a@b.example"], contact_numbers=["csv:1"])
    requests = fake.seen("GET", "/Contacts")
    wheres = sorted({unquote(r.param("where") or "") for r in requests})
    assert len(wheres) >= 2  # too long for one URL
    assert all(len(r.param("where") or "") < wire.MAX_WHERE_CHARS for r in requests)
    assert all(r.param("includeArchived") == "true" and r.param("pageSize") == "1000" for r in requests)
    assert len(requests) == 2 * len(wheres)  # each filter: a full page, then a short one
    joined = " OR ".join(wheres)
    assert 'Name=="Client \\"7\\" with' in joined and 'EmailAddress=="a@b.example"' in joined
    assert 'ContactNumber=="csv:1"' in joined
    assert len(found) == 1002 * len(wheres) and found[0].status == "ARCHIVED" and found[1].phone == "0411"


def test_find_invoices_by_reference_asks_every_status(fake: FakeXero) -> None:
    fake.script(
        "GET",
        "/Invoices",
        Answer(
            200,
            {
                "Invoices": [
                    {
                        "InvoiceID": "i1",
                        "InvoiceNumber": "INV-9",
                        "Reference": "J-1",
                        "Status": "DELETED",
                        "Total": 10.5,
                        "Contact": {"ContactID": "c1"},
                    }
                ]
            },
        ),
    )
    refs = make_client(fake.api_url).find_invoices_by_reference(["J-1", 'J-"2"'])
    seen = fake.seen("GET", "/Invoices")[0]
    assert seen.param("where") == 'Type=="ACCREC" AND (Reference=="J-1" OR Reference=="J-\\"2\\"")'
    assert set((seen.param("Statuses") or "").split(",")) == {
        "DRAFT",
        "SUBMITTED",
        "AUTHORISED",
        "PAID",
        "VOIDED",
        "DELETED",
    }
    assert refs[0].status == "DELETED" and refs[0].total == Decimal("10.5") and refs[0].contact_id == "c1"


def test_email_invoice_posts_an_empty_object(fake: FakeXero) -> None:
    fake.script("POST", "/Invoices/inv-7/Email", Answer(204))
    client = make_client(fake.api_url)
    client.email_invoice("inv-7")
    sent = fake.seen("POST", "/Invoices/inv-7/Email")
    assert [s.body for s in sent] == [b"{}"]
    assert client.calls == {"POST /Invoices/{InvoiceID}/Email": 1}


def test_connections_are_read_from_the_api_host(fake: FakeXero) -> None:
    fake.script("GET", "/connections", Answer(200, [{"tenantId": TENANT, "tenantName": "Demo"}]))
    client = make_client(fake.api_url)
    assert client.list_connections() == [{"tenantId": TENANT, "tenantName": "Demo"}]
    assert fake.seen("GET", "/connections")[0].headers["Authorization"] == "Bearer sandbox"


def test_decimal_encoding_never_uses_exponents_or_floats() -> None:
    assert (
        wire.encode({"a": Decimal("1E+2"), "b": Decimal("-0.00"), "c": Decimal("0.0001")})
        == b'{"a":100,"b":0,"c":0.0001}'
    )
    with pytest.raises(TypeError):
        wire.encode({"a": 1.5})


# ---------------------------------------------------------------------------
# Timezones
# ---------------------------------------------------------------------------


def _spec_timezones() -> list[str]:
    spec = yaml.load(SPEC.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    return spec["components"]["schemas"]["TimeZone"]["enum"]


def test_every_timezone_in_the_spec_maps_to_a_real_zone() -> None:
    names = _spec_timezones()
    assert len(names) > 100
    missing = [n for n in names if n not in WINDOWS_TO_IANA]
    assert missing == []
    for name in names:
        ZoneInfo(WINDOWS_TO_IANA[name])


@pytest.mark.parametrize(
    ("xero", "iana"),
    [
        ("AUSEASTERNSTANDARDTIME", "Australia/Sydney"),
        ("WAUSTRALIASTANDARDTIME", "Australia/Perth"),
        ("GMTSTANDARDTIME", "Europe/London"),
        ("EASTERNSTANDARDTIME", "America/New_York"),
        ("PACIFICSTANDARDTIME", "America/Los_Angeles"),
        ("SINGAPORESTANDARDTIME", "Asia/Singapore"),
        ("SOUTHAFRICASTANDARDTIME", "Africa/Johannesburg"),
        ("NEWFOUNDLANDSTANDARDTIME", "America/St_Johns"),
        ("AUS Eastern Standard Time", "Australia/Sydney"),
        ("UTC+12", "Etc/GMT-12"),
    ],
)
def test_common_timezones(xero: str, iana: str) -> None:
    assert to_iana(xero) == (iana, None)


def test_unknown_timezone_falls_back_to_utc_with_a_warning(fake: FakeXero) -> None:
    fake.script("GET", "/Organisation", Answer(200, {"Organisations": [{"Name": "X", "Timezone": "MARSTIME"}]}))
    client = make_client(fake.api_url)
    assert client.read_refs().org.timezone == "UTC"
    assert "MARSTIME" in client.warnings[0]


# ---------------------------------------------------------------------------
# Against the sandbox (jobsync/sandbox/xero/server.py), through the real HTTP stack
# ---------------------------------------------------------------------------


@pytest.fixture
def sandbox() -> Iterator[Any]:
    from jobsync.sandbox.xero.server import XeroSandbox

    with XeroSandbox(port=0) as sb:
        yield sb


def sandbox_client(sb: Any, sleeps: Sleeps | None = None, **kw: Any) -> XeroClient:
    return XeroClient(sb.api_url, sb.tenant_id, lambda: "sandbox", sleep=sleeps or Sleeps(), **kw)


def _by_reference(sb: Any) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for invoice in sb.invoices():
        found[invoice["Reference"]].append(invoice)
    return found


def test_sandbox_contacts_then_invoices_read_back_exactly(sandbox: Any) -> None:
    client = sandbox_client(sandbox)
    refs = client.read_refs()
    assert refs.org.timezone == "Australia/Sydney"
    assert refs.tax_rates["OUTPUT"].rate == Decimal("10")
    created = client.create_contacts(
        [
            NewContact("New Plumbing Co", "csv:N1", "n1@x.example", "0400 111 222"),
            NewContact("John Smith", "csv:N2"),
        ]
    )
    assert created[0].ok and created[0].id
    assert not created[1].ok and "already assigned to another contact" in created[1].errors[0]
    drafts = [draft("J-1"), draft("J-2", account="999"), draft("J-3", unit="100.00", unitdp=2)]
    body = client.invoice_body(drafts, [created[0].id] * 3)
    results = client.create_invoices(drafts, [created[0].id] * 3, client.idempotency_key(body))
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].errors == ("Account code '999' is not a valid code for this document.",)
    # By hand: 2.5 x 12.3456 = 30.864 -> 30.86 (tax 3.086 -> 3.09); 3 x 19.90 less 10 % = 53.73 (tax 5.37).
    assert results[0].total == Decimal("93.05")
    stored = _by_reference(sandbox)
    assert set(stored) == {"J-1", "J-3"}
    j1 = stored["J-1"][0]
    assert j1["Contact"]["ContactID"] == created[0].id and j1["Status"] == "DRAFT"
    assert j1["LineItems"][0]["UnitAmount"] == Decimal("12.3456")  # unitdp=4 kept all four places
    assert (j1["SubTotal"], j1["TotalTax"], j1["Total"]) == (
        Decimal("84.59"),
        Decimal("8.46"),
        Decimal("93.05"),
    )
    found = client.find_invoices_by_reference(["J-1", "J-2", "J-3"])
    assert {(f.reference, f.invoice_number, f.total) for f in found} == {
        ("J-1", results[0].number, Decimal("93.05")),
        ("J-3", results[2].number, Decimal("334.10")),
    }


def test_sandbox_find_contacts_includes_archived_and_reads_phones(sandbox: Any) -> None:
    client = sandbox_client(sandbox)
    client.create_contacts([NewContact("Phone Co", "csv:P1", phone="0400 999 000")])
    found = client.find_contacts(
        contact_numbers=["csv:P1"], names=["old client ltd"], emails=["ap@greenleafpm.example"]
    )
    by_name = {c.name: c for c in found}
    assert set(by_name) == {"Phone Co", "Old Client Ltd", "Greenleaf Property Management"}
    assert by_name["Old Client Ltd"].status == "ARCHIVED"
    assert by_name["Phone Co"].phone == "0400 999 000" and by_name["Phone Co"].contact_number == "csv:P1"
    assert client.calls["GET /Contacts"] == 1  # one OR filter for all three keys


def test_sandbox_same_drafts_give_the_same_bytes_and_key(sandbox: Any) -> None:
    client = sandbox_client(sandbox)
    first = client.invoice_body([draft("J-1"), draft("J-2")], ["c", "c"])
    again = client.invoice_body([draft("J-1"), draft("J-2")], ["c", "c"])
    assert first == again and client.idempotency_key(first) == client.idempotency_key(again)
    assert client.idempotency_key(first) != sandbox_client(sandbox).idempotency_key(first + b" ")


def test_sandbox_timed_out_create_is_retried_without_a_duplicate(sandbox: Any) -> None:
    """The first attempt times out client-side but is processed late; the retry must not duplicate it."""
    client = sandbox_client(sandbox, timeout=0.3)
    contact = client.create_contacts([NewContact("Lost Response Ltd", "csv:L1")])[0].id
    assert contact
    sandbox.faults.delay_next("PUT", "/api.xro/2.0/Invoices", seconds=1.0)
    drafts = [draft("J-LOST")]
    key = client.idempotency_key(client.invoice_body(drafts, [contact]))
    sent_at = time.monotonic()
    results = client.create_invoices(drafts, [contact], key)
    # The late first attempt is processed 1.0 s after it was sent; its answer goes to a closed
    # socket, so nothing reports it: wait past that point (a client that changed the key or body
    # on retry would now show two invoices).
    time.sleep(max(0.0, 1.4 - (time.monotonic() - sent_at)))
    stored = _by_reference(sandbox)["J-LOST"]
    assert len(stored) == 1  # the same key and body: one invoice, whichever attempt got there first
    assert results[0].ok and results[0].id == stored[0]["InvoiceID"]
    assert client.calls["PUT /Invoices"] == 2
    # A later run that never saw an answer finds it by Reference instead of creating it again.
    assert [r.invoice_id for r in client.find_invoices_by_reference(["J-LOST"])] == [stored[0]["InvoiceID"]]


def test_sandbox_refuses_a_bad_token_and_a_foreign_tenant(sandbox: Any) -> None:
    bad_token = XeroClient(sandbox.api_url, sandbox.tenant_id, lambda: "nope", sleep=Sleeps())
    with pytest.raises(UnreachableError, match="jobsync auth login"):
        bad_token.read_refs()
    foreign = XeroClient(sandbox.api_url, "99999999-9999-9999-9999-999999999999", lambda: "sandbox", sleep=Sleeps())
    with pytest.raises(UnreachableError, match="tenant"):
        foreign.find_invoices_by_reference(["J-1"])
    assert [c["tenantId"] for c in foreign.list_connections()] == [sandbox.tenant_id]


def test_sandbox_calls_for_a_small_run_hit_the_minimum(sandbox: Any) -> None:
    client = sandbox_client(sandbox)
    client.read_refs()
    # 30 keys fit one URL; more would be split into further calls by the URL budget.
    client.find_contacts(contact_numbers=[f"csv:{i}" for i in range(15)], emails=[f"c{i}@x.ex" for i in range(15)])
    created = client.create_contacts([NewContact(f"Client {i}", f"csv:{i}") for i in range(30)])
    ids = [r.id or "" for r in created]
    refs = [f"J-{i}" for i in range(30)]
    assert client.find_invoices_by_reference(refs) == []
    drafts = [draft(r, unit="100.00", unitdp=2) for r in refs]
    results = client.create_invoices(drafts, ids, client.idempotency_key(client.invoice_body(drafts, ids)))
    assert all(r.ok for r in results) and len(sandbox.invoices()) == 30
    assert client.calls == {
        "GET /Organisation": 1,
        "GET /Accounts": 1,
        "GET /TaxRates": 1,
        "GET /Contacts": 1,
        "PUT /Contacts": 1,
        "GET /Invoices": 1,
        "PUT /Invoices": 1,
    }


def test_sandbox_lost_response_is_replayed_not_recreated(sandbox: Any) -> None:
    """Xero commits the create but the answer is lost; the retry gets the cached answer."""
    client = sandbox_client(sandbox)
    contact = client.create_contacts([NewContact("Dropped Answer Ltd", "csv:D1")])[0].id
    assert contact
    sandbox.faults.fail_next("PUT", "/api.xro/2.0/Invoices", status="drop_after")
    drafts = [draft("J-DROP")]
    results = client.create_invoices(drafts, [contact], client.idempotency_key(client.invoice_body(drafts, [contact])))
    stored = _by_reference(sandbox)["J-DROP"]
    assert len(stored) == 1 and results[0].ok and results[0].id == stored[0]["InvoiceID"]
    assert client.calls["PUT /Invoices"] == 2


def test_retry_after_as_an_http_date_without_a_zone_is_read_as_gmt() -> None:
    from datetime import UTC, datetime

    from jobsync.xero.retry import retry_after_seconds

    now = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds({"retry-after": "Wed, 25 Nov 2026 12:00:30 -0000"}, now) == 30.0
    assert retry_after_seconds({"retry-after": "Wed, 25 Nov 2026 12:00:30 GMT"}, now) == 30.0
    assert retry_after_seconds({"retry-after": "7"}, now) == 7.0
