"""The way back to an in-house or generic REST job system: requests built from templates in the config.

`follow_up.rest.payment` (and optionally `reversal` and `note`) give a method, a path under
`source.base_url` and a JSON body, with placeholders filled per payment: {job_id} {job_number}
{payment_id} {record_uuid} {amount} {paid_on} {method} {invoice_number} (and {text} for a note). Each
request carries `Idempotency-Key: <record uuid>`: a receiver that honours it (the usual contract of an
idempotent REST API) turns a retry after a crash into an answer, not a second payment. jobsync cannot
read back what an unknown API stored, so `payment_present` is always False and the key is what holds.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import requests

from jobsync.core.errors import UnreachableError
from jobsync.core.follow_up import PaymentForJob, note_uuid
from jobsync.net.http import CallCounter, make_session, platform_message, request_with_retries
from jobsync.sources.rest_transport import Authenticator, RestAuth
from jobsync.sources.write_back import NoJobFiles

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


@dataclass(frozen=True)
class RequestTemplate:
    method: str
    path: str
    body: dict[str, Any] | None = None


def fill(template: Any, values: dict[str, str]) -> Any:
    """Placeholders replaced in every string of `template` (JSON-shaped); unknown ones are left as written."""
    if isinstance(template, str):
        return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)
    if isinstance(template, dict):
        return {k: fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, values) for v in template]
    return template


class RestWriteBack(NoJobFiles):
    writes_payments = True

    def __init__(
        self,
        base_url: str,
        auth: RestAuth,
        payment: RequestTemplate,
        *,
        reversal: RequestTemplate | None = None,
        note: RequestTemplate | None = None,
        name: str = "rest",
        session: requests.Session | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.name = name
        self.payment, self.reversal, self.note = payment, reversal, note
        self.can_reverse = reversal is not None
        self._session = session or make_session()
        self._counter = CallCounter()
        self._auth = Authenticator(auth, self._session, name, self._counter.counts)

    @property
    def calls(self) -> dict[str, int]:
        return dict(self._counter.counts)

    def _send(self, template: RequestTemplate, values: dict[str, str], key: str) -> None:
        path = fill(template.path, values)
        body = fill(template.body, values) if template.body is not None else None
        headers = {**self._auth.headers(), "Idempotency-Key": key, "Content-Type": "application/json"}
        response = request_with_retries(
            self._session,
            template.method,
            f"{self.base_url}/{path.lstrip('/')}",
            counter=self._counter,
            platform=self.name,
            headers=headers,
            data=json.dumps(body).encode() if body is not None else None,
        )
        if response.status_code >= 300:
            raise UnreachableError(
                f"{self.name} answered HTTP {response.status_code} for {template.method} {path}:"
                f" {platform_message(response)}; check follow_up.rest"
            )

    def payment_present(self, item: PaymentForJob) -> bool:
        return False

    def write_payment(self, item: PaymentForJob) -> None:
        self._send(self.payment, item.values(), item.record_uuid)

    def reverse_payment(self, item: PaymentForJob) -> None:
        if self.reversal is None:
            raise UnreachableError("follow_up.rest.reversal is not set")
        self._send(self.reversal, item.values(), note_uuid("reversal", item.payment.payment_id))

    def add_note(self, job_id: str, key: str, text: str) -> bool:
        if self.note is None:
            return False
        self._send(self.note, {"job_id": job_id, "text": text}, note_uuid("note", key))
        return True
