"""Mapping rules: which Xero account, tax type, item and tracking each job line goes to.

Rules come from the `rules:` section of the config. They are tried in order and the
first whose `when` matches maps the line; lines no rule matches use `default`.
Subcontractor lines follow the `subcontractors` policy when one is configured.
Every mapped line records the name of the rule that produced it. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from decimal import Decimal

from jobsync.errors import ConfigError
from jobsync.models import Job, JobLine
from jobsync.money import round2, round4
from jobsync.pricing import NO_PRICING, Pricing, load_pricing, price_line
from jobsync.templates import check_template, render_template, template_values

SUBCONTRACTOR_RULE = "subcontractors"
DEFAULT_RULE = "default"


@dataclass(frozen=True)
class Match:
    """A rule's `when`: every condition given must hold (an implicit `all`)."""

    kinds: tuple[str, ...] = ()
    item_codes: tuple[str, ...] = ()  # compared case-insensitively
    description: re.Pattern[str] | None = None  # searched, case-insensitive
    job_types: tuple[str, ...] = ()  # compared case-insensitively
    clients: tuple[str, ...] = ()  # client id or name, case-insensitive
    sign: str | None = None  # "positive" (>= 0) or "negative" (< 0), on quantity × unit price
    all: tuple[Match, ...] = ()
    any: tuple[Match, ...] = ()


@dataclass(frozen=True)
class Tracking:
    """One tracking category: a fixed option, or the value of a job field (region, crew…)."""

    category: str
    option: str | None = None
    field: str | None = None


@dataclass(frozen=True)
class Rule:
    name: str
    when: Match
    account_code: str | None = None  # None only when exclude is set
    tax_type: str | None = None  # None: the account's default tax type
    item_code: str | None = None
    tracking: tuple[Tracking, ...] = ()
    description: str | None = None  # template, e.g. "{description} ({job.number})"
    unitdp: int | None = None  # 2 or 4: round the unit price to this; None keeps it as given
    exclude: bool = False


@dataclass(frozen=True)
class SubcontractorPolicy:
    mode: str  # "passthrough" or "exclude"
    account_code: str | None = None
    tax_type: str | None = None
    markup_percent: Decimal = Decimal("0")


@dataclass(frozen=True)
class RuleSet:
    lines: tuple[Rule, ...]
    default: Rule
    subcontractors: SubcontractorPolicy | None = None
    pricing: Pricing = NO_PRICING


@dataclass(frozen=True)
class MappedLine:
    """A job line after mapping; amounts are not computed yet (plan does that with money.py)."""

    rule: str
    description: str
    quantity: Decimal
    unit_amount: Decimal
    account_code: str
    tax_type: str | None  # None: use the account's default tax type
    item_code: str | None = None
    discount_rate: Decimal | None = None
    discount_amount: Decimal | None = None
    tracking: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Excluded:
    """A job line deliberately left off the client's invoice."""

    rule: str
    reason: str


# ---------------------------------------------------------------------------
# Matching
# ---------------------------------------------------------------------------


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
    for sub in m.all:
        ok, why = _evaluate(sub, job, line)
        out.append((ok, f"all({why})"))
    if m.any:
        results = [_evaluate(sub, job, line) for sub in m.any]
        ok = any(r for r, _ in results)
        out.append((ok, "any(" + " | ".join(w for _, w in results) + ")"))
    return out


def _evaluate(m: Match, job: Job, line: JobLine) -> tuple[bool, str]:
    conds = _conditions(m, job, line)
    if not conds:
        return True, "always"
    failed = [why for ok, why in conds if not ok]
    if failed:
        return False, "; ".join(failed)
    return True, "; ".join(why for _, why in conds)


def matches(m: Match, job: Job, line: JobLine) -> bool:
    return _evaluate(m, job, line)[0]


def _tracking(rule: Rule, job: Job) -> tuple[tuple[str, str], ...]:
    # A tracking category fed from a job field the job lacks is left off that line
    # rather than sent empty: Xero rejects an empty option.
    out: list[tuple[str, str]] = []
    for t in rule.tracking:
        option = t.option if t.option is not None else job.field(t.field or "")
        if option:
            out.append((t.category, option))
    return tuple(out)


