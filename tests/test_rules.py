from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path

import pytest
import yaml

from jobsync.core.errors import ConfigError
from jobsync.core.models import Client, Job, JobLine
from jobsync.core.rules import Excluded, MappedLine, explain, load_rules, map_line

T = datetime(2026, 11, 24, 14, 30, tzinfo=UTC)


def job(*lines: JobLine, job_type: str | None = None, fields: tuple = (), client: str = "Acme") -> Job:
    return Job(
        source="csv",
        id="J1",
        number="1042",
        status="Completed",
        changed_at=T,
        completed_at=T,
        client=Client(id="C1", name=client),
        lines=lines,
        job_type=job_type,
        purchase_order="PO-9",
        fields=fields,
    )


def line(kind: str = "labour", desc: str = "Labour", qty: str = "1", price: str = "100", **kw) -> JobLine:
    return JobLine(kind=kind, description=desc, quantity=D(qty), unit_price=D(price), **kw)


BASE = {
    "lines": [
        {"name": "labour", "when": {"kind": "labour"}, "account_code": "200", "tax_type": "OUTPUT"},
        {"name": "materials", "when": {"kind": "material"}, "account_code": 210, "tax_type": "OUTPUT"},
        {"name": "call-out fees", "when": {"description": "call[- ]?out"}, "account_code": "260"},
    ],
    "default": {"account_code": "299", "tax_type": "OUTPUT"},
}


def rules(**extra: object) -> object:
    return load_rules({**BASE, **extra})


def test_config_example_rules_load() -> None:
    raw = yaml.safe_load((Path(__file__).parent.parent / "config.example.yaml").read_text())
    rs = load_rules(raw["rules"])
    assert [r.name for r in rs.lines] == ["labour", "materials", "call-out fees"]
    assert rs.subcontractors is not None and rs.subcontractors.mode == "passthrough"


def test_first_match_wins_and_records_rule() -> None:
    rs = rules()
    # a labour line described "call out" matches "labour" first, not "call-out fees"
    m = map_line(rs, job(), line("labour", "Call out labour"))
    assert isinstance(m, MappedLine)
    assert (m.rule, m.account_code, m.tax_type) == ("labour", "200", "OUTPUT")


def test_description_regex_case_insensitive() -> None:
    m = map_line(rules(), job(), line("fee", "CALL-OUT fee"))
    assert isinstance(m, MappedLine)
    assert (m.rule, m.account_code, m.tax_type) == ("call-out fees", "260", None)


def test_numeric_account_code_is_text_and_default_used() -> None:
    rs = rules()
    m = map_line(rs, job(), line("material", "Pipe"))
    assert isinstance(m, MappedLine) and m.account_code == "210"
    d = map_line(rs, job(), line("other", "Skip bin"))
    assert isinstance(d, MappedLine) and (d.rule, d.account_code) == ("default", "299")


def test_subcontractor_passthrough_with_markup() -> None:
    rs = rules(subcontractors={"mode": "passthrough", "account_code": "310", "markup_percent": 12.5})
    m = map_line(rs, job(), line("subcontractor", "Sparky", qty="2", price="123.45"))
    assert isinstance(m, MappedLine)
    # 123.45 × 1.125 = 138.88125 → 138.88
    assert (m.rule, m.account_code, m.unit_amount, m.quantity) == (
        "subcontractors",
        "310",
        D("138.88"),
        D("2"),
    )


def test_subcontractor_exclude() -> None:
    rs = rules(subcontractors={"mode": "exclude"})
    m = map_line(rs, job(), line("subcontractor", "Sparky"))
    assert isinstance(m, Excluded) and m.rule == "subcontractors"


def test_subcontractor_without_policy_uses_rules() -> None:
    m = map_line(rules(), job(), line("subcontractor", "Sparky"))
    assert isinstance(m, MappedLine) and m.rule == "default"


def test_job_type_client_sign_all_any() -> None:
    rs = load_rules(
        {
            "lines": [
                {"name": "credits", "when": {"sign": "negative"}, "account_code": "400"},
                {
                    "name": "strata-maint",
                    "when": {
                        "all": [
                            {"job_type": "Maintenance"},
                            {"any": [{"client": "Strata Co"}, {"client": "C9"}]},
                        ]
                    },
                    "account_code": "205",
                },
            ],
            "default": {"account_code": "200"},
        }
    )
    neg = map_line(rs, job(), line(price="-20"))
    assert isinstance(neg, MappedLine) and neg.rule == "credits"
    hit = map_line(rs, job(job_type="maintenance", client="STRATA CO"), line())
    assert isinstance(hit, MappedLine) and hit.rule == "strata-maint"
    miss = map_line(rs, job(job_type="Install", client="Strata Co"), line())
    assert isinstance(miss, MappedLine) and miss.rule == "default"


