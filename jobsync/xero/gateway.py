"""The small interface the runner uses to talk to Xero.

`client.XeroClient` implements it with xero-python over real HTTP. Keeping the
interface this small means the runner never sees SDK models or HTTP details.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from jobsync.core.models import InvoiceDraft, XeroContact, XeroRefs


@dataclass(frozen=True)
class NewContact:
    """A contact to create: the ContactNumber ties it to the job system's client."""

    name: str
    contact_number: str
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class ElementResult:
    """Xero's verdict on one element of a batch (summarizeErrors=false)."""

    ok: bool
    id: str | None = None  # ContactID / InvoiceID when ok
    number: str | None = None  # InvoiceNumber when ok
    errors: tuple[str, ...] = ()  # Xero's ValidationErrors messages
    total: Decimal | None = None
    status: str | None = None


@dataclass(frozen=True)
class XeroInvoiceRef:
    """An invoice already in Xero, found by its Reference."""

    invoice_id: str
    invoice_number: str | None
    reference: str
    status: str
    total: Decimal | None = None
    contact_id: str | None = None
    contact_name: str | None = None
    amount_paid: Decimal | None = None


class XeroGateway(Protocol):
    def read_refs(self) -> XeroRefs:
        """Organisation, accounts and tax rates."""

    def find_contacts(
        self,
        contact_numbers: Sequence[str] = (),
        emails: Sequence[str] = (),
        names: Sequence[str] = (),
        contact_ids: Sequence[str] = (),
    ) -> list[XeroContact]:
        """Contacts (active and archived) matching any of the given keys, in batched calls."""

    def create_contacts(self, contacts: Sequence[NewContact]) -> list[ElementResult]:
        """Create contacts in batches of at most 50; one result per input, in order."""

    def find_invoices_by_reference(self, references: Sequence[str]) -> list[XeroInvoiceRef]:
        """ACCREC invoices of any status whose Reference is one of these (batched with OR)."""

    def create_invoices(
        self, drafts: Sequence[InvoiceDraft], contact_ids: Sequence[str], idempotency_key: str
    ) -> list[ElementResult]:
        """Create up to 50 invoices in one request carrying `idempotency_key`.

        `contact_ids[i]` is the ContactID for `drafts[i]`. Raises RetriableError
        when the request's fate is unknown (timeout, 5xx, 429 after retries).
        """

    def invoice_body(self, drafts: Sequence[InvoiceDraft], contact_ids: Sequence[str]) -> bytes:
        """The exact request body create_invoices would send (for the idempotency key)."""

    def email_invoice(self, invoice_id: str) -> None:
        """Ask Xero to email an AUTHORISED invoice to its contact."""

    def update_invoice(self, invoice_id: str, draft: InvoiceDraft, contact_id: str) -> ElementResult:
        """Replace a DRAFT invoice's header and lines with `draft`'s (POST /Invoices/{InvoiceID})."""

    @property
    def tenant_id(self) -> str: ...

    @property
    def calls(self) -> dict[str, int]:
        """Calls made so far, by "METHOD /Path"."""
