"""Prices before mapping, and discounts on the whole job. Pure: no I/O.

Configured under `rules.pricing`:

    pricing:
      labour_rate: 95.00            # labour time entries without a rate of their own
      job_discount: {mode: lines}   # or {mode: line, account_code: "260", description: "..."}
      clients:                      # per-client overrides, matched by client id or name
        - client: ["C17", "Greenleaf Property Management"]
          discount_percent: 5       # on every job of this client
          labour_rate: 85.00        # their contract rate beats the job system's
          prices: {PIPE-15: 11.20}  # price list: item code -> unit price
          line_amount_types: Inclusive
          currency: NZD
          branding_theme_id: 5b1f...
          payment_terms: {day: 20, type: OFFOLLOWINGMONTH}

A job discount in `lines` mode becomes each line's DiscountRate (compounded with a
line's own rate: 10 % then 5 % is 14.5 %), so every line shows it; in `line` mode it
is one negative line on a configured account, worked out on the job's mapped total.
A flat job discount is always a separate line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal

from jobsync.core.errors import ConfigError, echo
from jobsync.core.models import Job, JobLine
from jobsync.core.numbers import config_decimal

HUNDRED = Decimal(100)
TERM_TYPES = ("DAYSAFTERBILLDATE", "DAYSAFTERBILLMONTH", "OFCURRENTMONTH", "OFFOLLOWINGMONTH")


@dataclass(frozen=True)
class JobDiscount:
    mode: str = "lines"  # "lines": DiscountRate on each line; "line": one negative line
    account_code: str | None = None  # required for "line" mode and for flat discounts
    tax_type: str | None = None  # None: the account's default tax type
    description: str = "Discount"


@dataclass(frozen=True)
class ClientPricing:
    clients: tuple[str, ...]  # client ids or names, compared case-insensitively
    discount_percent: Decimal | None = None
    labour_rate: Decimal | None = None
    prices: Mapping[str, Decimal] = field(default_factory=dict)  # casefolded item code -> unit price
    line_amount_types: str | None = None
    currency: str | None = None
    branding_theme_id: str | None = None
    payment_terms: tuple[int, str] | None = None  # (day, Xero term type)


@dataclass(frozen=True)
class Pricing:
    labour_rate: Decimal | None = None
    job_discount: JobDiscount = JobDiscount()
    clients: tuple[ClientPricing, ...] = ()


NO_PRICING = Pricing()


def client_pricing(pricing: Pricing, job: Job) -> ClientPricing | None:
    """The first client override naming the job's client (by id or name), if any."""
    c = job.client
    if c is None:
        return None
    keys = {c.id.casefold(), " ".join(c.name.split()).casefold()}
    return next((cp for cp in pricing.clients if keys & {k.casefold() for k in cp.clients}), None)


def price_line(pricing: Pricing, job: Job, line: JobLine) -> JobLine:
    """The line with its price list / labour rate applied; quantities come from time entries."""
    cp = client_pricing(pricing, job)
    if line.item_code and cp is not None and line.item_code.casefold() in cp.prices:
        return replace(line, unit_price=cp.prices[line.item_code.casefold()])
    if line.kind == "labour" and line.hours is not None:
        # Labour is hours × rate: the client's contract rate, else the entry's own, else the default.
        rate = (cp.labour_rate if cp else None) or line.rate or pricing.labour_rate or line.unit_price
        return replace(line, quantity=line.hours, unit_price=rate)
    return line


def job_discount_percent(pricing: Pricing, job: Job) -> Decimal | None:
    """The job's own discount, else its client's; None or 0 means no discount."""
    cp = client_pricing(pricing, job)
    pct = job.discount_percent if job.discount_percent is not None else (cp.discount_percent if cp else None)
    return pct or None


def compound_rate(line_rate: Decimal | None, job_rate: Decimal) -> Decimal:
    """A line's own DiscountRate followed by the job's: 1 − (1 − a)(1 − b), in percent."""
    a = line_rate or Decimal(0)
    return (a + job_rate - a * job_rate / HUNDRED).normalize()


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------

_CLIENT_KEYS = {"client", "discount_percent", "labour_rate", "prices", "line_amount_types", "currency"}
_CLIENT_KEYS |= {"branding_theme_id", "payment_terms"}


def _number(raw: object, path: str, problems: list[str], *, percent: bool = False) -> Decimal | None:
    if raw is None:
        return None
    value = config_decimal(raw, path, problems)
    if value is None:
        return None
    if value < 0 or (percent and value > 100):
        problems.append(f"{path}: must be between 0 and 100" if percent else f"{path}: must not be negative")
    return value


