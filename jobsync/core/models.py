"""Plain frozen values passed between the sources, the pure core and the runner.

Money is always `Decimal`; times are always timezone-aware. Nothing here does I/O.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

# ---------------------------------------------------------------------------
# What the job system gives us
# ---------------------------------------------------------------------------

LINE_KINDS = ("labour", "material", "subcontractor", "fee", "discount", "other")


@dataclass(frozen=True)
class Client:
    """The job system's client (customer) as the source reports it."""

    id: str  # the job system's own client id; stable across runs
    name: str
    email: str | None = None
    phone: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class JobLine:
    """One billable line of a job, before any mapping rule is applied."""

    kind: str  # one of LINE_KINDS
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount_rate: Decimal | None = None  # percent, e.g. Decimal("10") for 10 %
    discount_amount: Decimal | None = None  # absolute discount on the line
    item_code: str | None = None
    tax_code: str | None = None  # the job system's own tax name or code, if any ("GST", "GST Free")
    tax_rate: Decimal | None = None  # the job system's own tax rate in percent, when it states one
    hours: Decimal | None = None  # labour: time entry hours (quantity mirrors it)
    rate: Decimal | None = None  # labour: hourly rate (unit_price mirrors it)
    tax_inclusive: bool = False  # unit_price includes tax
    source_kind: str | None = None  # the platform's own name for the line's type, as read ("Sub-contractor")


@dataclass(frozen=True)
class Job:
    """A job in a billable status, with everything needed to invoice it.

    `problems` carries data problems the source found while parsing (a bad
    quantity, a missing column); the plan holds such a job with those reasons.
    """

    source: str  # source name, e.g. "csv" or "servicem8"
    id: str  # the job system's id (stable)
    number: str  # the human job number, used in the Reference
    status: str
    changed_at: datetime  # the source's change timestamp, UTC, aware: the watermark field
    completed_at: datetime | None  # aware
    client: Client | None
    lines: tuple[JobLine, ...] = ()
    problems: tuple[str, ...] = ()
    purchase_order: str | None = None
    job_type: str | None = None
    url: str | None = None  # link back to the job in the job system
    fields: tuple[tuple[str, str], ...] = ()  # extra source fields (region, crew, …)
    discount_percent: Decimal | None = None  # a discount on the whole job, percent
    discount_amount: Decimal | None = None  # a flat discount on the whole job
    source_total: Decimal | None = None  # the job system's own invoice total, when it gives one
    currency: str | None = None  # the currency the job system states for this job, if any

    def field(self, name: str) -> str | None:
        return dict(self.fields).get(name)


# ---------------------------------------------------------------------------
# What we know of Xero for this run
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class XeroAccount:
    code: str
    name: str
    status: str = "ACTIVE"
    tax_type: str | None = None  # the account's default tax type
    type: str = ""  # Xero's account Type: REVENUE, SALES, BANK, EXPENSE… ("" when not read)
    account_class: str = ""  # Xero's Class: REVENUE, EXPENSE, ASSET, LIABILITY, EQUITY
    system_account: str = ""  # DEBTORS, CREDITORS, GST…: Xero keeps these for its own postings


@dataclass(frozen=True)
class XeroTaxRate:
    tax_type: str
    name: str
    rate: Decimal  # effective rate in percent, e.g. Decimal("10.0000")
    status: str = "ACTIVE"
    can_apply_to_revenue: bool = True  # False: a purchases-only rate, refused on a sales invoice
    report_tax_type: str | None = None  # Xero's ReportTaxType: OUTPUT for sales tax (None: not given)


@dataclass(frozen=True)
class XeroOrg:
    name: str
    base_currency: str = "AUD"
    timezone: str = "UTC"  # IANA name (mapped from Xero's Windows zone name)
    period_lock_date: dt.date | None = None  # nothing may be dated on or before it
    short_code: str = ""  # Xero's ShortCode: deep links open this organisation


