"""docs/architecture.md's layer rules, enforced by reading every module's imports (AST, no execution).

A module's layer is the package it sits in, so a module is covered the day it is written: there is no
hand-kept list to forget. Every import counts, including those inside functions and under
`TYPE_CHECKING`, because a cycle hidden behind either is still a cycle in the design.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "jobsync"

# Each layer, by package prefix, and the jobsync layers it may import besides itself. Order matters
# only for reading: lower layers come first. `jobsync` itself (the package) and `__main__` are the
# two entry shims.
CORE = "jobsync.core"
RUNTIME = "jobsync.runtime"
NET = "jobsync.net"
CONFIG = "jobsync.config"
STATE = "jobsync.state"
SOURCES = "jobsync.sources"
XERO = "jobsync.xero"
OUTPUT = "jobsync.output"
SYNC = "jobsync.sync"
APP = "jobsync.app"
CLI = "jobsync.cli"
WEB = "jobsync.web"
SANDBOX = "jobsync.sandbox"
SAMPLES = "jobsync.samples"

MAY_IMPORT: dict[str, frozenset[str]] = {
    CORE: frozenset(),
    RUNTIME: frozenset({CORE}),
    NET: frozenset({CORE, RUNTIME}),
    CONFIG: frozenset({CORE, RUNTIME}),
    STATE: frozenset({CORE, RUNTIME}),
    # Adapters: they turn a platform's wire into core values and know nothing of Settings or the state.
    SOURCES: frozenset({CORE, RUNTIME, NET}),
    XERO: frozenset({CORE, RUNTIME, NET}),
    OUTPUT: frozenset({CORE, RUNTIME, NET, CONFIG, STATE}),
    SYNC: frozenset({CORE, RUNTIME, STATE, SOURCES, XERO}),
    # The use cases wire everything together; the rehearsal and the demo run against the sandbox.
    APP: frozenset({CORE, RUNTIME, NET, CONFIG, STATE, SOURCES, XERO, OUTPUT, SYNC, SANDBOX, SAMPLES}),
    # typer only: parse, call a use case, render its answer, map errors to exit codes.
    CLI: frozenset({CORE, RUNTIME, CONFIG, OUTPUT, APP, SANDBOX, WEB}),
    # The service's front end: routes hand raw requests to the use cases, like the CLI hands arguments.
    WEB: frozenset({CORE, RUNTIME, CONFIG, OUTPUT, APP}),
    # An emulator that shares code with the client it checks proves nothing; it may share only the
    # process plumbing (the private-file writer), which computes nothing it could get wrong with us.
    SANDBOX: frozenset({RUNTIME}),
    SAMPLES: frozenset(),
}
ENTRY_SHIMS = {"jobsync": frozenset(), "jobsync.__main__": frozenset({CLI})}

# Stdlib modules that do I/O; the core takes data in and returns data, so it needs none of them.
STDLIB_IO = frozenset(
    {"sqlite3", "socket", "http", "urllib.request", "ssl", "smtplib", "subprocess", "ftplib", "asyncio", "selectors"}
)
# Third-party libraries the core may use because they only compute: fuzzy name matching and phone
# normalisation for contact matching. They open no file, socket or database.
PURE_THIRD_PARTY = frozenset({"rapidfuzz", "phonenumbers"})
# Outbound HTTP is made in one place (jobsync.net); elsewhere `requests` may name types, never call out.
REQUESTS_CALLS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request", "Session"})


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


def imports_of(
    module: str, source: str, is_package: bool = False, known: frozenset[str] = frozenset()
) -> list[tuple[int, str]]:
    """(line, absolute module name) for every import, including ones inside functions.

    `from pkg import name` counts as importing `pkg.name` when that is a module (in `known`, or when
    `pkg` is `jobsync` itself), and `pkg` otherwise.
    """
    package = module if is_package else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(package, node.module, node.level)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                is_module = sub in known or node.module is None or base == "jobsync"
                found.append((node.lineno, sub if is_module else base))
    return _unique(found)


def _unique(found: list[tuple[int, str]]) -> list[tuple[int, str]]:
    seen: set[tuple[int, str]] = set()
    return [item for item in found if not (item in seen or seen.add(item))]


def _resolve(package: str, name: str | None, level: int) -> str:
    if level == 0:
        return name or ""
    parts = package.split(".")
    base = ".".join(parts[: len(parts) - (level - 1)])
    return f"{base}.{name}" if name else base


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def layer_of(module: str) -> str | None:
    for layer in MAY_IMPORT:
        if _within(module, layer):
            return layer
    return module if module in ENTRY_SHIMS else None


def check_module(
    module: str,
    source: str,
    filename: str = "<string>",
    is_package: bool = False,
    known: frozenset[str] = frozenset(),
) -> list[Violation]:
    layer = layer_of(module)
    if layer is None:
        return [Violation(filename, 1, module, "-", "every module sits in a layer's package")]
    violations = [
        Violation(filename, line, module, name, rule)
        for line, name in imports_of(module, source, is_package, known)
        for rule in _broken_rules(layer, name)
    ]
    return violations + _bare_requests_calls(module, layer, source, filename) + _private_names(module, source, filename)


def _private_names(module: str, source: str, filename: str) -> list[Violation]:
    """A `_name` is its module's own business: importing one means the module lacks a public face."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("jobsync")):
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    rule = "no module imports another's private name"
                    found.append(Violation(filename, node.lineno, module, f"{node.module}.{alias.name}", rule))
    return found


