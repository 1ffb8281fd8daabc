"""Crash harness: `jobsync run` as a subprocess, SIGKILLed at a named crash point, then rerun to completion.

One (point, seed) pair is one scenario. The seed decides the jobs (how many, which clients, new
or existing, their lines), whether an earlier clean run already synced some of them, which
occurrence of the point is hit, and whether the first rerun is killed too. The sandbox runs in
this process on a loopback port, so its org outlives every killed jobsync.

Used by tests/test_crash.py (a sample) and scripts/crash.py (the long run).
"""

from __future__ import annotations

import csv
import os
import random
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from jobsync.runtime import crashpoints
from jobsync.samples import csv_header, csv_source, sandbox_config
from jobsync.sandbox.xero import payments as xero_payments
from jobsync.sandbox.xero.server import XeroSandbox
from jobsync.xero import token_store

OAUTH_APP = ("jobsync-crash-app", "crash-secret")
OAUTH_AUTH = {"mode": "oauth", "client_id": OAUTH_APP[0], "client_secret": OAUTH_APP[1]}

ROOT = Path(__file__).resolve().parent.parent
COLUMNS = [
    "job_id",
    "job_number",
    "status",
    "completed_at",
    "client_id",
    "client_name",
    "client_email",
    "line_kind",
    "description",
    "quantity",
    "unit_price",
]
HEADER = csv_header(COLUMNS)
SOURCE = csv_source(keys=COLUMNS, start_from="2026-11-01", timezone="Australia/Sydney", overlap_minutes=1440)
RULES = {
    "lines": [{"name": "labour", "when": {"kind": "labour"}, "account_code": "205", "tax_type": "OUTPUT"}],
    "default": {"account_code": "200", "tax_type": "OUTPUT"},
}

# Clients already in the sandbox's seed org (matched by email), and clients jobsync must create.
EXISTING = [
    ("E1", "Harbour View Cafe Pty Ltd", "accounts@harbourviewcafe.example"),
    ("E2", "Greenleaf Property Management", "ap@greenleafpm.example"),
]
NEW = [(f"N{i}", f"Crash Client {i}", f"crash{i}@client.example") for i in range(1, 5)]


@dataclass(frozen=True)
class Job:
    job_id: str
    number: str
    day: int  # completed on 2026-11-<day>
    client: tuple[str, str, str]
    lines: tuple[tuple[str, str, str, str], ...]  # kind, description, quantity, unit price

    def rows(self) -> list[str]:
        cid, name, email = self.client
        when = f"{self.day:02d}/11/2026 {9 + int(self.job_id[1:]) % 8}:00"
        return [
            f"{self.job_id},{self.number},Completed,{when},{cid},{name},{email},{k},{d},{q},{p}"
            for k, d, q, p in self.lines
        ]


@dataclass(frozen=True)
class Scenario:
    seed: int
    point: str
    occurrence: int
    warmup: tuple[Job, ...]  # synced by a clean run before the crash run
    jobs: tuple[Job, ...]  # added for the crash run
    second: tuple[str, int] | None  # a crash during the first rerun too
    revised: tuple[Job, ...] = ()  # warm-up jobs changed after they were invoiced (replacing theirs)

    @property
    def all_jobs(self) -> tuple[Job, ...]:
        return self.warmup + self.jobs

    @property
    def crash_run_jobs(self) -> tuple[Job, ...]:
        changed = {j.job_id: j for j in self.revised}
        return tuple(changed.get(j.job_id, j) for j in self.warmup) + self.jobs


@dataclass
class Outcome:
    point: str
    seed: int
    fired: bool
    second_fired: bool
    duplicates: list[str] = field(default_factory=list)  # References invoiced more than once
    missing: list[str] = field(default_factory=list)  # job References with no invoice
    problems: list[str] = field(default_factory=list)  # every broken invariant, readable


def _job(rng: random.Random, index: int, day: int, client: tuple[str, str, str]) -> Job:
    lines = tuple(
        (
            rng.choice(["labour", "material"]),
            f"Item {n}",
            str(rng.randint(1, 4)),
            f"{rng.randint(10, 300)}.{rng.randint(0, 99):02d}",
        )
        for n in range(rng.randint(1, 3))
    )
    return Job(f"J{index}", str(1000 + index), day, client, lines)


def _reduced(job: Job, day: int) -> Job:
    """The job with its first line's price halved: a smaller total, to be credited."""
    kind, description, quantity, price = job.lines[0]
    half = f"{Decimal(price) / 2:.2f}"
    return Job(job.job_id, job.number, day, job.client, ((kind, description, quantity, half), *job.lines[1:]))


