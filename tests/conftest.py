"""Suite-wide plumbing: every in-process Xero sandbox is checked against Xero's OpenAPI spec.

`XeroSandbox.__init__` is wrapped once, at configure time, so sandboxes made anywhere (a test,
a function fixture, a session fixture) report each exchange to `conformance.validate_exchange`.
Violations are charged to the test running when they happen and fail it at teardown.

Tests that send spec-violating requests on purpose (to see the sandbox refuse them) mark
themselves `@pytest.mark.xero_invalid_requests`: their requests are not checked, their
responses still are. A sandbox started in a subprocess (`jobsync sandbox serve`) is not seen.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from conformance import spec, validate_exchange  # noqa: E402  (needs the path above)

SANDBOX_MODULE = "jobsync.sandbox.xero.server"
INVALID_REQUESTS_MARK = "xero_invalid_requests"


@dataclass
class ConformanceLog:
    """What the validator saw while one test ran."""

    exchanges: int = 0
    violations: list[str] = field(default_factory=list)
    check_requests: bool = True


class _Recorder:
    """Routes exchanges (arriving on sandbox server threads) to the current test's log."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._in_flight = 0
        self.current = ConformanceLog()

    def start_test(self, check_requests: bool) -> ConformanceLog:
        # The log is kept, not replaced: exchanges made before this (in a fixture set up
        # earlier for this test, or a session fixture) are charged to this test, not lost.
        with self._lock:
            self.current.check_requests = check_requests
            return self.current

    def finish_test(self) -> ConformanceLog:
        with self._lock:
            # A sandbox thread may still be validating the test's last exchange (the client can
            # have its answer before the sandbox reports it); let it land in this test's log.
            self._idle.wait_for(lambda: self._in_flight == 0, timeout=2.0)
            done, self.current = self.current, ConformanceLog()
            return done

    def observe(self, exchange: Any) -> None:
        with self._lock:
            log = self.current
            self._in_flight += 1
        try:
            self._check(log, exchange)
        finally:
            with self._lock:
                self._in_flight -= 1
                self._idle.notify_all()

    def _check(self, log: ConformanceLog, exchange: Any) -> None:
        try:
            found = validate_exchange(exchange, check_request=log.check_requests)
        except Exception as exc:  # noqa: BLE001 - a validator crash must surface as a failure, not vanish
            found = [f"{getattr(exchange, 'method', '?')} {getattr(exchange, 'path', '?')}: validator crashed: {exc!r}"]
        with self._lock:
            log.exchanges += 1
            log.violations.extend(found)


RECORDER = _Recorder()


def sandbox_class() -> type | None:
    """`XeroSandbox`, or None while jobsync/sandbox/xero/server.py does not exist yet."""
    if importlib.util.find_spec(SANDBOX_MODULE) is None:
        return None
    return importlib.import_module(SANDBOX_MODULE).XeroSandbox


def _wrap_init(cls: type) -> Callable[..., None]:
    original = cls.__init__
    signature = inspect.signature(original)
    if "on_exchange" not in signature.parameters:
        raise pytest.UsageError(
            f"{SANDBOX_MODULE}.XeroSandbox has no on_exchange parameter: the conformance check cannot observe it"
        )

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        bound = signature.bind(self, *args, **kwargs)
        theirs = bound.arguments.get("on_exchange")

        def on_exchange(exchange: Any) -> None:
            RECORDER.observe(exchange)
            if theirs is not None:
                theirs(exchange)

        bound.arguments["on_exchange"] = on_exchange
        # Load the spec now rather than inside the first request, where its ~0.4 s would
        # stall a sandbox thread and upset timing-sensitive tests.
        spec()
        original(*bound.args, **bound.kwargs)

    __init__.__wrapped__ = original  # type: ignore[attr-defined]
    return __init__


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{INVALID_REQUESTS_MARK}: this test sends spec-violating requests to the Xero "
        "sandbox on purpose; only responses are checked against the spec",
    )
    cls = sandbox_class()
    if cls is not None and not hasattr(cls.__init__, "__wrapped__"):
        cls.__init__ = _wrap_init(cls)


@pytest.fixture(autouse=True)
def conformance_log(request: pytest.FixtureRequest) -> Iterator[ConformanceLog]:
    """The spec check for this test; fails it at teardown if any exchange violated the spec."""
    check_requests = request.node.get_closest_marker(INVALID_REQUESTS_MARK) is None
    yield RECORDER.start_test(check_requests)
    log = RECORDER.finish_test()
    if log.violations:
        listing = "\n".join(f"  - {v}" for v in log.violations)
        pytest.fail(
            f"{len(log.violations)} exchange(s) with the Xero sandbox violate xero_accounting.yaml:\n{listing}",
            pytrace=False,
        )


@pytest.fixture
def conformance_recorder() -> _Recorder:
    """The suite's recorder, for tests of the conformance plumbing itself."""
    return RECORDER


@pytest.fixture
def xero_sandbox() -> Iterator[Any]:
    """A started in-process Xero sandbox on a free loopback port, stopped afterwards."""
    cls = sandbox_class()
    if cls is None:
        raise RuntimeError(f"{SANDBOX_MODULE} does not exist yet")
    sandbox = cls(port=0)
    sandbox.start()
    try:
        yield sandbox
    finally:
        sandbox.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """One real PostgreSQL cluster per test process (see tests/postgres_server.py)."""
    from tests.postgres_server import cluster

    with cluster() as url:
        yield url
