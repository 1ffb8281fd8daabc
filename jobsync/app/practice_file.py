"""A practice's orgs listed in one file, added in one go (`jobsync orgs load practice.yaml`):

    orgs:
      - {name: acme, config: acme/jobsync.yaml, every: 15}
      - {name: bolt, config: /srv/jobsync/bolt.yaml}

A config path is relative to the file. Every entry and every org's config is checked before any is
added, so a file with one mistake adds nothing and names each problem with its entry.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from jobsync.app import practice
from jobsync.config.settings import load_settings
from jobsync.core.errors import ConfigError

DEFAULT_EVERY = 15


def load(url: str, path: Path) -> list[practice.Org]:
    problems: list[str] = []
    found: list[tuple[str, Path, int]] = []
    for n, entry in enumerate(_entries(path), 1):
        where = f"{path} orgs[{n}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: each org is a mapping with name, config and every")
            continue
        name, config, every = entry.get("name"), entry.get("config"), entry.get("every", DEFAULT_EVERY)
        unknown = sorted(set(entry) - {"name", "config", "every"})
        if unknown:
            problems.append(f"{where}: unknown key(s) {', '.join(unknown)}")
        said = practice.entry_problems(name, every)
        if not said and name in [f[0] for f in found]:
            said.append(f"{name!r} is listed twice")
        problems += [f"{where}: {problem}" for problem in said]
        if not isinstance(config, str) or not config.strip():
            problems.append(f"{where}: config names the org's jobsync config")
            continue
        resolved = (path.parent / config).resolve()
        try:
            load_settings(resolved)
        except ConfigError as exc:
            problems += [f"{where} ({resolved}): {exc.message}", *exc.problems]
        if not said and isinstance(name, str) and isinstance(every, int):
            found.append((name, resolved, every))
    if problems:
        raise ConfigError(f"{path}: nothing was added", problems)
    return [practice.register(url, name, config, every) for name, config, every in found]


def _entries(path: Path) -> list[Any]:
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}".splitlines()[0]) from None
    entries = data.get("orgs") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{path} lists no orgs", ["write `orgs:` with one entry per org: name, config, every"])
    return entries
