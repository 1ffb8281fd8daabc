"""Reading the config file: bytes → text → YAML data, with every failure a `ConfigError` naming the spot.

A config is user input, so whatever is in the file (another encoding, control characters, an alias
that refers to itself, a tag PyYAML cannot construct, nesting deep enough to exhaust the stack)
becomes one message with the file, line and column, never a traceback.
"""

from __future__ import annotations

import codecs
import errno
import re
from pathlib import Path
from typing import Any

import yaml

from jobsync.core.errors import ConfigError, echo

KeyPath = tuple[str | int, ...]

# Far beyond any real config (the example is 6 levels deep), far below Python's recursion limit.
MAX_DEPTH = 40
# Aliases may share one node many times; expanded, a small file could otherwise become gigabytes.
MAX_NODES = 50_000
_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def read_config_text(path: Path) -> str:
    """The file's text (UTF-8, with or without a BOM), or a ConfigError saying what is wrong with it."""
    try:
        if path.is_dir():
            raise ConfigError(f"{path} is a directory, not a config file; pass the YAML file inside it with --config")
        data = path.read_bytes()
    except ConfigError:
        raise
    except FileNotFoundError:
        raise _not_found(path) from None
    except PermissionError:
        raise ConfigError(f"cannot read {path}: permission denied; make it readable by this user") from None
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise _not_found(path) from None
        raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
    return decode_utf8(data, path)


def _not_found(path: Path) -> ConfigError:
    return ConfigError(
        f"config file not found: {path}. Pass --config PATH or set JOBSYNC_CONFIG"
        " (default ./jobsync.yaml); start from config.example.yaml"
    )


def decode_utf8(data: bytes, path: Path) -> str:
    for bom, name in _BOMS:
        if data.startswith(bom):
            raise ConfigError(f"{path} is {name}-encoded; save it as UTF-8 (most editors: 'Save with encoding')")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line, column = line_and_column(data, exc.start)
        raise ConfigError(
            f"{path} is not UTF-8",
            [f"{path.name} line {line} column {column}: byte 0x{data[exc.start]:02x} is not UTF-8; save as UTF-8"],
        ) from None


def line_and_column(text: str | bytes, position: int) -> tuple[int, int]:
    """1-based line and column of a character (or byte) offset."""
    newline = "\n" if isinstance(text, str) else b"\n"
    before = text[:position]
    line = before.count(newline) + 1  # type: ignore[arg-type]
    column = position - (before.rfind(newline) + 1) + 1  # type: ignore[arg-type]
    return line, column


class _LineLoader(yaml.SafeLoader):
    """SafeLoader whose constructors never escape with a Python error, and which keeps bad dates as text."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except yaml.YAMLError:
            raise
        except (ValueError, KeyError, TypeError, OverflowError, ArithmeticError) as exc:
            # e.g. `!!bool maybe` (KeyError), `!!int 0x` (ValueError), a 5,000-digit integer.
            detail = f"{node.tag} {echo(node.value)}" if isinstance(node, yaml.ScalarNode) else node.tag
            raise yaml.constructor.ConstructorError(
                None, None, f"cannot read the value {detail} ({type(exc).__name__})", node.start_mark
            ) from None

    def construct_yaml_timestamp(self, node: yaml.Node) -> Any:
        # An impossible date (2026-13-01) stays a string, so validation reports it with its line.
        try:
            return super().construct_yaml_timestamp(node)  # type: ignore[arg-type]
        except (ValueError, OverflowError):
            return self.construct_scalar(node)  # type: ignore[arg-type]


_LineLoader.add_constructor("tag:yaml.org,2002:timestamp", _LineLoader.construct_yaml_timestamp)
# YAML 1.1 reads on/off/yes/no as booleans, which turns `notify.on:` into the key True. Keep only
# true/false (as YAML 1.2 does); pydantic still accepts "yes"/"no" where a bool is expected.
_LineLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_LineLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


class _Walk:
    """One pass over the node graph: each key's line, duplicate keys, and the shape limits."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.lines: dict[KeyPath, int] = {}
        self.dupes: list[tuple[KeyPath, str]] = []
        self.nodes = 0
        self._ancestors: set[int] = set()

    def visit(self, node: yaml.Node, path: KeyPath, depth: int) -> None:
        self.nodes += 1
        line = node.start_mark.line + 1
        if self.nodes > MAX_NODES:
            raise self._shape_error(line, f"more than {MAX_NODES:,} values once aliases are expanded")
        if depth > MAX_DEPTH:
            raise self._shape_error(line, f"nested more than {MAX_DEPTH} levels deep")
        if id(node) in self._ancestors:
            raise self._shape_error(line, "an alias (*name) refers to a value that contains it, a loop")
        if not isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            return
        self._ancestors.add(id(node))
        try:
            if isinstance(node, yaml.MappingNode):
                for key, value in node.value:
                    child = (*path, str(key.value))
                    if child in self.lines:
                        self.dupes.append((child, f"duplicate key (first on line {self.lines[child]})"))
                    self.lines[child] = key.start_mark.line + 1
                    self.visit(value, child, depth + 1)
            else:
                for i, item in enumerate(node.value):
                    self.lines[(*path, i)] = item.start_mark.line + 1
                    self.visit(item, (*path, i), depth + 1)
        finally:
            self._ancestors.discard(id(node))

    def _shape_error(self, line: int, what: str) -> ConfigError:
        return ConfigError(f"{self.label} line {line}: {what}; simplify the YAML there")


def parse_yaml(text: str, path: Path) -> tuple[Any, dict[KeyPath, int], list[tuple[KeyPath, str]]]:
    """Data, the line of every key path, and duplicate keys (which plain YAML loading silently merges)."""
    try:
        loader = _LineLoader(text)  # the reader checks every character here
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML", [_yaml_problem(path.name, text, exc)]) from None
    try:
        try:
            node = loader.get_single_node()
            if node is None:
                return {}, {}, []
            walk = _Walk(path.name)
            walk.visit(node, (), 0)
            return loader.construct_document(node), walk.lines, walk.dupes
        except RecursionError:
            raise ConfigError(
                f"{path} is nested too deeply to read", [f"{path.name}: keep nesting under {MAX_DEPTH} levels"]
            ) from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path} is not valid YAML", [_yaml_problem(path.name, text, exc)]) from None
    finally:
        loader.dispose()


def _yaml_problem(label: str, text: str, exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.reader.ReaderError):
        # The reader knows only a character offset; a person needs the line and column.
        line, column = line_and_column(text, exc.position)
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        return f"{label} line {line} column {column}: control character U+{ord(char):04X} is not allowed; delete it"
    mark = getattr(exc, "problem_mark", None)
    where = f" line {mark.line + 1} column {mark.column + 1}" if mark else ""
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    detail = f"{context}: {problem}" if context else problem
    return f"{label}{where}: {detail}"
