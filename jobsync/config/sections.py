"""The settings model: every config key, its type, default and validation (pydantic, frozen)."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from jobsync.config.fields import (
    MAX_DAYS,
    MAX_MINUTES,
    HttpUrl,
    Moment,
    TimeZoneName,
    count,
    days,
    is_timezone,
    minutes,
)
from jobsync.config.follow_up_section import ChangesSettings, FollowUpSettings
from jobsync.config.serve_section import ServeSettings
from jobsync.core.billing import BillingPolicy, load_billing
from jobsync.core.errors import ConfigError
from jobsync.core.rules import RuleSet, load_rules
from jobsync.core.templates import DEFAULT_REFERENCE, check_date_format, check_reference_template

# jobsync's line kinds (core.models.LINE_KINDS), spelled out so the schema lists them.
LineKind = Literal["labour", "material", "subcontractor", "fee", "discount", "other"]


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class TokenVaultSettings(_Frozen):
    """A practice's org: its Xero tokens in the practice database, sealed with keys from JOBSYNC_TOKEN_KEYS."""

    url: str = Field(pattern=r"^postgres(ql)?://")  # e.g. ${JOBSYNC_PRACTICE_URL}
    # The vault entry: the org's name, or one login's name that orgs connected in one consent share
    # (Xero gives one token set per consent; each refresh rotates it, so it must be kept once).
    org: str = Field(min_length=1, max_length=64)


class XeroAuthSettings(_Frozen):
    mode: Literal["static_token", "oauth", "client_credentials"] = "static_token"
    token: str | None = None
    client_id: str | None = None
    client_secret: str | None = None
    token_store: Path | None = None  # default: beside the state file, <state>.tokens.toml
    token_vault: TokenVaultSettings | None = None  # instead of token_store: the practice database
    redirect_port: int = Field(default=8749, ge=1, le=65535)  # register http://localhost:PORT/callback
    # A quiet run calls Xero only to renew a refresh token this close (days) to its 60-day lapse.
    token_refresh_days: int = Field(default=7, ge=1, le=59)


class PaymentTermsSettings(_Frozen):
    """Xero's sales terms: e.g. {day: 20, type: OFFOLLOWINGMONTH}; {day: 31, type: OFCURRENTMONTH} is end of month."""

    day: int = Field(ge=0, le=MAX_DAYS)
    type: Literal["DAYSAFTERBILLDATE", "DAYSAFTERBILLMONTH", "OFCURRENTMONTH", "OFFOLLOWINGMONTH"]


class XeroSettings(_Frozen):
    api_url: HttpUrl = "https://api.xero.com/api.xro/2.0"
    identity_url: HttpUrl = "https://identity.xero.com"
    tenant_id: str | None = None
    auth: XeroAuthSettings = XeroAuthSettings()
    invoice_status: Literal["DRAFT", "AUTHORISED"] = "DRAFT"
    email_invoices: bool = False
    payment_terms_days: int = days(14)
    max_invoices_per_run: int = count(200)
    # Invoice Reference; a non-final billing stage's suffix is appended. Include {job.source} when
    # several job systems feed one organisation, so their job numbers cannot collide.
    reference_template: Annotated[str, AfterValidator(_template_ok)] = DEFAULT_REFERENCE
    line_amount_types: Literal["Exclusive", "Inclusive", "NoTax"] = "Exclusive"
    # Due-date terms by Xero's term types, used when the contact has none of its own in Xero;
    # unset: payment_terms_days after the invoice date.
    payment_terms: PaymentTermsSettings | None = None
    # Hold a job whose invoice total differs from the job system's own total by more than this.
    # On by default wherever the platform states its own total; `off` switches the check off.
    total_tolerance: Annotated[Decimal, Field(ge=0, le=1_000_000)] | Literal["off"] = Decimal("0.01")
    # Bring a still-DRAFT invoice in line with a job edited after it was invoiced.
    update_drafts: bool = False
    # Send invoices that come to 0.00 (warranty or goodwill jobs); negative totals are always held.
    allow_zero_total: bool = False
    # Client-side pacing within Xero's per-tenant limits (60 calls a minute, 5 in flight).
    max_calls_per_minute: int = count(60)
    max_calls_in_flight: int = count(5)
    # Calls allowed a day (Starter-tier organisations get 1,000); the run stops with exit 5 before passing it.
    daily_call_budget: int | None = count(None)
    # A 429 asking to wait longer than this stops the run (exit 5) instead of parking it.
    max_retry_after_seconds: float = Field(default=120.0, ge=0, le=MAX_MINUTES * 60)
    # Organisation, TaxRates and TrackingCategories are reused this long (0: read every run).
    refs_cache_minutes: int = minutes(60)
    # required: no invoice is created until a bookkeeper approves its exact content (console or
    # `jobsync jobs approve`); the drafts wait in the approval queue meanwhile.
    approval: Literal["none", "required"] = "none"