def _unit(rule: Rule, unit_price: Decimal) -> Decimal:
    if rule.unitdp == 2:
        return round2(unit_price)
    if rule.unitdp == 4:
        return round4(unit_price)
    return unit_price


def _apply(rule: Rule, job: Job, line: JobLine, unit_price: Decimal | None = None) -> MappedLine | Excluded:
    if rule.exclude:
        return Excluded(rule.name, f"excluded by rule {rule.name!r}")
    description = line.description
    if rule.description:
        description = render_template(rule.description, template_values(job, line))
    return MappedLine(
        rule=rule.name,
        description=description,
        quantity=line.quantity,
        unit_amount=_unit(rule, line.unit_price if unit_price is None else unit_price),
        account_code=rule.account_code or "",
        tax_type=rule.tax_type,
        item_code=rule.item_code or line.item_code,
        discount_rate=line.discount_rate,
        discount_amount=line.discount_amount,
        tracking=_tracking(rule, job),
    )


def _subcontractor(policy: SubcontractorPolicy, job: Job, line: JobLine) -> MappedLine | Excluded:
    if policy.mode == "exclude":
        return Excluded(SUBCONTRACTOR_RULE, "subcontractor line excluded by the subcontractors policy")
    # Markup is applied to the unit price and rounded to cents: the client sees a plain price.
    price = round2(line.unit_price * (1 + policy.markup_percent / Decimal(100)))
    rule = Rule(SUBCONTRACTOR_RULE, Match(), policy.account_code, policy.tax_type)
    return _apply(rule, job, line, unit_price=price)


def map_line(ruleset: RuleSet, job: Job, line: JobLine) -> MappedLine | Excluded:
    """Map one job line: subcontractor policy, then the first matching rule, then the default.

    Client price lists and labour hours × rate are applied first, so rules see the real price.
    """
    line = price_line(ruleset.pricing, job, line)
    if line.kind == "subcontractor" and ruleset.subcontractors is not None:
        return _subcontractor(ruleset.subcontractors, job, line)
    for rule in ruleset.lines:
        if matches(rule.when, job, line):
            return _apply(rule, job, line)
    return _apply(ruleset.default, job, line)


def explain(ruleset: RuleSet, job: Job, line: JobLine) -> list[tuple[str, bool, str]]:
    """Every rule with whether it mapped this line and why, for `preview --explain`."""
    if line.kind == "subcontractor" and ruleset.subcontractors is not None:
        mode = ruleset.subcontractors.mode
        return [(SUBCONTRACTOR_RULE, True, f"kind is subcontractor: policy {mode}")]
    out: list[tuple[str, bool, str]] = []
    found = False
    for rule in ruleset.lines:
        if found:
            out.append((rule.name, False, "not tried: an earlier rule matched"))
            continue
        ok, why = _evaluate(rule.when, job, line)
        found = ok
        out.append((rule.name, ok, why))
    if found:
        out.append((DEFAULT_RULE, False, "not used: a rule matched"))
    else:
        out.append((DEFAULT_RULE, True, "no rule matched"))
    return out


# ---------------------------------------------------------------------------
# Loading and validation
# ---------------------------------------------------------------------------

_WHEN_KEYS = {"kind", "item_code", "description", "job_type", "client", "sign", "all", "any"}
_SETTER_KEYS = {"account_code", "tax_type", "item_code", "tracking", "description", "unitdp"}
_RULE_KEYS = {"name", "when", "exclude"} | _SETTER_KEYS
_SUB_KEYS = {"mode", "account_code", "tax_type", "markup_percent"}
_KINDS = ("labour", "material", "subcontractor", "fee", "other")


class _Problems(list[str]):
    def unknown(self, data: Mapping[str, object], allowed: set[str], path: str) -> None:
        for key in data:
            if key not in allowed:
                self.append(f"{path}.{key}: unknown key (allowed: {', '.join(sorted(allowed))})")


def _strs(value: object, path: str, problems: _Problems) -> tuple[str, ...]:
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


