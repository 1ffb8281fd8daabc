"""What hangs off one invoice: attachments, history notes and the online invoice link.

Attachments follow Xero's documented limits: at most 10 a document and 10 MB a file. A second PUT of
a file name already attached adds another attachment (the sandbox is deliberately unforgiving, so a
client that does not list before it uploads shows up as a duplicate). Only a hash and the size of each
file are kept, so a persisted sandbox stays small.
"""

from __future__ import annotations

import hashlib
import mimetypes
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import quote, unquote

from jobsync.sandbox.xero.encoding import loads, ms_date
from jobsync.sandbox.xero.store import OrgState, snapshot

MAX_ATTACHMENTS = 10
MAX_BYTES = 10 * 1024 * 1024
ONLINE_STATUSES = ("AUTHORISED", "PAID")


def attachments(state: OrgState, invoice_id: str) -> list[dict[str, Any]]:
    kept: dict[str, list[dict[str, Any]]] = state.extra.setdefault("attachments", {})
    return kept.setdefault(invoice_id, [])


def attach(
    state: OrgState, invoice: dict[str, Any], file_name: str, body: bytes, include_online: bool
) -> tuple[int, dict[str, Any] | str]:
    """(200, attachment) or (status, Xero's message)."""
    name = unquote(file_name)
    listed = attachments(state, invoice["InvoiceID"])
    if not body:
        return 400, "The file is empty"
    if len(body) > MAX_BYTES:
        return 413, "The file exceeds the maximum size of 10 MB"
    if len(listed) >= MAX_ATTACHMENTS:
        return 400, "A maximum of 10 attachments can be added to a document"
    attachment_id = str(uuid.uuid4())
    attachment = {
        "AttachmentID": attachment_id,
        "FileName": name,
        "Url": f"https://api.xero.com/api.xro/2.0/Invoices/{invoice['InvoiceID']}/Attachments/{quote(name)}",
        "MimeType": mimetypes.guess_type(name)[0] or "application/octet-stream",
        "ContentLength": len(body),
        "IncludeOnline": include_online,
        "Sha256": hashlib.sha256(body).hexdigest(),
    }
    listed.append(attachment)
    invoice["HasAttachments"] = True
    return 200, shown(attachment)


def shown(attachment: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in attachment.items() if k != "Sha256"}


def history(state: OrgState, invoice_id: str) -> list[dict[str, Any]]:
    kept: dict[str, list[dict[str, Any]]] = state.extra.setdefault("history", {})
    return kept.setdefault(invoice_id, [])


def add_history(state: OrgState, invoice: dict[str, Any], body: bytes, now: datetime) -> tuple[int, Any]:
    """PUT /Invoices/{id}/History: {"HistoryRecords": [{"Details": "..."}]}."""
    try:
        data = loads(body or b"{}")
    except ValueError:
        return 400, "Invalid JSON in request body"
    records = data.get("HistoryRecords") if isinstance(data, dict) else None
    if not isinstance(records, list) or not records:
        return 400, "HistoryRecords must be a non-empty list"
    added = []
    for record in records:
        details = str((record or {}).get("Details") or "").strip() if isinstance(record, dict) else ""
        if not details:
            return 400, "The Details of a history note must not be empty"
        if len(details) > 2500:
            return 400, "A history note may be at most 2500 characters"
        added.append({"Changes": "Note", "DateUTC": ms_date(now), "User": "jobsync app", "Details": details})
    history(state, invoice["InvoiceID"]).extend(added)
    return 200, [snapshot(r) for r in added]


def online_invoice(invoice: dict[str, Any]) -> tuple[int, Any]:
    if invoice["Status"] not in ONLINE_STATUSES:
        return 400, "An online invoice is only available for approved invoices"
    token = hashlib.sha256(invoice["InvoiceID"].encode()).hexdigest()[:24]
    return 200, [{"OnlineInvoiceUrl": f"https://in.xero.com/{token}"}]


def attachment_named(state: OrgState, invoice_id: str, name: str) -> dict[str, Any] | None:
    wanted = unquote(name).casefold()
    return next((a for a in attachments(state, invoice_id) if a["FileName"].casefold() == wanted), None)