def _postgres_url(value: str | None) -> str | None:
    if value is not None and not value.startswith(("postgresql://", "postgres://")):
        raise ValueError("must be a postgresql:// URL, e.g. postgresql://jobsync@db.example/jobsync")
    return value


def _template_ok(value: str) -> str:
    problems = check_reference_template(value)
    if problems:
        raise ValueError(problems[0])
    return value


def _date_formats_ok(value: str | dict[str, str] | None) -> str | dict[str, str] | None:
    formats = value.values() if isinstance(value, dict) else [value] if value else []
    for fmt in formats:
        problems = check_date_format(fmt)
        if problems:
            raise ValueError(problems[0])
    return value


class ColumnSettings(_Frozen):
    """Logical field → CSV header. Unknown logical names are rejected by extra='forbid'."""

    job_id: str | None = None
    job_number: str | None = None
    status: str | None = None
    completed_at: str | None = None
    client_id: str | None = None
    client_name: str | None = None
    client_email: str | None = None
    client_phone: str | None = None
    line_kind: str | None = None
    item_code: str | None = None
    description: str | None = None
    quantity: str | None = None
    unit_price: str | None = None
    discount_percent: str | None = None
    tax_code: str | None = None  # the job system's tax name ("GST Free") or rate ("10%") per line
    tax_rate: str | None = None  # a column holding the line's tax rate in percent
    purchase_order: str | None = None
    job_type: str | None = None
    updated_at: str | None = None  # a "last modified" column; else completed_at is the change time
    currency: str | None = None  # the job's currency (ISO code), when not the organisation's


REQUIRED_CSV_COLUMNS = ("job_number", "client_name", "description", "quantity", "unit_price")


class RestPagingSettings(_Frozen):
    """How the REST source finds the next page (see jobsync/sources/rest_transport.py for each style)."""

    style: Literal["next_page", "page", "offset", "cursor_header", "cursor_body"] = "next_page"
    records_path: str = "jobs"  # JSON path to the list of jobs in a page; "" when the body is the list
    page_size: int = count(100)
    page_param: str = "page"
    page_size_param: str | None = None
    next_page_path: str = "next_page"
    total_pages_header: str | None = None
    total_pages_path: str | None = None
    offset_param: str = "offset"
    limit_param: str = "limit"
    cursor_param: str = "cursor"
    first_cursor: str | None = None
    cursor_header: str = "X-Next-Cursor"
    cursor_path: str = "next_cursor"


