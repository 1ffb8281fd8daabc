"""Mapping rules: which Xero account, tax type, item and tracking each job line goes to.

Rules come from the `rules:` section of the config. They are tried in order and the
first whose `when` matches maps the line; lines no rule matches use `default`.
Subcontractor lines follow the `subcontractors` policy when one is configured.
Every mapped line records the name of the rule that produced it. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from jobsync.core.errors import ConfigError, echo
from jobsync.core.models import Job, JobLine
from jobsync.core.money import round2, round4
from jobsync.core.numbers import config_decimal
from jobsync.core.pricing import NO_PRICING, Pricing, load_pricing, price_line
from jobsync.core.rule_conditions import Match, Problems, evaluate, load_when, matches, opt_str
from jobsync.core.source_tax import SourceTax, tax_key
from jobsync.core.templates import check_template, render_template, template_values

SUBCONTRACTOR_RULE = "subcontractors"
DEFAULT_RULE = "default"


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
    tax_override: bool = False  # the rule's tax_type wins even over a tax the job system states


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
    tax_map: Mapping[str, str] = field(default_factory=dict)  # tax_key(source tax) -> Xero TaxType


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
    source_tax: SourceTax | None = None  # set when the job system's tax decides the tax type


@dataclass(frozen=True)
class Excluded:
    """A job line deliberately left off the client's invoice."""

    rule: str
    reason: str


# ---------------------------------------------------------------------------
# Matching
# ---------------------------------------------------------------------------


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
        source_tax=None if rule.tax_override else _source_tax(line),
    )


def _source_tax(line: JobLine) -> SourceTax | None:
    name = (line.tax_code or "").strip() or None
    if name is None and line.tax_rate is None:
        return None
    return SourceTax(name, line.tax_rate)


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
    line = price_line(ruleset.pricing, job, line)  # rules see the price map_line would
    if line.kind == "subcontractor" and ruleset.subcontractors is not None:
        mode = ruleset.subcontractors.mode
        return [(SUBCONTRACTOR_RULE, True, f"kind is subcontractor: policy {mode}")]
    out: list[tuple[str, bool, str]] = []
    found = False
    for rule in ruleset.lines:
        if found:
            out.append((rule.name, False, "not tried: an earlier rule matched"))
            continue
        ok, why = evaluate(rule.when, job, line)
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

_SETTER_KEYS = {"account_code", "tax_type", "item_code", "tracking", "description", "unitdp", "tax_override"}
_RULE_KEYS = {"name", "when", "exclude"} | _SETTER_KEYS
_SUB_KEYS = {"mode", "account_code", "tax_type", "markup_percent"}


def _load_tracking(data: object, path: str, problems: Problems) -> tuple[Tracking, ...]:
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
        category = opt_str(item, "category", where, problems)
        option = opt_str(item, "option", where, problems)
        field = opt_str(item, "field", where, problems)
        if category is None:
            problems.append(f"{where}.category: required")
        if (option is None) == (field is None):
            problems.append(f"{where}: give exactly one of option or field")
        if category is not None:
            out.append(Tracking(category, option, field))
    return tuple(out)


def _load_setters(data: Mapping[str, object], path: str, problems: Problems, need_account: bool) -> dict[str, Any]:
    account = opt_str(data, "account_code", path, problems)
    if need_account and account is None and "account_code" not in data:
        problems.append(f"{path}.account_code: required")
    unitdp = data.get("unitdp")
    if unitdp is not None and (isinstance(unitdp, bool) or unitdp not in (2, 4)):
        problems.append(f"{path}.unitdp: expected 2 or 4, got {echo(unitdp)}")
        unitdp = None
    description = opt_str(data, "description", path, problems)
    if description is not None:
        problems.extend(f"{path}.description: {p}" for p in check_template(description, line=True))
    tracking = _load_tracking(data["tracking"], f"{path}.tracking", problems) if "tracking" in data else ()
    override = data.get("tax_override", False)
    if not isinstance(override, bool):
        problems.append(f"{path}.tax_override: expected true or false")
        override = False
    if override and data.get("tax_type") is None:
        problems.append(f"{path}.tax_override: needs the tax_type that overrides the job system's tax")
    return {
        "tax_override": override,
        "account_code": account,
        "tax_type": opt_str(data, "tax_type", path, problems),
        "item_code": opt_str(data, "item_code", path, problems),
        "tracking": tracking,
        "description": description,
        "unitdp": unitdp,
    }


