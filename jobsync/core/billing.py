"""Staged billing: which stages of a job are due, and what each bills. Pure: no I/O.

A policy is an ordered list of stages, each triggered by a job status, e.g.
`Work Order → deposit 30%`, `In Progress → progress 40%`, `Completed → final`.
A job seen at a status fires that stage and every earlier stage not yet billed,
in order (so stages crossed between two polls are all billed). A stage already
billed is never billed again, whatever the status does afterwards.

How the final stage bills the remainder: **negative lines, not scaling.** The final
invoice carries the job's full lines plus one negative line per earlier stage, on
that stage's account, for exactly what that stage billed. So a deposit parked on a
liability account is cleared, the client pays exactly the remainder to the cent,
and the final invoice still shows the whole job. A remainder below zero (the job
shrank after a deposit) is reported as negative; the planner holds it and asks for
a credit note rather than sending a negative invoice.

With no policy, every job in a billable status has one stage, "final", billing the
whole job: the spine's single-invoice behaviour.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from jobsync.core.errors import ConfigError
from jobsync.core.models import Job
from jobsync.core.money import round2
from jobsync.core.numbers import config_decimal

FINAL = "final"
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class StageRule:
    """One configured stage. Exactly one of percent / flat / remainder is set."""

    name: str
    status: str  # the job status that triggers it (compared case-insensitively)
    percent: Decimal | None = None  # of the job total (sum of the job's line amounts)
    flat: Decimal | None = None
    remainder: bool = False  # the final stage: the job total less earlier stages
    account_code: str | None = None  # for non-final stages, e.g. an unearned-income account
    tax_type: str | None = None  # None: the account's default tax type
    reference_suffix: str | None = None  # default "-{name}" for non-final stages, "" for final
    invoice_status: str | None = None  # None: the configured invoice status

    @property
    def suffix(self) -> str:
        if self.reference_suffix is not None:
            return self.reference_suffix
        return "" if self.remainder else f"-{self.name}"


@dataclass(frozen=True)
class BillingPolicy:
    stages: tuple[StageRule, ...]  # in billing order; the last is the remainder stage


@dataclass(frozen=True)
class Stage:
    """A stage due now, with its amount in line-amount terms (what the invoice lines sum to)."""

    name: str
    amount: Decimal  # non-final: the stage's own amount; final: the remainder (may be <= 0)
    rule: StageRule
    earlier: tuple[tuple[str, Decimal], ...] = ()  # final only: (stage, amount billed) to net off

    @property
    def final(self) -> bool:
        return self.rule.remainder

    @property
    def reference_suffix(self) -> str:
        return self.rule.suffix


SINGLE = BillingPolicy((StageRule(name=FINAL, status="*", remainder=True),))


def _reached(policy: BillingPolicy, status: str) -> int | None:
    """Index of the last stage the job's status has reached, or None if it triggers none."""
    for i, stage in enumerate(policy.stages):
        if stage.status == "*" or stage.status.casefold() == status.casefold():
            return i
    return None


def stages_for(
    job: Job,
    policy: BillingPolicy | None,
    already_billed: Mapping[str, Decimal],
    job_total: Decimal,
) -> list[Stage]:
    """The stages of `job` due now, in order, each with what it bills.

    `already_billed` maps stage name to the line amount each confirmed earlier invoice
    billed; `job_total` is the sum of the job's mapped line amounts.
    """
    policy = policy or SINGLE
    reached = _reached(policy, job.status)
    if reached is None:
        return []
    billed: dict[str, Decimal] = dict(already_billed)
    due: list[Stage] = []
    for rule in policy.stages[: reached + 1]:
        if rule.name in billed:
            continue
        so_far = sum(billed.values(), Decimal("0"))
        if rule.remainder:
            earlier = tuple((s.name, billed[s.name]) for s in policy.stages if s.name in billed)
            due.append(Stage(rule.name, round2(job_total - so_far), rule, earlier))
            billed[rule.name] = round2(job_total - so_far)
            continue
        wanted = rule.flat if rule.flat is not None else job_total * (rule.percent or 0) / HUNDRED
        # Never bill past 100 %: a stage is capped at what is left of the job.
        amount = min(round2(wanted), round2(job_total - so_far))
        if amount <= 0:
            continue
        due.append(Stage(rule.name, amount, rule))
        billed[rule.name] = amount
    return due


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------

_KEYS = {"name", "status", "percent", "amount", "remainder", "account_code", "tax_type"}
_KEYS |= {"reference_suffix", "invoice_status"}


def _decimal(raw: object, path: str, problems: list[str]) -> Decimal | None:
    if raw is None:
        return None
    return config_decimal(raw, path, problems)


def _load_stage(raw: object, path: str, problems: list[str]) -> StageRule | None:
    if not isinstance(raw, Mapping):
        problems.append(f"{path}: expected a mapping with name, status and percent/amount/remainder")
        return None
    problems.extend(f"{path}.{k}: unknown key" for k in raw if k not in _KEYS)
    name, status = raw.get("name"), raw.get("status")
    for key, value in (("name", name), ("status", status)):
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{path}.{key}: required text")
    percent = _decimal(raw.get("percent"), f"{path}.percent", problems)
    flat = _decimal(raw.get("amount"), f"{path}.amount", problems)
    remainder = raw.get("remainder", False) is True
    if sum((percent is not None, flat is not None, remainder)) != 1:
        problems.append(f"{path}: give exactly one of percent, amount or remainder: true")
    if percent is not None and not 0 < percent <= 100:
        problems.append(f"{path}.percent: must be more than 0 and at most 100")
    account = raw.get("account_code")
    if not remainder and account is None:
        problems.append(f"{path}.account_code: required for a non-final stage")
    status_out = raw.get("invoice_status")
    if status_out is not None and status_out not in ("DRAFT", "AUTHORISED"):
        problems.append(f"{path}.invoice_status: expected DRAFT or AUTHORISED")
    return StageRule(
        name=str(name),
        status=str(status),
        percent=percent,
        flat=flat,
        remainder=remainder,
        account_code=None if account is None else str(account),
        tax_type=None if raw.get("tax_type") is None else str(raw.get("tax_type")),
        reference_suffix=None if raw.get("reference_suffix") is None else str(raw["reference_suffix"]),
        invoice_status=status_out if isinstance(status_out, str) else None,
    )


def load_billing(data: object, path: str = "billing") -> BillingPolicy | None:
    """Validate a raw `billing:` mapping ({stages: [...]}); None when absent."""
    if data is None:
        return None
    problems: list[str] = []
    if not isinstance(data, Mapping) or not isinstance(data.get("stages"), list):
        raise ConfigError("billing is invalid", [f"{path}.stages: expected a list of stages"])
    problems.extend(f"{path}.{k}: unknown key" for k in data if k != "stages")
    stages = [_load_stage(s, f"{path}.stages[{i}]", problems) for i, s in enumerate(data["stages"])]
    valid = [s for s in stages if s is not None]
    names = [s.name for s in valid]
    if len(set(names)) != len(names):
        problems.append(f"{path}.stages: stage names must be unique")
    if not valid or not valid[-1].remainder or sum(s.remainder for s in valid) != 1:
        problems.append(f"{path}.stages: the last stage, and only it, must have remainder: true")
    if problems:
        raise ConfigError("billing is invalid", problems)
    return BillingPolicy(tuple(valid))