class RestSourceSettings(_Frozen):
    """The generic REST source: where the jobs list lives and where each field is in its JSON."""

    fields: dict[str, str]  # logical name (as in source.columns) -> dotted JSON path
    auth: Literal["bearer", "api_key", "basic", "oauth2_client_credentials", "none"] = "bearer"
    api_key_header: str = "X-API-Key"
    lines_path: str = "lines"
    list_path: str = "/jobs"
    job_path: str = "/jobs/{id}"
    # The list query; {since} is the watermark as ISO 8601 UTC ({since_date}, {since_epoch} also work).
    list_query: dict[str, str] = Field(default_factory=lambda: {"updated_since": "{since}"})
    paging: RestPagingSettings = RestPagingSettings()
    lines_url: str | None = None  # e.g. /jobs/{id}/lines when lines are not nested in the job
    client_url: str | None = None  # e.g. /customers/{id}, filled with fields.client_id
    username: str | None = None  # auth: basic (password from ${ENV})
    password: str | None = None
    token_url: HttpUrl | None = None  # auth: oauth2_client_credentials
    client_id: str | None = None
    client_secret: str | None = None
    scope: str | None = None


class ArofloSourceSettings(_Frozen):
    """AroFlo's three encoded credentials and signing key (all from ${ENV_VARS}), and its daily call budget."""

    uencoded: str
    pencoded: str
    org_encoded: str
    secret_key: str
    daily_budget: int = count(2000)
    host_ip: str | None = None


class ServiceM8OAuthSettings(_Frozen):
    """ServiceM8 as a public app (needed for webhooks): the app's credentials, from ${ENV_VARS}."""

    client_id: str
    client_secret: str
    token_store: Path | None = None  # default: beside the state file, <state stem>.servicem8-tokens.json
    token_url: HttpUrl = "https://api.servicem8.com/oauth/access_token"
    authorize_url: HttpUrl = "https://api.servicem8.com/oauth/authorize"


