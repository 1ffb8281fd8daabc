"""The ServiceM8 emulator's writes: job payments, notes and attachments, as the spec describes them.

- `POST /{resource}.json` creates a record. The caller may choose its `uuid` ("UUID is optional for
  record creation"); a POST naming a uuid that exists updates that record. The uuid goes back in
  `x-record-uuid`.
- `POST /{resource}/{uuid}.json` updates; `DELETE /{resource}/{uuid}.json` sets `active` to 0.
- `GET /Attachment/{uuid}.file` serves an attachment's bytes. [UNVERIFIED] see the connector.

Standard library only, like the rest of the emulator.
"""

from __future__ import annotations

import json
import re
from typing import Any, Protocol

from jobsync.sandbox.loopback import Reply, json_reply, text_reply

WRITABLE = ("jobpayment", "note", "attachment")
DEFAULTS: dict[str, dict[str, Any]] = {
    "jobpayment": {"active": 1, "job_uuid": "", "timestamp": "", "amount": "0.00", "method": "", "note": ""},
    "note": {"active": 1, "related_object": "job", "related_object_uuid": "", "note": ""},
    "attachment": {
        "active": 1,
        "related_object": "job",
        "related_object_uuid": "",
        "attachment_name": "",
        "file_type": "",
        "attachment_source": "",
    },
}
_RECORD = re.compile(r"/api_1\.0/([a-z]+)(?:/([0-9a-fA-F-]+))?\.json")
_FILE = re.compile(r"/api_1\.0/Attachment/([0-9a-fA-F-]+)\.file")


class Store(Protocol):
    records: dict[str, dict[str, dict[str, Any]]]
    files: dict[str, bytes]

    def put(self, resource: str, **fields: Any) -> str: ...


def write(store: Store, method: str, path: str, body: bytes) -> Reply:
    found = _RECORD.fullmatch(path.split("?", 1)[0])
    if not found or found.group(1) not in WRITABLE:
        return text_reply(404, "Not Found")
    resource, uid = found.groups()
    if method == "DELETE":
        if not uid or uid not in store.records[resource]:
            return text_reply(404, "Not Found")
        store.put(resource, uuid=uid, active=0)
        return json_reply({"errorCode": 0, "message": "OK"})
    if method != "POST":
        return text_reply(405, "Method Not Allowed")
    try:
        fields = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return json_reply({"errorCode": 400, "message": "Invalid JSON"}, 400)
    if not isinstance(fields, dict):
        return json_reply({"errorCode": 400, "message": "Body must be a JSON object"}, 400)
    if uid and uid not in store.records[resource]:
        return text_reply(404, "Not Found")
    problem = _refusal(resource, fields)
    if problem:
        return json_reply({"errorCode": 400, "message": problem}, 400)
    fields = {k: v for k, v in fields.items() if k != "edit_date"}  # read-only, as the spec marks it
    if uid:
        fields["uuid"] = uid
    record_uuid = store.put(resource, **fields)
    status, headers, reply = json_reply({"errorCode": 0, "message": "OK"})
    return status, {**headers, "x-record-uuid": record_uuid}, reply


def _refusal(resource: str, fields: dict[str, Any]) -> str | None:
    if resource == "jobpayment":
        try:
            float(str(fields.get("amount", "")))
        except ValueError:
            return "amount must be a number"
        if not fields.get("job_uuid") and "uuid" not in fields:
            return "job_uuid is required"
    return None


def read_file(store: Store, path: str) -> Reply | None:
    """The bytes of an attachment, or None when `path` is not a file download."""
    found = _FILE.fullmatch(path.split("?", 1)[0])
    if not found:
        return None
    data = store.files.get(found.group(1))
    if data is None:
        return text_reply(404, "Not Found")
    return 200, {"Content-Type": "application/octet-stream"}, data
