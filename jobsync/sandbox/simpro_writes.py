"""The simPRO emulator's one write: `PATCH /jobs/{ID}` changing a job's Notes (HTML allowed).

simPRO answers a successful PATCH with 204 and no body. Any column but Notes is refused here, since
the pass back never writes another.
"""

from __future__ import annotations

import json
from typing import Any

from jobsync.sandbox.loopback import Reply, json_reply


def patch_job(jobs: dict[int, dict[str, Any]], company_id: int, method: str, path: str, body: bytes, now: str) -> Reply:
    prefix = f"/api/v1.0/companies/{company_id}/jobs/"
    if method != "PATCH" or not path.startswith(prefix):
        return _error(405 if path.startswith(prefix) else 404, "Not found")
    key = path[len(prefix) :].strip("/")
    job = jobs.get(int(key)) if key.isdigit() else None
    if job is None:
        return _error(404, "Job not found")
    try:
        fields = json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return _error(400, "Invalid JSON")
    if not isinstance(fields, dict) or set(fields) != {"Notes"} or not isinstance(fields["Notes"], str):
        return _error(422, "Only Notes may be changed in this sandbox")
    job["Notes"] = fields["Notes"]
    job["DateModified"] = now
    return 204, {}, b""


def _error(status: int, message: str) -> Reply:
    return json_reply({"errors": [{"message": message}]}, status)
