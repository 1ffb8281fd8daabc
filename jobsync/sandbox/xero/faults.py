"""Scripted faults for tests: fail, delay or drop the next matching requests."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

DROP_BEFORE = "drop"  # close the connection without processing the request
DROP_AFTER = "drop_after"  # process (commit) the request, then close without answering: the lost response
INJECTED = "Injected fault"


def validation_fault() -> dict[str, Any]:
    """An injected 400 as Xero sends one: the spec's Error shape, which operations declaring 400 are checked against."""
    return {
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": [{"ValidationErrors": [{"Message": INJECTED}]}],
    }


@dataclass
class Fault:
    method: str  # "*" for any
    path_prefix: str
    action: int | str  # an HTTP status, DROP_BEFORE or DROP_AFTER
    remaining: int
    delay: float = 0.0
    retry_after: int = 1

    def matches(self, method: str, path: str) -> bool:
        return (self.method in ("*", method.upper())) and path.startswith(self.path_prefix)


class Faults:
    """`sb.faults.fail_next("PUT", "/api.xro/2.0/Invoices", status="drop_after")`."""

    def __init__(self) -> None:
        self._rules: list[Fault] = []
        self._lock = threading.Lock()

    def fail_next(
        self,
        method: str = "*",
        path_prefix: str = "/",
        status: int | str = 503,
        count: int = 1,
        delay: float = 0.0,
        retry_after: int = 1,
    ) -> None:
        if not (isinstance(status, int) or status in (DROP_BEFORE, DROP_AFTER)):
            raise ValueError(f"status must be an HTTP status, {DROP_BEFORE!r} or {DROP_AFTER!r}")
        with self._lock:
            self._rules.append(Fault(method.upper(), path_prefix, status, count, delay, retry_after))

    def delay_next(self, method: str = "*", path_prefix: str = "/", seconds: float = 0.5, count: int = 1) -> None:
        """Answer normally but late (status 0 means: no failure, only the delay)."""
        with self._lock:
            self._rules.append(Fault(method.upper(), path_prefix, 0, count, seconds))

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def take(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for rule in self._rules:
                if rule.matches(method, path):
                    rule.remaining -= 1
                    if rule.remaining <= 0:
                        self._rules.remove(rule)
                    return rule
        return None

    def from_json(self, data: dict[str, Any]) -> None:
        """The control endpoint's body: {"method", "path", "status", "count", "delay"}."""
        status = data.get("status", 503)
        if status == "delay":
            self.delay_next(
                str(data.get("method", "*")),
                str(data.get("path", "/")),
                float(data.get("delay", 0.5)),
                int(data.get("count", 1)),
            )
            return
        self.fail_next(
            str(data.get("method", "*")),
            str(data.get("path", "/")),
            int(status) if str(status).isdigit() else str(status),
            int(data.get("count", 1)),
            float(data.get("delay", 0.0)),
            int(data.get("retry_after", 1)),
        )