def load_terms(raw: object, path: str, problems: list[str]) -> tuple[int, str] | None:
    """`{day: 20, type: OFFOLLOWINGMONTH}` → (20, "OFFOLLOWINGMONTH")."""
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or set(raw) - {"day", "type"}:
        problems.append(f"{path}: expected {{day, type}}")
        return None
    day, kind = raw.get("day"), raw.get("type")
    if kind not in TERM_TYPES:
        problems.append(f"{path}.type: expected one of {', '.join(TERM_TYPES)}")
        return None
    if isinstance(day, bool) or not isinstance(day, int) or day < 0 or (kind.startswith("OF") and not 1 <= day <= 31):
        problems.append(f"{path}.day: expected a whole number (1-31 for a day of the month)")
        return None
    return day, kind


def _load_client(raw: object, path: str, problems: list[str]) -> ClientPricing | None:
    if not isinstance(raw, Mapping):
        problems.append(f"{path}: expected a mapping with client and overrides")
        return None
    problems.extend(f"{path}.{k}: unknown key" for k in raw if k not in _CLIENT_KEYS)
    names = raw.get("client")
    names = names if isinstance(names, list) else [names]
    if not names or not all(isinstance(n, str | int) and not isinstance(n, bool) and str(n).strip() for n in names):
        problems.append(f"{path}.client: required: a client id or name, or a list of them")
    prices = raw.get("prices") or {}
    if not isinstance(prices, Mapping):
        problems.append(f"{path}.prices: expected item code: unit price")
        prices = {}
    lat = raw.get("line_amount_types")
    if lat is not None and lat not in ("Exclusive", "Inclusive", "NoTax"):
        problems.append(f"{path}.line_amount_types: expected Exclusive, Inclusive or NoTax")
    return ClientPricing(
        clients=tuple(str(n) for n in names if n is not None),
        discount_percent=_number(raw.get("discount_percent"), f"{path}.discount_percent", problems, percent=True),
        labour_rate=_number(raw.get("labour_rate"), f"{path}.labour_rate", problems),
        prices={str(k).casefold(): _number(v, f"{path}.prices.{k}", problems) or Decimal(0) for k, v in prices.items()},
        line_amount_types=lat if isinstance(lat, str) else None,
        currency=None if raw.get("currency") is None else str(raw["currency"]).upper(),
        branding_theme_id=None if raw.get("branding_theme_id") is None else str(raw["branding_theme_id"]),
        payment_terms=load_terms(raw.get("payment_terms"), f"{path}.payment_terms", problems),
    )


def _load_discount(raw: object, path: str, problems: list[str]) -> JobDiscount:
    if raw is None:
        return JobDiscount()
    if not isinstance(raw, Mapping):
        problems.append(f"{path}: expected a mapping with mode")
        return JobDiscount()
    allowed = {"mode", "account_code", "tax_type", "description"}
    problems.extend(f"{path}.{k}: unknown key" for k in raw if k not in allowed)
    mode = raw.get("mode", "lines")
    if mode not in ("lines", "line"):
        problems.append(f"{path}.mode: expected lines or line, got {echo(mode)}")
    account = raw.get("account_code")
    if mode == "line" and account is None:
        problems.append(f"{path}.account_code: required when mode is line")

    def text(key: str) -> str | None:
        return None if raw.get(key) is None else str(raw[key])

    return JobDiscount(str(mode), text("account_code"), text("tax_type"), text("description") or "Discount")


def load_pricing(raw: object, path: str, problems: list[str]) -> Pricing:
    """Validate `rules.pricing`; problems are appended, never raised, so all are reported at once."""
    if raw is None:
        return NO_PRICING
    if not isinstance(raw, Mapping):
        problems.append(f"{path}: expected a mapping")
        return NO_PRICING
    problems.extend(f"{path}.{k}: unknown key" for k in raw if k not in {"labour_rate", "job_discount", "clients"})
    clients = raw.get("clients") or []
    if not isinstance(clients, list):
        problems.append(f"{path}.clients: expected a list")
        clients = []
    loaded = [_load_client(c, f"{path}.clients[{i}]", problems) for i, c in enumerate(clients)]
    return Pricing(
        labour_rate=_number(raw.get("labour_rate"), f"{path}.labour_rate", problems),
        job_discount=_load_discount(raw.get("job_discount"), f"{path}.job_discount", problems),
        clients=tuple(c for c in loaded if c is not None),
    )


def check_pricing(raw: object) -> Pricing:
    """load_pricing for a standalone section: raise every problem at once."""
    problems: list[str] = []
    out = load_pricing(raw, "pricing", problems)
    if problems:
        raise ConfigError("pricing is invalid", problems)
    return out
