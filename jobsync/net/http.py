"""The one outbound HTTP layer: every request jobsync sends leaves through here.

One factory sets the User-Agent, the Accept header and the timeout, and takes proxies from the
environment (HTTPS_PROXY, NO_PROXY), so a site behind a proxy configures it once for every call,
xero-python's connection pool included (`proxy_for`). Each caller keeps its own retry policy, built
on tenacity: `request_with_retries` is the job systems' (only idempotent methods are retried:
connection errors, 5xx, 429; a create is sent once, because retrying it safely needs an idempotency
key only its caller knows); Xero's lives in `jobsync.xero.retry`; a one-off call uses `send`.
"""

from __future__ import annotations

import collections
import time
import urllib.request
from collections.abc import Callable, MutableMapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import requests
from tenacity import (
    RetryCallState,
    RetryError,
    Retrying,
    retry_if_exception_type,
    retry_if_result,
    stop_after_attempt,
)

from jobsync import __version__ as _version
from jobsync.core.errors import UnreachableError
from jobsync.runtime import progress

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
DEFAULT_TIMEOUT = 30.0  # seconds to connect and, separately, to read
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_WAIT_SECONDS = 60.0  # cap on any single wait: a server asking for an hour is treated as down


class CallCounter:
    """Requests made, by "METHOD /path" — the run report shows these per endpoint."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def add(self, key: str) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())


class RateLimiter:
    """Keeps at most `limit` requests in any rolling `window` seconds (a minute unless told) by waiting before sending.

    Cheaper than meeting a 429: the platform may count refused requests against the daily quota.
    """

    def __init__(
        self,
        limit: int,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        window: float = 60.0,
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._sent: collections.deque[float] = collections.deque()

    def wait(self) -> None:
        now = self._clock()
        while self._sent and now - self._sent[0] >= self.window:
            self._sent.popleft()
        if len(self._sent) >= self.limit:
            pause = self.window - (now - self._sent[0])
            progress.waiting(pause, "the job system's rate limit")
            self._sleep(pause)
            self._sent.popleft()
            now = self._clock()
        self._sent.append(now)


def user_agent() -> str:
    return f"jobsync/{_version}"


def make_session(agent: str | None = None) -> requests.Session:
    """A session with jobsync's headers; requests reads HTTPS_PROXY/NO_PROXY itself (`trust_env`)."""
    session = requests.Session()
    session.headers["User-Agent"] = agent or user_agent()
    session.headers["Accept"] = "application/json"
    return session


def send(method: str, url: str, *, timeout: float = DEFAULT_TIMEOUT, **kw: object) -> requests.Response:
    """One request, sent once: for calls whose caller decides about retrying (token endpoints, alerts).

    Raises requests' own exceptions, which the caller words, because only it knows what was being done.
    """
    with make_session() as session:
        return session.request(method, url, timeout=timeout, **kw)  # type: ignore[arg-type]


def proxy_for(url: str) -> str | None:
    """The proxy the environment names for `url`, or None (also when NO_PROXY covers its host).

    For clients that do not read the environment themselves: xero-python's urllib3 pool.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host or urllib.request.proxy_bypass(host):
        return None
    return urllib.request.getproxies().get(parts.scheme or "https")


def retry_after_seconds(value: str | None, now: datetime | None = None) -> float | None:
    """Parse a Retry-After header: delta-seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _count(counter: CallCounter | MutableMapping[str, int] | None, method: str, url: str) -> None:
    if counter is None:
        return
    key = f"{method} {urlsplit(url).path}"
    if isinstance(counter, CallCounter):
        counter.add(key)
    else:
        counter[key] = counter.get(key, 0) + 1


def _wait_for(response: requests.Response | None, attempt: int) -> float:
    """Seconds to wait before the next attempt: the server's Retry-After, else exponential backoff."""
    if response is not None:
        asked = retry_after_seconds(response.headers.get("Retry-After"))
        if asked is not None:
            return min(asked, MAX_WAIT_SECONDS)
        if response.status_code == 429:
            # A per-minute quota without Retry-After frees up within a minute; short backoffs would
            # burn the remaining attempts while the window is still full.
            return min(5.0 * 2.0**attempt, MAX_WAIT_SECONDS)
    return min(2.0**attempt, MAX_WAIT_SECONDS)


def request_with_retries(
    session: requests.Session,
    method: str,
    url: str,
    *,
    max_retries: int = 4,
    sleep: Callable[[float], None] = time.sleep,
    timeout: float = 30,
    counter: CallCounter | MutableMapping[str, int] | None = None,
    limiter: RateLimiter | None = None,
    platform: str | None = None,
    credentials_setting: str = "source.api_key",
    **kw: object,
) -> requests.Response:
    """Send one request, retrying idempotent ones; return the response (any status but 401/403).

    Raises UnreachableError naming the host (and `platform`, when given) when the server
    cannot be reached after the retries, keeps failing with 5xx/429, or refuses the credentials.
    """
    method = method.upper()
    host = urlsplit(url).netloc or url
    who = f"{platform} ({host})" if platform else host
    attempts = 1 + (max_retries if method in IDEMPOTENT else 0)

    def once() -> requests.Response:
        if limiter is not None:
            limiter.wait()
        _count(counter, method, url)
        response = session.request(method, url, timeout=timeout, **kw)  # type: ignore[arg-type]
        if response.status_code in (401, 403):
            raise UnreachableError(
                f"{who} refused the credentials (HTTP {response.status_code}): check {credentials_setting}"
            )
        return response

    def wait(state: RetryCallState) -> float:
        outcome = state.outcome
        previous = outcome.result() if outcome is not None and not outcome.failed else None
        return _wait_for(previous, state.attempt_number - 1)

    # Only idempotent requests get more than one attempt (see `attempts`), so a POST is never re-sent.
    retrying = Retrying(
        stop=stop_after_attempt(attempts),
        wait=wait,
        retry=retry_if_exception_type((requests.ConnectionError, requests.Timeout))
        | retry_if_result(lambda r: method in IDEMPOTENT and r.status_code in RETRY_STATUSES),
        sleep=progress.announced(sleep, f"{who} is busy or rate-limited; retrying"),
    )
    try:
        return retrying(once)
    except RetryError as gave_up:
        last = gave_up.last_attempt
        if last.failed:
            error = last.exception()
            raise UnreachableError(f"Cannot reach {who} after {attempts} attempt(s): {type(error).__name__}") from error
        status = last.result().status_code
        raise UnreachableError(
            f"{who} still answers HTTP {status} after {attempts} attempts: try again later"
        ) from None


def platform_message(response: requests.Response) -> str:
    """The platform's own words for a refused request, on one line and cut short: its JSON `message`
    (or `error`, `errorMessage`, `Message`), else the start of the body."""
    text = ""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        for key in ("message", "Message", "errorMessage", "error", "detail", "Detail"):
            if isinstance(body.get(key), str) and body[key].strip():
                text = body[key]
                break
    if not text:
        text = response.text or response.reason or ""
    text = " ".join(text.split())
    return (text[:197] + "…" if len(text) > 200 else text) or "no message"