def _broken_rules(layer: str, name: str) -> list[str]:
    top = name.split(".")[0]
    if top == "jobsync":
        target = layer_of(name)
        allowed = ENTRY_SHIMS.get(layer, MAY_IMPORT.get(layer, frozenset()))
        if name in ("jobsync", "jobsync.__version__") or target == layer or target in allowed:
            return []
        if target is None:
            return [f"{name} sits in no layer"]
        return [f"{layer} may import only {', '.join(sorted(allowed)) or 'itself'}"]
    if layer != CORE:
        return []
    if top not in sys.stdlib_module_names and top not in PURE_THIRD_PARTY:
        return ["the core imports no third-party I/O library"]
    if any(_within(name, io) for io in STDLIB_IO):
        return ["the core does no I/O"]
    return []


def _bare_requests_calls(module: str, layer: str, source: str, filename: str) -> list[Violation]:
    if layer == NET:
        return []
    found = []
    for node in ast.walk(ast.parse(source)):
        func = node.func if isinstance(node, ast.Call) else None
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and func.value.id == "requests"
            and func.attr in REQUESTS_CALLS
        ):
            rule = "outbound HTTP goes through jobsync.net"
            found.append(Violation(filename, node.lineno, module, f"requests.{func.attr}()", rule))
    return found


@dataclass(frozen=True)
class Tree:
    """Every module under a package root, its source, and whether it is a package."""

    root: Path
    sources: dict[str, tuple[Path, str, bool]]

    @classmethod
    def read(cls, root: Path = PACKAGE_ROOT) -> Tree:
        sources = {}
        for path in sorted(root.rglob("*.py")):
            sources[module_name(path, root)] = (path, path.read_text(encoding="utf-8"), path.name == "__init__.py")
        return cls(root, sources)

    @property
    def names(self) -> frozenset[str]:
        return frozenset(self.sources)

    def edges(self) -> dict[str, set[str]]:
        graph: dict[str, set[str]] = {name: set() for name in self.sources}
        for name, (_, source, is_package) in self.sources.items():
            for _, imported in imports_of(name, source, is_package, self.names):
                if imported in self.sources and imported != name:
                    graph[name].add(imported)
        return graph


def check_tree(tree: Tree) -> list[Violation]:
    violations: list[Violation] = []
    for name, (path, source, is_package) in tree.sources.items():
        rel = str(path.relative_to(tree.root.parent))
        violations += check_module(name, source, rel, is_package, tree.names)
    return violations


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    cycles: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = _pop_component(stack, on_stack, node)
                    if len(component) > 1:
                        cycles.append(sorted(component))
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return cycles


def _pop_component(stack: list[str], on_stack: set[str], root: str) -> list[str]:
    component = []
    while True:
        member = stack.pop()
        on_stack.discard(member)
        component.append(member)
        if member == root:
            return component


def test_jobsync_follows_the_layer_rules() -> None:
    violations = check_tree(Tree.read())
    assert not violations, "layer rules broken:\n" + "\n".join(str(v) for v in violations)


def test_jobsync_has_no_import_cycle() -> None:
    cycles = import_cycles(Tree.read().edges())
    assert not cycles, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in cycles)


def test_the_tree_is_actually_scanned() -> None:
    # Guards against a path mistake that would make the rule tests vacuously green.
    tree = Tree.read()
    assert len(tree.names) > 100
    assert {layer_of(name) for name in tree.names} >= set(MAY_IMPORT) - {SAMPLES} | {"jobsync"}
    assert sum(len(targets) for targets in tree.edges().values()) > 300


def _plant(tmp_path: Path, files: dict[str, str]) -> Tree:
    for rel, text in files.items():
        path = tmp_path / "jobsync" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for directory in [tmp_path / "jobsync", *(tmp_path / "jobsync").rglob("*")]:
        if directory.is_dir() and not (directory / "__init__.py").exists():
            (directory / "__init__.py").write_text("", encoding="utf-8")
    return Tree.read(tmp_path / "jobsync")


def test_a_planted_core_import_of_requests_is_caught(tmp_path: Path) -> None:
    tree = _plant(tmp_path, {"core/money.py": "import decimal\n\n\ndef f():\n    import requests\n"})
    violations = check_tree(tree)
    assert [(v.importer, v.imported, v.line) for v in violations] == [("jobsync.core.money", "requests", 5)]
    assert "no third-party I/O library" in violations[0].rule