def _opt_str(data: Mapping[str, object], key: str, path: str, problems: _Problems) -> str | None:
    if key not in data or data[key] is None:
        return None
    v = data[key]
    if isinstance(v, bool) or not isinstance(v, str | int) or str(v).strip() == "":
        problems.append(f"{path}.{key}: expected non-empty text")
        return None
    return str(v)


def _load_when(data: object, path: str, problems: _Problems) -> Match:
    if not isinstance(data, Mapping):
        problems.append(f"{path}: expected a mapping of conditions")
        return Match()
    problems.unknown(data, _WHEN_KEYS, path)
    kinds = _strs(data["kind"], f"{path}.kind", problems) if "kind" in data else ()
    for k in kinds:
        if k not in _KINDS:
            problems.append(f"{path}.kind: {k!r} is not one of {', '.join(_KINDS)}")
    pattern = None
    if "description" in data:
        raw = data["description"]
        if not isinstance(raw, str):
            problems.append(f"{path}.description: expected a regex string")
        else:
            try:
                pattern = re.compile(raw, re.IGNORECASE)
            except re.error as exc:
                problems.append(f"{path}.description: bad regex {raw!r}: {exc}")
    sign = data.get("sign")
    if sign is not None and sign not in ("positive", "negative"):
        problems.append(f"{path}.sign: expected positive or negative, got {sign!r}")
        sign = None
    subs: dict[str, tuple[Match, ...]] = {}
    for key in ("all", "any"):
        raw = data.get(key)
        if raw is not None and not isinstance(raw, list):
            problems.append(f"{path}.{key}: expected a list of conditions")
            raw = None
        subs[key] = tuple(_load_when(s, f"{path}.{key}[{i}]", problems) for i, s in enumerate(raw or []))
    return Match(
        kinds=kinds,
        item_codes=_strs(data["item_code"], f"{path}.item_code", problems) if "item_code" in data else (),
        description=pattern,
        job_types=_strs(data["job_type"], f"{path}.job_type", problems) if "job_type" in data else (),
        clients=_strs(data["client"], f"{path}.client", problems) if "client" in data else (),
        sign=sign if isinstance(sign, str) else None,
        all=subs["all"],
        any=subs["any"],
    )


def _load_tracking(data: object, path: str, problems: _Problems) -> tuple[Tracking, ...]:
    if not isinstance(data, list):
        problems.append(f"{path}: expected a list of {{category, option | field}}")
        return ()
    if len(data) > 2:
        problems.append(f"{path}: Xero allows at most 2 tracking categories per line, got {len(data)}")
    out: list[Tracking] = []
    for i, item in enumerate(data):
        where = f"{path}[{i}]"
        if not isinstance(item, Mapping):
            problems.append(f"{where}: expected a mapping with category and option or field")
            continue
        problems.unknown(item, {"category", "option", "field"}, where)
        category = _opt_str(item, "category", where, problems)
        option = _opt_str(item, "option", where, problems)
        field = _opt_str(item, "field", where, problems)
        if category is None:
            problems.append(f"{where}.category: required")
        if (option is None) == (field is None):
            problems.append(f"{where}: give exactly one of option or field")
        if category is not None:
            out.append(Tracking(category, option, field))
    return tuple(out)


def _load_setters(data: Mapping[str, object], path: str, problems: _Problems, need_account: bool) -> dict:
    account = _opt_str(data, "account_code", path, problems)
    if need_account and account is None and "account_code" not in data:
        problems.append(f"{path}.account_code: required")
    unitdp = data.get("unitdp")
    if unitdp is not None and (isinstance(unitdp, bool) or unitdp not in (2, 4)):
        problems.append(f"{path}.unitdp: expected 2 or 4, got {unitdp!r}")
        unitdp = None
    description = _opt_str(data, "description", path, problems)
    if description is not None:
        problems.extend(f"{path}.description: {p}" for p in check_template(description, line=True))
    tracking = _load_tracking(data["tracking"], f"{path}.tracking", problems) if "tracking" in data else ()
    return {
        "account_code": account,
        "tax_type": _opt_str(data, "tax_type", path, problems),
        "item_code": _opt_str(data, "item_code", path, problems),
        "tracking": tracking,
        "description": description,
        "unitdp": unitdp,
    }


