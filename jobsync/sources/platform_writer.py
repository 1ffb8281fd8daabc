"""The HTTP side every job-system writer shares: its session, call counter, rate limit and error wording."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests

from jobsync.core.errors import UnreachableError
from jobsync.net.http import CallCounter, RateLimiter, make_session, platform_message, request_with_retries


class PlatformWriter:
    """`_call` sends one request through the shared retry policy and refuses any status not in `ok`."""

    platform = ""  # the name people know the platform by, for messages

    def __init__(
        self,
        base_url: str,
        headers: dict[str, str],
        limiter: RateLimiter,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = session or make_session()
        self._session.headers.update(headers)
        self._sleep = sleep
        self._counter = CallCounter()
        self._limiter = limiter

    @property
    def calls(self) -> dict[str, int]:
        return dict(self._counter.counts)

    def _call(self, method: str, path: str, ok: tuple[int, ...] = (200,), json: Any = None) -> requests.Response:
        response = request_with_retries(
            self._session,
            method,
            f"{self.base_url}/{path}",
            sleep=self._sleep,
            counter=self._counter,
            limiter=self._limiter,
            platform=self.platform,
            json=json,
        )
        if response.status_code not in ok:
            raise UnreachableError(
                f"{self.platform} answered HTTP {response.status_code} for {method} {path}:"
                f" {platform_message(response)}"
            )
        return response
