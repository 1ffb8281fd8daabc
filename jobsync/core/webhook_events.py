"""Webhook payloads → the events jobsync keeps: what changed, and the key that makes a replay one event.

Pure: bytes in, values out. A body that is not the shape the platform documents yields no event
(and the receiver answers 400), never an exception.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Event:
    key: str  # unique per event: its id, or a digest of (resource, time)
    kind: str  # "job" or "invoice"
    subject: str  # the job's id in the job system, or the InvoiceID
    tenant: str | None = None  # Xero events: the organisation


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def _digest(*parts: object) -> str:
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:32]


def servicem8(body: bytes) -> list[Event] | None:
    """ServiceM8 object webhooks ({"object": "job", "entry": [{"uuid", "changed_fields", "time"}]}) and
    event webhooks (the spec's WebhookEvent: {"event_type": "job.completed", "timestamp", "data": {"uuid"}},
    or `eventName` as some deliveries name it); None for anything else."""
    data = _json(body)
    if not isinstance(data, dict):
        return None
    if isinstance(data.get("entry"), list) and str(data.get("object", "")).lower() == "job":
        found = []
        for entry in data["entry"]:
            if isinstance(entry, dict) and entry.get("uuid"):
                uid = str(entry["uuid"])
                found.append(Event(_digest("sm8", uid, entry.get("time")), "job", uid))
        return found
    name = str(data.get("event_type") or data.get("eventName") or data.get("event") or "")
    job = (data.get("data") or {}).get("uuid") if isinstance(data.get("data"), dict) else None
    if name.startswith("job.") and job:
        event_id = data.get("eventId") or data.get("id") or _digest(name, job, data.get("timestamp"))
        return [Event(f"sm8:{event_id}", "job", str(job))]
    return None


def servicem8_signature(body: bytes) -> str | None:
    """An event webhook's `metadata.signature`, when it carries one (object webhooks carry none)."""
    data = _json(body)
    meta = data.get("metadata") if isinstance(data, dict) else None
    value = meta.get("signature") if isinstance(meta, dict) else None
    return str(value) if value else None


def signed(name: str, body: bytes) -> list[Event] | None:
    """The generic receiver: {"id": "...", "job_id": "..."} (or a list of them)."""
    data = _json(body)
    items = data if isinstance(data, list) else [data]
    found = []
    for item in items:
        if not isinstance(item, dict) or not item.get("job_id"):
            return None
        key = str(item.get("id") or _digest(name, item["job_id"], item.get("time")))
        found.append(Event(f"{name}:{key}", "job", str(item["job_id"])))
    return found


def xero(body: bytes) -> list[Event] | None:
    """Xero's {"events": [...], "firstEventSequence", "lastEventSequence", "entropy"}; INVOICE events only."""
    data = _json(body)
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        return None
    found = []
    for e in data["events"]:
        if not isinstance(e, dict):
            continue
        if str(e.get("eventCategory", "")).upper() != "INVOICE" or not e.get("resourceId"):
            continue
        key = _digest("xero", e.get("tenantId"), e["resourceId"], e.get("eventDateUtc"), e.get("eventType"))
        found.append(Event(key, "invoice", str(e["resourceId"]), str(e.get("tenantId") or "")))
    return found
