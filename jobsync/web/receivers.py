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


def build(settings: Settings, metrics: Metrics) -> Starlette:
    window = _Window(settings.serve.rate_per_minute)
    limit = settings.serve.max_body_bytes

    async def body_of(request: Request, source: str) -> bytes | Response:
        if window.full(source):
            metrics.rejected.labels(source, "rate").inc()
            log.warning("webhook refused", extra=logs.fields(source=source, status=429, reason="rate"))
            return PlainTextResponse("Too Many Requests", 429, headers={"Retry-After": "60"})
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > limit:
            metrics.rejected.labels(source, "too_large").inc()
            return PlainTextResponse("Payload Too Large", 413)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                metrics.rejected.labels(source, "too_large").inc()
                return PlainTextResponse("Payload Too Large", 413)
        return body

    def answer(source: str, verdict: webhooks.Verdict) -> Response:
        if verdict.status != 200:
            metrics.rejected.labels(source, verdict.reason or str(verdict.status)).inc()
            log.warning(
                "webhook refused",
                extra=logs.fields(source=source, status=verdict.status, reason=verdict.reason),
            )
            return (
                Response(status_code=verdict.status)
                if verdict.status in (401, 404)
                else PlainTextResponse(verdict.reason, verdict.status)
            )
        log.info("webhook kept", extra=logs.fields(source=source, added=verdict.added, replayed=verdict.replayed))
        metrics.received.labels(source).inc(verdict.added)
        metrics.replayed.labels(source).inc(verdict.replayed)
        return Response(status_code=200)

    async def servicem8(request: Request) -> Response:
        secret = request.path_params["secret"]
        body = await body_of(request, "servicem8") if request.method == "POST" else b""
        if isinstance(body, Response):
            return body
        # ServiceM8 checks a new subscription by POSTing mode=subscribe and a challenge (form-encoded);
        # the same pair in the query string is answered too.
        asked = webhooks.subscribe_request(dict(request.query_params), body)
        if asked is not None:
            echoed = webhooks.handshake(settings, secret, *asked)
            return PlainTextResponse(echoed) if echoed is not None else Response(status_code=404)
        if request.method != "POST":
            return Response(status_code=404)
        return answer("servicem8", webhooks.servicem8(settings, secret, body, dict(request.headers)))

    async def signed(request: Request) -> Response:
        name = request.path_params["name"]
        body = await body_of(request, f"signed:{name}")
        if isinstance(body, Response):
            return body
        verdict = webhooks.signed(settings, name, body, dict(request.headers), datetime.now(UTC))
        return answer(f"signed:{name}", verdict)

    async def xero(request: Request) -> Response:
        body = await body_of(request, "xero")
        if isinstance(body, Response):
            return body
        return answer("xero", webhooks.xero(settings, body, dict(request.headers)))

    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(_: Request) -> Response:
        ready, why = readiness.check(settings)
        return PlainTextResponse(why, 200 if ready else 503)

    async def prometheus(request: Request) -> Response:
        token = settings.serve.metrics_token
        if token and not signatures.same(request.headers.get("authorization", ""), f"Bearer {token}"):
            return Response(status_code=401, headers={"WWW-Authenticate": "Bearer"})
        return Response(generate_latest(metrics.registry), media_type="text/plain; version=0.0.4")

    async def not_found(request: Request, exc: Exception) -> Response:
        return Response(status_code=404)

    routes = [
        Route("/webhooks/servicem8/{secret}", servicem8, methods=["GET", "POST"]),
        Route("/webhooks/signed/{name}", signed, methods=["POST"]),
        Route("/webhooks/xero", xero, methods=["POST"]),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", prometheus),
        *console_routes(settings),
    ]
    return Starlette(routes=routes, exception_handlers={404: not_found, 405: not_found})
