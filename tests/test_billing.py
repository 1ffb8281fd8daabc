from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from jobsync.core.billing import load_billing, stages_for
from jobsync.core.errors import ConfigError
from jobsync.core.models import Job

T = datetime(2026, 11, 24, tzinfo=UTC)

POLICY = load_billing(
    {
        "stages": [
            {"name": "deposit", "status": "Work Order", "percent": 30, "account_code": "850"},
            {"name": "progress", "status": "In Progress", "percent": 40, "account_code": "850"},
            {"name": "final", "status": "Completed", "remainder": True},
        ]
    }
)


def job(status: str) -> Job:
    return Job("csv", "J1", "1042", status, T, T, None)


def test_no_policy_single_final_stage() -> None:
    [stage] = stages_for(job("Completed"), None, {}, D("1000.00"))
    assert (stage.name, stage.amount, stage.final, stage.earlier, stage.reference_suffix) == (
        "final",
        D("1000.00"),
        True,
        (),
        "",
    )
    assert stages_for(job("Completed"), None, {"final": D("1000.00")}, D("1000.00")) == []


def test_deposit_fires_at_its_status() -> None:
    [dep] = stages_for(job("work order"), POLICY, {}, D("1000.00"))
    assert (dep.name, dep.amount, dep.final, dep.reference_suffix) == (
        "deposit",
        D("300.00"),
        False,
        "-deposit",
    )


def test_crossed_stages_bill_in_order_and_final_nets_earlier() -> None:
    due = stages_for(job("Completed"), POLICY, {"deposit": D("300.00")}, D("1000.00"))
    assert [(s.name, s.amount) for s in due] == [("progress", D("400.00")), ("final", D("300.00"))]
    assert due[1].earlier == (("deposit", D("300.00")), ("progress", D("400.00")))


def test_total_changed_after_deposit() -> None:
    billed = {"deposit": D("300.00"), "progress": D("400.00")}
    [final] = stages_for(job("Completed"), POLICY, billed, D("1100.00"))
    assert final.amount == D("400.00")  # 1100 − 300 − 400


def test_over_billing_gives_negative_remainder() -> None:
    billed = {"deposit": D("300.00"), "progress": D("400.00")}
    [final] = stages_for(job("Completed"), POLICY, billed, D("600.00"))
    assert final.amount == D("-100.00")


def test_stage_capped_at_what_is_left() -> None:
    # 40 % of 400 = 160 but only 400 − 300 = 100 is left
    [prog] = stages_for(job("In Progress"), POLICY, {"deposit": D("300.00")}, D("400.00"))
    assert prog.amount == D("100.00")


def test_status_flapping_never_rebills() -> None:
    assert stages_for(job("Work Order"), POLICY, {"deposit": D("300.00")}, D("1000.00")) == []
    assert stages_for(job("Quoted"), POLICY, {}, D("1000.00")) == []


def test_percent_rounding_and_exact_remainder() -> None:
    # 333.33 × 30 % = 99.999 → 100.00; final = 333.33 − 100.00 − 133.33 (40 % = 133.332 → 133.33)
    due = stages_for(job("Completed"), POLICY, {}, D("333.33"))
    assert [(s.name, s.amount) for s in due] == [
        ("deposit", D("100.00")),
        ("progress", D("133.33")),
        ("final", D("100.00")),
    ]


def test_flat_stage() -> None:
    policy = load_billing(
        {
            "stages": [
                {"name": "callout", "status": "Booked", "amount": "99.50", "account_code": "200"},
                {"name": "final", "status": "Completed", "remainder": True, "reference_suffix": "-F"},
            ]
        }
    )
    due = stages_for(job("Completed"), policy, {}, D("500"))
    assert [(s.name, s.amount, s.reference_suffix) for s in due] == [
        ("callout", D("99.50"), "-callout"),
        ("final", D("400.50"), "-F"),
    ]


def test_load_billing_problems_all_at_once() -> None:
    with pytest.raises(ConfigError) as exc:
        load_billing(
            {
                "stages": [
                    {"name": "deposit", "status": "Work Order", "percent": 130},
                    {"name": "x", "status": "", "percent": 10, "amount": 5, "colour": 1, "account_code": "1"},
                ]
            }
        )
    text = "\n".join(exc.value.problems)
    for needle in (
        "stages[0].percent: must be more than 0",
        "stages[0].account_code: required",
        "stages[1].colour: unknown key",
        "stages[1].status: required",
        "stages[1]: give exactly one",
        "only it, must have remainder",
    ):
        assert needle in text, needle
    assert load_billing(None) is None
