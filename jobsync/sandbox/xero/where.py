"""Xero's `where` filter: a small expression language, parsed into a predicate over stored dicts.

Grammar (what Xero documents and integrators use):
    expr    := and (("OR" | "||") and)*
    and     := unary (("AND" | "&&") unary)*
    unary   := ("NOT" | "!") unary | "(" expr ")" | compare
    compare := operand [op operand]          op: == = != <> < > <= >=
    operand := path [ "." Method "(" literal ")" ] | literal
    literal := "str" | number | true | false | null | guid("…") | DateTime(y,m,d[,h,m,s])
String equality is case-insensitive, as on Xero's optimised fields.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from jobsync.sandbox.xero.encoding import parse_date

Predicate = Callable[[dict[str, Any]], bool]
Getter = Callable[[dict[str, Any]], Any]


class WhereError(ValueError):
    """A malformed expression; the server answers 400 with this message."""


_TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<num>-?\d+(?:\.\d+)?)|(?P<op>==|!=|<>|<=|>=|&&|\|\||[=<>!().,])'
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_]*))"
)
_METHODS = {"contains", "startswith", "endswith"}


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        found = _TOKEN.match(text, pos)
        if not found:
            raise WhereError(f"Syntax error in where clause near '{text[pos : pos + 20]}'")
        kind = found.lastgroup or ""
        tokens.append((kind, found.group(kind)))
        pos = found.end()
    return tokens


def compile_where(text: str, fields: frozenset[str] | None = None) -> Predicate:
    """Parse `text`; `fields` (top-level names) lets unknown fields fail as Xero's do."""
    parser = _Parser(_tokenize(text), fields)
    predicate = parser.expr()
    if parser.pos != len(parser.tokens):
        raise WhereError(f"Syntax error in where clause near '{parser.peek()[1]}'")
    return predicate


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]], fields: frozenset[str] | None) -> None:
        self.tokens = tokens
        self.pos = 0
        self.fields = fields

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("end", "")

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token[0] == "end":
            raise WhereError("Unexpected end of where clause")
        self.pos += 1
        return token

    def expect(self, value: str) -> None:
        if self.take()[1] != value:
            raise WhereError(f"Expected '{value}' in where clause")

    def at_word(self, *words: str) -> bool:
        kind, value = self.peek()
        return value.upper() in words if kind in ("name", "op") else False

    def expr(self) -> Predicate:
        parts = [self.conj()]
        while self.at_word("OR", "||"):
            self.take()
            parts.append(self.conj())
        return parts[0] if len(parts) == 1 else (lambda row: any(p(row) for p in parts))

    def conj(self) -> Predicate:
        parts = [self.unary()]
        while self.at_word("AND", "&&"):
            self.take()
            parts.append(self.unary())
        return parts[0] if len(parts) == 1 else (lambda row: all(p(row) for p in parts))

    def unary(self) -> Predicate:
        if self.at_word("NOT", "!"):
            self.take()
            inner = self.unary()
            return lambda row: not inner(row)
        if self.peek() == ("op", "("):
            self.take()
            inner = self.expr()
            self.expect(")")
            return inner
        return self.compare()

    def compare(self) -> Predicate:
        left, method = self.operand()
        if method is not None:
            return method
        kind, value = self.peek()
        if kind == "op" and value in ("==", "=", "!=", "<>", "<", ">", "<=", ">="):
            self.take()
            right, method = self.operand()
            if method is not None:
                raise WhereError("A method call cannot be compared")
            return _comparison(left, value, right)
        return lambda row: bool(left(row))

    def operand(self) -> tuple[Getter, Predicate | None]:
        kind, value = self.take()
        if kind == "str":
            text = _unquote(value)
            return (lambda row: text), None
        if kind == "num":
            number = Decimal(value)
            return (lambda row: number), None
        if kind != "name":
            raise WhereError(f"Syntax error in where clause near '{value}'")
        literal = self.literal_word(value)
        if literal is not _NOT_LITERAL:
            return (lambda row: literal), None
        return self.path(value)

    def literal_word(self, word: str) -> Any:
        lowered = word.lower()
        if lowered in ("true", "false"):
            return lowered == "true"
        if lowered == "null":
            return None
        if lowered == "guid" and self.peek() == ("op", "("):
            self.take()
            kind, value = self.take()
            self.expect(")")
            if kind != "str":
                raise WhereError("guid() takes a quoted string")
            return _unquote(value).lower()
        if lowered == "datetime" and self.peek() == ("op", "("):
            return self.datetime_args()
        return _NOT_LITERAL

    def datetime_args(self) -> datetime:
        self.take()
        numbers: list[int] = []
        while True:
            kind, value = self.take()
            if kind != "num":
                raise WhereError("DateTime() takes numbers")
            numbers.append(int(value))
            if self.take()[1] == ")":
                break
        try:
            return datetime(*numbers, tzinfo=UTC)  # type: ignore[misc, arg-type]
        except (TypeError, ValueError) as exc:
            raise WhereError(f"Invalid DateTime in where clause: {exc}") from exc

    def path(self, first: str) -> tuple[Getter, Predicate | None]:
        if self.fields is not None and first.lower() not in self.fields:
            raise WhereError(f"No property or field '{first}' exists")
        names = [first]
        while self.peek() == ("op", "."):
            self.take()
            names.append(self.take()[1])
            if self.peek() == ("op", "(") and names[-1].lower() in _METHODS:
                method = names.pop().lower()
                self.take()
                arg, _ = self.operand()
                self.expect(")")
                return _getter(names), _method(_getter(names), method, arg)
        return _getter(names), None


_NOT_LITERAL = object()


def _unquote(token: str) -> str:
    return re.sub(r"\\(.)", r"\1", token[1:-1])


def _getter(names: list[str]) -> Getter:
    def get(row: dict[str, Any]) -> Any:
        value: Any = row
        for name in names:
            if not isinstance(value, dict):
                return None
            value = _lookup(value, name)
        return value

    return get


def _lookup(row: dict[str, Any], name: str) -> Any:
    if name in row:
        return row[name]
    lowered = name.lower()
    # Xero's field names are case-insensitive in filters (InvoiceId == InvoiceID).
    return next((v for k, v in row.items() if k.lower() == lowered), None)


def _normal(value: Any) -> Any:
    """Bring both sides to comparable types: dates, numbers, case-folded strings."""
    if isinstance(value, bool) or value is None or isinstance(value, datetime):
        return value
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    if isinstance(value, str):
        moment = parse_date(value) if value.startswith("/Date(") else None
        return moment if moment is not None else value.casefold()
    return value


def _comparison(left: Getter, op: str, right: Getter) -> Predicate:
    def check(row: dict[str, Any]) -> bool:
        a, b = _normal(left(row)), _normal(right(row))
        if op in ("==", "="):
            return bool(a == b)
        if op in ("!=", "<>"):
            return bool(a != b)
        if a is None or b is None:
            return False
        try:
            return bool({"<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op])
        except TypeError:
            return False

    return check


def _method(target: Getter, method: str, arg: Getter) -> Predicate:
    def check(row: dict[str, Any]) -> bool:
        value, needle = target(row), arg(row)
        if not isinstance(value, str) or not isinstance(needle, str):
            return False
        hay, pin = value.casefold(), needle.casefold()
        if method == "contains":
            return pin in hay
        return hay.startswith(pin) if method == "startswith" else hay.endswith(pin)

    return check
