"""`make drills`: a practice under stress, end to end, on a real PostgreSQL and real worker processes.

1. 4 workers over 50 orgs (3 jobs each): every org's jobs invoiced once.
2. SIGKILL the worker running a (slowed) org mid-run: another worker finishes it after the stalled-run
   retry, with no duplicate invoice.
3. Restart PostgreSQL while workers are busy: they carry on, and nothing is duplicated or lost.
4. A cron tick (`jobsync orgs run`) and a webhook to `jobsync serve --org` for one org at the same
   moment: one run queued, one invoice.

Exits non-zero when any promise breaks. Prints one line per drill.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import requests
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.postgres_server import cluster, restart  # noqa: E402
from tests.practice_rig import Practice, practice  # noqa: E402

SECRET = "drill-webhook-secret"


def _duplicates(p: Practice) -> int:
    return sum(n - 1 for refs in p.invoiced().values() for n in Counter(refs).values() if n > 1)


def _complete(p: Practice, jobs: int) -> bool:
    return all(len(set(refs)) == jobs for refs in p.invoiced().values())


def many_orgs(server: str, tmp: Path) -> bool:
    with practice(tmp / "many", server, orgs=50, jobs=3) as p:
        started = time.monotonic()
        for _ in range(4):
            p.start_worker(concurrency=2)
        done = p.wait_for(lambda: _complete(p, 3), 600)
        took = time.monotonic() - started
        dup = _duplicates(p)
    said = "all invoiced" if done else "NOT all invoiced"
    print(f"drill 1: 4 workers, 50 orgs x 3 jobs: {said} in {took:.0f} s, {dup} duplicates")
    return done and dup == 0


def _in_flight(p: Practice, org: str) -> bool:
    work, _ = p.orgs[org]
    db = work.path / "state.db"
    if not db.exists():
        return False
    with sqlite3.connect(db) as conn:
        return bool(conn.execute("SELECT count(*) FROM ledger WHERE state = 'in_flight'").fetchone()[0])


def killed_worker(server: str, tmp: Path) -> bool:
    with practice(tmp / "killed", server, orgs=1, jobs=3) as p:
        _, xero = p.orgs["org0"]
        xero.sandbox.faults.delay_next("PUT", "/api.xro/2.0/Invoices", seconds=8)
        victim = p.start_worker()
        reached = p.wait_for(lambda: _in_flight(p, "org0"), 60)
        victim.kill()
        victim.wait()
        started = time.monotonic()
        p.start_worker()
        done = p.wait_for(lambda: _complete(p, 3), 180)
        dup = _duplicates(p)
        took = time.monotonic() - started
    print(f"drill 2: SIGKILL mid-run (in flight {reached}): done elsewhere {done} in {took:.0f} s, {dup} duplicates")
    return reached and done and dup == 0


def restarted_database(server: str, tmp: Path) -> bool:
    with practice(tmp / "restart", server, orgs=10, jobs=3) as p:
        for _ in range(2):
            p.start_worker(concurrency=2)
        p.wait_for(lambda: sum(len(r) for r in p.invoiced().values()) >= 6, 120)
        restart(server)
        done = p.wait_for(lambda: _complete(p, 3), 300)
        alive = sum(w.poll() is None for w in p.workers)
        dup = _duplicates(p)
    print(f"drill 3: PostgreSQL restarted mid-run: all invoiced {done}, workers up {alive} of 2, {dup} duplicates")
    return done and dup == 0


def _queued_runs(p: Practice, org: str) -> int:
    import psycopg

    with psycopg.connect(p.url) as conn:
        found = conn.execute("SELECT count(*) FROM procrastinate_jobs WHERE queueing_lock = %s", (org,)).fetchone()
    return int(found[0]) if found else 0


def tick_and_webhook(server: str, tmp: Path) -> bool:
    """A cron entry's `jobsync orgs run` and a webhook to `jobsync serve --org`, fired at one moment."""
    os.environ["DRILL_SIGNED_SECRET"] = SECRET
    with practice(tmp / "tick", server, orgs=1, jobs=1, every=1440) as p:
        work, org = p.orgs["org0"]
        config = yaml.safe_load(work.config.read_text())
        config["serve"] = {"signed": {"drill": {"secret": "${DRILL_SIGNED_SECRET}", "header": "X-Hub-Signature"}}}
        work.config.write_text(yaml.safe_dump(config))
        with p.serve(work.config, "org0") as url:
            body = json.dumps({"id": "tick-1", "job_id": "J1"}).encode()
            signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
            start, said = threading.Barrier(2), []

            def webhook() -> None:
                start.wait()
                sent = requests.post(f"{url}/webhooks/signed/drill", data=body, headers={"X-Hub-Signature": signature})
                said.append(f"webhook HTTP {sent.status_code}")

            def tick() -> None:
                start.wait()
                said.append(p.cli("orgs", "run", "org0").output.strip())

            both = [threading.Thread(target=webhook), threading.Thread(target=tick)]
            for thread in both:
                thread.start()
            for thread in both:
                thread.join()
            time.sleep(3)  # the service forwards its inbox four times a second
            queued = _queued_runs(p, "org0")
        p.start_worker()
        done = p.wait_for(lambda: p.invoiced() == {"org0": ["1"]}, 60)
        invoices = len(org.invoices())
    print(f"drill 4: a cron tick and a webhook at once ({'; '.join(sorted(said))}): {queued} run queued,", end=" ")
    print(f"all invoiced {done}, {invoices} invoice")
    return queued == 1 and done and invoices == 1 and "webhook HTTP 200" in said


def main() -> int:
    with cluster() as server, tempfile.TemporaryDirectory() as tmp:
        results = [
            tick_and_webhook(server, Path(tmp)),
            killed_worker(server, Path(tmp)),
            restarted_database(server, Path(tmp)),
            many_orgs(server, Path(tmp)),
        ]
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
