"""The service's worker thread: a pass that keeps failing (a practice database gone, a dead API) is
retried with a growing pause, so the log gets a line per try, not four a second."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from oauth_support import settings_for

from jobsync.sandbox.xero.server import XeroSandbox
from jobsync.state.store import State
from jobsync.web.metrics import Metrics
from jobsync.web.service import PracticeOrg, Worker


def test_a_failing_pass_backs_off_instead_of_logging_four_times_a_second(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with XeroSandbox() as sb:
        settings = settings_for(tmp_path, sb)
    with State.open(settings.state.location) as state:  # a webhook waits: the service must queue its run
        state.add_event(settings.source.name, "event-1", "job", "J1")
    gone = PracticeOrg("postgresql://nobody@127.0.0.1:9/none?connect_timeout=1", "acme")
    worker = Worker(settings, Metrics(), practice=gone)
    with caplog.at_level(logging.WARNING, logger="jobsync.web.service"):
        worker.start()
        time.sleep(3.5)
        worker.stopping.set()
        worker.join(timeout=10)
    tries = [r for r in caplog.records if r.getMessage() == "worker pass stopped"]
    # Without the back-off: 14 tries in 3.5 s. With it: waits of 0.5, 1, 2 s between tries.
    assert 2 <= len(tries) <= 4, len(tries)
