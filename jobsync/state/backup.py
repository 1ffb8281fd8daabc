"""A consistent copy of the state file, and putting one back.

Copying the file with `cp` while a run writes can capture half a transaction; SQLite's online
backup API copies a consistent snapshot page by page instead. Both copies are mode 0600 because
the ledger holds client names and invoice ids. Restore takes the run lock, so it never swaps the
ledger under a running sync.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from jobsync.core.errors import ConfigError
from jobsync.state.lock import run_lock
from jobsync.state.store import SCHEMA_VERSION, State


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    schema_version: int
    ledger_rows: int
    size_bytes: int


def _create_private(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def inspect(path: Path) -> BackupInfo:
    """Schema version and ledger size of a state file; ConfigError when it is not one."""
    if not path.is_file():
        raise ConfigError(f"{path} does not exist", ["give the path of a jobsync state file or backup"])
    try:
        # Read-only URI: inspecting a file must not create or change it.
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            version = int(conn.execute("SELECT version FROM schema_version").fetchone()[0])
            rows = int(conn.execute("SELECT COUNT(*) FROM ledger").fetchone()[0])
        finally:
            conn.close()
    except (sqlite3.DatabaseError, TypeError):
        raise ConfigError(f"{path} is not a jobsync state file", ["check the path"]) from None
    return BackupInfo(path, version, rows, path.stat().st_size)


def _copy(source: sqlite3.Connection, dest_path: Path) -> None:
    dest = sqlite3.connect(str(dest_path))
    try:
        source.backup(dest)
    finally:
        dest.close()


def backup(state_path: Path, dest: Path, *, force: bool = False) -> BackupInfo:
    """Snapshot the state file to `dest` (0600) while runs may still be using it."""
    if not state_path.is_file():
        raise ConfigError(f"no state file at {state_path}", ["check state.path in the config; nothing ran yet?"])
    if dest.exists() and not force:
        raise ConfigError(f"{dest} already exists", ["choose another path or pass --force"])
    if dest.resolve() == state_path.resolve():
        raise ConfigError("the backup path is the state file itself", ["choose another path"])
    if dest.exists():
        dest.unlink()
    _create_private(dest)
    source = sqlite3.connect(f"file:{state_path}?mode=ro", uri=True)
    try:
        _copy(source, dest)
    finally:
        source.close()
    return inspect(dest)


def restore(backup_path: Path, state_path: Path) -> BackupInfo:
    """Replace the state file's contents with a backup's, holding the run lock meanwhile."""
    info = inspect(backup_path)
    if info.schema_version > SCHEMA_VERSION:
        raise ConfigError(
            f"{backup_path} has schema version {info.schema_version}, newer than this jobsync ({SCHEMA_VERSION})",
            ["upgrade jobsync before restoring it"],
        )
    if backup_path.resolve() == state_path.resolve():
        raise ConfigError("the backup path is the state file itself", ["choose the backup file"])
    # The state file is never opened as a database here: restore exists for the file that is too
    # damaged to open. The backup is copied to a private file beside it, then renamed over it.
    staging = state_path.with_name(state_path.name + ".restoring")
    with run_lock(state_path):
        if staging.exists():
            staging.unlink()
        _create_private(staging)
        source = sqlite3.connect(f"file:{backup_path}?mode=ro", uri=True)
        try:
            _copy(source, staging)
        finally:
            source.close()
        _fsync(staging)
        for leftover in ("-journal", "-wal", "-shm"):  # they belong to the damaged file, not the backup
            state_path.with_name(state_path.name + leftover).unlink(missing_ok=True)
        os.replace(staging, state_path)
        _fsync(state_path.parent)
    # State.open migrates an older backup's schema, so a restored file is current.
    with State.open(state_path):
        pass
    return inspect(state_path)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
