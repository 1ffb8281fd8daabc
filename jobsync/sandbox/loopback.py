"""What the emulators share: a server run from a thread (`ThreadedServer`) and, for the job-system
emulators (ServiceM8, simPRO, AroFlo), a `LoopbackServer` base and its replies.

A `LoopbackServer` runs a `ThreadingHTTPServer` on 127.0.0.1 in a daemon thread and hands every GET to
`handle(path, headers)`, which returns a `Reply`; it also keeps the rolling window of accepted requests
the emulators rate-limit with. Each emulator keeps its own quirks; only this plumbing lives here.

Standard library only: it must not share code with the connectors the emulators check.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

HOST = "127.0.0.1"

Reply = tuple[int, dict[str, str], bytes]  # (status, headers, body)


def json_reply(data: Any, status: int = 200, content_type: str = "application/json") -> Reply:
    # A fresh headers dict each time: callers add headers (Retry-After...) to the reply they get.
    return status, {"Content-Type": content_type}, json.dumps(data).encode()


def text_reply(status: int, message: str) -> Reply:
    return status, {"Content-Type": "text/plain; charset=utf-8"}, message.encode()


class ThreadedServer:
    """start()/stop()/`with` for an emulator served from a daemon thread on 127.0.0.1.

    Subclasses give `_handler()`, the request handler class; it reaches the emulator as `server.app`.
    A short poll interval makes stop() quick: the tests start and stop many emulators.
    """

    port: int = 0  # 0 picks a free port; start() records the real one
    poll_interval = 0.05
    _server: ThreadingHTTPServer | None = None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    def start(self) -> Self:
        server = ThreadingHTTPServer((HOST, self.port), self._handler())
        server.daemon_threads = True
        server.app = self  # type: ignore[attr-defined]
        self._server = server
        self.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, args=(self.poll_interval,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class LoopbackServer(ThreadedServer):
    """An emulator on loopback. Use as a context manager or start()/stop(); subclasses implement `handle`."""

    base_path = "/"  # appended to the origin to give `url`, the connector's `source.base_url`
    disable_nagle = True  # keep-alive replies must not wait on delayed ACKs

    def __init__(self, port: int = 0, clock: Callable[[], float] | None = None) -> None:
        self.port = port  # 0 picks a free port; start() records the real one
        self.clock = clock or time.monotonic
        self._accepted: deque[float] = deque()  # clock times of the requests inside the rate window
        self._lock = threading.RLock()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        return _handler_for(self)

    @property
    def origin(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.origin}{self.base_path}"

    def wait_for_interrupt(self) -> None:  # pragma: no cover - manual use from each emulator's main()
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass

    # -- serving ---------------------------------------------------------------------------------

    def handle(self, path: str, headers: dict[str, str]) -> Reply:
        """Answer one GET (`headers` with lower-case names): (status, headers, body)."""
        raise NotImplementedError

    def handle_write(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply:
        """Answer a POST, PATCH or DELETE; emulators of read-only APIs refuse them all."""
        return text_reply(405, "Method Not Allowed")

    def _window_full(self, now: float, limit: int, window: float) -> bool:
        """Forget requests older than `window` seconds; True when `limit` of them are still inside it."""
        while self._accepted and now - self._accepted[0] >= window:
            self._accepted.popleft()
        return len(self._accepted) >= limit

    def _rate_exceeded(self, limit: int, window: float) -> bool:
        """True when the window is full; otherwise the request is counted in it."""
        now = self.clock()
        if self._window_full(now, limit, window):
            return True
        self._accepted.append(now)
        return False


def _handler_for(server: LoopbackServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = server.disable_nagle

        def do_GET(self) -> None:  # noqa: N802
            headers = {k.lower(): v for k, v in self.headers.items()}
            # Looked up per request, so a test may swap `handle` on a running emulator.
            self._reply(*server.handle(self.path, headers))

        def _write(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._reply(*server.handle_write(self.command, self.path, headers, body))

        do_POST = do_PATCH = do_PUT = do_DELETE = _write  # noqa: N815 - http.server's naming

        def _reply(self, status: int, extra: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for key, value in extra.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:  # keep test output quiet
            pass

    return Handler
