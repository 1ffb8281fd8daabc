from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from jobsync.core.errors import ExitCode, LockedError
from jobsync.core.models import JobResult, LedgerEntry, LedgerState, Outcome, RunReport
from jobsync.state.store import SCHEMA_VERSION, State, StateError

T0 = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where a state lives: the contract below holds for both backends, so neither can drift."""
    if request.param == "sqlite":
        return str(tmp_path / "state.db")
    from tests.postgres_server import fresh_database

    return fresh_database(request.getfixturevalue("postgres_server"))


@pytest.fixture
def state(location: str):
    s = State.open(location, clock=Clock())
    yield s
    s.close()


def entry(job_id: str, stage: str = "final", key: str = "k1") -> LedgerEntry:
    return LedgerEntry(
        "csv", job_id, stage, f"J{job_id}", LedgerState.IN_FLIGHT, total=Decimal("87.74"), idempotency_key=key
    )


def test_fresh_file_is_migrated_and_private(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "state.db"
    s = State.open(path)
    assert s.schema_version() == SCHEMA_VERSION == 6
    tables = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {
        "schema_version",
        "watermarks",
        "ledger",
        "client_map",
        "holds",
        "runs",
        "actions",
        "cache",
        "client_names",
    } <= tables
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    s.close()
    # Reopening must not re-run migrations (they would fail on existing tables).
    s2 = State.open(path)
    assert s2.schema_version() == SCHEMA_VERSION
    s2.close()


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    State.open(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE schema_version SET version = 99")
    db.commit()
    db.close()
    with pytest.raises(StateError, match="written by a newer jobsync") as refused:
        State.open(path)
    assert refused.value.exit_code == 6


def test_lock_held_makes_other_process_fail(state: State, location: str) -> None:
    code = textwrap.dedent(f"""
        from jobsync.state.store import State
        from jobsync.core.errors import LockedError
        s = State.open({location!r})
        try:
            with s.lock():
                print("GOT")
        except LockedError as e:
            print("LOCKED", e)
    """)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    with state.lock():
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=30)
        assert out.stdout.startswith("LOCKED"), out.stdout + out.stderr
        assert "another jobsync run holds the lock" in out.stdout
        assert str(state.path) in out.stdout
    # Released: the other process now gets it.
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=30)
    assert out.stdout.strip() == "GOT", out.stderr


def test_lock_in_same_process_twice_fails(state: State, location: str) -> None:
    other = State.open(location)
    with state.lock():
        with pytest.raises(LockedError) as err:
            with other.lock():
                pass
        assert err.value.exit_code is ExitCode.LOCKED
    with other.lock():
        pass
    other.close()


def test_watermark_never_moves_back(state: State) -> None:
    assert state.get_watermark("csv") is None
    state.set_watermark("csv", T0)
    state.set_watermark("csv", T0 - timedelta(days=1))
    assert state.get_watermark("csv") == T0
    later = datetime(2026, 11, 4, 8, 0, tzinfo=timezone(timedelta(hours=11)))
    state.set_watermark("csv", later)
    got = state.get_watermark("csv")
    assert got == later and got.utcoffset() == timedelta(0)
    assert state.get_watermark("servicem8") is None


def test_watermark_refuses_naive(state: State) -> None:
    with pytest.raises(ValueError, match="naive"):
        state.set_watermark("csv", datetime(2026, 1, 1))


def test_in_flight_then_confirm_and_never_downgrade(state: State) -> None:
    state.mark_in_flight([entry("1"), entry("2")])
    assert [e.job_id for e in state.in_flight("csv")] == ["1", "2"]
    state.confirm("csv", "1", "final", "J1", "inv-uuid", "INV-0001", Decimal("87.74"))
    state.mark_in_flight([entry("1", key="k2")])  # a confused retry must not undo the confirmation
    got = state.ledger_for("csv", ["1"])[("csv", "1", "final")]
    assert got.state is LedgerState.CONFIRMED
    assert got.invoice_number == "INV-0001" and got.total == Decimal("87.74")
    assert [e.job_id for e in state.in_flight("csv")] == ["2"]
    assert state.in_flight("csv")[0].idempotency_key == "k1"


def test_drop_in_flight_only_drops_in_flight(state: State) -> None:
    state.mark_in_flight([entry("1"), entry("2")])
    state.confirm("csv", "2", "final", "J2", "id2", "INV-2", Decimal("10.00"))
    state.drop_in_flight("csv", "1", "final")
    state.drop_in_flight("csv", "2", "final")
    assert set(state.ledger_for("csv", ["1", "2"])) == {("csv", "2", "final")}


def test_ledger_for_returns_only_requested_rows(state: State) -> None:
    for n in range(1200):  # more than one chunk of bound variables
        state.confirm("csv", str(n), "final", f"J{n}", None, None, Decimal("1.10"))
    state.confirm("other", "5", "final", "X5", None, None, None)
    got = state.ledger_for("csv", ["5", "1100", "nope", "5"])
    assert set(got) == {("csv", "5", "final"), ("csv", "1100", "final")}
    assert got[("csv", "5", "final")].total == Decimal("1.10")
    assert len(state.ledger_for("csv", [str(n) for n in range(1200)])) == 1200
    assert state.ledger_for("csv", []) == {}


def test_forget_and_find_by_reference(state: State) -> None:
    state.confirm("csv", "1", "deposit", "J1-D", "a", "INV-1", Decimal("5"))
    state.confirm("csv", "1", "final", "J1", "b", "INV-2", Decimal("5"))
    assert state.find_by_reference("J1").invoice_id == "b"
    assert state.find_by_reference("nope") is None
    assert state.forget("csv", "1", "final") == 1
    assert state.find_by_reference("J1") is None
    assert state.forget("csv", "1") == 1
    assert state.ledger_for("csv", ["1"]) == {}


def test_client_map(state: State) -> None:
    state.map_client("csv:C1", "contact-1")
    state.map_client("csv:C1", "contact-2")
    state.map_client("csv:C2", "contact-3")
    assert state.client_map(["csv:C1", "csv:C9"]) == {"csv:C1": "contact-2"}


def test_holds_keep_since_and_filter(state: State) -> None:
    clock = state._clock
    state.set_hold("csv", "1", "J1", "held", "no lines")
    clock.now = T0 + timedelta(days=2)  # type: ignore[attr-defined]
    state.set_hold("csv", "1", "J1", "held", "no lines still")
    state.set_hold("csv", "2", "J2", "failed", "Xero said no")
    (h1,) = state.holds(kind="held")
    assert h1.since == T0 and h1.updated_at == T0 + timedelta(days=2) and h1.reason == "no lines still"
    assert [h.job_id for h in state.holds(source="csv")] == ["1", "2"]
    state.clear_hold("csv", "1")
    assert [h.job_id for h in state.holds()] == ["2"]
    with pytest.raises(ValueError):
        state.set_hold("csv", "3", "J3", "bogus", "x")


def test_runs_actions_cache(state: State) -> None:
    report = RunReport("r1", "run", T0, finished_at=T0 + timedelta(seconds=3))
    report.results += [
        JobResult("csv", "1", "J1", Outcome.CREATED),
        JobResult("csv", "2", "J2", Outcome.HELD),
        JobResult("csv", "3", "J3", Outcome.CREATED),
    ]
    state.record_run(report, 1, "reports/r1.json")
    state.record_run(RunReport("r0", "preview", T0 - timedelta(hours=1)), 0, "reports/r0.json")
    runs = state.recent_runs()
    assert [r.run_id for r in runs] == ["r1", "r0"]
    assert (runs[0].created, runs[0].held, runs[0].failed, runs[0].exit_code) == (2, 1, 0, 1)
    assert runs[0].finished_at == T0 + timedelta(seconds=3) and runs[1].finished_at is None
    assert len(state.recent_runs(limit=1)) == 1
    state.record_action("ann", "ignore", "csv", "1", "duplicate job")
    (a,) = state.actions(job_id="1")
    assert (a.who, a.action, a.detail, a.at) == ("ann", "ignore", "duplicate job", T0)
    assert state.cache_get("accounts") is None
    state.cache_put("accounts", "[1]")
    state.cache_put("accounts", "[2]")
    assert state.cache_get("accounts") == "[2]"


def test_failed_write_rolls_back(state: State) -> None:
    with pytest.raises(AttributeError):
        state.mark_in_flight(
            [entry("1"), LedgerEntry("csv", "2", "final", "J2", LedgerState.IN_FLIGHT, total=Decimal("1"))] + [object()]
        )  # type: ignore[list-item]
    assert state.ledger_for("csv", ["1", "2"]) == {}


# -- the tables added since 0.1.0, on both backends -------------------------------------------


def test_inbox_keeps_one_row_per_event_and_counts_attempts(state: State) -> None:
    assert state.add_event("sm8", "e1", "job", "J1") and not state.add_event("sm8", "e1", "job", "J1")
    assert state.add_event("xero", "e2", "invoice", "INV-1")
    first, second = state.pending_events()
    state.settle_events([first.id], "new", "Xero down")
    state.settle_events([second.id], "done")
    (again,) = state.pending_events()
    assert (again.subject, again.attempts) == ("J1", 1) and state.inbox_counts() == {"new": 1, "done": 1}


def test_an_approval_admits_only_the_content_it_named(state: State) -> None:
    state.await_approval("csv", "J1", "final", "1", "fp-a", '{"total": "110.00"}')
    assert not state.approve_draft("csv", "J1", "final", "fp-other", "bea")  # not what is queued
    assert state.approve_draft("csv", "J1", "final", "fp-a", "bea")
    (row,) = state.approvals("csv")
    assert row.admitted and row.approved_by == "bea"
    state.await_approval("csv", "J1", "final", "1", "fp-b", "{}")  # the job changed: planned anew
    (row,) = state.approvals("csv", job_ids=["J1"])
    assert not row.admitted and row.approved == "fp-a"
    state.settle_approvals("csv", [("J1", "final")])
    assert state.approvals() == []


def test_users_and_the_audit_log(state: State) -> None:
    state.put_user("bea", "bookkeeper", "$argon2id$hash-1")
    state.put_user("bea", "viewer", "$argon2id$hash-2")  # updated, not doubled
    user = state.user("bea")
    assert user is not None and (user.role, user.password_hash) == ("viewer", "$argon2id$hash-2")
    assert "hash" not in repr(user) and state.user_names() == [("bea", "viewer")]
    state.audit("bea", "ignore", "csv:J1", {"kind": "held"}, {"kind": "ignored", "note": "50% off"})
    (line,) = state.audit_log("csv:J1")
    assert (line.who, line.action, line.before, line.after["note"]) == ("bea", "ignore", {"kind": "held"}, "50% off")
    assert state.remove_user("bea") and state.user("bea") is None and not state.remove_user("bea")
    with pytest.raises(ValueError):
        state.put_user("sam", "admin", "x")


def test_follow_up_rows_are_replaced_whole_never_doubled(state: State) -> None:
    from jobsync.core.follow_up import InvoiceState

    ledger = LedgerEntry("csv", "J1", "final", "1", LedgerState.CONFIRMED, invoice_id="INV-A")
    total = Decimal("110.00")
    seen = InvoiceState("INV-A", "INV-0001", "1", "AUTHORISED", total, Decimal("0"), total, None, T0)
    assert state.record_invoice_state(ledger, seen) is None
    paid = InvoiceState("INV-A", "INV-0001", "1", "PAID", total, total, Decimal("0"), None, T0)
    assert state.record_invoice_state(ledger, paid) == "AUTHORISED"
    assert state.invoice_status("INV-A") == ("PAID", Decimal("110.00"), Decimal("0"))
    state.mark_attachment("INV-A", "sheet.pdf", "in_flight")
    state.mark_attachment("INV-A", "sheet.pdf", "sent")
    assert state.attachment_states("INV-A") == {"sheet.pdf": "sent"}
    assert not state.link_sent("INV-A", "note")
    state.mark_link("INV-A", "note")
    state.mark_link("INV-A", "note")
    assert state.link_sent("INV-A", "note")
