"""The HTTP face of the sandbox: Xero's hosts on one port, auth, limits, idempotency, faults."""

from __future__ import annotations

import socket
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol
from urllib.parse import parse_qs

from jobsync.sandbox.xero import api as xero_api
from jobsync.sandbox.xero import oauth as xero_oauth
from jobsync.sandbox.xero.auth import AuthRegistry, problem
from jobsync.sandbox.xero.encoding import dumps, loads
from jobsync.sandbox.xero.faults import DROP_AFTER, DROP_BEFORE, Faults, validation_fault
from jobsync.sandbox.xero.limits import (
    MAX_KEY_LENGTH,
    Cached,
    IdempotencyStore,
    RateLimiter,
    fingerprint,
    mismatch_body,
    too_long_body,
)
from jobsync.sandbox.xero.store import OrgState
from jobsync.sandbox.xero.tenants import Tenants


class SandboxApp(Protocol):
    """What the HTTP face needs of the sandbox (`sandbox.xero.XeroSandbox` is the one that has it);
    named here so this module does not import the one that imports it."""

    auth: AuthRegistry
    faults: Faults
    idempotency: IdempotencyStore
    limiter: RateLimiter
    lock: Any
    state: OrgState
    tenants: Tenants
    latency: float

    def now(self) -> datetime: ...

    def persist(self, org: OrgState | None = None) -> None: ...

    def record(self, exchange: Exchange) -> None: ...


API_PREFIX = "/api.xro/2.0"
JSON_TYPE = "application/json; charset=utf-8"


