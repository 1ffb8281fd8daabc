"""ARCHITECTURE.md's import rules, enforced by reading every module's imports (AST, no execution).

The rules (see the modules table there):
- nothing imports `jobsync.cli` (the CLI sits on top; `python -m jobsync` is its only caller);
- `jobsync.sandbox.*` imports nothing of jobsync outside `jobsync.sandbox`: an emulator that
  shares code with the client it checks proves nothing;
- the pure core imports only the stdlib (minus its I/O modules), a few pure computation
  libraries, `jobsync.models`, `jobsync.errors` and the other core modules;
- `jobsync.models` and `jobsync.errors` import no other jobsync module;
- `jobsync.render` imports no I/O client.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "jobsync"

CORE = frozenset(
    {
        "jobsync.rules",
        "jobsync.billing",
        "jobsync.plan",
        "jobsync.contacts",
        "jobsync.money",
        "jobsync.templates",
        "jobsync.pricing",
        "jobsync.terms",
        "jobsync.plan_checks",
        "jobsync.plan_lines",
        "jobsync.rule_conditions",
        "jobsync.rule_refs",
        "jobsync.dedupe",
        "jobsync.preview",
        "jobsync.watermark",
        "jobsync.job_values",
        "jobsync.config_numbers",
        "jobsync.source_tax",
        "jobsync.contact_holds",
    }
)
CORE_MAY_USE = CORE | {"jobsync.models", "jobsync.errors"}
# Stdlib modules that do I/O; the core takes data in and returns data, so it needs none of them.
STDLIB_IO = frozenset(
    {"sqlite3", "socket", "http", "urllib.request", "ssl", "smtplib", "subprocess", "ftplib", "asyncio", "selectors"}
)
# Third-party libraries that only compute (fuzzy name matching, phone normalisation for contact
# matching in `contacts`); they open no file, socket or database.
PURE_THIRD_PARTY = frozenset({"rapidfuzz", "phonenumbers"})
IO_CLIENTS = frozenset({"requests", "urllib3", "xero_python", "sqlite3"})
# `python -m jobsync` must reach the CLI; this shim is the one sanctioned importer of it.
CLI_IMPORTERS = frozenset({"jobsync.__main__"})


@dataclass(frozen=True)
class Violation:
    filename: str
    line: int
    importer: str
    imported: str
    rule: str

    def __str__(self) -> str:
        return f"{self.filename}:{self.line}: {self.importer} imports {self.imported} ({self.rule})"


def module_name(path: Path, root: Path = PACKAGE_ROOT) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(module: str, source: str, is_package: bool = False) -> list[tuple[int, str]]:
    """(line, absolute module name) for every import, including ones inside functions."""
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(package, node.module, node.level)
            if node.module is None or base == "jobsync":
                # `from . import rules` / `from jobsync import models` import submodules by name.
                found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, base))
    return found


def _resolve(package: str, name: str | None, level: int) -> str:
    if level == 0:
        return name or ""
    parts = package.split(".")
    base = ".".join(parts[: len(parts) - (level - 1)])
    return f"{base}.{name}" if name else base


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def check_module(module: str, source: str, filename: str = "<string>", is_package: bool = False) -> list[Violation]:
    violations: list[Violation] = []
    for line, name in imports_of(module, source, is_package):
        for rule in _broken_rules(module, name):
            violations.append(Violation(filename, line, module, name, rule))
    return violations


def _broken_rules(module: str, name: str) -> list[str]:
    broken: list[str] = []
    top = name.split(".")[0]
    ours = top == "jobsync"
    if _within(name, "jobsync.cli") and module not in CLI_IMPORTERS and not _within(module, "jobsync.cli"):
        broken.append("nothing imports jobsync.cli")
    if _within(module, "jobsync.sandbox") and ours and not _within(name, "jobsync.sandbox"):
        broken.append("the sandbox imports nothing of jobsync outside jobsync.sandbox")
    if module in CORE:
        if ours and name not in CORE_MAY_USE:
            broken.append("the core imports only models, errors and other core modules")
        elif not ours and top not in sys.stdlib_module_names and top not in PURE_THIRD_PARTY:
            broken.append("the core imports no third-party I/O library")
        elif any(_within(name, io) for io in STDLIB_IO):
            broken.append("the core does no I/O")
    if module in ("jobsync.models", "jobsync.errors") and ours:
        broken.append(f"{module} imports no other jobsync module")
    if module == "jobsync.render" and top in IO_CLIENTS:
        broken.append("render imports no I/O client")
    return broken


def check_tree(root: Path = PACKAGE_ROOT) -> list[Violation]:
    violations: list[Violation] = []
    for path in sorted(root.rglob("*.py")):
        rel = str(path.relative_to(root.parent))
        violations += check_module(
            module_name(path, root), path.read_text(encoding="utf-8"), rel, is_package=path.name == "__init__.py"
        )
    return violations


def test_jobsync_follows_the_import_rules() -> None:
    violations = check_tree()
    assert not violations, "import rules broken:\n" + "\n".join(str(v) for v in violations)


def test_the_tree_is_actually_scanned() -> None:
    # Guards against a path mistake that would make the rule test vacuously green.
    names = {module_name(p) for p in PACKAGE_ROOT.rglob("*.py")}
    assert {"jobsync", "jobsync.models", "jobsync.errors", "jobsync.money"} <= names


@pytest.mark.parametrize(
    ("module", "source", "rule"),
    [
        ("jobsync.runner", "import jobsync.cli\n", "nothing imports jobsync.cli"),
        ("jobsync.report", "from jobsync import cli\n", "nothing imports jobsync.cli"),
        ("jobsync.sandbox.xero", "from jobsync.models import Job\n", "the sandbox imports nothing"),
        ("jobsync.sandbox.xero", "from .. import money\n", "the sandbox imports nothing"),
        ("jobsync.plan", "from jobsync.xero.gateway import Gateway\n", "the core imports only"),
        ("jobsync.rules", "from .state import Ledger\n", "the core imports only"),
        ("jobsync.contacts", "import requests\n", "no third-party I/O library"),
        ("jobsync.billing", "def f():\n    import sqlite3\n", "the core does no I/O"),
        ("jobsync.money", "from http import client\n", "the core does no I/O"),
        ("jobsync.plan", "import rich\n", "no third-party I/O library"),
        ("jobsync.models", "from jobsync.money import round2\n", "jobsync.models imports no other"),
        ("jobsync.errors", "from . import models\n", "jobsync.errors imports no other"),
        ("jobsync.render", "import xero_python.accounting\n", "render imports no I/O client"),
        ("jobsync.render", "from sqlite3 import connect\n", "render imports no I/O client"),
    ],
)
def test_checker_catches_a_violation(module: str, source: str, rule: str) -> None:
    source = "from __future__ import annotations\nimport json\n" + source
    violations = check_module(module, source, "synthetic.py")
    assert violations, f"{module}: {source!r} should break a rule"
    assert violations[0].line >= 3
    assert any(rule in v.rule for v in violations)
    assert str(violations[0]).startswith(f"synthetic.py:{violations[0].line}: {module} imports ")


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("jobsync.plan", "from . import rules, billing, contacts\nfrom .models import Job\nimport decimal\n"),
        ("jobsync.contacts", "import re\nfrom rapidfuzz import fuzz\nfrom jobsync.errors import E\n"),
        ("jobsync.sandbox.xero", "from .xero_json import dumps\nfrom jobsync.sandbox import xero_store\n"),
        ("jobsync.__main__", "from jobsync.cli import main\n"),
        ("jobsync.runner", "import sqlite3\nfrom jobsync.xero import gateway\n"),
        ("jobsync.render", "from rich.table import Table\nfrom jobsync import report\n"),
    ],
)
def test_checker_allows_what_the_rules_allow(module: str, source: str) -> None:
    assert check_module(module, source) == []


def test_relative_imports_resolve_from_packages_and_modules() -> None:
    assert imports_of("jobsync.sandbox.xero", "from . import x\nfrom ..models import M\n") == [
        (1, "jobsync.sandbox.x"),
        (2, "jobsync.models"),
    ]
    from_package = imports_of("jobsync.sandbox", "from .xero import X\n", is_package=True)
    assert from_package == [(1, "jobsync.sandbox.xero")]