class SourceSettings(_Frozen):
    type: Literal["csv", "servicem8", "rest", "simpro", "aroflo"]
    name: str = ""  # defaults to the type (filled in by the validator below)
    path: Path | None = None
    base_url: HttpUrl | None = None
    api_key: str | None = None
    start_from: Moment | None = None
    statuses: tuple[str, ...] = ("Completed",)
    timezone: TimeZoneName = "UTC"
    overlap_minutes: int = minutes(1440)
    # A source with a change time also reads every billable job since start_from this often (hours).
    deep_reconcile_hours: int = Field(default=24, ge=1, le=24 * 366)
    # A run re-plans held and failed jobs at most this often (minutes); `jobs retry` asks for it at once.
    held_recheck_minutes: int = minutes(60)
    columns: ColumnSettings = ColumnSettings()
    rest: RestSourceSettings | None = None
    aroflo: ArofloSourceSettings | None = None
    servicem8_oauth: ServiceM8OAuthSettings | None = None  # instead of api_key: ServiceM8's OAuth app login
    skip_exported: bool = True  # skip jobs the platform marks as exported to accounting
    # CSV with lines in a file of their own, joined on job number (line_columns.job_number).
    lines_path: Path | None = None
    line_columns: ColumnSettings = ColumnSettings()
    # strptime format for the date columns, or one per logical column ({completed_at: "%m/%d/%Y"}).
    date_format: Annotated[str | dict[str, str] | None, AfterValidator(_date_formats_ok)] = None
    prices_include_tax: bool = False  # the export's unit prices include GST/VAT
    # The platform's own line types, by name, onto jobsync's kinds: {"Sub-contractor": subcontractor}.
    kind_map: dict[str, LineKind] = {}

    @model_validator(mode="before")
    @classmethod
    def _defaults_and_dates(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        if not data.get("name") and isinstance(data.get("type"), str):
            data["name"] = data["type"]
        zone = _zone_or_utc(data.get("timezone"))
        data["start_from"] = _aware_start(data.get("start_from"), zone)
        return data

    @field_validator("statuses")
    @classmethod
    def _some_status(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("list at least one status, e.g. [Completed]")
        return value


def _zone_or_utc(name: object) -> ZoneInfo:
    # A bad zone is reported by the field validator; UTC here just lets start_from parse meanwhile.
    return ZoneInfo(name) if is_timezone(name) else ZoneInfo("UTC")  # type: ignore[arg-type]


def _aware_start(value: object, zone: ZoneInfo) -> object:
    """A date means midnight in the source's timezone; a naive datetime is read in that zone too."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            return value  # pydantic reports it with the key's line
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time(0))
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value


class StateSettings(_Frozen):
    path: Path = Path("jobsync-state.db")  # SQLite, the default; other files (tokens, keys) sit beside it
    # postgresql://USER@HOST/DB (the password from ${ENV}): the state lives in PostgreSQL instead
    url: Annotated[str | None, AfterValidator(_postgres_url)] = None

    @property
    def location(self) -> Path | str:
        """What `State.open` takes: the PostgreSQL URL when one is set, else the SQLite file."""
        return self.url or self.path


class ReportSettings(_Frozen):
    dir: Path = Path("reports")
    keep_days: int = days(90)  # 0 keeps every report
    minutes_per_invoice: int = minutes(10)  # for the "admin time saved" estimate


class EmailSettings(_Frozen):
    smtp_host: str
    smtp_port: int = Field(default=587, ge=1, le=65535)
    sender: str = Field(alias="from")
    to: tuple[str, ...]
    username: str | None = None
    password: str | None = None

    @field_validator("to", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class NotifySettings(_Frozen):
    slack_webhook_url: HttpUrl | None = None
    webhook_url: HttpUrl | None = None
    email: EmailSettings | None = None
    on: tuple[Literal["failure", "hold", "always", "token_expiry"], ...] = ("failure", "hold")
    remind_hours: float = Field(default=24, gt=0, le=MAX_DAYS * 24)  # repeat an unchanged alert after this long
    token_expiry_days: int = days(14, ge=1)  # on: [token_expiry] alerts when the refresh token lapses sooner


class Settings(_Frozen):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False, arbitrary_types_allowed=True)

    xero: XeroSettings = XeroSettings()
    source: SourceSettings
    # The rules and billing sections as written: hashed into config_hash and dumped by `config show`.
    # Consumers never read them: they read `ruleset` and `billing_policy`, parsed once at load.
    rules: dict[str, Any] = Field(default_factory=dict)
    billing: dict[str, Any] | None = None
    state: StateSettings = StateSettings()
    reports: ReportSettings = ReportSettings()
    notify: NotifySettings | None = None
    follow_up: FollowUpSettings = FollowUpSettings()
    changes: ChangesSettings = ChangesSettings()
    serve: ServeSettings = ServeSettings()
    # Where the settings came from; not a config key (excluded from dumps and the hash).
    config_path: Path | None = Field(default=None, exclude=True)
    # The parsed forms, filled by `_parse_rules` when the model is validated (None only when they are
    # invalid, and then loading the config fails with each problem and its line).
    parsed_rules: SkipJsonSchema[RuleSet | None] = Field(default=None, exclude=True, repr=False)
    parsed_billing: SkipJsonSchema[BillingPolicy | None] = Field(default=None, exclude=True, repr=False)

    @model_validator(mode="after")
    def _parse_rules(self) -> Settings:
        # A frozen model: the parsed forms are set once, here, before anyone can read the settings.
        if self.parsed_rules is None:
            try:
                object.__setattr__(self, "parsed_rules", load_rules(self.rules))
            except ConfigError:
                pass  # `load_settings` words these problems with their YAML lines
        if self.parsed_billing is None and self.billing is not None:
            try:
                object.__setattr__(self, "parsed_billing", load_billing(self.billing))
            except ConfigError:
                pass
        return self

    @property
    def ruleset(self) -> RuleSet:
        """The rules language, parsed: how every job line becomes a Xero line."""
        return self.parsed_rules if self.parsed_rules is not None else load_rules(self.rules)

    @property
    def billing_policy(self) -> BillingPolicy | None:
        """Staged billing, parsed; None when the config has no billing section."""
        if self.parsed_billing is not None or self.billing is None:
            return self.parsed_billing
        return load_billing(self.billing)
