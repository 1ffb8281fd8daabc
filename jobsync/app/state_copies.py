"""`jobsync state backup|restore`: a consistent copy of the configured state file, and putting one back."""

from __future__ import annotations

from pathlib import Path

from jobsync.config.settings import Settings
from jobsync.core.errors import ConfigError
from jobsync.state import backup as copies
from jobsync.state.backup import BackupInfo

__all__ = ["BackupInfo", "backup", "inspect", "restore"]


def _sqlite_only(settings: Settings, what: str) -> None:
    if settings.state.url:
        raise ConfigError(
            f"`jobsync state {what}` copies a SQLite state file; this config keeps its state in PostgreSQL",
            ["use PostgreSQL's own tools: pg_dump to back up, pg_restore to put a dump back"],
        )


def backup(settings: Settings, dest: Path, force: bool) -> BackupInfo:
    _sqlite_only(settings, "backup")
    return copies.backup(settings.state.path, dest, force=force)


def inspect(path: Path) -> BackupInfo:
    """What a backup holds, read without changing it: shown before the person confirms a restore."""
    return copies.inspect(path)


def restore(settings: Settings, path: Path) -> BackupInfo:
    _sqlite_only(settings, "restore")
    return copies.restore(path, settings.state.path)
