"""What one doctor check found, and the report they add up to."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

OK, FAIL, WARN, SKIP = "ok", "fail", "warn", "skip"


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # OK / FAIL / WARN (worth knowing, not fatal) / SKIP (a prerequisite failed)
    detail: str = ""
    fix: str = ""


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)
    # Called with each check as it completes, so a terminal shows progress on slow network checks.
    listener: Callable[[Check], None] | None = None

    @property
    def ok(self) -> bool:
        return not any(c.status == FAIL for c in self.checks)

    def add(self, check: Check) -> None:
        self.checks.append(check)
        if self.listener is not None:
            self.listener(check)
