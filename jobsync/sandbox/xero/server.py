"""A Xero stand-in on loopback: Accounting API, identity token endpoint and connections on one port.

    with XeroSandbox() as sb:
        AccountingApi(api_client, base_url=sb.api_url)

`python -m jobsync.sandbox.xero.server --port 8765 [--data DIR]` serves until interrupted.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any

from jobsync.sandbox.loopback import ThreadedServer
from jobsync.sandbox.xero import invoices as xero_invoices
from jobsync.sandbox.xero.auth import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_REDIRECT_URI, AuthRegistry
from jobsync.sandbox.xero.faults import DROP_AFTER, DROP_BEFORE, Faults
from jobsync.sandbox.xero.http import API_PREFIX, Exchange, Handler
from jobsync.sandbox.xero.limits import GENEROUS, IdempotencyStore, RateLimiter, RateLimits
from jobsync.sandbox.xero.store import OrgState, load_state, snapshot
from jobsync.sandbox.xero.tenants import Tenants

__all__ = ["Exchange", "RateLimits", "XeroSandbox", "serve"]

DEMO_TENANT_ID = "6a7e5b0e-1f2d-4c3b-9a8e-00000000d3e0"


def _utc_now() -> datetime:
    return datetime.now(UTC)


class XeroSandbox(ThreadedServer):
    """An in-process emulator; state lives in memory, or in `data_dir` when one is given."""

    def __init__(
        self,
        port: int = 0,
        data_dir: str | None = None,
        on_exchange: Callable[[Exchange], None] | None = None,
        clock: Callable[[], datetime] | None = None,
        idempotency_ttl: float = 360,
        rate_limits: RateLimits | None = None,
    ) -> None:
        self.port = port
        self.data_dir = data_dir
        self.on_exchange = on_exchange
        self.clock = clock or _utc_now
        self.lock = threading.RLock()
        self.state = load_state(data_dir)  # the sandbox's own organisation; `add_org` adds others
        self.tenants = Tenants(self.state, data_dir)
        self.auth = AuthRegistry(self.state.tenant_id)
        self.auth.load(self.state.extra.get("auth", {}))
        for tenant in self.tenants.ids():
            self.auth.orgs.setdefault(tenant, self.tenants.name_of(tenant))
        self.faults = Faults()
        self.limiter = RateLimiter(rate_limits or GENEROUS)
        self.idempotency = IdempotencyStore(idempotency_ttl)
        self.request_log: list[tuple[str, str, int]] = []
        self.latency = 0.0  # seconds added before every answer

    poll_interval = 0.02

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        return Handler  # it finds this org through `server.app`

    # -- addresses ---------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return self.url + API_PREFIX

    @property
    def identity_url(self) -> str:
        return self.url

    @property
    def tenant_id(self) -> str:
        return self.state.tenant_id

    # -- test helpers ------------------------------------------------------
    def now(self) -> datetime:
        return self.clock()

    def org(self, tenant: str | None = None) -> OrgState:
        found = self.state if tenant is None else self.tenants.get(tenant)
        if found is None:
            raise KeyError(f"the sandbox serves no organisation {tenant!r}")
        return found

    def contacts(self, tenant: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [snapshot(c) for c in self.org(tenant).contacts.values()]

    def invoices(self, tenant: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            org = self.org(tenant)
            return [xero_invoices.render(org, i, 4, True) for i in org.invoices.values()]

    def add_org(self, name: str, tenant_id: str | None = None) -> str:
        """Another organisation with its own data and limits, connected to every app (its tenant id)."""
        with self.lock:
            org = self.tenants.add(name, tenant_id)
            self.auth.add_org(org.tenant_id, name)
            self.persist()
            return org.tenant_id

    def add_client(self, client_id: str, client_secret: str, redirect_uris: tuple[str, ...] = ()) -> None:
        with self.lock:
            self.auth.add_client(client_id, client_secret, tuple(redirect_uris))
            self.persist()

    def record(self, exchange: Exchange) -> None:
        with self.lock:
            self.request_log.append((exchange.method, exchange.path, exchange.status))
        # A dropped connection (status 0) sent no answer, so there is no exchange to report.
        if self.on_exchange is not None and exchange.status:
            self.on_exchange(exchange)

    def persist(self, org: OrgState | None = None) -> None:
        """Save after every write so `sandbox serve --data DIR` survives restarts: the sandbox's own
        organisation (which carries the auth registry) and `org` when it is another."""
        if self.data_dir:
            self.state.extra["auth"] = self.auth.to_json()
            self.tenants.save(self.state)
            if org is not None and org is not self.state:
                self.tenants.save(org)


XERO_LIMITS = RateLimits()  # Xero's own: 60 calls a minute, 5,000 a day, 5 at once per tenant


def parse_fault(spec: str) -> tuple[str, str, int | str, int]:
    """`METHOD:PATH:STATUS[:COUNT]`, e.g. `PUT:/api.xro/2.0/Invoices:503:2` or `*:/:drop_after`."""
    parts = spec.split(":")
    if len(parts) not in (3, 4):
        raise ValueError(f"fault {spec!r}: use METHOD:PATH:STATUS[:COUNT], e.g. PUT:/api.xro/2.0/Invoices:503:2")
    method, path, status_text = parts[0], parts[1], parts[2]
    status: int | str = int(status_text) if status_text.isdigit() else status_text
    if status not in (DROP_BEFORE, DROP_AFTER) and not (isinstance(status, int) and 100 <= status <= 599):
        raise ValueError(f"fault {spec!r}: STATUS is an HTTP status, {DROP_BEFORE} or {DROP_AFTER}")
    count = int(parts[3]) if len(parts) == 4 and parts[3].isdigit() else 1
    return method, path, status, count


def serve(
    port: int,
    data_dir: str | None,
    limits: RateLimits | None = XERO_LIMITS,
    latency_ms: float = 0,
    faults: tuple[str, ...] = (),
) -> None:
    """Serve in the foreground until interrupted (`jobsync sandbox serve`), as strict as Xero by default."""
    sandbox = XeroSandbox(port=port, data_dir=data_dir, rate_limits=limits or GENEROUS)
    sandbox.latency = latency_ms / 1000
    for spec in faults:
        method, path, status, count = parse_fault(spec)
        sandbox.faults.fail_next(method, path, status=status, count=count)
    sandbox.start()
    sandbox.add_client(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, (DEMO_REDIRECT_URI,))
    print(
        f"Xero sandbox on {sandbox.url}  (api_url {sandbox.api_url}, tenant {sandbox.tenant_id}, token 'sandbox')",
        flush=True,
    )
    print(
        f"OAuth app for `jobsync auth login`: client_id {DEMO_CLIENT_ID}, client_secret {DEMO_CLIENT_SECRET},"
        f" redirect {DEMO_REDIRECT_URI}",
        flush=True,
    )
    shown = limits or GENEROUS
    print(
        f"Limits: {shown.minute}/minute, {shown.day}/day, {shown.concurrent} at once"
        f"{' (--no-limits)' if limits is None else ''}; latency {latency_ms:g} ms",
        flush=True,
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m jobsync.sandbox.xero.server", description=__doc__)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--data", default=None, help="directory where the org state persists")
    args = parser.parse_args(argv)
    serve(args.port, args.data)


if __name__ == "__main__":
    main()
