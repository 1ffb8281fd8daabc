"""How `state.db` beside this file was made: with jobsync 0.1.0's own State class (commit 51c0aa0).

    git worktree add /tmp/v010 51c0aa0
    python -c "import sys, runpy; sys.path.insert(0, '/tmp/v010'); sys.argv[1:] = ['tests/data/v0_1_0/state.db'];
               runpy.run_path('tests/data/v0_1_0/make_state.py', run_name='__main__')"

(sys.path first, because an editable install of the current jobsync would otherwise win over PYTHONPATH.)

It holds what a 0.1.0 user's state file holds after a few runs: a confirmed invoice (job 1001), an
in-flight create whose response was lost (job 1002), a held job (1003), an ignored job (1005), a
client map row, a run row, a bookkeeper's action and the watermark. Do not regenerate it with newer
code: its point is to be what 0.1.0 wrote.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from jobsync.core.models import LedgerEntry, LedgerState
from jobsync.state.store import State

AT = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def main(path: Path) -> None:
    path.unlink(missing_ok=True)
    with State.open(path, clock=lambda: AT) as state:
        state.confirm("csv", "J1001", "final", "1001", "inv-0001-fixture", "INV-0001", Decimal("110.00"))
        state.mark_in_flight(
            [
                LedgerEntry(
                    "csv",
                    "J1002",
                    "final",
                    "1002",
                    LedgerState.IN_FLIGHT,
                    total=Decimal("110.00"),
                    idempotency_key="jobsync-csv-J1002-final-fixture",
                )
            ]
        )
        state.set_hold("csv", "J1003", "1003", "held", "job has no client name")
        state.set_hold("csv", "J1005", "1005", "ignored", "warranty job, never bill")
        state.record_action("bookkeeper", "ignore", "csv", "J1005", "warranty job, never bill")
        state.set_watermark("csv", datetime(2026, 11, 20, 23, 0, tzinfo=UTC))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
