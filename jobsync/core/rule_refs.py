"""What the mapping rules name in Xero (accounts, tax types, tracking) against what the organisation has. Pure."""

from __future__ import annotations

from jobsync.core.account_purpose import doubt, refusal
from jobsync.core.models import XeroRefs
from jobsync.core.rules import RuleSet


def tracking_problems(ruleset: RuleSet, refs: XeroRefs) -> list[str]:
    """Fixed category/option pairs the rules name that Xero lacks or has archived (field-fed options vary per job)."""
    if refs.tracking is None:
        return []
    problems: list[str] = []
    for rule in (*ruleset.lines, ruleset.default):
        for t in rule.tracking:
            options = refs.tracking.get(t.category)
            if options is None:
                problems.append(f"rule {rule.name!r}: tracking category {t.category!r} does not exist or is archived")
            elif t.option is not None and t.option not in options:
                problems.append(
                    f"rule {rule.name!r}: tracking option {t.category}={t.option!r} does not exist or is archived"
                )
    return list(dict.fromkeys(problems))


def rule_references(ruleset: RuleSet) -> list[tuple[str, str | None, str | None]]:
    """(rule name, account code, tax type) for every rule, the default and the subcontractor policy."""
    refs = [(r.name, r.account_code, r.tax_type) for r in (*ruleset.lines, ruleset.default) if not r.exclude]
    subs = ruleset.subcontractors
    if subs is not None and subs.mode == "passthrough":
        refs.append(("subcontractors", subs.account_code, subs.tax_type))
    return refs


def reference_problems(ruleset: RuleSet, refs: XeroRefs) -> list[str]:
    problems: list[str] = []
    for rule, code, tax in rule_references(ruleset):
        account = refs.accounts.get(code) if code else None
        if code and account is None:
            problems.append(f"rule {rule!r}: account {code} does not exist")
        elif account is not None and account.status != "ACTIVE":
            problems.append(f"rule {rule!r}: account {code} is {account.status}")
        elif account is not None and (why := refusal(account)):
            problems.append(f"rule {rule!r}: {why}")
        rate = refs.tax_rates.get(tax) if tax else None
        if tax and rate is None:
            problems.append(f"rule {rule!r}: tax type {tax} does not exist")
        elif rate is not None and rate.status != "ACTIVE":
            problems.append(f"rule {rule!r}: tax type {tax} is {rate.status}")
    return list(dict.fromkeys(problems))


def purpose_doubts(ruleset: RuleSet, refs: XeroRefs) -> list[str]:
    """Rules whose account takes a sales line but is most likely the wrong kind of account for one."""
    doubts = []
    for rule, code, _ in rule_references(ruleset):
        account = refs.accounts.get(code) if code else None
        if account is not None and (why := doubt(account)):
            doubts.append(f"rule {rule!r}: {why}")
    return list(dict.fromkeys(doubts))
