"""`jobsync init`: a few answers → a commented config file that `load_settings` accepts.

Secrets are never written: the file names environment variables (`${XERO_ACCESS_TOKEN}`) and the
user exports them (or `jobsync schedule` puts them in an EnvironmentFile). The file is validated
with the real loader before `init` reports success, with placeholder values for those variables.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from jobsync.config.settings import Settings, load_settings
from jobsync.core.csv_layouts import Proposal, propose
from jobsync.core.errors import ConfigError
from jobsync.runtime.private_files import PRIVATE, write_atomic
from jobsync.samples import STANDARD_COLUMNS
from jobsync.sources.csv_reading import read_table

SOURCES = ("csv", "servicem8")
AUTH_MODES = ("static_token", "oauth", "client_credentials")

# The header names of the sample export (`jobsync/samples/jobs.csv`); most exports differ, which
# is why the file lists them for editing rather than hiding them.
DEFAULT_COLUMNS = STANDARD_COLUMNS

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Answers:
    source: str = "csv"
    csv_path: str = "jobs.csv"
    servicem8_key_env: str = "SERVICEM8_API_KEY"
    servicem8_url: str = "https://api.servicem8.com/api_1.0"
    auth_mode: str = "static_token"
    token_env: str = "XERO_ACCESS_TOKEN"
    client_id_env: str = "XERO_CLIENT_ID"
    client_secret_env: str = "XERO_CLIENT_SECRET"
    tenant_env: str = "XERO_TENANT_ID"
    api_url: str = "https://api.xero.com/api.xro/2.0"
    identity_url: str = "https://identity.xero.com"
    labour_account: str = "200"
    materials_account: str = "200"
    default_account: str = "200"
    tax_type: str = "OUTPUT"
    invoice_status: str = "DRAFT"
    payment_terms_days: int = 14
    start_from: date = field(default_factory=date.today)
    timezone: str = "Australia/Sydney"
    state_path: str = "jobsync-state.db"
    reports_dir: str = "reports"
    # From the export's own header row (core.csv_layouts); None: the standard layout.
    columns: dict[str, str] | None = None
    date_format: str | None = None
    prices_include_tax: bool = False


def answer_problems(a: Answers) -> list[str]:
    """Problems the loader would word less helpfully (or not catch: env names)."""
    problems = []
    if a.source not in SOURCES:
        problems.append(f"job system must be one of {', '.join(SOURCES)} (got {a.source!r})")
    if a.auth_mode not in AUTH_MODES:
        problems.append(f"Xero auth must be one of {', '.join(AUTH_MODES)} (got {a.auth_mode!r})")
    for label, name in env_names(a).items():
        if not _ENV_NAME.match(name):
            problems.append(f"{label}: {name!r} is not an environment variable name (letters, digits, _)")
    if a.invoice_status not in ("DRAFT", "AUTHORISED"):
        problems.append(f"invoice status must be DRAFT or AUTHORISED (got {a.invoice_status!r})")
    if a.payment_terms_days < 0:
        problems.append("payment terms must be 0 days or more")
    return problems


def env_names(a: Answers) -> dict[str, str]:
    """The environment variables this config will read, by what they hold."""
    names = {"Xero tenant id": a.tenant_env}
    if a.auth_mode == "static_token":
        names["Xero access token"] = a.token_env
    else:
        names["Xero client id"] = a.client_id_env
    if a.auth_mode == "client_credentials":
        names["Xero client secret"] = a.client_secret_env
    if a.source == "servicem8":
        names["ServiceM8 API key"] = a.servicem8_key_env
    return names


def _q(value: str) -> str:
    # JSON strings are valid YAML scalars: quotes account codes ("200" must stay a string) and paths.
    return json.dumps(value)


def _xero_block(a: Answers) -> list[str]:
    lines = [
        "xero:",
        "  # Where Xero lives. Point both at `jobsync sandbox serve` to rehearse locally.",
        f"  api_url: {a.api_url}",
        f"  identity_url: {a.identity_url}",
        "  # The organisation to write to (optional in oauth mode once `jobsync auth login` stored one).",
        f"  tenant_id: ${{{a.tenant_env}}}" if a.auth_mode != "oauth" else f"  tenant_id: ${{{a.tenant_env}:-}}",
        "  auth:",
        "    # static_token: a fixed bearer token; oauth: `jobsync auth login`; client_credentials: custom connection.",
        f"    mode: {a.auth_mode}",
    ]
    if a.auth_mode == "static_token":
        lines.append(f"    token: ${{{a.token_env}}}")
    else:
        lines.append(f"    client_id: ${{{a.client_id_env}}}")
    if a.auth_mode == "client_credentials":
        lines.append(f"    client_secret: ${{{a.client_secret_env}}}")
    lines += [
        "  # DRAFT: a person approves each invoice in Xero. AUTHORISED: ready to send.",
        f"  invoice_status: {a.invoice_status}",
        "  # Due date = invoice date + this many days.",
        f"  payment_terms_days: {a.payment_terms_days}",
        "  # Safety brake: a run that would create more invoices than this stops (exit 5) until --force.",
        "  max_invoices_per_run: 200",
    ]
    return lines


def _source_block(a: Answers) -> list[str]:
    lines = ["", "source:", f"  type: {a.source}"]
    if a.source == "csv":
        lines += ["  # The export file, relative to this config file.", f"  path: {_q(a.csv_path)}"]
    else:
        lines += ["  # The ServiceM8 API key, from the environment.", f"  api_key: ${{{a.servicem8_key_env}}}"]
        if a.servicem8_url.rstrip("/") != Answers.servicem8_url:
            lines += [
                "  # Where ServiceM8 answers (here: its emulator, `jobsync sandbox serve`).",
                f"  base_url: {a.servicem8_url}",
            ]
    lines += [
        "  # First run only: bill jobs completed on or after this date (later runs continue from the last).",
        f"  start_from: {a.start_from.isoformat()}",
        "  # Job statuses that mean 'ready to invoice'.",
        "  statuses: [Completed]",
        "  # Timezone of times without an offset (IANA name).",
        f"  timezone: {a.timezone}",
    ]
    if a.source == "csv":
        if a.date_format:
            lines += [f"  date_format: {_q(a.date_format)}"]
        if a.prices_include_tax:
            lines += ["  prices_include_tax: true"]
        lines += ["  # Logical field: the export's header. Edit the right-hand side to match your file."]
        columns = a.columns or DEFAULT_COLUMNS
        lines += ["  columns:"] + [f"    {key}: {_q(header)}" for key, header in columns.items()]
    return lines


def _rules_block(a: Answers) -> list[str]:
    return [
        "",
        "# Mapping rules, tried in order; the first whose `when` matches sets the line's account and tax.",
        "# `when` keys: kind (labour/material/subcontractor/fee/other), item_code, description (regex).",
        "rules:",
        "  lines:",
        "    - name: labour",
        "      when: { kind: labour }",
        f"      account_code: {_q(a.labour_account)}",
        f"      tax_type: {a.tax_type}",
        "    - name: materials",
        "      when: { kind: material }",
        f"      account_code: {_q(a.materials_account)}",
        f"      tax_type: {a.tax_type}",
        "  # Lines no rule matched.",
        "  default:",
        f"    account_code: {_q(a.default_account)}",
        f"    tax_type: {a.tax_type}",
        "  # A tax the job system states on a line decides the line's Xero tax type: its rate finds the",
        "  # organisation's only sales tax type at that rate; a name or rate listed here wins.",
        "  # tax_map: { GST: OUTPUT, GST Free: EXEMPTOUTPUT }",
    ]


def render(a: Answers) -> str:
    """The config text: commented, secrets as ${ENV} references."""
    header = [
        "# jobsync configuration, written by `jobsync init`. Check it with `jobsync doctor`.",
        "# Secrets are not stored here: export " + ", ".join(env_names(a).values()) + ".",
        "# Unknown keys are errors, so a typo cannot silently switch a feature off.",
        "",
    ]
    tail = [
        "",
        "state:",
        "  # SQLite file: the invoice ledger, watermark and client map (mode 0600). Back it up.",
        f"  path: {_q(a.state_path)}",
        "",
        "reports:",
        "  # One JSON and one Markdown report per run.",
        f"  dir: {_q(a.reports_dir)}",
    ]
    return "\n".join(header + _xero_block(a) + _source_block(a) + _rules_block(a) + tail) + "\n"


def settings_schema() -> dict[str, object]:
    """JSON Schema of the config file, from the Settings model (editors complete and validate with it)."""
    schema = Settings.model_json_schema(by_alias=True)
    schema.get("properties", {}).pop("config_path", None)  # set by the loader, not a config key
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "jobsync config", **schema}


def placeholder_env(a: Answers, env: Mapping[str, str]) -> dict[str, str]:
    """`env` plus a dummy value for every variable the config names, so the file can be checked now."""
    return {**{name: "placeholder" for name in env_names(a).values()}, **env}


def write_config(path: Path, a: Answers, *, force: bool = False, env: Mapping[str, str] | None = None) -> Settings:
    """Write the config (refusing to overwrite unless `force`) and return what the loader made of it."""
    problems = answer_problems(a)
    if problems:
        raise ConfigError("cannot write the config", problems)
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists", ["pass --force to replace it, or choose --path"])
    placeholders = placeholder_env(a, os.environ if env is None else env)
    loaded: list[Settings] = []
    # The loader checks the very text written: a config it would refuse never replaces anything.
    write_atomic(path, render(a), PRIVATE, check=lambda tmp: loaded.append(load_settings(tmp, env=placeholders)))
    return loaded[0].model_copy(update={"config_path": path.resolve()})


def header_of(path: Path) -> list[str]:
    """The export's header row, read as the CSV source reads it (encoding and delimiter detected)."""
    try:
        table = read_table(path)
    except (OSError, UnicodeError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {type(exc).__name__}", ["check the path and the file"]) from None
    if not table or not any(cell.strip() for cell in table[0]):
        raise ConfigError(f"{path} has no header row", ["export the file with its column headers"])
    return table[0]


def proposed_columns(path: Path) -> Proposal:
    return propose(header_of(path))