@dataclass(frozen=True)
class Exchange:
    """One request and the answer sent (status 0: the connection was dropped, nothing sent)."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    status: int
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: bytes = b""
    received: float = 0.0  # time.monotonic() when the request arrived, before any latency or answer


@dataclass
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # a cached answer replays its exact bytes

    def encoded(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return b"" if self.body is None else dumps(self.body).encode("utf-8")


def dispatch(
    app: SandboxApp, method: str, path: str, query: str, headers: dict[str, str], body: bytes, delay: float = 0.0
) -> Answer:
    """Route one request by host-path to the identity, connections, control or Accounting handlers."""
    if path.startswith("/_sandbox/faults"):
        return _control(app, method, body)
    if path == "/identity/connect/authorize" and method == "GET":
        return _authorize(app, query)
    if path == "/connect/token" and method == "POST":
        if delay:
            time.sleep(delay)  # a slow token endpoint: lets tests overlap two refreshing processes
        return _token(app, headers, body)
    if path.lower() == "/connections" and method == "GET":
        return _connections(app, headers)
    if path == API_PREFIX or path.startswith(API_PREFIX + "/"):
        return _api(app, method, path, query, headers, body, delay)
    if delay:
        time.sleep(delay)
    return Answer(404, {"Title": "NotFound", "Status": 404, "Detail": f"No route for {method} {path}"})


def _control(app: SandboxApp, method: str, body: bytes) -> Answer:
    if method == "DELETE":
        app.faults.clear()
        return Answer(204)
    try:
        app.faults.from_json(loads(body or b"{}"))
    except (ValueError, TypeError, AttributeError) as exc:
        return Answer(400, {"error": str(exc)})
    return Answer(204)


def _token(app: SandboxApp, headers: dict[str, str], body: bytes) -> Answer:
    form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    with app.lock:
        status, payload = app.auth.token_endpoint(form, headers.get("authorization"), app.now())
        app.persist()
    return Answer(status, payload, {"Cache-Control": "no-store"})


def _authorize(app: SandboxApp, query: str) -> Answer:
    with app.lock:
        page = xero_oauth.authorize(app.auth, query, app.now().timestamp())
    if page.location is not None:
        return Answer(page.status, headers={"Location": page.location, "Cache-Control": "no-store"})
    return Answer(page.status, headers={"Content-Type": "text/html; charset=utf-8"}, raw=page.html.encode())


def _connections(app: SandboxApp, headers: dict[str, str]) -> Answer:
    refused = app.auth.check(headers, app.now(), needs_tenant=False)
    if refused:
        return Answer(refused[0], refused[1])
    limit_headers, _, _ = app.limiter.acquire(None, app.now())
    created = "2026-01-01T00:00:00.0000000"
    token = headers.get("authorization", "").partition(" ")[2].strip()
    grant = app.auth.grant(token, app.now()) or {"tenants": []}
    rows = [
        {
            "id": str(uuid.uuid5(uuid.NAMESPACE_URL, tenant)),
            "authEventId": str(uuid.uuid4()),
            "tenantId": tenant,
            "tenantType": "ORGANISATION",
            "tenantName": app.auth.orgs.get(tenant) or app.tenants.name_of(tenant),
            "createdDateUtc": created,
            "updatedDateUtc": created,
        }
        for tenant in grant["tenants"]
    ]
    return Answer(200, rows, limit_headers)


def _api(
    app: SandboxApp, method: str, path: str, query: str, headers: dict[str, str], body: bytes, delay: float = 0.0
) -> Answer:
    refused = app.auth.check(headers, app.now(), needs_tenant=True)
    if refused:
        return Answer(refused[0], refused[1])
    tenant = headers["xero-tenant-id"].strip().lower()
    limit_headers, limited, retry = app.limiter.acquire(tenant, app.now())
    if limited:
        limit_headers.update({"Retry-After": str(retry), "X-Rate-Limit-Problem": limited})
        body_429 = problem(429, "Too Many Requests", f"Rate limit exceeded: {limited}")
        return Answer(429, body_429, limit_headers)
    try:
        if delay:
            time.sleep(delay)  # inside the in-flight window, so slow calls count as concurrent
        answer = _idempotent(app, method, path, query, headers, body)
    finally:
        app.limiter.release(tenant)
    answer.headers.update(limit_headers)
    return answer


def _idempotent(app: SandboxApp, method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> Answer:
    key = headers.get("idempotency-key", "").strip()
    if method not in ("PUT", "POST", "PATCH") or not key:
        return _run(app, method, path, query, headers, body)
    if len(key) > MAX_KEY_LENGTH:
        return Answer(400, too_long_body())
    # A key is the app's within one organisation: the same key sent for two tenants is two requests.
    scope = headers.get("authorization", "") + "|" + headers.get("xero-tenant-id", "").strip().lower()
    with app.idempotency.lock_for(scope, key):
        mark = fingerprint(method, path, query, body)
        found = app.idempotency.lookup(scope, key, mark, app.now())
        if found == "mismatch":
            return Answer(400, mismatch_body(key))
        if isinstance(found, Cached):
            return Answer(found.status, headers=dict(found.headers), raw=found.body)
        answer = _run(app, method, path, query, headers, body)
        cached = Cached(mark, answer.status, dict(answer.headers), answer.encoded(), app.now().timestamp())
        app.idempotency.remember(scope, key, cached)
        return answer


def _run(app: SandboxApp, method: str, path: str, query: str, headers: dict[str, str], body: bytes) -> Answer:
    parts = [p for p in path[len(API_PREFIX) :].split("/") if p]
    org = app.tenants.get(headers["xero-tenant-id"])
    if org is None:  # connected on the consent page but never given data of its own
        return Answer(403, problem(403, "Forbidden", "This organisation has no data in the sandbox"))
    with app.lock:
        request = xero_api.Request(method, parts, query, headers, body, app.now())
        status, payload = xero_api.handle(request, org)
        if method != "GET" and status < 500:
            app.persist(org)
    return Answer(status, payload)


class Handler(BaseHTTPRequestHandler):
    """Thin: read the request, ask `dispatch`, apply any scripted fault, write the answer."""

    protocol_version = "HTTP/1.1"
    server_version = "XeroSandbox/1.0"
    disable_nagle_algorithm = True  # headers and body go out in two writes; Nagle would delay the second

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        return  # tests read sb.request_log instead of stderr noise

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve()

    def do_PUT(self) -> None:  # noqa: N802
        self._serve()

    def do_POST(self) -> None:  # noqa: N802
        self._serve()

    def do_DELETE(self) -> None:  # noqa: N802
        self._serve()

    def _serve(self) -> None:
        app: SandboxApp = self.server.app  # type: ignore[attr-defined]
        self.received = time.monotonic()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _, query = self.path.partition("?")
        headers = {k.lower(): v for k, v in self.headers.items()}
        if app.latency and not path.startswith("/_sandbox"):
            time.sleep(app.latency)  # `sandbox serve --latency MS`: a network as slow as the real one
        fault = None if path.startswith("/_sandbox") else app.faults.take(self.command, path)
        slow = fault.delay if fault and fault.action == 0 else 0.0
        if fault and fault.delay and not slow:
            time.sleep(fault.delay)
        if fault and fault.action == DROP_BEFORE:
            return self._drop(app, path, query, headers, body)
        if fault and isinstance(fault.action, int) and fault.action >= 400:
            answer = _fault_answer(fault.action, fault.retry_after)
        else:
            answer = dispatch(app, self.command, path, query, headers, body, slow)
        if fault and fault.action == DROP_AFTER:
            return self._drop(app, path, query, headers, body)
        self._send(app, answer, path, query, headers, body)

    def _send(
        self, app: SandboxApp, answer: Answer, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> None:
        payload = answer.encoded()
        out = {"Xero-Correlation-Id": str(uuid.uuid4()), **answer.headers}
        if payload:
            out.setdefault("Content-Type", JSON_TYPE)
        out["Content-Length"] = str(len(payload))
        self.send_response(answer.status)
        for name, value in out.items():
            self.send_header(name, value)
        try:
            self.end_headers()
            if payload and self.command != "HEAD":
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client died mid-answer (a killed run): Xero would not care
        app.record(Exchange(self.command, path, query, headers, body, answer.status, out, payload, self.received))

    def _drop(self, app: SandboxApp, path: str, query: str, headers: dict[str, str], body: bytes) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        app.record(Exchange(self.command, path, query, headers, body, 0, received=self.received))


def _fault_answer(status: int, retry_after: int) -> Answer:
    if status == 429:
        headers = {"Retry-After": str(retry_after), "X-Rate-Limit-Problem": "minute", "X-MinLimit-Remaining": "0"}
        return Answer(429, problem(429, "Too Many Requests", "Rate limit exceeded: minute"), headers)
    if status == 400:
        return Answer(400, validation_fault())
    return Answer(status, problem(status, "Service Unavailable" if status == 503 else "Server Error", "Injected fault"))