def _load_rule(data: object, path: str, problems: Problems) -> Rule | None:
    if not isinstance(data, Mapping):
        problems.append(f"{path}: expected a mapping with name, when and account_code")
        return None
    problems.unknown(data, _RULE_KEYS, path)
    name = opt_str(data, "name", path, problems)
    if name is None:
        problems.append(f"{path}.name: required")
    if "when" not in data:
        problems.append(f"{path}.when: required")
    exclude = data.get("exclude", False)
    if not isinstance(exclude, bool):
        problems.append(f"{path}.exclude: expected true or false")
        exclude = False
    when = load_when(data.get("when", {}), f"{path}.when", problems)
    setters = _load_setters(data, path, problems, need_account=not exclude)
    return Rule(name=name or "?", when=when, exclude=exclude, **setters)


def _load_subcontractors(data: object, path: str, problems: Problems) -> SubcontractorPolicy | None:
    if not isinstance(data, Mapping):
        problems.append(f"{path}: expected a mapping with mode")
        return None
    problems.unknown(data, _SUB_KEYS, path)
    mode = data.get("mode")
    if mode not in ("passthrough", "exclude"):
        problems.append(f"{path}.mode: expected passthrough or exclude, got {echo(mode)}")
        return None
    account = opt_str(data, "account_code", path, problems)
    if mode == "passthrough" and account is None:
        problems.append(f"{path}.account_code: required when mode is passthrough")
    markup = config_decimal(data.get("markup_percent", 0), f"{path}.markup_percent", problems) or Decimal("0")
    if markup < 0:
        problems.append(f"{path}.markup_percent: must not be negative")
    return SubcontractorPolicy(mode, account, opt_str(data, "tax_type", path, problems), markup)


def load_rules(data: object, path: str = "rules") -> RuleSet:
    """Validate the raw `rules:` mapping; raise ConfigError listing every problem at once."""
    problems = Problems()
    if not isinstance(data, Mapping):
        raise ConfigError("rules are invalid", [f"{path}: expected a mapping with lines and default"])
    problems.unknown(data, {"lines", "default", "subcontractors", "pricing", "tax_map"}, path)
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
            problems.append(f"{path}.lines[{i}].name: {echo(rule.name)} is already used")
        seen.add(rule.name)
    default = _load_default(data.get("default"), f"{path}.default", problems)
    subs = None
    if data.get("subcontractors") is not None:
        subs = _load_subcontractors(data["subcontractors"], f"{path}.subcontractors", problems)
    pricing = load_pricing(data.get("pricing"), f"{path}.pricing", problems)
    tax_map = _load_tax_map(data.get("tax_map"), f"{path}.tax_map", problems)
    if problems:
        raise ConfigError("rules are invalid", list(problems))
    return RuleSet(tuple(r for r in rules if r is not None), default, subs, pricing, tax_map)


def _load_tax_map(data: object, path: str, problems: Problems) -> dict[str, str]:
    """{source tax name or rate: Xero TaxType}; keys compared as tax_key compares them."""
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        problems.append(f"{path}: expected a mapping of the job system's tax (name or rate) to a Xero TaxType")
        return {}
    out: dict[str, str] = {}
    for key, value in data.items():
        if isinstance(key, bool) or not isinstance(key, str | int | float) or not str(key).strip():
            problems.append(f"{path}: key {echo(key)} is not a tax name or rate")
            continue
        if isinstance(value, bool) or not isinstance(value, str) or not value.strip():
            problems.append(f"{path}.{key}: expected a Xero TaxType such as OUTPUT, got {echo(value)}")
            continue
        normalised = tax_key(str(key))
        if normalised in out:
            problems.append(f"{path}.{key}: the same tax as another key")
        out[normalised] = value.strip()
    return out


def _load_default(data: object, path: str, problems: Problems) -> Rule:
    if not isinstance(data, Mapping):
        problems.append(f"{path}: required: a mapping with account_code (and tax_type)")
        return Rule(DEFAULT_RULE, Match())
    problems.unknown(data, _SETTER_KEYS, path)
    return replace(Rule(DEFAULT_RULE, Match()), **_load_setters(data, path, problems, need_account=True))
