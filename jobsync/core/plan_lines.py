"""Invoice lines for the planner: mapped job lines priced with Xero's arithmetic, job discounts,
and the one-line invoices of billing stages. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from decimal import Decimal

from jobsync.core import source_tax
from jobsync.core.account_purpose import refusal
from jobsync.core.billing import StageRule
from jobsync.core.models import DraftLine, Job, LedgerEntry, XeroRefs
from jobsync.core.money import line_amount, line_tax, net_from_total, round2, unit_amount_for
from jobsync.core.plan_checks import HoldJob
from jobsync.core.pricing import compound_rate, job_discount_percent
from jobsync.core.rules import MappedLine, RuleSet, map_line


def job_lines(job: Job, rules: RuleSet, refs: XeroRefs, lat: str) -> list[DraftLine]:
    mapped = [m for m in (map_line(rules, job, ln) for ln in job.lines) if isinstance(m, MappedLine)]
    if not mapped:
        raise HoldJob(
            "no lines to invoice" + (" (every line was excluded by the rules)" if job.lines else ""),
            "add billable lines to the job, or change the rules that exclude them",
        )
    pct = job_discount_percent(rules.pricing, job)
    by_lines = pct is not None and rules.pricing.job_discount.mode == "lines"
    if by_lines:
        mapped = [_discounted(m, pct) for m in mapped]  # type: ignore[arg-type]
    problems: list[str] = []
    lines = [_draft_line(m, refs, lat, problems, rules.tax_map) for m in mapped]
    if problems:
        raise HoldJob("; ".join(dict.fromkeys(problems)), REFS_FIX)
    out = [ln for ln in lines if ln is not None]
    return out + _discount_lines(job, rules, refs, lat, out, None if by_lines else pct)


def _discounted(m: MappedLine, pct: Decimal) -> MappedLine:
    if m.discount_amount is not None:
        # Xero takes a rate or an amount on a line, never both.
        raise HoldJob(
            f"line {m.description!r} has a discount amount and the job a {pct}% discount",
            "set job_discount.mode: line in rules.pricing, or remove one of the discounts",
        )
    return replace(m, discount_rate=compound_rate(m.discount_rate, pct))


def _discount_lines(
    job: Job, rules: RuleSet, refs: XeroRefs, lat: str, lines: list[DraftLine], pct: Decimal | None
) -> list[DraftLine]:
    """The job discount as one negative line: a percent of the mapped lines, and/or a flat amount."""
    amount = Decimal("0")
    if pct is not None:
        amount += round2(sum((ln.line_amount for ln in lines), Decimal("0")) * pct / 100)
    amount += job.discount_amount or 0
    if amount == 0:
        return []
    jd = rules.pricing.job_discount
    if jd.account_code is None:
        raise HoldJob(
            f"job has a flat discount of {job.discount_amount}, and no account for discount lines",
            "set rules.pricing.job_discount.account_code",
        )
    label = f"{jd.description} {pct.normalize():f}%" if pct is not None and not job.discount_amount else jd.description
    rule = StageRule(name="job-discount", status="*", account_code=jd.account_code, tax_type=jd.tax_type)
    line = single_line(label, -round2(amount), rule, refs, lat)
    return [replace(line, rule="pricing:job_discount")]


REFS_FIX = "fix the account code / tax type in rules (or activate it in Xero), then run again"


def tax_for(
    account_code: str, tax_type: str | None, refs: XeroRefs, problems: list[str]
) -> tuple[str | None, Decimal | None]:
    """(tax type, rate) for a line, or (None, None) after recording why not."""
    account = refs.accounts.get(account_code)
    if account is None:
        problems.append(f"account code {account_code!r} does not exist in the Xero organisation")
        return None, None
    if account.status != "ACTIVE":
        problems.append(f"account code {account_code!r} is {account.status}, not ACTIVE")
        return None, None
    if why := refusal(account):
        problems.append(why)
        return None, None
    chosen = tax_type or account.tax_type
    if not chosen:
        problems.append(f"no tax type: the rule gives none and account {account_code!r} has no default")
        return None, None
    rate = refs.tax_rates.get(chosen)
    if rate is None:
        problems.append(f"tax type {chosen!r} does not exist in the Xero organisation")
        return None, None
    if rate.status != "ACTIVE":
        problems.append(f"tax type {chosen!r} is {rate.status}, not ACTIVE")
        return None, None
    if not rate.can_apply_to_revenue:
        problems.append(f"tax type {chosen!r} ({rate.name}) cannot be used on a sales invoice")
        return None, None
    return chosen, rate.rate


def _draft_line(
    m: MappedLine, refs: XeroRefs, lat: str, problems: list[str], tax_map: Mapping[str, str]
) -> DraftLine | None:
    chosen = m.tax_type
    if m.source_tax is not None:
        chosen, why = source_tax.resolve(m.source_tax, tax_map, refs)
        if chosen is None:
            problems.append(f"line {m.description!r}: {why}")
            return None
    tax_type, rate = tax_for(m.account_code, chosen, refs, problems)
    if tax_type is None or rate is None:
        return None
    # Amounts are computed from the unit amount as it will be sent (≤ 4 dp), as Xero will.
    unit = unit_amount_for(m.unit_amount)
    amount = line_amount(m.quantity, unit, m.discount_rate, m.discount_amount)
    return DraftLine(
        description=m.description,
        quantity=m.quantity,
        unit_amount=unit,
        account_code=m.account_code,
        tax_type=tax_type,
        line_amount=amount,
        tax_amount=line_tax(amount, rate, lat),
        rule=m.rule,
        item_code=m.item_code,
        discount_rate=m.discount_rate,
        discount_amount=m.discount_amount,
        tracking=m.tracking,
        account_name=account_name(m.account_code, refs),
        tax_name=tax_name(tax_type, refs),
    )


def stage_billed(entry: LedgerEntry, rule: StageRule, refs: XeroRefs, lat: str) -> Decimal:
    """What a confirmed earlier stage billed, in line-amount terms, from its recorded total."""
    if entry.total is None:
        raise HoldJob(
            f"the ledger has no total for stage {entry.stage!r}",
            "check the stage's invoice in Xero; the next run re-reads it",
        )
    if rule.remainder:
        return entry.total
    problems: list[str] = []
    _, rate = tax_for(rule.account_code or "", rule.tax_type, refs, problems)
    if rate is None:
        raise HoldJob("; ".join(problems), REFS_FIX)
    return net_from_total(entry.total, rate, lat)


def single_line(description: str, amount: Decimal, rule: StageRule, refs: XeroRefs, lat: str) -> DraftLine:
    problems: list[str] = []
    tax_type, rate = tax_for(rule.account_code or "", rule.tax_type, refs, problems)
    if tax_type is None or rate is None:
        raise HoldJob(f"billing stage {rule.name!r}: " + "; ".join(problems), REFS_FIX)
    return DraftLine(
        description=description,
        quantity=Decimal("1"),
        unit_amount=amount,
        account_code=rule.account_code or "",
        tax_type=tax_type,
        line_amount=amount,
        tax_amount=line_tax(amount, rate, lat),
        rule=f"billing:{rule.name}",
        account_name=account_name(rule.account_code or "", refs),
        tax_name=tax_name(tax_type, refs),
    )


# The organisation's names for a line's account and tax type, for people to read beside the codes.
def account_name(code: str, refs: XeroRefs) -> str:
    account = refs.accounts.get(code)
    return account.name if account else ""


def tax_name(tax_type: str, refs: XeroRefs) -> str:
    rate = refs.tax_rates.get(tax_type)
    return rate.name if rate else ""