def test_description_template_tracking_unitdp_item() -> None:
    rs = load_rules(
        {
            "lines": [
                {
                    "name": "labour",
                    "when": {"kind": "labour", "item_code": "lab"},
                    "account_code": "200",
                    "item_code": "LAB-STD",
                    "description": "{description} (job {job.number}, PO {job.purchase_order})",
                    "tracking": [
                        {"category": "Region", "field": "region"},
                        {"category": "Dept", "option": "Svc"},
                    ],
                    "unitdp": 2,
                }
            ],
            "default": {"account_code": "200"},
        }
    )
    j = job(fields=(("region", "North"),))
    m = map_line(rs, j, line(desc="Fit-off", price="85.555", item_code="LAB"))
    assert isinstance(m, MappedLine)
    assert m.description == "Fit-off (job 1042, PO PO-9)"
    assert m.tracking == (("Region", "North"), ("Dept", "Svc"))
    assert m.unit_amount == D("85.56")
    assert m.item_code == "LAB-STD"
    # the job lacks the region field: that category is left off
    m2 = map_line(rs, job(), line(desc="Fit-off", item_code="LAB"))
    assert isinstance(m2, MappedLine) and m2.tracking == (("Dept", "Svc"),)


def test_exclude_rule_and_discount_carried() -> None:
    rs = load_rules(
        {
            "lines": [{"name": "internal", "when": {"description": "^internal"}, "exclude": True}],
            "default": {"account_code": "200"},
        }
    )
    assert isinstance(map_line(rs, job(), line(desc="Internal note")), Excluded)
    m = map_line(rs, job(), line(desc="Tap", discount_rate=D("10")))
    assert isinstance(m, MappedLine) and m.discount_rate == D("10")


def test_explain() -> None:
    out = explain(rules(), job(), line("fee", "Call-out"))
    assert [(n, ok) for n, ok, _ in out] == [
        ("labour", False),
        ("materials", False),
        ("call-out fees", True),
        ("default", False),
    ]
    assert "fee" in out[0][2] and "call[- ]?out" in out[2][2]


def test_all_problems_reported_at_once() -> None:
    bad = {
        "lines": [
            {"name": "a", "when": {"kind": "labour"}, "account_code": "200", "colour": "red"},
            {"name": "a", "when": {"kind": "wizardry"}, "account_code": "200"},
            {"name": "c", "when": {"description": "call(out"}, "account_code": "200"},
            {"name": "d", "when": {"kind": "fee", "sign": "up"}},
            {"name": "e", "when": {}, "account_code": "1", "unitdp": 3, "description": "{job.secret}"},
        ],
        "subcontractors": {"mode": "passthrough", "markup_percent": "lots"},
        "extra": 1,
    }
    with pytest.raises(ConfigError) as exc:
        load_rules(bad)
    problems = exc.value.problems
    expected_prefixes = [
        "rules.lines[0].colour: unknown key",
        "rules.lines[1].when.kind: 'wizardry'",
        "rules.lines[1].name: 'a' is already used",
        "rules.lines[2].when.description: bad regex",
        "rules.lines[3].when.sign",
        "rules.lines[3].account_code: required",
        "rules.lines[4].unitdp",
        "rules.lines[4].description: unknown name {job.secret}",
        "rules.default: required",
        "rules.subcontractors.account_code: required",
        "rules.subcontractors.markup_percent",
        "rules.extra: unknown key",
    ]
    for prefix in expected_prefixes:
        assert any(p.startswith(prefix) for p in problems), (prefix, problems)
    assert exc.value.message == "rules are invalid"


def test_tracking_limit() -> None:
    three = [{"category": c, "option": "x"} for c in "ABC"]
    with pytest.raises(ConfigError) as exc:
        load_rules({"lines": [], "default": {"account_code": "200", "tracking": three}})
    assert any("at most 2" in p for p in exc.value.problems)
