"""The routes: webhook receivers at stable paths, health, readiness and metrics. No business logic here:
each receiver hands the raw body to `app.webhooks`, which checks, reads and keeps the event.

Refusals are plain: a bad signature 401, a body over `serve.max_body_bytes` 413, a receiver past its
`serve.rate_per_minute` 429, anything else 404 with no body worth reading. A refusal is counted and
logged without the body.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from datetime import UTC, datetime

from prometheus_client import generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from jobsync.app import readiness, webhooks
from jobsync.config.settings import Settings
from jobsync.core import signatures
from jobsync.runtime import logs
from jobsync.web.console import console_routes
from jobsync.web.metrics import Metrics

log = logging.getLogger("jobsync.web")


class _Window:
    """Requests per receiver in the last minute; past the limit, 429."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.seen: dict[str, deque[float]] = {}

    def full(self, name: str) -> bool:
        now = time.monotonic()
        seen = self.seen.setdefault(name, deque())
        while seen and now - seen[0] >= 60:
            seen.popleft()
        if len(seen) >= self.limit:
            return True
        seen.append(now)
        return False


class Receivers:
    """The service's endpoints, sharing the settings, the metrics and the per-receiver rate window."""

    def __init__(self, settings: Settings, metrics: Metrics) -> None:
        self.settings, self.metrics = settings, metrics
        self.window = _Window(settings.serve.rate_per_minute)
        self.limit = settings.serve.max_body_bytes

    async def body_of(self, request: Request, source: str) -> bytes | Response:
        """The raw body, or the refusal: past the rate (429) or over the size limit (413)."""
        if self.window.full(source):
            self.metrics.rejected.labels(source, "rate").inc()
            log.warning("webhook refused", extra=logs.fields(source=source, status=429, reason="rate"))
            return PlainTextResponse("Too Many Requests", 429, headers={"Retry-After": "60"})
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.limit:
            self.metrics.rejected.labels(source, "too_large").inc()
            return PlainTextResponse("Payload Too Large", 413)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > self.limit:
                self.metrics.rejected.labels(source, "too_large").inc()
                return PlainTextResponse("Payload Too Large", 413)
        return body

    def answer(self, source: str, verdict: webhooks.Verdict) -> Response:
        if verdict.status != 200:
            self.metrics.rejected.labels(source, verdict.reason or str(verdict.status)).inc()
            said = logs.fields(source=source, status=verdict.status, reason=verdict.reason)
            log.warning("webhook refused", extra=said)
            if verdict.status in (401, 404):
                return Response(status_code=verdict.status)
            return PlainTextResponse(verdict.reason, verdict.status)
        log.info("webhook kept", extra=logs.fields(source=source, added=verdict.added, replayed=verdict.replayed))
        self.metrics.received.labels(source).inc(verdict.added)
        self.metrics.replayed.labels(source).inc(verdict.replayed)
        return Response(status_code=200)

    async def servicem8(self, request: Request) -> Response:
        secret = request.path_params["secret"]
        body = await self.body_of(request, "servicem8") if request.method == "POST" else b""
        if isinstance(body, Response):
            return body
        # ServiceM8 checks a new subscription by POSTing mode=subscribe and a challenge (form-encoded);
        # the same pair in the query string is answered too.
        asked = webhooks.subscribe_request(dict(request.query_params), body)
        if asked is not None:
            echoed = webhooks.handshake(self.settings, secret, *asked)
            return PlainTextResponse(echoed) if echoed is not None else Response(status_code=404)
        if request.method != "POST":
            return Response(status_code=404)
        return self.answer("servicem8", webhooks.servicem8(self.settings, secret, body, dict(request.headers)))

    async def signed(self, request: Request) -> Response:
        name = request.path_params["name"]
        body = await self.body_of(request, f"signed:{name}")
        if isinstance(body, Response):
            return body
        verdict = webhooks.signed(self.settings, name, body, dict(request.headers), datetime.now(UTC))
        return self.answer(f"signed:{name}", verdict)

    async def xero(self, request: Request) -> Response:
        body = await self.body_of(request, "xero")
        if isinstance(body, Response):
            return body
        return self.answer("xero", webhooks.xero(self.settings, body, dict(request.headers)))

    async def healthz(self, _: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(self, _: Request) -> Response:
        ready, why = readiness.check(self.settings)
        return PlainTextResponse(why, 200 if ready else 503)

    async def prometheus(self, request: Request) -> Response:
        token = self.settings.serve.metrics_token
        if token and not signatures.same(request.headers.get("authorization", ""), f"Bearer {token}"):
            return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
        return Response(generate_latest(self.metrics.registry), media_type="text/plain; version=0.0.4")


async def _not_found(request: Request, exc: Exception) -> Response:
    return Response(status_code=404)


def build(settings: Settings, metrics: Metrics, practice_url: str | None = None) -> Starlette:
    r = Receivers(settings, metrics)
    routes = [
        Route("/webhooks/servicem8/{secret}", r.servicem8, methods=["GET", "POST"]),
        Route("/webhooks/signed/{name}", r.signed, methods=["POST"]),
        Route("/webhooks/xero", r.xero, methods=["POST"]),
        Route("/healthz", r.healthz),
        Route("/readyz", r.readyz),
        Route("/metrics", r.prometheus),
        *console_routes(settings, practice_url),
    ]
    return Starlette(routes=routes, exception_handlers={404: _not_found, 405: _not_found})
