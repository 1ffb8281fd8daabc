"""One reading of a number written in the config (a price, a markup, a percentage). Pure: no I/O.

Every rule, price list and billing stage reads its numbers here, so NaN, infinity, a boolean or a
50-digit figure is refused the same way everywhere, with the key named, when the config loads.
"""

from __future__ import annotations

from decimal import Decimal

from jobsync.core.errors import echo

# Far above any real price or percentage, far inside what Xero's amounts and Decimal arithmetic hold.
MAX_MAGNITUDE = Decimal("1e12")


def config_decimal(raw: object, path: str, problems: list[str]) -> Decimal | None:
    """`raw` as an exact Decimal (a YAML float 12.5 stays 12.5), or None with the problem appended."""
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        problems.append(f"{path}: expected a number")
        return None
    try:
        value = Decimal(str(raw).strip())
    except ArithmeticError:
        problems.append(f"{path}: expected a number, got {echo(raw)}")
        return None
    if not value.is_finite():
        problems.append(f"{path}: must be a finite number, got {echo(raw)}")
        return None
    if abs(value) > MAX_MAGNITUDE:
        problems.append(f"{path}: {echo(raw)} is too large")
        return None
    return value
