"""Organisation, TaxRates and TrackingCategories are reused for refs_cache_minutes, and re-read after a refusal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from jobsync.sandbox.xero.server import XeroSandbox
from jobsync.xero.client import XeroClient
from tests.test_xero_client import draft

UNCHANGING = ("GET /Organisation", "GET /TaxRates", "GET /TrackingCategories")


class Cache(dict[str, str]):
    def cache_get(self, key: str) -> str | None:
        return self.get(key)

    def cache_put(self, key: str, value: str) -> None:
        self[key] = value


def test_the_unchanging_references_are_read_once_an_hour_and_again_after_a_refusal() -> None:
    now = [datetime(2026, 12, 1, 9, 0, tzinfo=UTC)]
    cache = Cache()
    with XeroSandbox(port=0) as sandbox:

        def client() -> XeroClient:
            return XeroClient(
                sandbox.api_url,
                sandbox.tenant_id,
                lambda: "sandbox",
                cache=cache,
                refs_max_age=timedelta(minutes=60),
                clock=lambda: now[0],
            )

        first = client()
        refs = first.read_refs()
        assert all(first.calls.get(c) == 1 for c in UNCHANGING)
        now[0] += timedelta(minutes=59)
        second = client()
        again = second.read_refs()
        assert not any(second.calls.get(c) for c in UNCHANGING) and second.calls.get("GET /Accounts") == 1
        assert again == refs  # the kept copy is the same organisation, rates and categories
        # Xero refuses an invoice (here: a contact that does not exist): the copy is dropped
        [refused] = second.create_invoices([draft("R-1")], ["00000000-0000-0000-0000-000000000000"], "k-1")
        assert not refused.ok
        third = client()
        third.read_refs()
        assert all(third.calls.get(c) == 1 for c in UNCHANGING)
        now[0] += timedelta(minutes=61)  # and an hour on, read afresh
        fourth = client()
        fourth.read_refs()
        assert all(fourth.calls.get(c) == 1 for c in UNCHANGING)
