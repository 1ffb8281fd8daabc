"""Property: with discounts, price lists, labour hours, inclusive prices and three billing stages,
every planned invoice's totals equal the totals the sandbox computes when it is created.

The sandbox's arithmetic shares no code with jobsync's (the architecture test keeps them
apart), so agreement is two independent implementations agreeing to the cent.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobsync.core.billing import load_billing
from jobsync.core.models import Client, ContactSnapshot, Job, JobLine
from jobsync.core.plan import PlanSettings, build_plan
from jobsync.core.rules import load_rules
from jobsync.sandbox.xero.server import XeroSandbox
from jobsync.xero.client import XeroClient
from jobsync.xero.gateway import NewContact
from jobsync.xero.keys import idempotency_key

NOW = datetime(2026, 11, 25, tzinfo=UTC)
CLIENT = Client(id="C1", name="Property Test Client", email="prop@test.example")


def _rules(mode: str) -> object:
    return load_rules(
        {
            "lines": [{"name": "labour", "when": {"kind": "labour"}, "account_code": "205", "tax_type": "OUTPUT"}],
            "default": {"account_code": "210", "tax_type": "OUTPUT"},
            "pricing": {
                "labour_rate": "92.50",
                "job_discount": {"mode": mode, "account_code": "260", "tax_type": "OUTPUT"},
                "clients": [{"client": "C1", "prices": {"VAL": "17.3333"}}],
            },
        }
    )


STAGED = PlanSettings(
    billing=load_billing(
        {
            "stages": [
                {"name": "deposit", "status": "Work Order", "percent": 30, "account_code": "835", "tax_type": "OUTPUT"},
                {
                    "name": "progress",
                    "status": "In Progress",
                    "amount": "123.45",
                    "account_code": "835",
                    "tax_type": "OUTPUT",
                },
                {"name": "final", "status": "Completed", "remainder": True},
            ]
        }
    )
)


def _decimal(places: int, low: str, high: str) -> st.SearchStrategy[Decimal]:
    return st.decimals(
        min_value=Decimal(low), max_value=Decimal(high), places=places, allow_nan=False, allow_infinity=False
    )


line = st.builds(
    JobLine,
    kind=st.sampled_from(["labour", "material", "fee"]),
    description=st.just("Work"),
    quantity=st.one_of(_decimal(2, "0.25", "40"), _decimal(0, "-2", "-1")),  # some credit lines
    unit_price=_decimal(4, "0.01", "2500"),
    discount_rate=st.one_of(st.none(), _decimal(2, "0", "100")),
    item_code=st.sampled_from([None, "VAL"]),
    hours=st.one_of(st.none(), _decimal(2, "0.25", "12")),
)
job = st.tuples(
    st.lists(line, min_size=1, max_size=5),
    st.one_of(st.none(), _decimal(1, "0", "25")),  # job discount percent
    st.booleans(),  # prices include tax
)


@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(jobs=st.lists(job, min_size=1, max_size=3), mode=st.sampled_from(["lines", "line"]), staged=st.booleans())
def test_planned_totals_equal_the_sandbox_totals(jobs: list, mode: str, staged: bool) -> None:
    with XeroSandbox(port=0) as sandbox:
        gateway = XeroClient(sandbox.api_url, sandbox.tenant_id, lambda: "sandbox")
        refs = gateway.read_refs()
        [created] = gateway.create_contacts([NewContact(name=CLIENT.name, contact_number="prop:C1")])
        assert created.id
        snapshot = ContactSnapshot(client_map={"prop:C1": created.id}, contacts=())
        values = [
            Job(
                source="prop",
                id=f"J{i}",
                number=f"P-{i}",
                status="Completed",
                changed_at=NOW,
                completed_at=NOW,
                client=CLIENT,
                discount_percent=pct,
                lines=tuple(replace(ln, tax_inclusive=inclusive, rate=None) for ln in job_lines),
            )
            for i, (job_lines, pct, inclusive) in enumerate(jobs)
        ]
        plan = build_plan(values, {}, _rules(mode), refs, snapshot, STAGED if staged else PlanSettings(), NOW)
        drafts = list(plan.drafts)
        # the only holds: nothing (or less than nothing) to bill
        assert all("total" in h.reason or "remainder" in h.reason or "DiscountRate" in h.reason for h in plan.held), (
            plan.held
        )
        if not drafts:
            return
        ids = [created.id] * len(drafts)
        body = gateway.invoice_body(drafts, ids)
        results = gateway.create_invoices(drafts, ids, idempotency_key(sandbox.tenant_id, body))
        stored = {inv["InvoiceID"]: inv for inv in sandbox.invoices()}
        for draft, result in zip(drafts, results, strict=True):
            assert result.ok, (draft.reference, result.errors)
            inv = stored[result.id]
            assert (Decimal(str(inv["SubTotal"])), Decimal(str(inv["TotalTax"])), Decimal(str(inv["Total"]))) == (
                draft.subtotal,
                draft.total_tax,
                draft.total,
            ), f"{draft.reference}: jobsync and the sandbox disagree"