@dataclass(frozen=True)
class XeroRefs:
    """Reference data read from the organisation once per run."""

    org: XeroOrg
    accounts: dict[str, XeroAccount]  # by code
    tax_rates: dict[str, XeroTaxRate]  # by tax type
    tracking: dict[str, tuple[str, ...]] | None = None  # active options by active category; None: not read


@dataclass(frozen=True)
class XeroContact:
    contact_id: str
    name: str
    email: str | None = None
    contact_number: str | None = None
    status: str = "ACTIVE"  # ACTIVE / ARCHIVED / GDPRREQUEST
    phone: str | None = None
    payment_terms: tuple[int, str] | None = None  # the contact's own sales terms: (Day, Type)
    merged_to_contact_id: str | None = None  # set on an archived contact merged into another
    default_currency: str | None = None  # the contact's DefaultCurrency, when set in Xero


@dataclass(frozen=True)
class ContactSnapshot:
    """What the contact resolver may look at: jobsync's client map plus contacts read this run."""

    client_map: dict[str, str]  # "{source}:{client id}" -> ContactID
    contacts: tuple[XeroContact, ...]
    new_names: dict[str, str] = field(default_factory=dict)  # client key -> name chosen for its new contact
    # Lookup tables over `contacts` (contacts.ContactIndex), built once per plan by contacts.indexed()
    # so resolving each job is a few dict lookups rather than a scan of every contact.
    index: Any = field(default=None, compare=False, repr=False)


# ---------------------------------------------------------------------------
# The plan: what run would do, and what preview shows
# ---------------------------------------------------------------------------


class DecisionKind(StrEnum):
    EXISTING = "existing"
    NEW = "new"
    AMBIGUOUS = "ambiguous"


@dataclass(frozen=True)
class ContactDecision:
    """Which Xero contact a client's invoice goes to, and why."""

    kind: DecisionKind
    client_key: str  # "{source}:{client id}"; also the ContactNumber for new contacts
    name: str
    contact_id: str | None = None  # set when EXISTING
    matched_by: str | None = None  # "map" / "contact_number" / "email" / "name"
    email: str | None = None
    phone: str | None = None
    candidates: tuple[XeroContact, ...] = ()  # when AMBIGUOUS
    # When AMBIGUOUS, why: "email" (several contacts share the email), "name" (several share the name),
    # "name_taken" (one contact has the name, with another email), "lookalike" (the same business spelled
    # otherwise), "number" (several share the ContactNumber), "new_name_taken" (the chosen name is taken).
    cause: str = ""
    currency: str | None = None  # the existing contact's default currency, when Xero has one


@dataclass(frozen=True)
class DraftLine:
    description: str
    quantity: Decimal
    unit_amount: Decimal
    account_code: str
    tax_type: str
    line_amount: Decimal  # after discount, 2 dp, in the invoice's LineAmountTypes
    tax_amount: Decimal  # per line, 2 dp, as Xero computes it
    rule: str  # name of the rule that produced this line
    item_code: str | None = None
    discount_rate: Decimal | None = None
    discount_amount: Decimal | None = None
    tracking: tuple[tuple[str, str], ...] = ()  # (category name, option name), at most 2
    # The names a person reads beside the codes ("200 Sales", "GST on Income"); never sent to Xero.
    account_name: str = ""
    tax_name: str = ""

    @property
    def account_label(self) -> str:
        return f"{self.account_code} {self.account_name}".strip()

    @property
    def tax_label(self) -> str:
        return self.tax_name or self.tax_type


@dataclass(frozen=True)
class InvoiceDraft:
    """One invoice the run will create, exactly as it will be sent."""

    source: str
    job_id: str
    job_number: str
    stage: str  # "final" for single-stage billing; "deposit"/"progress-N"/"final" otherwise
    reference: str
    contact: ContactDecision
    date: dt.date
    due_date: dt.date
    lines: tuple[DraftLine, ...]
    status: str = "DRAFT"  # or AUTHORISED
    line_amount_types: str = "Exclusive"
    currency: str | None = None
    url: str | None = None
    subtotal: Decimal = Decimal("0")
    total_tax: Decimal = Decimal("0")
    total: Decimal = Decimal("0")
    unitdp: int = 2  # 4 when any unit amount has more than 2 decimals
    job_changed_at: datetime | None = None
    branding_theme_id: str | None = None
    also_known_as: tuple[str, ...] = ()  # References an earlier default gave this invoice (looked up, never sent)


