"""Accepting a webhook: check who sent it, read what changed, and keep it in the inbox before answering.

The sync never runs here: a receiver must answer ServiceM8 within 10 s and Xero within 5 s, and a
run can take longer. The inbox write is what the 200 promises.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qs

from jobsync.app.wiring import tenant_id
from jobsync.config.settings import Settings
from jobsync.core import signatures, webhook_events
from jobsync.core.errors import JobsyncError
from jobsync.core.webhook_events import Event
from jobsync.state.store import State


@dataclass(frozen=True)
class Verdict:
    status: int  # what the receiver answers
    added: int = 0
    replayed: int = 0
    reason: str = ""  # why it was refused (logged and counted, never the body)


def servicem8(settings: Settings, secret: str, body: bytes, headers: Mapping[str, str]) -> Verdict:
    serve = settings.serve
    if not serve.servicem8_secret or not signatures.same(secret, serve.servicem8_secret):
        return Verdict(404, reason="unknown path")
    events = webhook_events.servicem8(body)
    if events is None:
        return Verdict(400, reason="not a ServiceM8 job webhook")
    signature = webhook_events.servicem8_signature(body)
    if signature is not None and not signatures.hmac_valid(body, serve.servicem8_app_secret or "", signature, "hex"):
        return Verdict(401, reason="bad metadata.signature")
    return _keep(settings, settings.source.name, events)


def subscribe_request(query: Mapping[str, str], body: bytes) -> tuple[str, str | None] | None:
    """(mode, challenge) when the request is ServiceM8's subscribe check, from the query or a form body."""
    if query.get("mode"):
        return query["mode"], query.get("challenge")
    if not body.startswith(b"mode=") and b"&mode=" not in body:
        return None
    form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
    return (form["mode"], form.get("challenge")) if form.get("mode") else None


def handshake(settings: Settings, secret: str, mode: str | None, challenge: str | None) -> str | None:
    """ServiceM8's subscribe handshake: the challenge echoed back, on the right path only."""
    serve = settings.serve
    if mode != "subscribe" or not challenge or not serve.servicem8_secret:
        return None
    return challenge if signatures.same(secret, serve.servicem8_secret) else None


def signed(settings: Settings, name: str, body: bytes, headers: Mapping[str, str], now: datetime) -> Verdict:
    receiver = settings.serve.signed.get(name)
    if receiver is None:
        return Verdict(404, reason="unknown receiver")
    message = body
    if receiver.timestamp_header:
        stamp = headers.get(receiver.timestamp_header.lower())
        if not signatures.timestamp_fresh(stamp, now, timedelta(seconds=receiver.tolerance_seconds)):
            return Verdict(401, reason="timestamp missing or outside the tolerance")
        message = f"{stamp}.".encode() + body
    if not signatures.hmac_valid(message, receiver.secret, headers.get(receiver.header.lower()), receiver.encoding):
        return Verdict(401, reason="bad signature")
    events = webhook_events.signed(name, body)
    if events is None:
        return Verdict(400, reason="expected {'id', 'job_id'} objects")
    return _keep(settings, settings.source.name, events)


def xero(settings: Settings, body: bytes, headers: Mapping[str, str]) -> Verdict:
    """Xero: 200 with an empty body for a valid signature (intent to receive included), 401 otherwise."""
    key = settings.serve.xero_webhook_key
    if not key:
        return Verdict(404, reason="no xero webhook key")
    if not signatures.xero_valid(body, key, headers.get("x-xero-signature")):
        return Verdict(401, reason="bad x-xero-signature")
    events = webhook_events.xero(body) or []
    ours = _tenant(settings)
    kept = [e for e in events if ours is None or (e.tenant or "").lower() == ours.lower()]
    return _keep(settings, "xero", kept) if kept else Verdict(200)


def _tenant(settings: Settings) -> str | None:
    try:
        return tenant_id(settings)
    except JobsyncError:
        return None


def _keep(settings: Settings, source: str, events: list[Event]) -> Verdict:
    added = replayed = 0
    with State.open(settings.state.location) as state:
        for event in events:
            if state.add_event(source, event.key, event.kind, event.subject):
                added += 1
            else:
                replayed += 1
    return Verdict(200, added, replayed)