def _load_rule(data: object, path: str, problems: _Problems) -> Rule | None:
    if not isinstance(data, Mapping):
        problems.append(f"{path}: expected a mapping with name, when and account_code")
        return None
    problems.unknown(data, _RULE_KEYS, path)
    name = _opt_str(data, "name", path, problems)
    if name is None:
        problems.append(f"{path}.name: required")
    if "when" not in data:
        problems.append(f"{path}.when: required")
    exclude = data.get("exclude", False)
    if not isinstance(exclude, bool):
        problems.append(f"{path}.exclude: expected true or false")
        exclude = False
    when = _load_when(data.get("when", {}), f"{path}.when", problems)
    setters = _load_setters(data, path, problems, need_account=not exclude)
    return Rule(name=name or "?", when=when, exclude=exclude, **setters)


def _load_subcontractors(data: object, path: str, problems: _Problems) -> SubcontractorPolicy | None:
    if not isinstance(data, Mapping):
        problems.append(f"{path}: expected a mapping with mode")
        return None
    problems.unknown(data, _SUB_KEYS, path)
    mode = data.get("mode")
    if mode not in ("passthrough", "exclude"):
        problems.append(f"{path}.mode: expected passthrough or exclude, got {mode!r}")
        return None
    account = _opt_str(data, "account_code", path, problems)
    if mode == "passthrough" and account is None:
        problems.append(f"{path}.account_code: required when mode is passthrough")
    raw = data.get("markup_percent", 0)
    markup = Decimal("0")
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        problems.append(f"{path}.markup_percent: expected a number")
    else:
        try:
            markup = Decimal(str(raw))  # via str: a YAML float 12.5 stays exactly 12.5
        except ArithmeticError:
            problems.append(f"{path}.markup_percent: expected a number, got {raw!r}")
        if markup < 0:
            problems.append(f"{path}.markup_percent: must not be negative")
    return SubcontractorPolicy(mode, account, _opt_str(data, "tax_type", path, problems), markup)


def load_rules(data: object, path: str = "rules") -> RuleSet:
    """Validate the raw `rules:` mapping; raise ConfigError listing every problem at once."""
    problems = _Problems()
    if not isinstance(data, Mapping):
        raise ConfigError("rules are invalid", [f"{path}: expected a mapping with lines and default"])
    problems.unknown(data, {"lines", "default", "subcontractors", "pricing"}, path)
    raw_lines = data.get("lines", [])
    if not isinstance(raw_lines, list):
        problems.append(f"{path}.lines: expected a list of rules")
        raw_lines = []
    rules = [_load_rule(r, f"{path}.lines[{i}]", problems) for i, r in enumerate(raw_lines)]
    seen: set[str] = set()
    for i, rule in enumerate(rules):
        if rule is None:
            continue
        if rule.name in seen or rule.name in (DEFAULT_RULE, SUBCONTRACTOR_RULE):
            problems.append(f"{path}.lines[{i}].name: {rule.name!r} is already used")
        seen.add(rule.name)
    default = _load_default(data.get("default"), f"{path}.default", problems)
    subs = None
    if data.get("subcontractors") is not None:
        subs = _load_subcontractors(data["subcontractors"], f"{path}.subcontractors", problems)
    pricing = load_pricing(data.get("pricing"), f"{path}.pricing", problems)
    if problems:
        raise ConfigError("rules are invalid", list(problems))
    return RuleSet(tuple(r for r in rules if r is not None), default, subs, pricing)


def _load_default(data: object, path: str, problems: _Problems) -> Rule:
    if not isinstance(data, Mapping):
        problems.append(f"{path}: required: a mapping with account_code (and tax_type)")
        return Rule(DEFAULT_RULE, Match())
    problems.unknown(data, _SETTER_KEYS, path)
    return replace(Rule(DEFAULT_RULE, Match()), **_load_setters(data, path, problems, need_account=True))
