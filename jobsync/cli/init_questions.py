"""`jobsync init`'s questions. A bad answer is asked again, never a reason to quit and lose the rest."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer

from jobsync.app import doctor
from jobsync.app.init_config import AUTH_MODES, SOURCES, Answers, header_of, proposed_columns
from jobsync.cli.support import out
from jobsync.core.errors import ConfigError

SANDBOX_URL = "http://127.0.0.1:8765"  # `jobsync sandbox serve`'s Xero


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(f"{text!r} is not a date: write YYYY-MM-DD") from None


def _zone(text: str) -> str:
    try:
        ZoneInfo(text.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise typer.BadParameter(f"{text!r} is not a timezone: an IANA name like Australia/Sydney") from None
    return text.strip()


def choose(text: str, choices: tuple[str, ...] | list[str], default: str | None = None) -> str:
    """One of `choices` (any case); anything else is answered with the choices and asked again."""
    by_fold = {c.casefold(): c for c in choices}
    while True:
        answer = str(typer.prompt(f"{text} ({'/'.join(choices)})", default=default)).strip()
        if answer.casefold() in by_fold:
            return by_fold[answer.casefold()]
        out.print(f"[yellow]{answer!r} is not one of: {', '.join(choices)}[/yellow]", highlight=False)


def _days(text: str) -> int:
    if not text.strip().isdigit():
        raise typer.BadParameter(f"{text!r} is not a whole number of days")
    return int(text)


def _csv(a: Answers, base: Path) -> dict[str, Any]:
    """Where the export is, and its columns as its own header row names them."""
    while True:
        path = typer.prompt("CSV export path (relative to the config)", default=a.csv_path)
        try:
            proposal = proposed_columns(base / path)
            break
        except ConfigError as exc:  # asked again: a typo in the path must not cost the answers so far
            out.print(f"[yellow]{exc.message}[/yellow]")
    columns = dict(proposal.columns)
    out.print(f"Recognised the {proposal.layout} layout." if proposal.layout else "Matched the columns by name:")
    for key, header in columns.items():
        out.print(f"  {key}: {header}", markup=False, highlight=False)
    headers = [h.strip().lstrip("\ufeff") for h in header_of(base / path) if h.strip()]
    for key in proposal.missing:
        columns[key] = choose(f"Which column holds {key}?", headers)
    found = {"csv_path": path, "columns": columns, "prices_include_tax": proposal.prices_include_tax}
    return found | {"date_format": proposal.date_format}


def _servicem8_key(a: Answers, url: str) -> str:
    """The variable holding the API key; when it is set here, the key is tried on ServiceM8 at once."""
    while True:
        name = typer.prompt("Env variable holding the ServiceM8 API key", default=a.servicem8_key_env)
        key = os.environ.get(name, "")
        if not key:
            out.print(f"{name} is not set in this shell: `jobsync doctor` checks the key once it is.")
            return str(name)
        check = doctor.servicem8_key_check(url, key)
        if check.status == doctor.OK:
            out.print(f"[green]✓[/green] {check.detail}")
            return str(name)
        out.print(f"[yellow]{check.detail}: {check.fix}[/yellow]")
        if not typer.confirm("Try another variable?", default=True):
            return str(name)


def ask(a: Answers, base: Path) -> Answers:
    """The interactive questions; each default is the flag's value, so flags pre-answer them."""
    source = choose("Job system", SOURCES, a.source)
    updates: dict[str, Any] = {"source": source}
    if source == "csv":
        updates |= _csv(a, base)
    else:
        updates["servicem8_url"] = typer.prompt("ServiceM8 API URL", default=a.servicem8_url).rstrip("/")
        updates["servicem8_key_env"] = _servicem8_key(a, updates["servicem8_url"])
    if typer.confirm("Try it first against the built-in Xero sandbox (`jobsync sandbox serve`)?", default=False):
        url = typer.prompt("Sandbox URL", default=SANDBOX_URL).rstrip("/")
        updates |= {"api_url": f"{url}/api.xro/2.0", "identity_url": url, "auth_mode": "static_token"}
    else:
        updates["auth_mode"] = choose("Xero auth", AUTH_MODES, a.auth_mode)
    mode = updates["auth_mode"]
    if mode == "static_token":
        updates["token_env"] = typer.prompt("Env variable holding the Xero access token", default=a.token_env)
    else:
        updates["client_id_env"] = typer.prompt("Env variable holding the Xero client id", default=a.client_id_env)
    if mode == "client_credentials":
        updates["client_secret_env"] = typer.prompt(
            "Env variable holding the Xero client secret", default=a.client_secret_env
        )
    updates["tenant_env"] = typer.prompt("Env variable holding the Xero tenant id", default=a.tenant_env)
    updates["labour_account"] = typer.prompt("Account code for labour", default=a.labour_account)
    updates["materials_account"] = typer.prompt("Account code for materials", default=a.materials_account)
    updates["default_account"] = typer.prompt("Account code for everything else", default=a.default_account)
    updates["tax_type"] = typer.prompt("Tax type", default=a.tax_type)
    status = choose("Create invoices as", ("DRAFT", "AUTHORISED"), a.invoice_status)
    updates["invoice_status"] = status
    updates["payment_terms_days"] = typer.prompt(
        "Payment terms (days)", default=str(a.payment_terms_days), value_proc=_days
    )
    updates["start_from"] = typer.prompt(
        "Bill jobs completed from (YYYY-MM-DD)", default=str(a.start_from), value_proc=_date
    )
    updates["timezone"] = typer.prompt("Timezone of the job system", default=a.timezone, value_proc=_zone)
    return Answers(**{**a.__dict__, **updates})
