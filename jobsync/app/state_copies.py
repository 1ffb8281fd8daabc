"""`jobsync state backup|restore`: a consistent copy of the configured state file, and putting one back."""

from __future__ import annotations

from pathlib import Path

from jobsync.config.settings import Settings
from jobsync.state import backup as copies
from jobsync.state.backup import BackupInfo

__all__ = ["BackupInfo", "backup", "inspect", "restore"]


def backup(settings: Settings, dest: Path, force: bool) -> BackupInfo:
    return copies.backup(settings.state.path, dest, force=force)


def inspect(path: Path) -> BackupInfo:
    """What a backup holds, read without changing it: shown before the person confirms a restore."""
    return copies.inspect(path)


def restore(settings: Settings, path: Path) -> BackupInfo:
    return copies.restore(path, settings.state.path)
