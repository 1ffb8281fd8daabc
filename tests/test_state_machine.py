"""A hypothesis state machine over add jobs / fault / run (maybe crashing) / rerun, in process.

Crashes are simulated: `crashpoints.simulate` makes the chosen point raise SimulatedCrash, a
BaseException that unwinds like a kill (open SQLite transactions roll back, nothing after the
point runs). Faults are scripted in the sandbox. After every step nothing may be invoiced twice
and the ledger may only name invoices Xero has; at teardown the faults are cleared and one
clean rerun must bring every job to exactly one invoice, with the ledger equal to the sandbox.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from jobsync.app.sync_run import sync
from jobsync.config.settings import load_settings
from jobsync.core.errors import ExitCode, JobsyncError
from jobsync.runtime import crashpoints
from jobsync.sandbox.xero.server import XeroSandbox
from jobsync.xero.client import XeroClient
from tests.crash_harness import EXISTING, NEW, Job, Workdir

API = "/api.xro/2.0"
FAULTS = st.sampled_from(
    [
        ("PUT", f"{API}/Invoices", 503),
        ("PUT", f"{API}/Invoices", "drop_after"),
        ("PUT", f"{API}/Invoices", "drop"),
        ("PUT", f"{API}/Contacts", 503),
        ("PUT", f"{API}/Contacts", "drop_after"),
        ("GET", f"{API}/Invoices", 503),
        ("*", f"{API}/", 429),
        ("PUT", f"{API}/Invoices", 429),
    ]
)
# Drawn through a Random: sampled_from leans hard to the first points, and every point matters.
CRASHES = st.tuples(st.randoms(use_true_random=False).map(lambda r: r.choice(crashpoints.POINTS)), st.integers(1, 2))
CLIENTS = st.sampled_from(EXISTING + NEW)
LINES = st.lists(
    st.tuples(
        st.sampled_from(["labour", "material"]),
        st.just("Work"),
        st.integers(1, 3).map(str),
        st.integers(10, 400).map(lambda n: f"{n}.50"),
    ),
    min_size=1,
    max_size=2,
).map(tuple)

FIRED: Counter[str] = Counter()  # crash points that really fired, across all examples


class ExactlyOnce(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="jobsync-sm-"))
        self.sandbox = XeroSandbox(port=0).start()
        self.work = Workdir(self.tmp, self.sandbox)
        self.jobs: list[Job] = []
        self.work.write_jobs(())

    def _run(self, crash: tuple[str, int] | None) -> ExitCode | str:
        settings_ = load_settings(self.work.path / "jobsync.yaml")
        gateway = XeroClient(self.sandbox.api_url, self.sandbox.tenant_id, lambda: "sandbox", sleep=lambda s: None)
        crashpoints.simulate(*crash) if crash else crashpoints.simulate(None)
        try:
            return sync(settings_, apply=True, gateway=gateway).result.exit_code
        except crashpoints.SimulatedCrash as killed:
            FIRED[killed.point] += 1
            return "killed"
        except JobsyncError as exc:  # a stopped or unreachable run: exit 3 or 5, work left for the next
            return exc.exit_code
        finally:
            crashpoints.simulate(None)

    @initialize(jobs=st.lists(st.tuples(CLIENTS, LINES), min_size=2, max_size=4))
    def some_jobs(self, jobs: list[tuple[tuple[str, str, str], tuple[tuple[str, str, str, str], ...]]]) -> None:
        for client, lines in jobs:
            self.add_job(client, lines)

    @rule(client=CLIENTS, lines=LINES)
    def add_job(self, client: tuple[str, str, str], lines: tuple[tuple[str, str, str, str], ...]) -> None:
        n = len(self.jobs) + 1
        self.jobs.append(Job(f"J{n}", str(3000 + n), 2 + n, client, lines))
        self.work.write_jobs(tuple(self.jobs))

    @rule(fault=FAULTS, count=st.integers(1, 6))
    def fault(self, fault: tuple[str, str, int | str], count: int) -> None:
        method, path, status = fault
        self.sandbox.faults.fail_next(method, path, status=status, count=count, retry_after=0)

    @rule(crash=CRASHES, client=CLIENTS, lines=LINES)
    def crash(
        self, crash: tuple[str, int], client: tuple[str, str, str], lines: tuple[tuple[str, str, str, str], ...]
    ) -> None:
        # A new job first, so the killed run has a contact and an invoice to be half-way through.
        self.add_job(client, lines)
        self._run(crash)

    @rule()
    def rerun(self) -> None:
        self._run(None)

    @invariant()
    def nothing_invoiced_twice_and_the_ledger_names_only_real_invoices(self) -> None:
        invoices = self.sandbox.invoices()
        refs = Counter(i["Reference"] for i in invoices)
        assert all(n == 1 for n in refs.values()), refs
        assert set(refs) <= {j.number for j in self.jobs}
        names = Counter(c["Name"] for c in self.sandbox.contacts())
        assert all(n == 1 for n in names.values()), names
        by_ref = {i["Reference"]: i["InvoiceID"] for i in invoices}
        if (self.work.path / "state.db").exists():
            for ref, invoice_id, state in self.work.ledger():
                assert state == "in_flight" or by_ref.get(ref) == invoice_id, (ref, invoice_id, state)

    def teardown(self) -> None:
        try:
            self.sandbox.faults.clear()
            code = self._run(None)
            assert code is ExitCode.OK, code
            refs = Counter(i["Reference"] for i in self.sandbox.invoices())
            assert refs == Counter(j.number for j in self.jobs)  # every job exactly once, none skipped
            ledger = self.work.ledger()
            assert {r: (i, s) for r, i, s in ledger} == {
                i["Reference"]: (i["InvoiceID"], "confirmed") for i in self.sandbox.invoices()
            }
            self.nothing_invoiced_twice_and_the_ledger_names_only_real_invoices()
        finally:
            self.sandbox.stop()
            shutil.rmtree(self.tmp, ignore_errors=True)


def test_runs_faults_and_crashes_never_bill_twice_and_a_rerun_bills_everything() -> None:
    FIRED.clear()
    run_state_machine_as_test(
        ExactlyOnce,
        settings=settings(
            max_examples=30,
            stateful_step_count=10,
            derandomize=True,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            database=None,
        ),
    )
    # The machine must actually have killed runs at several different points.
    assert len(FIRED) >= 4, FIRED