@dataclass(frozen=True)
class Hold:
    """A job that cannot be invoiced until a person fixes something."""

    source: str
    job_id: str
    job_number: str
    reason: str
    fix: str = ""
    candidates: tuple[XeroContact, ...] = ()
    client_key: str | None = None  # the job's client, so `contacts map JOB` can find it
    # The card a person reads (core.held_card): as far as the job could be read.
    client_name: str | None = None
    amount: Decimal | None = None  # the lines as read, quantity × price: a guide, not an invoice total
    lines: tuple[tuple[str, Decimal, Decimal], ...] = ()  # (description, quantity, unit price), the first 20
    line_count: int = 0


@dataclass(frozen=True)
class Skip:
    """A job (stage) already invoiced: nothing to do."""

    source: str
    job_id: str
    job_number: str
    stage: str
    reference: str
    invoice_id: str | None = None
    invoice_number: str | None = None
    reason: str = "already invoiced"
    changed_total: tuple[Decimal, Decimal] | None = None  # (invoiced, now) for a job edited since
    update: InvoiceDraft | None = None  # with update_drafts: the invoice as it should now be, if still DRAFT


@dataclass(frozen=True)
class Plan:
    drafts: tuple[InvoiceDraft, ...]
    skipped: tuple[Skip, ...]
    held: tuple[Hold, ...]
    jobs_seen: int = 0


# ---------------------------------------------------------------------------
# The ledger as the planner sees it
# ---------------------------------------------------------------------------


class LedgerState(StrEnum):
    IN_FLIGHT = "in_flight"
    CONFIRMED = "confirmed"


@dataclass(frozen=True)
class LedgerEntry:
    source: str
    job_id: str
    stage: str
    reference: str
    state: LedgerState
    invoice_id: str | None = None
    invoice_number: str | None = None
    total: Decimal | None = None
    idempotency_key: str | None = None


# ---------------------------------------------------------------------------
# Outcomes, for the run report
# ---------------------------------------------------------------------------


class Outcome(StrEnum):
    CREATED = "created"
    ADOPTED = "adopted"  # found already in Xero by Reference; recorded, not recreated
    SKIPPED = "skipped"  # already invoiced per the ledger
    HELD = "held"
    FAILED = "failed"
    AWAITING = "awaiting approval"  # xero.approval: required, and no bookkeeper has approved this content


@dataclass(frozen=True)
class JobResult:
    source: str
    job_id: str
    job_number: str
    outcome: Outcome
    stage: str = "final"
    reason: str = ""
    invoice_id: str | None = None
    invoice_number: str | None = None
    total: Decimal | None = None
    contact_name: str | None = None
    link: str | None = None  # the invoice in Xero (core.deep_links), when known


@dataclass
class RunReport:
    """Everything that happened in one run; written as JSON and Markdown."""

    run_id: str
    command: str  # "run" or "preview"
    started_at: datetime
    finished_at: datetime | None = None
    config_hash: str = ""
    source: str = ""
    watermark_before: datetime | None = None
    watermark_after: datetime | None = None
    results: list[JobResult] = field(default_factory=list)
    api_calls: dict[str, int] = field(default_factory=dict)  # "GET /Invoices" -> n
    errors: list[str] = field(default_factory=list)  # run-level problems
    extra: dict[str, Any] = field(default_factory=dict)
    timezone: str = "UTC"  # the organisation's zone (IANA): the one its people read times in

    def count(self, outcome: Outcome) -> int:
        return sum(1 for r in self.results if r.outcome is outcome)
