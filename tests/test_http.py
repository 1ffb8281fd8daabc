"""jobsync.net.http against a scripted loopback server: retries, Retry-After, credentials, counting."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from jobsync.core.errors import UnreachableError
from jobsync.net.http import CallCounter, RateLimiter, make_session, request_with_retries, retry_after_seconds


class Scripted:
    """A server answering each request with the next (status, headers, body) of a script."""

    def __init__(self) -> None:
        self.script: list[tuple[int, dict[str, str], str]] = []
        self.seen: list[tuple[str, str, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                outer.seen.append((self.command, self.path, dict(self.headers)))
                status, headers, body = outer.script.pop(0) if outer.script else (200, {}, "ok")
                data = body.encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()


@pytest.fixture
def server() -> Iterator[Scripted]:
    s = Scripted()
    yield s
    s.server.shutdown()
    s.server.server_close()


def test_session_sends_user_agent_and_accepts_json(server: Scripted) -> None:
    request_with_retries(make_session("jobsync-test/1"), "GET", server.url + "/x")
    headers = server.seen[0][2]
    assert headers["User-Agent"] == "jobsync-test/1"
    assert headers["Accept"] == "application/json"


def test_get_retries_5xx_and_429_honouring_retry_after(server: Scripted) -> None:
    server.script = [(503, {}, "down"), (429, {"Retry-After": "7"}, "slow down"), (200, {}, "fine")]
    waits: list[float] = []
    counts: dict[str, int] = {}
    resp = request_with_retries(make_session(), "GET", server.url + "/job.json?a=1", sleep=waits.append, counter=counts)
    assert resp.status_code == 200 and resp.text == "fine"
    assert waits == [1.0, 7.0]  # backoff after the 503, the server's Retry-After after the 429
    assert counts == {"GET /job.json": 3}


def test_retry_after_understands_seconds_and_http_dates() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    assert retry_after_seconds(format_datetime(now + timedelta(seconds=30), usegmt=True), now) == 30
    assert retry_after_seconds(" 12 ") == 12
    assert retry_after_seconds("junk") is None
    assert retry_after_seconds(None) is None


def test_huge_retry_after_is_capped(server: Scripted) -> None:
    server.script = [(429, {"Retry-After": "86400"}, "per day exceeded")]
    waits: list[float] = []
    request_with_retries(make_session(), "GET", server.url, sleep=waits.append)
    assert waits == [60.0]


def test_gives_up_with_one_line_naming_the_host(server: Scripted) -> None:
    server.script = [(500, {}, "boom")] * 3
    counter = CallCounter()
    with pytest.raises(UnreachableError) as exc:
        request_with_retries(
            make_session(),
            "GET",
            server.url,
            max_retries=2,
            sleep=lambda s: None,
            counter=counter,
            platform="ServiceM8",
        )
    message = str(exc.value)
    assert "\n" not in message
    assert "127.0.0.1" in message and "ServiceM8" in message and "500" in message
    assert counter.total == 3


@pytest.mark.parametrize("status", [401, 403])
def test_refused_credentials_are_not_retried(server: Scripted, status: int) -> None:
    server.script = [(status, {}, "no")]
    with pytest.raises(UnreachableError, match="refused the credentials.*check source.api_key"):
        request_with_retries(make_session(), "GET", server.url, sleep=lambda s: None)
    assert len(server.seen) == 1


def test_post_is_never_retried(server: Scripted) -> None:
    server.script = [(503, {}, "down"), (200, {}, "fine")]
    resp = request_with_retries(make_session(), "POST", server.url, sleep=lambda s: None, data=b"{}")
    assert resp.status_code == 503
    assert len(server.seen) == 1


def test_connection_refused_retries_then_raises() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    waits: list[float] = []
    with pytest.raises(UnreachableError, match=f"Cannot reach 127.0.0.1:{port}"):
        request_with_retries(
            make_session(), "GET", f"http://127.0.0.1:{port}/", max_retries=2, sleep=waits.append, timeout=2
        )
    assert waits == [1.0, 2.0]


def test_rate_limiter_waits_once_the_minute_is_full() -> None:
    now = [0.0]
    waits: list[float] = []

    def sleep(s: float) -> None:
        waits.append(s)
        now[0] += s

    limiter = RateLimiter(3, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        limiter.wait()
        now[0] += 1
    limiter.wait()  # fourth request at t=3 must wait until t=60, when the first leaves the window
    assert waits == [57.0]
    limiter.wait()  # t=60: second request (t=1) still inside the window
    assert waits == [57.0, 1.0]
