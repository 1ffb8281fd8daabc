"""A rule's `when`: the conditions on a job line, how they are evaluated (with a reason for
`preview --explain`) and how they are loaded from the config. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from jobsync.core.errors import echo
from jobsync.core.models import LINE_KINDS, Job, JobLine
from jobsync.core.source_tax import tax_key


@dataclass(frozen=True)
class Match:
    """A rule's `when`: every condition given must hold (an implicit `all`)."""

    kinds: tuple[str, ...] = ()
    item_codes: tuple[str, ...] = ()  # compared case-insensitively
    description: re.Pattern[str] | None = None  # searched, case-insensitive
    job_types: tuple[str, ...] = ()  # compared case-insensitively
    clients: tuple[str, ...] = ()  # client id or name, case-insensitive
    sign: str | None = None  # "positive" (>= 0) or "negative" (< 0), on quantity × unit price
    taxes: tuple[str, ...] = ()  # the job system's tax name or rate ("GST Free", "0"), compared by tax_key
    all: tuple[Match, ...] = ()
    any: tuple[Match, ...] = ()


def _lower_in(value: str | None, allowed: tuple[str, ...]) -> bool:
    return value is not None and value.casefold() in {a.casefold() for a in allowed}


def _conditions(m: Match, job: Job, line: JobLine) -> list[tuple[bool, str]]:
    """Each condition of `m` with whether it holds and a short human reason."""
    out: list[tuple[bool, str]] = []
    if m.kinds:
        ok = line.kind in m.kinds
        out.append((ok, f"kind {line.kind} {'in' if ok else 'not in'} {list(m.kinds)}"))
    if m.item_codes:
        ok = _lower_in(line.item_code, m.item_codes)
        out.append((ok, f"item code {line.item_code!r} {'in' if ok else 'not in'} {list(m.item_codes)}"))
    if m.description is not None:
        ok = m.description.search(line.description) is not None
        verb = "matches" if ok else "does not match"
        out.append((ok, f"description {verb} /{m.description.pattern}/"))
    if m.job_types:
        ok = _lower_in(job.job_type, m.job_types)
        out.append((ok, f"job type {job.job_type!r} {'in' if ok else 'not in'} {list(m.job_types)}"))
    if m.clients:
        c = job.client
        ok = c is not None and (_lower_in(c.id, m.clients) or _lower_in(c.name, m.clients))
        who = c.name if c else None
        out.append((ok, f"client {who!r} {'in' if ok else 'not in'} {list(m.clients)}"))
    if m.sign is not None:
        amount = line.quantity * line.unit_price
        ok = (amount < 0) == (m.sign == "negative")
        out.append((ok, f"amount {amount} {'is' if ok else 'is not'} {m.sign}"))
    if m.taxes:
        have = {tax_key(t) for t in (line.tax_code, None if line.tax_rate is None else str(line.tax_rate)) if t}
        ok = bool(have & {tax_key(t) for t in m.taxes})
        shown = line.tax_code or line.tax_rate
        out.append((ok, f"tax {shown!r} {'in' if ok else 'not in'} {list(m.taxes)}"))
    for sub in m.all:
        ok, why = evaluate(sub, job, line)
        out.append((ok, f"all({why})"))
    if m.any:
        results = [evaluate(sub, job, line) for sub in m.any]
        ok = any(r for r, _ in results)
        out.append((ok, "any(" + " | ".join(w for _, w in results) + ")"))
    return out


def evaluate(m: Match, job: Job, line: JobLine) -> tuple[bool, str]:
    conds = _conditions(m, job, line)
    if not conds:
        return True, "always"
    failed = [why for ok, why in conds if not ok]
    if failed:
        return False, "; ".join(failed)
    return True, "; ".join(why for _, why in conds)


def matches(m: Match, job: Job, line: JobLine) -> bool:
    return evaluate(m, job, line)[0]


_WHEN_KEYS = {"kind", "item_code", "description", "job_type", "client", "sign", "tax", "all", "any"}
_KINDS = LINE_KINDS


class Problems(list[str]):
    def unknown(self, data: Mapping[str, object], allowed: set[str], path: str) -> None:
        for key in data:
            if key not in allowed:
                self.append(f"{path}.{key}: unknown key (allowed: {', '.join(sorted(allowed))})")


def strs(value: object, path: str, problems: Problems) -> tuple[str, ...]:
    """A string or list of strings; YAML numbers (item code 200) are taken as text."""
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for i, v in enumerate(items):
        if isinstance(v, bool) or not isinstance(v, str | int):
            where = f"{path}[{i}]" if isinstance(value, list) else path
            problems.append(f"{where}: expected text, got {type(v).__name__}")
        else:
            out.append(str(v))
    return tuple(out)


def opt_str(data: Mapping[str, object], key: str, path: str, problems: Problems) -> str | None:
    if key not in data or data[key] is None:
        return None
    v = data[key]
    if isinstance(v, bool) or not isinstance(v, str | int) or str(v).strip() == "":
        problems.append(f"{path}.{key}: expected non-empty text")
        return None
    return str(v)


def load_when(data: object, path: str, problems: Problems) -> Match:
    if not isinstance(data, Mapping):
        problems.append(f"{path}: expected a mapping of conditions")
        return Match()
    problems.unknown(data, _WHEN_KEYS, path)
    kinds = strs(data["kind"], f"{path}.kind", problems) if "kind" in data else ()
    for k in kinds:
        if k not in _KINDS:
            problems.append(f"{path}.kind: {echo(k)} is not one of {', '.join(_KINDS)}")
    pattern = None
    if "description" in data:
        raw = data["description"]
        if not isinstance(raw, str):
            problems.append(f"{path}.description: expected a regex string")
        else:
            try:
                pattern = re.compile(raw, re.IGNORECASE)
            except re.error as exc:
                problems.append(f"{path}.description: bad regex {echo(raw)}: {echo(str(exc))}")
    sign = data.get("sign")
    if sign is not None and sign not in ("positive", "negative"):
        problems.append(f"{path}.sign: expected positive or negative, got {echo(sign)}")
        sign = None
    subs: dict[str, tuple[Match, ...]] = {}
    for key in ("all", "any"):
        raw = data.get(key)
        if raw is not None and not isinstance(raw, list):
            problems.append(f"{path}.{key}: expected a list of conditions")
            raw = None
        subs[key] = tuple(load_when(s, f"{path}.{key}[{i}]", problems) for i, s in enumerate(raw or []))
    return Match(
        kinds=kinds,
        item_codes=strs(data["item_code"], f"{path}.item_code", problems) if "item_code" in data else (),
        description=pattern,
        job_types=strs(data["job_type"], f"{path}.job_type", problems) if "job_type" in data else (),
        clients=strs(data["client"], f"{path}.client", problems) if "client" in data else (),
        sign=sign if isinstance(sign, str) else None,
        taxes=strs(data["tax"], f"{path}.tax", problems) if "tax" in data else (),
        all=subs["all"],
        any=subs["any"],
    )