def test_a_planted_cycle_is_caught_even_under_type_checking(tmp_path: Path) -> None:
    tree = _plant(
        tmp_path,
        {
            "sync/a.py": "from jobsync.sync.b import B\n",
            "sync/b.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from jobsync.sync import c\n",
            "sync/c.py": "def f():\n    from jobsync.sync import a\n",
            "sync/d.py": "from jobsync.sync import a\n",
        },
    )
    assert check_tree(tree) == []
    assert import_cycles(tree.edges()) == [["jobsync.sync.a", "jobsync.sync.b", "jobsync.sync.c"]]


def test_a_module_outside_every_layer_is_caught(tmp_path: Path) -> None:
    tree = _plant(tmp_path, {"helpers.py": "import os\n"})
    assert [v.rule for v in check_tree(tree)] == ["every module sits in a layer's package"]


@pytest.mark.parametrize(
    ("module", "source", "rule"),
    [
        ("jobsync.sync.runner", "import jobsync.cli.main\n", "jobsync.sync may import only"),
        ("jobsync.output.report", "from jobsync import cli\n", "jobsync.output may import only"),
        ("jobsync.sandbox.xero.api", "from jobsync.core.models import Job\n", "jobsync.sandbox may import only"),
        ("jobsync.sandbox.servicem8", "from .. import core\n", "jobsync.sandbox may import only"),
        ("jobsync.core.plan", "from jobsync.xero.gateway import Gateway\n", "jobsync.core may import only itself"),
        ("jobsync.core.rules", "from ..state import Ledger\n", "jobsync.core may import only itself"),
        ("jobsync.core.contact_match", "import requests\n", "no third-party I/O library"),
        ("jobsync.core.billing", "def f():\n    import sqlite3\n", "the core does no I/O"),
        ("jobsync.core.money", "from http import client\n", "the core does no I/O"),
        ("jobsync.core.plan", "import rich\n", "no third-party I/O library"),
        ("jobsync.xero.token_store", "from jobsync.config.settings import Settings\n", "jobsync.xero may import"),
        ("jobsync.sources.rest", "from jobsync.state.store import State\n", "jobsync.sources may import"),
        ("jobsync.cli.jobs", "from jobsync.state.store import State\n", "jobsync.cli may import only"),
        ("jobsync.sync.gather", "from jobsync.config.settings import Settings\n", "jobsync.sync may import only"),
        ("jobsync.output.notify", "import jobsync.sync.runner\n", "jobsync.output may import only"),
        ("jobsync.app.doctor", "from jobsync.helpers import x\n", "sits in no layer"),
        ("jobsync.xero.auth", "def f():\n    return requests.post(url)\n", "outbound HTTP goes through"),
        ("jobsync.output.notify", "s = requests.Session()\n", "outbound HTTP goes through"),
        ("jobsync.state.store", "from jobsync.state.rows import (\n    RunRow,\n    _chunks,\n)\n", "private name"),
    ],
)
def test_checker_catches_a_violation(module: str, source: str, rule: str) -> None:
    source = "from __future__ import annotations\nimport json\n" + source
    violations = check_module(module, source, "synthetic.py")
    assert violations, f"{module}: {source!r} should break a rule"
    assert violations[0].line >= 3
    assert any(rule in v.rule for v in violations), [v.rule for v in violations]
    assert str(violations[0]).startswith(f"synthetic.py:{violations[0].line}: {module} imports ")


@pytest.mark.parametrize(
    ("module", "source"),
    [
        ("jobsync.core.plan", "from . import rules, billing\nfrom .models import Job\nimport decimal\n"),
        ("jobsync.core.contact_match", "import re\nfrom rapidfuzz import fuzz\nfrom jobsync.core.errors import E\n"),
        ("jobsync.sandbox.xero.server", "from .encoding import dumps\nfrom jobsync.sandbox import loopback\n"),
        ("jobsync.__main__", "from jobsync.cli.main import main\n"),
        ("jobsync.sync.runner", "import sqlite3\nfrom jobsync.xero import gateway\n"),
        ("jobsync.output.render", "from rich.table import Table\nfrom jobsync.state.store import RunRow\n"),
        ("jobsync.net.http", "session = requests.Session()\n"),
        ("jobsync.sources.rest", "def f(s: requests.Session) -> None:\n    s.get(url)\n"),
        ("jobsync.app.rehearse", "from jobsync.sandbox.xero.server import XeroSandbox\n"),
    ],
)
def test_checker_allows_what_the_rules_allow(module: str, source: str) -> None:
    assert check_module(module, source) == []


def test_relative_imports_resolve_from_packages_and_modules() -> None:
    known = frozenset({"jobsync.sandbox.x"})
    assert imports_of("jobsync.sandbox.xero", "from . import x\nfrom ..core import M\n", known=known) == [
        (1, "jobsync.sandbox.x"),
        (2, "jobsync.core"),
    ]
    from_package = imports_of("jobsync.sandbox", "from .xero import X\n", is_package=True)
    assert from_package == [(1, "jobsync.sandbox.xero")]
