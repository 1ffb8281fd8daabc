"""Property: for random jobs and rules, the totals jobsync plans are the totals the sandbox computes.

The sandbox's arithmetic shares no code with jobsync's (the architecture test keeps
`jobsync/sandbox/` apart), so agreement here is two independent implementations of
Xero's per-line rounding agreeing to the cent.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jobsync.core.models import Client, ContactSnapshot, Job, JobLine
from jobsync.core.plan import PlanSettings, build_plan
from jobsync.core.rules import load_rules
from jobsync.sandbox.xero.server import XeroSandbox
from jobsync.xero.client import XeroClient
from jobsync.xero.gateway import NewContact
from jobsync.xero.keys import idempotency_key

RULES = load_rules(
    {
        "lines": [
            {"name": "labour", "when": {"kind": "labour"}, "account_code": "205", "tax_type": "OUTPUT"},
            {"name": "gst-free", "when": {"description": "^free"}, "account_code": "260", "tax_type": "EXEMPTOUTPUT"},
        ],
        "default": {"account_code": "210", "tax_type": "OUTPUT"},
    }
)
NOW = datetime(2026, 11, 25, tzinfo=UTC)


def _decimal(places: int, low: str, high: str) -> st.SearchStrategy[Decimal]:
    return st.decimals(
        min_value=Decimal(low), max_value=Decimal(high), places=places, allow_nan=False, allow_infinity=False
    )


lines = st.lists(
    st.builds(
        JobLine,
        kind=st.sampled_from(["labour", "material", "fee"]),
        description=st.sampled_from(["Labour", "Copper pipe", "free inspection", "Valve"]),
        quantity=_decimal(2, "0.25", "40"),
        unit_price=_decimal(4, "0.01", "2500"),
        discount_rate=st.one_of(st.none(), _decimal(2, "0", "50")),
    ),
    min_size=1,
    max_size=6,
)


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(jobs=st.lists(lines, min_size=1, max_size=4))
def test_planned_totals_equal_the_totals_xero_computes(jobs: list[list[JobLine]]) -> None:
    with XeroSandbox(port=0) as sandbox:
        gateway = XeroClient(sandbox.api_url, sandbox.tenant_id, lambda: "sandbox")
        refs = gateway.read_refs()
        client = Client(id="C1", name="Property Test Client", email="prop@test.example")
        created = gateway.create_contacts([NewContact(name=client.name, contact_number="prop:C1")])
        contact_id = created[0].id
        assert contact_id
        snapshot = ContactSnapshot(client_map={"prop:C1": contact_id}, contacts=())
        job_values = [
            Job(
                source="prop",
                id=f"J{i}",
                number=f"P-{i}",
                status="Completed",
                changed_at=NOW,
                completed_at=NOW,
                client=client,
                lines=tuple(job_lines),
            )
            for i, job_lines in enumerate(jobs)
        ]
        plan = build_plan(job_values, {}, RULES, refs, snapshot, PlanSettings(), NOW)
        drafts = [d for d in plan.drafts]
        held_for_total = [h for h in plan.held if "total" in h.reason]
        assert len(drafts) + len(held_for_total) == len(jobs)
        if not drafts:
            return
        ids = [contact_id] * len(drafts)
        results = gateway.create_invoices(
            drafts, ids, idempotency_key(sandbox.tenant_id, gateway.invoice_body(drafts, ids))
        )
        stored = {inv["InvoiceID"]: inv for inv in sandbox.invoices()}
        for draft, result in zip(drafts, results, strict=True):
            assert result.ok, result.errors
            inv = stored[result.id]
            assert (Decimal(str(inv["SubTotal"])), Decimal(str(inv["TotalTax"])), Decimal(str(inv["Total"]))) == (
                draft.subtotal,
                draft.total_tax,
                draft.total,
            ), f"{draft.reference}: jobsync and the sandbox disagree"
