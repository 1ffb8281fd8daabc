"""Named crash points: places where a test may kill jobsync to prove a rerun still bills exactly once.

`reach(name)` is called at each point. It does nothing unless the environment asks:

- `JOBSYNC_CRASH_AT=name[:n]` kills the process with SIGKILL the n-th time (default 1st) that
  point is reached, so no `finally`, no atexit and no SQLite commit gets to run.
- `JOBSYNC_CRASH_LOG=path` appends each reached point's name to `path` (one per line, written
  before any kill), so a harness can prove the point it aimed at actually fired.

In-process tests use `simulate(name, n)` instead: the n-th reach raises `SimulatedCrash`, a
BaseException so none of jobsync's own `except` clauses swallow it.

- `JOBSYNC_PAUSE_AT=name[:n]` with `JOBSYNC_PAUSE_FILE=path` pauses instead of killing: at that reach
  the process creates `path` and waits (up to 120 s) until the test deletes it, so a test can act
  against a run caught mid-batch (a second process's control, a SIGTERM) and then let it go on.
"""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

AFTER_FETCH = "after_fetch"  # jobs read from the source, nothing written anywhere yet
AFTER_CONTACT_BATCH = "after_contact_batch"  # contacts exist in Xero, the client map not yet written
BEFORE_INVOICE_BATCH = "before_invoice_batch"  # ledger rows marked in flight, request not sent
AFTER_INVOICE_RESPONSE = "after_invoice_response"  # Xero created the invoices, no ledger row confirmed
AFTER_INVOICE_CONFIRM = "after_invoice_confirm"  # one invoice's ledger row confirmed (reached per invoice)
AFTER_INVOICE_BATCH = "after_invoice_batch"  # the whole batch confirmed in the ledger
DURING_WATERMARK_WRITE = "during_watermark_write"  # inside the watermark transaction, before COMMIT
DURING_TOKEN_SAVE = "during_token_save"  # a rotated token set received from Xero, not yet saved (OAuth only)
AFTER_PAYMENT_WRITE = "after_payment_write"  # a payment written to the job system, not yet recorded as written
AFTER_ATTACHMENT_UPLOAD = "after_attachment_upload"  # a file attached to the invoice, not yet recorded as sent
AFTER_CREDIT_NOTE = "after_credit_note"  # a credit note (or extra invoice) made in Xero, not yet recorded

POINTS: tuple[str, ...] = (
    AFTER_FETCH,
    AFTER_CONTACT_BATCH,
    BEFORE_INVOICE_BATCH,
    AFTER_INVOICE_RESPONSE,
    AFTER_INVOICE_CONFIRM,
    AFTER_INVOICE_BATCH,
    DURING_WATERMARK_WRITE,
    DURING_TOKEN_SAVE,
    AFTER_PAYMENT_WRITE,
    AFTER_ATTACHMENT_UPLOAD,
    AFTER_CREDIT_NOTE,
)

ENV_AT = "JOBSYNC_CRASH_AT"
ENV_LOG = "JOBSYNC_CRASH_LOG"
ENV_PAUSE_AT = "JOBSYNC_PAUSE_AT"
ENV_PAUSE_FILE = "JOBSYNC_PAUSE_FILE"
PAUSE_LIMIT_SECONDS = 120


class SimulatedCrash(BaseException):  # noqa: N818 - it stands for a kill, not an error
    """Raised by `reach` under `simulate`: the in-process stand-in for SIGKILL."""

    def __init__(self, point: str) -> None:
        super().__init__(point)
        self.point = point


def parse(spec: str) -> tuple[str, int]:
    """`name` or `name:n` → (name, n); unknown names are refused so a typo cannot silently never fire."""
    name, _, count = spec.partition(":")
    if name not in POINTS:
        raise ValueError(f"unknown crash point {name!r}; known: {', '.join(POINTS)}")
    n = int(count) if count else 1
    if n < 1:
        raise ValueError(f"crash point occurrence must be 1 or more, got {n}")
    return name, n


class _Plan:
    """What this process was asked to do; `active` is False in normal runs, keeping reach() one check."""

    def __init__(self) -> None:
        self.target: tuple[str, int] | None = None
        self.log: str | None = None
        self.simulated = False
        self.seen: Counter[str] = Counter()
        self.pause: tuple[str, int] | None = None
        self.pause_file: str | None = None

    @property
    def active(self) -> bool:
        return self.target is not None or self.log is not None or self.pause is not None


_plan = _Plan()


def configure(env: dict[str, str] | None = None) -> None:
    """Read JOBSYNC_CRASH_AT / JOBSYNC_CRASH_LOG (done once at import)."""
    env = dict(os.environ) if env is None else env
    _plan.target = parse(env[ENV_AT]) if env.get(ENV_AT) else None
    _plan.log = env.get(ENV_LOG) or None
    _plan.simulated = False
    _plan.seen.clear()
    _plan.pause = parse(env[ENV_PAUSE_AT]) if env.get(ENV_PAUSE_AT) and env.get(ENV_PAUSE_FILE) else None
    _plan.pause_file = env.get(ENV_PAUSE_FILE) or None


def simulate(name: str | None, n: int = 1) -> None:
    """Arm an in-process crash at the n-th reach of `name` (None disarms); counts start afresh."""
    _plan.target = parse(f"{name}:{n}") if name else None
    _plan.log = None
    _plan.simulated = name is not None
    _plan.seen.clear()


def reached() -> Counter[str]:
    """How often each point was reached since the last configure/simulate (in-process tests)."""
    return Counter(_plan.seen)


def reach(name: str) -> None:
    """Mark that execution passed `name`; kill here if this is the armed occurrence."""
    if not _plan.active:
        return
    _plan.seen[name] += 1
    if _plan.log is not None:
        with open(_plan.log, "a", encoding="utf-8") as handle:
            handle.write(f"{name}\n")
    if _plan.target is not None and _plan.target == (name, _plan.seen[name]):
        if _plan.simulated:
            raise SimulatedCrash(name)
        os.kill(os.getpid(), signal.SIGKILL)
    if _plan.pause is not None and _plan.pause == (name, _plan.seen[name]) and _plan.pause_file:
        _wait_for_release(_plan.pause_file)


def _wait_for_release(path: str) -> None:
    with open(path, "w", encoding="utf-8") as marker:
        marker.write(f"{os.getpid()}\n")
    deadline = time.monotonic() + PAUSE_LIMIT_SECONDS
    while os.path.exists(path) and time.monotonic() < deadline:
        time.sleep(0.02)


configure()
