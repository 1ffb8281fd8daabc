"""A real PostgreSQL for the tests: Debian's `postgresql` package, a throwaway cluster in a temp dir on a
free port. `initdb` refuses to run as root, so the cluster belongs to the `postgres` user and both
`initdb` and `pg_ctl` run as that user (`runuser -u postgres`) when the tests run as root."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    assert found[-1], f"{name} is missing: run scripts/ensure-postgres.sh (make test does)"
    return found[-1]


def _as_postgres(*cmd: str) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else list(cmd)


@contextmanager
def cluster() -> Iterator[str]:
    """A running server; yields a URL for the `postgres` database, as the `postgres` superuser."""
    home = Path(tempfile.mkdtemp(prefix="jobsync-pg-"))
    data = home / "data"
    if os.geteuid() == 0:
        shutil.chown(home, "postgres", "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "check": True}
    subprocess.run(_as_postgres(_bin("initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"), **quiet)
    options = f"-p {port} -k {home} -c listen_addresses=127.0.0.1 -c fsync=off"
    ctl = _bin("pg_ctl")
    subprocess.run(_as_postgres(ctl, "-D", str(data), "-o", options, "-w", "-l", str(home / "log"), "start"), **quiet)
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    _DATA[url] = data
    try:
        yield url
    finally:
        subprocess.run(_as_postgres(ctl, "-D", str(data), "-m", "immediate", "stop"), **quiet)
        shutil.rmtree(home, ignore_errors=True)


_DATA: dict[str, Path] = {}  # a running cluster's data directory, by its URL


def restart(server: str) -> None:
    """Stop the server (fast: open connections are cut) and start it again on the same port."""
    ctl, quiet = _bin("pg_ctl"), {"stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE, "check": True}
    subprocess.run(_as_postgres(ctl, "-D", str(_DATA[server]), "-m", "fast", "-w", "restart"), **quiet)


def fresh_database(server: str) -> str:
    """A new empty database on the server, for one test."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return server.rsplit("/", 1)[0] + "/" + name