def scenario(point: str, seed: int) -> Scenario:
    """The seeded scenario for one pair; every choice keeps `point` reachable in the crash run."""
    rng = random.Random(f"{point}/{seed}")
    count = rng.randint(4, 7)
    warm = rng.randint(1, 3) if rng.random() < 0.4 else 0
    clients = [rng.choice(EXISTING + NEW) for _ in range(count)]
    # The crash run must create at least one contact, or after_contact_batch would never fire.
    fresh_new = [c for c in NEW if c not in clients[:warm]]
    if not any(c in fresh_new for c in clients[warm:]):
        clients[rng.randint(warm, count - 1)] = rng.choice(fresh_new)
    jobs = [_job(rng, i + 1, 2 + i * 2, clients[i]) for i in range(count)]
    if point in (crashpoints.AFTER_PAYMENT_WRITE, crashpoints.AFTER_CREDIT_NOTE) and not warm:
        warm = rng.randint(1, 3)  # payments need invoices made before the crash run
    occurrence = rng.randint(1, count - warm) if point == crashpoints.AFTER_INVOICE_CONFIRM else 1
    if point == crashpoints.AFTER_PAYMENT_WRITE:
        occurrence = rng.randint(1, warm)  # one payment per warm-up invoice
    if point == crashpoints.AFTER_ATTACHMENT_UPLOAD:
        occurrence = rng.randint(1, min(count - warm, 10))  # one job sheet per new invoice, 10 a run
    revised = ()
    if point == crashpoints.AFTER_CREDIT_NOTE:
        revised = (_reduced(jobs[0], day=jobs[-1].day + 1),)  # reopened, cut and completed again after invoicing
    second = None
    if rng.random() < 0.3:
        other = rng.choice(crashpoints.POINTS)
        second = (other, 1)
    return Scenario(seed, point, occurrence, tuple(jobs[:warm]), tuple(jobs[warm:]), second, revised)


class Workdir:
    """A config, a CSV and a state file for one scenario, next to a sandbox it points at."""

    def __init__(self, path: Path, sandbox: XeroSandbox, oauth: bool = False) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        (path / "jobsync.yaml").write_text(
            sandbox_config(
                sandbox.api_url,
                sandbox.identity_url,
                sandbox.tenant_id,
                SOURCE,
                RULES,
                auth=OAUTH_AUTH if oauth else None,
                xero={"invoice_status": "AUTHORISED"},  # payable, so payments can come back
                follow_up={"payments_poll_minutes": 0},
                changes={"authorised": "adjust"},  # a cut job's credit note is made in the crash run
            )
        )
        self.log = path / "crash.log"
        if oauth:
            _expired_login(sandbox, path / "state.tokens.toml")

    def write_jobs(self, jobs: tuple[Job, ...]) -> None:
        rows = [row for job in jobs for row in job.rows()]
        (self.path / "jobs.csv").write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")

    def run(self, crash_at: tuple[str, int] | None = None, timeout: float = 60) -> tuple[int, list[str]]:
        """`jobsync run` in a child process; returns its exit status (-9 when killed) and the points it reached."""
        self.log.write_text("")
        env = {k: v for k, v in os.environ.items() if not k.startswith("JOBSYNC_")}
        env["JOBSYNC_CRASH_LOG"] = str(self.log)
        env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
        if crash_at is not None:
            env["JOBSYNC_CRASH_AT"] = f"{crash_at[0]}:{crash_at[1]}"
        proc = subprocess.run(
            [sys.executable, "-m", "jobsync.cli.main", "run", "--config", str(self.path / "jobsync.yaml")],
            cwd=self.path,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if proc.returncode not in (0, -signal.SIGKILL):
            raise AssertionError(f"jobsync run exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
        return proc.returncode, self.log.read_text().split()

    def ledger(self) -> list[tuple[str, str | None, str]]:
        """(reference, invoice_id, state) for every ledger row."""
        with sqlite3.connect(self.path / "state.db") as db:
            return list(db.execute("SELECT reference, invoice_id, state FROM ledger ORDER BY reference"))


def _expired_login(sandbox: XeroSandbox, store: Path) -> None:
    """A stored OAuth login whose access token has expired, so the next run must refresh and save.

    The refresh token is issued by the sandbox's own registry: what `jobsync auth login` would
    have stored, without driving the consent page in every scenario.
    """
    sandbox.add_client(*OAUTH_APP)
    now = sandbox.now()
    with sandbox.lock:
        body = sandbox.auth._issue(OAUTH_APP[0], "offline_access accounting.transactions", now, refresh=True)
    token_store.save(
        store,
        token_store.TokenSet(
            mode="oauth",
            client_id=OAUTH_APP[0],
            access_token=body["access_token"],
            expires_at=now - timedelta(minutes=5),
            scopes=tuple(body["scope"].split()),
            refresh_token=body["refresh_token"],
            refresh_issued_at=now,
            tenant_id=sandbox.tenant_id,
        ),
    )


def pay_every_invoice(sandbox: XeroSandbox) -> list[str]:
    """A part payment on each invoice, as a bookkeeper would record it; returns the PaymentIDs."""
    made = []
    with sandbox.lock:
        for invoice in list(sandbox.state.invoices.values()):
            element = {"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Account": {"Code": "090"}}
            element |= {"Amount": "5.00", "Date": "2026-11-20"}
            payment, problems = xero_payments.write(sandbox.state, element, sandbox.now())
            assert not problems, problems
            made.append(payment["PaymentID"])
    return made


def follow_up_problems(sandbox: XeroSandbox, work: Workdir, paid: list[str]) -> list[str]:
    """Each payment written back once; no file attached twice to one invoice."""
    path = work.path / "payments.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8"))) if path.exists() else []
    written = Counter(r["payment_id"] for r in rows if r["kind"] == "payment")
    problems = [f"payment {p} written {written[p]} times" for p in paid if written[p] != 1]
    notes = Counter(n["Reference"] for n in sandbox.state.extra.get("credit_notes", {}).values())
    problems += [f"credit note {r} made {n} times" for r, n in notes.items() if n > 1]
    kept = sandbox.state.extra.get("attachments", {})
    for invoice_id, attached in kept.items():
        names = Counter(a["FileName"] for a in attached)
        problems += [f"{name} attached {n} times to {invoice_id}" for name, n in names.items() if n > 1]
    return problems


