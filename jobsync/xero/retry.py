"""The one place that decides whether a Xero request is retried, and what a failure means.

Safe to retry: every GET, and a create (PUT/POST) that is re-sent with the same
body and the same Idempotency-Key, which Xero answers from its cache instead of
creating twice. The caller guarantees the latter by building the body once.

The retry loop itself is tenacity's; this module supplies what is Xero-specific:
which failures are worth another attempt, how long each wants (Retry-After, or
jittered exponential backoff), when to stop cleanly instead, and what each final
failure means for the run. `sleep` is injected so tests never wait.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

import urllib3
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from xero_python.exceptions import ApiException, HTTPStatusException

from jobsync.core.errors import (
    JobsyncError,
    RejectedError,
    RetriableError,
    StoppedError,
    UnconfirmedError,
    UnreachableError,
)
from jobsync.net import http
from jobsync.runtime import progress, tally
from jobsync.xero import wire

T = TypeVar("T")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass
class RetryPolicy:
    max_retries: int = 4
    sleep: Callable[[float], None] = time.sleep
    base_backoff: float = 0.5  # seconds before the first retry of a 5xx / dropped connection
    max_backoff: float = 30.0
    max_retry_after: float = 120.0  # a 429 asking for longer than this stops the run (exit 5)
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, attempt: int) -> float:
        # Full-jitter-lite: between half and all of the exponential step, so parallel
        # cron jobs against one tenant do not retry in lockstep.
        step = min(self.max_backoff, self.base_backoff * (2.0**attempt))
        return step * (0.5 + self.rng.random() / 2)


def headers_of(error: ApiException) -> Mapping[str, str]:
    return {k.lower(): v for k, v in (error.headers or {}).items()}


def retry_after_seconds(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Retry-After as seconds from a header mapping (lower-case names, as `headers_of` gives)."""
    return http.retry_after_seconds(headers.get("retry-after"), now)


def _body_messages(error: ApiException) -> list[str]:
    try:
        payload = wire.decode(error.body or b"")
    except ValueError:
        text = (error.body or b"").decode("utf-8", "replace").strip()
        return [text] if text else []
    return wire.whole_request_errors(payload)


def refusal(error: HTTPStatusException, label: str, url: str) -> JobsyncError:
    """A final (not retried) HTTP status as the error the user sees."""
    status = error.status
    messages = _body_messages(error)
    detail = f": {messages[0]}" if messages else ""
    if status == 401:
        return UnreachableError(
            f"Xero refused the token (401) for {label} at {url}{detail}; run `jobsync auth login`",
            messages,
        )
    if status == 403:
        return UnreachableError(
            f"Xero answered 403 for {label}: the tenant is not granted to this token{detail}; "
            "check `xero.tenant_id` or run `jobsync auth login` to connect the organisation",
            messages,
        )
    return RejectedError(f"Xero rejected {label} ({status}){detail}", messages)


def reconciled_how(label: str) -> str:
    """What the next run does about a create whose fate is unknown, in the words that fit it."""
    if "Contacts" in label:
        return "the next run finds contacts by their ContactNumber before creating any"
    return "the next run reconciles by Reference before creating anything; do not create it by hand"


def _exhausted(label: str, url: str, create: bool, last: str) -> JobsyncError:
    if last == "HTTP 429":
        # Xero rejects a rate-limited request before processing it: nothing was created.
        return StoppedError(f"Xero kept answering 429 (rate limit) to {label}; the next run continues")
    if create:
        return RetriableError(
            f"{label} failed after retries ({last}); Xero may or may not have created it: {reconciled_how(label)}",
        )
    return RetriableError(f"{label} at {url} failed after retries ({last}); try again later")


def _retriable(error: BaseException) -> bool:
    if isinstance(error, HTTPStatusException):
        return error.status in RETRY_STATUSES
    return isinstance(error, (urllib3.exceptions.HTTPError, ApiException))


def run(
    policy: RetryPolicy,
    attempt: Callable[[], T],
    *,
    label: str,
    url: str,
    create: bool,
    observe: Callable[[Mapping[str, str]], None] = lambda headers: None,
) -> T:
    """Call `attempt` until it succeeds, a final answer arrives, or retries run out."""

    reached = False  # whether any attempt may have reached Xero (only a refused connection proves not)

    def once() -> T:
        nonlocal reached
        try:
            return attempt()
        except HTTPStatusException as error:
            reached = True
            observe(headers_of(error))
            if error.status not in RETRY_STATUSES:
                raise refusal(error, label, url) from error  # a final answer: not retried
            raise
        except urllib3.exceptions.NewConnectionError:
            raise
        except BaseException:
            reached = True
            raise

    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        n = state.attempt_number - 1
        if isinstance(error, HTTPStatusException):
            return _wait_for_status(policy, error.status, headers_of(error), n, label)  # may stop the run
        return policy.backoff(n)

    retrying = Retrying(
        stop=stop_after_attempt(policy.max_retries + 1),
        wait=wait,
        retry=retry_if_exception(_retriable),
        sleep=progress.announced(policy.sleep, "Xero asked to wait (busy or rate-limited), then retrying"),
        reraise=True,
    )
    try:
        return retrying(once)
    except urllib3.exceptions.NewConnectionError as error:
        if create and reached:
            # This attempt was refused, but an earlier one may have landed: its fate is unknown.
            raise UnconfirmedError(
                f"Xero went away during {label} ({error}); an earlier attempt may have landed: {reconciled_how(label)}"
            ) from error
        # Nothing was sent, so even a create is safe; but a refused port rarely heals in seconds.
        raise UnreachableError(f"cannot reach Xero at {url} ({label}): {error}") from error
    except HTTPStatusException as error:
        raise _exhausted(label, url, create, f"HTTP {error.status}") from error
    except (urllib3.exceptions.HTTPError, ApiException) as error:
        raise _exhausted(label, url, create, f"{type(error).__name__}: {error}") from error


def _wait_for_status(policy: RetryPolicy, status: int, headers: Mapping[str, str], n: int, label: str) -> float:
    asked = retry_after_seconds(headers)
    if status == 429:
        tally.add(tally.XERO_RATE_LIMITED)
        problem = headers.get("x-rate-limit-problem", "unknown")
        if problem.lower() in ("day", "daily"):
            # Xero's day limit resets hours away: no run should wait for it (legacy docs say "Daily").
            raise StoppedError(
                f"Xero's day rate limit for this organisation was reached during {label}. Nothing is lost: "
                "the next run continues once Xero's day resets (see xero.daily_call_budget)",
            )
        if asked is not None and asked > policy.max_retry_after:
            raise StoppedError(
                f"Xero's {problem} rate limit was reached during {label}; it asks to wait {asked:.0f}s, "
                f"more than the {policy.max_retry_after:.0f}s allowed. Nothing is lost: "
                "the next run continues",
            )
        return asked if asked is not None else policy.backoff(n)
    # A 5xx's Retry-After is a hint; never let it park a cron run for long.
    return min(asked, policy.max_backoff) if asked is not None else policy.backoff(n)
