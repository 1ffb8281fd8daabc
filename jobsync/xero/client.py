"""XeroGateway over real HTTP through xero-python: batches, idempotency keys, retries, call counts.

Reads use the SDK's typed methods with `_preload_content=False` and parse the
JSON here (Decimal floats): the SDK's model deserialiser raises on enum values it
does not know (e.g. TaxNumberType "TAXNUMBERTYPE/EIN"), which would fail a run
over one odd contact. Writes send bodies encoded in `wire.py` (see transport.py).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from xero_python.accounting import AccountingApi
from xero_python.exceptions import HTTPStatusException

from jobsync.core.errors import RejectedError
from jobsync.core.models import InvoiceDraft, XeroContact, XeroOrg, XeroRefs
from jobsync.runtime import tally
from jobsync.xero import keys, refs_store, retry, wire
from jobsync.xero.contact_snapshot import ContactSnapshot
from jobsync.xero.gateway import ElementResult, NewContact, XeroInvoiceRef
from jobsync.xero.limiter import CallLimiter
from jobsync.xero.refcache import CachedAccounts, KeyValueCache, modified_since_header
from jobsync.xero.refs_parse import accounts_by_code, organisation, tax_rates_by_type, tracking_options
from jobsync.xero.transport import build_api_client

BATCH_LIMIT = 50  # Xero's documented maximum elements per create request
PAGE_SIZE = 1000  # Xero's maximum pageSize
MAX_PAGES = 10_000  # a guard against a server that never returns a short page
ALL_STATUSES = ["DRAFT", "SUBMITTED", "AUTHORISED", "PAID", "VOIDED", "DELETED"]


class XeroClient:
    """Implements `jobsync.xero.gateway.XeroGateway`."""

    def __init__(
        self,
        api_url: str,
        tenant_id: str,
        token_provider: Callable[[], str],
        *,
        timeout: float = 30,
        max_retries: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        unitdp_default: int = 2,
        max_retry_after: float = 120.0,
        cache: KeyValueCache | None = None,
        limiter: CallLimiter | None = None,
        refs_max_age: timedelta = timedelta(0),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._tenant_id = tenant_id
        self._timeout = (timeout, timeout)
        self._unitdp_default = unitdp_default
        self.policy = retry.RetryPolicy(max_retries=max_retries, sleep=sleep, max_retry_after=max_retry_after)
        self.api_client = build_api_client(token_provider, self.api_url)
        self.accounting = AccountingApi(self.api_client, base_url=self.api_url)
        parts = urlsplit(self.api_url)
        self.host_url = f"{parts.scheme}://{parts.netloc}"
        self._calls: Counter[str] = Counter()
        # Paces calls within Xero's per-tenant limits and stops a run before a day's calls run out.
        self.limiter = limiter or CallLimiter(sleep=sleep)
        self.limits: dict[str, int] = {}  # last seen X-*Limit-Remaining, by lower-case header name
        self.warnings: list[str] = []  # e.g. an organisation timezone we could not map
        self.tracking_categories: dict[str, tuple[str, ...]] = {}  # active options by category name
        # With a cache: Accounts are read as a delta, TrackingCategories are read too, and contacts
        # come from a snapshot kept fresh by one paged If-Modified-Since read per run.
        self._cache = cache
        # Organisation, TaxRates and TrackingCategories are reused from the cache while younger than this.
        self.refs_max_age, self._clock = refs_max_age, clock

    def use_cache(self, cache: KeyValueCache) -> None:
        """Keep reference data and the contact snapshot in `cache` (the run's state file)."""
        self._cache = cache
        self.limiter.use_cache(cache, self._tenant_id)

    # -- gateway properties -------------------------------------------------

    @property
    def tenant_id(self) -> str:
        return self._tenant_id

    @property
    def calls(self) -> dict[str, int]:
        return dict(self._calls)

    def idempotency_key(self, body: bytes) -> str:
        """Hash of tenant + exact body: the same batch always carries the same key."""
        return keys.idempotency_key(self._tenant_id, body)

    # -- plumbing -----------------------------------------------------------

    def _observe(self, headers: Mapping[str, str]) -> None:
        self.limits.update(self.limiter.observe(headers))

    def _send(self, label: str, url: str, call: Callable[[], Any], *, create: bool = False) -> Any:
        """One logical request: counted per attempt, retried per policy, JSON-decoded."""

        def attempt() -> Any:
            with self.limiter.slot(label):
                self._calls[label] += 1
                tally.add(tally.XERO_CALLS)
                response = call()
            self._observe(dict(response.headers))
            return wire.decode(response.data)

        return retry.run(self.policy, attempt, label=label, url=url, create=create, observe=self._observe)

    def _opts(self) -> dict[str, Any]:
        return {"_preload_content": False, "_request_timeout": self._timeout}

    def _paged(self, path: str, key: str, fetch: Callable[[int], Any]) -> Iterator[dict[str, Any]]:
        """Items of every page, until a short page (or the pagination block says it was the last)."""
        for page in range(1, MAX_PAGES + 1):
            payload = self._send(f"GET {path}", self.api_url + path, partial(fetch, page))
            items = payload.get(key) or []
            yield from items
            pagination = payload.get("pagination") or {}
            page_count = pagination.get("pageCount")
            if page_count is not None and page >= int(page_count):
                return
            if page_count is None and len(items) < PAGE_SIZE:
                return

    # -- reference data -----------------------------------------------------

    def read_refs(self) -> XeroRefs:
        t, opts = self._tenant_id, self._opts()
        kept = None if self._cache is None else refs_store.load(self._cache, t, self._clock(), self.refs_max_age)
        if kept is None:
            org = self._org(
                self._send("GET /Organisation", self.api_url, lambda: self.accounting.get_organisations(t, **opts))
            )
        accounts = self._read_accounts()  # always: its If-Modified-Since read costs one call and no data
        if kept is None:
            rates = self._send("GET /TaxRates", self.api_url, lambda: self.accounting.get_tax_rates(t, **opts))
            tax_rates = tax_rates_by_type(rates.get("TaxRates") or [])
            tracking = self._read_tracking() if self._cache is not None else None
            if self._cache is not None and self.refs_max_age > timedelta(0):
                refs_store.save(self._cache, t, self._clock(), org, tax_rates, tracking)
        else:
            org, tax_rates, tracking = kept
        self.tracking_categories = tracking or {}
        # tracking None: not read, so the planner does not check tracking
        return XeroRefs(org=org, accounts=accounts_by_code(accounts), tax_rates=tax_rates, tracking=tracking)

    def _read_accounts(self) -> list[dict[str, Any]]:
        """All accounts; with a cache, only those changed since the cached copy, merged into it."""
        t, opts = self._tenant_id, self._opts()
        if self._cache is None:
            payload = self._send("GET /Accounts", self.api_url, lambda: self.accounting.get_accounts(t, **opts))
            return list(payload.get("Accounts") or [])
        cached = CachedAccounts(self._cache, t)
        since = modified_since_header(cached.mark) if cached.loaded else None
        extra = {"if_modified_since": since} if since is not None else {}
        payload = self._send(
            "GET /Accounts",
            self.api_url,
            _tolerating(304, lambda: self.accounting.get_accounts(t, **extra, **opts)),  # 304: nothing changed
        )
        cached.merge(payload.get("Accounts") or [])
        cached.save()
        return list(cached.rows.values())

    def _read_tracking(self) -> dict[str, tuple[str, ...]] | None:
        t, opts = self._tenant_id, self._opts()
        payload = self._send(
            "GET /TrackingCategories", self.api_url, lambda: self.accounting.get_tracking_categories(t, **opts)
        )
        return tracking_options(payload)

    def _org(self, payload: Mapping[str, Any]) -> XeroOrg:
        org, warning = organisation(payload)
        if warning:
            self.warnings.append(warning)
        return org

    # -- contacts -----------------------------------------------------------

    def find_contacts(
        self,
        contact_numbers: Sequence[str] = (),
        emails: Sequence[str] = (),
        names: Sequence[str] = (),
        contact_ids: Sequence[str] = (),
    ) -> list[XeroContact]:
        """Contacts matching any key, by the cheaper of a snapshot refresh and batched `where` lookups."""
        terms = wire.contact_terms(contact_numbers, emails, names, contact_ids)
        if not terms:
            return []
        wheres = list(wire.or_chunks(terms))
        if self._cache is not None:
            snapshot = ContactSnapshot(self._cache, self._tenant_id)
            # Without a copy, one lookup call cannot be beaten by a full read of the organisation.
            if (snapshot.loaded or len(wheres) > 1) and self._refresh(snapshot, budget=len(wheres)):
                return snapshot.matching(contact_numbers, emails, names, contact_ids)
        return self._find_by_where(wheres)

    def _find_by_where(self, wheres: Sequence[str]) -> list[XeroContact]:
        found: dict[str, XeroContact] = {}
        for where in wheres:
            for raw in self._paged("/Contacts", "Contacts", partial(self._get_contacts, where)):
                contact = wire.parse_contact(raw)
                found[contact.contact_id] = contact  # one contact may match several chunks
        return list(found.values())

    def _refresh(self, snapshot: ContactSnapshot, budget: int) -> bool:
        """Read contacts changed since the snapshot (all, for a new one) and save it.

        Gives up (False, snapshot unsaved and still valid as of its old mark) when the
        first page shows that the remaining pages would cost more than `budget` lookups.
        """
        since = modified_since_header(snapshot.mark) if snapshot.loaded else None
        for page in range(1, MAX_PAGES + 1):
            payload = self._send(
                "GET /Contacts", self.api_url + "/Contacts", partial(self._get_changed_contacts, since, page)
            )
            items = payload.get("Contacts") or []
            pagination = payload.get("pagination") or {}
            page_count = pagination.get("pageCount")
            if page == 1 and page_count is not None and int(page_count) - 1 > budget:
                return False
            snapshot.merge(items, wire.parse_contact)
            if (page_count is not None and page >= int(page_count)) or (page_count is None and len(items) < PAGE_SIZE):
                break
        snapshot.save()
        return True

    def _get_changed_contacts(self, since: Any, page: int) -> Any:
        extra = {"if_modified_since": since} if since is not None else {}
        return self.accounting.get_contacts(
            self._tenant_id, page=page, include_archived="true", page_size=PAGE_SIZE, **extra, **self._opts()
        )

    def _get_contacts(self, where: str, page: int) -> Any:
        return self.accounting.get_contacts(
            self._tenant_id,
            where=where,
            page=page,
            include_archived="true",
            page_size=PAGE_SIZE,
            **self._opts(),
        )

    def create_contacts(self, contacts: Sequence[NewContact]) -> list[ElementResult]:
        results: list[ElementResult] = []
        for start in range(0, len(contacts), BATCH_LIMIT):
            batch = contacts[start : start + BATCH_LIMIT]
            body = wire.contacts_body(batch)
            key = self.idempotency_key(body)
            payload = self._send(
                "PUT /Contacts",
                self.api_url + "/Contacts",
                partial(self._put_contacts, body, key),
                create=True,
            )
            results += wire.element_results(payload.get("Contacts") or [], len(batch), "ContactID")
        return results

    def _put_contacts(self, body: bytes, key: str) -> Any:
        return self.accounting.create_contacts(
            self._tenant_id, body, summarize_errors="false", idempotency_key=key, **self._opts()
        )

    # -- invoices -----------------------------------------------------------

    def find_invoices_by_reference(self, references: Sequence[str]) -> list[XeroInvoiceRef]:
        terms = [f"Reference=={wire.literal(r)}" for r in references if r]
        found: dict[str, XeroInvoiceRef] = {}
        for where in wire.or_chunks(terms, wrap='Type=="ACCREC" AND ({})'):
            for raw in self._paged("/Invoices", "Invoices", partial(self._get_invoices, where)):
                ref = wire.parse_invoice_ref(raw)
                found[ref.invoice_id] = ref
        return list(found.values())

    def _get_invoices(self, where: str, page: int) -> Any:
        return self.accounting.get_invoices(
            self._tenant_id,
            where=where,
            statuses=ALL_STATUSES,  # Xero leaves DELETED out unless asked; a deleted invoice still counts
            page=page,
            page_size=PAGE_SIZE,
            **self._opts(),
        )

    def invoice_body(self, drafts: Sequence[InvoiceDraft], contact_ids: Sequence[str]) -> bytes:
        return wire.invoices_body(drafts, contact_ids)

    def create_invoices(
        self, drafts: Sequence[InvoiceDraft], contact_ids: Sequence[str], idempotency_key: str
    ) -> list[ElementResult]:
        if not drafts:
            return []
        if len(drafts) > BATCH_LIMIT:
            raise ValueError(f"at most {BATCH_LIMIT} invoices per request, got {len(drafts)}")
        body = self.invoice_body(drafts, contact_ids)  # built once: every retry resends these bytes
        unitdp = 4 if self._unitdp_default == 4 or any(d.unitdp == 4 for d in drafts) else None
        extra = {"unitdp": unitdp} if unitdp else {}
        payload = self._send(
            "PUT /Invoices",
            self.api_url + "/Invoices",
            lambda: self.accounting.create_invoices(
                self._tenant_id,
                body,
                summarize_errors="false",
                idempotency_key=idempotency_key,
                **extra,
                **self._opts(),
            ),
            create=True,
        )
        results = wire.element_results(payload.get("Invoices") or [], len(drafts), "InvoiceID")
        if self._cache is not None and not all(r.ok for r in results):
            refs_store.forget(self._cache, self._tenant_id)  # a refusal may be a tax rate or category gone
        return results

    def update_invoice(self, invoice_id: str, draft: InvoiceDraft, contact_id: str) -> ElementResult:
        body = self.invoice_body([draft], [contact_id])
        key = self.idempotency_key(b"update " + invoice_id.encode() + b" " + body)
        extra = {"unitdp": 4} if self._unitdp_default == 4 or draft.unitdp == 4 else {}
        payload = self._send(
            "POST /Invoices/{InvoiceID}",
            f"{self.api_url}/Invoices/{invoice_id}",
            lambda: self.accounting.update_invoice(
                self._tenant_id, invoice_id, body, idempotency_key=key, **extra, **self._opts()
            ),
            create=True,
        )
        return wire.element_results(payload.get("Invoices") or [], 1, "InvoiceID")[0]

    def email_invoice(self, invoice_id: str) -> None:
        key = self.idempotency_key(b"email " + invoice_id.encode())
        self._send(
            "POST /Invoices/{InvoiceID}/Email",
            f"{self.api_url}/Invoices/{invoice_id}/Email",
            lambda: self.accounting.email_invoice(
                self._tenant_id, invoice_id, b"{}", idempotency_key=key, **self._opts()
            ),
            create=True,
        )

    # -- identity -----------------------------------------------------------

    def list_connections(self) -> list[dict[str, Any]]:
        """The tenants this token may use (`GET /connections` on the API host)."""
        url = self.host_url + "/connections"
        payload = self._send(
            "GET /connections",
            url,
            lambda: self.api_client.call_api(
                url,
                "GET",
                header_params={"Accept": "application/json"},
                auth_settings=["OAuth2"],
                _return_http_data_only=True,
                **self._opts(),
            ),
        )
        if not isinstance(payload, list):
            raise RejectedError(f"unexpected answer from {url}: {str(payload)[:200]}")
        return payload


class _NoContent:
    """What a tolerated status reads as: no headers worth noting, an empty JSON object."""

    headers: dict[str, str] = {}
    data = b"{}"


def _tolerating(status: int, call: Callable[[], Any]) -> Callable[[], Any]:
    def attempt() -> Any:
        try:
            return call()
        except HTTPStatusException as error:
            if error.status != status:
                raise
            return _NoContent()

    return attempt