def check(sandbox: XeroSandbox, work: Workdir, jobs: tuple[Job, ...]) -> tuple[list[str], list[str], list[str]]:
    """(duplicates, missing, problems): exactly-once, no duplicate contacts, ledger equals sandbox."""
    invoices = [i for i in sandbox.invoices() if i.get("Status") not in ("DELETED", "VOIDED")]
    refs = Counter(i.get("Reference") for i in invoices)
    wanted = {j.number for j in jobs}
    duplicates = sorted(r for r, n in refs.items() if n > 1)
    missing = sorted(wanted - set(refs))
    problems = [f"invoiced {refs[r]} times: {r}" for r in duplicates] + [f"never invoiced: {r}" for r in missing]
    problems += [f"invoice for no job: {r}" for r in sorted(set(refs) - wanted)]
    names = Counter(c["Name"] for c in sandbox.contacts())
    problems += [f"contact {n!r} exists {k} times" for n, k in names.items() if k > 1]
    by_ref = {i.get("Reference"): i["InvoiceID"] for i in invoices}
    ledger = work.ledger()
    problems += [f"ledger row {r} still {s}" for r, _, s in ledger if s != "confirmed"]
    if {r: i for r, i, _ in ledger} != by_ref:
        problems.append(f"ledger {sorted((r, i) for r, i, _ in ledger)} != sandbox {sorted(by_ref.items())}")
    return duplicates, missing, problems


def run_pair(point: str, seed: int, base: Path) -> Outcome:
    """Warm up, crash at the point, maybe crash the rerun, rerun to completion, then check."""
    plan = scenario(point, seed)
    with XeroSandbox(port=0) as sandbox:
        oauth = point == crashpoints.DURING_TOKEN_SAVE
        work = Workdir(base / f"{point}-{seed}", sandbox, oauth=oauth)
        if plan.warmup:
            work.write_jobs(plan.warmup)
            assert work.run()[0] == 0, "warm-up run failed"
            if oauth:  # the warm-up refreshed the token; let it expire again so the crash run refreshes
                _expired_login(sandbox, work.path / "state.tokens.toml")
        paid = pay_every_invoice(sandbox) if plan.warmup else []
        work.write_jobs(plan.crash_run_jobs)
        code, seen = work.run((point, plan.occurrence))
        fired = code == -signal.SIGKILL and seen[-1:] == [point] and seen.count(point) == plan.occurrence
        problems = [] if fired else [f"{point}:{plan.occurrence} did not fire (reached {seen})"]
        second_fired = False
        if plan.second is not None:
            code, seen = work.run(plan.second)
            second_fired = code == -signal.SIGKILL
        code, _ = work.run()
        duplicates, missing, broken = check(sandbox, work, plan.all_jobs)
        problems += broken + follow_up_problems(sandbox, work, paid)
        if code != 0:
            problems.append(f"the final run exited {code}")
    return Outcome(point, seed, fired, second_fired, duplicates, missing, problems)
